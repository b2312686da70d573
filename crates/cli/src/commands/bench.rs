//! `faceproof bench`: milliseconds per stage and per photo, single-threaded and on all cores,
//! for every installed model pack in the same run (or the one `--pack` names), and — when
//! Python's onnxruntime is importable — the same models timed in Python in the same run, so the
//! ratios are measured rather than quoted.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use faceproof_engine::face::{self, BoundingBox};
use faceproof_engine::models::{verify_pack, PackManifest, Role};
use faceproof_engine::{AnalyzeOptions, Engine, EngineOptions};
use image::RgbImage;
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::Globals;

#[derive(clap::Args)]
pub struct Args {
    /// Photos to time (each must show a face); default: 8 photos of `$FACEPROOF_DATA` or ../shared/data.
    images: Vec<PathBuf>,
    /// Passes over the photos for each figure.
    #[arg(long, default_value_t = 5)]
    iterations: usize,
    /// Packs to time, comma-separated (default: `--pack` when given, else every built-in pack
    /// that is installed).
    #[arg(long)]
    packs: Option<String>,
    /// Skip the Python onnxruntime comparison.
    #[arg(long)]
    no_python: bool,
    #[arg(long)]
    json: bool,
}

fn default_images() -> anyhow::Result<Vec<PathBuf>> {
    let data = std::env::var_os("FACEPROOF_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let dir = data.join("verification/George_W_Bush");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("no photos given and {} is missing", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files.truncate(4);
    let live = data.join("liveness/live/nuaa/s0002");
    if let Ok(rd) = std::fs::read_dir(&live) {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more.into_iter().take(4));
    }
    Ok(files)
}

fn time_ms(iterations: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_secs_f64() * 1000.0 / iterations as f64
}

struct Prepared {
    bytes: Vec<u8>,
    frame: RgbImage,
    bbox: BoundingBox,
    landmarks: Vec<[f32; 2]>,
    aligned: RgbImage,
}

pub fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    let files = if args.images.is_empty() {
        default_images()?
    } else {
        args.images.clone()
    };
    let packs: Vec<PackManifest> = match &args.packs {
        Some(list) => list
            .split(',')
            .map(|p| PackManifest::resolve(p.trim()))
            .collect::<Result<_, _>>()?,
        None if globals.pack_named => vec![globals.pack.clone()],
        None => PackManifest::builtins()
            .into_iter()
            .filter(|p| {
                verify_pack(p, &globals.models_dir).is_ok_and(|r| r.models.iter().all(|m| m.ok))
            })
            .collect(),
    };
    if packs.is_empty() {
        anyhow::bail!("no model pack is installed: run `faceproof models fetch`");
    }
    let mut results = Vec::new();
    for pack in packs {
        let engine = Engine::load(EngineOptions {
            models_dir: globals.models_dir.clone(),
            backend: globals.backend,
            ..EngineOptions::for_pack(pack.clone())
        })?;
        results.push(bench_pack(globals, &pack, &engine, &files, &args)?);
    }
    // Each pack's per-photo cost as a ratio to the first pack's, measured in this run.
    let first = results[0]["photo_ms"].clone();
    for r in results.iter_mut() {
        let mut rel = serde_json::Map::new();
        for (k, v) in r["photo_ms"].as_object().cloned().unwrap_or_default() {
            if let (Some(a), Some(b)) = (v.as_f64(), first[&k].as_f64()) {
                rel.insert(k, json!(round(a / b)));
            }
        }
        r["photo_ms_ratio_to_first_pack"] = Value::Object(rel);
    }
    let out = json!({ "packs": results });
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
        println!("\nper photo (ms)           match+liveness 1 thread   full 1 thread   match+liveness all threads   embedding");
        for r in &results {
            let p = &r["photo_ms"];
            let ms = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
            println!(
                "{:<24} {:>24.1} {:>15.1} {:>28.1} {:>11.1}",
                r["pack"].as_str().unwrap_or(""),
                ms(&p["match_and_liveness_single_thread"]),
                ms(&p["full_single_thread"]),
                ms(&p["match_and_liveness_all_threads"]),
                ms(&r["stage_ms"]["embedding"]),
            );
        }
    }
    Ok(())
}

/// Every figure for one pack's engine.
fn bench_pack(
    globals: &Globals,
    pack: &PackManifest,
    engine: &Engine,
    files: &[PathBuf],
    args: &Args,
) -> anyhow::Result<Value> {
    let mut photos = Vec::new();
    for f in files {
        let bytes = std::fs::read(f)?;
        let frame = engine.decode(&bytes)?.frames.remove(0).image;
        let det = engine
            .detect(&frame)?
            .into_iter()
            .next()
            .with_context(|| format!("no face in {}", f.display()))?;
        let landmarks = face::landmarks(engine.net(Role::Landmarks), &frame, &det.bbox)?
            .context("landmarks")?;
        let aligned = face::aligned_face(&frame, &landmarks, 112).context("alignment")?;
        photos.push(Prepared {
            bytes,
            frame,
            bbox: det.bbox,
            landmarks,
            aligned,
        });
    }
    let n = args.iterations.max(1);
    let per_photo =
        |f: &dyn Fn(&Prepared)| time_ms(n, || photos.iter().for_each(f)) / photos.len() as f64;
    let e = engine;
    let mut stages = serde_json::Map::new();
    let mut stage = |name: &str, ms: f64| {
        stages.insert(name.to_string(), json!(round(ms)));
    };
    stage("decode", per_photo(&|p| drop(e.decode(&p.bytes))));
    stage("detect", per_photo(&|p| drop(e.detect(&p.frame))));
    stage(
        "landmarks",
        per_photo(&|p| drop(face::landmarks(e.net(Role::Landmarks), &p.frame, &p.bbox))),
    );
    stage(
        "align",
        per_photo(&|p| drop(face::aligned_face(&p.frame, &p.landmarks, 112))),
    );
    stage(
        "embedding",
        per_photo(&|p| drop(face::embedding(e.net(Role::Embedder), &p.aligned, false))),
    );
    stage(
        "embedding_flip",
        per_photo(&|p| drop(face::embedding(e.net(Role::Embedder), &p.aligned, true))),
    );
    stage(
        "liveness",
        per_photo(&|p| drop(face::liveness(e.net(Role::Liveness), &p.frame, &p.bbox))),
    );
    stage(
        "pose",
        per_photo(&|p| drop(face::pose(e.net(Role::Pose), &p.frame, &p.bbox))),
    );
    stage(
        "eyes",
        per_photo(&|p| drop(face::eyes(e.net(Role::Eyes), &p.frame, &p.landmarks))),
    );
    stage(
        "expression",
        per_photo(&|p| drop(face::expression(e.net(Role::Expression), &p.frame, &p.bbox))),
    );

    let matching = AnalyzeOptions {
        attributes: false,
        ..AnalyzeOptions::default()
    };
    let full = AnalyzeOptions {
        expression: true,
        ..AnalyzeOptions::default()
    };
    let end_to_end = |opts: AnalyzeOptions| {
        move |p: &Prepared| {
            let frame = e
                .decode(&p.bytes)
                .expect("decoded before")
                .frames
                .remove(0)
                .image;
            drop(e.analyze_image(&frame, &opts));
        }
    };
    let single_match = per_photo(&end_to_end(matching));
    let single_full = per_photo(&end_to_end(full));
    let threads = rayon::current_num_threads();
    let parallel = |opts: AnalyzeOptions| {
        let f = end_to_end(opts);
        let work: Vec<&Prepared> = (0..n).flat_map(|_| photos.iter()).collect();
        let start = Instant::now();
        work.par_iter().for_each(|p| f(p));
        start.elapsed().as_secs_f64() * 1000.0 / work.len() as f64
    };
    let all_match = parallel(matching);
    let all_full = parallel(full);

    let python = if args.no_python {
        Value::Null
    } else {
        python_onnxruntime(globals, pack, n)
    };
    let mut ratios = serde_json::Map::new();
    if let Value::Object(py) = &python {
        for (ours, theirs) in [
            ("detect", "detector"),
            ("landmarks", "landmarks"),
            ("embedding", "embedder"),
            ("liveness", "liveness"),
            ("pose", "pose"),
            ("eyes", "eyes"),
            ("expression", "expression"),
        ] {
            if let (Some(a), Some(b)) = (
                stages.get(ours).and_then(Value::as_f64),
                py.get(theirs).and_then(Value::as_f64),
            ) {
                ratios.insert(ours.to_string(), json!(round(a / b)));
            }
        }
    }
    Ok(json!({
        "pack": pack.id,
        "backend": engine.backend(),
        "photos": photos.len(),
        "iterations": n,
        "threads": threads,
        "stage_ms": stages,
        "photo_ms": {
            "match_and_liveness_single_thread": round(single_match),
            "full_single_thread": round(single_full),
            "match_and_liveness_all_threads": round(all_match),
            "full_all_threads": round(all_full),
        },
        "python_onnxruntime_ms": python,
        "ratio_to_python_onnxruntime": ratios,
    }))
}

fn round(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

/// Time each model of the pack in Python's onnxruntime (one intra-op thread, batch 1), on the
/// same installed files. `null` when Python or onnxruntime is not available.
fn python_onnxruntime(globals: &Globals, pack: &PackManifest, iterations: usize) -> Value {
    const SCRIPT: &str = include_str!("../../../../scripts/bench_onnxruntime.py");
    let mut models = serde_json::Map::new();
    for role in Role::ALL {
        let (Ok(spec), Ok(path)) = (pack.model(role), pack.path_of(&globals.models_dir, role))
        else {
            continue;
        };
        let role_name = serde_json::to_value(role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        models.insert(
            role_name,
            json!({ "path": path, "shape": spec.input.shape() }),
        );
    }
    let config = json!({ "iterations": iterations * 8, "models": models }).to_string();
    match Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(config)
        .output()
    {
        Ok(out) if out.status.success() => {
            serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}
