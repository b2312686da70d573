//! `POST /api/authorize/auth` (login), `POST /api/authorize/refresh` (rotation with reuse
//! detection, see [`crate::store::sessions`]), and sign-out: `POST /api/authorize/logout` (this
//! session) and `POST /api/authorize/logout_all` (every session of the caller).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::client_addr::ClientAddr;
use super::{token_from, ApiJson};
use crate::app::AppState;
use crate::auth::{passwords, Actor};
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::now_us;
use crate::store::sessions::{NewTokens, Refresh};
use crate::store::users::User;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/authorize/auth", post(login))
        .route("/api/authorize/refresh", post(refresh))
        .route("/api/authorize/logout", post(logout))
        .route("/api/authorize/logout_all", post(logout_all))
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
    ClientAddr(client): ClientAddr,
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
    let addr = client.to_string();
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

/// Refresh needs both halves of the pair, as in Oz: the `expire_token` in the body and the
/// session's own access token in the header (it may have expired). The refresh token is spent; a
/// second use of it ends every session refreshed from the same login.
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
    let Some(access_token) = token_from(&headers) else {
        return Err(ApiError::new(
            Code::AuthNotProvided,
            "Refreshing needs the session's access token (X-Forensic-Access-Token)",
        ));
    };
    if !session.has_access_token(&access_token) {
        return Err(ApiError::new(
            Code::Forbidden,
            "You have not access to refresh this session",
        ));
    }
    if session.refresh_expires_us < now_us() {
        state.store.session_delete(session.session_id).await?;
        return Err(ApiError::new(Code::AuthExpired, "Session expired"));
    }
    if !session.user.is_active {
        return Err(ApiError::new(Code::Forbidden, "User is deactivated"));
    }
    let (ttl, refresh_ttl) = ttl_for(&state, &session.user);
    let reused = || {
        tracing::warn!(target: "faceproof::auth", "refresh token replayed: session family revoked");
        ApiError::new(
            Code::AuthInvalid,
            "This refresh token was already used; every session of this sign-in has been ended",
        )
    };
    if session.refreshed {
        state.store.session_revoke_family(session.family_id).await?;
        return Err(reused());
    }
    match state
        .store
        .session_refresh(&session, ttl, refresh_ttl)
        .await?
    {
        Refresh::Rotated(tokens) => Ok(tokens_body(tokens, &session.user)),
        Refresh::Reused => Err(reused()),
    }
}

/// Sign out: this session (and the sessions it was refreshed from) ends.
async fn logout(State(state): State<AppState>, actor: Actor) -> ApiResult<StatusCode> {
    let family = state.store.session_family(actor.session_id).await?;
    state.store.session_revoke_family(family).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign out everywhere: every session of the caller ends, this one included.
async fn logout_all(State(state): State<AppState>, actor: Actor) -> ApiResult<StatusCode> {
    state.store.session_revoke_user(actor.user_id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
