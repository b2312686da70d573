//! Third-party browser assets the server can serve: Swagger UI (`swagger-ui-dist`) for the
//! interactive API reference at `/api/docs`. Like the model pack, they come from npm by name and
//! pinned version through npm's own client (`npm pack`), the tarball is checked against a pinned
//! SHA-256, and the needed files are cached on disk (`$FACEPROOF_ASSETS_DIR`, else
//! `~/.cache/faceproof/assets`); nothing of them is in the repository. `faceproof assets fetch`
//! installs them (the set-up and test scripts run it); without them `/api/docs` falls back to the
//! built-in page.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};

/// A package from npm, pinned by version and tarball digest, and the files taken from it.
#[derive(Debug, Clone, Copy)]
pub struct NpmAsset {
    pub package: &'static str,
    pub version: &'static str,
    /// SHA-256 of the `.tgz` that `npm pack` downloads.
    pub tarball_sha256: &'static str,
    /// Paths under the tarball's `package/`.
    pub files: &'static [&'static str],
}

pub const SWAGGER_UI: NpmAsset = NpmAsset {
    package: "swagger-ui-dist",
    version: "5.35.0",
    tarball_sha256: "1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6",
    files: &["swagger-ui.css", "swagger-ui-bundle.js", "LICENSE"],
};

/// The name of the digest list written beside the files once they are all in place.
const SUMS: &str = "SHA256SUMS";

pub fn default_assets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FACEPROOF_ASSETS_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    home.join("faceproof").join("assets")
}

impl NpmAsset {
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(format!("{}-{}", self.package, self.version))
    }

    /// The cached files when complete and unchanged since they were fetched (else `None`).
    pub fn load(&self, root: &Path) -> Option<BTreeMap<&'static str, Vec<u8>>> {
        let dir = self.dir(root);
        let sums = std::fs::read_to_string(dir.join(SUMS)).ok()?;
        let mut out = BTreeMap::new();
        for f in self.files {
            let bytes = std::fs::read(dir.join(f)).ok()?;
            let line = format!("{}  {f}", hex::encode(Sha256::digest(&bytes)));
            if !sums.lines().any(|l| l == line) {
                tracing::warn!(
                    "cached {}: {f} does not match {SUMS}; ignored",
                    self.package
                );
                return None;
            }
            out.insert(*f, bytes);
        }
        Some(out)
    }

    /// Fetch with `npm pack` unless already cached; returns the directory.
    pub fn fetch(&self, root: &Path) -> anyhow::Result<PathBuf> {
        let dir = self.dir(root);
        if self.load(root).is_some() {
            return Ok(dir);
        }
        let work = tempfile::tempdir()?;
        let spec = format!("{}@{}", self.package, self.version);
        let path = faceproof_engine::models::npm_pack_spec(&spec, work.path())?;
        let tarball = std::fs::read(&path)?;
        self.install_from(&tarball, root)
    }

    /// Check the tarball's digest, then write the files and their digest list.
    pub fn install_from(&self, tarball: &[u8], root: &Path) -> anyhow::Result<PathBuf> {
        let digest = hex::encode(Sha256::digest(tarball));
        if digest != self.tarball_sha256 {
            bail!(
                "{}@{}: tarball SHA-256 {digest} is not the pinned {}",
                self.package,
                self.version,
                self.tarball_sha256
            );
        }
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
        let mut found = BTreeMap::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = entry.path()?.to_string_lossy().into_owned();
            if let Some(name) = path.strip_prefix("package/") {
                if let Some(f) = self.files.iter().find(|f| **f == name) {
                    let mut bytes = Vec::new();
                    entry.read_to_end(&mut bytes)?;
                    found.insert(*f, bytes);
                }
            }
        }
        let dir = self.dir(root);
        std::fs::create_dir_all(&dir)?;
        let _ = std::fs::remove_file(dir.join(SUMS));
        let mut sums = String::new();
        for f in self.files {
            let bytes = found
                .get(f)
                .with_context(|| format!("{} has no package/{f}", self.package))?;
            // Readable by all (less the umask): the container image installs the assets as root
            // and serves them as another user. (A temporary file is 0600 by default.)
            let mut builder = tempfile::Builder::new();
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
            let mut tmp = builder.tempfile_in(&dir)?;
            std::io::Write::write_all(&mut tmp, bytes)?;
            tmp.persist(dir.join(f))?;
            sums.push_str(&format!("{}  {f}\n", hex::encode(Sha256::digest(bytes))));
        }
        // written last: its presence means every file is complete
        std::fs::write(dir.join(SUMS), sums)?;
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tarball_with_another_digest_is_refused_and_nothing_is_cached() {
        let root = tempfile::tempdir().unwrap();
        let err = SWAGGER_UI
            .install_from(b"not the package", root.path())
            .unwrap_err();
        assert!(err.to_string().contains("is not the pinned"), "{err}");
        assert!(SWAGGER_UI.load(root.path()).is_none());
    }

    #[test]
    fn a_changed_cached_file_is_ignored() {
        let root = tempfile::tempdir().unwrap();
        let dir = SWAGGER_UI.dir(root.path());
        std::fs::create_dir_all(&dir).unwrap();
        let mut sums = String::new();
        for f in SWAGGER_UI.files {
            std::fs::write(dir.join(f), f.as_bytes()).unwrap();
            sums.push_str(&format!(
                "{}  {f}\n",
                hex::encode(Sha256::digest(f.as_bytes()))
            ));
        }
        std::fs::write(dir.join(SUMS), sums).unwrap();
        assert!(SWAGGER_UI.load(root.path()).is_some());
        std::fs::write(dir.join("swagger-ui-bundle.js"), b"tampered").unwrap();
        assert!(SWAGGER_UI.load(root.path()).is_none());
    }
}
