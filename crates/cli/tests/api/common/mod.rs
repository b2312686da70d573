//! Shared helpers of the API integration tests, the one place for set-up: the shared data and
//! images made of it (here), the real `faceproof` processes ([`server`]: `serve` on a free port
//! with a temporary data directory, on SQLite or on a fresh PostgreSQL database of its own; a
//! second `serve`, a `worker`, one-shot commands), webhook receivers ([`webhook`]), ZIP archives
//! of frames ([`zip`]), clips cut with ffmpeg ([`media`]), the S3-compatible store ([`s3`]),
//! decode bombs ([`png_bomb`]) and the browser harness ([`browser`]). Waits are for a condition
//! with a generous deadline ([`eventually`]): the tests run beside other builds on a busy machine.
#![allow(dead_code)]

/// For each scenario `name(&Server)` of the calling module, a module `name` with two tests,
/// `sqlite` and `postgres`, each running it on a fresh server of its own (`env` added when given:
/// `on_both_databases!(env = &[…]; a, b)`). A test is then found by its behaviour's name:
/// `cargo nextest run -p faceproof folders::media_tags`.
macro_rules! on_both_databases {
    (env = $env:expr; $($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    $crate::common::on($crate::common::Backend::Sqlite, $env, super::$name);
                }

                #[test]
                fn postgres() {
                    $crate::common::on($crate::common::Backend::Postgres, $env, super::$name);
                }
            }
        )+
    };
    ($($name:ident),+ $(,)?) => {
        on_both_databases!(env = &[]; $($name),+);
    };
}

pub mod browser;
pub mod media;
#[path = "../../../../engine/tests/engine/common/png_bomb.rs"]
pub mod png_bomb;
pub mod s3;
pub mod server;
pub mod webhook;
pub mod zip;

pub use server::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Poll `f` (every 100 ms) until it gives a value; panic naming `what` after `secs` seconds.
#[track_caller]
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `../shared/data` (or `FACEPROOF_DATA`); `None` with a printed SKIPPED line when absent, and a
/// panic when `CI=true` (CI always has it).
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("FACEPROOF_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("verification").is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "the shared test data is missing at {} (set FACEPROOF_DATA to a checkout of shared/data with verification/ and video/)",
        dir.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// The first `n` photos of `verification/` (sorted, recursive).
pub fn photos(data: &std::path::Path, n: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(data.join("verification"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut files: Vec<PathBuf> = if d.is_dir() {
            std::fs::read_dir(&d)
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .collect()
        } else {
            vec![d.clone()]
        };
        files.sort();
        for f in files {
            let ext = f
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if ["jpg", "jpeg", "png"].contains(&ext.as_str()) {
                out.push(f);
                if out.len() == n {
                    return out;
                }
            }
        }
    }
    out
}

/// A video of `video/` with the given extension.
pub fn video(data: &std::path::Path, ext: &str) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data.join("video"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .collect();
    v.sort();
    v.into_iter()
        .next()
        .unwrap_or_else(|| panic!("no .{ext} video in {}", data.join("video").display()))
}

/// Assert an Oz error body with the given HTTP status and error_code.
#[track_caller]
pub fn assert_error(got: (u16, Value), status: u16, code: i64) -> Value {
    let (s, v) = got;
    assert_eq!(s, status, "status; body: {v}");
    assert_eq!(
        v["error_code"].as_i64(),
        Some(code),
        "error_code; body: {v}"
    );
    assert!(v["error_message"].is_string(), "error_message; body: {v}");
    assert!(v.get("details").is_some(), "details; body: {v}");
    v
}

/// The photos of each identity of `verification/`, sorted.
pub fn identities(data: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(data.join("verification")).unwrap() {
        let dir = e.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("jpg" | "jpeg" | "png")
                )
            })
            .collect();
        files.sort();
        out.insert(
            dir.file_name().unwrap().to_string_lossy().to_string(),
            files,
        );
    }
    out
}

/// Two photos side by side on a grey canvas: two faces of about the same size.
pub fn side_by_side(a: &[u8], b: &[u8]) -> Vec<u8> {
    let a = image::load_from_memory(a).unwrap().to_rgb8();
    let b = image::load_from_memory(b).unwrap().to_rgb8();
    let h = a.height().max(b.height());
    let mut out =
        image::RgbImage::from_pixel(a.width() + b.width(), h, image::Rgb([128, 128, 128]));
    image::imageops::replace(&mut out, &a, 0, 0);
    image::imageops::replace(&mut out, &b, a.width() as i64, 0);
    let mut bytes = std::io::Cursor::new(Vec::new());
    out.write_to(&mut bytes, image::ImageFormat::Jpeg).unwrap();
    bytes.into_inner()
}
