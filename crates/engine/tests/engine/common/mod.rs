//! Shared helpers for the engine's tests: where the research data lives and how to load an
//! engine on each backend.
//!
//! The data (`shared/data`, research-licensed, never committed) is found through
//! `$FACEPROOF_DATA` or beside the repository (`../shared/data`). Outside CI, a test whose data
//! or models are absent is skipped with a message saying how to get them; in CI (`CI=true`) their
//! absence is a failure.

#![allow(dead_code)]

pub mod png_bomb;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use faceproof_engine::models::{BackendChoice, PackManifest};
use faceproof_engine::{Engine, EngineOptions};

fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

fn missing(what: &str) -> Option<PathBuf> {
    if in_ci() {
        panic!("{what} is missing, and CI must have it");
    }
    eprintln!("SKIPPED: {what} is missing");
    None
}

/// `shared/data`, or `None` (after printing why) when it is absent outside CI.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FACEPROOF_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("SOURCES.md").exists() {
        Some(dir)
    } else {
        missing(&format!(
            "the research data ({}; set FACEPROOF_DATA to its folder)",
            dir.display()
        ))
    }
}

pub fn reference_file() -> Option<PathBuf> {
    let data = data_dir()?;
    let path = data.join("../reference/faceplugin-reference.json");
    if path.exists() {
        Some(path)
    } else {
        missing("shared/reference/faceplugin-reference.json")
    }
}

/// Read a file of the data set.
pub fn data(rel: &str) -> Option<Vec<u8>> {
    let path = data_dir()?.join(rel);
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// One engine per pack and backend per test binary (loading models takes a moment).
type Loaded = Vec<(String, BackendChoice, Arc<Engine>)>;

/// The default pack (SFace embedder) on `backend`.
pub fn engine(backend: BackendChoice) -> Option<Arc<Engine>> {
    pack_engine("sface", backend)
}

/// A built-in pack (`sface`, `faceplugin`) on `backend`.
pub fn pack_engine(pack: &str, backend: BackendChoice) -> Option<Arc<Engine>> {
    static ENGINES: OnceLock<Mutex<Loaded>> = OnceLock::new();
    let engines = ENGINES.get_or_init(|| Mutex::new(Vec::new()));
    let mut engines = engines.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, _, e)) = engines.iter().find(|(p, b, _)| p == pack && *b == backend) {
        return Some(e.clone());
    }
    let manifest = PackManifest::builtin(pack).expect("a built-in pack");
    let options = EngineOptions {
        backend,
        ..EngineOptions::for_pack(manifest)
    };
    match Engine::load(options) {
        Ok(e) => {
            let e = Arc::new(e);
            engines.push((pack.to_string(), backend, e.clone()));
            Some(e)
        }
        Err(err) => {
            missing(&format!(
                "a working {backend:?} engine ({err}); run `faceproof models fetch`"
            ));
            None
        }
    }
}

/// The default engine (ONNX Runtime when installed, otherwise tract).
pub fn default_engine() -> Option<Arc<Engine>> {
    engine(BackendChoice::Auto)
}

/// For a test that measures its own process (peak memory): `true` where its body should run.
/// Under nextest every test has a process of its own already; under `cargo test`, where the tests
/// of this binary share one process, the test (`module::name`) is run again alone in a child
/// process of this binary, and `false` is returned to the parent once the child passed.
pub fn in_own_process(test: &str) -> bool {
    const CHILD: &str = "FACEPROOF_TEST_IN_OWN_PROCESS";
    if std::env::var_os(CHILD).is_some()
        || std::env::var("NEXTEST_EXECUTION_MODE").as_deref() == Ok("process-per-test")
    {
        return true;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads", "1", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .expect("running the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} in its own process: {}\n{stdout}\n{stderr}",
        out.status
    );
    false
}
