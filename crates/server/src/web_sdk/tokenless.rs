//! `OzLiveness.open(…)` without a session token. Oz documents the token as optional: its Web
//! Adapter signs in to the API with its own service account, so pages open the plugin with
//! `{lang, action, meta, on_complete…}` only. Here a company opts in with the plugin setting
//! `web_sdk.require_session_token: false`; then a page of one of the origins its
//! `web_sdk.allowed_origins` names explicitly (a `*` entry never counts) starts a session
//! without a token, acting as the company's (first) CLIENT SERVICE user.
//!
//! The risk, stated in docs/web-sdk.md: anyone who can run script on an allowed origin — or
//! forge an `Origin` header outside a browser — can start sessions and spend the company's
//! analyses; the results are not bound to a signed-in person. So these starts are limited per
//! origin and client address (`web_sdk_tokenless_per_minute`), and the backend must treat a
//! tokenless verdict as a claim to check: find the folder by the `transaction_id` it gave the
//! page (`GET /api/folders/?meta_data=transaction_id==…`) and check its origin and time.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::policy::Scope;
use crate::auth::{tokens, Role};
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::users::ListFilter;
use crate::store::web_sdk::WebSdkSession;

/// The start times of recent tokenless sessions per (origin, client address).
type Starts = HashMap<(String, IpAddr), VecDeque<Instant>>;

/// Recent tokenless starts, for the per-minute limit. Kept per process: behind several
/// processes the limit applies in each.
fn recent() -> &'static Mutex<Starts> {
    static RECENT: OnceLock<Mutex<Starts>> = OnceLock::new();
    RECENT.get_or_init(Default::default)
}

/// Count one start of `origin` from `addr`; 429 (error 9) over `per_minute` in the last minute.
fn rate_limit(origin: &str, addr: IpAddr, per_minute: u32) -> ApiResult<()> {
    let now = Instant::now();
    let window = Duration::from_secs(60);
    let mut map = recent().lock().unwrap_or_else(|e| e.into_inner());
    map.retain(|_, times| {
        times
            .back()
            .is_some_and(|t| now.duration_since(*t) < window)
    });
    let times = map.entry((origin.to_string(), addr)).or_default();
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
    if times.len() >= per_minute as usize {
        return Err(ApiError::new(
            Code::TooManyAttempts,
            "Too many plugin sessions without a session token from this page and address; try again in a minute",
        )
        .with_details(json!({"reason": "rate_limited"})));
    }
    times.push_back(now);
    Ok(())
}

/// A session for a page that sent no token: the one company that allows `origin` tokenless, as
/// its CLIENT SERVICE user. No such company → the usual "session_token is required" (3); two
/// → 4 (the page must send a token); no service user → 9.
pub async fn start_without_token(
    st: &AppState,
    origin: &str,
    addr: IpAddr,
) -> ApiResult<WebSdkSession> {
    let origin = super::normalize_origin(origin).unwrap_or_default();
    let mut companies = Vec::new();
    for (company, stored) in st.store.companies_settings().await? {
        let s = super::settings(&st.cfg, &stored);
        if !s.require_session_token && s.allowed_origins.contains(&origin) {
            companies.push(company);
        }
    }
    let company: Uuid = match companies.as_slice() {
        [] => return Err(ApiError::structure("session_token is required")),
        [one] => *one,
        _ => {
            return Err(ApiError::value(
                "Several companies run the plugin without a session token on this origin; send a session_token",
            ))
        }
    };
    rate_limit(&origin, addr, st.cfg.web_sdk_tokenless_per_minute)?;
    let filter = ListFilter {
        scope: Scope::Company(company),
        company_id: Some(company),
        user_type: Some(Role::ClientService),
        search_text: None,
        offset: 0,
        limit: 100,
    };
    let (users, _) = st.store.user_list(&filter).await?;
    let service = users.into_iter().find(|u| u.is_active).ok_or_else(|| {
        ApiError::new(
            Code::Forbidden,
            "The company runs the plugin without a session token but has no active CLIENT SERVICE user to act as",
        )
    })?;
    let token = format!("fpst_{}", tokens::generate());
    st.store
        .web_sdk_token_create(
            &token,
            service.user_id,
            Some(company),
            st.cfg.web_sdk_token_ttl_secs,
        )
        .await?;
    tracing::info!(%company, origin = %origin, "web plugin session started without a session token");
    st.store
        .web_sdk_by_token(&token)
        .await?
        .ok_or_else(|| ApiError::internal("a tokenless plugin session vanished"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_limited_per_origin_and_address() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let origin = "https://limit.test";
        for _ in 0..3 {
            rate_limit(origin, a, 3).unwrap();
        }
        assert_eq!(
            rate_limit(origin, a, 3).unwrap_err().code,
            Code::TooManyAttempts
        );
        rate_limit(origin, b, 3).unwrap();
        rate_limit("https://other.test", a, 3).unwrap();
    }
}
