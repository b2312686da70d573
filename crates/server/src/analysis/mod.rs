//! Turning a folder's media into engine calls and Oz results: which media an analysis takes
//! (Oz §5.1), the thresholds in force (§5.2: server default < company setting < request
//! `params`), and the `results_media` / `results_data` / `resolution_status` of each type.
//!
//! The way of one analysis, file by file:
//! - [`order`]: parse an order, authorize it, plan which media each analysis takes, store it
//!   (analyses + jobs in one transaction) and wake the workers;
//! - [`queue`]: workers claim jobs with a lease, renew it, retry system errors, give up;
//! - `execute`: one claimed job — read its media, run its processor, store results and best shots;
//! - `process_quality`, `process_biometry`, `process_collection`: one file per analysis type,
//!   synchronous engine work (inside [`crate::inference::Inference::run`]) → Oz results;
//! - [`read`]: analyses read back as Oz JSON; [`single_request`] and [`instant`]: an order run
//!   while the client waits (stored, or in memory only).
//!
//! Per-media problems (no face, two comparable faces in a selfie, a gesture not performed, unreadable
//! content) are results, not failures: the media gets `resolution_status: DECLINED` and an
//! `error` object `{code, message}`, and the analysis is `DECLINED`. Only system errors (models,
//! ffmpeg, storage) fail a job, which is then retried.

mod execute;
mod faces;
pub mod instant;
pub mod order;
mod process_biometry;
pub(crate) mod process_collection;
mod process_quality;
pub mod queue;
pub mod read;
pub mod single_request;

pub use execute::run;
pub use process_quality::best_shot_id;

use serde_json::Value;
use uuid::Uuid;

/// The analysis types this server accepts. DOCUMENTS is accepted so that an order carrying it
/// (Oz's iOS SDK adds one whenever an ID photo was captured) still runs its other analyses; until
/// the document reader exists it finishes at once as OPERATOR_REQUIRED with
/// `results_data.status = "NOT_SUPPORTED"` (see [`documents_not_supported`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisType {
    Quality,
    Biometry,
    Collection,
    Documents,
}

impl AnalysisType {
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisType::Quality => "QUALITY",
            AnalysisType::Biometry => "BIOMETRY",
            AnalysisType::Collection => "COLLECTION",
            AnalysisType::Documents => "DOCUMENTS",
        }
    }
    pub fn parse(s: &str) -> Option<AnalysisType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quality" | "liveness" => Some(AnalysisType::Quality),
            "biometry" => Some(AnalysisType::Biometry),
            "collection" | "blacklist" => Some(AnalysisType::Collection),
            "documents" | "document" => Some(AnalysisType::Documents),
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

pub(crate) fn is_document(tags: &[String]) -> bool {
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
        AnalysisType::Documents => kind == "IMAGE",
    }
}

/// The outcome of a DOCUMENTS analysis while no document reader is installed: a person has to
/// look at the document (OPERATOR_REQUIRED), `text_fields` is empty (the shape Oz's SDK reads),
/// and `status`/`message` say why. It never fails the job, so the folder's other analyses are
/// unaffected.
pub fn documents_not_supported(inputs: &[MediaInput]) -> Outcome {
    const MESSAGE: &str =
        "Document recognition is not available on this server yet; an operator has to check the document";
    Outcome {
        resolution_status: "OPERATOR_REQUIRED".into(),
        results_media: inputs
            .iter()
            .map(|m| {
                serde_json::json!({
                    "source_media_id": m.media_id,
                    "resolution_status": "OPERATOR_REQUIRED",
                    "results_data": { "status": "NOT_SUPPORTED" },
                })
            })
            .collect(),
        results_data: serde_json::json!({
            "text_fields": [],
            "status": "NOT_SUPPORTED",
            "message": MESSAGE,
        }),
        best_shots: Vec::new(),
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
    /// A collection match at or above ⇒ DECLINED (blacklist hit), when given by the request or
    /// the company; `None`: the default that scales with the gallery
    /// ([`crate::collections::threshold`]).
    pub collection: Option<crate::collections::threshold::Explicit>,
    /// Any second face declines a selfie (company setting `face_policy: "strict"`); otherwise
    /// smaller background faces are bystanders ([`faceproof_engine::FacePolicy::Dominant`]).
    pub strict_faces: bool,
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
        assert_eq!(
            AnalysisType::parse("documents"),
            Some(AnalysisType::Documents)
        );
    }
}
