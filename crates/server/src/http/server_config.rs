//! `GET /api/config` (Oz API 5.2.0, "check the timezone settings"): the server's public
//! configuration — time zone, version, limits an uploader must respect, which optional parts are
//! on. No credentials and no per-company data, so it needs no token. Also the answer for Oz's
//! `GET /api/event_sessions`, whose shape is not published (documented as absent in
//! `docs/oz-compatibility.md`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::AnalysisType;
use crate::errors::{ApiError, Code};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/config", get(config))
        .route("/api/event_sessions", get(event_sessions))
}

async fn config(State(st): State<AppState>) -> Json<Value> {
    let cfg = &st.cfg;
    Json(json!({
        // Every time the API reports is a UNIX timestamp in UTC; the server keeps no local zone.
        "timezone": "UTC",
        "time_zone": "UTC",
        "utc_offset": 0,
        "version": env!("CARGO_PKG_VERSION"),
        "components": ["auth", "stateful", "stateless", "web_sdk"],
        "limits": {
            "max_files_per_folder": cfg.max_files_per_folder,
            "max_file_bytes": cfg.max_file_bytes,
            "max_request_bytes": cfg.max_request_bytes,
            "max_video_seconds": cfg.max_video_seconds,
            "max_shots": cfg.max_shots,
        },
        "analyses": AnalysisType::ALL,
        "extract_best_shot_default": true,
    }))
}

async fn event_sessions() -> ApiError {
    ApiError::new(
        Code::NotRealized,
        "GET /api/event_sessions is not available: its answer's shape is not published by Oz \
         (see docs/oz-compatibility.md)",
    )
}
