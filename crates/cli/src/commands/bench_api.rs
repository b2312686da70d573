//! `faceproof bench-api`: drive the real HTTP API with concurrent clients and report analyses per
//! minute and p50/p95 latency for photo liveness, photo biometry and 5-second video liveness;
//! the engine is timed in-process on the same inputs in the same run, so the HTTP overhead (and
//! the queueing under load) is a measured ratio.
//!
//! The server is this binary's own `serve`, started on a free port with a throw-away data
//! directory (SQLite). Each request is a single request (`POST /api/folders/` with `analyses` in the
//! payload): upload, store, queue, run, answer — the whole way of one analysis.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use faceproof_engine::gesture::Gesture;
use faceproof_engine::{AnalyzeOptions, FacePolicy};
use faceproof_server::domain::AnalysisState;
use reqwest::blocking::{multipart, Client};
use serde_json::{json, Value};

use super::local_server::{
    cpu_seconds, login, peak_rss_mib, start_server_of, ADMIN_EMAIL, ADMIN_PASSWORD,
};
use crate::Globals;

#[derive(clap::Args)]
pub struct Args {
    /// Concurrent clients to try, comma-separated.
    #[arg(long, default_value = "1,4")]
    clients: String,
    /// Requests per client for each scenario and client count.
    #[arg(long, default_value_t = 6)]
    requests: usize,
    /// The shared data directory (default `$FACEPROOF_DATA` or ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    /// Another `faceproof` binary (an earlier build) to measure as the server too, before this
    /// one and with the same engine baseline: its rows are labelled `baseline`. The machine may
    /// be shared: figures of one run are comparable, runs on different days less so.
    #[arg(long)]
    baseline: Option<PathBuf>,
}

const SELFIE: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";
const PAIR: [&str; 2] = [
    "verification/Tony_Blair/Tony_Blair_0009.jpg",
    "verification/Tony_Blair/Tony_Blair_0002.jpg",
];
const VIDEO: &str = "video/tranvanluyt2203_live_head_turns.mp4";

/// A 5-second H.264 cut of the live video (ffmpeg).
fn five_second_clip(data: &Path, out: &Path) -> anyhow::Result<Vec<u8>> {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(data.join(VIDEO))
        .args(["-t", "5", "-an", "-c:v", "libx264", "-preset", "veryfast"])
        .arg(out)
        .status()
        .context("running ffmpeg")?;
    if !status.success() {
        bail!("ffmpeg could not cut the clip");
    }
    Ok(std::fs::read(out)?)
}

struct Scenario {
    name: &'static str,
    files: Vec<(String, Vec<u8>, Vec<&'static str>)>,
    analyses: Value,
}

fn request(client: &Client, base: &str, token: &str, s: &Scenario) -> anyhow::Result<Duration> {
    let mut form = multipart::Form::new();
    let mut tags = serde_json::Map::new();
    for (key, bytes, t) in &s.files {
        form = form.part(
            key.clone(),
            multipart::Part::bytes(bytes.clone()).file_name(key.clone()),
        );
        tags.insert(key.clone(), json!(t));
    }
    form = form.text(
        "payload",
        json!({"media:tags": tags, "analyses": s.analyses}).to_string(),
    );
    let started = Instant::now();
    let resp = client
        .post(format!("{base}/api/folders/"))
        .header("X-Forensic-Access-Token", token)
        .multipart(form)
        .send()?;
    let status = resp.status();
    let body: Value = resp.json()?;
    let elapsed = started.elapsed();
    if status.as_u16() != 201 || body["analyses"][0]["state"] != AnalysisState::Finished {
        bail!("{}: unexpected answer {status}: {body}", s.name);
    }
    Ok(elapsed)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    let data = args
        .data
        .or_else(|| std::env::var_os("FACEPROOF_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let clients: Vec<usize> = args
        .clients
        .split(',')
        .map(|c| c.trim().parse())
        .collect::<Result<_, _>>()
        .context("--clients: a comma-separated list of numbers")?;
    let tmp = tempfile::tempdir()?;
    let clip = five_second_clip(&data, &tmp.path().join("clip.mp4"))?;
    let read = |rel: &str| std::fs::read(data.join(rel)).with_context(|| rel.to_string());
    let scenarios = vec![
        Scenario {
            name: "photo liveness",
            files: vec![("selfie".into(), read(SELFIE)?, vec!["photo_selfie"])],
            analyses: json!([{"type": "quality"}]),
        },
        Scenario {
            name: "photo biometry",
            files: vec![
                ("a".into(), read(PAIR[0])?, vec!["photo_selfie"]),
                (
                    "b".into(),
                    read(PAIR[1])?,
                    vec!["photo_id", "photo_id_front"],
                ),
            ],
            analyses: json!([{"type": "biometry"}]),
        },
        Scenario {
            name: "5 s video liveness",
            files: vec![(
                "video".into(),
                clip.clone(),
                vec!["video_selfie", "video_selfie_blank"],
            )],
            analyses: json!([{"type": "quality"}]),
        },
    ];

    // Baseline: the engine in this process on the same inputs (decode + analyse), with the
    // options the server uses for them (a selfie's dominant face, an ID's largest; a clip's
    // one-person check and its tag's gesture). Timed both by the clock and in CPU (this
    // process's and its ffmpeg children's, from /proc), so the server's CPU per analysis is a
    // ratio to the engine's CPU for the same input, whatever else runs on the machine.
    let engine = globals.load_engine()?;
    let me = std::process::id();
    let time = |bytes: &[u8],
                opts: AnalyzeOptions,
                gestures: &[Gesture],
                n: usize|
     -> anyhow::Result<(f64, f64)> {
        let decoded = engine.decode(bytes)?;
        engine.analyze_media(&decoded, gestures, &opts)?; // warm-up
        let cpu_before = cpu_seconds(me);
        let start = Instant::now();
        for _ in 0..n {
            let decoded = engine.decode(bytes)?;
            engine.analyze_media(&decoded, gestures, &opts)?;
        }
        let wall = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
        let cpu = match (cpu_before, cpu_seconds(me)) {
            (Some(a), Some(b)) => (b - a) * 1000.0 / n as f64,
            _ => f64::NAN,
        };
        Ok((wall, cpu))
    };
    let photo = |policy, embedding, liveness| AnalyzeOptions {
        policy,
        embedding,
        liveness,
        attributes: false,
        expression: false,
    };
    let engine_ms: [(f64, f64); 3] = [
        time(
            &scenarios[0].files[0].1,
            photo(FacePolicy::Dominant, false, true),
            &[],
            40,
        )?,
        {
            let a = time(
                &scenarios[1].files[0].1,
                photo(FacePolicy::Dominant, true, false),
                &[],
                10,
            )?;
            let b = time(
                &scenarios[1].files[1].1,
                photo(FacePolicy::Largest, true, false),
                &[],
                10,
            )?;
            (a.0 + b.0, a.1 + b.1)
        },
        {
            let opts = AnalyzeOptions {
                policy: FacePolicy::Dominant,
                embedding: false,
                liveness: true,
                attributes: true,
                expression: false,
            };
            time(&clip, opts, &[Gesture::Blank], 2)?
        },
    ];
    drop(engine);

    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let mut servers: Vec<(&str, std::path::PathBuf)> = Vec::new();
    if let Some(b) = &args.baseline {
        servers.push(("baseline", b.clone()));
    }
    servers.push(("this", std::env::current_exe()?));
    let mut rows = Vec::new();
    let mut peak_rss = None;
    for (label, exe) in &servers {
        let server = start_server_of(globals, exe)?;
        let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD)?;
        for s in &scenarios {
            request(&client, &server.base, &token, s)?; // warm-up (loads the models)
        }
        for (s, (engine_ms, engine_cpu_ms)) in scenarios.iter().zip(engine_ms) {
            for &c in &clients {
                let started = Instant::now();
                let pid = server.child.id();
                let cpu_before = cpu_seconds(pid);
                let running = std::sync::atomic::AtomicBool::new(true);
                let mut probes: Vec<f64> = Vec::new();
                let latencies: Vec<f64> = std::thread::scope(|scope| {
                    // A probe measures how the rest of the API answers while the analyses run.
                    let probe = scope.spawn(|| {
                        let mut seen = Vec::new();
                        while running.load(std::sync::atomic::Ordering::Relaxed) {
                            let t = Instant::now();
                            if client
                                .get(format!("{}/api/version", server.base))
                                .send()
                                .is_ok()
                            {
                                seen.push(t.elapsed().as_secs_f64() * 1000.0);
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        seen
                    });
                    let handles: Vec<_> = (0..c)
                        .map(|_| {
                            let (client, base, token) = (&client, &server.base, &token);
                            scope.spawn(move || {
                                (0..args.requests)
                                    .map(|_| {
                                        request(client, base, token, s)
                                            .map(|d| d.as_secs_f64() * 1000.0)
                                    })
                                    .collect::<anyhow::Result<Vec<f64>>>()
                            })
                        })
                        .collect();
                    let result = handles
                        .into_iter()
                        .map(|h| h.join().expect("client thread"))
                        .collect::<anyhow::Result<Vec<Vec<f64>>>>()
                        .map(|v| v.concat());
                    running.store(false, std::sync::atomic::Ordering::Relaxed);
                    probes = probe.join().expect("probe thread");
                    result
                })?;
                probes.sort_by(f64::total_cmp);
                let wall = started.elapsed().as_secs_f64();
                // The probe's GET /api/version calls cost next to nothing beside an analysis.
                let cpu_ms = match (cpu_before, cpu_seconds(pid)) {
                    (Some(a), Some(b)) => (b - a) * 1000.0 / latencies.len().max(1) as f64,
                    _ => f64::NAN,
                };
                let mut sorted = latencies.clone();
                sorted.sort_by(f64::total_cmp);
                let p50 = percentile(&sorted, 0.5);
                rows.push(json!({
                "server": label,
                "scenario": s.name,
                "clients": c,
                "requests": latencies.len(),
                "analyses_per_minute": latencies.len() as f64 / wall * 60.0,
                "p50_ms": p50,
                "p95_ms": percentile(&sorted, 0.95),
                "engine_ms": engine_ms,
                "engine_cpu_ms": engine_cpu_ms,
                "p50_over_engine": p50 / engine_ms,
                "p50_minus_engine_ms": p50 - engine_ms,
                "cpu_over_engine_cpu": cpu_ms / engine_cpu_ms,
                "version_p95_ms": if probes.is_empty() { 0.0 } else { percentile(&probes, 0.95) },
                "server_cpu_ms_per_analysis": cpu_ms,
                "analyses_per_core_minute": 60_000.0 / cpu_ms,
            }));
            }
        }
        peak_rss = peak_rss_mib(server.child.id());
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "backend": format!("{:?}", globals.backend),
                "rows": rows,
                "server_peak_rss_mib": peak_rss,
            }))?
        );
    } else {
        println!(
            "{:<9} {:<20} {:>7} {:>9} {:>12} {:>9} {:>9} {:>10} {:>8} {:>12} {:>10} {:>8} {:>8} {:>13}",
            "server",
            "scenario",
            "clients",
            "requests",
            "analyses/min",
            "p50 ms",
            "p95 ms",
            "engine ms",
            "p50/eng",
            "version p95",
            "cpu ms/an",
            "eng cpu",
            "cpu/eng",
            "an/core-min"
        );
        for r in &rows {
            println!(
                "{:<9} {:<20} {:>7} {:>9} {:>12.1} {:>9.0} {:>9.0} {:>10.0} {:>8.2} {:>12.1} {:>10.0} {:>8.0} {:>8.2} {:>13.1}",
                r["server"].as_str().unwrap_or(""),
                r["scenario"].as_str().unwrap_or(""),
                r["clients"].as_u64().unwrap_or(0),
                r["requests"].as_u64().unwrap_or(0),
                r["analyses_per_minute"].as_f64().unwrap_or(0.0),
                r["p50_ms"].as_f64().unwrap_or(0.0),
                r["p95_ms"].as_f64().unwrap_or(0.0),
                r["engine_ms"].as_f64().unwrap_or(0.0),
                r["p50_over_engine"].as_f64().unwrap_or(0.0),
                r["version_p95_ms"].as_f64().unwrap_or(0.0),
                r["server_cpu_ms_per_analysis"].as_f64().unwrap_or(f64::NAN),
                r["engine_cpu_ms"].as_f64().unwrap_or(f64::NAN),
                r["cpu_over_engine_cpu"].as_f64().unwrap_or(f64::NAN),
                r["analyses_per_core_minute"].as_f64().unwrap_or(f64::NAN),
            );
        }
        println!("engine ms: the same input analysed in this process (decode + models, one thread, the server's options); p50/eng: HTTP latency over it;");
        println!("version p95: GET /api/version latency while the analyses run (the HTTP side under load).");
        println!("cpu ms/an: the server's CPU time (user + system, with its ffmpeg runs) per analysis; eng cpu: the engine's CPU for the same input in this process;");
        println!("cpu/eng: the two's ratio (the server's overhead: 1.00 is none); an/core-min: analyses per minute one core sustains (60 s / cpu ms/an), the sizing figure.");
        if let Some(mib) = peak_rss {
            println!("server peak resident memory (this build): {mib:.0} MiB");
        }
    }
    Ok(())
}
