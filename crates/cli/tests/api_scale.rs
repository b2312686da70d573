//! Scale-out under failure (issue 13), at a size CI can afford: two API servers without workers
//! and three `faceproof worker` processes on one PostgreSQL database and one media store, a
//! bounded mixed load (photo liveness with best shots, biometry, video liveness with best shots,
//! blacklist searches, each order with a webhook) sent to both servers, while workers are killed
//! with SIGKILL at random and started again. Then: every analysis finished exactly once (one
//! `done` job each, one best shot per source medium, one delivery per order, every delivery
//! received and, when a worker died between sending and recording, re-sent under the same
//! delivery id), and the database and the media store agree (no orphan file, no row naming a
//! missing file). `scripts/scale-test.sh` runs the same scenario bigger.
//!
//! PostgreSQL only (SQLite is one machine's database). Size with `FACEPROOF_SCALE_ORDERS`
//! (default 12) and `FACEPROOF_SCALE_KILLS` (default 4).

mod api_common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_common::*;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Row;

const SELFIE: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";
const BLAIR_A: &str = "verification/Tony_Blair/Tony_Blair_0009.jpg";
const BLAIR_B: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";
const VIDEO: &str = "video/krzysiek354_live_small_moves.mp4";

/// An order's files: (form key, path under the shared data, tags).
type Files = Vec<(&'static str, &'static str, &'static [&'static str])>;

/// Webhook bodies received: (delivery id, folder id) per request.
type Received = Arc<Mutex<Vec<(String, String)>>>;

fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Received = Arc::default();
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut length, mut delivery) = (0usize, String::new());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if let Some(v) = lower.strip_prefix("x-faceproof-delivery:") {
                        delivery = v.trim().to_string();
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                // either webhook format: the folder itself (`oz`) or the envelope (`faceproof`)
                let folder = v["folder"]["folder_id"]
                    .as_str()
                    .or(v["folder_id"].as_str())
                    .unwrap_or("")
                    .to_string();
                seen.lock().unwrap().push((delivery, folder));
                let mut stream = stream;
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            });
        }
    });
    (url, got)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The environment every process of the cluster shares.
fn cluster_env(cmd: &mut Command) -> &mut Command {
    for var in [
        "FACEPROOF_CONFIG",
        "FACEPROOF_DATABASE_URL",
        "FACEPROOF_PUBLIC_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("FACEPROOF_JOB_POLL_MS", "100")
        // Short leases: a killed worker's job is taken over within seconds (running jobs renew
        // theirs).
        .env("FACEPROOF_JOB_LEASE", "4")
        .env("FACEPROOF_WEBHOOK_ALLOW_INTERNAL", "true")
        // Random kills are not a poison job: a video killed mid-way three times would otherwise
        // be given up (job_max_attempts), which is right in production and noise here.
        .env("FACEPROOF_JOB_MAX_ATTEMPTS", "100")
        .env("FACEPROOF_WEBHOOK_BACKOFF_MS", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}

fn spawn_worker(data_dir: &Path, db: &str) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faceproof"));
    cmd.args(["worker", "--workers", "1", "--data-dir"])
        .arg(data_dir)
        .args(["--database-url", db]);
    cluster_env(&mut cmd).spawn().expect("starting a worker")
}

fn spawn_api(data_dir: &Path, db: &str, port: u16) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faceproof"));
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(data_dir)
    .args(["--database-url", db])
    .env("FACEPROOF_WORKERS", "0");
    cluster_env(&mut cmd)
        .spawn()
        .expect("starting the second API server")
}

/// Every file under `root` (relative paths), skipping the store's own temporary area.
fn files_under(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel == "tmp" || rel.starts_with("tmp/") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel);
            }
        }
    }
    out
}

struct Killer(Vec<Child>);

impl Drop for Killer {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn workers_killed_at_random_lose_and_duplicate_nothing() {
    let Some(data) = shared_data() else { return };
    let orders: usize = std::env::var("FACEPROOF_SCALE_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let kills: usize = std::env::var("FACEPROOF_SCALE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let Some(s) = Server::start(
        Backend::Postgres,
        &[
            ("FACEPROOF_WORKERS", "0"),
            ("FACEPROOF_WEBHOOK_ALLOW_INTERNAL", "true"),
            ("FACEPROOF_JOB_MAX_ATTEMPTS", "100"),
        ],
    ) else {
        return;
    };
    let db = s.database_url();
    let dir: PathBuf = s.data_dir.path().to_path_buf();
    let port2 = free_port();
    let _api2 = Killer(vec![spawn_api(&dir, &db, port2)]);
    let base2 = format!("http://127.0.0.1:{port2}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s
        .client
        .get(format!("{base2}/api/version"))
        .send()
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "the second API server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut workers: Vec<Child> = (0..3).map(|_| spawn_worker(&dir, &db)).collect();

    let t = tenant(&s, "scale");
    let (st, c) = s.call(
        Method::POST,
        "/api/collections/",
        Some(&t.admin),
        Some(json!({"alias": "blacklist", "company_id": t.company})),
    );
    assert_eq!(st, 201, "{c}");
    let cid = c["collection_id"].as_str().unwrap().to_string();
    let (st, p) = s.upload(
        &format!("/api/collections/{cid}/persons/"),
        &t.admin,
        &[("photo", &data.join(BLAIR_B))],
        Some(json!({"media:tags": {"photo": ["photo_selfie"]}})),
    );
    assert_eq!(st, 201, "{p}");
    let (hook, received) = receiver();

    // The orders, alternating between the two API servers. Expected best shots per folder.
    let mut placed: Vec<(String, Vec<String>, usize, usize)> = Vec::new(); // folder, analyses, uploaded, best shots
    for i in 0..orders {
        let (files, analyses, best_shots): (Files, Value, usize) = match i % 4 {
            // Best shots are taken from videos only: none here, although asked.
            0 => (
                vec![("selfie", SELFIE, &["photo_selfie"])],
                json!([{"type": "quality", "params": {"extract_best_shot": true}}]),
                0,
            ),
            1 => (
                vec![
                    ("a", BLAIR_A, &["photo_selfie"]),
                    ("b", BLAIR_B, &["photo_id", "photo_id_front"]),
                ],
                json!([{"type": "biometry"}]),
                0,
            ),
            2 => (
                vec![("video", VIDEO, &["video_selfie", "video_selfie_blank"])],
                json!([{"type": "quality", "params": {"extract_best_shot": true}}]),
                1,
            ),
            _ => (
                vec![("selfie", BLAIR_A, &["photo_selfie"])],
                json!([{"type": "blacklist"}]),
                0,
            ),
        };
        let tags: serde_json::Map<String, Value> = files
            .iter()
            .map(|(k, _, t)| (k.to_string(), json!(t)))
            .collect();
        let paths: Vec<(&str, PathBuf)> =
            files.iter().map(|(k, f, _)| (*k, data.join(f))).collect();
        let list: Vec<(&str, &Path)> = paths.iter().map(|(k, p)| (*k, p.as_path())).collect();
        let (st, f) = s.upload(
            "/api/folders/",
            &t.client,
            &list,
            Some(json!({ "media:tags": tags })),
        );
        assert_eq!(st, 201, "{f}");
        let folder = f["folder_id"].as_str().unwrap().to_string();
        let base = if i % 2 == 0 {
            s.url("/")
        } else {
            format!("{base2}/")
        };
        let resp = s
            .client
            .post(format!("{base}api/folders/{folder}/analyses/"))
            .header("X-Forensic-Access-Token", &t.client)
            .json(&json!({"analyses": analyses, "resolution_endpoint": hook}))
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        let v: Value = resp.json().unwrap();
        assert_eq!(status, 201, "{v}");
        let ids = v
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["analysis_id"].as_str().unwrap().to_string())
            .collect();
        placed.push((folder, ids, files.len(), best_shots));
    }

    // Chaos: SIGKILL a random worker and start a new one, `kills` times, while work remains.
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut killed = 0;
    while killed < kills {
        std::thread::sleep(Duration::from_millis(1500));
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let k = (rng % workers.len() as u64) as usize;
        let _ = workers[k].kill();
        let _ = workers[k].wait();
        workers[k] = spawn_worker(&dir, &db);
        killed += 1;
    }

    // Everything finishes (read through the second server).
    let all: Vec<&String> = placed.iter().flat_map(|(_, ids, _, _)| ids).collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    for id in &all {
        loop {
            let v: Value = s
                .client
                .get(format!("{base2}/api/analyses/{id}"))
                .header("X-Forensic-Access-Token", &t.client)
                .send()
                .unwrap()
                .json()
                .unwrap();
            if v["state"] == "FINISHED" || v["state"] == "FAILED" {
                assert_ne!(v["resolution_status"], "FAILED", "{v}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "analysis {id} did not finish: {v}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Webhooks: one delivery per order, delivered; wait for the last ones.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let folders: BTreeSet<String> = received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        if placed.iter().all(|(f, _, _, _)| folders.contains(f)) {
            break;
        }
        assert!(Instant::now() < deadline, "webhooks missing");
        std::thread::sleep(Duration::from_millis(200));
    }
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = rt
        .block_on(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&db),
        )
        .unwrap();
    let rows = |sql: &str| rt.block_on(sqlx::query(sql).fetch_all(&pool)).unwrap();

    // Exactly once: one job per analysis, done.
    for id in &all {
        let r = rows(&format!(
            "SELECT state FROM jobs WHERE kind = 'analysis' AND target_id = '{id}'"
        ));
        let states: Vec<String> = r.iter().map(|r| r.get("state")).collect();
        assert_eq!(states, vec!["done".to_string()], "jobs of analysis {id}");
    }
    // One best shot per source medium, not one per run.
    for (folder, _, uploaded, best_shots) in &placed {
        let v: Value = s
            .client
            .get(format!("{base2}/api/folders/{folder}"))
            .header("X-Forensic-Access-Token", &t.client)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            v["media"].as_array().unwrap().len(),
            uploaded + best_shots,
            "media of folder {folder}"
        );
    }
    // One delivery row per order, delivered; every request the receiver saw is one of them
    // (a re-send after a worker died mid-delivery carries the same id).
    let deliveries = rows("SELECT delivery_id, folder_id, state FROM webhook_deliveries");
    let mut per_folder: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in &deliveries {
        per_folder
            .entry(r.get("folder_id"))
            .or_default()
            .push((r.get("delivery_id"), r.get("state")));
    }
    for (folder, _, _, _) in &placed {
        let d = &per_folder[folder];
        assert_eq!(d.len(), 1, "deliveries of folder {folder}: {d:?}");
        assert_eq!(d[0].1.to_ascii_uppercase(), "DELIVERED", "{d:?}");
    }
    let known: BTreeSet<String> = deliveries.iter().map(|r| r.get("delivery_id")).collect();
    let got = received.lock().unwrap().clone();
    for (delivery, folder) in &got {
        assert!(
            known.contains(delivery),
            "unknown delivery {delivery} for {folder}"
        );
    }
    let resent = got.len() - placed.len();
    let retried = rows("SELECT job_id FROM jobs WHERE kind = 'analysis' AND attempts > 1").len();
    eprintln!(
        "{} orders, {} analyses, {killed} workers killed, {retried} analyses taken over from a killed worker; \
         {} webhook requests ({resent} re-sent under the same delivery id)",
        placed.len(),
        all.len(),
        got.len()
    );

    // The database and the media store agree.
    let mut keys = BTreeSet::new();
    for table in ["media", "person_images"] {
        for r in rows(&format!("SELECT file_key, thumb_key FROM {table}")) {
            keys.insert(r.get::<String, _>("file_key"));
            if let Some(k) = r.get::<Option<String>, _>("thumb_key") {
                keys.insert(k);
            }
        }
    }
    let files = files_under(&dir.join("media"));
    let orphans: Vec<_> = files.difference(&keys).collect();
    let missing: Vec<_> = keys.difference(&files).collect();
    assert!(orphans.is_empty(), "files no row names: {orphans:?}");
    assert!(missing.is_empty(), "rows naming missing files: {missing:?}");
}
