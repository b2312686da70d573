//! The server processes: `serve` (HTTP API, workers unless `workers = 0`) and `work` (workers
//! only). Both open the shared state, serve health and metrics on `metrics_listen` when set, and
//! on SIGTERM / Ctrl-C stop accepting and claiming, then drain within `shutdown_timeout_secs`
//! (see [`crate::ops::drain`]) and return, so the process exits 0.

use anyhow::Context;
use faceproof_engine::EngineOptions;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use super::{ops, router, PublicUrl};
use crate::app::{bootstrap_admin, build_state, shutdown, AppState};
use crate::config::Config;

/// Run the server until interrupted, then drain.
pub async fn serve(cfg: Config, engine: EngineOptions) -> anyhow::Result<()> {
    check(&cfg)?;
    let state = build_state(&cfg, engine).await?;
    let store = state.store.clone();
    bootstrap_admin(&store).await?;
    let listener = bind(&cfg.listen).await?;
    let workers = if cfg.workers > 0 {
        crate::analysis::queue::spawn_workers(&state, cfg.workers)
    } else {
        Vec::new()
    };
    crate::app::spawn_maintenance(&store);
    start_ops(&state).await?;
    let public = PublicUrl(cfg.public_url.clone());
    let app = router(state.clone())
        .layer(axum::Extension(public))
        .layer(axum::middleware::from_fn(ops::track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(ops::span_for)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                .on_failure(log_failure),
        )
        // Probes and scrapes: neither access-logged nor counted (a 503 from readiness is an
        // answer, not a server error), but they get a request id like everything else.
        .merge(ops::routes().with_state(state.clone()))
        .layer(axum::middleware::from_fn(ops::request_id));
    let app = NormalizePathLayer::trim_trailing_slash().layer(app);
    tracing::info!("listening on {}", listener.local_addr()?);
    banner(
        &cfg,
        format!(
            "faceproof API listening on http://{}",
            listener.local_addr()?
        ),
    );
    let life = state.life.clone();
    let limits = super::listener::ConnLimits::from_config(&cfg);
    let server = tokio::spawn(async move {
        super::listener::serve(listener, app, limits, async move { life.stopping().await }).await
    });
    crate::ops::drain(&state, Some(server), workers).await
}

/// Run analysis and webhook workers only (`faceproof worker`), until interrupted, then drain.
/// Any number of these may share one database (PostgreSQL for several machines) with the servers.
pub async fn work(mut cfg: Config, engine: EngineOptions) -> anyhow::Result<()> {
    cfg.workers = cfg.workers.max(1);
    check(&cfg)?;
    let state = build_state(&cfg, engine).await?;
    let workers = crate::analysis::queue::spawn_workers(&state, cfg.workers);
    start_ops(&state).await?;
    banner(
        &cfg,
        format!(
            "faceproof worker: {} analysis workers on {}",
            cfg.workers,
            crate::app::redact(&cfg.database_url())
        ),
    );
    crate::ops::drain(&state, None, workers).await
}

/// Settings checked before anything opens. Not in `config` nor `app`: the web plugin's rules live
/// in `web_sdk`, a service that reads both (the layout test keeps modules free of cycles).
fn check(cfg: &Config) -> anyhow::Result<()> {
    crate::web_sdk::check_config(cfg)
}

/// A start-up line for people on stderr; logged (INFO) instead when the log is JSON, so that
/// every line stays machine-readable.
fn banner(cfg: &Config, line: String) {
    match cfg.log_format {
        crate::config::LogFormat::Text => eprintln!("{line}"),
        crate::config::LogFormat::Json => tracing::info!("{line}"),
    }
}

async fn bind(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

/// Watch for the stop signal, and serve health and metrics on `metrics_listen` when set (until
/// the process ends: the drain stays observable there).
async fn start_ops(state: &AppState) -> anyhow::Result<()> {
    let life = state.life.clone();
    tokio::spawn(async move {
        shutdown().await;
        life.stop();
    });
    if let Some(addr) = &state.cfg.metrics_listen {
        let listener = bind(addr).await?;
        banner(
            &state.cfg,
            format!(
                "faceproof metrics and health on http://{}",
                listener.local_addr()?
            ),
        );
        let app = ops::dedicated(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("the metrics listener stopped: {e}");
            }
        });
    }
    Ok(())
}

/// 5xx answers are logged at ERROR except 501 (an endpoint or mode this server does not offer is
/// the client's choice, not a fault); connection errors at WARN.
fn log_failure(
    class: tower_http::classify::ServerErrorsFailureClass,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    use tower_http::classify::ServerErrorsFailureClass::*;
    match class {
        StatusCode(code) if code == axum::http::StatusCode::NOT_IMPLEMENTED => {
            tracing::debug!(?latency, "answered 501 Not Implemented")
        }
        StatusCode(code) => tracing::error!(%code, ?latency, "server error"),
        Error(e) => tracing::warn!(?latency, "request failed: {e}"),
    }
}
