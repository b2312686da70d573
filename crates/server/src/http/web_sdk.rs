//! The web plugin's endpoints (the Oz "Web Adapter" inside the server; see [`crate::web_sdk`]):
//!
//! - `GET /api/authorize/session_token` — a backend mints a short-lived, single-use token bound
//!   to its user and company;
//! - `GET /plugin_liveness.php`, `/web-sdk/plugin.js`, `/web-sdk/plugin.css` — the plugin;
//! - `POST /web-sdk/session` — the plugin spends the token and gets its actions and a session key;
//! - `POST /web-sdk/session/{id}/frame` — a guidance frame: the face boxes the detector sees;
//! - `POST /web-sdk/session/{id}/capture` — one action's capture; the last one orders the analyses;
//! - `POST /web-sdk/session/{id}/result` — the result as `result_mode` allows (and `retry` when an
//!   unusable capture may be taken again);
//! - `POST /web-sdk/session/{id}/retry` — open the next attempt, in the same folder;
//! - `POST /web-sdk/session/{id}/handoff` — a one-time link (and its QR code) that continues the
//!   session on a phone; `POST /web-sdk/handoff` — the phone spends it;
//!   `GET /web-sdk/continue/` — the capture page the link opens;
//! - `GET /web-sdk/demo/` — a demo page (loopback by default).
//!
//! What the endpoints decide lives in [`crate::web_sdk::session`] and [`crate::web_sdk::capture`];
//! here requests are read and answered.
//!
//! Plugin requests are "simple" cross-origin requests (text or multipart bodies, no custom
//! headers), so browsers send no preflight: each request's `Origin` is checked against the
//! session company's allowed origins before anything else, and only an allowed origin gets
//! `Access-Control-Allow-Origin` back.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{path_id, BaseUrl};
use crate::app::AppState;
use crate::auth::policy::{authorize, Action, Object};
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::web_sdk::WebSdkSession;
use crate::uploads::{self, IncomingFile};
use crate::web_sdk::capture::Capture;
use crate::web_sdk::{self as sdk, session};

const PLUGIN_JS: &str = include_str!("../../web-sdk/plugin.js");
const PLUGIN_CSS: &str = include_str!("../../web-sdk/plugin.css");
const DEMO_HTML: &str = include_str!("../../web-sdk/demo.html");
const DEMO_JS: &str = include_str!("../../web-sdk/demo.js");
const DEMO_CSS: &str = include_str!("../../web-sdk/demo.css");
const CONTINUE_HTML: &str = include_str!("../../web-sdk/continue.html");
const CONTINUE_JS: &str = include_str!("../../web-sdk/continue.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/authorize/session_token", get(session_token))
        .route("/plugin_liveness.php", get(plugin_js))
        .route("/web-sdk/plugin.js", get(plugin_js))
        .route("/web-sdk/plugin.css", get(plugin_css))
        .route("/web-sdk/session", post(start))
        .route("/web-sdk/session/{session_id}/frame", post(frame))
        .route("/web-sdk/session/{session_id}/capture", post(capture))
        .route("/web-sdk/session/{session_id}/result", post(result))
        .route("/web-sdk/session/{session_id}/retry", post(retry))
        .route("/web-sdk/session/{session_id}/handoff", post(handoff_mint))
        .route("/web-sdk/handoff", post(handoff_redeem))
        .route("/web-sdk/continue", get(continue_page))
        .route("/web-sdk/continue/{file}", get(continue_file))
        .route("/web-sdk/demo", get(demo_page))
        .route("/web-sdk/demo/{file}", get(demo_file))
}

/// `GET /api/authorize/session_token`: a token for one plugin session of the caller's company.
async fn session_token(State(st): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    authorize(
        &actor,
        Action::Create,
        &Object::folder(actor.company_id, Some(actor.user_id)),
    )?;
    let (token, ttl) = session::mint_token(&st, &actor).await?;
    Ok(Json(json!({ "session_token": token, "expires_in": ttl })))
}

fn static_file(mime: &'static str, body: &'static str) -> Response {
    let mut r = Response::new(axum::body::Body::from(body));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    r
}

/// The plugin with its style sheet inlined (applied as a constructable style sheet, which a
/// strict CSP allows, unlike `<style>` elements).
fn plugin_source() -> &'static str {
    static JS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JS.get_or_init(|| {
        let css = serde_json::to_string(PLUGIN_CSS).unwrap_or_else(|_| "\"\"".into());
        PLUGIN_JS.replacen("'__FACEPROOF_CSS__'", &css, 1)
    })
}

async fn plugin_js() -> Response {
    static_file("text/javascript; charset=utf-8", plugin_source())
}

async fn plugin_css() -> Response {
    static_file("text/css; charset=utf-8", PLUGIN_CSS)
}

fn demo_enabled(st: &AppState) -> bool {
    st.cfg.web_sdk_demo.unwrap_or_else(|| {
        st.cfg
            .listen
            .parse::<std::net::SocketAddr>()
            .map(|a| a.ip().is_loopback())
            .unwrap_or(false)
    })
}

const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn demo(mime: &'static str, body: &'static str, st: &AppState) -> Response {
    if !demo_enabled(st) {
        return ApiError::new(Code::NotFound, "The web plugin demo is off (web_sdk_demo)")
            .into_response();
    }
    let mut r = static_file(mime, body);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DEMO_CSP),
    );
    r
}

async fn demo_page(State(st): State<AppState>) -> Response {
    demo("text/html; charset=utf-8", DEMO_HTML, &st)
}

async fn demo_file(State(st): State<AppState>, Path(file): Path<String>) -> Response {
    match file.as_str() {
        "demo.js" => demo("text/javascript; charset=utf-8", DEMO_JS, &st),
        "demo.css" => demo("text/css; charset=utf-8", DEMO_CSS, &st),
        "" | "index.html" => demo("text/html; charset=utf-8", DEMO_HTML, &st),
        _ => ApiError::not_found("File").into_response(),
    }
}

/// The capture page a hand-off link opens (on a phone): this server's own origin, so any company's
/// session may continue there; the token stays in the URL's fragment, which browsers never send.
const CONTINUE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
media-src 'self' blob: mediastream:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn continue_response(mime: &'static str, body: &'static str) -> Response {
    let mut r = static_file(mime, body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTINUE_CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

async fn continue_page() -> Response {
    continue_response("text/html; charset=utf-8", CONTINUE_HTML)
}

async fn continue_file(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "continue.js" => continue_response("text/javascript; charset=utf-8", CONTINUE_JS),
        "" | "index.html" => continue_response("text/html; charset=utf-8", CONTINUE_HTML),
        _ => ApiError::not_found("File").into_response(),
    }
}

/// The request's `Origin` (required on every plugin call).
fn origin_of(headers: &HeaderMap) -> ApiResult<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::new(Code::Forbidden, "Plugin requests need an Origin header"))
}

/// This server's own origins: the configured public URL's, else the one the listen address
/// names (with `localhost` for a loopback address); none when listening on every address
/// without a public URL. Never the request's `Host` header: a page the attacker serves (its DNS
/// name rebound to this server) would send its own name there and in `Origin` alike.
fn own_origins(cfg: &crate::config::Config) -> Vec<String> {
    if let Some(p) = &cfg.public_url {
        let p = p.trim_end_matches('/');
        return p
            .split_once("://")
            .and_then(|(scheme, rest)| Some(format!("{scheme}://{}", rest.split('/').next()?)))
            .into_iter()
            .collect();
    }
    match cfg.listen.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_unspecified() => Vec::new(),
        Ok(a) if a.ip().is_loopback() => {
            vec![
                format!("http://{a}"),
                format!("http://localhost:{}", a.port()),
            ]
        }
        Ok(a) => vec![format!("http://{a}")],
        Err(_) => Vec::new(),
    }
}

/// The page's origin when it is one of this server's own ([`own_origins`]).
fn own_origin(st: &AppState, origin: &str) -> Option<String> {
    let o = sdk::normalize_origin(origin)?;
    own_origins(&st.cfg)
        .iter()
        .any(|own| sdk::normalize_origin(own).as_deref() == Some(o.as_str()))
        .then_some(o)
}

/// An answer to an allowed origin: the JSON (or error) with its CORS header.
fn cors(origin: &str, r: impl IntoResponse) -> Response {
    let mut r = r.into_response();
    if let Ok(v) = HeaderValue::from_str(origin) {
        r.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
    r
}

/// `POST /web-sdk/session`: body (JSON, any content type) `{session_token, action?, lang?,
/// meta?, params?}`; `session_token` may be absent where the company allows it
/// (`web_sdk.require_session_token: false`).
async fn start(
    State(st): State<AppState>,
    super::client_addr::ClientAddr(addr): super::client_addr::ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = match origin_of(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let body = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if let Err(e) = crate::text::check_json(&body) {
        return e.into_response();
    }
    let token = body.get("session_token").and_then(Value::as_str);
    // Refusals before the origin is known to be allowed carry no CORS header.
    let own = own_origin(&st, &origin);
    let pending = match session::pending(&st, token, &origin, own.as_deref(), addr).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    cors(
        &origin,
        session::start(&st, &pending, &origin, &body)
            .await
            .map(Json),
    )
}

/// The started session named by the path, checked against the key, its expiry and its origin.
async fn session_for(
    st: &AppState,
    id: &str,
    key: Option<&str>,
    origin: &str,
) -> ApiResult<WebSdkSession> {
    session::open(st, path_id(id)?, key, origin).await
}

/// Text fields and at most one file of a plugin multipart body.
struct Form {
    fields: std::collections::HashMap<String, String>,
    file: Option<IncomingFile>,
}

async fn read_form(
    headers: &HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
    max_file: u64,
    cfg: &crate::config::Config,
) -> ApiResult<Form> {
    let mut mp = super::folders::multipart(headers, mp)?;
    let mut form = Form {
        fields: Default::default(),
        file: None,
    };
    while let Some(mut field) = mp.next_field().await.map_err(uploads::multipart_error)? {
        let key = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            None => {
                let text =
                    uploads::read_text_field(&mut field, &key, uploads::MAX_TEXT_FIELD_BYTES)
                        .await?;
                form.fields.insert(key, text);
            }
            Some(name) => {
                if form.file.is_some() {
                    return Err(ApiError::value("one file per request"));
                }
                crate::text::line("file name", &name, crate::text::FILE_NAME_CHARS)?;
                let body = uploads::read_file_field(
                    &mut field,
                    max_file,
                    cfg.upload_memory_bytes,
                    &crate::inference::scratch_dir(cfg),
                    || {
                        ApiError::new(
                            Code::TooLarge,
                            format!("The file is over the limit of {max_file} bytes"),
                        )
                    },
                )
                .await?;
                form.file = Some(IncomingFile { key, name, body });
            }
        }
    }
    Ok(form)
}

/// The answer to a session call: with the CORS header, except when the key or origin did not
/// match (a caller that is not the session's page learns nothing).
fn answer(origin: &str, r: ApiResult<Json<Value>>) -> Response {
    let stranger = matches!(&r, Err(e) if matches!(e.code, Code::Forbidden | Code::AuthInvalid | Code::NotFound));
    if stranger {
        r.into_response()
    } else {
        cors(origin, r)
    }
}

/// `POST /web-sdk/session/{id}/frame`: multipart `session_key` + `frame` (a JPEG or PNG) →
/// `{width, height, faces: [{box: [x1, y1, x2, y2], score}], brightness, pose}` for the live
/// hints and the progress toward a movement; with a `landmarks` field also `landmarks` (the
/// largest face's five points, frame pixels, or null), which the capture architecture hands to
/// the page with every recorded frame; with a `smile` field also `smile` (the "happy"
/// probability).
async fn frame(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> Response {
    let origin = match origin_of(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let r = async {
        let form = read_form(&headers, mp, 2 * 1024 * 1024, &st.cfg).await?;
        let s = session_for(
            &st,
            &id,
            form.fields.get("session_key").map(String::as_str),
            &origin,
        )
        .await?;
        let ask = sdk::capture::GuidanceAsk {
            landmarks: form.fields.contains_key("landmarks"),
            smile: form.fields.contains_key("smile"),
        };
        let out = sdk::capture::guidance(&st, &s, form.file, ask).await?;
        Ok(Json(out))
    }
    .await;
    answer(&origin, r)
}

/// `POST /web-sdk/session/{id}/capture`: multipart `session_key`, `action`, `orientation`
/// (`portrait`|`landscape`), `additional_info`, and the file `capture` (a photo for photo
/// actions; a ZIP of JPEG frames or a video for the others). The first capture makes the
/// session's folder; the last orders the analyses.
async fn capture(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> Response {
    let origin = match origin_of(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let r = async {
        let form = read_form(&headers, mp, st.cfg.max_file_bytes, &st.cfg).await?;
        let s = session_for(
            &st,
            &id,
            form.fields.get("session_key").map(String::as_str),
            &origin,
        )
        .await?;
        let fields = form.fields;
        let capture = Capture {
            action: fields.get("action").cloned(),
            landscape: fields.get("orientation").map(String::as_str) == Some("landscape"),
            additional_info: fields.get("additional_info").cloned(),
            file: form.file,
        };
        sdk::capture::store(&st, s, capture).await.map(Json)
    }
    .await;
    answer(&origin, r)
}

/// `POST /web-sdk/session/{id}/result`: body `{session_key}` → the result under `result_mode`.
async fn result(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = match origin_of(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let r = async {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let s = session_for(
            &st,
            &id,
            v.get("session_key").and_then(Value::as_str),
            &origin,
        )
        .await?;
        session::result(&st, &base, &s).await.map(Json)
    }
    .await;
    answer(&origin, r)
}

/// `POST /web-sdk/session/{id}/retry`: body `{session_key}` → the next attempt's actions, when
/// the last capture was not usable and attempts remain (else error 4, `no_retry`).
async fn retry(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = match origin_of(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let r = async {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let s = session_for(
            &st,
            &id,
            v.get("session_key").and_then(Value::as_str),
            &origin,
        )
        .await?;
        session::retry(&st, &base, &s).await.map(Json)
    }
    .await;
    answer(&origin, r)
}

/// `POST /web-sdk/session/{id}/handoff`: body `{session_key, lang?}` → `{handoff_url, qr_svg,
/// expires_in}`: a one-time link that continues the session on another device (see
/// [`crate::web_sdk::handoff`]).
async fn handoff_mint(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = match origin_of(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let r = async {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let s = session_for(
            &st,
            &id,
            v.get("session_key").and_then(Value::as_str),
            &origin,
        )
        .await?;
        sdk::handoff::mint(&st, &base, &s, v.get("lang").and_then(Value::as_str))
            .await
            .map(Json)
    }
    .await;
    answer(&origin, r)
}

/// `POST /web-sdk/handoff`: body `{handoff_token, lang?}` → the session as a start answers it,
/// with a key for this page (the phone's).
async fn handoff_redeem(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let origin = match origin_of(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let own = own_origin(&st, &origin);
    match sdk::handoff::redeem(
        &st,
        v.get("handoff_token").and_then(Value::as_str),
        &origin,
        own.as_deref(),
        v.get("lang").and_then(Value::as_str),
    )
    .await
    {
        Ok(answer) => cors(&origin, answer.map(Json)),
        // Refused before the origin was known to be allowed: no CORS header.
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// The text keys of each language pack in the plugin's `PACKS`.
    fn packs(js: &str) -> BTreeMap<String, BTreeSet<String>> {
        let start = js.find("var PACKS = {").expect("PACKS");
        let end = start + js[start..].find("\n  };\n").expect("end of PACKS");
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut lang = String::new();
        for line in js[start..end].lines().skip(1) {
            let trimmed = line.trim();
            if let Some(name) = trimmed.strip_suffix(": {") {
                lang = name.trim_matches('\'').to_string();
                out.entry(lang.clone()).or_default();
                continue;
            }
            // `key: '…'` at the line's start or after the previous entry's `', `.
            let mut from = 0;
            while let Some(i) = line[from..].find(": '") {
                let at = from + i;
                let key_start = line[..at]
                    .rfind(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                    .map_or(0, |p| p + 1);
                let before = &line[..key_start];
                if before.trim().is_empty() || before.ends_with("', ") {
                    out.get_mut(&lang)
                        .expect("a pack")
                        .insert(line[key_start..at].to_string());
                }
                from = at + 3;
            }
        }
        out
    }

    #[test]
    fn every_language_pack_has_every_text() {
        let packs = packs(super::PLUGIN_JS);
        let en = &packs["en"];
        assert!(en.len() > 70, "{en:?}");
        for need in [
            "start_title",
            "help_safari",
            "handoff_scan",
            "progress_done",
            "stage_checking",
        ] {
            assert!(en.contains(need), "{need}");
        }
        assert_eq!(
            packs.keys().collect::<BTreeSet<_>>(),
            crate::web_sdk::LANGUAGES
                .iter()
                .map(|l| l.to_string())
                .collect::<BTreeSet<_>>()
                .iter()
                .collect()
        );
        for (lang, keys) in &packs {
            assert!(
                keys == en,
                "{lang}: missing {:?}, extra {:?}",
                en.difference(keys).collect::<Vec<_>>(),
                keys.difference(en).collect::<Vec<_>>()
            );
        }
    }
}
