//! The HTTP server process: open the shared state, start the workers, bind, serve the API until
//! Ctrl-C / SIGTERM (in-flight requests finish).

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::Request;
use axum::ServiceExt;
use faceproof_engine::EngineOptions;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

use super::{router, PublicUrl};
use crate::app::{bootstrap_admin, build_state, shutdown};
use crate::config::Config;

/// Run the server until interrupted.
pub async fn serve(cfg: Config, engine: EngineOptions) -> anyhow::Result<()> {
    let state = build_state(&cfg, engine).await?;
    let store = state.store.clone();
    bootstrap_admin(&store).await?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    if cfg.workers > 0 {
        crate::analysis::queue::spawn_workers(&state, cfg.workers);
    }
    crate::app::spawn_maintenance(&store);
    let public = PublicUrl(cfg.public_url.clone());
    let app = router(state)
        .layer(axum::Extension(public))
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(log_failure));
    let app = NormalizePathLayer::trim_trailing_slash().layer(app);
    tracing::info!("listening on {}", listener.local_addr()?);
    eprintln!(
        "faceproof API listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(
        listener,
        ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .context("serving")?;
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
