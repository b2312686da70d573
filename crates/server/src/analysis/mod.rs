//! Turning a folder's media into engine calls and Oz results: which media an analysis takes
//! (Oz §5.1), the thresholds in force (§5.2: server default < company setting < request
//! `params`), and the `results_media` / `results_data` / `resolution_status` of each type.
//!
//! The way of one analysis, file by file:
//! - [`order`]: parse an order, authorize it, plan which media each analysis takes, store it
//!   (analyses + jobs in one transaction) and wake the workers;
//! - [`queue`]: workers claim jobs with a lease, renew it, retry system errors, give up;
//! - `execute`: one claimed job — read its media, run its processor, store results and best shots;
//! - `process_quality`, `process_biometry`, `process_collection`, `process_documents`: one file
//!   per analysis type,
//!   synchronous engine work (inside [`crate::inference::Inference::run`]) → Oz results;
//! - [`read`]: analyses read back as Oz JSON; [`single_request`] and [`instant`]: an order run
//!   while the client waits (stored, or in memory only).
//!
//! Per-media problems (no face, two comparable faces in a selfie, a gesture not performed, unreadable
//! content) are results, not failures: the media gets `resolution_status: DECLINED` and an
//! `error` object `{code, message}`, and the analysis is `DECLINED`. Only system errors fail a job
//! ([`JobError`]): those that may pass (database, storage, models, ffmpeg) are retried; those no
//! retry mends (the order no longer holds) fail the analysis at once.

mod execute;
mod faces;
pub mod instant;
pub mod order;
mod process_biometry;
pub(crate) mod process_collection;
pub(crate) mod process_documents;
mod process_quality;
pub mod queue;
pub mod read;
pub mod single_request;

pub use execute::run;
pub use process_quality::best_shot_id;

use serde_json::Value;
use uuid::Uuid;

pub use crate::domain::AnalysisType;
use crate::domain::{MediaKind, Resolution};
use crate::errors::{ApiError, Code};

/// A media file as an analysis sees it.
#[derive(Clone)]
pub struct MediaInput {
    pub media_id: Uuid,
    pub kind: MediaKind,
    pub tags: Vec<String>,
    /// The file; empty when `decoded` is given.
    pub bytes: std::sync::Arc<Vec<u8>>,
    /// The file already decoded in this process (by its upload check, see [`crate::decoded`]): used
    /// instead of decoding `bytes`.
    pub decoded: Option<std::sync::Arc<faceproof_engine::media::Decoded>>,
}

fn is_liveness_video(tags: &[String]) -> bool {
    tags.iter().any(|t| t.starts_with("video_selfie"))
}

pub(crate) fn is_document(tags: &[String]) -> bool {
    tags.iter().any(|t| t.starts_with("photo_id"))
}

/// Oz §5.1: Quality takes media tagged `video_selfie*` (videos, shots sets) and photos that are
/// not ID documents.
pub fn quality_takes(kind: MediaKind, tags: &[String]) -> bool {
    is_liveness_video(tags) || (kind == MediaKind::Image && !is_document(tags))
}

/// Oz §5.1: Biometry and Collection take every photo and video except an ID's back side.
pub fn biometry_takes(_kind: MediaKind, tags: &[String]) -> bool {
    !tags.iter().any(|t| t == "photo_id_back")
}

pub fn takes(t: AnalysisType, kind: MediaKind, tags: &[String]) -> bool {
    match t {
        AnalysisType::Quality => quality_takes(kind, tags),
        AnalysisType::Biometry | AnalysisType::Collection => biometry_takes(kind, tags),
        // Photos, and frame sets of a document; `order::select_media` keeps only the media
        // tagged `photo_id*` when the order has any.
        AnalysisType::Documents => {
            kind == MediaKind::Image || (kind == MediaKind::ShotsSet && is_document(tags))
        }
    }
}

/// The outcome of a DOCUMENTS analysis while the document models are not installed: a person has to
/// look at the document (OPERATOR_REQUIRED), `text_fields` is empty (the shape Oz's SDK reads),
/// and `status`/`message` say why. It never fails the job, so the folder's other analyses are
/// unaffected.
pub fn documents_not_supported(inputs: &[MediaInput]) -> Outcome {
    const MESSAGE: &str =
        "Document recognition is not available on this server yet; an operator has to check the document";
    Outcome {
        resolution_status: Resolution::OperatorRequired,
        results_media: inputs
            .iter()
            .map(|m| {
                serde_json::json!({
                    "source_media_id": m.media_id,
                    "resolution_status": Resolution::OperatorRequired,
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
    /// DOCUMENTS with no readable MRZ on any photo: OPERATOR_REQUIRED (default) or DECLINED
    /// (company setting `documents_unreadable`).
    pub documents_unreadable: Resolution,
}

/// What one analysis produced.
#[derive(Debug)]
pub struct Outcome {
    pub resolution_status: Resolution,
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

impl Default for Outcome {
    /// Nothing produced yet: each processor sets the resolution when it has looked at every media.
    fn default() -> Outcome {
        Outcome {
            resolution_status: Resolution::Processing,
            results_media: Vec::new(),
            results_data: Value::Null,
            best_shots: Vec::new(),
        }
    }
}

/// Why a job did not finish — a system error, not a verdict on the media — and whether running
/// it again may help. The queue ([`queue`]) retries the first kind with backoff (then gives up
/// with the last reason) and fails the analysis at once with the second.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Something that may pass: the database or the blob store unreachable or failing, the
    /// models not loaded, an external tool (ffmpeg) failing.
    #[error("{0}")]
    Retryable(String),
    /// Something no retry mends: the order no longer holds (a collection deleted since it was
    /// placed), a result that cannot be encoded.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    pub fn retryable(e: impl std::fmt::Display) -> JobError {
        JobError::Retryable(e.to_string())
    }

    pub fn permanent(e: impl std::fmt::Display) -> JobError {
        JobError::Permanent(e.to_string())
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, JobError::Retryable(_))
    }

    /// An API error met while running a job: server-side kinds (internal, an external service)
    /// may pass; any other says the request itself no longer holds.
    pub fn from_api(e: ApiError) -> JobError {
        match e.code {
            Code::Internal | Code::ExternalService => JobError::Retryable(e.message),
            _ => JobError::Permanent(e.message),
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> JobError {
        JobError::retryable(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn which_media_each_analysis_takes() {
        use MediaKind::{Image, Video};
        assert!(quality_takes(
            Video,
            &tags(&["video_selfie", "video_selfie_blank"])
        ));
        assert!(quality_takes(Image, &tags(&["photo_selfie"])));
        assert!(quality_takes(Image, &[]));
        assert!(!quality_takes(
            Image,
            &tags(&["photo_id", "photo_id_front"])
        ));
        assert!(!quality_takes(Video, &[]));
        assert!(biometry_takes(
            Image,
            &tags(&["photo_id", "photo_id_front"])
        ));
        assert!(!biometry_takes(
            Image,
            &tags(&["photo_id", "photo_id_back"])
        ));
    }

    #[test]
    fn only_server_side_api_errors_are_worth_a_retry() {
        assert!(JobError::from_api(ApiError::internal("database down")).is_retryable());
        assert!(!JobError::from_api(ApiError::value("collection gone")).is_retryable());
        assert!(JobError::from(sqlx::Error::PoolTimedOut).is_retryable());
    }
}
