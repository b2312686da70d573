//! Per-media engine work shared by the processors: decode + analyse one media, one embedding per
//! media, which problems are the media's (a result) rather than the system's (a retry), and the
//! keys and rounding every result uses.

use faceproof_engine::gesture::Gesture;
use faceproof_engine::media::Decoded;
use faceproof_engine::{AnalyzeOptions, Engine, EngineError, FacePolicy, MediaReport};
use serde_json::{json, Value};

use super::{is_document, MediaInput, SystemError};

/// Errors that are about the media rather than the system.
pub(super) fn media_problem(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::NoFace
            | EngineError::MultipleFaces { .. }
            | EngineError::Unreadable { .. }
            | EngineError::UnsupportedFormat(_)
            | EngineError::TooLarge(_)
    )
}

pub(super) fn problem_json(e: &EngineError) -> Value {
    json!({ "code": e.code(), "message": e.to_string() })
}

/// The keys clients match results by: `source_video_id` for videos (and, for compatibility,
/// photos), `source_shots_set_id` for ZIP frame sets; `source_media_id` always.
pub(super) fn source_keys(m: &MediaInput) -> serde_json::Map<String, Value> {
    let mut o = serde_json::Map::new();
    o.insert("source_media_id".into(), json!(m.media_id));
    if m.kind == "SHOTS_SET" {
        o.insert("source_shots_set_id".into(), json!(m.media_id));
    } else {
        o.insert("source_video_id".into(), json!(m.media_id));
    }
    o
}

pub(super) fn round4(x: f32) -> f64 {
    (x as f64 * 10_000.0).round() / 10_000.0
}

/// Decode and analyse one media; the decoded frames come back too (best shots are cut from them).
pub(super) fn analyze(
    engine: &Engine,
    m: &MediaInput,
    gesture: Option<Gesture>,
    opts: AnalyzeOptions,
) -> Result<Result<(Decoded, MediaReport), EngineError>, SystemError> {
    let result = engine.decode(&m.bytes).and_then(|decoded| {
        engine
            .analyze_media(&decoded, gesture, &opts)
            .map(|r| (decoded, r))
    });
    match result {
        Ok(done) => Ok(Ok(done)),
        Err(e) if media_problem(&e) => Ok(Err(e)),
        Err(e) => Err(SystemError(e.to_string())),
    }
}

/// Selfie photos must show one face; ID documents may carry a second, smaller ghost portrait.
pub(super) fn policy_for(m: &MediaInput) -> FacePolicy {
    if is_document(&m.tags) {
        FacePolicy::Largest
    } else {
        FacePolicy::RequireSingle
    }
}

/// One face embedding per media (the video's best face), or the media problem.
pub(super) fn embeddings(
    engine: &Engine,
    media: &[MediaInput],
) -> Result<Vec<Result<Vec<f32>, EngineError>>, SystemError> {
    let mut out = Vec::with_capacity(media.len());
    for m in media {
        let opts = AnalyzeOptions {
            policy: policy_for(m),
            embedding: true,
            liveness: false,
            attributes: m.kind != "IMAGE",
            expression: false,
        };
        out.push(match analyze(engine, m, None, opts)? {
            Err(e) => Err(e),
            Ok((_, report)) => report
                .primary_face()
                .and_then(|f| f.embedding.clone())
                .ok_or(EngineError::NoFace),
        });
    }
    Ok(out)
}
