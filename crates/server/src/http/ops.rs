//! Operations over HTTP: `GET /health/live`, `GET /health/ready`, `GET /metrics` (guarded), the
//! router of the dedicated `metrics_listen` address, and the per-request layers: request ids
//! (`x-request-id` taken when well-formed, else made; echoed on the answer and put on the log
//! span) and request metrics by route template.
//!
//! `/metrics` on the API address exists only when `metrics_token` is set (and then needs
//! `Authorization: Bearer <token>`); on `metrics_listen` it is open unless the token is set.
//! Without either setting it is not exposed at all (an unknown endpoint, 404).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::app::AppState;
use crate::errors::{ApiError, Code};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Health and metrics on the API address.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics_on_api))
}

/// The whole router of `metrics_listen`: health and metrics only.
pub fn dedicated(state: AppState) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics_dedicated))
        .fallback(|| async { ApiError::new(Code::NotFound, "Unknown endpoint") })
        .with_state(state)
}

/// The process is up and its runtime answers (nothing else is checked: a liveness failure
/// restarts the process, which would not help a database outage).
async fn live() -> Response {
    no_store(Json(json!({"status": "alive"})).into_response())
}

/// 200 when every check passes, 503 otherwise; the body names each check.
async fn ready(State(st): State<AppState>) -> Response {
    let (ok, body) = crate::ops::readiness(&st).await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    no_store((status, Json(body)).into_response())
}

async fn metrics_on_api(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if st.cfg.metrics_token.is_none() {
        return ApiError::new(Code::NotFound, "Unknown endpoint").into_response();
    }
    metrics(&st, &headers).await
}

async fn metrics_dedicated(State(st): State<AppState>, headers: HeaderMap) -> Response {
    metrics(&st, &headers).await
}

async fn metrics(st: &AppState, headers: &HeaderMap) -> Response {
    if let Some(expected) = &st.cfg.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match given {
            None => {
                return ApiError::new(
                    Code::AuthNotProvided,
                    "Authentication credentials were not provided (Authorization: Bearer)",
                )
                .into_response()
            }
            Some(g) if !same(g.as_bytes(), expected.as_bytes()) => {
                return ApiError::new(Code::AuthInvalid, "Invalid metrics token").into_response()
            }
            Some(_) => {}
        }
    }
    let text = crate::ops::scrape(st).await;
    no_store(
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
    )
}

/// Equal without an early exit (the token's bytes are not timed out one by one).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The id of a request (see the module doc).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// A client's id is kept when it is 1–128 characters of `[A-Za-z0-9._:-]` (nothing that could
/// forge a log line or carry data); otherwise a UUID is made.
fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Outermost per-request layer: the request id, on the request (for the log span) and the answer.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

/// The route template a request matched (`unmatched` for the fallback): never the raw path,
/// whose ids would make one time series per folder.
fn route_of(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string())
}

/// A closed set of methods for labels (anything else is `other`).
fn method_of(req: &Request) -> &'static str {
    use axum::http::Method;
    match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request by method, route template and status.
pub async fn track(req: Request, next: Next) -> Response {
    let (method, route) = (method_of(&req), route_of(&req));
    let started = Instant::now();
    let response = next.run(req).await;
    crate::telemetry::http_request(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The log span of a request: its id, method and route template (no query string, no headers).
pub fn span_for(req: &Request) -> tracing::Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map_or("", |r| r.0.as_str());
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %method_of(req),
        route = %route_of(req),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_ids_are_kept_only_when_harmless() {
        assert!(acceptable("abc-123_x.y:z"));
        assert!(acceptable(&"a".repeat(128)));
        assert!(!acceptable(&"a".repeat(129)));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("a\"}\n{"));
        assert!(same(b"token", b"token"));
        assert!(!same(b"token", b"tokem"));
        assert!(!same(b"token", b"token1"));
    }
}
