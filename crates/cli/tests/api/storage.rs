//! Media storage through the real server on local files and on a real S3-compatible store (moto,
//! started by each test), with SQLite and PostgreSQL: uploads (one above the multipart part
//! size), downloads byte for byte, media and folder deletes removing their objects, a video's
//! best shot, a collection's enrolment, search and person delete, Instant writing nothing;
//! readiness and uploads while the store is down; `faceproof migrate-blobs` from a data
//! directory into a bucket, after which the server runs on the bucket.

use std::path::{Path, PathBuf};

use crate::common::s3::S3Server;
use crate::common::*;
use faceproof_server::blobs::{BlobStore, ObjectBlobs, S3Settings, MIN_PART_BYTES};
use reqwest::Method;
use serde_json::{json, Value};

const LIVE_VIDEO: &str = "video/tranvanluyt2203_live_head_turns.mp4";
const BLAIR_A: &str = "verification/Tony_Blair/Tony_Blair_0009.jpg";
const BLAIR_B: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";
const POWELL: &str = "verification/Colin_Powell/Colin_Powell_0001.jpg";

/// Where a test server keeps its media, and a handle on the same store to look inside it.
enum Media {
    Local,
    S3(S3Server),
}

impl Media {
    /// Local files, or a fresh bucket on a moto of this test's own; `None` when moto is absent.
    fn start(s3: bool) -> Option<Media> {
        if !s3 {
            return Some(Media::Local);
        }
        let server = S3Server::start()?;
        server.create_bucket("faceproof-media");
        Some(Media::S3(server))
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            // Small parts, so a 6 MB upload goes up in two.
            ("FACEPROOF_MEDIA_PART_BYTES", MIN_PART_BYTES.to_string()),
            ("FACEPROOF_MAX_FILE_BYTES", (20 << 20).to_string()),
        ];
        if let Media::S3(s3) = self {
            env.extend(s3.env("faceproof-media"));
        }
        env
    }

    /// The store as the server sees it.
    fn blobs(&self, s: &Server) -> ObjectBlobs {
        match self {
            Media::Local => {
                ObjectBlobs::local(&s.data_dir.path().join("media"), MIN_PART_BYTES).unwrap()
            }
            Media::S3(s3) => {
                ObjectBlobs::s3(&bucket(s3, "faceproof-media"), MIN_PART_BYTES).unwrap()
            }
        }
    }
}

fn bucket(s3: &S3Server, name: &str) -> S3Settings {
    S3Settings {
        endpoint: Some(s3.endpoint.clone()),
        bucket: name.into(),
        region: "us-east-1".into(),
        access_key_id: Some("faceproof-test".into()),
        secret_access_key: Some("faceproof-test-secret".into()),
        path_style: true,
        allow_http: true,
        ..S3Settings::default()
    }
}

/// Keys (sorted) under a prefix of the store.
fn keys(media: &Media, s: &Server, prefix: &str) -> Vec<String> {
    let b = media.blobs(s);
    let mut k: Vec<String> = runtime()
        .block_on(b.list(prefix))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    k.sort();
    k
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn get_bytes(s: &Server, url: &str, token: &str) -> (u16, Vec<u8>) {
    let r = s
        .client
        .get(url)
        .header("X-Forensic-Access-Token", token)
        .send()
        .unwrap();
    (r.status().as_u16(), r.bytes().unwrap().to_vec())
}

/// A PNG of noise (incompressible) of about `bytes`, with no face: a stored still above the
/// multipart part size.
fn noise_png(bytes: usize) -> Vec<u8> {
    let side = ((bytes / 3) as f64).sqrt() as u32 + 1;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let img = image::RgbImage::from_fn(side, side, |_, _| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn media_of<'a>(folder: &'a Value, name: &str) -> &'a Value {
    folder["media"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["original_name"] == name)
        .unwrap_or_else(|| panic!("no media {name} in {folder}"))
}

/// Every flow that stores, reads or deletes media bytes, checked against the store itself.
fn storage_flows(backend: Backend, s3: bool) {
    let Some(data) = shared_data() else { return };
    let Some(media) = Media::start(s3) else {
        return;
    };
    let env = media.env();
    let Some(s) = Server::start(backend, &env_refs(&env)) else {
        return;
    };
    let root = s.admin();
    let company = s.company(&root, "Storage");
    let (_, client) = s.user(&root, "client@storage.test", "CLIENT", Some(&company));
    let (_, cadmin) = s.user(&root, "cadmin@storage.test", "CLIENT ADMIN", Some(&company));

    // Upload: a photo, a video and a 6 MB still (two parts).
    let photo = data.join(BLAIR_A);
    let video = data.join(LIVE_VIDEO);
    let big = noise_png(MIN_PART_BYTES + (1 << 20));
    let big_path = s.data_dir.path().join("noise.png");
    std::fs::write(&big_path, &big).unwrap();
    let (st, folder) = s.upload(
        "/api/folders/",
        &client,
        &[
            ("photo", photo.as_path()),
            ("video", video.as_path()),
            ("big", big_path.as_path()),
        ],
        Some(json!({"media:tags": {
            "photo": ["photo_selfie"],
            "video": ["video_selfie", "video_selfie_blank", "orientation_portrait"],
            "big": ["photo_id"],
        }})),
    );
    assert_eq!(st, 201, "{folder}");
    let fid = folder["folder_id"].as_str().unwrap().to_string();
    let stored = keys(&media, &s, &format!("folders/{fid}"));
    // Each media: its original and its thumbnail; on S3 none of it on the local disk.
    assert_eq!(stored.len(), 6, "{stored:?}");
    if s3 {
        assert!(!s.data_dir.path().join("media/folders").exists());
    }
    // Downloads, byte for byte (the big one streamed from its parts).
    for (name, path) in [
        ("Tony_Blair_0009.jpg", &photo),
        ("tranvanluyt2203_live_head_turns.mp4", &video),
        ("noise.png", &big_path),
    ] {
        let m = media_of(&folder, name);
        let (st, body) = get_bytes(&s, m["original_url"].as_str().unwrap(), &client);
        assert_eq!(st, 200, "{name}");
        let want = std::fs::read(path).unwrap();
        assert!(body == want, "{name} differs");
        // A byte range (what video players ask for), across the big one's parts too.
        let (from, to) = (want.len() / 3, want.len() * 2 / 3);
        let r = s
            .client
            .get(m["original_url"].as_str().unwrap())
            .header("X-Forensic-Access-Token", &client)
            .header("range", format!("bytes={from}-{to}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 206, "{name}");
        assert!(
            r.bytes().unwrap() == want[from..=to],
            "{name}: the range differs"
        );
        let (st, thumb) = get_bytes(&s, m["thumb_url"].as_str().unwrap(), &client);
        assert_eq!(st, 200, "{name} thumb");
        assert!(thumb.starts_with(&[0xFF, 0xD8]), "{name}: thumb not a JPEG");
    }

    // Best shot of the video: a new media whose bytes are in the store.
    let (st, v) = s.call(
        Method::POST,
        &format!("/api/folders/{fid}/analyses/"),
        Some(&client),
        Some(json!({"analyses": [{"type": "QUALITY",
            "source_media": [media_of(&folder, "tranvanluyt2203_live_head_turns.mp4")["media_id"]],
            "params": {"extract_best_shot": true}}]})),
    );
    assert_eq!(st, 201, "{v}");
    let a = s.wait_analysis(&client, v[0]["analysis_id"].as_str().unwrap(), 180);
    assert_eq!(a["state"], "FINISHED", "{a}");
    let shot = &a["results_media"][0]["output_images"][0];
    let shot_id = shot["media_id"].as_str().expect("a best shot").to_string();
    let (st, jpeg) = get_bytes(&s, shot["original_url"].as_str().unwrap(), &client);
    assert_eq!(st, 200);
    assert!(jpeg.starts_with(&[0xFF, 0xD8]));
    let shot_keys = keys(&media, &s, &format!("folders/{fid}/{shot_id}"));
    assert!(
        shot_keys.contains(&format!("folders/{fid}/{shot_id}/original.jpg")),
        "{shot_keys:?}"
    );

    // Delete one media: its objects go, the others stay.
    let photo_id = media_of(&folder, "Tony_Blair_0009.jpg")["media_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, v) = s.call(
        Method::DELETE,
        &format!("/api/media/{photo_id}"),
        Some(&cadmin),
        None,
    );
    assert!(st == 200 || st == 204, "{st} {v}");
    assert!(keys(&media, &s, &format!("folders/{fid}/{photo_id}")).is_empty());
    assert_eq!(
        keys(&media, &s, &format!("folders/{fid}")).len(),
        4 + shot_keys.len()
    );
    let (st, _) = get_bytes(
        &s,
        media_of(&folder, "Tony_Blair_0009.jpg")["original_url"]
            .as_str()
            .unwrap(),
        &client,
    );
    assert_eq!(st, 404);

    // Instant: the same kind of processing, no object written.
    let before = keys(&media, &s, "");
    let (st, v) = s.upload(
        "/api/instant/folders/",
        &client,
        &[("a", &data.join(BLAIR_A)), ("b", &data.join(BLAIR_B))],
        Some(
            json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]},
                    "analyses": [{"type": "biometry"}]}),
        ),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(keys(&media, &s, ""), before, "Instant wrote objects");

    // Delete the folder: every object of it goes.
    let (st, v) = s.call(
        Method::DELETE,
        &format!("/api/folders/{fid}"),
        Some(&cadmin),
        None,
    );
    assert!(st == 200 || st == 204, "{st} {v}");
    assert!(keys(&media, &s, &format!("folders/{fid}")).is_empty());

    // Collection: enrol a person (photo stored), search finds them, deleting the person removes
    // the photo's objects.
    let (st, col) = s.call(
        Method::POST,
        "/api/collections/",
        Some(&cadmin),
        Some(json!({"alias": "blacklist"})),
    );
    assert_eq!(st, 201, "{col}");
    let cid = col["collection_id"].as_str().unwrap().to_string();
    let enrol = |file: &Path, name: &str| {
        let (st, p) = s.upload(
            &format!("/api/collections/{cid}/persons/"),
            &cadmin,
            &[("photo1", file)],
            Some(json!({"media:tags": {"photo1": ["photo_selfie"]},
                        "person:meta_data": {"person_info": {"first_name": name}}})),
        );
        assert_eq!(st, 201, "{p}");
        p
    };
    let blair = enrol(&data.join(BLAIR_B), "Blair");
    let powell = enrol(&data.join(POWELL), "Powell");
    let pid = blair["person_id"].as_str().unwrap().to_string();
    let person_keys = keys(&media, &s, &format!("collections/{cid}/{pid}"));
    assert!(!person_keys.is_empty(), "the enrolled photo is not stored");
    let url = blair["images"][0]["original_url"].as_str().unwrap();
    let (st, body) = get_bytes(&s, url, &cadmin);
    assert_eq!(st, 200);
    assert!(body == std::fs::read(data.join(BLAIR_B)).unwrap());
    let (st, hits) = s.upload(
        &format!("/api/collections/{cid}/search"),
        &cadmin,
        &[("photo1", &data.join(BLAIR_A))],
        None,
    );
    assert_eq!(st, 200, "{hits}");
    assert_eq!(hits["hits"][0]["person_id"], pid.as_str(), "{hits}");
    let (st, v) = s.call(
        Method::DELETE,
        &format!("/api/collections/{cid}/persons/{pid}"),
        Some(&cadmin),
        None,
    );
    assert!(st == 200 || st == 204, "{st} {v}");
    assert!(keys(&media, &s, &format!("collections/{cid}/{pid}")).is_empty());
    let (st, _) = get_bytes(&s, url, &cadmin);
    assert_eq!(st, 404);
    let other = powell["person_id"].as_str().unwrap();
    assert!(!keys(&media, &s, &format!("collections/{cid}/{other}")).is_empty());
}

#[test]
fn local_files_sqlite() {
    storage_flows(Backend::Sqlite, false);
}

#[test]
fn s3_sqlite() {
    storage_flows(Backend::Sqlite, true);
}

#[test]
fn local_files_postgres() {
    storage_flows(Backend::Postgres, false);
}

#[test]
fn s3_postgres() {
    storage_flows(Backend::Postgres, true);
}

/// GET /health/ready: (status, body).
fn ready(s: &Server) -> (u16, Value) {
    let r = s.client.get(s.url("/health/ready")).send().unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

/// The store going down: readiness names it, an upload and an enrolment fail and leave no row
/// behind; back up, all is well again.
#[test]
fn s3_down() {
    let Some(data) = shared_data() else { return };
    let Some(media) = Media::start(true) else {
        return;
    };
    let Media::S3(mut s3) = media else {
        unreachable!()
    };
    // Without FACEPROOF_MEDIA_STORE: naming a bucket is enough to select S3.
    let mut env = s3.env("faceproof-media");
    env.retain(|(k, _)| *k != "FACEPROOF_MEDIA_STORE");
    env.push(("FACEPROOF_WORKERS", "0".into()));
    env.push(("FACEPROOF_LOG", "info".into()));
    let log = tempfile::NamedTempFile::new().unwrap();
    let Some(s) = Server::start_logged(
        Backend::Sqlite,
        &env_refs(&env),
        Some(log.path().to_path_buf()),
    ) else {
        return;
    };
    let (_, body) = ready(&s);
    assert_eq!(body["checks"]["media_store"], "ok", "{body}");
    let root = s.admin();
    let company = s.company(&root, "Down");
    let (_, client) = s.user(&root, "client@down.test", "CLIENT", Some(&company));
    let (_, cadmin) = s.user(&root, "cadmin@down.test", "CLIENT ADMIN", Some(&company));
    let (st, col) = s.call(
        Method::POST,
        "/api/collections/",
        Some(&cadmin),
        Some(json!({"alias": "blacklist"})),
    );
    assert_eq!(st, 201, "{col}");
    let cid = col["collection_id"].as_str().unwrap().to_string();
    let photo = data.join(BLAIR_A);

    s3.stop();
    let (st, body) = ready(&s);
    assert_eq!(st, 503, "{body}");
    assert_eq!(body["checks"]["media_store"], "unreachable", "{body}");
    let (st, v) = s.upload(
        "/api/folders/",
        &client,
        &[("photo", photo.as_path())],
        Some(json!({"media:tags": {"photo": ["photo_selfie"]}})),
    );
    assert!(st >= 500, "an upload with the store down: {st} {v}");
    assert!(v["error_code"].is_number(), "{v}");
    assert_eq!(s.db_count("media"), 0);
    assert_eq!(s.db_count("folders"), 0);
    // Enrolment too: no person, no image row.
    let (st, v) = s.upload(
        &format!("/api/collections/{cid}/persons/"),
        &cadmin,
        &[("photo1", photo.as_path())],
        Some(json!({"media:tags": {"photo1": ["photo_selfie"]}})),
    );
    assert!(st >= 500, "an enrolment with the store down: {st} {v}");
    assert_eq!(s.db_count("persons"), 0);
    assert_eq!(s.db_count("person_images"), 0);

    // Back (empty, as a new moto starts): ready again, uploads work.
    let s3 = S3Server::start_on(s3.port);
    s3.create_bucket("faceproof-media");
    // (The models may still be loading: wait for them, not for the store.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let (st, body) = ready(&s);
        assert_eq!(body["checks"]["media_store"], "ok", "{body}");
        if st == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready: {body}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (st, v) = s.upload(
        "/api/folders/",
        &client,
        &[("photo", photo.as_path())],
        Some(json!({"media:tags": {"photo": ["photo_selfie"]}})),
    );
    assert_eq!(st, 201, "{v}");

    // The log tells what failed, never the secret.
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        text.contains("media store: s3://faceproof-media/"),
        "{text}"
    );
    assert!(text.contains("readiness: media store"), "{text}");
    assert!(
        !text.contains("faceproof-test-secret"),
        "the S3 secret is in the log"
    );
}

fn migrate_blobs(data_dir: &Path, env: &[(&'static str, String)]) -> (bool, Value, String) {
    let mut cmd = faceproof(&["migrate-blobs", "--data-dir"]);
    cmd.arg(data_dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.success(),
        serde_json::from_str(stdout.trim()).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A server's media directory copied into a bucket by `faceproof migrate-blobs`, verified and
/// resumable; the server restarted on the bucket (the directory gone) serves every file.
#[test]
fn migrate_blobs_into_s3() {
    let Some(data) = shared_data() else { return };
    let Some(s3) = S3Server::start() else {
        return;
    };
    s3.create_bucket("migrated");
    let env = [("FACEPROOF_WORKERS", "0".to_string())];
    let Some(mut s) = Server::start(Backend::Sqlite, &env_refs(&env)) else {
        return;
    };
    let root = s.admin();
    let company = s.company(&root, "Migrating");
    let (_, client) = s.user(&root, "client@migrating.test", "CLIENT", Some(&company));
    let files: Vec<PathBuf> = vec![data.join(BLAIR_A), data.join(POWELL), data.join(LIVE_VIDEO)];
    let (st, folder) = s.upload(
        "/api/folders/",
        &client,
        &[
            ("a", files[0].as_path()),
            ("b", files[1].as_path()),
            ("v", files[2].as_path()),
        ],
        Some(json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"], "v": ["video_selfie"]}})),
    );
    assert_eq!(st, 201, "{folder}");
    assert_eq!(s.terminate(30).code(), Some(0));

    let mut target = s3.env("migrated");
    // Without an S3 target: refused.
    let (ok, _, err) = migrate_blobs(s.data_dir.path(), &[]);
    assert!(!ok && err.contains("media_store"), "{err}");
    let (ok, report, err) = migrate_blobs(s.data_dir.path(), &target);
    assert!(ok, "{err}");
    assert_eq!(report["total"], 6, "{report}");
    assert_eq!(report["copied"], 6, "{report}");
    assert_eq!(report["skipped"], 0, "{report}");
    assert!(err.contains("6 copied"), "{err}");
    // Again: all there with the same digests.
    let (ok, report, _) = migrate_blobs(s.data_dir.path(), &target);
    assert!(ok);
    assert_eq!(
        (report["copied"].as_u64(), report["skipped"].as_u64()),
        (Some(0), Some(6))
    );
    // A bucket that does not exist: every object fails, exit non-zero.
    let mut wrong = target.clone();
    wrong.retain(|(k, _)| *k != "FACEPROOF_S3_BUCKET");
    wrong.push(("FACEPROOF_S3_BUCKET", "no-such-bucket".into()));
    let (ok, _, err) = migrate_blobs(s.data_dir.path(), &wrong);
    assert!(!ok, "{err}");

    // The server on the bucket, the local media gone: every file is served from S3.
    std::fs::remove_dir_all(s.data_dir.path().join("media")).unwrap();
    target.push(("FACEPROOF_WORKERS", "0".into()));
    s.restart(&env_refs(&target));
    let client = s.login("client@migrating.test", "password-123");
    let fid = folder["folder_id"].as_str().unwrap();
    let (_, now) = s.call(
        Method::GET,
        &format!("/api/folders/{fid}"),
        Some(&client),
        None,
    );
    assert_eq!(now["media"].as_array().unwrap().len(), 3, "{now}");
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let m = media_of(&now, name);
        let (st, body) = get_bytes(&s, m["original_url"].as_str().unwrap(), &client);
        assert_eq!(st, 200);
        assert!(body == std::fs::read(path).unwrap(), "{path:?} differs");
    }
}

/// Wrong storage settings stop `faceproof serve` at start-up with a message naming the setting
/// (nothing is contacted: the endpoints below are never reached).
#[test]
fn bad_storage_settings_are_refused() {
    let s3 = [
        ("FACEPROOF_MEDIA_STORE", "s3"),
        ("FACEPROOF_S3_BUCKET", "media"),
    ];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("FACEPROOF_MEDIA_STORE", "ftp")],
            "unknown media store",
        ),
        (vec![("FACEPROOF_S3_BUCKET", "")], "s3_bucket"),
        (
            vec![("FACEPROOF_S3_ENDPOINT", "http://minio.invalid:9000")],
            "plain HTTP",
        ),
        (
            vec![("FACEPROOF_S3_ENDPOINT", "ftp://127.0.0.1:9000")],
            "scheme ftp",
        ),
        (
            vec![("FACEPROOF_S3_ACCESS_KEY_ID", "only-the-id")],
            "go together",
        ),
        (vec![("FACEPROOF_S3_PREFIX", "a/../b")], "s3_prefix"),
        (vec![("FACEPROOF_MEDIA_PART_BYTES", "1000")], "at least"),
    ];
    for (extra, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = faceproof(&["serve", "--listen", "127.0.0.1:0", "--data-dir"]);
        cmd.arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (k, v) in s3.iter().chain(extra.iter()) {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve started with {extra:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(!status.success(), "{extra:?}");
        assert!(err.contains(message), "{extra:?}: {err}");
    }
}
