//! `faceproof analyze FILE...`: one JSON object per file on stdout (JSON Lines).

use std::path::PathBuf;

use faceproof_engine::gesture::Gesture;
use faceproof_engine::{AnalyzeOptions, Engine, FacePolicy};
use serde_json::{json, Value};

use crate::Globals;

#[derive(clap::Args)]
pub struct Args {
    /// Photos (JPEG, PNG, WebP, BMP, TIFF), videos (MP4, MOV, WebM, AVI) or ZIP archives of frames.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Which face(s) of a photo count: dominant (the largest; smaller background faces are
    /// bystanders, a comparable second face refuses the photo), strict (any second face refuses),
    /// largest (whatever else is in frame) or all.
    #[arg(long, default_value = "dominant", value_parser = parse_policy)]
    policy: FacePolicy,
    /// For videos: check the gesture of this Oz media tag (e.g. video_selfie_left). Repeat it
    /// for a challenge of several gestures, checked in the order given.
    #[arg(long)]
    tag: Vec<String>,
    /// Include the face embedding in the output (personal data).
    #[arg(long)]
    embedding: bool,
    /// Include every sampled video frame, not only the summary.
    #[arg(long)]
    frames: bool,
    /// Read the photos as ID documents: the MRZ (fields, check digits, expiry) and the portrait.
    /// Also implied by `--tag photo_id`, `photo_id_front` or `photo_id_back`.
    #[arg(long)]
    document: bool,
}

fn parse_policy(s: &str) -> Result<FacePolicy, String> {
    match s {
        "dominant" => Ok(FacePolicy::Dominant),
        "strict" | "single" => Ok(FacePolicy::Strict),
        "largest" => Ok(FacePolicy::Largest),
        "all" => Ok(FacePolicy::All),
        other => Err(format!(
            "unknown policy {other:?}: use dominant, strict, largest or all"
        )),
    }
}

pub fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    let document = args.document || args.tag.iter().any(|t| t.starts_with("photo_id"));
    let gestures = args
        .tag
        .iter()
        .filter(|t| !t.starts_with("photo_id"))
        .map(|tag| {
            Gesture::from_tag(tag)
                .ok_or_else(|| anyhow::anyhow!("{tag:?} is not a video_selfie* tag"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let engine = globals.load_engine()?;
    let opts = AnalyzeOptions {
        policy: args.policy,
        ..AnalyzeOptions::default()
    };
    let mut failures = 0;
    for file in &args.files {
        let outcome = if document {
            read_document(&engine, file)
        } else {
            analyze_one(&engine, file, &gestures, &opts, &args)
        };
        let out = match outcome {
            Ok(v) => v,
            Err(e) => {
                failures += 1;
                let (code, message) = match e.downcast_ref::<faceproof_engine::EngineError>() {
                    Some(err) => (err.code(), err.to_string()),
                    None => ("io", format!("{e:#}")),
                };
                json!({ "file": file, "error": { "code": code, "message": message } })
            }
        };
        println!("{}", serde_json::to_string(&out)?);
    }
    if failures > 0 {
        anyhow::bail!(
            "{failures} of {} files could not be analysed",
            args.files.len()
        );
    }
    Ok(())
}

fn analyze_one(
    engine: &Engine,
    file: &PathBuf,
    gestures: &[Gesture],
    opts: &AnalyzeOptions,
    args: &Args,
) -> anyhow::Result<Value> {
    let bytes = std::fs::read(file)?;
    let decoded = engine.decode(&bytes)?;
    let report = engine.analyze_media(&decoded, gestures, opts)?;
    let mut value = serde_json::to_value(&report)?;
    if let Value::Object(map) = &mut value {
        if !args.frames {
            if let Some(Value::Array(frames)) = map.get_mut("frames") {
                let n = frames.len();
                map.insert("frames_sampled".into(), json!(n));
                map.remove("frames");
            }
        }
        if args.embedding {
            if let Some(face) = report.primary_face() {
                map.insert("embedding".into(), json!(face.embedding));
            }
        }
        if let Some(face) = report.primary_face() {
            map.insert("best_face".into(), serde_json::to_value(face)?);
        }
        map.insert("file".into(), json!(file));
        map.insert("format".into(), json!(decoded.format));
        map.insert("backend".into(), json!(engine.backend()));
    }
    Ok(value)
}

/// A photo (or a frame set's first frame) read as an ID document.
fn read_document(engine: &Engine, file: &PathBuf) -> anyhow::Result<Value> {
    let bytes = std::fs::read(file)?;
    let decoded = engine.decode(&bytes)?;
    let today = faceproof_engine::document::today_utc();
    let report = engine.read_document(&decoded.frames[0].image, today)?;
    let mut value = serde_json::to_value(&report)?;
    if let Value::Object(map) = &mut value {
        let expired = report
            .reading
            .mrz
            .as_ref()
            .and_then(|m| m.expired_on(today));
        map.insert("expired".into(), json!(expired));
        map.insert("file".into(), json!(file));
        map.insert("backend".into(), json!(engine.backend()));
    }
    Ok(value)
}
