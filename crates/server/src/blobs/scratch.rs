//! The data directory's temporary area (`<data_dir>/tmp`, or `temp_dir`): where videos are
//! written for ffmpeg to read. Each process (server or `faceproof worker`) works in a
//! subdirectory of its own, `proc-<uuid>/`, which it locks (`proc-<uuid>.lock`, an exclusive
//! `flock` held for the life of the process) and removes when it ends normally.
//!
//! A process killed with SIGKILL cannot remove its files (full copies of users' videos), so every
//! process cleans the area at start-up: whatever is not the locked subdirectory of a live
//! process goes. The kernel releases a dead process's lock, so a server and workers sharing the
//! data directory never remove each other's files in use. (The lock file is created and locked
//! before the subdirectory exists; only a process starting in the microseconds between those two
//! steps could lose its empty subdirectory to another's clean-up.)

use std::fs::File;
use std::path::{Path, PathBuf};

pub struct Scratch {
    dir: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

impl Scratch {
    /// Create (when missing) and clean the area under `root`, then claim a subdirectory.
    pub fn open(root: &Path) -> std::io::Result<Scratch> {
        std::fs::create_dir_all(root)?;
        let removed = clean(root)?;
        if removed > 0 {
            tracing::info!(
                removed,
                "removed temporary files left by processes that ended abnormally in {}",
                root.display()
            );
        }
        let name = format!("proc-{}", uuid::Uuid::new_v4());
        let lock_path = root.join(format!("{name}.lock"));
        let lock = File::create(&lock_path)?;
        if !try_lock(&lock)? {
            return Err(std::io::Error::other("cannot lock a fresh lock file"));
        }
        let dir = root.join(name);
        std::fs::create_dir(&dir)?;
        Ok(Scratch {
            dir,
            lock_path,
            _lock: lock,
        })
    }

    /// This process's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

/// Remove everything in `root` but the subdirectories (and lock files) of live processes;
/// returns how many entries went.
fn clean(root: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(root)?.filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let lock_path = match name.strip_suffix(".lock") {
            Some(stem) if stem.starts_with("proc-") => path.clone(),
            _ if name.starts_with("proc-") => root.join(format!("{name}.lock")),
            _ => {
                removed += usize::from(remove(&path));
                continue;
            }
        };
        // A live process holds its lock: keep its files. A lock file that cannot be opened
        // (already removed by another clean-up) means nobody holds it.
        let held = match File::open(&lock_path) {
            Ok(f) => !try_lock(&f)?,
            Err(_) => false,
        };
        if !held {
            removed += usize::from(remove(&path));
        }
    }
    Ok(removed)
}

fn remove(path: &Path) -> bool {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return false,
    };
    let r = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    r.is_ok()
}

/// Take an exclusive lock without waiting; `false` when another process holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Without `flock`, every process's files are treated as live (nothing is removed but loose
/// files).
#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_go_and_live_areas_stay() {
        let root = tempfile::tempdir().unwrap();
        // Leftovers: a loose file, and a dead process's subdirectory with its unlocked lock.
        std::fs::write(root.path().join("faceproof-video-abc"), b"video").unwrap();
        std::fs::create_dir(root.path().join("proc-dead")).unwrap();
        std::fs::write(root.path().join("proc-dead/faceproof-video-x"), b"v").unwrap();
        std::fs::write(root.path().join("proc-dead.lock"), b"").unwrap();
        let live = Scratch::open(root.path()).unwrap();
        std::fs::write(live.path().join("in-use"), b"v").unwrap();
        let names = |p: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(root.path()).len(), 2, "{:?}", names(root.path()));
        // A second process starting on the same area keeps the first one's files.
        let second = Scratch::open(root.path()).unwrap();
        assert!(live.path().join("in-use").exists());
        assert_eq!(names(root.path()).len(), 4);
        drop(live);
        drop(second);
        assert!(names(root.path()).is_empty());
    }
}
