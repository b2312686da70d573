//! ONNX Runtime backend, loading `libonnxruntime.so` at run time (ort's `load-dynamic`): the
//! library comes from the pinned PyPI wheel (see [`super::fetch_onnxruntime`]), never from a
//! download of ort's own. One intra-op thread per session; sessions are pooled because running a
//! session needs exclusive access, so concurrent workers each take one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;

use super::{Backend, LoadedModel, ModelSpec};
use crate::error::{EngineError, Result};

/// The process-wide ONNX Runtime environment, initialised once from a library path and kept
/// alive for the life of the process (sessions refer to it).
static ENVIRONMENT: OnceLock<std::result::Result<(Environment, PathBuf), String>> = OnceLock::new();

#[derive(Clone)]
pub struct OrtBackend {
    environment: Environment,
}

impl OrtBackend {
    /// Load ONNX Runtime from `library` (once per process; later calls reuse the first library).
    pub fn new(library: &Path) -> Result<OrtBackend> {
        let outcome = ENVIRONMENT.get_or_init(|| {
            let init = ort::init_from(library).map_err(|e| e.to_string())?;
            let environment = init.build().map_err(|e| e.to_string())?;
            Ok((environment, library.to_path_buf()))
        });
        match outcome {
            Ok((environment, _)) => Ok(OrtBackend {
                environment: environment.clone(),
            }),
            Err(e) => Err(EngineError::ModelPack(format!(
                "cannot load ONNX Runtime from {}: {e}",
                library.display()
            ))),
        }
    }
}

struct OrtModel {
    environment: Environment,
    bytes: Arc<Vec<u8>>,
    pool: Mutex<Vec<Session>>,
    shape: [usize; 4],
    outputs: Vec<String>,
}

fn new_session(environment: &Environment, bytes: &[u8]) -> Result<Session> {
    let builder = Session::builder(environment).map_err(EngineError::inference)?;
    let mut builder = builder
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| EngineError::inference(e.to_string()))?
        .with_intra_threads(1)
        .map_err(|e| EngineError::inference(e.to_string()))?;
    builder
        .commit_from_memory(bytes)
        .map_err(|e| EngineError::inference(e.to_string()))
}

impl Backend for OrtBackend {
    fn name(&self) -> &'static str {
        "ort"
    }

    fn load(&self, path: &Path, spec: &ModelSpec) -> Result<Arc<dyn LoadedModel>> {
        let bytes = Arc::new(std::fs::read(path)?);
        // Build one session now so a broken file fails at load time, not on the first request.
        let first = new_session(&self.environment, &bytes)
            .map_err(|e| EngineError::ModelPack(format!("{}: {e}", path.display())))?;
        Ok(Arc::new(OrtModel {
            environment: self.environment.clone(),
            bytes,
            pool: Mutex::new(vec![first]),
            shape: spec.input.shape(),
            outputs: spec.outputs.clone(),
        }))
    }
}

impl LoadedModel for OrtModel {
    fn run(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        let pooled = self.pool.lock().expect("session pool poisoned").pop();
        let mut session = match pooled {
            Some(s) => s,
            None => new_session(&self.environment, &self.bytes)?,
        };
        let result = (|| {
            let tensor = Tensor::from_array((self.shape, input)).map_err(EngineError::inference)?;
            let outputs = session
                .run(ort::inputs![tensor])
                .map_err(EngineError::inference)?;
            self.outputs
                .iter()
                .map(|name| {
                    let value = outputs.get(name).ok_or_else(|| {
                        EngineError::inference(format!("model has no output {name:?}"))
                    })?;
                    let (_, data) = value
                        .try_extract_tensor::<f32>()
                        .map_err(EngineError::inference)?;
                    Ok(data.to_vec())
                })
                .collect::<Result<Vec<_>>>()
        })();
        self.pool
            .lock()
            .expect("session pool poisoned")
            .push(session);
        result
    }
}
