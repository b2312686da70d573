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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Row;

const SELFIE: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";
const BLAIR_A: &str = "verification/Tony_Blair/Tony_Blair_0009.jpg";
const BLAIR_B: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";
const VIDEO: &str = "video/krzysiek354_live_small_moves.mp4";

/// An order's files: (form key, path under the shared data, tags).
type Files = Vec<(&'static str, &'static str, &'static [&'static str])>;

/// Webhook requests received: (delivery id, folder id) per request.
fn received(hook: &webhook::Receiver) -> Vec<(String, String)> {
    hook.requests()
        .iter()
        .map(|r| {
            // either webhook format: the folder itself (`oz`) or the envelope (`faceproof`)
            let v = r.json();
            let folder = v["folder"]["folder_id"]
                .as_str()
                .or(v["folder_id"].as_str())
                .unwrap_or("")
                .to_string();
            let delivery = r
                .header("x-faceproof-delivery")
                .unwrap_or("")
                .to_ascii_lowercase();
            (delivery, folder)
        })
        .collect()
}

/// The environment every process of the cluster shares.
const CLUSTER_ENV: [(&str, &str); 5] = [
    ("FACEPROOF_JOB_POLL_MS", "100"),
    // Short leases: a killed worker's job is taken over within seconds (running jobs renew
    // theirs).
    ("FACEPROOF_JOB_LEASE", "4"),
    ("FACEPROOF_WEBHOOK_ALLOW_INTERNAL", "true"),
    // Random kills are not a poison job: a video killed mid-way three times would otherwise
    // be given up (job_max_attempts), which is right in production and noise here.
    ("FACEPROOF_JOB_MAX_ATTEMPTS", "100"),
    ("FACEPROOF_WEBHOOK_BACKOFF_MS", "200"),
];

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
    let mut peer_env = CLUSTER_ENV.to_vec();
    peer_env.push(("FACEPROOF_WORKERS", "0"));
    let api2 = s.peer(&peer_env);
    let base2 = api2.base.clone();
    let mut workers: Vec<Process> = (0..3).map(|_| s.worker(&CLUSTER_ENV)).collect();

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
    let hook = webhook::Receiver::start();

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
            .json(&json!({"analyses": analyses, "resolution_endpoint": hook.url}))
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
        drop(workers.swap_remove(k)); // SIGKILL, mid-job or not
        workers.push(s.worker(&CLUSTER_ENV));
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
        let folders: BTreeSet<String> = received(&hook).into_iter().map(|(_, f)| f).collect();
        if placed.iter().all(|(f, _, _, _)| folders.contains(f)) {
            break;
        }
        assert!(Instant::now() < deadline, "webhooks missing");
        std::thread::sleep(Duration::from_millis(200));
    }
    workers.clear(); // killed

    let rt = runtime();
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
    let got = received(&hook);
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
