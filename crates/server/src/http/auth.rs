//! `POST /api/authorize/auth` (login) and `POST /api/authorize/refresh`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{token_from, ApiJson};
use crate::app::AppState;
use crate::auth::passwords;
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::now_us;
use crate::store::sessions::NewTokens;
use crate::store::users::User;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/authorize/auth", post(login))
        .route("/api/authorize/refresh", post(refresh))
        .route(
            "/api/authorize/session_token",
            get(|| async {
                ApiError::new(
                    Code::NotRealized,
                    "Session tokens (OzCapsula) are not implemented",
                )
            }),
        )
}

/// The session TTL of a user: long-lived for CLIENT SERVICE.
pub fn ttl_for(state: &AppState, user: &User) -> (i64, i64) {
    if user.user_type.is_service() {
        let t = state.cfg.service_session_ttl_secs;
        (t, t)
    } else {
        (state.cfg.session_ttl_secs, state.cfg.refresh_ttl_secs)
    }
}

fn tokens_body(t: NewTokens, user: &User) -> Json<Value> {
    Json(json!({
        "access_token": t.access_token,
        "expire_token": t.expire_token,
        "expire_date": t.expire_date,
        "user": user,
    }))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let creds = body
        .get("credentials")
        .ok_or_else(|| ApiError::structure("Missing field: credentials"))?;
    let email = creds
        .get("email")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::structure("Missing field: credentials.email"))?;
    let password = creds
        .get("password")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::structure("Missing field: credentials.password"))?;
    let addr = peer.ip().to_string();
    if let Some(wait) = state.limiter.blocked(email, &addr) {
        return Err(ApiError::new(
            Code::TooManyAttempts,
            "Too many failed login attempts; try again later",
        )
        .with_details(json!({ "retry_after": wait })));
    }
    let user = state.store.user_by_email(email).await?;
    let ok = match &user {
        Some(u) => passwords::verify(password, &u.password_hash),
        None => {
            passwords::dummy_verify(password);
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        state.limiter.failed(email, &addr);
        tracing::info!(target: "faceproof::auth", "failed login from {addr}");
        return Err(ApiError::new(
            Code::AuthInvalid,
            "Invalid email or password",
        ));
    };
    if !user.is_active {
        return Err(ApiError::new(Code::Forbidden, "User is deactivated"));
    }
    state.limiter.succeeded(email, &addr);
    let (ttl, refresh_ttl) = ttl_for(&state, &user);
    let tokens = state
        .store
        .session_create(user.user_id, ttl, refresh_ttl, None)
        .await?;
    Ok(tokens_body(tokens, &user))
}

async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let expire_token = body
        .get("expire_token")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::structure(
                "Could not locate field for key_path expire_token from provided dict data",
            )
        })?;
    let session = state
        .store
        .session_by_refresh(expire_token)
        .await?
        .ok_or_else(|| ApiError::new(Code::AuthInvalid, "Session not found"))?;
    if session.refresh_expires_us < now_us() {
        state.store.session_delete(session.session_id).await?;
        return Err(ApiError::new(Code::AuthExpired, "Session expired"));
    }
    // The current access token, when sent, must belong to the same user (it may have expired).
    if let Some(token) = token_from(&headers) {
        if let Some(caller) = state.store.session_by_access(&token).await? {
            if caller.user.user_id != session.user.user_id {
                return Err(ApiError::new(
                    Code::Forbidden,
                    "You have not access to refresh this session",
                ));
            }
        }
    }
    if !session.user.is_active {
        return Err(ApiError::new(Code::Forbidden, "User is deactivated"));
    }
    let (ttl, refresh_ttl) = ttl_for(&state, &session.user);
    let tokens = state
        .store
        .session_create(
            session.user.user_id,
            ttl,
            refresh_ttl,
            Some(session.session_id),
        )
        .await?;
    Ok(tokens_body(tokens, &session.user))
}
