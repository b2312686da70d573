//! The OpenAPI document (`GET /api/openapi.json`) and the reference page `GET /api/docs`: Swagger UI
//! (npm `swagger-ui-dist`, pinned, fetched by `faceproof assets fetch` and served from its cache,
//! "try it out" with the console's sign-in) or, when it is not installed, a self-contained page.
//! Nothing is loaded from another host. The operations come from one table, `ENDPOINTS`, whose
//! descriptions record how uncertain points of the Oz reference were read.

use std::collections::BTreeMap;

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder,
    Required, ResponseBuilder,
};

use crate::app::AppState;
use crate::assets::{default_assets_dir, SWAGGER_UI};
use crate::errors::{ApiError, Code};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(|| async { Json(openapi()) }))
        .route("/api/docs", get(|| async { docs_page() }))
        .route(
            "/api/docs/{file}",
            get(|Path(f): Path<String>| async move { docs_file(&f) }),
        )
}

/// Swagger UI's files from the asset cache, read once (`None`: not installed).
fn swagger() -> Option<&'static BTreeMap<&'static str, Vec<u8>>> {
    static FILES: OnceLock<Option<BTreeMap<&'static str, Vec<u8>>>> = OnceLock::new();
    FILES
        .get_or_init(|| SWAGGER_UI.load(&default_assets_dir()))
        .as_ref()
}

/// Swagger UI needs inline styles (its components set them); scripts stay same-origin only.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

fn with_headers(mime: &'static str, body: Body) -> Response {
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn docs_page() -> Response {
    if swagger().is_some() {
        with_headers("text/html; charset=utf-8", Body::from(SWAGGER_PAGE))
    } else {
        Html(PAGE).into_response()
    }
}

fn docs_file(name: &str) -> Response {
    if name == "init.js" && swagger().is_some() {
        return with_headers("text/javascript; charset=utf-8", Body::from(SWAGGER_INIT));
    }
    let mime = match name {
        "swagger-ui.css" => "text/css; charset=utf-8",
        "swagger-ui-bundle.js" => "text/javascript; charset=utf-8",
        "LICENSE" => "text/plain; charset=utf-8",
        _ => return ApiError::new(Code::NotFound, "Unknown file").into_response(),
    };
    match swagger().and_then(|files| files.get(name)) {
        Some(bytes) => with_headers(mime, Body::from(bytes.clone())),
        None => ApiError::new(
            Code::NotFound,
            "Swagger UI is not installed (run `faceproof assets fetch`)",
        )
        .into_response(),
    }
}

const SWAGGER_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>faceproof API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<link rel="icon" href="/console/favicon.svg" type="image/svg+xml"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body></html>"#;

/// Swagger UI on this server's document; "Authorize" takes an access token, and when the
/// console is signed in in this browser tab its token is filled in already.
const SWAGGER_INIT: &str = r#"function signedIn() {
  try {
    const s = JSON.parse(sessionStorage.getItem('faceproof.session') || 'null');
    return s && s.access;
  } catch (e) {
    return null;
  }
}
const ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: 'none',
  defaultModelsExpandDepth: 0,
  // the security schemes exist once the document has loaded
  onComplete: () => {
    const token = signedIn();
    if (token) ui.preauthorizeApiKey('token', token);
  },
});
"#;

struct Endpoint {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    description: &'static str,
    auth: bool,
    ok: &'static str,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    description: &'static str,
) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        description,
        auth: true,
        ok: "200",
    }
}

const UPLOAD: &str = "multipart/form-data: files under any keys, plus `payload` (a JSON string) with \
`media:tags` ({key: [tag…]}, tags from Oz §4.5, others → error 4), `folder:meta_data` ({…}) and `media:meta_data` \
({key: {…}}). `additional_info` (text, at most 2000 characters kept: the capture environment a web plugin \
reports) is kept in every uploaded media's `meta_data.additional_info` unless `media:meta_data` sets that key; other \
fields without a file name and with a text content type are ignored. \
The kind (IMAGE, VIDEO, SHOTS_SET = ZIP of up to `max_shots` (100) frames) is decided from the bytes, and every \
file is validated once (photos and every frame of a shots set decoded, videos probed and their first frame decoded); \
`media_type` is IMAGE_FOLDER / VIDEO_FOLDER / SHOTS_SET_FOLDER. Errors: malformed body or payload → 3 (400); \
unknown tag, corrupt or truncated file, too many files → 4 (400); file over `max_file_bytes` or request over \
`max_request_bytes`, video over `max_video_seconds` or `max_video_pixels`, photo over `max_decode_bytes`, shots set \
over `max_shots` frames, ffmpeg over `media_tool_timeout_secs` → 4 (413); unsupported content → 5 (415). A failed upload \
stores nothing (no folder, no media, no file). `analyses` in the payload (single request, same shape as the \
`analyses` of POST …/analyses; `source_media` may name form keys): the analyses run before the answer, which is \
the folder with its finished analyses; a refused order removes the folder. \
`application/octet-stream` bodies (OzCapsula) → 2.";

const FOLDER_LIST: &str = "Filters: `offset` (0), `limit` (100, ≤ 1000), `sorting` = time_created{asc|desc} | \
time_updated{asc|desc} (default time_created{desc}), `time_created.min/.max`, `time_updated.min/.max` (UNIX \
seconds, inclusive), `meta_data=key==value` / `meta_data=key!=value` (repeatable; the key is the text before the first \
`==` or `!=`, so a value may contain them; values compared as text; `!=` also matches folders without the key), \
`resolution_status` (comma list), `folder_id` (comma list), `user_id`, `company_id`, `analysis_type` and \
`analysis_resolution` (comma lists: folders with an analysis of that type and/or result), `with_analyses=true`. \
Response `{items, total}` (`count` = total too; Oz only confirms `items`). \
Visibility: ADMIN/OPERATOR all; CLIENT ADMIN/CLIENT OPERATOR their company; CLIENT/CLIENT SERVICE their own.";

const META: &str = "GET returns the metadata object. POST replaces it with the body, PATCH merges the body into it \
(null removes a key), DELETE empties it (204). The body is the object itself; `{\"meta_data\": {…}}` is accepted \
too. Both `/meta_data` and `/metadata` suffixes work. Access: read as the object, write as update of the object.";

const ANALYSIS_START: &str = "Body `{\"analyses\": [{\"type\": \"quality\"|\"biometry\"|\"collection\"|\"documents\" (any case; `blacklist` = collection), \"source_media\": [media_id…] (omit = all eligible), \"params\": {…}}], \"resolution_endpoint\"?: URL}`. Eligible media (Oz §5.1): QUALITY — photos (not ID documents) and media tagged `video_selfie*`; BIOMETRY/COLLECTION — all but `photo_id_back`. Params: QUALITY `extract_best_shot` (bool, default true as in Oz API ≥ 5.0.0), `threshold_spoofing`; BIOMETRY `threshold_min` (below ⇒ DECLINED), `threshold_max` (at or above ⇒ SUCCESS, between ⇒ OPERATOR_REQUIRED); COLLECTION `collection_id(s)`, `threshold`, `decision_count`. Thresholds: server default (0.5 liveness, 0.85 biometry; collection: 0.85 raised with the number of faces searched so that ≤ 1 % of strangers hit — `results_data.threshold_source`, `gallery_faces`) < company settings < request. Response 201: array of the created analyses (state PROCESSING); they are jobs in the database, run by the server's workers or `faceproof worker` processes, retried on system errors and FAILED (with `error.message`) after `job_max_attempts`. Errors: no `analyses` list or bad shape → 3; unknown type, media not in the folder, < 2 eligible media for BIOMETRY, none for QUALITY/COLLECTION, threshold outside 0..1, non-http(s) webhook → 4 (400); non-UUID id → 5; DOCUMENTS (photos, and frame sets tagged `photo_id*`; only the `photo_id*` media when the folder tags any; `params.capabilities` accepted as Oz's SDK sends it) reads each document's MRZ (TD1/TD2/TD3, every check digit and the composite, expiry against today) and finds its portrait: `results_data {status, message, mrz: {type, lines, check_digits_valid, checks, expired, fields: {name: {value, raw, confidence, check_digit_valid?}}} | null, portrait: {found, faces_found, width, height, bbox}, text_fields: [{key, value, confidence, source}]}`, one such entry per photo in `results_media`; SUCCESS when the MRZ reads, every check digit holds and it has not expired, DECLINED on a failed check digit or an expired document, no MRZ readable ⇒ the company's `documents_unreadable` (OPERATOR_REQUIRED by default), two documents on a photo or different documents across photos ⇒ OPERATOR_REQUIRED (docs/documents.md); without the document models installed it finishes as OPERATOR_REQUIRED with `status: \"NOT_SUPPORTED\"`; no permission (role or `can_start_analysis_*`) → 9. Webhook: when all analyses of the order have finished, `POST resolution_endpoint` (else the company's) with, per the company's `webhook_format`, the folder exactly as `GET /api/folders/{id}?with_analyses=true` answers it (`oz`, new companies) or `{event: \"analyses.finished\", delivery_id, group_id, folder: {…folder with analyses…}}` (`faceproof`), headers `X-Faceproof-Event`, `X-Faceproof-Delivery` (same on retries) and `X-Faceproof-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>` with the company's `webhook_secret`; non-2xx or no answer → retried with exponential backoff, each attempt listed by `GET /api/folders/{id}/webhooks`.";

const ANALYSIS_READ: &str = "`analysis_id` and `analyse_id` (same value), `type`, `state` (PROCESSING, FINISHED, FAILED), `resolution_status` = `resolution` (PROCESSING/FAILED until finished, then SUCCESS, DECLINED or OPERATOR_REQUIRED), `source_media` (media objects), `results_media[]` (`source_media_id`, `source_video_id` or `source_shots_set_id`, `resolution_status`, `results_data` — QUALITY: `confidence_spoofing` (0..1, ≥ threshold ⇒ DECLINED), `frames_analysed`, `liveness_frames` (the frames the video's score is the median of) and `liveness_spread` (their interquartile range: how much they disagree), `gesture{name, performed, frames_matching, frames_with_face, peak, sequence?, unexpected?}` (several gesture tags on one video: performed in the tags' order, `sequence` per step); BIOMETRY: `face_found`; COLLECTION: `matches[{collection_id, person_id, person_image_id, confidence, similarity, image_url}]` best first, plus `person_id` of the best —, `output_images[{media_id, original_url, thumb_url}]` (best shots, stored as media of the folder), `error{code, message}` for a media problem: no_face, multiple_faces (a photo, or two comparable faces in 2+ frames of a selfie video), face_changed (a selfie video whose near-frontal frames show another person than its best frame), unreadable, gesture_not_performed — the media is then DECLINED), `results_data` (BIOMETRY: `min_confidence` — the least similar pair, the one that decides — `max_confidence`, `pairs[{media_ids, confidence, similarity}]`, thresholds), `params`, `decisions[]`, `error` (FAILED: the reason). Folder status: the latest order's worst result (any PROCESSING ⇒ PROCESSING, any FAILED ⇒ FAILED, then DECLINED > OPERATOR_REQUIRED > SUCCESS), in both `resolution_status` and `system_resolution`.";

const ANALYSIS_LIST: &str = "Array of analyses (see GET /api/analyses/{id}), oldest first. Filters (legacy folder_analyze_list_get): `analyse_id` / `analysis_id` (comma list), `analyse_id.exclude`, `type` (comma list), `state`, `resolution_status`, `time_created.min/.max`.";

const COLLECTION_UPLOAD: &str = "multipart photos under any keys + `payload` with `media:tags`, `media:meta_data` and \
`person:meta_data` (`{person_info: {first_name, middle_name, last_name}}`). Photos only (videos, archives → 5/415); each must \
show one face (no face / several / corrupt → 4 with details.reason no_face / multiple_faces / unreadable); one refused photo \
refuses the request and nothing is stored. The embedding is computed once, here, and kept with the collection.";

macro_rules! stats_filters {
    () => {
        " Filters: `company_id`, `user_id` (the order's company and creator), `time_created.min/.max` \
(UNIX s/ms/µs, inclusive; applied to each counted row's own creation time: an order's, an analysis', a decision's). \
Visibility as the folder list: ADMIN/OPERATOR every company, CLIENT ADMIN/CLIENT OPERATOR their company, CLIENT/CLIENT \
SERVICE their own orders. `format=csv` answers `text/csv` with the same numbers. Bad id → 5; bad time → 5; unknown \
format or interval → 4."
    };
}

const STATS_SUMMARY: &str = concat!("`{filters, orders: {total, by_status}, analyses: {total, by_type: {QUALITY|BIOMETRY|COLLECTION: \
{total, by_status}}}, pass_rates: {liveness|biometry|blacklist: {finished, passed, rate}}, processing_ms: {TYPE: {count, \
median, p95}}, decisions: {total, by_status, pending, time_to_decision_ms: {count, median, p95}}}`. Orders count by the \
folder status; `finished` = analyses with a result (SUCCESS, DECLINED, OPERATOR_REQUIRED), `passed` = SUCCESS; processing \
time = result time − order time of finished or failed analyses without an operator decision (nearest-rank percentiles, \
ms); `pending` = analyses waiting in OPERATOR_REQUIRED. CSV columns: `metric,type,status,value`. Aggregated in SQL \
(SQLite and PostgreSQL).", stats_filters!());

const STATS_TIMESERIES: &str = concat!("`interval` = day (default) | week (UTC; weeks start on Monday) → `{interval, buckets: \
[{start (UNIX s), date (YYYY-MM-DD), orders: {status: n}, analyses: {TYPE: {status: n}}}]}`, oldest first, only buckets \
with rows. CSV columns: `bucket_start,metric,type,status,count` (metric = orders or analyses).", stats_filters!());

const ENDPOINTS: &[Endpoint] = &[
    Endpoint { auth: false, ..ep("get", "/api/version", "Version (health check)", "200 once the server is ready.") },
    Endpoint { auth: false, ..ep("get", "/api/config", "Public configuration (Oz 5.2.0)", "`{timezone: \"UTC\", utc_offset, version, components, limits {max_files_per_folder, max_file_bytes, max_request_bytes, max_video_seconds, max_shots}, analyses, extract_best_shot_default}`; no token needed, no credentials in it.") },
    Endpoint { auth: false, ..ep("get", "/health/live", "Liveness probe", "200 while the process runs.") },
    Endpoint { auth: false, ..ep("get", "/health/ready", "Readiness probe", "200 when the database, models, media store and queue are ready, 503 otherwise (JSON body naming each check); 503 while stopping.") },
    Endpoint { auth: false, ..ep("get", "/metrics", "Prometheus metrics", "Text format. Not exposed unless `metrics_token` (then `Authorization: Bearer <token>`) and/or `metrics_listen` (a separate address) is set; see docs/operations.md.") },
    Endpoint {
        auth: false,
        ..ep(
            "post",
            "/api/authorize/auth",
            "Log in",
            "Body `{\"credentials\": {\"email\", \"password\"}}` → `{access_token, expire_token, expire_date, user}`; \
             `expire_date` in UNIX seconds. Wrong credentials → 7 (401). Missing fields → 3. After \
             `login_max_failures` failures of one account from one client address (the address behind \
             `trusted_proxies` when configured) that pair waits `login_backoff_secs`, doubling with each further \
             failure → 9 (429, `details.retry_after`); other addresses are not affected. Token TTL 15 min (`session_ttl_secs`), 5 years for CLIENT SERVICE; each \
             authenticated request slides the expiry.",
        )
    },
    Endpoint {
        auth: false,
        ..ep(
            "post",
            "/api/authorize/refresh",
            "Refresh tokens",
            "Body `{\"expire_token\"}` + header `X-Forensic-Access-Token` with the same session's access token (it may \
             have expired) → a new pair. Missing field → 3 (400); unknown expire_token → 7 (401, `Session not found`); \
             no access token → 6 (401); another session's access token → 9 (403); expired → 8. The old access token \
             stops working when the new one is first used. An `expire_token` is single use: using it again (a \
             replay) ends every session of that sign-in → 7 (401).",
        )
    },
    Endpoint { ok: "204", ..ep("post", "/api/authorize/logout", "Sign out", "Ends the caller's session (and the sessions it was refreshed from).") },
    Endpoint { ok: "204", ..ep("post", "/api/authorize/logout_all", "Sign out everywhere", "Ends every session of the caller, this one included.") },
    ep("get", "/api/authorize/session_token", "Web plugin session token", "`{session_token, expires_in}`: a token for ONE web plugin session (`OzLiveness.open({session_token})`), bound to the caller and its company, valid `web_sdk_token_ttl_secs` (300 s by default). Any user who may create folders and start QUALITY analyses. Spent by the plugin's start; a used token → 7, an expired one → 8, a page origin the company does not allow → 9, and nothing is stored. See docs/web-sdk.md."),
    Endpoint { auth: false, ..ep("get", "/plugin_liveness.php", "Web plugin (loader)", "The web plugin's JavaScript (the Oz Web SDK path; same as /web-sdk/plugin.js). No eval, no other host; works under a strict Content-Security-Policy.") },
    Endpoint { auth: false, ..ep("get", "/web-sdk/plugin.js", "Web plugin", "The web plugin's JavaScript: `OzLiveness.open/close/hide`. See docs/web-sdk.md.") },
    Endpoint { auth: false, ..ep("get", "/web-sdk/plugin.css", "Web plugin style sheet", "Loaded by the plugin only where constructable style sheets are missing.") },
    Endpoint { auth: false, ..ep("post", "/web-sdk/session", "Web plugin: start", "Called by the plugin, not by integrators. Body (JSON, any content type, so no CORS preflight) `{session_token, action?, lang?, meta?, params?}`. The page's `Origin` must be allowed for the token's company (else 9, without CORS headers); the token is spent (used → 7, expired → 8). Answer: `{session_id, session_key, actions: [{action, kind, seconds, gestures?, rest_seconds?, gesture_seconds?}], architecture, result_mode, lang, expires_in}`; action `auto` is ONE capture of 1–3 gestures chosen here (`gestures`, in the order to perform), tagged with them in that order and checked by QUALITY as a sequence.") },
    Endpoint { auth: false, ..ep("post", "/web-sdk/session/{session_id}/frame", "Web plugin: guidance frame", "Multipart `session_key` + `frame` (JPEG): `{width, height, brightness, faces: [{box, score}], pose: {yaw, pitch, roll} | null}` from the server's face detector and head-pose model (the largest face), for the live hints and the progress toward an asked movement; a `landmarks` field adds the five points, a `smile` field the \"happy\" probability. Wrong key → 7, other origin → 9.") },
    Endpoint { auth: false, ..ep("post", "/web-sdk/session/{session_id}/capture", "Web plugin: capture upload", "Multipart `session_key`, `action`, `orientation`, `additional_info`, file `capture` (photo, ZIP of frames or video; longer than the action's `seconds` × 1.25 at 8 fps + 2 frames, or a video over `seconds` × 1.25 + 1 s → 4, `capture_too_long`). Stored in the session's one folder (`meta_data` = the page's `meta` + `web_sdk_session_id`, `web_sdk_origin`, `additional_info`), tagged per action; the last action orders QUALITY (best shot), BIOMETRY with an ID photo, and COLLECTION on the selfies when `web_sdk.collection_id` is set, as durable jobs.") },
    Endpoint { auth: false, ..ep("post", "/web-sdk/session/{session_id}/result", "Web plugin: result", "Body `{session_key}` → the result as the company's `result_mode` allows: `safe` `{state}`; `status` + `analyses.{type}.{state, resolution}`; `folder` + `folder_id`; `full` + each analysis' Oz JSON and the folder.") },
    Endpoint { auth: false, ..ep("post", "/web-sdk/session/{session_id}/retry", "Web plugin: capture again", "Body `{session_key}` → `{actions, attempt, attempts}`: the next attempt of a session whose last capture was not usable (the result's `retry`), in the same folder; an `auto` challenge is drawn anew. Error 4 (`no_retry`) when the result is final, still running, or the attempts (`web_sdk.max_attempts`) are spent.") },
    Endpoint { auth: false, ..ep("post", "/web-sdk/session/{session_id}/handoff", "Web plugin: continue on a phone", "Body `{session_key, lang?}` → `{handoff_url, qr_svg, expires_in}`: a one-time link to this server's capture page (`/web-sdk/continue/`, the token in the fragment) and the same as a QR code (SVG), valid `web_sdk_handoff_ttl_secs` (300 s) and never past the session; a new one replaces one not used yet. Error 4 (`handoff_unavailable`) once a phone took the session over, after the capture was sent, or for the capture architecture. The session's `result` then carries `handoff`: `waiting` / `opened`.") },
    Endpoint { auth: false, ..ep("post", "/web-sdk/handoff", "Web plugin: open a hand-off", "Called by the plugin on the phone (`OzLiveness.open({handoff_token})`). Body `{handoff_token, lang?}` → as a start answers (`session_id`, a `session_key` for this page's origin, `actions`, …, `attempt`, `attempts`). Unknown token → 7 and an origin the session's company does not allow → 9, both without CORS headers; a used token → 7, an expired one → 8.") },
    Endpoint { auth: false, ..ep("get", "/web-sdk/continue", "Web plugin: capture page of a hand-off", "The page a hand-off QR code opens on a phone: runs the plugin on the session named by the token in the URL's fragment. Strict CSP, nothing from other hosts.") },
    Endpoint { auth: false, ..ep("get", "/web-sdk/continue/{file}", "Web plugin: capture page files", "`continue.js`.") },
    Endpoint { auth: false, ..ep("get", "/web-sdk/demo", "Web plugin demo", "A page to sign in, pick actions, run the plugin and see the folder's result and best shot. On by default when listening on loopback (`web_sdk_demo`), else 404.") },
    Endpoint { auth: false, ..ep("get", "/web-sdk/demo/{file}", "Web plugin demo files", "`demo.js`.") },
    Endpoint { ok: "201", ..ep("post", "/api/companies", "Create company", "ADMIN only. Body `{name, meta_data?}`.") },
    ep("get", "/api/companies", "List companies", "`search_text` (part of the name), `offset`, `limit`. Non-admin roles see their own company."),
    ep("get", "/api/companies/{company_id}", "Get company", "Another company's id → 10 (404) for client roles."),
    ep("patch", "/api/companies/{company_id}", "Update company", "ADMIN only. Body `{name?, meta_data?}`."),
    Endpoint { ok: "204", ..ep("delete", "/api/companies/{company_id}", "Delete company", "ADMIN only. While the company holds users, folders or collections → 4 (409, `details` counts them); \
     `?cascade=true` removes them all (users and their sessions, collections with their index entries and photos, folders \
     with media, analyses and files), then the company. An interrupted removal is finished by asking again.") },
    Endpoint {
        ok: "201",
        ..ep(
            "post",
            "/api/users",
            "Create user",
            "Body `{email, password (≥ 8 chars), user_type, first_name, last_name, middle_name, company_id, \
             can_start_analysis_biometry/_quality/_collection (default true)}`. `user_type` one of ADMIN, OPERATOR, \
             CLIENT, CLIENT ADMIN, CLIENT OPERATOR, CLIENT SERVICE (underscores accepted); absent or CLIENT: \
             `is_service: true` → CLIENT SERVICE, `is_admin: true` → CLIENT ADMIN (API ≤ 5.3), else CLIENT. ADMIN/OPERATOR get no company; \
             client roles need one (a CLIENT ADMIN's own by default). ADMIN creates anyone; CLIENT ADMIN creates \
             client roles in their company. An email already in use → 4 (409), worded the same whoever holds it \
             (another company's accounts are not disclosed).",
        )
    },
    ep("get", "/api/users", "List users", "`company_id`, `user_type`, `search_text` (email/name), `offset`, `limit`. Scope: ADMIN/OPERATOR all, CLIENT ADMIN/CLIENT OPERATOR company, others themselves."),
    ep("get", "/api/users/me", "The caller", "The authenticated user."),
    ep("get", "/api/users/{user_id}", "Get user", "Another company's user → 10 (404); a colleague for CLIENT → 9 (403)."),
    ep("patch", "/api/users/{user_id}", "Update user", "Same fields as create. Users may change their own names, email and password — their own password only with \
     `current_password` (missing → 3, wrong → 9 (403), counted by the sign-in limiter); role, company, flags and `is_active` need \
     ADMIN (or CLIENT ADMIN within the company). A new password ends the user's other sessions (all of them when set by someone \
     else); `is_active: false` ends all of them, and re-activation does not bring them back."),
    Endpoint { ok: "204", ..ep("delete", "/api/users/{user_id}", "Delete user", "ADMIN, or CLIENT ADMIN within the company. Sessions are deleted too.") },
    Endpoint { ok: "201", ..ep("post", "/api/folders", "Create folder with media", UPLOAD) },
    ep("get", "/api/folders", "List folders", FOLDER_LIST),
    ep("get", "/api/folders/{folder_id}", "Get folder", "Flags `with_analyses` (the folder's analyses, oldest first), `with_user` (creator), `with_company` (creator's company). Media are always embedded."),
    ep("get", "/api/folders/{folder_id}/report.pdf", "Order report (PDF)", "The order on paper (`application/pdf`): company and times, media thumbnails with tags and liveness verdicts, best shots, every analysis with its scores and thresholds (gestures, biometry pairs, blacklist matches with the person's name and collection), the operator decisions (audit trail) and the metadata. Read access as `GET /api/folders/{folder_id}` (another company's folder → 10 (404))."),
    Endpoint { ok: "204", ..ep("delete", "/api/folders/{folder_id}", "Delete folder", "With its media rows and files. ADMIN and the company's CLIENT ADMIN (Oz's role table: CLIENT ADMIN deletes files in folders); other roles 9 (403).") },
    Endpoint { ok: "201", ..ep("post", "/api/folders/{folder_id}/media", "Add media", "Same multipart format as folder creation; returns an array of media. No file → 4; over `max_files_per_folder` in total → 4.") },
    ep("get", "/api/folders/{folder_id}/media", "List a folder's media", "Array of media."),
    Endpoint { ok: "204", ..ep("delete", "/api/folders/{folder_id}/media/{media_id}", "Delete media", "Deletes the row and files. ADMIN and the company's CLIENT ADMIN; other roles 9 (403).") },
    ep("get", "/api/folders/{folder_id}/analyses", "Folder analyses", ANALYSIS_LIST),
    Endpoint { ok: "201", ..ep("post", "/api/folders/{folder_id}/analyses", "Start analyses", ANALYSIS_START) },
    ep("get", "/api/analyses/{analysis_id}", "Get analysis", ANALYSIS_READ),
    ep("patch", "/api/analyses/{analysis_id}", "Operator decision", "Body `{\"resolution_status\": \"SUCCESS\"|\"DECLINED\", \"comment\"?}` on an analysis in OPERATOR_REQUIRED (else 4/409). OPERATOR and the company's CLIENT OPERATOR (others 9/403: in Oz's role table administrators manage, operators review). Recorded in the analysis' `decisions` (user_id, before, after, comment, time); the folder status is recomputed."),
    ep("get", "/api/folders/{folder_id}/webhooks", "Webhook deliveries", "Every delivery of the folder's finished orders: url, state (PENDING, DELIVERED, FAILED) and each attempt (status_code, error, duration_ms, time). Webhook format and signature: see `POST …/analyses`."),
    ep("get", "/api/companies/{company_id}/settings", "Company settings", "ADMIN or the company's CLIENT ADMIN. `liveness_threshold`, `biometry_threshold`, `biometry_operator_threshold` (start of the review zone; null = none), `collection_threshold` (null = scaled with the number of faces searched, never below `collection_threshold_floor`; a number is applied as given), `face_policy` (`dominant`: smaller background faces are bystanders, reported in `results_data.faces_found`/`bystanders`; `strict`: any second face declines), `documents_unreadable` (DOCUMENTS with no readable MRZ: `OPERATOR_REQUIRED`, the default, or `DECLINED`), `resolution_endpoint` (default webhook), `webhook_secret` (made on first read), `web_sdk` (the web plugin settings in force)."),
    ep("patch", "/api/companies/{company_id}/settings", "Change company settings", "Any of the thresholds (0..1, null = server default), `face_policy` (`dominant`, `strict` or null), `documents_unreadable` (`OPERATOR_REQUIRED`, `DECLINED` or null), `resolution_endpoint` (http(s) URL or null), `webhook_format` (`oz`: the folder as `GET /api/folders/{id}?with_analyses=true` answers it, the default of new companies; `faceproof`: the `{event, delivery_id, group_id, folder}` envelope, kept by companies made before the setting), `rotate_webhook_secret: true`, `web_sdk` (an object of web plugin settings, each null = server default: `allowed_origins` [scheme://host[:port] or *], `architecture` normal|capture, `result_mode` safe|status|folder|full, `actions_default` [actions or auto], `actions_default_importance`, `lang_allow`, `lang_default`, `extract_best_shot`; `web_sdk: null` resets all). Unknown keys → 4."),
    ep("post", "/api/instant/folders", "Instant analyses (nothing stored)", "Same multipart body as folder creation (payload `analyses`; default: quality). The analyses run and the answer carries `media` (no URLs) and finished `analyses`; best shots come inline as `data:image/jpeg;base64,…` URLs. No folder, media, analysis or job row and no file is written. COLLECTION → 2 (501); `resolution_endpoint` → 4."),
    ep("get", "/api/media/{media_id}", "Get media", "`original_url` (stored file), `video_url` (videos and shots sets), `thumb_url` (JPEG, 320 px), `preview_url` (videos: the stored video, no transcoding yet). URLs are absolute (`public_url` or the Host header) and need the token header like every call."),
    ep("patch", "/api/media/{media_id}", "Set tags", "Body `{\"tags\": [...]}`; `[]` clears; unknown tag → 4."),
    ep("get", "/api/media/{media_id}/frames/{index}", "One frame of a shots set", "The frame's bytes as stored in the archive (frames in name order, from 0), as listed in the media's `images[]`. Opens with the token header or a signed link."),
    Endpoint { auth: false, ..ep("get", "/api/event_sessions", "Event sessions (absent)", "Oz lists capture event sessions here; the answer's shape is not published, so this server answers 2 (501). See docs/oz-compatibility.md.") },
    Endpoint { ok: "204", ..ep("delete", "/api/media/{media_id}", "Delete media", "Deletes the row and files. ADMIN and the company's CLIENT ADMIN; other roles 9 (403).") },
    ep("get", "/api/media/{media_id}/file", "Media file", "The uploaded bytes with their content type. With the token header, or without it through the signed link every media URL in an answer to a company member carries (`?exp=&c=&sig=`: HMAC-SHA256 over media id, expiry and the viewer's company; valid `media_link_ttl_secs`, default 1 h; tampered, expired or another company's → 9 (403)). A `Range: bytes=…` header with one range inside the file → 206 with `Content-Range` (video players); several ranges or one past the end → the whole file."),
    ep("get", "/api/media/{media_id}/thumb", "Thumbnail", "JPEG of the image or the first frame."),
    ep("get", "/api/media/{media_id}/preview", "Video preview", "Videos: the stored video; shots sets: an MP4 (H.264, 5 frames per second) made from the frames with ffmpeg on first request and kept (Oz 5.2.0: also the shots set's `video_url`); 404 for photos. Opens with the token header or a signed link. Byte ranges as for the file."),
    ep("get", "/api/users/{user_id}/meta_data", "User metadata", META),
    ep("get", "/api/folders/{folder_id}/meta_data", "Folder metadata", META),
    ep("get", "/api/media/{media_id}/meta_data", "Media metadata", META),
    ep("get", "/api/analyses/{analysis_id}/meta_data", "Analysis metadata", META),
    Endpoint { ok: "201", ..ep("post", "/api/collections", "Create collection", "Body `{alias, company_id?, meta_data?}` (company: the caller's for CLIENT ADMIN). ADMIN (any company) or the company's CLIENT ADMIN; other client roles 9 (403); another company's id 10 (404).") },
    ep("get", "/api/collections", "List collections", "A JSON array (as Oz answers and Oz's SDKs read it) of `collection_id`, `alias`, `company_id`, `meta_data`; `offset`, `limit`; `paged=true` → `{items, total}` instead. Every client role lists its own company's collections."),
    ep("get", "/api/collections/{collection_id}", "Get collection", "As listed."),
    Endpoint { ok: "204", ..ep("delete", "/api/collections/{collection_id}", "Delete collection", "With its persons, images and files; gone from searches at once.") },
    Endpoint { ok: "201", ..ep("post", "/api/collections/{collection_id}/persons", "Enrol person", COLLECTION_UPLOAD) },
    ep("get", "/api/collections/{collection_id}/persons", "List persons", "`offset`, `limit` → `{items, total}`; each person with `person_id`, `meta_data` and `images`."),
    ep("get", "/api/collections/{collection_id}/persons/{person_id}", "Get person", "With `images[]` (`person_image_id`, `original_url`, `thumb_url`)."),
    Endpoint { ok: "204", ..ep("delete", "/api/collections/{collection_id}/persons/{person_id}", "Delete person", "With images and files; removed from every search (all processes) at once.") },
    Endpoint { ok: "201", ..ep("post", "/api/collections/{collection_id}/persons/{person_id}/images", "Add photos of a person", COLLECTION_UPLOAD) },
    ep("get", "/api/collections/{collection_id}/persons/{person_id}/images", "List a person's photos", "Array of person images."),
    ep("get", "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}", "Get person image", "`person_image_id`, `original_url`, `thumb_url`, tags."),
    Endpoint { ok: "204", ..ep("delete", "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}", "Delete person image", "Its embedding leaves the index at once.") },
    ep("get", "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}/file", "Person image file", "The enrolled photo."),
    ep("get", "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}/thumb", "Person image thumbnail", "A small JPEG of the enrolled photo."),
    ep("post", "/api/collections/{collection_id}/search", "Search a photo (1:N)", "multipart with one photo (one face) → `hits[]` best first with `person_id`, `person_image_id`, `confidence` (calibrated), `similarity`; `threshold` (default: the company's `collection_threshold`, else scaled with the collection's size so that ≤ 1 % of strangers hit; the response reports `threshold`, `threshold_source`, `gallery_faces`) and `limit` query parameters."),
    ep("get", "/api/collections/{collection_id}/meta_data", "Collection metadata", META),
    Endpoint { auth: false, ..ep("get", "/version", "Lite: version", "Lite API (stateless, nothing stored): `{core, tfss (backend), models[{name, version, role, sha256}], pack, template_format}`. See docs/lite-api.md.") },
    Endpoint { auth: false, ..ep("get", "/v1/face/pattern/health", "Lite: biometry health", "`{status: 0, message: \"\"}` when the models load; 503 with status 3 otherwise.") },
    Endpoint { auth: false, ..ep("get", "/v1/face/liveness/health", "Lite: liveness health", "As /v1/face/pattern/health.") },
    Endpoint { auth: false, ..ep("post", "/v1/face/pattern/extract", "Lite: extract template", "Raw image body (image/jpeg, image/png; base64 with `Content-Transfer-Encoding: base64`) → versioned binary template (application/octet-stream, or base64). Auth: `X-Api-Key` / Bearer when FACEPROOF_LITE_API_KEY is set; open only on a loopback listener otherwise (9/403).") },
    Endpoint { auth: false, ..ep("post", "/v1/face/pattern/compare", "Lite: compare templates", "multipart `template1`, `template2` → `{score (calibrated 0..1), similarity, threshold, match, decision: SAME|DIFFERENT}`; a template of another model → 4 (reason other_model).") },
    Endpoint { auth: false, ..ep("post", "/v1/face/pattern/verify", "Lite: image against template", "multipart `image` + `template` → as compare.") },
    Endpoint { auth: false, ..ep("post", "/v1/face/pattern/extract_and_compare", "Lite: compare two images", "multipart `image1`, `image2` → as compare.") },
    Endpoint { auth: false, ..ep("post", "/v1/face/liveness/detect", "Lite: liveness of a photo", "Raw image body → `{passed, confidence_spoofing, threshold, reason}`. No face / several faces → 4 with details.reason.") },
    ep("get", "/api/statistics/summary", "Statistics: totals", STATS_SUMMARY),
    ep("get", "/api/statistics/timeseries", "Statistics: over time", STATS_TIMESERIES),
    Endpoint { auth: false, ..ep("get", "/console", "Operator console", "The console's single page (HTML); it signs in and works through this API only. Content-Security-Policy: scripts and styles from this origin, no inline code.") },
    Endpoint { auth: false, ..ep("get", "/console/{path}", "Operator console files", "Scripts, style sheet and icon of the console, embedded in the binary (`Cache-Control: no-cache` with an ETag). Unknown files → 404.") },
    Endpoint { auth: false, ..ep("get", "/api/openapi.json", "This document", "OpenAPI 3.1.") },
    Endpoint { auth: false, ..ep("get", "/api/docs", "API reference page", "Swagger UI on this document (npm `swagger-ui-dist`, pinned, installed by `faceproof assets fetch`; \"Authorize\" takes an access token, prefilled when the console is signed in in the same tab); a built-in HTML rendering when it is not installed.") },
    Endpoint { auth: false, ..ep("get", "/api/docs/{file}", "API reference files", "`swagger-ui.css`, `swagger-ui-bundle.js`, `LICENSE` (from the asset cache) and `init.js`; 404 when Swagger UI is not installed.") },
];

fn error_table() -> String {
    let mut s = String::from(
        "Errors use the body `{\"error_code\", \"error_message\", \"details\"}` (Oz §4.7):\n\n| kind | error_code | HTTP |\n|---|---|---|\n",
    );
    for c in Code::ALL {
        let (code, status) = c.oz();
        s.push_str(&format!("| {c:?} | {code} | {} |\n", status.as_u16()));
    }
    s.push_str(
        "\nAuthentication: header `X-Forensic-Access-Token` (or `Authorization: Bearer`). Missing → 6, unknown → 7, \
         expired → 8 (all 401); forbidden by role → 9 (403); objects of another company → 10 (404), as if absent. \
         Ids that are not UUIDs → 5 (400). Trailing slashes are optional on every path. Times are UNIX seconds.",
    );
    s
}

pub fn openapi() -> OpenApi {
    let mut grouped: BTreeMap<&str, Vec<&Endpoint>> = BTreeMap::new();
    for e in ENDPOINTS {
        grouped.entry(e.path).or_default().push(e);
    }
    let mut paths = PathsBuilder::new();
    for (path, eps) in grouped {
        let mut item: Option<PathItem> = None;
        let mut add = |method: HttpMethod, e: &Endpoint, summary: String, ok: &str| {
            let mut op = OperationBuilder::new()
                .summary(Some(summary))
                .description(Some(e.description))
                .response(ok, ResponseBuilder::new().description("Success").build())
                .response(
                    "default",
                    ResponseBuilder::new()
                        .description("Error body {error_code, error_message, details}")
                        .build(),
                );
            for seg in path.split('/') {
                if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    op = op.parameter(
                        ParameterBuilder::new()
                            .name(name)
                            .parameter_in(ParameterIn::Path)
                            .required(Required::True)
                            .build(),
                    );
                }
            }
            if e.auth {
                op = op.security(SecurityRequirement::new("token", Vec::<String>::new()));
            }
            let op = op.build();
            match &mut item {
                None => item = Some(PathItem::new(method, op)),
                Some(it) => it.merge_operations(PathItem::new(method, op)),
            }
        };
        for e in &eps {
            let method = match e.method {
                "get" => HttpMethod::Get,
                "post" => HttpMethod::Post,
                "patch" => HttpMethod::Patch,
                _ => HttpMethod::Delete,
            };
            add(method, e, e.summary.to_string(), e.ok);
            if path.ends_with("/meta_data") {
                for (m, verb) in [
                    (HttpMethod::Post, "replace"),
                    (HttpMethod::Patch, "merge"),
                    (HttpMethod::Delete, "clear"),
                ] {
                    let ok = if verb == "clear" { "204" } else { "200" };
                    add(m, e, format!("{} ({verb})", e.summary), ok);
                }
            }
        }
        if let Some(item) = item {
            paths = paths.path(path, item);
        }
    }
    let components = ComponentsBuilder::new()
        .schema_from::<crate::store::companies::Company>()
        .schema_from::<crate::store::users::User>()
        .schema_from::<crate::auth::Role>()
        .schema_from::<crate::views::FolderView>()
        .schema_from::<crate::views::MediaView>()
        .security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Forensic-Access-Token"))),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("faceproof — Oz-compatible API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(error_table()))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}

const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>faceproof API reference</title>
<style>
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem} .op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
.m{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.patch{color:#c80}.delete{color:#c33}
code,pre{background:#f5f5f5;padding:.1rem .3rem;border-radius:3px} pre{padding:.6rem;overflow:auto}
.d{margin:.3rem 0 0 4.5rem;white-space:pre-wrap} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.2rem .5rem}
</style></head><body>
<h1 id="t">faceproof API</h1><div id="info"></div><h2>Endpoints</h2><div id="ops">Loading…</div>
<h2>Schemas</h2><div id="schemas"></div>
<script>
function esc(s){return String(s??'').replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]))}
function md(s){s=esc(s);const lines=s.split('\n');let out='',table=false;
 for(const l of lines){if(l.startsWith('|')){if(/^\|[-| ]+\|$/.test(l))continue;
  if(!table){out+='<table>';table=true}out+='<tr>'+l.split('|').slice(1,-1).map(c=>'<td>'+c.trim()+'</td>').join('')+'</tr>'}
  else{if(table){out+='</table>';table=false}out+=l+'\n'}}
 if(table)out+='</table>';return out.replace(/`([^`]+)`/g,'<code>$1</code>')}
fetch('/api/openapi.json').then(r=>r.json()).then(doc=>{
 document.getElementById('t').textContent=doc.info.title+' '+doc.info.version;
 document.getElementById('info').innerHTML='<div class="d" style="margin-left:0">'+md(doc.info.description)+'</div>';
 let h='';for(const [p,item] of Object.entries(doc.paths)){for(const m of ['get','post','patch','delete']){const op=item[m];if(!op)continue;
  h+='<div class="op"><span class="m '+m+'">'+m+'</span> <code>'+esc(p)+'</code> — '+esc(op.summary)+
  (op.security?' 🔒':'')+'<div class="d">'+md(op.description)+'</div></div>'}}
 document.getElementById('ops').innerHTML=h;
 let s='';for(const [n,sc] of Object.entries((doc.components||{}).schemas||{})){s+='<h3>'+esc(n)+'</h3><pre>'+esc(JSON.stringify(sc,null,2))+'</pre>'}
 document.getElementById('schemas').innerHTML=s;
}).catch(e=>{document.getElementById('ops').textContent='Cannot load openapi.json: '+e});
</script></body></html>"##;

#[cfg(test)]
mod tests {
    #[test]
    fn document_builds_and_lists_paths() {
        let doc = super::openapi();
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["paths"]["/api/folders"]["post"].is_object());
        assert!(json["paths"]["/api/folders/{folder_id}/meta_data"]["patch"].is_object());
        assert!(json["components"]["schemas"]["FolderView"].is_object());
    }

    /// `/api/folders/{folder_id}` and `/api/folders/{id}/` → `/api/folders/{}`.
    fn shape(path: &str) -> String {
        path.trim_end_matches('/')
            .split('/')
            .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Every route the routers declare is in the OpenAPI document, so a new route cannot escape
    /// the role × endpoint matrix test (which walks the document). Paths built at run time
    /// (`/meta_data` and its `/metadata` alias) are documented by their `/meta_data` form.
    #[test]
    fn every_route_is_documented() {
        let documented: std::collections::BTreeSet<String> = serde_json::to_value(super::openapi())
            .unwrap()["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(|p| shape(p))
            .collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let mut files = vec![dir.clone()];
        let mut routes = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split(".route(").skip(1) {
                let piece = piece.trim_start();
                if let Some(rest) = piece.strip_prefix("\"/") {
                    routes.push(format!("/{}", &rest[..rest.find('"').unwrap()]));
                }
            }
        }
        assert!(routes.len() > 40, "the scan finds the routes: {routes:?}");
        let missing: Vec<_> = routes
            .iter()
            .filter(|r| !documented.contains(&shape(r)))
            .collect();
        assert!(
            missing.is_empty(),
            "routes missing from ENDPOINTS in docs.rs (and so from the role matrix): {missing:?}"
        );
    }
}
