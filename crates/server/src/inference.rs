//! The one door to the engine for everything async: the models are loaded once per process, on
//! first use (so a server that never analyses starts in milliseconds), and every call runs on
//! tokio's blocking pool under a semaphore of `inference_threads` permits. Workers, single
//! requests, Instant, collections and Lite all queue here, so a burst of analyses can never take
//! the threads that serve HTTP.

use std::sync::Arc;

use faceproof_engine::{Engine, EngineOptions};
use tokio::sync::{OnceCell, Semaphore};

use crate::errors::{ApiError, Code};

pub struct Inference {
    options: EngineOptions,
    engine: OnceCell<Arc<Engine>>,
    permits: Semaphore,
}

impl Inference {
    pub fn new(options: EngineOptions, threads: usize) -> Self {
        Inference {
            options,
            engine: OnceCell::new(),
            permits: Semaphore::new(threads.max(1)),
        }
    }

    /// The loaded engine (loading it on first call).
    pub async fn engine(&self) -> Result<Arc<Engine>, ApiError> {
        self.engine
            .get_or_try_init(|| async {
                let options = self.options.clone();
                let engine = tokio::task::spawn_blocking(move || Engine::load(options))
                    .await
                    .map_err(ApiError::internal)?
                    .map_err(|e| {
                        tracing::error!("loading the models: {e}");
                        ApiError::new(
                            Code::ExternalService,
                            format!("The face models could not be loaded: {e}"),
                        )
                    })?;
                tracing::info!(backend = engine.backend(), "face models loaded");
                Ok(Arc::new(engine))
            })
            .await
            .cloned()
    }

    /// Run `work` with the engine on a blocking thread, waiting for a free inference slot first.
    pub async fn run<R, F>(&self, work: F) -> Result<R, ApiError>
    where
        F: FnOnce(&Engine) -> R + Send + 'static,
        R: Send + 'static,
    {
        let engine = self.engine().await?;
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || work(&engine))
            .await
            .map_err(ApiError::internal)
    }

    /// The backend running the models, once they are loaded (by any caller).
    pub fn loaded_backend(&self) -> Option<&'static str> {
        self.engine.get().map(|e| e.backend())
    }

    /// Identifier of the model pack (for templates and `/version`).
    pub fn pack_id(&self) -> &str {
        &self.options.pack.id
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }
}
