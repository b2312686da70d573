//! The one door to the engine for everything async: the models are loaded once per process, on
//! first use (so a server that never analyses starts in milliseconds), and every call runs on
//! tokio's blocking pool under a semaphore of `inference_threads` permits. Workers, single
//! requests, Instant, collections and Lite all queue here, so a burst of analyses can never take
//! the threads that serve HTTP.
//!
//! Memory is bounded by a second gate, the process's decode permits (`max_parallel_decodes`,
//! see [`decode_permit`]): every engine run holds one for its whole length (its frames live that
//! long), and so does every upload validation ([`crate::uploads::prepare`]). At most that many
//! media are therefore decoded at once in a process, whatever mix of requests arrives; the
//! arithmetic of the resulting bound is in [`crate::config`].
//!
//! The engine's media limits come from the configuration, and its videos are written to this
//! process's part of the data directory's temporary area ([`Scratch`]), cleaned at start-up.

use std::sync::{Arc, OnceLock};

use faceproof_engine::media::Limits;
use faceproof_engine::{Engine, EngineOptions};
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

use crate::blobs::scratch::Scratch;
use crate::config::Config;
use crate::errors::{ApiError, Code};

pub struct Inference {
    options: EngineOptions,
    engine: OnceCell<Arc<Engine>>,
    permits: Semaphore,
    scratch: Scratch,
    /// A background load started by [`Inference::readiness`] is under way.
    warming: std::sync::atomic::AtomicBool,
    /// Why the last load failed (readiness reports it; the next probe tries again).
    load_error: std::sync::Mutex<Option<String>>,
}

/// Whether the models are there for the readiness probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    Loaded,
    Loading,
    Failed(String),
}

/// The process's decode permits, sized by the first [`Inference::new`] (2 before that).
static DECODES: OnceLock<Semaphore> = OnceLock::new();

fn decodes(slots: usize) -> &'static Semaphore {
    DECODES.get_or_init(|| Semaphore::new(slots.max(1)))
}

/// This process's temporary directory, once an [`Inference`] has opened it.
static TEMP_DIR: OnceLock<std::path::PathBuf> = OnceLock::new();

/// This process's part of the temporary area (the area's root before any [`Inference`] exists,
/// as in unit tests): where videos are written for ffmpeg and large uploads are spooled.
pub fn scratch_dir(cfg: &Config) -> std::path::PathBuf {
    TEMP_DIR.get().cloned().unwrap_or_else(|| cfg.temp_dir())
}

/// The media limits of upload validation: the configured ones, with this process's temporary
/// directory ([`scratch_dir`]).
pub fn upload_limits(cfg: &Config) -> Limits {
    Limits {
        temp_dir: Some(scratch_dir(cfg)),
        ..cfg.media_limits()
    }
}

/// Wait for one of the process's `max_parallel_decodes` permits; hold it while decoded pixels
/// live.
pub async fn decode_permit() -> Result<SemaphorePermit<'static>, ApiError> {
    decodes(2).acquire().await.map_err(ApiError::internal)
}

impl Inference {
    /// The engine options with the configured media limits; opens (and cleans) the temporary area.
    pub fn new(mut options: EngineOptions, cfg: &Config) -> std::io::Result<Self> {
        let scratch = Scratch::open(&cfg.temp_dir())?;
        options.limits = Limits {
            // Stored media passed `max_file_bytes` at upload; a later, lower setting must not make
            // them unreadable.
            max_bytes: Limits::default().max_bytes.max(cfg.max_file_bytes),
            temp_dir: Some(scratch.path().to_path_buf()),
            ..cfg.media_limits()
        };
        decodes(cfg.max_parallel_decodes);
        let _ = TEMP_DIR.set(scratch.path().to_path_buf());
        Ok(Inference {
            options,
            engine: OnceCell::new(),
            permits: Semaphore::new(cfg.inference_threads.max(1)),
            scratch,
            warming: Default::default(),
            load_error: Default::default(),
        })
    }

    /// This process's temporary directory (videos written for ffmpeg).
    pub fn temp_dir(&self) -> &std::path::Path {
        self.scratch.path()
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
                        *self.load_error.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(e.to_string());
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

    /// Run `work` with the engine on a blocking thread, waiting for a free inference slot and a
    /// decode permit first. `operation` names the call in the `faceproof_inference_seconds`
    /// metric (each operation runs a fixed set of models, so its time is theirs).
    pub async fn run<R, F>(&self, operation: &'static str, work: F) -> Result<R, ApiError>
    where
        F: FnOnce(&Engine) -> R + Send + 'static,
        R: Send + 'static,
    {
        let engine = self.engine().await?;
        let asked = std::time::Instant::now();
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let _decode = decode_permit().await?;
        let started = std::time::Instant::now();
        let backend = engine.backend();
        let out = tokio::task::spawn_blocking(move || work(&engine))
            .await
            .map_err(ApiError::internal)?;
        crate::telemetry::inference(operation, backend, started - asked, started.elapsed());
        Ok(out)
    }

    /// For the readiness probe: loaded, loading (a background load is started by the first
    /// probe, so a server that is never probed still loads lazily), or the last load's error.
    pub fn readiness(self: &Arc<Self>) -> ModelState {
        use std::sync::atomic::Ordering;
        if self.engine.get().is_some() {
            return ModelState::Loaded;
        }
        if !self.warming.swap(true, Ordering::SeqCst) {
            let me = self.clone();
            tokio::spawn(async move {
                if me.engine().await.is_ok() {
                    *me.load_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                }
                me.warming.store(false, Ordering::SeqCst);
            });
        }
        match self
            .load_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            Some(e) => ModelState::Failed(e),
            None => ModelState::Loading,
        }
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

    /// The running pack as `/api/version` and Lite `/version` report it: id, and per model its
    /// file, source package and version, and digests (as published and as installed).
    pub fn pack_versions(&self) -> serde_json::Value {
        let pack = &self.options.pack;
        let models: serde_json::Map<String, serde_json::Value> = pack
            .models
            .iter()
            .map(|(role, spec)| {
                let src = pack.source_of(*role).unwrap_or(&pack.source);
                let key = serde_json::to_value(role)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                (
                    key,
                    serde_json::json!({
                        "file": spec.file,
                        "package": format!("{}:{}", src.registry, src.package),
                        "version": src.version,
                        "sha256": spec.sha256,
                        "installed_sha256": spec.expected_installed_sha256(),
                    }),
                )
            })
            .collect();
        serde_json::json!({
            "id": pack.id,
            "embedding_flip": self.options.flip_augmentation,
            "models": models,
        })
    }
}
