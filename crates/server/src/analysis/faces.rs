//! Per-media engine work shared by the processors: decode + analyse one media, one embedding per
//! media, which problems are the media's (a result) rather than the system's (a retry), and the
//! keys and rounding every result uses.

use std::sync::Arc;

use faceproof_engine::face::Detection;
use faceproof_engine::gesture::Gesture;
use faceproof_engine::media::Decoded;
use faceproof_engine::{AnalyzeOptions, Engine, EngineError, FacePolicy, MediaReport};
use serde_json::{json, Value};

use super::{is_document, JobError, MediaInput, Thresholds};
use crate::domain::MediaKind;

/// Errors that are about the media rather than the system.
pub(super) fn media_problem(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::NoFace
            | EngineError::MultipleFaces { .. }
            | EngineError::FaceChanged { .. }
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
    if m.kind == MediaKind::ShotsSet {
        o.insert("source_shots_set_id".into(), json!(m.media_id));
    } else {
        o.insert("source_video_id".into(), json!(m.media_id));
    }
    o
}

pub(super) fn round4(x: f32) -> f64 {
    (x as f64 * 10_000.0).round() / 10_000.0
}

/// Decode (unless the media comes decoded) and analyse one media; the decoded frames come back
/// too (best shots are cut from them).
pub(super) fn analyze(
    engine: &Engine,
    m: &MediaInput,
    gestures: &[Gesture],
    opts: AnalyzeOptions,
) -> Result<Result<(Arc<Decoded>, MediaReport), EngineError>, JobError> {
    let decoded = match &m.decoded {
        Some(d) => Ok(d.clone()),
        None => engine.decode(&m.bytes).map(Arc::new),
    };
    let result = decoded.and_then(|decoded| {
        engine
            .analyze_media(&decoded, gestures, &opts)
            .map(|r| (decoded, r))
    });
    match result {
        Ok(done) => Ok(Ok(done)),
        Err(e) if media_problem(&e) => Ok(Err(e)),
        // models, inference, ffmpeg, I/O: the system's, and may pass
        Err(e) => Err(JobError::retryable(e)),
    }
}

/// Which faces count: ID documents may carry a second, smaller ghost portrait (the largest face
/// is used); a selfie's subject is its dominant face, with smaller background faces reported as
/// bystanders, unless the company's policy is strict (any second face declines).
pub(super) fn policy_for(m: &MediaInput, thresholds: &Thresholds) -> FacePolicy {
    if is_document(&m.tags) {
        FacePolicy::Largest
    } else if thresholds.strict_faces {
        FacePolicy::Strict
    } else {
        FacePolicy::Dominant
    }
}

fn bbox_json(d: &Detection) -> Value {
    let r = |x: f32| (x as f64 * 10.0).round() / 10.0;
    json!({ "x1": r(d.bbox.x1), "y1": r(d.bbox.y1), "x2": r(d.bbox.x2), "y2": r(d.bbox.y2) })
}

/// What a photo's `results_data` says about its faces: how many were found, and the boxes of
/// the bystanders (faces in frame that are not the subject). Nothing for videos.
pub(super) fn faces_json(report: &MediaReport) -> Option<(usize, Value)> {
    match report {
        MediaReport::Image(r) => Some((
            r.faces_found,
            Value::Array(r.bystanders.iter().map(bbox_json).collect()),
        )),
        _ => None,
    }
}

/// Put `faces_found` and `bystanders` into a media's `results_data`, when it is a photo.
pub(super) fn add_faces(data: &mut Value, faces: Option<&(usize, Value)>) {
    if let (Some((found, bystanders)), Some(map)) = (faces, data.as_object_mut()) {
        map.insert("faces_found".into(), json!(found));
        map.insert("bystanders".into(), bystanders.clone());
    }
}

/// One media's face for matching: its embedding and what `faces_json` says about the photo.
pub(super) struct MediaFace {
    pub embedding: Vec<f32>,
    pub faces: Option<(usize, Value)>,
    /// For a photo of a document: the portrait used (`{found, width, height, rotation}`).
    pub portrait: Option<Value>,
}

/// A document photo's portrait as the ID side of a comparison: the page turned upright (a
/// photo taken sideways or upside down), its largest face measured.
fn document_face(
    engine: &Engine,
    m: &MediaInput,
    opts: AnalyzeOptions,
) -> Result<Result<MediaFace, EngineError>, JobError> {
    // The upload check may have decoded the page already (decode once): `bytes` is empty then.
    let decoded = match &m.decoded {
        Some(d) => Ok(d.clone()),
        None => engine.decode(&m.bytes).map(Arc::new),
    };
    let result = decoded.and_then(|decoded| {
        let frame = &decoded.frames[0].image;
        let (rotation, page) = engine.upright_page(frame)?;
        let report = engine.analyze_image(&page, &opts)?;
        let face = report.face().ok_or(EngineError::NoFace)?;
        let embedding = face.embedding.clone().ok_or(EngineError::NoFace)?;
        let portrait = json!({
            "found": true,
            "width": face.detection.bbox.width().round() as u32,
            "height": face.detection.bbox.height().round() as u32,
            "rotation": rotation,
        });
        Ok(MediaFace {
            faces: faces_json(&MediaReport::Image(report)),
            embedding,
            portrait: Some(portrait),
        })
    });
    match result {
        Ok(face) => Ok(Ok(face)),
        Err(e) if media_problem(&e) => Ok(Err(e)),
        Err(e) => Err(JobError::retryable(e)),
    }
}

/// One face embedding per media (the video's best face), or the media problem.
pub(super) fn embeddings(
    engine: &Engine,
    media: &[MediaInput],
    thresholds: &Thresholds,
) -> Result<Vec<Result<MediaFace, EngineError>>, JobError> {
    let mut out = Vec::with_capacity(media.len());
    for m in media {
        let opts = AnalyzeOptions {
            policy: policy_for(m, thresholds),
            embedding: true,
            liveness: false,
            attributes: m.kind != MediaKind::Image,
            expression: false,
        };
        if is_document(&m.tags) && m.kind == MediaKind::Image {
            out.push(document_face(engine, m, opts)?);
            continue;
        }
        out.push(match analyze(engine, m, &[], opts)? {
            Err(e) => Err(e),
            Ok((_, report)) => report
                .primary_face()
                .and_then(|f| f.embedding.clone())
                .map(|embedding| MediaFace {
                    embedding,
                    faces: faces_json(&report),
                    portrait: None,
                })
                .ok_or(EngineError::NoFace),
        });
    }
    Ok(out)
}
