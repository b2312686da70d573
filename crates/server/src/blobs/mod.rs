//! Media bytes behind the [`BlobStore`] trait. [`LocalBlobs`] keeps them as files under the data
//! directory; an S3 implementation can come later without touching the handlers.
//!
//! Keys are relative paths made of UUIDs (`folders/<folder>/<media>/original.jpg`), never user input.

pub mod scratch;

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Store `bytes` under `key` atomically (readers see all or nothing).
    async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
    /// Delete a key; deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> std::io::Result<()>;
    /// Delete every key under a prefix (a folder's media).
    async fn delete_prefix(&self, prefix: &str) -> std::io::Result<()>;
    /// Whether the store answers (readiness): cheap, no object written.
    async fn check(&self) -> std::io::Result<()>;
}

pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    /// Opens (creating) the root and removes temporary files left by an interrupted write. Only
    /// files older than an hour go: a server and `faceproof worker` processes may share the
    /// directory, and another process's write in flight must survive this one starting.
    pub fn open(root: &Path) -> std::io::Result<LocalBlobs> {
        std::fs::create_dir_all(root)?;
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        let stale = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for entry in std::fs::read_dir(&tmp)?.filter_map(|e| e.ok()) {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < stale);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(LocalBlobs {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        let rel = Path::new(key);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "bad blob key",
            ));
        }
        Ok(self.root.join(rel))
    }
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let tmp = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        tokio::fs::write(&tmp, bytes).await?;
        if let Err(e) = tokio::fs::rename(&tmp, &path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(self.path(key)?).await
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> std::io::Result<()> {
        match tokio::fs::remove_dir_all(self.path(prefix)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn check(&self) -> std::io::Result<()> {
        // The directory for writes in flight must be there (a volume unmounted or emptied loses it).
        let meta = tokio::fs::metadata(self.root.join("tmp")).await?;
        if meta.is_dir() {
            Ok(())
        } else {
            Err(std::io::Error::other(
                "the media directory's tmp/ is not a directory",
            ))
        }
    }
}

/// Store a media file as `<dir>/original.<extension>` and its JPEG thumbnail (when there is one)
/// as `<dir>/thumb.jpg`; returns the two keys. The layout every stored picture or video shares.
pub async fn put_original_and_thumb(
    blobs: &dyn BlobStore,
    dir: &str,
    extension: &str,
    bytes: &[u8],
    thumb: Option<&[u8]>,
) -> std::io::Result<(String, Option<String>)> {
    let file_key = format!("{dir}/original.{extension}");
    blobs.put(&file_key, bytes).await?;
    let thumb_key = match thumb {
        Some(t) => {
            let k = format!("{dir}/thumb.jpg");
            blobs.put(&k, t).await?;
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
    async fn put_get_delete() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBlobs::open(dir.path()).unwrap();
        b.put("folders/a/b/original.jpg", b"xyz").await.unwrap();
        assert_eq!(b.get("folders/a/b/original.jpg").await.unwrap(), b"xyz");
        assert!(b.put("../escape", b"x").await.is_err());
        b.delete_prefix("folders/a").await.unwrap();
        assert!(b.get("folders/a/b/original.jpg").await.is_err());
        b.delete("folders/a/b/original.jpg").await.unwrap();
    }
}
