//! `faceproof eval-api`: the decisions users get, measured through the HTTP API over the shared
//! data — photo liveness per attack type, same/different pairs, video verdicts (and the same
//! videos re-encoded), blacklist FPIR/FNIR per gallery size — next to the engine's own figures for
//! the same files, computed in this process in the same run.
//!
//! The engine side is what `faceproof eval` measures: every photo's largest face, photos without
//! a face left out. The API side is what a client gets: the face policy (bystanders allowed,
//! comparable second faces declined), a photo without a usable face declined, thresholds and
//! resolutions as the server applies them. Where the two differ, the tables say by how much.
//!
//! The server is this binary's own `serve` on a throw-away SQLite directory (the pack given to
//! this command), or an existing one (`--url`, `--email`, `--password`; it must allow creating
//! collections and have the default settings for the figures to mean the defaults).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use faceproof_engine::calibration::DEFAULT_MATCH_THRESHOLD;
use faceproof_engine::{eval, AnalyzeOptions, Engine};
use faceproof_server::domain::{AnalysisState, Resolution};
use rayon::prelude::*;
use reqwest::blocking::{multipart, Client};
use serde_json::{json, Value};

use super::eval::embed_photos;
use super::local_server::{login, start_server, Server, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::Globals;

#[derive(clap::Args)]
pub struct Args {
    /// The shared data directory (default `$FACEPROOF_DATA` or ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Parts to run, comma-separated: photos, pairs, videos, blacklist.
    #[arg(long, default_value = "photos,pairs,videos,blacklist")]
    only: String,
    /// At most this many items per part (photos, pairs, videos, stranger identities), spread
    /// evenly over each part's list; for a quick look.
    #[arg(long)]
    limit: Option<usize>,
    /// Concurrent API clients.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// An existing server instead of a throw-away one.
    #[arg(long, requires_all = ["email", "password"])]
    url: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    password: Option<String>,
    /// One JSON object on stdout instead of tables.
    #[arg(long)]
    json: bool,
}

/// The re-encodings each video is also judged in: (version name, x264 CRF).
const REENCODINGS: [(&str, &str); 2] = [("crf28", "28"), ("crf32", "32")];

/// Liveness thresholds the operating-point table shows (on `confidence_spoofing`).
const SWEEP: [f32; 7] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

struct Api {
    client: Client,
    base: String,
    token: String,
    clients: usize,
    _server: Option<Server>,
}

impl Api {
    /// One single request (`POST /api/folders/` with `analyses`): the finished analysis.
    fn single_request(
        &self,
        files: &[(&str, Vec<u8>, &[&str])],
        analysis: &str,
    ) -> anyhow::Result<Value> {
        let mut form = multipart::Form::new();
        let mut tags = serde_json::Map::new();
        for (key, bytes, t) in files {
            form = form.part(
                key.to_string(),
                multipart::Part::bytes(bytes.clone()).file_name(key.to_string()),
            );
            tags.insert(key.to_string(), json!(t));
        }
        let payload = json!({"media:tags": tags, "analyses": [{"type": analysis}]});
        form = form.text("payload", payload.to_string());
        let resp = self
            .client
            .post(format!("{}/api/folders/", self.base))
            .header("X-Forensic-Access-Token", &self.token)
            .multipart(form)
            .send()?;
        let status = resp.status().as_u16();
        let body: Value = resp.json()?;
        match status {
            201 if body["analyses"][0]["state"] == AnalysisState::Finished => {
                Ok(body["analyses"][0].clone())
            }
            // An upload refused as a whole (e.g. a file that is not an image): the client sees
            // an error, which for a decision is a decline.
            400 | 413 | 415 | 422 => Ok(json!({"resolution_status": "REFUSED", "error": body})),
            _ => bail!("unexpected answer {status}: {body}"),
        }
    }

    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-Forensic-Access-Token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send()?;
        let status = resp.status();
        let body: Value = resp.json()?;
        if !status.is_success() {
            bail!("{path}: {status}: {body}");
        }
        Ok(body)
    }

    /// A new collection: in the user's company, or — for a server ADMIN, who has none — in a
    /// company made for the evaluation.
    fn create_collection(&self, alias: &str) -> anyhow::Result<String> {
        let mut body = json!({"alias": alias});
        if let Ok(c) = self.call(
            reqwest::Method::POST,
            "/api/collections/",
            Some(body.clone()),
        ) {
            return c["collection_id"]
                .as_str()
                .map(str::to_owned)
                .context("collection id");
        }
        let company = self.call(
            reqwest::Method::POST,
            "/api/companies/",
            Some(json!({"name": format!("faceproof eval {alias}")})),
        )?;
        body["company_id"] = company["company_id"].clone();
        let c = self.call(reqwest::Method::POST, "/api/collections/", Some(body))?;
        c["collection_id"]
            .as_str()
            .map(str::to_owned)
            .context("collection id")
    }

    /// A photo uploaded to a collection path; `None` when the server refused it (no usable face).
    fn upload_photo(&self, path: &str, photo: &Path) -> anyhow::Result<Option<Value>> {
        let form = multipart::Form::new()
            .part(
                "photo1",
                multipart::Part::bytes(std::fs::read(photo)?).file_name("photo.jpg"),
            )
            .text(
                "payload",
                json!({"media:tags": {"photo1": ["photo_selfie"]}}).to_string(),
            );
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-Forensic-Access-Token", &self.token)
            .multipart(form)
            .send()?;
        let status = resp.status().as_u16();
        let body: Value = resp.json()?;
        match status {
            200 | 201 => Ok(Some(body)),
            400 => Ok(None),
            _ => bail!("{path}: {status}: {body}"),
        }
    }

    /// `f` over `items` from `clients` threads, in order of the items, with a progress bar.
    fn map<T: Sync, R: Send>(
        &self,
        what: &str,
        items: &[T],
        f: impl Fn(&T) -> anyhow::Result<R> + Sync,
    ) -> anyhow::Result<Vec<R>> {
        let bar = super::progress(items.len() as u64, what);
        let next = AtomicUsize::new(0);
        let results: Vec<anyhow::Result<Vec<(usize, R)>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..self.clients.max(1))
                .map(|_| {
                    scope.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(item) = items.get(i) else { break };
                            out.push((i, f(item)?));
                            bar.inc(1);
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("client thread"))
                .collect()
        });
        bar.finish_and_clear();
        let mut all = Vec::with_capacity(items.len());
        for r in results {
            all.extend(r?);
        }
        all.sort_by_key(|(i, _)| *i);
        Ok(all.into_iter().map(|(_, r)| r).collect())
    }
}

/// Every `n`-th item so that at most `limit` remain, spread over the whole list.
fn spread<T: Clone>(items: Vec<T>, limit: Option<usize>) -> Vec<T> {
    match limit {
        Some(l) if l > 0 && items.len() > l => {
            let step = items.len() as f64 / l as f64;
            (0..l)
                .map(|i| items[(i as f64 * step) as usize].clone())
                .collect()
        }
        _ => items,
    }
}

/// The rows of a CSV file (see [`super::eval::read_csv`]).
fn read_csv(path: &Path) -> anyhow::Result<Vec<BTreeMap<String, String>>> {
    Ok(super::eval::read_csv(path)?.1)
}

fn col<'a>(row: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    row.get(name).map(String::as_str).unwrap_or("")
}

fn ratio(a: usize, b: usize) -> Value {
    if b == 0 {
        Value::Null
    } else {
        json!(((a as f64 / b as f64) * 10_000.0).round() / 10_000.0)
    }
}

pub fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    let data = args
        .data
        .clone()
        .or_else(|| std::env::var_os("FACEPROOF_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    if !data.join("verification/pairs.csv").is_file() {
        bail!("{} is not the shared data directory", data.display());
    }
    let parts: BTreeSet<String> = args.only.split(',').map(|p| p.trim().to_string()).collect();
    for p in &parts {
        if !["photos", "pairs", "videos", "blacklist"].contains(&p.as_str()) {
            bail!("--only: unknown part {p:?}");
        }
    }
    let started = Instant::now();
    let engine = globals.load_engine()?;
    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let api = match &args.url {
        Some(url) => {
            let base = url.trim_end_matches('/').to_string();
            let token = login(
                &client,
                &base,
                args.email.as_deref().unwrap_or_default(),
                args.password.as_deref().unwrap_or_default(),
            )?;
            Api {
                client,
                base,
                token,
                clients: args.clients,
                _server: None,
            }
        }
        None => {
            let server = start_server(globals)?;
            let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD)?;
            Api {
                client,
                base: server.base.clone(),
                token,
                clients: args.clients,
                _server: Some(server),
            }
        }
    };
    let version = api.call(reqwest::Method::GET, "/api/version", None)?;
    let mut out = json!({
        "pack": globals.pack.id,
        "backend": engine.backend(),
        "server": api.base,
        "server_version": version,
    });
    if parts.contains("photos") {
        out["photos"] = photos(&api, &engine, &data, args.limit)?;
    }
    if parts.contains("pairs") {
        out["pairs"] = pairs(&api, &engine, &data, args.limit)?;
    }
    if parts.contains("videos") {
        out["videos"] = videos(&api, &engine, &data, args.limit)?;
    }
    if parts.contains("blacklist") {
        out["blacklist"] = blacklist(&api, &engine, &data, args.limit)?;
    }
    out["seconds"] = json!(started.elapsed().as_secs());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_tables(&out);
    }
    Ok(())
}

/// The group a liveness photo counts in: `live` or the attack type.
fn group_of(row: &BTreeMap<String, String>) -> String {
    if col(row, "label") == "live" {
        "live".into()
    } else {
        col(row, "attack_type").to_string()
    }
}

/// Liveness photos through QUALITY: resolutions per group (live, print, replay) and framing,
/// why photos were declined, APCER/BPCER from the API's scores at several thresholds; the
/// engine's scores of the same photos beside them.
fn photos(api: &Api, engine: &Engine, data: &Path, limit: Option<usize>) -> anyhow::Result<Value> {
    let base = data.join("liveness");
    let rows = spread(read_csv(&base.join("labels.csv"))?, limit);
    let answers = api.map("photos (API)", &rows, |row| {
        let bytes = std::fs::read(base.join(col(row, "path")))?;
        api.single_request(&[("photo", bytes, &["photo_selfie"][..])], "quality")
    })?;
    let opts = AnalyzeOptions {
        embedding: false,
        attributes: false,
        ..AnalyzeOptions::default()
    };
    let bar = super::progress(rows.len() as u64, "photos (engine)");
    let engine_scores: Vec<Option<f32>> = rows
        .par_iter()
        .map(|row| {
            let score = std::fs::read(base.join(col(row, "path")))
                .ok()
                .and_then(|b| engine.decode(&b).ok())
                .and_then(|d| engine.analyze_media(&d, &[], &opts).ok())
                .and_then(|r| r.confidence_spoofing());
            bar.inc(1);
            score
        })
        .collect();
    bar.finish_and_clear();

    // Outcomes per group and framing; the API threshold as the server reported it.
    let mut table: BTreeMap<(String, String), BTreeMap<String, usize>> = BTreeMap::new();
    let mut api_scores: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    // Whole camera frames, what a capture sends: the operating point that matters most.
    let mut api_full_frame: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let mut engine_by_group: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let mut threshold = None;
    for ((row, answer), engine_score) in rows.iter().zip(&answers).zip(&engine_scores) {
        let group = group_of(row);
        let media = &answer["results_media"][0];
        let score = media["results_data"]["confidence_spoofing"]
            .as_f64()
            .map(|s| s as f32);
        threshold = threshold.or(media["results_data"]["threshold"].as_f64());
        let resolution = answer["resolution_status"].as_str().unwrap_or("");
        let outcome = match resolution.parse::<Resolution>() {
            Ok(Resolution::Success) => "passed".to_string(),
            _ if resolution == "REFUSED" => "refused_upload".to_string(),
            _ => match (score, media["error"]["code"].as_str()) {
                (Some(_), _) => "declined_as_attack".to_string(),
                (None, Some(code)) => format!("declined_{code}"),
                (None, None) => "declined_other".to_string(),
            },
        };
        let key = (group.clone(), col(row, "framing").to_string());
        *table.entry(key).or_default().entry(outcome).or_default() += 1;
        *table
            .entry((group.clone(), "all".into()))
            .or_default()
            .entry("photos".into())
            .or_default() += 1;
        if let Some(s) = score {
            api_scores.entry(group.clone()).or_default().push(s);
            if col(row, "framing") == "full_frame" {
                api_full_frame.entry(group.clone()).or_default().push(s);
            }
        }
        if let Some(s) = engine_score {
            engine_by_group.entry(group).or_default().push(*s);
        }
    }
    let outcomes: Vec<Value> = table
        .iter()
        .filter(|((_, framing), _)| framing != "all")
        .map(|((group, framing), counts)| {
            let total: usize = counts.values().sum();
            json!({"group": group, "framing": framing, "photos": total, "outcomes": counts})
        })
        .collect();
    // Decisions as users meet them: a live photo not passed is a rejected person (whatever the
    // reason); an attack passed is a miss.
    let mut decisions = serde_json::Map::new();
    for ((group, framing), counts) in &table {
        if framing == "all" {
            continue;
        }
        let entry = decisions
            .entry(group.clone())
            .or_insert_with(|| json!({"photos": 0, "passed": 0}));
        let total: usize = counts.values().sum();
        let passed = counts.get("passed").copied().unwrap_or(0);
        entry["photos"] = json!(entry["photos"].as_u64().unwrap_or(0) as usize + total);
        entry["passed"] = json!(entry["passed"].as_u64().unwrap_or(0) as usize + passed);
    }
    for (group, d) in decisions.iter_mut() {
        let (n, p) = (
            d["photos"].as_u64().unwrap_or(0) as usize,
            d["passed"].as_u64().unwrap_or(0) as usize,
        );
        if group == "live" {
            d["bpcer"] = ratio(n - p, n);
        } else {
            d["apcer"] = ratio(p, n);
        }
    }
    Ok(json!({
        "threshold": threshold,
        "outcomes": outcomes,
        "decisions": decisions,
        "operating_points_api": operating_points(&api_scores),
        "operating_points_api_full_frame": operating_points(&api_full_frame),
        "operating_points_engine": operating_points(&engine_by_group),
        "engine_skipped_no_face": engine_scores.iter().filter(|s| s.is_none()).count(),
        "api_scored": api_scores.values().map(Vec::len).sum::<usize>(),
    }))
}

/// APCER per attack type and BPCER at each threshold of [`SWEEP`], over scored photos only, with
/// the EER and the BPCER at APCER 5 % of all attacks together.
fn operating_points(scores: &BTreeMap<String, Vec<f32>>) -> Value {
    let live = scores.get("live").cloned().unwrap_or_default();
    let attacks: Vec<f32> = scores
        .iter()
        .filter(|(g, _)| g.as_str() != "live")
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    let rows: Vec<Value> = SWEEP
        .iter()
        .map(|&t| {
            let mut row = json!({"threshold": t,
                                 "bpcer": eval::pad_rates(&attacks, &live, t).bpcer,
                                 "apcer_all": eval::pad_rates(&attacks, &live, t).apcer});
            for (g, v) in scores.iter().filter(|(g, _)| g.as_str() != "live") {
                row[format!("apcer_{g}")] = json!(eval::pad_rates(v, &live, t).apcer);
            }
            row
        })
        .collect();
    let at5 = eval::bpcer_at_apcer(&attacks, &live, 0.05);
    let at10 = eval::bpcer_at_apcer(&attacks, &live, 0.10);
    json!({
        "live": live.len(),
        "attacks": attacks.len(),
        "eer": eval::eer(&attacks, &live),
        "at_apcer_5pct": {"threshold": at5.threshold, "bpcer": at5.bpcer, "apcer": at5.apcer},
        "at_apcer_10pct": {"threshold": at10.threshold, "bpcer": at10.bpcer, "apcer": at10.apcer},
        "sweep": rows,
    })
}

/// The verification pairs through BIOMETRY (selfie against an ID photo): resolutions per kind
/// of pair, and TAR at FAR from the API's `min_confidence`; the engine's similarities beside.
fn pairs(api: &Api, engine: &Engine, data: &Path, limit: Option<usize>) -> anyhow::Result<Value> {
    let base = data.join("verification");
    let rows = spread(read_csv(&base.join("pairs.csv"))?, limit);
    let answers = api.map("pairs (API)", &rows, |row| {
        api.single_request(
            &[
                (
                    "selfie",
                    std::fs::read(base.join(col(row, "left")))?,
                    &["photo_selfie"][..],
                ),
                (
                    "id",
                    std::fs::read(base.join(col(row, "right")))?,
                    &["photo_id", "photo_id_front"][..],
                ),
            ],
            "biometry",
        )
    })?;
    let images: Vec<String> = rows
        .iter()
        .flat_map(|r| [col(r, "left").to_string(), col(r, "right").to_string()])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let embeddings = embed_photos(engine, &base, &images, "pairs (engine)");
    let (mut counts, mut api_g, mut api_i, mut eng_g, mut eng_i) = (
        BTreeMap::<String, BTreeMap<String, usize>>::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut thresholds = Value::Null;
    let mut media_errors: BTreeMap<String, usize> = BTreeMap::new();
    for (row, answer) in rows.iter().zip(&answers) {
        for m in answer["results_media"].as_array().into_iter().flatten() {
            if let Some(code) = m["error"]["code"].as_str() {
                *media_errors.entry(code.to_string()).or_default() += 1;
            }
        }
        let same = matches!(col(row, "same").trim(), "1" | "true" | "True");
        let kind = if same { "same" } else { "different" };
        let resolution = answer["resolution_status"]
            .as_str()
            .unwrap_or("")
            .to_string();
        *counts
            .entry(kind.into())
            .or_default()
            .entry(resolution)
            .or_default() += 1;
        if thresholds.is_null() && answer["results_data"]["threshold_min"].is_number() {
            thresholds = json!({"min": answer["results_data"]["threshold_min"],
                                "max": answer["results_data"]["threshold_max"]});
        }
        // No comparison (a side without a face) counts as the lowest score: a rejection.
        let c = answer["results_data"]["min_confidence"]
            .as_f64()
            .unwrap_or(-1.0) as f32;
        let e = match (
            embeddings.get(col(row, "left")),
            embeddings.get(col(row, "right")),
        ) {
            (Some(a), Some(b)) => engine.compare(a, b).1,
            _ => -1.0,
        };
        if same {
            api_g.push(c);
            eng_g.push(e);
        } else {
            api_i.push(c);
            eng_i.push(e);
        }
    }
    let rates = |g: &[f32], i: &[f32]| {
        let at = |far| eval::tar_at_far(g, i, far).tar;
        let (accuracy, _) = eval::best_accuracy(g, i);
        let at_default = eval::roc(g, i)
            .into_iter()
            .rfind(|p| p.threshold >= DEFAULT_MATCH_THRESHOLD)
            .map(|p| json!({"far": p.far, "tar": p.tar}));
        json!({"tar_at_far_1e-2": at(1e-2), "tar_at_far_1e-3": at(1e-3),
               "accuracy": accuracy, "at_confidence_0.85": at_default,
               "no_comparison": g.iter().chain(i).filter(|&&s| s < 0.0).count()})
    };
    Ok(json!({
        "pairs": rows.len(),
        "thresholds": thresholds,
        "resolutions": counts,
        "media_errors": media_errors,
        "api": rates(&api_g, &api_i),
        "engine": rates(&eng_g, &eng_i),
    }))
}

/// The videos as recorded and re-encoded twice over (H.264 at CRF 28 and at CRF 32 from the
/// original: lossy second generations, the first harsher than a messenger's re-upload, the second
/// near the limit of a usable picture), through QUALITY; the engine on the originals beside.
fn videos(api: &Api, engine: &Engine, data: &Path, limit: Option<usize>) -> anyhow::Result<Value> {
    let base = data.join("video");
    let rows = spread(read_csv(&base.join("videos.csv"))?, limit);
    let tmp = tempfile::tempdir()?;
    let mut items = Vec::new();
    for row in &rows {
        let path = base.join(col(row, "path"));
        items.push((row.clone(), "original", std::fs::read(&path)?));
        for (version, crf) in REENCODINGS {
            let out = tmp
                .path()
                .join(format!("{}.{version}.mp4", col(row, "path")));
            let status = Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-i"])
                .arg(&path)
                .args(["-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", crf])
                .arg(&out)
                .status()
                .context("running ffmpeg")?;
            if !status.success() {
                bail!("ffmpeg could not re-encode {}", path.display());
            }
            items.push((row.clone(), version, std::fs::read(&out)?));
        }
    }
    let answers = api.map("videos (API)", &items, |(_, _, bytes)| {
        api.single_request(
            &[(
                "video",
                bytes.clone(),
                &["video_selfie", "video_selfie_blank"][..],
            )],
            "quality",
        )
    })?;
    let opts = AnalyzeOptions {
        embedding: false,
        attributes: true,
        ..AnalyzeOptions::default()
    };
    let mut out = Vec::new();
    for ((row, version, bytes), answer) in items.iter().zip(&answers) {
        let media = &answer["results_media"][0];
        let engine_score = if *version == "original" {
            engine
                .decode(bytes)
                .ok()
                .and_then(|d| engine.analyze_media(&d, &[], &opts).ok())
                .and_then(|r| r.confidence_spoofing())
        } else {
            None
        };
        out.push(json!({
            "video": col(row, "path"),
            "label": col(row, "label"),
            "version": version,
            "resolution": answer["resolution_status"],
            "confidence_spoofing": media["results_data"]["confidence_spoofing"],
            "liveness_frames": media["results_data"]["liveness_frames"],
            "frames_analysed": media["results_data"]["frames_analysed"],
            "spread": media["results_data"]["liveness_spread"],
            "error": media["error"]["code"],
            "engine_confidence_spoofing": engine_score,
        }));
    }
    let correct = out
        .iter()
        .filter(|v| (v["resolution"] == Resolution::Success) == (v["label"] == "live"))
        .count();
    let mut stable = serde_json::Map::new();
    for (version, _) in REENCODINGS {
        let same = rows
            .iter()
            .filter(|row| {
                let of = |version: &str| {
                    out.iter()
                        .find(|v| v["video"] == col(row, "path") && v["version"] == version)
                        .map(|v| v["resolution"].clone())
                };
                of("original") == of(version)
            })
            .count();
        stable.insert(version.to_string(), json!(same));
    }
    Ok(json!({"videos": out, "correct": correct, "of": out.len(),
              "same_verdict_after_reencode": stable, "clips": rows.len()}))
}

/// Blacklists on `verification/`: identities split alternately into people who may be enrolled
/// and strangers; galleries of 10 (10 × 1 photo), 80 (80 × 1) and 160 faces (80 × 2). FPIR:
/// every stranger photo searched, any hit a false positive; FNIR: each enrolled person's next
/// photo, a miss when the top hit is someone else or below the threshold. At the scaled default
/// and at the fixed 1:1 threshold 0.85; the engine's exact search over the same embeddings
/// beside (its own rank over every enrolled face, the threshold the API applied).
fn blacklist(
    api: &Api,
    engine: &Engine,
    data: &Path,
    limit: Option<usize>,
) -> anyhow::Result<Value> {
    let base = data.join("verification");
    let mut people: Vec<(String, Vec<String>)> = Vec::new();
    for e in std::fs::read_dir(&base)? {
        let dir = e?.path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let mut files: Vec<String> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|f| f.ends_with(".jpg"))
            .map(|f| format!("{name}/{f}"))
            .collect();
        files.sort();
        people.push((name, files));
    }
    people.sort();
    let (mut gallery, mut strangers) = (Vec::new(), Vec::new());
    for (i, p) in people.into_iter().enumerate() {
        if i % 2 == 0 {
            gallery.push(p);
        } else {
            strangers.push(p);
        }
    }
    let strangers = spread(strangers, limit);
    let all: Vec<String> = gallery
        .iter()
        .chain(&strangers)
        .flat_map(|(_, f)| f.clone())
        .collect();
    let embeddings = &embed_photos(engine, &base, &all, "blacklist (engine)");
    let mut rows = Vec::new();
    for (alias, count, per_person) in [("g10", 10, 1), ("g80", 80, 1), ("g160", 80, 2)] {
        let people = &gallery[..count.min(gallery.len())];
        let col_id = api.create_collection(&format!("eval-{alias}-{}", run_suffix()))?;
        // Enrol: each person's first usable photos; the next one is their genuine probe.
        let enrolled: Vec<Option<(String, Vec<String>, usize)>> =
            api.map(&format!("enrol {alias}"), people, |(_, files)| {
                let mut person: Option<String> = None;
                let mut photos = Vec::new();
                let mut i = 0;
                while photos.len() < per_person && i + 1 < files.len() {
                    let file = base.join(&files[i]);
                    i += 1;
                    let path = match &person {
                        None => format!("/api/collections/{col_id}/persons/"),
                        Some(p) => format!("/api/collections/{col_id}/persons/{p}/images/"),
                    };
                    let Some(v) = api.upload_photo(&path, &file)? else {
                        continue;
                    };
                    if person.is_none() {
                        person = v["person_id"].as_str().map(str::to_owned);
                    }
                    photos.push(files[i - 1].clone());
                }
                Ok(person.map(|p| (p, photos, i)))
            })?;
        let persons: BTreeMap<String, usize> = enrolled
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|(p, _, _)| (p.clone(), i)))
            .collect();
        let search = |photo: &str| -> anyhow::Result<Option<Value>> {
            api.upload_photo(
                &format!("/api/collections/{col_id}/search?threshold=0&limit=1"),
                &base.join(photo),
            )
        };
        // The threshold the server applies by default for this gallery.
        let probe = &strangers[0].1[0];
        let default = api
            .upload_photo(
                &format!("/api/collections/{col_id}/search"),
                &base.join(probe),
            )?
            .context("the first stranger photo has a face")?;
        let scaled = default["threshold"].as_f64().unwrap_or(1.0);
        let stranger_photos: Vec<(usize, String)> = strangers
            .iter()
            .enumerate()
            .flat_map(|(i, (_, f))| f.iter().map(move |p| (i, p.clone())))
            .collect();
        let top = api.map(&format!("strangers {alias}"), &stranger_photos, |(_, p)| {
            Ok(search(p)?.map(|v| v["hits"][0]["confidence"].as_f64().unwrap_or(0.0)))
        })?;
        let genuine_probes: Vec<(usize, String)> = enrolled
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let (_, _, next) = e.as_ref()?;
                people[i].1.get(*next).map(|p| (i, p.clone()))
            })
            .collect();
        let genuine = api.map(&format!("genuine {alias}"), &genuine_probes, |(i, p)| {
            Ok(search(p)?.map(|v| {
                let right = v["hits"][0]["person_id"]
                    .as_str()
                    .and_then(|p| persons.get(p))
                    == Some(i);
                (right, v["hits"][0]["confidence"].as_f64().unwrap_or(0.0))
            }))
        })?;
        let fixed = DEFAULT_MATCH_THRESHOLD as f64;
        let strangers_scored: Vec<f64> = top.iter().flatten().copied().collect();
        let genuine_scored: Vec<(bool, f64)> = genuine.iter().flatten().copied().collect();
        let fp = |t: f64| strangers_scored.iter().filter(|&&c| c >= t).count();
        let miss = |t: f64| genuine_scored.iter().filter(|(r, c)| !r || *c < t).count();
        // The engine: the same enrolled photos, exact search by cosine, the same thresholds.
        let enrolled_vectors: Vec<(usize, &Vec<f32>)> = enrolled
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|(_, photos, _)| (i, photos)))
            .flat_map(|(i, photos)| {
                photos
                    .iter()
                    .filter_map(move |p| embeddings.get(p).map(|v| (i, v)))
            })
            .collect();
        let engine_top = |photo: &str| -> Option<(usize, f64)> {
            let q = embeddings.get(photo)?;
            enrolled_vectors
                .iter()
                .map(|(i, v)| (*i, engine.compare(q, v).1 as f64))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        };
        let engine_strangers: Vec<f64> = stranger_photos
            .iter()
            .filter_map(|(_, p)| engine_top(p).map(|(_, c)| c))
            .collect();
        let engine_genuine: Vec<(bool, f64)> = genuine_probes
            .iter()
            .filter_map(|(i, p)| engine_top(p).map(|(j, c)| (j == *i, c)))
            .collect();
        let e_fp = |t: f64| engine_strangers.iter().filter(|&&c| c >= t).count();
        let e_miss = |t: f64| engine_genuine.iter().filter(|(r, c)| !r || *c < t).count();
        rows.push(json!({
            "gallery": alias,
            "gallery_faces": default["gallery_faces"],
            "threshold": scaled,
            "threshold_source": default["threshold_source"],
            "expected_fpir": default["expected_fpir"],
            "stranger_photos": strangers_scored.len(),
            "genuine_probes": genuine_scored.len(),
            "api": {
                "fpir": ratio(fp(scaled), strangers_scored.len()),
                "fnir": ratio(miss(scaled), genuine_scored.len()),
                "fpir_fixed_0.85": ratio(fp(fixed), strangers_scored.len()),
                "fnir_fixed_0.85": ratio(miss(fixed), genuine_scored.len()),
                "false_positives": fp(scaled),
                "misses": miss(scaled),
            },
            "engine": {
                "fpir": ratio(e_fp(scaled), engine_strangers.len()),
                "fnir": ratio(e_miss(scaled), engine_genuine.len()),
                "fpir_fixed_0.85": ratio(e_fp(fixed), engine_strangers.len()),
                "fnir_fixed_0.85": ratio(e_miss(fixed), engine_genuine.len()),
                "stranger_photos": engine_strangers.len(),
                "genuine_probes": engine_genuine.len(),
            },
        }));
        api.call(
            reqwest::Method::DELETE,
            &format!("/api/collections/{col_id}"),
            None,
        )
        .ok();
    }
    Ok(json!({"galleries": rows}))
}

/// A short random suffix so repeated runs against one server do not collide on aliases.
fn run_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:08x}")
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn print_tables(out: &Value) {
    println!(
        "Decisions through the HTTP API ({}, pack {}, backend {}), {} s\n",
        out["server"].as_str().unwrap_or(""),
        out["pack"].as_str().unwrap_or(""),
        out["backend"].as_str().unwrap_or(""),
        out["seconds"]
    );
    if let Some(p) = out.get("photos") {
        println!(
            "## Photos (liveness/, QUALITY, threshold {})",
            p["threshold"]
        );
        println!("| group | framing | photos | outcomes |\n|---|---|---|---|");
        for o in p["outcomes"].as_array().into_iter().flatten() {
            println!(
                "| {} | {} | {} | {} |",
                o["group"].as_str().unwrap_or(""),
                o["framing"].as_str().unwrap_or(""),
                o["photos"],
                o["outcomes"]
            );
        }
        println!("\n| group | photos | passed | rate |\n|---|---|---|---|");
        for (g, d) in p["decisions"].as_object().into_iter().flatten() {
            let rate = if g == "live" {
                format!("BPCER {}", pct(&d["bpcer"]))
            } else {
                format!("APCER {}", pct(&d["apcer"]))
            };
            println!("| {g} | {} | {} | {rate} |", d["photos"], d["passed"]);
        }
        for (name, key) in [
            ("API", "operating_points_api"),
            ("API, full frames only", "operating_points_api_full_frame"),
            ("engine", "operating_points_engine"),
        ] {
            let o = &p[key];
            println!(
                "\nOperating points, {name} scores ({} live, {} attacks scored; EER {}; BPCER {} at APCER ≤ 5 % (t = {:.3}); BPCER {} at APCER ≤ 10 %):",
                o["live"], o["attacks"], pct(&o["eer"]), pct(&o["at_apcer_5pct"]["bpcer"]),
                o["at_apcer_5pct"]["threshold"].as_f64().unwrap_or(f64::NAN), pct(&o["at_apcer_10pct"]["bpcer"])
            );
            for r in o["sweep"].as_array().into_iter().flatten() {
                let per_type: Vec<String> = r
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| k.starts_with("apcer_") && *k != "apcer_all")
                    .map(|(k, v)| format!("{} {}", k.trim_start_matches("apcer_"), pct(v)))
                    .collect();
                println!(
                    "  t = {:.1}: BPCER {}, APCER {} ({})",
                    r["threshold"].as_f64().unwrap_or(0.0),
                    pct(&r["bpcer"]),
                    pct(&r["apcer_all"]),
                    per_type.join(", ")
                );
            }
        }
        println!(
            "engine: photos without a face left out: {}\n",
            p["engine_skipped_no_face"]
        );
    }
    if let Some(p) = out.get("pairs") {
        println!(
            "## Pairs (verification/pairs.csv, BIOMETRY selfie vs ID photo; thresholds {})",
            p["thresholds"]
        );
        println!(
            "resolutions: {}; photos declined by the API: {}",
            p["resolutions"], p["media_errors"]
        );
        for side in ["api", "engine"] {
            let r = &p[side];
            println!(
                "{side}: TAR {} at FAR 1e-3, {} at FAR 1e-2; accuracy {}; at confidence 0.85 {}; pairs without a comparison {}",
                r["tar_at_far_1e-3"], r["tar_at_far_1e-2"], r["accuracy"], r["at_confidence_0.85"], r["no_comparison"]
            );
        }
        println!();
    }
    if let Some(v) = out.get("videos") {
        println!(
            "## Videos (QUALITY, video_selfie): {}/{} verdicts right; of {} clips, keeping their verdict after re-encoding: {}",
            v["correct"], v["of"], v["clips"], v["same_verdict_after_reencode"]
        );
        println!("| video | label | version | resolution | confidence_spoofing | frames judged / sampled | spread | engine |\n|---|---|---|---|---|---|---|---|");
        for r in v["videos"].as_array().into_iter().flatten() {
            println!(
                "| {} | {} | {} | {} | {} | {} / {} | {} | {} |",
                r["video"].as_str().unwrap_or(""),
                r["label"].as_str().unwrap_or(""),
                r["version"].as_str().unwrap_or(""),
                match r["error"].as_str() {
                    Some(code) => format!("{} ({code})", r["resolution"].as_str().unwrap_or("")),
                    None => r["resolution"].as_str().unwrap_or("").to_string(),
                },
                r["confidence_spoofing"],
                r["liveness_frames"],
                r["frames_analysed"],
                r["spread"],
                r["engine_confidence_spoofing"]
            );
        }
        println!();
    }
    if let Some(b) = out.get("blacklist") {
        println!("## Blacklist (verification/: 80 people who may be enrolled, 80 strangers)");
        println!("| gallery faces | threshold (source) | stranger photos | FPIR | FPIR at 0.85 | genuine | FNIR | FNIR at 0.85 | engine FPIR / FNIR |\n|---|---|---|---|---|---|---|---|---|");
        for r in b["galleries"].as_array().into_iter().flatten() {
            println!(
                "| {} | {:.3} ({}) | {} | {} | {} | {} | {} | {} | {} / {} |",
                r["gallery_faces"],
                r["threshold"].as_f64().unwrap_or(0.0),
                r["threshold_source"].as_str().unwrap_or(""),
                r["stranger_photos"],
                pct(&r["api"]["fpir"]),
                pct(&r["api"]["fpir_fixed_0.85"]),
                r["genuine_probes"],
                pct(&r["api"]["fnir"]),
                pct(&r["api"]["fnir_fixed_0.85"]),
                pct(&r["engine"]["fpir"]),
                pct(&r["engine"]["fnir"]),
            );
        }
    }
}
