//! The web plugin's endpoints (the Oz "Web Adapter" inside the server; see [`crate::web_sdk`]):
//!
//! - `GET /api/authorize/session_token` — a backend mints a short-lived, single-use token bound
//!   to its user and company;
//! - `GET /plugin_liveness.php`, `/web-sdk/plugin.js`, `/web-sdk/plugin.css` — the plugin;
//! - `POST /web-sdk/session` — the plugin spends the token and gets its actions and a session key;
//! - `POST /web-sdk/session/{id}/frame` — a guidance frame: the face boxes the detector sees;
//! - `POST /web-sdk/session/{id}/capture` — one action's capture; the last one orders the analyses;
//! - `POST /web-sdk/session/{id}/result` — the result as `result_mode` allows;
//! - `GET /web-sdk/demo/` — a demo page (loopback by default).
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
use uuid::Uuid;

use super::{path_id, BaseUrl};
use crate::analysis::order::{parse_order, place_order};
use crate::analysis::read::analyses_json;
use crate::app::AppState;
use crate::auth::policy::{authorize, Action, Object};
use crate::auth::{tokens, Actor};
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::folders::FolderRow;
use crate::store::now_us;
use crate::store::web_sdk::{Start, WebSdkSession};
use crate::uploads::{self, IncomingFile, Payload};
use crate::views;
use crate::web_sdk::{self as sdk, Settings};

const PLUGIN_JS: &str = include_str!("../../web-sdk/plugin.js");
const PLUGIN_CSS: &str = include_str!("../../web-sdk/plugin.css");
const DEMO_HTML: &str = include_str!("../../web-sdk/demo.html");
const DEMO_JS: &str = include_str!("../../web-sdk/demo.js");

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
    let settings = settings_of(&st, actor.company_id).await?;
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
        "" | "index.html" => demo("text/html; charset=utf-8", DEMO_HTML, &st),
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

/// This server's own origin, from the configured public URL or the Host header.
fn own_origin(st: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(p) = &st.cfg.public_url {
        let p = p.trim_end_matches('/');
        let (scheme, rest) = p.split_once("://")?;
        return Some(format!("{scheme}://{}", rest.split('/').next()?));
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
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

async fn settings_of(st: &AppState, company: Option<Uuid>) -> ApiResult<Settings> {
    let stored = match company {
        Some(c) => st
            .store
            .company_settings(c)
            .await?
            .unwrap_or_else(|| json!({})),
        None => json!({}),
    };
    Ok(sdk::settings(&st.cfg, &stored))
}

/// `POST /web-sdk/session`: body (JSON, any content type) `{session_token, action?, lang?,
/// meta?, params?}`.
async fn start(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let origin = match origin_of(&headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let token = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("session_token")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    // Refusals before the origin is known to be allowed carry no CORS header.
    let session = match token {
        None => return ApiError::structure("session_token is required").into_response(),
        Some(t) => match st.store.web_sdk_by_token(&t).await {
            Err(e) => return ApiError::from(e).into_response(),
            Ok(None) => {
                return ApiError::new(Code::AuthInvalid, "Unknown session token").into_response()
            }
            Ok(Some(s)) => s,
        },
    };
    let settings = match settings_of(&st, session.company_id).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if !sdk::origin_allowed(&settings, &origin, own_origin(&st, &headers).as_deref()) {
        return ApiError::new(
            Code::Forbidden,
            "This page's origin may not run the web plugin (web_sdk.allowed_origins)",
        )
        .with_details(json!({"reason": "origin_not_allowed"}))
        .into_response();
    }
    cors(
        &origin,
        start_allowed(&st, &session, &settings, &origin, &body).await,
    )
}

async fn start_allowed(
    st: &AppState,
    session: &WebSdkSession,
    settings: &Settings,
    origin: &str,
    body: &[u8],
) -> ApiResult<Json<Value>> {
    if session.started_at.is_some() {
        return Err(
            ApiError::new(Code::AuthInvalid, "This session token has been used")
                .with_details(json!({"reason": "session_token_used"})),
        );
    }
    if session.token_expires_us < now_us() {
        return Err(
            ApiError::new(Code::AuthExpired, "This session token has expired")
                .with_details(json!({"reason": "session_token_expired"})),
        );
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::structure(format!("body is not valid JSON: {e}")))?;
    let meta = match v.get("meta") {
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
    let params = match v.get("params") {
        Some(p @ Value::Object(_)) => p.clone(),
        _ => json!({}),
    };
    let actions = sdk::resolve_actions(v.get("action"), settings)?;
    let lang = v
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
                origin: &sdk::normalize_origin(origin).unwrap_or_default(),
                expires_us: now_us() + ttl * 1_000_000,
                actions: &json!(actions),
                meta: &meta,
                params: &params,
            },
        )
        .await?;
    if !started {
        return Err(
            ApiError::new(Code::AuthInvalid, "This session token has been used")
                .with_details(json!({"reason": "session_token_used"})),
        );
    }
    let list: Vec<Value> = actions
        .iter()
        .map(|a| {
            let mut v = json!({
                "action": a.action,
                "kind": if sdk::is_photo(&a.action) { "photo" } else { "video" },
                "seconds": sdk::action_seconds(a),
            });
            if !a.gestures.is_empty() {
                v["gestures"] = json!(a.gestures);
                v["rest_seconds"] = json!(sdk::AUTO_REST_SECONDS);
                v["gesture_seconds"] = json!(sdk::AUTO_GESTURE_SECONDS);
            }
            v
        })
        .collect();
    Ok(Json(json!({
        "session_id": session.session_id,
        "session_key": key,
        "actions": list,
        "architecture": settings.architecture,
        "result_mode": settings.result_mode,
        "lang": lang,
        "expires_in": ttl,
    })))
}

/// The started session named by the path, checked against the key, its expiry and its origin.
async fn session_for(
    st: &AppState,
    id: &str,
    key: Option<&str>,
    origin: &str,
) -> ApiResult<WebSdkSession> {
    let s = st
        .store
        .web_sdk_get(path_id(id)?)
        .await?
        .filter(|s| s.started_at.is_some())
        .ok_or_else(ApiError::unknown_object)?;
    if !key.is_some_and(|k| s.has_key(k)) {
        return Err(ApiError::new(Code::AuthInvalid, "Invalid session key"));
    }
    if s.origin.as_deref() != sdk::normalize_origin(origin).as_deref() {
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
                let text = field.text().await.map_err(uploads::multipart_error)?;
                form.fields.insert(key, text);
            }
            Some(name) => {
                if form.file.is_some() {
                    return Err(ApiError::value("one file per request"));
                }
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
/// `{width, height, faces: [{box: [x1, y1, x2, y2], score}], brightness}` for the live hints;
/// with a `landmarks` field also `landmarks` (the largest face's five points, frame pixels, or
/// null), which the capture architecture hands to the page with every recorded frame.
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
        if s.submitted_at.is_some() {
            return Err(ApiError::value("This session has been submitted"));
        }
        let file = form
            .file
            .ok_or_else(|| ApiError::value("a frame file is required"))?;
        let limits = crate::inference::upload_limits(&st.cfg);
        let with_landmarks = form.fields.contains_key("landmarks");
        let out = st
            .inference
            .run("web_sdk_guidance", move |engine| -> ApiResult<Value> {
                let bytes = file.contents().map_err(ApiError::internal)?;
                let img = faceproof_engine::media::decode_image(&bytes, &limits)
                    .map_err(ApiError::from)?;
                let faces = engine.detect(&img).map_err(ApiError::from)?;
                let luma: u64 = img
                    .pixels()
                    .step_by(7)
                    .map(|p| (p[0] as u64 * 299 + p[1] as u64 * 587 + p[2] as u64 * 114) / 1000)
                    .sum();
                let n = (img.width() as u64 * img.height() as u64)
                    .div_ceil(7)
                    .max(1);
                // The five points of the Oz payload, for the largest face (detections come
                // largest first), placed on the detection above rather than a second one.
                let landmarks = match faces.first() {
                    Some(largest) if with_landmarks => engine
                        .five_landmarks(&img, largest)
                        .map_err(ApiError::from)?
                        .map(|points| points.map(|(x, y)| [x, y])),
                    _ => None,
                };
                Ok(json!({
                    "width": img.width(),
                    "height": img.height(),
                    "landmarks": landmarks,
                    "brightness": luma / n,
                    "faces": faces.iter().map(|d| json!({
                        "box": [d.raw.x1, d.raw.y1, d.raw.x2, d.raw.y2],
                        "score": d.score,
                    })).collect::<Vec<_>>(),
                }))
            })
            .await??;
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
        store_capture(&st, s, form).await.map(Json)
    }
    .await;
    answer(&origin, r)
}

async fn store_capture(st: &AppState, s: WebSdkSession, form: Form) -> ApiResult<Value> {
    if s.submitted_at.is_some() {
        return Err(ApiError::value("This session has been submitted"));
    }
    let actions = sdk::parse_actions(&s.actions);
    let action = form
        .fields
        .get("action")
        .cloned()
        .ok_or_else(|| ApiError::structure("action is required"))?;
    let Some(this) = actions.iter().find(|a| a.action == action).cloned() else {
        return Err(ApiError::value(format!(
            "action '{action}' is not one of this session's actions"
        )));
    };
    if s.uploaded.contains(&action) {
        return Err(ApiError::value(format!(
            "action '{action}' has been uploaded"
        )));
    }
    // The actions arrive in the order the server gave them (the challenge's order).
    if let Some(next) = actions.get(s.uploaded.len()).filter(|n| n.action != action) {
        return Err(ApiError::value(format!(
            "action '{action}' is out of order: '{}' comes first",
            next.action
        )));
    }
    let mut file = form
        .file
        .ok_or_else(|| ApiError::value("the capture file is required"))?;
    file.key = "capture".into();
    let prepared = uploads::prepare(vec![file], &st.cfg).await?;
    let kind = prepared[0].kind;
    let photo = sdk::is_photo(&action);
    if photo != (kind == faceproof_engine::media::MediaKind::Image) {
        return Err(ApiError::value(if photo {
            "a photo action needs an image"
        } else {
            "a video action needs a ZIP of frames or a video"
        }));
    }
    // One continuous capture of the time the server gave the action (with some slack for slow
    // devices), so a longer recording cannot hold a search through many movements.
    let seconds = sdk::action_seconds(&this);
    let too_long = match kind {
        faceproof_engine::media::MediaKind::ShotsSet => {
            prepared[0].frames as f32 > (seconds * sdk::CAPTURE_FPS * 1.25).ceil() + 2.0
        }
        faceproof_engine::media::MediaKind::Video => {
            prepared[0].duration_ms.unwrap_or(0) as f32 > (seconds * 1.25 + 1.0) * 1000.0
        }
        faceproof_engine::media::MediaKind::Image => false,
    };
    if too_long {
        return Err(ApiError::value(format!(
            "the capture of '{action}' is longer than the {seconds} s it is given"
        ))
        .with_details(json!({"reason": "capture_too_long"})));
    }
    let landscape = form.fields.get("orientation").map(String::as_str) == Some("landscape");
    let info: String = form
        .fields
        .get("additional_info")
        .map(|i| uploads::clean_additional_info(i))
        .unwrap_or_default();
    let mut media_meta = json!({ "web_sdk_action": action });
    if !info.is_empty() {
        media_meta["additional_info"] = json!(info);
    }
    let payload = Payload {
        media_tags: [("capture".to_string(), sdk::action_tags(&this, landscape))].into(),
        media_meta: [("capture".to_string(), media_meta)].into(),
        ..Payload::default()
    };
    let now = now_us();
    let (folder, new) = match s.folder_id {
        Some(f) => (
            st.store
                .folder_get(f)
                .await?
                .ok_or_else(ApiError::unknown_object)?,
            false,
        ),
        None => {
            let mut meta = s.meta.clone();
            meta["web_sdk_session_id"] = json!(s.session_id.to_string());
            if let Some(o) = &s.origin {
                meta["web_sdk_origin"] = json!(o);
            }
            if !info.is_empty() {
                meta["additional_info"] = json!(info);
            }
            (
                FolderRow {
                    folder_id: Uuid::new_v4(),
                    company_id: s.company_id,
                    user_id: Some(s.user_id),
                    resolution_status: crate::domain::FolderStatus::Initial,
                    system_resolution: crate::domain::FolderStatus::Initial,
                    meta_data: meta,
                    technical_meta_data: json!({}),
                    time_created: now,
                    time_updated: now,
                },
                true,
            )
        }
    };
    uploads::commit(
        &st.store,
        st.blobs.as_ref(),
        new.then_some(&folder),
        folder.folder_id,
        prepared,
        &payload,
    )
    .await?;
    let mut uploaded = s.uploaded.clone();
    uploaded.push(action);
    st.store
        .web_sdk_set_upload(s.session_id, folder.folder_id, &uploaded)
        .await?;
    let remaining: Vec<&String> = actions
        .iter()
        .map(|a| &a.action)
        .filter(|a| !uploaded.contains(a))
        .collect();
    let mut submitted = false;
    if remaining.is_empty() && st.store.web_sdk_submit(s.session_id).await? {
        order(st, &s, &folder).await?;
        submitted = true;
    }
    Ok(json!({ "uploaded": uploaded, "remaining": remaining, "submitted": submitted }))
}

/// Order the session's analyses as the user who minted the token: QUALITY (best shot unless
/// turned off), BIOMETRY when an ID photo was captured beside a selfie, and COLLECTION on the
/// selfie captures (each one's best face) when the settings name a blacklist.
async fn order(st: &AppState, s: &WebSdkSession, folder: &FolderRow) -> ApiResult<()> {
    let user = st
        .store
        .user_get(s.user_id)
        .await?
        .ok_or_else(|| ApiError::new(Code::AuthInvalid, "The session's user is gone"))?;
    let actor = Actor {
        user_id: user.user_id,
        company_id: user.company_id,
        role: user.user_type,
        session_id: s.session_id,
    };
    let settings = settings_of(st, s.company_id).await?;
    let best = s
        .params
        .get("extract_best_shot")
        .and_then(Value::as_bool)
        .unwrap_or(settings.extract_best_shot);
    let media = st.store.media_of_folders(&[folder.folder_id]).await?;
    let mut analyses = vec![json!({"type": "quality", "params": {"extract_best_shot": best}})];
    let has = |t: &str| media.iter().any(|m| m.tags.iter().any(|x| x == t));
    if has("photo_id_front") && (has("video_selfie") || has("photo_selfie")) {
        analyses.push(json!({"type": "biometry"}));
    }
    if let Some(collection) = &settings.collection_id {
        let selfies: Vec<String> = media
            .iter()
            .filter(|m| {
                m.tags
                    .iter()
                    .any(|t| t == "video_selfie" || t == "photo_selfie")
            })
            .map(|m| m.media_id.to_string())
            .collect();
        if !selfies.is_empty() {
            analyses.push(json!({"type": "collection", "source_media": selfies,
                                 "params": {"collection_id": collection}}));
        }
    }
    let order = parse_order(&json!({ "analyses": analyses }))?;
    place_order(st, &actor, folder, &media, &order, true).await?;
    Ok(())
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
        let settings = settings_of(&st, s.company_id).await?;
        let (analyses, folder) = match s.folder_id.filter(|_| s.submitted_at.is_some()) {
            None => (Vec::new(), None),
            Some(fid) => {
                let media = st.store.media_of_folders(&[fid]).await?;
                let list = analyses_json(&st, &base, &[fid], &media, &Default::default()).await?;
                let folder = st.store.folder_get(fid).await?;
                let fv = folder.map(|f| {
                    serde_json::to_value(views::folder(&base, &f, &media)).unwrap_or(Value::Null)
                });
                (list.into_iter().map(|(_, a)| a).collect::<Vec<_>>(), fv)
            }
        };
        let fid = s.folder_id.map(|f| f.to_string());
        Ok(Json(sdk::result_view(
            &settings.result_mode,
            s.submitted_at.is_some(),
            fid.as_deref(),
            &analyses,
            folder.as_ref(),
        )))
    }
    .await;
    answer(&origin, r)
}
