//! Models: the pack manifest (which files, their digests, their input layout), installing and
//! verifying a pack, and the inference [`Backend`]s. Nothing above this module knows which
//! backend runs a model.

mod backend;
mod dequantize;
mod install;
mod manifest;
mod ort_backend;
mod tract_backend;

pub use backend::{Backend, BackendChoice, LoadedModel};
pub use dequantize::{dequantize_weights, Dequantized};
pub use install::{
    default_models_dir, fetch_onnxruntime, flush_denormals, install_pack, npm_pack_spec,
    onnxruntime_library, verify_pack, InstallReport, OnnxRuntimePin, ONNXRUNTIME_PIN,
};
pub use manifest::{EmbeddingSpec, InputSpec, ModelSpec, PackManifest, PackSource, Role};
pub use ort_backend::OrtBackend;
pub use tract_backend::TractBackend;
