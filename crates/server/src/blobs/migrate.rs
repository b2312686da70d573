//! `faceproof migrate-blobs`: copy every object of one media store (a data directory's
//! `media/`) into another (the configured S3 bucket), under the same keys, so the database's
//! `file_key`s stay valid once the servers restart on the new store.
//!
//! Every object is read back after the upload and its SHA-256 compared with the source's. The
//! copy is resumable: an object already in the target with the source's digest is skipped (read
//! and hashed, not trusted by name or size), one with another content is written again. Objects
//! are copied a few at a time and streamed: digests are computed over the streams, and a local
//! source file is uploaded part by part ([`BlobStore::put_file`]), so a large video is never held
//! whole in memory.

use futures::stream::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::BlobStore;

/// Objects copied at once.
const CONCURRENCY: usize = 4;

/// What a migration did.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Objects in the source (staging files of interrupted writes left out).
    pub total: u64,
    /// Written to the target and verified.
    pub copied: u64,
    /// Already in the target with the same digest.
    pub skipped: u64,
    /// Bytes written to the target.
    pub bytes_copied: u64,
    /// Keys whose copy read back with another digest.
    pub mismatched: Vec<String>,
    /// Keys that could not be read or written, with the reason.
    pub failed: Vec<(String, String)>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.mismatched.is_empty() && self.failed.is_empty()
    }
}

enum Outcome {
    Copied(u64),
    Skipped,
    Mismatched,
}

/// SHA-256 and size of a stored object, read as a stream.
async fn digest(store: &dyn BlobStore, key: &str) -> std::io::Result<([u8; 32], u64)> {
    let mut stream = store.get_stream(key).await?;
    let (mut hasher, mut size) = (Sha256::new(), 0u64);
    while let Some(chunk) = stream.chunks.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((hasher.finalize().into(), size))
}

async fn copy_one(
    source: &dyn BlobStore,
    target: &dyn BlobStore,
    key: &str,
) -> std::io::Result<Outcome> {
    let (want, size) = digest(source, key).await?;
    match digest(target, key).await {
        Ok((there, _)) if there == want => return Ok(Outcome::Skipped),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    match source.local_file(key) {
        Some(path) => target.put_file(key, &path).await?,
        None => target.put(key, &source.get(key).await?).await?,
    }
    if digest(target, key).await?.0 == want {
        Ok(Outcome::Copied(size))
    } else {
        Ok(Outcome::Mismatched)
    }
}

/// Copy `source` into `target`; `progress(done, total)` after each object.
pub async fn migrate(
    source: &dyn BlobStore,
    target: &dyn BlobStore,
    progress: impl Fn(u64, u64),
) -> std::io::Result<Report> {
    let mut keys: Vec<String> = source
        .list("")
        .await?
        .into_iter()
        .map(|(k, _)| k)
        // tmp/ holds staging files of earlier versions' interrupted writes, not media.
        .filter(|k| !k.starts_with("tmp/"))
        .collect();
    keys.sort();
    let mut report = Report {
        total: keys.len() as u64,
        ..Report::default()
    };
    progress(0, report.total);
    let mut results = futures::stream::iter(keys.iter())
        .map(|key| async move { (key, copy_one(source, target, key).await) })
        .buffer_unordered(CONCURRENCY);
    let mut done = 0;
    while let Some((key, result)) = results.next().await {
        match result {
            Ok(Outcome::Copied(n)) => {
                report.copied += 1;
                report.bytes_copied += n;
            }
            Ok(Outcome::Skipped) => report.skipped += 1,
            Ok(Outcome::Mismatched) => {
                tracing::error!("{key}: the copy in the target reads back with another SHA-256");
                report.mismatched.push(key.clone());
            }
            Err(e) => {
                tracing::error!("{key}: {e}");
                report.failed.push((key.clone(), e.to_string()));
            }
        }
        done += 1;
        progress(done, report.total);
    }
    report.mismatched.sort();
    report.failed.sort();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::{ObjectBlobs, MIN_PART_BYTES};

    #[tokio::test]
    async fn copies_skips_and_repairs_between_directories() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let src = ObjectBlobs::local(a.path(), MIN_PART_BYTES).unwrap();
        let dst = ObjectBlobs::local(b.path(), MIN_PART_BYTES).unwrap();
        src.put("folders/f/m/original.jpg", b"one").await.unwrap();
        src.put("collections/c/p/i/original.png", b"two")
            .await
            .unwrap();
        // An old version's leftover staging file is not media.
        std::fs::write(a.path().join("tmp/0123"), b"partial").unwrap();
        let r = migrate(&src, &dst, |_, _| {}).await.unwrap();
        assert_eq!((r.total, r.copied, r.skipped), (2, 2, 0), "{r:?}");
        assert!(r.ok());
        assert_eq!(dst.get("folders/f/m/original.jpg").await.unwrap(), b"one");
        // Again: nothing to do; a target object with other bytes is written again.
        dst.put("folders/f/m/original.jpg", b"changed")
            .await
            .unwrap();
        let r = migrate(&src, &dst, |_, _| {}).await.unwrap();
        assert_eq!((r.total, r.copied, r.skipped), (2, 1, 1), "{r:?}");
        assert_eq!(dst.get("folders/f/m/original.jpg").await.unwrap(), b"one");
    }
}
