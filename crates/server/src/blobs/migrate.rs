//! `faceproof migrate-blobs`: copy every object of one media store (a data directory's
//! `media/`) into another (the configured S3 bucket), under the same keys, so the database's
//! `file_key`s stay valid once the servers restart on the new store.
//!
//! Every object is read back after the upload and its SHA-256 compared with the source's. The
//! copy is resumable: an object already in the target with the source's digest is skipped (read
//! and hashed, not trusted by name or size), one with another content is written again. Objects
//! are copied a few at a time; a file is held in memory while it is copied (media files are
//! bounded by `max_request_bytes`).

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

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

async fn copy_one(
    source: &dyn BlobStore,
    target: &dyn BlobStore,
    key: &str,
) -> std::io::Result<Outcome> {
    let bytes = source.get(key).await?;
    let want = digest(&bytes);
    match target.get(key).await {
        Ok(there) if digest(&there) == want => return Ok(Outcome::Skipped),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    target.put(key, &bytes).await?;
    let back = target.get(key).await?;
    if digest(&back) == want {
        Ok(Outcome::Copied(bytes.len() as u64))
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
