//! Turning a folder's media into engine calls and Oz results: which media an analysis takes
//! (Oz §5.1), the thresholds in force (§5.2: server default < company setting < request
//! `params`), and the `results_media` / `results_data` / `resolution_status` of each type.
//!
//! Everything here is synchronous and runs inside [`crate::inference::Inference::run`]; the same
//! functions serve the durable workers ([`worker`]), single requests and Instant (which passes
//! in-memory media and stores nothing).
//!
//! Per-media problems (no face, several faces in a selfie, a gesture not performed, unreadable
//! content) are results, not failures: the media gets `resolution_status: DECLINED` and an
//! `error` object `{code, message}`, and the analysis is `DECLINED`. Only system errors (models,
//! ffmpeg, storage) fail a job, which is then retried.

pub mod collection;
pub mod request;
pub mod worker;

use faceproof_engine::best_shot;
use faceproof_engine::gesture::Gesture;
use faceproof_engine::media::Decoded;
use faceproof_engine::{AnalyzeOptions, Engine, EngineError, FacePolicy, MediaReport};
use serde_json::{json, Value};
use uuid::Uuid;

/// The analysis types this server runs (`documents` answers "not realized").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisType {
    Quality,
    Biometry,
    Collection,
}

impl AnalysisType {
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisType::Quality => "QUALITY",
            AnalysisType::Biometry => "BIOMETRY",
            AnalysisType::Collection => "COLLECTION",
        }
    }
    pub fn parse(s: &str) -> Option<AnalysisType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quality" | "liveness" => Some(AnalysisType::Quality),
            "biometry" => Some(AnalysisType::Biometry),
            "collection" | "blacklist" => Some(AnalysisType::Collection),
            _ => None,
        }
    }
}

/// A media file as an analysis sees it.
#[derive(Clone)]
pub struct MediaInput {
    pub media_id: Uuid,
    /// `IMAGE`, `VIDEO` or `SHOTS_SET`.
    pub kind: String,
    pub tags: Vec<String>,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

fn is_liveness_video(tags: &[String]) -> bool {
    tags.iter().any(|t| t.starts_with("video_selfie"))
}

fn is_document(tags: &[String]) -> bool {
    tags.iter().any(|t| t.starts_with("photo_id"))
}

/// Oz §5.1: Quality takes media tagged `video_selfie*` (videos, shots sets) and photos that are
/// not ID documents.
pub fn quality_takes(kind: &str, tags: &[String]) -> bool {
    is_liveness_video(tags) || (kind == "IMAGE" && !is_document(tags))
}

/// Oz §5.1: Biometry and Collection take every photo and video except an ID's back side.
pub fn biometry_takes(_kind: &str, tags: &[String]) -> bool {
    !tags.iter().any(|t| t == "photo_id_back")
}

pub fn takes(t: AnalysisType, kind: &str, tags: &[String]) -> bool {
    match t {
        AnalysisType::Quality => quality_takes(kind, tags),
        AnalysisType::Biometry | AnalysisType::Collection => biometry_takes(kind, tags),
    }
}

/// Thresholds in force for one analysis.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// `confidence_spoofing` at or above ⇒ DECLINED.
    pub liveness: f32,
    /// Biometry `min_confidence` below ⇒ DECLINED.
    pub biometry_min: f32,
    /// Biometry `min_confidence` at or above ⇒ SUCCESS; between the two ⇒ OPERATOR_REQUIRED.
    pub biometry_max: f32,
    /// A collection match at or above ⇒ DECLINED (blacklist hit).
    pub collection: f32,
}

/// What one analysis produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub resolution_status: String,
    pub results_media: Vec<Value>,
    pub results_data: Value,
    pub best_shots: Vec<BestShot>,
}

/// A best frame to store as a new media of the folder.
#[derive(Debug)]
pub struct BestShot {
    pub media_id: Uuid,
    pub source_media_id: Uuid,
    pub jpeg: Vec<u8>,
    pub thumb: Option<Vec<u8>>,
    pub width: u32,
    pub height: u32,
}

/// A system error: the job is retried, then FAILED with this reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SystemError(pub String);

/// Errors that are about the media rather than the system.
fn media_problem(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::NoFace
            | EngineError::MultipleFaces { .. }
            | EngineError::Unreadable { .. }
            | EngineError::UnsupportedFormat(_)
            | EngineError::TooLarge(_)
    )
}

fn problem_json(e: &EngineError) -> Value {
    json!({ "code": e.code(), "message": e.to_string() })
}

/// The id of the best shot of `source` made by `analysis`: the same on every retry, so a job run
/// twice stores one media, not two.
pub fn best_shot_id(analysis: Uuid, source: Uuid) -> Uuid {
    let mut name = analysis.as_bytes().to_vec();
    name.extend_from_slice(source.as_bytes());
    Uuid::new_v5(&Uuid::NAMESPACE_OID, &name)
}

/// The keys clients match results by: `source_video_id` for videos (and, for compatibility,
/// photos), `source_shots_set_id` for ZIP frame sets; `source_media_id` always.
fn source_keys(m: &MediaInput) -> serde_json::Map<String, Value> {
    let mut o = serde_json::Map::new();
    o.insert("source_media_id".into(), json!(m.media_id));
    if m.kind == "SHOTS_SET" {
        o.insert("source_shots_set_id".into(), json!(m.media_id));
    } else {
        o.insert("source_video_id".into(), json!(m.media_id));
    }
    o
}

fn round4(x: f32) -> f64 {
    (x as f64 * 10_000.0).round() / 10_000.0
}

/// Decode and analyse one media; the decoded frames come back too (best shots are cut from them).
fn analyze(
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

/// The gesture a media's tags ask for: a specific one (`video_selfie_left`…) over the plain
/// `video_selfie` / `video_selfie_blank`, which ask only for a face.
fn gesture_of(tags: &[String]) -> Option<(&str, Gesture)> {
    let mut found = None;
    for t in tags {
        match Gesture::from_tag(t) {
            Some(Gesture::Blank) if found.is_none() => found = Some((t.as_str(), Gesture::Blank)),
            Some(Gesture::Blank) | None => {}
            Some(g) => return Some((t.as_str(), g)),
        }
    }
    found
}

/// Selfie photos must show one face; ID documents may carry a second, smaller ghost portrait.
fn policy_for(m: &MediaInput) -> FacePolicy {
    if is_document(&m.tags) {
        FacePolicy::Largest
    } else {
        FacePolicy::RequireSingle
    }
}

/// QUALITY (liveness): each media gets `confidence_spoofing` and its own resolution; gesture
/// videos must show their gesture; `extract_best_shot` keeps the best frame of each video.
pub fn run_quality(
    engine: &Engine,
    analysis_id: Uuid,
    media: &[MediaInput],
    thresholds: &Thresholds,
    extract_best_shot: bool,
) -> Result<Outcome, SystemError> {
    let mut out = Outcome::default();
    let mut declined = false;
    for m in media {
        let (gesture_tag, gesture) = gesture_of(&m.tags).unzip();
        let is_video = m.kind != "IMAGE";
        let opts = AnalyzeOptions {
            policy: policy_for(m),
            embedding: false,
            liveness: true,
            attributes: is_video,
            expression: false,
        };
        let mut entry = source_keys(m);
        let mut output_images = Vec::new();
        let resolution = match analyze(engine, m, gesture, opts)? {
            Err(e) => {
                entry.insert(
                    "results_data".into(),
                    json!({ "confidence_spoofing": null }),
                );
                entry.insert("error".into(), problem_json(&e));
                "DECLINED"
            }
            Ok((decoded, report)) => {
                let spoofing = report.confidence_spoofing();
                let mut data = json!({
                    "confidence_spoofing": spoofing.map(round4),
                    "threshold": round4(thresholds.liveness),
                });
                let mut resolution = match spoofing {
                    Some(s) if s < thresholds.liveness => "SUCCESS",
                    _ => "DECLINED",
                };
                match &report {
                    MediaReport::Image(r) => {
                        data["faces_found"] = json!(r.faces_found);
                        if extract_best_shot {
                            output_images.push(json!({ "media_id": m.media_id }));
                        }
                    }
                    MediaReport::Video(v) | MediaReport::ShotsSet(v) => {
                        data["frames_analysed"] = json!(v.frames.len());
                        data["liveness_frames"] = json!(v.liveness_frames);
                        if let Some(g) = &v.gesture {
                            data["gesture"] = json!({
                                "name": gesture_tag,
                                "performed": g.performed,
                                "frames_matching": g.frames_matching,
                                "frames_with_face": g.frames_with_face,
                            });
                            if !g.performed {
                                resolution = "DECLINED";
                                entry.insert(
                                    "error".into(),
                                    json!({ "code": "gesture_not_performed",
                                            "message": "the requested gesture was not seen in the video" }),
                                );
                            }
                        }
                        if extract_best_shot {
                            if let Some(shot) = best_frame(&decoded, analysis_id, m, v.best_frame)?
                            {
                                output_images.push(json!({ "media_id": shot.media_id }));
                                out.best_shots.push(shot);
                            }
                        }
                    }
                }
                if spoofing.is_none() && !entry.contains_key("error") {
                    entry.insert(
                        "error".into(),
                        json!({ "code": "no_face", "message": "no face could be scored" }),
                    );
                }
                entry.insert("results_data".into(), data);
                resolution
            }
        };
        declined |= resolution == "DECLINED";
        entry.insert("resolution_status".into(), json!(resolution));
        entry.insert("output_images".into(), Value::Array(output_images));
        out.results_media.push(Value::Object(entry));
    }
    out.resolution_status = if declined { "DECLINED" } else { "SUCCESS" }.into();
    out.results_data = json!({});
    Ok(out)
}

/// The chosen frame of a video as a JPEG (and its thumbnail), ready to store as a media.
fn best_frame(
    decoded: &Decoded,
    analysis_id: Uuid,
    m: &MediaInput,
    index: Option<usize>,
) -> Result<Option<BestShot>, SystemError> {
    let Some(frame) = index.and_then(|i| decoded.frames.get(i)) else {
        return Ok(None);
    };
    let jpeg = best_shot::frame_jpeg(&frame.image).map_err(|e| SystemError(e.to_string()))?;
    let thumb = best_shot::thumbnail_jpeg(&frame.image, 320).ok();
    Ok(Some(BestShot {
        media_id: best_shot_id(analysis_id, m.media_id),
        source_media_id: m.media_id,
        jpeg,
        thumb,
        width: frame.image.width(),
        height: frame.image.height(),
    }))
}

/// One face embedding per media (the video's best face), or the media problem.
pub fn embeddings(
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

/// BIOMETRY: every pair of media compared; `min_confidence` (the least similar pair) decides.
pub fn run_biometry(
    engine: &Engine,
    media: &[MediaInput],
    thresholds: &Thresholds,
) -> Result<Outcome, SystemError> {
    let embeddings = embeddings(engine, media)?;
    let mut out = Outcome::default();
    let mut problems = 0;
    for (m, e) in media.iter().zip(&embeddings) {
        let mut entry = source_keys(m);
        match e {
            Ok(_) => {
                entry.insert("resolution_status".into(), json!("SUCCESS"));
                entry.insert("results_data".into(), json!({ "face_found": true }));
            }
            Err(err) => {
                problems += 1;
                entry.insert("resolution_status".into(), json!("DECLINED"));
                entry.insert("results_data".into(), json!({ "face_found": false }));
                entry.insert("error".into(), problem_json(err));
            }
        }
        out.results_media.push(Value::Object(entry));
    }
    let mut pairs = Vec::new();
    let (mut min_c, mut max_c) = (f32::INFINITY, f32::NEG_INFINITY);
    for i in 0..media.len() {
        for j in i + 1..media.len() {
            if let (Ok(a), Ok(b)) = (&embeddings[i], &embeddings[j]) {
                let (similarity, confidence) = engine.compare(a, b);
                min_c = min_c.min(confidence);
                max_c = max_c.max(confidence);
                pairs.push(json!({
                    "media_ids": [media[i].media_id, media[j].media_id],
                    "confidence": round4(confidence),
                    "similarity": round4(similarity),
                }));
            }
        }
    }
    let compared = !pairs.is_empty();
    out.resolution_status = if problems > 0 || !compared || min_c < thresholds.biometry_min {
        "DECLINED"
    } else if min_c >= thresholds.biometry_max {
        "SUCCESS"
    } else {
        "OPERATOR_REQUIRED"
    }
    .into();
    out.results_data = json!({
        "min_confidence": compared.then(|| round4(min_c)),
        "max_confidence": compared.then(|| round4(max_c)),
        "pairs": pairs,
        "threshold_min": round4(thresholds.biometry_min),
        "threshold_max": round4(thresholds.biometry_max),
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn which_media_each_analysis_takes() {
        assert!(quality_takes(
            "VIDEO",
            &tags(&["video_selfie", "video_selfie_blank"])
        ));
        assert!(quality_takes("IMAGE", &tags(&["photo_selfie"])));
        assert!(quality_takes("IMAGE", &[]));
        assert!(!quality_takes(
            "IMAGE",
            &tags(&["photo_id", "photo_id_front"])
        ));
        assert!(!quality_takes("VIDEO", &[]));
        assert!(biometry_takes(
            "IMAGE",
            &tags(&["photo_id", "photo_id_front"])
        ));
        assert!(!biometry_takes(
            "IMAGE",
            &tags(&["photo_id", "photo_id_back"])
        ));
        assert_eq!(AnalysisType::parse("Quality"), Some(AnalysisType::Quality));
        assert_eq!(
            AnalysisType::parse("blacklist"),
            Some(AnalysisType::Collection)
        );
        assert_eq!(AnalysisType::parse("documents"), None);
    }

    #[test]
    fn the_specific_gesture_wins_over_the_plain_selfie_tag() {
        let t = tags(&["video_selfie", "video_selfie_left", "orientation_portrait"]);
        assert_eq!(gesture_of(&t), Some(("video_selfie_left", Gesture::Left)));
        let t = tags(&["video_selfie", "video_selfie_blank"]);
        assert_eq!(gesture_of(&t), Some(("video_selfie", Gesture::Blank)));
        assert_eq!(gesture_of(&tags(&["photo_selfie"])), None);
    }

    #[test]
    fn best_shot_ids_are_stable() {
        let a = Uuid::new_v4();
        let m = Uuid::new_v4();
        assert_eq!(best_shot_id(a, m), best_shot_id(a, m));
        assert_ne!(best_shot_id(a, m), best_shot_id(m, a));
    }
}
