//! Operations end to end against the real binary: `/metrics` (guarded, Prometheus text, route
//! templates and no personal data in labels), `/health/live` and `/health/ready`, request ids,
//! the dedicated metrics listener, and graceful shutdown on SIGTERM (in-flight requests and
//! running jobs finish, the rest stays queued or is released, a restart finishes it exactly
//! once) — on SQLite and PostgreSQL.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

const LIVE: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";
const BLAIR_A: &str = "verification/Tony_Blair/Tony_Blair_0009.jpg";
const BLAIR_B: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";
const LIVE_VIDEO: &str = "video/tranvanluyt2203_live_head_turns.mp4";
const METRICS_TOKEN: &str = "metrics-token-for-tests-0123456789";

fn folder(s: &Server, token: &str, files: &[(&str, PathBuf, &[&str])]) -> String {
    let tags: serde_json::Map<String, Value> = files
        .iter()
        .map(|(k, _, t)| (k.to_string(), json!(t)))
        .collect();
    let list: Vec<(&str, &Path)> = files.iter().map(|(k, p, _)| (*k, p.as_path())).collect();
    let (st, v) = s.upload(
        "/api/folders/",
        token,
        &list,
        Some(json!({ "media:tags": tags })),
    );
    assert_eq!(st, 201, "{v}");
    v["folder_id"].as_str().unwrap().to_string()
}

/// Order `analyses` on a folder; the analysis ids.
fn order(s: &Server, token: &str, folder_id: &str, body: Value) -> Vec<String> {
    let (st, v) = s.call(
        Method::POST,
        &format!("/api/folders/{folder_id}/analyses/"),
        Some(token),
        Some(body),
    );
    assert_eq!(st, 201, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a["analysis_id"].as_str().unwrap().to_string())
        .collect()
}

/// The sum of the samples of `name` whose labels include every one of `labels`; `None` when no
/// sample matches.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut total = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (n, lab) = match series.find('{') {
            Some(i) => (&series[..i], &series[i..]),
            None => (series, ""),
        };
        if n == name
            && labels
                .iter()
                .all(|(k, v)| lab.contains(&format!("{k}=\"{v}\"")))
        {
            *total.get_or_insert(0.0) += value.parse::<f64>().unwrap();
        }
    }
    total
}

fn scrape(s: &Server, base: &str, token: Option<&str>) -> (u16, String) {
    let mut r = s.client.get(format!("{base}/metrics"));
    if let Some(t) = token {
        r = r.header("Authorization", format!("Bearer {t}"));
    }
    let resp = r.send().unwrap();
    let status = resp.status().as_u16();
    if status == 200 {
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    }
    (status, resp.text().unwrap())
}

/// Poll `/health/ready` until 200 (the first probe starts loading the models); the last body.
fn wait_ready(s: &Server, base: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = s.client.get(format!("{base}/health/ready")).send().unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().unwrap();
        assert!(status == 200 || status == 503, "{status} {body}");
        assert_eq!(status == 200, body["status"] == "ready", "{body}");
        if status == 200 {
            return body;
        }
        assert!(
            body["checks"]["models"] == "loading" || body["checks"]["queue"] != "ok",
            "only the models may be missing at start: {body}"
        );
        assert!(Instant::now() < deadline, "never ready: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn metrics_and_health(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let hook = webhook::Receiver::start();
    let authority = hook.authority();
    let env = [
        ("FACEPROOF_METRICS_TOKEN", METRICS_TOKEN),
        ("FACEPROOF_WEBHOOK_ALLOWED_HOSTS", authority.as_str()),
        ("FACEPROOF_JOB_POLL_MS", "100"),
    ];
    on(backend, &env, |s| {
        // Liveness: no check but the process itself; a request id on every answer.
        let r = s.client.get(s.url("/health/live")).send().unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().contains_key("x-request-id"));
        assert_eq!(r.json::<Value>().unwrap()["status"], "alive");
        let ready = wait_ready(s, &s.base);
        for check in ["database", "models", "media_store", "queue", "shutdown"] {
            assert_eq!(ready["checks"][check], "ok", "{ready}");
        }

        // The guard: no token → 6, a wrong one → 7, both in the Oz error shape.
        assert_error(
            {
                let (st, body) = scrape(s, &s.base, None);
                (st, serde_json::from_str(&body).unwrap())
            },
            401,
            6,
        );
        assert_error(
            {
                let (st, body) = scrape(s, &s.base, Some("wrong-token"));
                (st, serde_json::from_str(&body).unwrap())
            },
            401,
            7,
        );

        // Work to count: liveness + biometry with a webhook, a collection with one photo.
        let t = tenant(s, "observed");
        let fid = folder(
            s,
            &t.client,
            &[
                ("a", data.join(BLAIR_A), &["photo_selfie"]),
                ("b", data.join(BLAIR_B), &["photo_selfie"]),
            ],
        );
        let ids = order(
            s,
            &t.client,
            &fid,
            json!({"analyses": [{"type": "quality"}, {"type": "biometry"}], "resolution_endpoint": hook.url}),
        );
        for id in &ids {
            let a = s.wait_analysis(&t.client, id, 180);
            assert_eq!(a["state"], "FINISHED", "{a}");
        }
        hook.wait_for(1, 60);
        let alias = "Alias-Of-A-Person-7731";
        let (st, c) = s.call(
            Method::POST,
            "/api/collections/",
            Some(&t.admin),
            Some(json!({"alias": alias, "company_id": t.company})),
        );
        assert_eq!(st, 201, "{c}");
        let cid = c["collection_id"].as_str().unwrap().to_string();
        let (st, p) = s.upload(
            &format!("/api/collections/{cid}/persons/"),
            &t.admin,
            &[("photo", &data.join(LIVE))],
            Some(json!({"media:tags": {"photo": ["photo_selfie"]}})),
        );
        assert_eq!(st, 201, "{p}");
        // A raw path with an id that matches no route.
        let (st, _) = s.call(
            Method::GET,
            &format!("/api/nothing/{fid}"),
            Some(&t.client),
            None,
        );
        assert_eq!(st, 404);

        // The webhook's attempt is recorded after the receiver answered: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(30);
        let text = loop {
            let (st, text) = scrape(s, &s.base, Some(METRICS_TOKEN));
            assert_eq!(st, 200, "{text}");
            if sample(
                &text,
                "faceproof_webhook_attempts_total",
                &[("outcome", "delivered")],
            )
            .is_some()
                || Instant::now() > deadline
            {
                break text;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let get = |name: &str, labels: &[(&str, &str)]| {
            sample(&text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
        };
        assert_eq!(
            get("faceproof_analyses_started_total", &[("type", "QUALITY")]),
            1.0
        );
        assert_eq!(
            get("faceproof_analyses_started_total", &[("type", "BIOMETRY")]),
            1.0
        );
        assert_eq!(
            get("faceproof_analyses_finished_total", &[("type", "QUALITY")]),
            1.0
        );
        assert_eq!(
            get(
                "faceproof_analyses_finished_total",
                &[("type", "BIOMETRY"), ("resolution", "SUCCESS")]
            ),
            1.0
        );
        assert_eq!(
            get(
                "faceproof_analysis_run_seconds_count",
                &[("type", "QUALITY")]
            ),
            1.0
        );
        assert!(
            get(
                "faceproof_analysis_latency_seconds_sum",
                &[("type", "BIOMETRY")]
            ) > 0.0
        );
        for op in ["quality", "biometry", "enrol"] {
            assert!(
                get("faceproof_inference_seconds_count", &[("operation", op)]) >= 1.0,
                "{op}"
            );
        }
        assert_eq!(
            get(
                "faceproof_webhook_attempts_total",
                &[("outcome", "delivered")]
            ),
            1.0
        );
        assert_eq!(
            get(
                "faceproof_collection_photos",
                &[("collection_id", cid.as_str())]
            ),
            1.0
        );
        assert_eq!(
            get(
                "faceproof_queue_jobs",
                &[("kind", "analysis"), ("state", "queued")]
            ),
            0.0
        );
        assert_eq!(
            get(
                "faceproof_queue_oldest_wait_seconds",
                &[("kind", "analysis")]
            ),
            0.0
        );
        assert_eq!(get("faceproof_models_loaded", &[]), 1.0);
        assert!(get("process_resident_memory_bytes", &[]) > 50e6);
        // Requests by route template and status, with latency histograms.
        assert_eq!(
            get(
                "faceproof_http_requests_total",
                &[
                    ("method", "POST"),
                    ("route", "/api/folders/{folder_id}/analyses"),
                    ("status", "201")
                ]
            ),
            1.0
        );
        assert!(
            get(
                "faceproof_http_request_duration_seconds_bucket",
                &[
                    ("route", "/api/folders"),
                    ("method", "POST"),
                    ("le", "+Inf")
                ]
            ) >= 1.0
        );
        assert!(
            get(
                "faceproof_http_requests_total",
                &[("route", "unmatched"), ("status", "404")]
            ) >= 1.0
        );
        // No raw paths, no personal data: ids of folders and analyses, emails and the alias a
        // client wrote appear nowhere.
        for secret in [
            fid.as_str(),
            ids[0].as_str(),
            ids[1].as_str(),
            "observed.test",
            alias,
            ADMIN_EMAIL,
            METRICS_TOKEN,
        ] {
            assert!(!text.contains(secret), "{secret} in the metrics:\n{text}");
        }
    });
}

#[test]
fn metrics_and_health_sqlite() {
    metrics_and_health(Backend::Sqlite);
}

#[test]
fn metrics_and_health_postgres() {
    metrics_and_health(Backend::Postgres);
}

fn free_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// Without a token or a listener of its own `/metrics` does not exist; `metrics_listen` serves
/// health and metrics only (and needs the token too when one is set). Request ids: a well-formed
/// one is echoed, anything else replaced.
#[test]
fn metrics_guard_and_dedicated_listener() {
    let s = Server::start(Backend::Sqlite, &[]).unwrap();
    assert_error(
        {
            let (st, body) = scrape(&s, &s.base, None);
            (st, serde_json::from_str(&body).unwrap())
        },
        404,
        10,
    );
    let r = s
        .client
        .get(s.url("/api/version"))
        .header("x-request-id", "trace-42.a_b:c")
        .send()
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42.a_b:c");
    let r = s
        .client
        .get(s.url("/api/version"))
        .header("x-request-id", "<script>\"x\"")
        .send()
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    assert!(id.parse::<uuid_like::Uuid>().is_ok(), "{id}");
    drop(s);

    let open = free_addr();
    let s = Server::start(Backend::Sqlite, &[("FACEPROOF_METRICS_LISTEN", &open)]).unwrap();
    let dedicated = format!("http://{open}");
    assert_eq!(scrape(&s, &s.base, None).0, 404);
    let (st, text) = scrape(&s, &dedicated, None);
    assert_eq!(st, 200, "{text}");
    assert!(
        sample(&text, "faceproof_build_info", &[]).is_some(),
        "{text}"
    );
    let r = s
        .client
        .get(format!("{dedicated}/health/live"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_ready(&s, &dedicated);
    let r = s
        .client
        .get(format!("{dedicated}/api/version"))
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "the API is not served on the metrics address"
    );
    drop(s);

    let guarded = free_addr();
    let s = Server::start(
        Backend::Sqlite,
        &[
            ("FACEPROOF_METRICS_LISTEN", &guarded),
            ("FACEPROOF_METRICS_TOKEN", METRICS_TOKEN),
        ],
    )
    .unwrap();
    let dedicated = format!("http://{guarded}");
    assert_eq!(scrape(&s, &dedicated, None).0, 401);
    assert_eq!(scrape(&s, &dedicated, Some(METRICS_TOKEN)).0, 200);
    assert_eq!(scrape(&s, &s.base, Some(METRICS_TOKEN)).0, 200);
}

/// A UUID check without a dependency: 8-4-4-4-12 hex digits.
mod uuid_like {
    pub struct Uuid;
    impl std::str::FromStr for Uuid {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            let parts: Vec<&str> = s.split('-').collect();
            let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
            let hex = parts
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()));
            (lens == [8, 4, 4, 4, 12] && hex).then_some(Uuid).ok_or(())
        }
    }
}

fn wait_job_state(s: &Server, id: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while s.job_of(id).map(|j| j.0).as_deref() != Some(state) {
        assert!(Instant::now() < deadline, "job of {id} never {state}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn video_folder(s: &Server, token: &str, data: &Path) -> String {
    folder(
        s,
        token,
        &[(
            "video",
            data.join(LIVE_VIDEO),
            &["video_selfie", "video_selfie_blank"],
        )],
    )
}

const WITH_BEST_SHOT: &str =
    r#"{"analyses": [{"type": "quality", "params": {"extract_best_shot": true}}]}"#;

/// Media of a folder (the video plus one best shot once its analysis finished).
fn media_count(s: &Server, token: &str, folder: &str) -> usize {
    let (st, v) = s.call(
        Method::GET,
        &format!("/api/folders/{folder}"),
        Some(token),
        None,
    );
    assert_eq!(st, 200, "{v}");
    v["media"].as_array().unwrap().len()
}

/// SIGTERM with a job running, two queued and a single request in flight: the request is
/// answered, the running job finishes, nothing new is claimed, the process exits 0; a restarted
/// server finishes the queued ones, each exactly once.
fn sigterm_drains(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let env = [
        ("FACEPROOF_WORKERS", "1"),
        ("FACEPROOF_JOB_POLL_MS", "100"),
        ("FACEPROOF_SHUTDOWN_TIMEOUT", "120"),
    ];
    let Some(mut s) = Server::start(backend, &env) else {
        return;
    };
    let t = tenant(&s, "drained");
    let folders: Vec<String> = (0..3).map(|_| video_folder(&s, &t.client, &data)).collect();
    let ids: Vec<String> = folders
        .iter()
        .map(|f| {
            order(
                &s,
                &t.client,
                f,
                serde_json::from_str(WITH_BEST_SHOT).unwrap(),
            )
            .remove(0)
        })
        .collect();
    // One worker: the first job runs, the others wait.
    let deadline = Instant::now() + Duration::from_secs(120);
    let running = loop {
        assert!(Instant::now() < deadline, "no job was claimed");
        if let Some(i) =
            (0..3).find(|i| s.job_of(&ids[*i]).map(|j| j.0).as_deref() == Some("running"))
        {
            break i;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // A single request (upload + analysis while the client waits) in flight at the signal.
    let (url, token, video) = (
        s.url("/api/folders/"),
        t.client.clone(),
        data.join(LIVE_VIDEO),
    );
    let in_flight = std::thread::spawn(move || {
        let form = reqwest::blocking::multipart::Form::new()
            .part(
                "video",
                reqwest::blocking::multipart::Part::bytes(std::fs::read(video).unwrap())
                    .file_name("v.mp4"),
            )
            .text(
                "payload",
                json!({"media:tags": {"video": ["video_selfie", "video_selfie_blank"]},
                       "analyses": [{"type": "quality"}]})
                .to_string(),
            );
        let r = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap()
            .post(url)
            .header("X-Forensic-Access-Token", token)
            .multipart(form)
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    });
    // Signal once the server has the request: its analysis placed (3 orders + this one).
    eventually(300, "the single request's analysis placed", || {
        (s.db_count("analyses") == 4).then_some(())
    });
    let status = s.terminate(180);
    assert!(status.success(), "exit status {status:?}");
    let (st, v) = in_flight.join().unwrap();
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["analyses"][0]["state"], "FINISHED", "{v}");
    // The running job was finished before the exit; the queued ones were left alone.
    assert_eq!(s.job_of(&ids[running]), Some(("done".into(), 1)));
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| *i != running) {
        assert_eq!(
            s.job_of(id),
            Some(("queued".into(), 0)),
            "analysis {i} should not have been claimed after SIGTERM"
        );
    }
    s.restart(&env);
    for (i, id) in ids.iter().enumerate() {
        let a = s.wait_analysis(&t.client, id, 300);
        assert_eq!(a["state"], "FINISHED", "{a}");
        assert_eq!(s.job_of(id), Some(("done".into(), 1)), "analysis {i}");
        assert_eq!(media_count(&s, &t.client, &folders[i]), 2, "one best shot");
    }
}

#[test]
fn sigterm_drains_sqlite() {
    sigterm_drains(Backend::Sqlite);
}

#[test]
fn sigterm_drains_postgres() {
    sigterm_drains(Backend::Postgres);
}

/// SIGTERM with a job running past a 1 s deadline: the process still exits 0, promptly, and the
/// job is handed back (queued, the interrupted attempt not counted) instead of waiting for its
/// 10-minute lease; a restarted server runs it once.
fn sigterm_deadline_releases(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let env = [
        ("FACEPROOF_WORKERS", "1"),
        ("FACEPROOF_JOB_POLL_MS", "100"),
        ("FACEPROOF_SHUTDOWN_TIMEOUT", "1"),
        ("FACEPROOF_JOB_LEASE", "600"),
    ];
    let Some(mut s) = Server::start(backend, &env) else {
        return;
    };
    let t = tenant(&s, "released");
    let f = video_folder(&s, &t.client, &data);
    let id = order(
        &s,
        &t.client,
        &f,
        serde_json::from_str(WITH_BEST_SHOT).unwrap(),
    )
    .remove(0);
    wait_job_state(&s, &id, "running");
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    let status = s.terminate(30);
    assert!(status.success(), "exit status {status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(s.job_of(&id), Some(("queued".into(), 0)));
    let (_, a) = {
        // The analysis is untouched until a worker runs it again.
        s.restart(&[("FACEPROOF_WORKERS", "0")]);
        s.call(
            Method::GET,
            &format!("/api/analyses/{id}"),
            Some(&t.client),
            None,
        )
    };
    assert_eq!(a["state"], "PROCESSING", "{a}");
    assert_eq!(s.terminate(30).code(), Some(0));
    s.restart(&env);
    let a = s.wait_analysis(&t.client, &id, 300);
    assert_eq!(a["state"], "FINISHED", "{a}");
    assert_eq!(s.job_of(&id), Some(("done".into(), 1)));
    assert_eq!(media_count(&s, &t.client, &f), 2, "one best shot");
}

#[test]
fn sigterm_deadline_releases_sqlite() {
    sigterm_deadline_releases(Backend::Sqlite);
}

#[test]
fn sigterm_deadline_releases_postgres() {
    sigterm_deadline_releases(Backend::Postgres);
}

/// Base64 (standard alphabet) without a dependency, for the log check.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What must never reach a log line of this file's bytes: windows of its base64 (at every
/// alignment a log could carry) and of its hex.
fn fingerprints(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for start in [1000usize, 4000, 8000] {
        for shift in 0..3 {
            let b = base64(&bytes[start + shift..start + shift + 300]);
            out.push(b[8..56].to_string());
        }
        let hex: String = bytes[start..start + 32]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        out.push(hex);
    }
    out
}

/// A run through sign-in (good and bad passwords), refresh, uploads, analyses with a signed
/// webhook, Instant, Lite and a metrics scrape, with every module logging at DEBUG in JSON: every
/// line is a JSON object, requests carry their id, and no password, token, secret or face
/// bytes (raw, hex or base64) appear anywhere.
fn logs_leak_nothing(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let hook = webhook::Receiver::start();
    let authority = hook.authority();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let env = [
        ("FACEPROOF_LOG", "debug"),
        ("FACEPROOF_LOG_FORMAT", "json"),
        ("FACEPROOF_METRICS_TOKEN", METRICS_TOKEN),
        ("FACEPROOF_WEBHOOK_ALLOWED_HOSTS", authority.as_str()),
        ("FACEPROOF_JOB_POLL_MS", "100"),
    ];
    let Some(mut s) = Server::start_logged(backend, &env, Some(log.clone())) else {
        return;
    };
    let mut secrets: Vec<String> = vec![
        ADMIN_PASSWORD.into(),
        "password-123".into(),
        METRICS_TOKEN.into(),
    ];
    let wrong = "Wrong-Password-4471";
    secrets.push(wrong.into());
    assert_eq!(s.login_raw(ADMIN_EMAIL, wrong).status(), 401);
    let r = s.login_raw(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(r.status(), 200);
    let pair: Value = r.json().unwrap();
    secrets.push(pair["access_token"].as_str().unwrap().into());
    secrets.push(pair["expire_token"].as_str().unwrap().into());
    let (st, refreshed) = s.call(
        Method::POST,
        "/api/authorize/refresh",
        pair["access_token"].as_str(),
        Some(json!({"expire_token": pair["expire_token"]})),
    );
    assert_eq!(st, 200, "{refreshed}");
    secrets.push(refreshed["access_token"].as_str().unwrap().into());
    secrets.push(refreshed["expire_token"].as_str().unwrap().into());
    let t = tenant(&s, "quiet");
    secrets.push(t.client.clone());
    secrets.push(t.admin.clone());
    let (_, settings) = s.call(
        Method::GET,
        &format!("/api/companies/{}/settings", t.company),
        Some(&t.admin),
        None,
    );
    secrets.push(settings["webhook_secret"].as_str().unwrap().into());

    let photos = [data.join(BLAIR_A), data.join(BLAIR_B), data.join(LIVE)];
    for p in &photos {
        secrets.extend(fingerprints(&std::fs::read(p).unwrap()));
    }
    let request_id = "log-test-request-0001";
    let form = reqwest::blocking::multipart::Form::new()
        .part(
            "a",
            reqwest::blocking::multipart::Part::bytes(std::fs::read(&photos[0]).unwrap())
                .file_name("a.jpg"),
        )
        .part(
            "b",
            reqwest::blocking::multipart::Part::bytes(std::fs::read(&photos[1]).unwrap())
                .file_name("b.jpg"),
        )
        .text(
            "payload",
            json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]}}).to_string(),
        );
    let r = s
        .req(Method::POST, "/api/folders/", Some(&t.client))
        .header("x-request-id", request_id)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["x-request-id"], request_id);
    let f: Value = r.json().unwrap();
    let fid = f["folder_id"].as_str().unwrap();
    let ids = order(
        &s,
        &t.client,
        fid,
        json!({"analyses": [{"type": "quality", "params": {"extract_best_shot": true}}, {"type": "biometry"}],
               "resolution_endpoint": hook.url}),
    );
    for id in &ids {
        assert_eq!(s.wait_analysis(&t.client, id, 180)["state"], "FINISHED");
    }
    hook.wait_for(1, 60);
    // The best shot's bytes as stored, and Instant's inline best shot.
    let (_, folder_now) = s.call(
        Method::GET,
        &format!("/api/folders/{fid}"),
        Some(&t.client),
        None,
    );
    for m in folder_now["media"].as_array().unwrap() {
        let url = m["original_url"].as_str().or(m["source_url"].as_str());
        if let Some(url) = url {
            let path = url
                .split_once("://")
                .map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
            let bytes = s
                .req(Method::GET, &format!("/{path}"), Some(&t.client))
                .send()
                .unwrap()
                .bytes()
                .unwrap();
            if bytes.len() > 9000 {
                secrets.extend(fingerprints(&bytes));
            }
        }
    }
    let (st, instant) = s.upload(
        "/api/instant/folders/",
        &t.client,
        &[("selfie", &photos[2])],
        Some(json!({"media:tags": {"selfie": ["photo_selfie"]},
                    "analyses": [{"type": "quality", "params": {"extract_best_shot": true}}]})),
    );
    assert_eq!(st, 200, "{instant}");
    let inline = instant.to_string();
    if let Some(i) = inline.find("base64,") {
        secrets.push(inline[i + 7 + 200..i + 7 + 260].to_string());
    }
    // Lite: the image as base64 text in the body.
    let live = std::fs::read(&photos[2]).unwrap();
    let r = s
        .client
        .post(s.url("/v1/face/liveness/detect"))
        .header("content-type", "image/jpeg")
        .header("content-transfer-encoding", "base64")
        .body(base64(&live))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    assert_eq!(scrape(&s, &s.base, Some(METRICS_TOKEN)).0, 200);

    assert!(s.terminate(60).success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() > 50,
        "too few log lines to judge: {}",
        lines.len()
    );
    let mut with_id = 0;
    for line in &lines {
        // ONNX Runtime's own C++ logger writes beside tracing; its lines are grepped below too.
        if line.contains(":onnxruntime:") {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        if v["span"]["request_id"] == request_id {
            with_id += 1;
        }
    }
    assert!(with_id >= 1, "no line carries the client's request id");
    for secret in &secrets {
        assert!(secret.len() >= 12, "{secret}");
        if let Some(line) = lines.iter().find(|l| l.contains(secret.as_str())) {
            panic!(
                "a secret or face bytes ({}…) in the log: {line}",
                &secret[..8]
            );
        }
    }
}

#[test]
fn logs_leak_nothing_sqlite() {
    logs_leak_nothing(Backend::Sqlite);
}

#[test]
fn logs_leak_nothing_postgres() {
    logs_leak_nothing(Backend::Postgres);
}

/// Kills the child it holds when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's `prometheus`: absent → SKIPPED outside CI, a failure in CI (the test command
/// installs it).
fn prometheus_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("prometheus"))
            .find(|c| c.is_file())
    });
    if found.is_none() {
        let msg = "the prometheus binary is missing (Debian package `prometheus`; scripts/test.sh installs it)";
        if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// A real Prometheus scrapes the server with its bearer token; PromQL over its HTTP API sees
/// the analyses that ran.
#[test]
fn prometheus_scrapes_the_server() {
    let Some(prometheus) = prometheus_binary() else {
        return;
    };
    let Some(data) = shared_data() else { return };
    let s = Server::start(
        Backend::Sqlite,
        &[
            ("FACEPROOF_METRICS_TOKEN", METRICS_TOKEN),
            ("FACEPROOF_JOB_POLL_MS", "100"),
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, METRICS_TOKEN).unwrap();
    let target = s.base.trim_start_matches("http://");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: faceproof\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
             \x20   authorization:\n      type: Bearer\n      credentials_file: {}\n\
             \x20   static_configs:\n      - targets: ['{target}']\n",
            token_file.display()
        ),
    )
    .unwrap();
    let web = free_addr();
    let _prom = Killed(
        std::process::Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
            .spawn()
            .expect("starting prometheus"),
    );
    let t = tenant(&s, "watched");
    let fid = folder(
        &s,
        &t.client,
        &[
            ("a", data.join(BLAIR_A), &["photo_selfie"]),
            ("b", data.join(BLAIR_B), &["photo_selfie"]),
        ],
    );
    let ids = order(
        &s,
        &t.client,
        &fid,
        json!({"analyses": [{"type": "quality"}, {"type": "biometry"}]}),
    );
    for id in &ids {
        assert_eq!(s.wait_analysis(&t.client, id, 180)["state"], "FINISHED");
    }
    let query = |q: &str| -> Option<f64> {
        let r = s
            .client
            .get(format!("http://{web}/api/v1/query"))
            .query(&[("query", q)])
            .send()
            .ok()?;
        let v: Value = r.json().ok()?;
        assert_eq!(v["status"], "success", "{v}");
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let up = query("up{job=\"faceproof\"}");
        let finished = query("sum(faceproof_analyses_finished_total{job=\"faceproof\"})");
        if up == Some(1.0) && finished == Some(2.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw the analyses: up={up:?} finished={finished:?}; its log:\n{}",
            std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        query("sum by (type) (faceproof_analyses_started_total{type=\"BIOMETRY\"})"),
        Some(1.0)
    );
}
