//! Large uploads through the real server, on local files and on a real S3-compatible store (moto),
//! with SQLite and PostgreSQL: a video of about 100 MiB is stored and served back byte for byte
//! while the server's peak resident memory grows by well under the file's size (the upload is
//! spooled to the scratch area and streamed to the store in parts, never held whole); a file over
//! `max_file_bytes` is refused with 413 while it streams, and a truncated large video with 400,
//! both leaving no object, no row and no scratch file; a spooled upload through Instant stores
//! nothing.
//!
//! The large video is made at test time from a short clip of the shared data: remuxed by ffmpeg
//! (stream copy, so its index, `moov`, comes last) and padded with a `free` box of random bytes
//! before that index. ffprobe must then seek past the padding, in the spooled file, to read it;
//! cutting the file before the index makes a truncated upload ffmpeg cannot read.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::s3::S3Server;
use crate::common::*;
use faceproof_server::blobs::{BlobStore, ObjectBlobs, S3Settings};
use reqwest::blocking::multipart;
use serde_json::{json, Value};

const CLIP: &str = "video/tranvanluyt2203_live_head_turns.mp4";
const MIB: u64 = 1 << 20;
/// The large upload (clip + padding).
const LARGE: u64 = 100 * MIB;
/// The server's file limit in these tests: above [`LARGE`], below [`TOO_LARGE`].
const MAX_FILE: u64 = 112 * MIB;
const TOO_LARGE: u64 = 120 * MIB;
/// Above the default `upload_memory_bytes` (4 MiB): spooled, yet quick to analyse.
const SPOOLED_SMALL: u64 = 6 * MIB;

/// Top-level MP4 boxes: (type, offset, size).
fn boxes(mp4: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= mp4.len() {
        let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
        assert!(size >= 8, "a 64-bit or open-ended box at {at}");
        out.push((mp4[at + 4..at + 8].try_into().unwrap(), at, size));
        at += size;
    }
    assert_eq!(at, mp4.len(), "boxes do not end with the file");
    out
}

/// The clip remuxed with its index last (ffmpeg's default for MP4), the bytes before the index
/// and the index itself.
fn remuxed_clip(data: &Path, dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let out = dir.join("remuxed.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(data.join(CLIP))
        .args(["-c", "copy", "-map", "0"])
        .arg(&out)
        .status()
        .expect("running ffmpeg (the server needs it too)")
        .success();
    assert!(ok, "ffmpeg could not remux {CLIP}");
    let mp4 = std::fs::read(&out).unwrap();
    let list = boxes(&mp4);
    let (kind, at, _) = *list.last().unwrap();
    assert_eq!(&kind, b"moov", "the index is not last: {list:?}");
    (mp4[..at].to_vec(), mp4[at..].to_vec())
}

/// A valid MP4 of exactly `total` bytes: the clip's boxes, a `free` box of pseudo-random bytes
/// (so a part stored at a wrong offset cannot go unnoticed), then the index. The index's chunk
/// offsets point before the padding, so they stay right.
fn padded_video(clip: &(Vec<u8>, Vec<u8>), total: u64, path: &Path) {
    use std::io::Write;
    let (front, moov) = clip;
    let pad = total as usize - front.len() - moov.len();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(front).unwrap();
    f.write_all(&(pad as u32).to_be_bytes()).unwrap();
    f.write_all(b"free").unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ total;
    let mut left = pad - 8;
    let mut block = vec![0u8; 1 << 16];
    while left > 0 {
        for word in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len());
        f.write_all(&block[..n]).unwrap();
        left -= n;
    }
    f.write_all(moov).unwrap();
    f.flush().unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len(), total);
}

/// The server process's peak resident memory so far (`VmHWM`), in bytes.
fn peak_rss(s: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/<pid>/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

/// Files left in the server's temporary area (every process subdirectory, recursively).
fn scratch_files(s: &Server) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else if !path.to_string_lossy().ends_with(".lock") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&s.data_dir.path().join("tmp"), &mut out);
    out
}

fn store_of(s3: Option<&S3Server>, s: &Server) -> ObjectBlobs {
    let part = 8 * MIB as usize;
    match s3 {
        None => ObjectBlobs::local(&s.data_dir.path().join("media"), part).unwrap(),
        Some(s3) => ObjectBlobs::s3(
            &S3Settings {
                endpoint: Some(s3.endpoint.clone()),
                bucket: "faceproof-media".into(),
                region: "us-east-1".into(),
                access_key_id: Some("faceproof-test".into()),
                secret_access_key: Some("faceproof-test-secret".into()),
                path_style: true,
                allow_http: true,
                ..S3Settings::default()
            },
            part,
        )
        .unwrap(),
    }
}

/// Every key of the store, sorted.
fn all_keys(store: &ObjectBlobs) -> Vec<String> {
    let rt = runtime();
    let mut k: Vec<String> = rt
        .block_on(store.list(""))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    k.sort();
    k
}

/// Upload one file from disk (streamed by the client) under `key` with `payload`.
fn upload_file(
    s: &Server,
    path: &str,
    token: &str,
    key: &str,
    file: &Path,
    payload: Value,
) -> (u16, Value) {
    let form = multipart::Form::new()
        .part(key.to_string(), multipart::Part::file(file).unwrap())
        .text("payload", payload.to_string());
    s.upload_form(path, token, form)
}

fn download(s: &Server, url: &str, token: &str) -> (u16, Vec<u8>) {
    let r = s
        .client
        .get(url)
        .header("X-Forensic-Access-Token", token)
        .send()
        .unwrap();
    (r.status().as_u16(), r.bytes().unwrap().to_vec())
}

fn large_uploads(backend: Backend, s3: bool) {
    let Some(data) = shared_data() else { return };
    let moto = if s3 {
        let Some(server) = S3Server::start() else {
            return;
        };
        server.create_bucket("faceproof-media");
        Some(server)
    } else {
        None
    };
    let mut env = vec![
        ("FACEPROOF_MAX_FILE_BYTES", MAX_FILE.to_string()),
        (
            "FACEPROOF_MAX_REQUEST_BYTES",
            (MAX_FILE + 16 * MIB).to_string(),
        ),
        // The defaults of the settings under test, whatever the caller's environment says.
        ("FACEPROOF_UPLOAD_MEMORY_BYTES", (4 * MIB).to_string()),
        ("FACEPROOF_MEDIA_PART_BYTES", (8 * MIB).to_string()),
        ("FACEPROOF_WORKERS", "0".to_string()),
    ];
    if let Some(m) = &moto {
        env.extend(m.env("faceproof-media"));
    }
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(s) = Server::start(backend, &env_refs) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let clip = remuxed_clip(&data, work.path());
    let large = work.path().join("large.mp4");
    padded_video(&clip, LARGE, &large);
    let store = store_of(moto.as_ref(), &s);
    let root = s.admin();
    let company = s.company(&root, "Streaming");
    let (_, client) = s.user(&root, "client@stream.test", "CLIENT", Some(&company));
    // Oz: the company's CLIENT ADMIN deletes folders, a CLIENT does not.
    let (_, cadmin) = s.user(&root, "cadmin@stream.test", "CLIENT ADMIN", Some(&company));
    let tags = |key: &str| json!({"media:tags": {key: ["video_selfie", "video_selfie_blank"]}});

    // Warm-up: a small video stored and served, so the baseline has the server's pools and
    // buffers of an ordinary upload.
    let (st, small) = upload_file(
        &s,
        "/api/folders/",
        &client,
        "v",
        &data.join(CLIP),
        tags("v"),
    );
    assert_eq!(st, 201, "{small}");
    let (st, _) = download(
        &s,
        small["media"][0]["original_url"].as_str().unwrap(),
        &client,
    );
    assert_eq!(st, 200);
    let before = peak_rss(&s);

    // The large video: stored, listed with its size, served back byte for byte.
    let (st, folder) = upload_file(&s, "/api/folders/", &client, "v", &large, tags("v"));
    assert_eq!(st, 201, "{folder}");
    let m = &folder["media"][0];
    assert_eq!(m["media_type"], "VIDEO_FOLDER", "{m}");
    let fid = folder["folder_id"].as_str().unwrap();
    let mid = m["media_id"].as_str().unwrap();
    assert_eq!(
        all_keys(&store)
            .into_iter()
            .filter(|k| k.starts_with(&format!("folders/{fid}/")))
            .collect::<Vec<_>>(),
        vec![
            format!("folders/{fid}/{mid}/original.mp4"),
            format!("folders/{fid}/{mid}/thumb.jpg")
        ]
    );
    assert!(scratch_files(&s).is_empty(), "{:?}", scratch_files(&s));
    let (st, body) = download(&s, m["original_url"].as_str().unwrap(), &client);
    assert_eq!(st, 200);
    assert_eq!(body.len() as u64, LARGE);
    assert!(
        body == std::fs::read(&large).unwrap(),
        "the stored video differs"
    );
    drop(body);
    let after = peak_rss(&s);
    let growth = after.saturating_sub(before);
    eprintln!(
        "peak RSS {} MiB before, {} MiB after a {} MiB upload and download ({}, {backend:?}): +{} MiB",
        before / MIB,
        after / MIB,
        LARGE / MIB,
        if s3 { "S3" } else { "local files" },
        growth / MIB
    );
    // Held whole, the upload alone would add its size (and more, with the copies to the store).
    assert!(
        growth < LARGE / 2,
        "peak RSS grew by {growth} bytes for a {LARGE}-byte upload"
    );

    let stored = all_keys(&store);
    let rows = s.db_count("media");

    // Over max_file_bytes: 413 in the documented shape while the body streams; nothing kept.
    let too_large = work.path().join("too-large.mp4");
    padded_video(&clip, TOO_LARGE, &too_large);
    let v = assert_error(
        upload_file(&s, "/api/folders/", &client, "v", &too_large, tags("v")),
        413,
        4,
    );
    assert_eq!(v["details"]["max_file_bytes"], MAX_FILE, "{v}");
    std::fs::remove_file(&too_large).unwrap();
    // The same through adding media to the folder.
    assert_error(
        {
            padded_video(&clip, MAX_FILE + 1, &too_large);
            upload_file(
                &s,
                &format!("/api/folders/{fid}/media/"),
                &client,
                "w",
                &too_large,
                tags("w"),
            )
        },
        413,
        4,
    );
    std::fs::remove_file(&too_large).unwrap();
    assert_eq!(all_keys(&store), stored);
    assert_eq!(s.db_count("media"), rows);
    assert!(scratch_files(&s).is_empty(), "{:?}", scratch_files(&s));

    // Truncated before its index (an interrupted copy): unreadable, 400, nothing kept.
    let truncated = work.path().join("truncated.mp4");
    let cut = LARGE - clip.1.len() as u64 - 1000;
    std::fs::copy(&large, &truncated).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let v = assert_error(
        upload_file(&s, "/api/folders/", &client, "v", &truncated, tags("v")),
        400,
        4,
    );
    assert_eq!(v["details"]["media_key"], "v", "{v}");
    assert!(
        !v.to_string().contains("faceproof-upload-"),
        "the scratch path leaked: {v}"
    );
    assert_eq!(all_keys(&store), stored);
    assert_eq!(s.db_count("media"), rows);
    assert!(scratch_files(&s).is_empty(), "{:?}", scratch_files(&s));

    // Instant with a spooled video: analysed, nothing stored, the scratch file gone.
    let spooled = work.path().join("spooled.mp4");
    padded_video(&clip, SPOOLED_SMALL, &spooled);
    let (st, v) = upload_file(
        &s,
        "/api/instant/folders/",
        &client,
        "v",
        &spooled,
        json!({"media:tags": {"v": ["video_selfie", "video_selfie_blank"]},
               "analyses": [{"type": "quality"}]}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["analyses"][0]["state"], "FINISHED", "{v}");
    assert_eq!(all_keys(&store), stored, "Instant wrote objects");
    assert_eq!(s.db_count("media"), rows);
    assert!(scratch_files(&s).is_empty(), "{:?}", scratch_files(&s));

    // Deleting the folder removes the large object.
    let (st, _) = s.call(
        reqwest::Method::DELETE,
        &format!("/api/folders/{fid}"),
        Some(&cadmin),
        None,
    );
    assert!(st == 200 || st == 204, "{st}");
    assert!(!all_keys(&store).iter().any(|k| k.contains(fid)));
}

#[test]
fn local_files_sqlite() {
    large_uploads(Backend::Sqlite, false);
}

#[test]
fn s3_sqlite() {
    large_uploads(Backend::Sqlite, true);
}

#[test]
fn local_files_postgres() {
    large_uploads(Backend::Postgres, false);
}

#[test]
fn s3_postgres() {
    large_uploads(Backend::Postgres, true);
}
