//! What an operator's tooling asks a process, and how it stops:
//!
//! - [`readiness`]: database reachable, models loaded, media store reachable, queue not stalled,
//!   not shutting down — each check named in a small JSON body;
//! - [`scrape`]: the Prometheus text of `/metrics` — what [`crate::telemetry`] recorded plus the
//!   values read at scrape time (queue depth and oldest wait from the jobs table, photos per
//!   collection, models loaded, resident memory);
//! - [`drain`]: after SIGTERM, in-flight requests and running jobs get `shutdown_timeout_secs`;
//!   then the jobs still running are stopped and their leases released, so another process (or
//!   this one restarted) runs them from the start — nothing is lost, and the idempotent job steps
//!   make nothing happen twice.
//!
//! Serving these over HTTP is `crate::http`'s part.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::inference::ModelState;

/// How long one readiness check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// `(ready, body)`: the body names every check with `ok` or why not. Failure details go to the
/// log, not the body (a database error may name hosts and users).
pub async fn readiness(st: &AppState) -> (bool, Value) {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    let mut put = |name: &str, result: Result<(), String>| {
        ready &= result.is_ok();
        checks.insert(
            name.into(),
            json!(result.err().unwrap_or_else(|| "ok".into())),
        );
    };
    put(
        "shutdown",
        if st.life.is_stopping() {
            Err("stopping".into())
        } else {
            Ok(())
        },
    );
    let db = tokio::time::timeout(CHECK_TIMEOUT, st.store.ping()).await;
    put(
        "database",
        match db {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!("readiness: database: {e}");
                Err("unreachable".into())
            }
            Err(_) => Err("timed out".into()),
        },
    );
    put(
        "models",
        match st.inference.readiness() {
            ModelState::Loaded => Ok(()),
            ModelState::Loading => Err("loading".into()),
            ModelState::Failed(e) => {
                tracing::warn!("readiness: models: {e}");
                Err("failed to load".into())
            }
        },
    );
    let blobs = tokio::time::timeout(CHECK_TIMEOUT, st.blobs.check()).await;
    put(
        "media_store",
        match blobs {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!("readiness: media store: {e}");
                Err("unreachable".into())
            }
            Err(_) => Err("timed out".into()),
        },
    );
    put("queue", queue_check(st).await);
    let status = if ready { "ready" } else { "not ready" };
    (ready, json!({ "status": status, "checks": checks }))
}

/// A process that runs workers is not ready while an analysis has waited (runnable) longer than
/// `queue_stall_secs`: its workers are stuck or far too few. A process without workers does not
/// judge the queue (it cannot help it, and taking every API server out of rotation would not).
async fn queue_check(st: &AppState) -> Result<(), String> {
    if st.cfg.workers == 0 || st.cfg.queue_stall_secs == 0 {
        return Ok(());
    }
    let stats = match tokio::time::timeout(CHECK_TIMEOUT, st.store.queue_stats()).await {
        Ok(Ok(s)) => s,
        // The database check reports this already.
        _ => return Ok(()),
    };
    let limit = st.cfg.queue_stall_secs as i64 * 1_000_000;
    match stats
        .iter()
        .find(|s| s.kind == "analysis" && s.oldest_wait_us > limit)
    {
        Some(s) => Err(format!(
            "stalled: an analysis has waited {} s",
            s.oldest_wait_us / 1_000_000
        )),
        None => Ok(()),
    }
}

/// The whole `/metrics` answer.
pub async fn scrape(st: &AppState) -> String {
    let mut out = crate::telemetry::render_recorded();
    let mut gauge = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    match st.store.queue_stats().await {
        Ok(stats) => {
            let mut depth = Vec::new();
            let mut wait = Vec::new();
            for kind in ["analysis", "webhook"] {
                let s = stats
                    .iter()
                    .find(|s| s.kind == kind)
                    .cloned()
                    .unwrap_or_default();
                depth.push((
                    format!("{{kind=\"{kind}\",state=\"queued\"}}"),
                    s.queued as f64,
                ));
                depth.push((
                    format!("{{kind=\"{kind}\",state=\"running\"}}"),
                    s.running as f64,
                ));
                wait.push((
                    format!("{{kind=\"{kind}\"}}"),
                    s.oldest_wait_us as f64 / 1e6,
                ));
            }
            gauge(
                "faceproof_queue_jobs",
                "Jobs in the shared queue (every process reports the same database: aggregate with max)",
                &depth,
            );
            gauge(
                "faceproof_queue_oldest_wait_seconds",
                "How long the oldest runnable queued job has waited",
                &wait,
            );
        }
        Err(e) => tracing::warn!("metrics: reading the queue: {e}"),
    }
    match st.store.collection_sizes().await {
        Ok(sizes) => {
            let samples: Vec<_> = sizes
                .iter()
                .map(|(id, n)| (format!("{{collection_id=\"{id}\"}}"), *n as f64))
                .collect();
            gauge(
                "faceproof_collection_photos",
                "Photos enrolled per collection (the 1:N index size; ids only)",
                &samples,
            );
        }
        Err(e) => tracing::warn!("metrics: reading collection sizes: {e}"),
    }
    let loaded = st.inference.loaded_backend().is_some();
    gauge(
        "faceproof_models_loaded",
        "1 when this process has loaded the face models",
        &[(String::new(), if loaded { 1.0 } else { 0.0 })],
    );
    gauge(
        "faceproof_workers",
        "Analysis workers configured in this process",
        &[(String::new(), st.cfg.workers as f64)],
    );
    if let Some(rss) = crate::telemetry::resident_bytes() {
        gauge(
            "process_resident_memory_bytes",
            "Resident memory of this process",
            &[(String::new(), rss as f64)],
        );
    }
    gauge(
        "faceproof_build_info",
        "The running version",
        &[(
            format!("{{version=\"{}\"}}", env!("CARGO_PKG_VERSION")),
            1.0,
        )],
    );
    out
}

/// Wait for SIGTERM (the stop flag), then drain: `server` (the HTTP server, already told to stop
/// accepting by the same flag) and `workers` (which stop claiming) get `shutdown_timeout_secs`
/// together. Past that, the workers are stopped and this process's running jobs are released.
/// An error of the server before any signal is returned as it is.
pub async fn drain(
    st: &AppState,
    server: Option<JoinHandle<std::io::Result<()>>>,
    workers: Vec<JoinHandle<()>>,
) -> anyhow::Result<()> {
    let mut server = server;
    match server.as_mut() {
        Some(handle) => {
            tokio::select! {
                biased;
                _ = st.life.stopping() => {}
                r = handle => {
                    // The server's graceful shutdown waits on the same flag, so it may end
                    // before this task sees the flag: that is a stop, and the drain goes on.
                    if !st.life.is_stopping() {
                        return Ok(r??);
                    }
                    if let Ok(Err(e)) = r {
                        tracing::warn!("the HTTP server ended with an error: {e}");
                    }
                    server = None;
                }
            }
        }
        None => st.life.stopping().await,
    }
    let deadline = Duration::from_secs(st.cfg.shutdown_timeout_secs);
    tracing::info!(
        deadline_secs = deadline.as_secs(),
        "stopping: no new connections or jobs; waiting for requests and running jobs"
    );
    let mut workers = workers;
    let mut server = server;
    let everything = async {
        if let Some(s) = server.as_mut() {
            match s.await {
                Ok(Err(e)) => tracing::warn!("the HTTP server ended with an error: {e}"),
                Err(e) => tracing::warn!("the HTTP server task failed: {e}"),
                Ok(Ok(())) => {}
            }
        }
        for w in workers.iter_mut() {
            if let Err(e) = w.await {
                tracing::error!("a worker task failed: {e}");
            }
        }
    };
    if tokio::time::timeout(deadline, everything).await.is_ok() {
        tracing::info!("every request answered and every running job finished");
    } else {
        // Stop the workers still running and wait until they are gone (they end at their next
        // await), so none of them writes after its job is handed back.
        for w in &workers {
            w.abort();
        }
        for w in workers.iter_mut().filter(|w| !w.is_finished()) {
            let _ = w.await;
        }
    }
    // Also after a clean drain: a job left `running` by a worker that failed goes back too.
    let prefix = crate::analysis::queue::worker_prefix();
    match st.store.jobs_release(&prefix).await {
        Ok(0) => {}
        Ok(n) => {
            crate::telemetry::jobs_released(n);
            tracing::warn!(
                released = n,
                "shutdown deadline passed: running jobs handed back to the queue"
            );
        }
        Err(e) => tracing::error!(
            "releasing this process's jobs: {e} (their leases run out after job_lease_secs instead)"
        ),
    }
    Ok(())
}
