//! A plugin session's life: the single-use token a backend mints for one of its users, the start
//! that spends it (the page's origin checked, the actions drawn, a session key handed out), the
//! started session looked up by id and key on every later call, and the result under the
//! company's `result_mode`.

use std::net::IpAddr;

use serde_json::{json, Value};
use uuid::Uuid;

use super::{SessionAction, Settings};
use crate::analysis::read::analyses_json;
use crate::app::AppState;
use crate::auth::{tokens, Actor};
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::now_us;
use crate::store::web_sdk::{Start, WebSdkSession};
use crate::views;

/// The plugin settings in force for a company (or the server's defaults outside one).
pub async fn settings_of(st: &AppState, company: Option<Uuid>) -> ApiResult<Settings> {
    let stored = match company {
        Some(c) => st
            .store
            .company_settings(c)
            .await?
            .unwrap_or_else(|| json!({})),
        None => json!({}),
    };
    Ok(super::settings(&st.cfg, &stored))
}

/// A token for one plugin session of the (authorized) actor's company: the user must be able to
/// start what the plugin will order. Returns the token and its lifetime in seconds.
pub async fn mint_token(st: &AppState, actor: &Actor) -> ApiResult<(String, i64)> {
    let user = st
        .store
        .user_get(actor.user_id)
        .await?
        .ok_or_else(|| ApiError::new(Code::AuthInvalid, "Invalid access token"))?;
    if !user.can_start_analysis_quality {
        return Err(ApiError::new(
            Code::Forbidden,
            "This user may not start QUALITY analyses (can_start_analysis_quality)",
        ));
    }
    let settings = settings_of(st, actor.company_id).await?;
    if settings.collection_id.is_some() && !user.can_start_analysis_collection {
        return Err(ApiError::new(
            Code::Forbidden,
            "This company's web plugin runs COLLECTION (web_sdk.collection_id), which this user \
             may not start (can_start_analysis_collection)",
        ));
    }
    let token = format!("fpst_{}", tokens::generate());
    let ttl = st.cfg.web_sdk_token_ttl_secs;
    st.store
        .web_sdk_token_create(&token, actor.user_id, actor.company_id, ttl)
        .await?;
    Ok((token, ttl))
}

/// A session not started yet, whose page origin may run the plugin.
pub struct Pending {
    pub session: WebSdkSession,
    pub settings: Settings,
}

/// The session a token names, if the page's `origin` (or the server's own, `own_origin`) may
/// run the plugin. Without a token, a session of the company that lets `origin` start one
/// tokenless (see [`super::tokenless`]; `addr` is the client's address, for its rate limit). Its
/// refusals are answered without a CORS header.
pub async fn pending(
    st: &AppState,
    token: Option<&str>,
    origin: &str,
    own_origin: Option<&str>,
    addr: IpAddr,
) -> ApiResult<Pending> {
    let session = match token {
        None => super::tokenless::start_without_token(st, origin, addr).await?,
        Some(token) => st
            .store
            .web_sdk_by_token(token)
            .await?
            .ok_or_else(|| ApiError::new(Code::AuthInvalid, "Unknown session token"))?,
    };
    let settings = settings_of(st, session.company_id).await?;
    if !super::origin_allowed(&settings, origin, own_origin) {
        return Err(ApiError::new(
            Code::Forbidden,
            "This page's origin may not run the web plugin (web_sdk.allowed_origins)",
        )
        .with_details(json!({"reason": "origin_not_allowed"})));
    }
    Ok(Pending { session, settings })
}

/// Start the session: spend its token (once, before it expires), draw its actions from the
/// page's request `body` (`{action?, lang?, meta?, params?}`) and the settings, and answer with
/// the session key and what to capture.
pub async fn start(st: &AppState, p: &Pending, origin: &str, body: &Value) -> ApiResult<Value> {
    let (session, settings) = (&p.session, &p.settings);
    if session.started_at.is_some() {
        return Err(token_used());
    }
    if session.token_expires_us < now_us() {
        return Err(
            ApiError::new(Code::AuthExpired, "This session token has expired")
                .with_details(json!({"reason": "session_token_expired"})),
        );
    }
    let meta = match body.get("meta") {
        None | Some(Value::Null) => json!({}),
        Some(m @ Value::Object(o)) => {
            if o.values().any(|x| !x.is_string()) {
                return Err(ApiError::value("meta values must be strings"));
            }
            crate::metadata::check(m, "meta")?;
            m.clone()
        }
        Some(_) => return Err(ApiError::structure("meta must be an object of strings")),
    };
    let params = match body.get("params") {
        Some(p @ Value::Object(_)) => p.clone(),
        _ => json!({}),
    };
    let actions = super::resolve_actions(body.get("action"), settings)?;
    let lang = body
        .get("lang")
        .and_then(Value::as_str)
        .filter(|l| settings.lang_allow.iter().any(|a| a == l))
        .unwrap_or(&settings.lang_default)
        .to_string();
    let key = tokens::generate();
    let ttl = st.cfg.web_sdk_session_ttl_secs;
    let started = st
        .store
        .web_sdk_start(
            session.session_id,
            &Start {
                key: &key,
                origin: &super::normalize_origin(origin).unwrap_or_default(),
                expires_us: now_us() + ttl * 1_000_000,
                actions: &json!(actions),
                meta: &meta,
                params: &params,
            },
        )
        .await?;
    if !started {
        return Err(token_used());
    }
    Ok(json!({
        "session_id": session.session_id,
        "session_key": key,
        "actions": actions.iter().map(action_view).collect::<Vec<_>>(),
        "architecture": settings.architecture,
        "result_mode": settings.result_mode,
        "lang": lang,
        "expires_in": ttl,
    }))
}

fn token_used() -> ApiError {
    ApiError::new(Code::AuthInvalid, "This session token has been used")
        .with_details(json!({"reason": "session_token_used"}))
}

/// What the plugin is told of one action: its kind, how long to record, its gestures.
pub(super) fn action_view(a: &SessionAction) -> Value {
    let mut v = json!({
        "action": a.action,
        "kind": if super::is_photo(&a.action) { "photo" } else { "video" },
        "seconds": super::action_seconds(a),
    });
    if !a.gestures.is_empty() {
        v["gestures"] = json!(a.gestures);
        v["rest_seconds"] = json!(super::AUTO_REST_SECONDS);
        v["gesture_seconds"] = json!(super::AUTO_GESTURE_SECONDS);
    }
    v
}

/// The started session `id`, checked against the key (the starting page's, or the key of the
/// phone it was handed off to), its expiry and the key's page origin.
pub async fn open(
    st: &AppState,
    id: Uuid,
    key: Option<&str>,
    origin: &str,
) -> ApiResult<WebSdkSession> {
    let s = st
        .store
        .web_sdk_get(id)
        .await?
        .filter(|s| s.started_at.is_some())
        .ok_or_else(ApiError::unknown_object)?;
    // The page that started the session, or the phone it was handed off to: each with its own
    // key, from its own page origin.
    let key_origin = match key {
        Some(k) if s.has_key(k) => s.origin.as_deref(),
        Some(k) if s.has_handoff_key(k) => s.handoff_origin.as_deref(),
        _ => return Err(ApiError::new(Code::AuthInvalid, "Invalid session key")),
    };
    if key_origin != super::normalize_origin(origin).as_deref() {
        return Err(ApiError::new(
            Code::Forbidden,
            "This session belongs to another page origin",
        ));
    }
    if s.session_expires_us.unwrap_or(0) < now_us() {
        return Err(
            ApiError::new(Code::AuthExpired, "This plugin session has expired")
                .with_details(json!({"reason": "session_expired"})),
        );
    }
    Ok(s)
}

/// The session's result as its company's `result_mode` shows it (`base`: the public URL links
/// in the folder and analyses views start with): the analyses of its last attempt, and — in every
/// mode, without a score — `retry` when that attempt's capture was not usable and attempts remain,
/// and `handoff` (`waiting` / `opened`) once the session has shown a hand-off code.
pub async fn result(st: &AppState, base: &str, s: &WebSdkSession) -> ApiResult<Value> {
    let settings = settings_of(st, s.company_id).await?;
    let (analyses, folder) = match s.folder_id.filter(|_| s.submitted_at.is_some()) {
        None => (Vec::new(), None),
        Some(fid) => {
            let all = st.store.media_of_folders(&[fid]).await?;
            let analyses = attempt_analyses(st, base, fid, &all, s.attempt).await?;
            let folder = st.store.folder_get(fid).await?;
            let fv = folder.map(|f| {
                serde_json::to_value(views::folder(base, &f, &all)).unwrap_or(Value::Null)
            });
            (analyses, fv)
        }
    };
    let fid = s.folder_id.map(|f| f.to_string());
    let mut view = super::result_view(
        &settings.result_mode,
        s.submitted_at.is_some(),
        fid.as_deref(),
        &analyses,
        folder.as_ref(),
    );
    // The page that showed a hand-off code learns whether a phone has taken the session over.
    if let Some(h) = super::handoff::state(s) {
        view["handoff"] = json!(h);
    }
    if let Some(reason) = retry_due(s, &settings, &analyses) {
        view["retry"] = json!({
            "reason": reason,
            "attempt": s.attempt,
            "attempts": settings.max_attempts,
        });
    }
    Ok(view)
}

/// The analyses (Oz JSON) ordered on the media of one attempt.
async fn attempt_analyses(
    st: &AppState,
    base: &str,
    folder_id: Uuid,
    all_media: &[crate::store::folders::MediaRow],
    attempt: i64,
) -> ApiResult<Vec<Value>> {
    let mine: Vec<String> = super::capture::attempt_media(all_media.to_vec(), attempt)
        .iter()
        .map(|m| m.media_id.to_string())
        .collect();
    let list = analyses_json(st, base, &[folder_id], all_media, &Default::default()).await?;
    Ok(list
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| {
            a["source_media"].as_array().is_some_and(|m| {
                m.iter().any(|x| {
                    x["media_id"]
                        .as_str()
                        .is_some_and(|id| mine.iter().any(|y| y == id))
                })
            })
        })
        .collect())
}

/// Why the last attempt must be taken again, when it may be: submitted, finished with an
/// unusable capture ([`super::retry_reason`]) and attempts left.
fn retry_due(s: &WebSdkSession, settings: &Settings, analyses: &[Value]) -> Option<&'static str> {
    if s.submitted_at.is_none() || analyses.is_empty() || s.attempt >= settings.max_attempts {
        return None;
    }
    super::retry_reason(analyses)
}

/// `retry`: open the session's next attempt, in the same folder, when its last one may be taken
/// again; an `auto` challenge is drawn anew (a recording made for the first cannot follow it).
pub async fn retry(st: &AppState, base: &str, s: &WebSdkSession) -> ApiResult<Value> {
    let settings = settings_of(st, s.company_id).await?;
    let analyses = match s.folder_id.filter(|_| s.submitted_at.is_some()) {
        None => Vec::new(),
        Some(fid) => {
            let all = st.store.media_of_folders(&[fid]).await?;
            attempt_analyses(st, base, fid, &all, s.attempt).await?
        }
    };
    if retry_due(s, &settings, &analyses).is_none() {
        return Err(ApiError::value(
            "This session cannot capture again: its result is final, still running, or out of attempts",
        )
        .with_details(json!({"reason": "no_retry"})));
    }
    let mut actions = super::parse_actions(&s.actions);
    for a in actions.iter_mut().filter(|a| !a.gestures.is_empty()) {
        a.gestures = super::draw_gestures();
    }
    if !st
        .store
        .web_sdk_retry(s.session_id, s.attempt, &json!(actions))
        .await?
    {
        return Err(ApiError::value("This attempt has already been retried")
            .with_details(json!({"reason": "no_retry"})));
    }
    Ok(json!({
        "actions": actions.iter().map(action_view).collect::<Vec<_>>(),
        "attempt": s.attempt + 1,
        "attempts": settings.max_attempts,
    }))
}
