//! The engine's typed errors. Each variant is a distinct situation a caller can act on
//! (the server maps them to Oz error codes and HTTP statuses).

use std::fmt;

/// Result alias used across the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No face was detected where one was required.
    #[error("no face found")]
    NoFace,
    /// Several faces of comparable size (or, under a strict policy, any second face) were found
    /// where one subject was expected.
    #[error("{count} faces found where exactly one was expected")]
    MultipleFaces { count: usize },
    /// The frames of one video or shots set show more than one person: the face of some frames
    /// is not the best frame's.
    #[error("the face changes during the video: {frames} of {compared} compared frames show another person")]
    FaceChanged { frames: usize, compared: usize },
    /// The bytes are of a known kind but cannot be decoded (corrupt, truncated).
    #[error("unreadable {kind}: {reason}")]
    Unreadable { kind: MediaWord, reason: String },
    /// The bytes are of no format the engine reads.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),
    /// Over a configured limit (bytes, pixels, frames, duration).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The model pack is missing, incomplete or fails verification.
    #[error("model pack: {0}")]
    ModelPack(String),
    /// Inference failed inside a backend.
    #[error("inference: {0}")]
    Inference(String),
    /// A needed external tool (ffmpeg, npm, pip) is missing or failed.
    #[error("external tool: {0}")]
    Tool(String),
    /// The caller no longer wants the result (e.g. the client of an upload hung up).
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Which kind of media an [`EngineError::Unreadable`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaWord {
    Image,
    Video,
    Archive,
}

impl fmt::Display for MediaWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaWord::Image => "image",
            MediaWord::Video => "video",
            MediaWord::Archive => "archive",
        })
    }
}

impl EngineError {
    /// A stable machine-readable name for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::NoFace => "no_face",
            EngineError::MultipleFaces { .. } => "multiple_faces",
            EngineError::FaceChanged { .. } => "face_changed",
            EngineError::Unreadable { .. } => "unreadable",
            EngineError::UnsupportedFormat(_) => "unsupported_format",
            EngineError::TooLarge(_) => "too_large",
            EngineError::ModelPack(_) => "model_pack",
            EngineError::Inference(_) => "inference",
            EngineError::Tool(_) => "tool",
            EngineError::Io(_) => "io",
            EngineError::Cancelled => "cancelled",
        }
    }

    pub(crate) fn unreadable(kind: MediaWord, reason: impl fmt::Display) -> Self {
        EngineError::Unreadable {
            kind,
            reason: reason.to_string(),
        }
    }
    pub(crate) fn inference(reason: impl fmt::Display) -> Self {
        EngineError::Inference(reason.to_string())
    }
}
