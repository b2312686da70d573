//! tract (pure Rust) backend: always compiled, so a plain `cargo build` gives a working program.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::{Backend, LoadedModel, ModelSpec};
use crate::error::{EngineError, Result};

#[derive(Debug, Default, Clone, Copy)]
pub struct TractBackend;

struct TractModel {
    plan: Arc<TypedRunnableModel>,
    shape: [usize; 4],
}

impl Backend for TractBackend {
    fn name(&self) -> &'static str {
        "tract"
    }

    fn load(&self, path: &Path, spec: &ModelSpec) -> Result<Arc<dyn LoadedModel>> {
        let shape = spec.input.shape();
        let load = || -> TractResult<Arc<TypedRunnableModel>> {
            let mut model = tract_onnx::onnx().model_for_path(path)?;
            model.set_input_fact(0, f32::fact(shape).into())?;
            model.select_outputs_by_name(&spec.outputs)?;
            model.into_optimized()?.into_runnable()
        };
        let plan =
            load().map_err(|e| EngineError::ModelPack(format!("{}: {e:#}", path.display())))?;
        Ok(Arc::new(TractModel { plan, shape }))
    }
}

impl LoadedModel for TractModel {
    fn run(&self, input: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        let tensor = tract_ndarray::Array4::from_shape_vec(self.shape, input)
            .map_err(EngineError::inference)?
            .into_tensor();
        let outputs = self
            .plan
            .run(tvec!(tensor.into()))
            .map_err(EngineError::inference)?;
        outputs
            .iter()
            .map(|o| {
                let plain = o.try_as_plain_ram().map_err(EngineError::inference)?;
                plain
                    .as_slice::<f32>()
                    .map(|s| s.to_vec())
                    .map_err(EngineError::inference)
            })
            .collect()
    }
}
