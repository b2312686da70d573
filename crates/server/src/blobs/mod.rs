//! Media bytes behind the [`BlobStore`] trait, kept by the `object_store` crate in one of two
//! places ([`ObjectBlobs`]): files under `<data_dir>/media` (the default) or a bucket of any
//! S3-compatible store (`media_store = "s3"`, see [`crate::config`]). The handlers see only the
//! trait; which store a process uses is decided once, at start-up, by [`open`].
//!
//! Keys are relative paths made of UUIDs (`folders/<folder>/<media>/original.jpg`), never user
//! input; [`check_key`] refuses anything else before a key reaches either store.
//!
//! What every store guarantees here:
//! - a put is atomic: readers (and a crash) see the whole object or none. Local files are written
//!   to a staging file beside the target and renamed; S3 objects appear only when their single
//!   PUT or their multipart upload completes (a failed multipart upload is aborted);
//! - files above `media_part_bytes` go up in parts of that size (S3 multipart upload), and
//!   downloads stream ([`BlobStore::get_stream`]) instead of being read whole; a file on disk
//!   (a spooled upload, [`BlobStore::put_file`]) is read part by part as the parts go, so at
//!   most [`PART_CONCURRENCY`] + 1 parts of it are in memory at once;
//! - deleting a missing key is not an error; [`BlobStore::delete_prefix`] removes a folder's
//!   objects (on local files the whole directory, with the staging files of a killed writer);
//! - [`BlobStore::check`] (readiness) writes nothing.

pub mod migrate;
pub mod scratch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use futures::future::{FutureExt, TryFutureExt};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload,
    RetryConfig,
};
use tokio::io::AsyncReadExt;

use crate::config::{Config, MediaStore};

/// A stored object as a stream of chunks, with its size (for `Content-Length`).
pub struct BlobStream {
    pub size: u64,
    pub chunks: BoxStream<'static, std::io::Result<Bytes>>,
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Store `bytes` under `key` atomically (readers see all or nothing).
    async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    /// Store the content of the file at `path` under `key` atomically, reading it part by part
    /// (never whole).
    async fn put_file(&self, key: &str, path: &Path) -> std::io::Result<()>;
    /// The whole object (for decoders, which need it all anyway).
    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
    /// The object as a stream (for serving files); a missing key fails here, before any byte.
    async fn get_stream(&self, key: &str) -> std::io::Result<BlobStream>;
    /// The object's size in bytes, without reading it.
    async fn size(&self, key: &str) -> std::io::Result<u64>;
    /// The bytes `range` (end exclusive, inside the object) as a stream whose `size` is the
    /// range's length (for an HTTP byte-range answer).
    async fn get_range_stream(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> std::io::Result<BlobStream>;
    /// Delete a key; deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> std::io::Result<()>;
    /// Delete every key under a prefix (a folder's media).
    async fn delete_prefix(&self, prefix: &str) -> std::io::Result<()>;
    /// Every key under a prefix (all keys for `""`) with its size, in no particular order.
    async fn list(&self, prefix: &str) -> std::io::Result<Vec<(String, u64)>>;
    /// Whether the store answers (readiness): cheap, no object written.
    async fn check(&self) -> std::io::Result<()>;
    /// Where the bytes are, for messages (no credentials): a directory or `s3://bucket/prefix`.
    fn describe(&self) -> String;
    /// The file that holds `key` when the store is a local directory (so a copy can stream it
    /// with [`BlobStore::put_file`]); `None` on S3.
    fn local_file(&self, _key: &str) -> Option<PathBuf> {
        None
    }
}

/// Parts of a multipart upload at once (per object).
pub const PART_CONCURRENCY: usize = 4;

/// Where the bytes of a put come from: memory, or a file on disk read part by part.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Memory(&'a [u8]),
    File(&'a Path),
}

impl Source<'_> {
    async fn put(self, blobs: &dyn BlobStore, key: &str) -> std::io::Result<()> {
        match self {
            Source::Memory(bytes) => blobs.put(key, bytes).await,
            Source::File(path) => blobs.put_file(key, path).await,
        }
    }
}

pub use crate::config::MIN_PART_BYTES;

/// The media store the configuration names: local files under `media_dir()` or the S3 bucket.
pub fn open(cfg: &Config) -> anyhow::Result<ObjectBlobs> {
    match cfg.media_store() {
        MediaStore::Local => ObjectBlobs::local(&cfg.media_dir(), cfg.media_part_bytes)
            .with_context(|| format!("opening the media directory {}", cfg.media_dir().display())),
        MediaStore::S3 => ObjectBlobs::s3(&S3Settings::from_config(cfg)?, cfg.media_part_bytes),
    }
}

/// Where an S3-compatible bucket is and how to reach it.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// `None`: AWS itself (the region's endpoint).
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    /// Keys go under this prefix in the bucket (`""`: at the top).
    pub prefix: String,
    /// `None`: from the standard `AWS_*` environment variables or the instance's role.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// `endpoint/bucket/key` instead of `bucket.endpoint/key` (MinIO, Ceph, moto, most
    /// self-hosted stores).
    pub path_style: bool,
    pub allow_http: bool,
}

impl S3Settings {
    pub fn from_config(cfg: &Config) -> anyhow::Result<S3Settings> {
        let bucket = cfg
            .s3_bucket
            .clone()
            .filter(|b| !b.is_empty())
            .context("media_store = s3 needs s3_bucket (FACEPROOF_S3_BUCKET)")?;
        Ok(S3Settings {
            endpoint: cfg.s3_endpoint.clone(),
            bucket,
            region: cfg.s3_region.clone(),
            prefix: cfg.s3_prefix.clone(),
            access_key_id: cfg.s3_access_key_id.clone(),
            secret_access_key: cfg.s3_secret_access_key.clone(),
            path_style: cfg.s3_path_style,
            allow_http: cfg.s3_allow_http,
        })
    }
}

/// Media bytes in an `object_store` store: local files or an S3 bucket.
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    /// The directory of local files (`None` on S3).
    local_root: Option<PathBuf>,
    describe: String,
    part_bytes: usize,
}

impl ObjectBlobs {
    /// Files under `root` (created when missing). Staging files left by a killed writer sit
    /// beside their target under a `#` suffix, invisible to reads and lists, and go with their
    /// folder; `tmp/` (the staging area of earlier versions) is kept as the marker [`check`]
    /// looks for, and emptied of files older than an hour.
    ///
    /// [`check`]: BlobStore::check
    pub fn local(root: &Path, part_bytes: usize) -> std::io::Result<ObjectBlobs> {
        std::fs::create_dir_all(root)?;
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        let stale = std::time::SystemTime::now() - Duration::from_secs(3600);
        for entry in std::fs::read_dir(&tmp)?.filter_map(|e| e.ok()) {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < stale);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let store = LocalFileSystem::new_with_prefix(root)
            .map_err(std::io::Error::from)?
            // Deleting a folder's last file removes its emptied directories.
            .with_automatic_cleanup(true);
        Ok(ObjectBlobs {
            store: Arc::new(store),
            local_root: Some(root.to_path_buf()),
            describe: root.display().to_string(),
            part_bytes: part_bytes.max(MIN_PART_BYTES),
        })
    }

    /// A bucket of an S3-compatible store. Nothing is contacted here: an unreachable store shows
    /// in readiness and in the requests that need it, so a server can start before its store.
    pub fn s3(s: &S3Settings, part_bytes: usize) -> anyhow::Result<ObjectBlobs> {
        // Start from AWS_* variables (credentials, session token, web identity), then the
        // settings given.
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_virtual_hosted_style_request(!s.path_style)
            .with_allow_http(s.allow_http)
            // Bounded: an upload request must not hang for the default three minutes of
            // retries when the store is down.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(s.allow_http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            );
        if let Some(e) = &s.endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(k) = &s.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &s.secret_access_key {
            b = b.with_secret_access_key(k);
        }
        let s3 = b.build().context("configuring the S3 media store")?;
        let prefix = s.prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            check_key(prefix).map_err(|_| {
                anyhow::anyhow!(
                    "s3_prefix {prefix:?}: path segments of letters, digits, '-', '_' and '.' only"
                )
            })?;
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Ok(ObjectBlobs {
            store,
            local_root: None,
            describe: format!("s3://{}/{}", s.bucket, prefix),
            part_bytes: part_bytes.max(MIN_PART_BYTES),
        })
    }

    fn location(key: &str) -> std::io::Result<ObjectPath> {
        check_key(key)?;
        ObjectPath::parse(key).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    }

    /// The `parts` (each `part_bytes` long but the last), a few at once; the upload is aborted
    /// (its parts removed) on any failure, a part that cannot be produced included, so no object
    /// appears. A part is produced only when there is room for it, so at most
    /// [`PART_CONCURRENCY`] are in flight and one more in the making; the next part is read
    /// while the others are sent.
    async fn put_parts(
        &self,
        location: &ObjectPath,
        parts: BoxStream<'_, std::io::Result<Bytes>>,
    ) -> std::io::Result<()> {
        let mut upload = self.store.put_multipart(location).await?;
        let sent: std::io::Result<()> = {
            // Parts are numbered when `put_part` is called: in order, as they come.
            let upload = &mut upload;
            parts
                .map(|part| match part {
                    Ok(part) => upload
                        .put_part(PutPayload::from(part))
                        .map_err(std::io::Error::from)
                        .boxed(),
                    Err(e) => futures::future::ready(Err(e)).boxed(),
                })
                .buffer_unordered(PART_CONCURRENCY)
                .try_for_each(|()| futures::future::ready(Ok(())))
                .await
        };
        let done = match sent {
            Ok(()) => upload.complete().await.map(|_| ()).map_err(Into::into),
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            if let Err(abort) = upload.abort().await {
                tracing::warn!("aborting a failed multipart upload: {abort}");
            }
            return Err(e);
        }
        Ok(())
    }
}

/// A file's content as parts of `part_bytes` (the last shorter), each read when asked for.
fn file_parts(
    file: tokio::fs::File,
    part_bytes: usize,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    futures::stream::try_unfold(file, move |mut file| async move {
        let mut part = Vec::with_capacity(part_bytes);
        (&mut file)
            .take(part_bytes as u64)
            .read_to_end(&mut part)
            .await?;
        Ok(if part.is_empty() {
            None
        } else {
            Some((Bytes::from(part), file))
        })
    })
    .boxed()
}

/// Refuse a key that is not a plain relative path of safe segments (letters, digits, `-`, `_`,
/// `.`; no empty, `.` or `..` segment). Keys are built from UUIDs and fixed names only.
pub fn check_key(key: &str) -> std::io::Result<()> {
    let ok = !key.is_empty()
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "bad blob key",
        ))
    }
}

#[async_trait]
impl BlobStore for ObjectBlobs {
    async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let location = Self::location(key)?;
        if bytes.len() > self.part_bytes {
            // Each part copied only when its turn comes.
            let parts = futures::stream::iter(
                bytes
                    .chunks(self.part_bytes)
                    .map(|c| Ok(Bytes::copy_from_slice(c))),
            );
            self.put_parts(&location, parts.boxed()).await?;
        } else {
            self.store
                .put(&location, PutPayload::from(Bytes::copy_from_slice(bytes)))
                .await?;
        }
        Ok(())
    }

    async fn put_file(&self, key: &str, path: &Path) -> std::io::Result<()> {
        let location = Self::location(key)?;
        let mut file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        if len > self.part_bytes as u64 {
            return self
                .put_parts(&location, file_parts(file, self.part_bytes))
                .await;
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.read_to_end(&mut bytes).await?;
        self.store
            .put(&location, PutPayload::from(Bytes::from(bytes)))
            .await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        let location = Self::location(key)?;
        let got = self.store.get(&location).await?;
        Ok(got.bytes().await?.to_vec())
    }

    async fn get_stream(&self, key: &str) -> std::io::Result<BlobStream> {
        let location = Self::location(key)?;
        let got = self.store.get(&location).await?;
        let size = got.meta.size;
        Ok(BlobStream {
            size,
            chunks: got.into_stream().map_err(std::io::Error::from).boxed(),
        })
    }

    async fn size(&self, key: &str) -> std::io::Result<u64> {
        let location = Self::location(key)?;
        Ok(self.store.head(&location).await?.size)
    }

    async fn get_range_stream(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> std::io::Result<BlobStream> {
        let location = Self::location(key)?;
        let options = GetOptions {
            range: Some(GetRange::Bounded(range.clone())),
            ..Default::default()
        };
        let got = self.store.get_opts(&location, options).await?;
        Ok(BlobStream {
            size: got.range.end - got.range.start,
            chunks: got.into_stream().map_err(std::io::Error::from).boxed(),
        })
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        let location = Self::location(key)?;
        match self.store.delete(&location).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            r => Ok(r?),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> std::io::Result<()> {
        let location = Self::location(prefix)?;
        if let Some(root) = &self.local_root {
            // The whole directory: staging files of an interrupted write go too.
            return match tokio::fs::remove_dir_all(root.join(prefix)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let keys = self
            .store
            .list(Some(&location))
            .map_ok(|m| m.location)
            .boxed();
        self.store
            .delete_stream(keys)
            .try_for_each(|_| futures::future::ready(Ok(())))
            .await?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> std::io::Result<Vec<(String, u64)>> {
        let location = match prefix {
            "" => None,
            p => Some(Self::location(p)?),
        };
        let metas: Vec<object_store::ObjectMeta> =
            self.store.list(location.as_ref()).try_collect().await?;
        Ok(metas
            .into_iter()
            .map(|m| (m.location.to_string(), m.size))
            .collect())
    }

    async fn check(&self) -> std::io::Result<()> {
        if let Some(root) = &self.local_root {
            // The marker directory must be there (a volume unmounted or emptied loses it).
            let meta = tokio::fs::metadata(root.join("tmp")).await?;
            return if meta.is_dir() {
                Ok(())
            } else {
                Err(std::io::Error::other(
                    "the media directory's tmp/ is not a directory",
                ))
            };
        }
        // One list request for a prefix no key has: proves the endpoint answers, the bucket
        // exists and the credentials may list it (which deleting folders needs), writes nothing.
        let probe = ObjectPath::from("faceproof-readiness-probe");
        self.store.list_with_delimiter(Some(&probe)).await?;
        Ok(())
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn local_file(&self, key: &str) -> Option<PathBuf> {
        check_key(key).ok()?;
        Some(self.local_root.as_ref()?.join(key))
    }
}

/// Store a media file as `<dir>/original.<extension>` and its JPEG thumbnail (when there is one)
/// as `<dir>/thumb.jpg`; returns the two keys. The layout every stored picture or video shares.
/// When the thumbnail fails the original is removed again: callers store rows only after this
/// returned, and leave no object behind on failure.
pub async fn put_original_and_thumb(
    blobs: &dyn BlobStore,
    dir: &str,
    extension: &str,
    original: Source<'_>,
    thumb: Option<&[u8]>,
) -> std::io::Result<(String, Option<String>)> {
    let file_key = format!("{dir}/original.{extension}");
    original.put(blobs, &file_key).await?;
    let thumb_key = match thumb {
        Some(t) => {
            let k = format!("{dir}/thumb.jpg");
            if let Err(e) = blobs.put(&k, t).await {
                if let Err(cleanup) = blobs.delete(&file_key).await {
                    tracing::warn!("removing an original whose thumbnail failed: {cleanup}");
                }
                return Err(e);
            }
            Some(k)
        }
        None => None,
    };
    Ok((file_key, thumb_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_put_get_stream_delete() {
        let dir = tempfile::tempdir().unwrap();
        let b = ObjectBlobs::local(dir.path(), MIN_PART_BYTES).unwrap();
        b.check().await.unwrap();
        b.put("folders/a/b/original.jpg", b"xyz").await.unwrap();
        assert_eq!(b.get("folders/a/b/original.jpg").await.unwrap(), b"xyz");
        assert!(b.put("../escape", b"x").await.is_err());
        assert!(b.put("a//b", b"x").await.is_err());
        assert!(b.put("a/./b", b"x").await.is_err());
        // Above the part size: a multipart write, read back whole and as a stream.
        let big: Vec<u8> = (0..MIN_PART_BYTES * 2 + 17).map(|i| i as u8).collect();
        b.put("folders/a/c/original.mp4", &big).await.unwrap();
        let s = b.get_stream("folders/a/c/original.mp4").await.unwrap();
        assert_eq!(s.size, big.len() as u64);
        let streamed: Vec<Bytes> = s.chunks.try_collect().await.unwrap();
        assert_eq!(streamed.concat(), big);
        // The same from a file on disk, read part by part.
        let on_disk = dir.path().join("spooled");
        std::fs::write(&on_disk, &big).unwrap();
        b.put_file("folders/a/d/original.mp4", &on_disk)
            .await
            .unwrap();
        assert_eq!(b.get("folders/a/d/original.mp4").await.unwrap(), big);
        std::fs::write(&on_disk, b"small").unwrap();
        b.put_file("folders/a/d/small.jpg", &on_disk).await.unwrap();
        assert_eq!(b.get("folders/a/d/small.jpg").await.unwrap(), b"small");
        assert!(b
            .put_file("folders/a/d/missing.jpg", &dir.path().join("absent"))
            .await
            .is_err());
        assert!(b.get("folders/a/d/missing.jpg").await.is_err());
        b.delete_prefix("folders/a/d").await.unwrap();
        let mut keys = b.list("folders").await.unwrap();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                ("folders/a/b/original.jpg".to_string(), 3),
                ("folders/a/c/original.mp4".to_string(), big.len() as u64)
            ]
        );
        b.delete_prefix("folders/a").await.unwrap();
        assert_eq!(
            b.get("folders/a/b/original.jpg").await.unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
        assert!(b.get_stream("folders/a/c/original.mp4").await.is_err());
        b.delete("folders/a/b/original.jpg").await.unwrap();
        b.delete_prefix("folders/a").await.unwrap();
        assert!(!dir.path().join("folders/a").exists());
    }
}
