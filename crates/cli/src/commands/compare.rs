//! `faceproof compare A B`: similarity and calibrated confidence of the largest faces.

use std::path::PathBuf;

use faceproof_engine::calibration::DEFAULT_MATCH_THRESHOLD;
use faceproof_engine::{AnalyzeOptions, Engine};
use serde_json::json;

use crate::Globals;

#[derive(clap::Args)]
pub struct Args {
    a: PathBuf,
    b: PathBuf,
    /// Confidence at or above which the faces are called a match.
    #[arg(long, default_value_t = DEFAULT_MATCH_THRESHOLD)]
    threshold: f32,
}

pub fn embed(engine: &Engine, path: &PathBuf) -> anyhow::Result<Vec<f32>> {
    let bytes = std::fs::read(path)?;
    let decoded = engine.decode(&bytes)?;
    // The subject's face, as the server picks it: background faces are ignored, two comparable
    // faces refuse the photo.
    let opts = AnalyzeOptions {
        policy: faceproof_engine::FacePolicy::Dominant,
        liveness: false,
        attributes: false,
        ..AnalyzeOptions::default()
    };
    let report = engine.analyze_media(&decoded, &[], &opts)?;
    let face = report
        .primary_face()
        .ok_or(faceproof_engine::EngineError::NoFace)?;
    Ok(face.embedding.clone().expect("embedding was requested"))
}

pub fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    let engine = globals.load_engine()?;
    let a = embed(&engine, &args.a).map_err(|e| e.context(format!("{}", args.a.display())))?;
    let b = embed(&engine, &args.b).map_err(|e| e.context(format!("{}", args.b.display())))?;
    let (similarity, confidence) = engine.compare(&a, &b);
    let out = json!({
        "similarity": similarity,
        "confidence": confidence,
        "threshold": args.threshold,
        "match": confidence >= args.threshold,
        "backend": engine.backend(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
