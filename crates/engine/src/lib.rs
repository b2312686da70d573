//! faceproof-engine: everything that turns image and video bytes into face measurements.
//!
//! The engine is synchronous and `Send + Sync`: models are loaded once by [`Engine::load`] and
//! shared by every caller. It knows nothing of HTTP or databases; the server and the CLI wrap it.
//!
//! Modules, in the order one photo travels through them:
//! - [`media`]: bytes → frames (images with EXIF orientation, videos via ffmpeg, ZIP archives of frames).
//! - [`models`]: the model pack (manifest, install, verify) and the inference [`models::Backend`]s.
//! - [`face`]: detect → landmarks → align → embed, liveness, pose, eyes, expression.
//! - [`quality`], [`gesture`], [`best_shot`]: scores computed from per-frame face results;
//!   [`depth`]: whether a moving head moved as a flat object (landmarks under one homography).
//! - [`calibration`]: similarity → confidence, thresholds ↔ false-accept rates.
//! - [`eval`]: ROC, TAR@FAR, EER, APCER/BPCER/ACER.
//! - [`document`]: ID documents — the MRZ found, read and checked (ICAO 9303), the portrait.
//! - [`search`]: the exact SIMD 1:N index over embeddings (blacklist collections).

pub mod best_shot;
pub mod calibration;
pub mod depth;
pub mod document;
pub mod engine;
pub mod error;
pub mod eval;
pub mod face;
pub mod gesture;
pub mod imageops;
pub mod media;
pub mod models;
pub mod quality;
pub mod search;
pub mod template;

pub use engine::{
    aggregate_liveness, AnalyzeOptions, DocumentReport, Engine, EngineOptions, FacePolicy,
    FaceReport, FrameReport, ImageReport, LivenessAggregate, MediaReport, Portrait, SharedEngine,
    VideoReport, BYSTANDER_WIDTH_RATIO, IDENTITY_SAMPLE, LIVENESS_MIN_FRAMES,
};
pub use error::{EngineError, Result};
