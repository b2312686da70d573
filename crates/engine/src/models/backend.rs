//! The inference interface: a backend loads a model file into something that maps one input
//! tensor to its named outputs. Batch 1, f32, planar (NCHW).

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ModelSpec;
use crate::error::Result;

/// A loaded model, shared by every worker thread.
pub trait LoadedModel: Send + Sync {
    /// Run the model on one input (shape from the spec) and return the outputs, flattened, in the
    /// order of `ModelSpec::outputs`.
    fn run(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>>;
}

/// An inference engine able to load ONNX files.
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    fn load(&self, path: &Path, spec: &ModelSpec) -> Result<Arc<dyn LoadedModel>>;
}

/// Which backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// ONNX Runtime when its library is installed, otherwise tract.
    #[default]
    Auto,
    /// tract (pure Rust): always available.
    Tract,
    /// ONNX Runtime (the library from the pinned PyPI wheel); an error when it is missing.
    Ort,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(BackendChoice::Auto),
            "tract" => Ok(BackendChoice::Tract),
            "ort" | "onnxruntime" => Ok(BackendChoice::Ort),
            other => Err(format!("unknown backend {other:?}: use auto, tract or ort")),
        }
    }
}
