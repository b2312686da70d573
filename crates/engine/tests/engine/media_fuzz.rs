//! Property tests of the parsers that read untrusted bytes: images, ZIP shots sets, videos (the
//! probe and the frame decode) and Lite templates. Random bytes and mutations of real, valid files
//! (flipped bytes, cuts, insertions) must give a result or a typed error: no panic, each case
//! within a time budget, the process within a memory bound (each test in a process of its own:
//! [`common::in_own_process`]), and no temporary file left behind.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use faceproof_engine::media::{decode, encode_jpeg, inspect, Limits};
use faceproof_engine::template::{self, Template};
use faceproof_engine::EngineError;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;

/// Small limits, so that a mutation announcing a huge image is refused quickly.
fn limits(temp: &Path) -> Limits {
    Limits {
        max_decode_bytes: 64_000_000,
        max_unpacked_bytes: 32 * 1024 * 1024,
        tool_timeout: Duration::from_secs(5),
        temp_dir: Some(temp.to_path_buf()),
        ..Limits::default()
    }
}

/// One mutation of a valid file.
#[derive(Debug, Clone)]
enum Edit {
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    Cut(Index),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..32))
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Edit::Remove(i, n)),
        1 => any::<Index>().prop_map(Edit::Cut),
    ];
    prop::collection::vec(edit, 1..8)
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        match e {
            Edit::Set(i, b) => {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            Edit::Insert(i, v) => {
                let i = i.index(bytes.len());
                bytes.splice(i..i, v.iter().copied());
            }
            Edit::Remove(i, n) => {
                let i = i.index(bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Cut(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
    bytes
}

/// Both entry points on the same bytes: a result or a media error, within `budget`.
fn check(bytes: &[u8], limits: &Limits, budget: Duration) {
    let started = Instant::now();
    for r in [
        decode(bytes, limits).map(|_| ()),
        inspect(bytes, limits).map(|_| ()),
    ] {
        match r {
            Ok(())
            | Err(EngineError::Unreadable { .. })
            | Err(EngineError::UnsupportedFormat(_))
            | Err(EngineError::TooLarge(_)) => {}
            Err(other) => panic!("unexpected error kind: {other:?}"),
        }
    }
    let took = started.elapsed();
    assert!(took < budget, "took {took:?}");
    if let Some(dir) = &limits.temp_dir {
        let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }
}

fn peak_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

fn assert_memory_bounded() {
    let peak = peak_mb();
    assert!(peak < 1500, "the test process peaked at {peak} MB");
}

fn sample_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([x as u8 * 2, y as u8 * 3, 90]));
    encode_jpeg(&img, 85).unwrap()
}

fn sample_png() -> Vec<u8> {
    let img = image::RgbaImage::from_fn(48, 40, |x, y| image::Rgba([x as u8, y as u8, 7, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Real photos of the data set when present, generated ones always.
fn valid_images() -> Vec<Vec<u8>> {
    let mut v = vec![sample_jpeg(), sample_png()];
    if let Some(dir) = common::data_dir() {
        let mut found: Vec<_> = walk(&dir.join("verification"))
            .into_iter()
            .filter(|p| {
                std::fs::metadata(p)
                    .map(|m| m.len() < 40_000)
                    .unwrap_or(false)
            })
            .collect();
        found.sort();
        for ext in ["jpg", "png"] {
            if let Some(p) = found
                .iter()
                .find(|p| p.extension().is_some_and(|e| e == ext))
            {
                v.push(std::fs::read(p).unwrap());
            }
        }
    }
    v
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn zip_of(frames: &[Vec<u8>], deflate: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    });
    for (i, f) in frames.iter().enumerate() {
        w.start_file(format!("frame_{i:03}.jpg"), opts).unwrap();
        w.write_all(f).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A 64×48 one-second clip made by ffmpeg, or `None` without ffmpeg.
fn sample_video(dir: &Path) -> Option<Vec<u8>> {
    if !faceproof_engine::media::ffmpeg_available() {
        eprintln!("SKIPPED: ffmpeg is not installed");
        return None;
    }
    let out = dir.join("clip.mp4");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=s=64x48:r=10")
        .args(["-t", "1", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ffmpeg could not make the sample clip");
    let bytes = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    Some(bytes)
}

#[test]
fn random_bytes_are_refused_cleanly() {
    if !common::in_own_process("media_fuzz::random_bytes_are_refused_cleanly") {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let limits = limits(temp.path());
    // Random bodies behind each magic number, so every decoder is reached, not only the sniffer.
    let magics: Vec<&[u8]> = vec![
        b"",
        &[0xFF, 0xD8, 0xFF],
        b"\x89PNG\r\n\x1a\n",
        b"RIFF\0\0\0\0WEBP",
        b"BM",
        b"II*\0",
        b"PK\x03\x04",
    ];
    proptest!(Config::with_cases(384), |(m in 0..magics.len(), body in prop::collection::vec(any::<u8>(), 0..4096))| {
        let bytes = [magics[m], &body[..]].concat();
        check(&bytes, &limits, Duration::from_secs(5));
    });
    assert_memory_bounded();
}

#[test]
fn mutated_images_are_decoded_or_refused() {
    if !common::in_own_process("media_fuzz::mutated_images_are_decoded_or_refused") {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let limits = limits(temp.path());
    let images = valid_images();
    proptest!(Config::with_cases(512), |(which in 0..images.len(), edits in edits())| {
        let bytes = apply(images[which].clone(), &edits);
        check(&bytes, &limits, Duration::from_secs(5));
    });
    assert_memory_bounded();
}

#[test]
fn mutated_shots_sets_are_decoded_or_refused() {
    if !common::in_own_process("media_fuzz::mutated_shots_sets_are_decoded_or_refused") {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let limits = limits(temp.path());
    let frames: Vec<Vec<u8>> = valid_images().into_iter().cycle().take(6).collect();
    let archives = [zip_of(&frames, false), zip_of(&frames, true)];
    for a in &archives {
        assert_eq!(decode(a, &limits).unwrap().frames.len(), 6);
    }
    proptest!(Config::with_cases(256), |(which in 0..2usize, edits in edits())| {
        let bytes = apply(archives[which].clone(), &edits);
        check(&bytes, &limits, Duration::from_secs(10));
    });
    // A ZIP bomb: one entry unpacking past the budget is refused, not unpacked.
    let big = vec![0u8; 40 * 1024 * 1024];
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("a.jpg", opts).unwrap();
    w.write_all(&[0xFF, 0xD8, 0xFF]).unwrap();
    w.write_all(&big).unwrap();
    let bomb = w.finish().unwrap().into_inner();
    drop(big);
    assert!(bomb.len() < 1024 * 1024);
    assert!(matches!(
        decode(&bomb, &limits),
        Err(EngineError::TooLarge(_))
    ));
    assert_memory_bounded();
}

#[test]
fn mutated_videos_are_probed_and_decoded_or_refused() {
    if !common::in_own_process("media_fuzz::mutated_videos_are_probed_and_decoded_or_refused") {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let limits = limits(temp.path());
    let Some(clip) = sample_video(work.path()) else {
        return;
    };
    let mut videos = vec![clip];
    if let Some(real) = common::data_dir().map(|d| d.join("video/zubair_replay_phone.mp4")) {
        if real.exists() {
            videos.push(std::fs::read(real).unwrap());
        }
    }
    // The valid clips decode (with time to spare on a busy machine: the 5 s budget is for the
    // mutations, where running out of it is an accepted answer).
    let unhurried = Limits {
        tool_timeout: Duration::from_secs(120),
        ..limits.clone()
    };
    for v in &videos {
        assert!(!decode(v, &unhurried).unwrap().frames.is_empty());
    }
    // Each case runs ffprobe and ffmpeg twice (decode and inspect): few cases, a budget each.
    proptest!(Config::with_cases(24), |(which in 0..videos.len(), edits in edits())| {
        let bytes = apply(videos[which].clone(), &edits);
        check(&bytes, &limits, Duration::from_secs(25));
    });
    assert_memory_bounded();
}

#[test]
fn templates_parse_or_are_refused() {
    if !common::in_own_process("media_fuzz::templates_parse_or_are_refused") {
        return;
    }
    let model = template::ModelId {
        pack: "faceplugin-0.0.1".into(),
        embedder: "sface".into(),
        sha256: [7; 32],
    };
    let valid = Template::new(model.clone(), vec![1.0 / (128f32).sqrt(); 128])
        .to_bytes()
        .unwrap();
    assert!(Template::parse(&valid, &model).is_ok());
    proptest!(Config::with_cases(2048), |(edits in edits(), random in prop::collection::vec(any::<u8>(), 0..700))| {
        let started = Instant::now();
        let mutated = apply(valid.clone(), &edits);
        let _ = Template::parse(&mutated, &model);
        let _ = Template::parse_any_model(&random);
        let with_magic = [&template::MAGIC[..], &random[..]].concat();
        let _ = Template::parse_any_model(&with_magic);
        let _ = template::from_base64(&random);
        let _ = template::from_base64(template::to_base64(&mutated).as_bytes());
        prop_assert!(started.elapsed() < Duration::from_secs(1));
    });
    assert_memory_bounded();
}
