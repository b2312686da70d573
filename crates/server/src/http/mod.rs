//! The HTTP surface: one router module per resource, composed in [`router`]. Handlers parse,
//! authorize through [`crate::auth::policy::authorize`], call the store or the upload service, and
//! shape the Oz JSON. Trailing slashes are optional on every path (normalized before routing).

pub mod access;
pub mod analyses;
pub mod auth;
pub mod client_addr;
pub mod collections;
pub mod companies;
pub mod console;
pub mod docs;
pub mod drain;
pub mod folders;
pub mod instant;
pub mod listener;
pub mod lite;
pub mod media;
pub mod media_links;
pub mod metadata;
pub mod ops;
pub mod report;
pub mod serve;
pub mod server_config;
pub mod settings;
pub mod statistics;
pub mod users;
pub mod web_sdk;

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::now_us;

pub const TOKEN_HEADER: &str = "x-forensic-access-token";

/// The whole API.
pub fn router(state: AppState) -> Router {
    let max_body = state.cfg.max_request_bytes;
    Router::new()
        .route("/api/version", get(version))
        .merge(auth::routes())
        .merge(companies::routes())
        .merge(settings::routes())
        .merge(users::routes())
        .merge(folders::routes())
        .merge(report::routes())
        .merge(analyses::routes())
        .merge(instant::routes())
        .merge(collections::routes())
        .merge(media::routes())
        .merge(metadata::routes())
        .merge(statistics::routes())
        .merge(docs::routes())
        .merge(console::routes())
        .merge(lite::routes())
        .merge(web_sdk::routes())
        .merge(server_config::routes())
        .fallback(|| async { ApiError::new(Code::NotFound, "Unknown endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(Code::MethodNotAllowed, "Method not allowed")
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            media_links::sign_links,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            drain::drain_unread_body_on_error,
        ))
        .with_state(state)
}

async fn version(
    axum::extract::State(st): axum::extract::State<AppState>,
) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "core": env!("CARGO_PKG_VERSION"),
        "api": "Oz API 6.x compatible: accounts, folders, media, analyses, collections, Instant; Lite at /version",
        "pack": st.inference.pack_versions(),
        "backend": st.inference.loaded_backend().unwrap_or("not loaded"),
    }))
}

/// The caller, from `X-Forensic-Access-Token` (or `Authorization: Bearer …`). Expired → 8,
/// unknown → 7, absent → 6. Each use slides the expiry (when enabled).
impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = token_from(&parts.headers).ok_or_else(|| {
            ApiError::new(
                Code::AuthNotProvided,
                "Authentication credentials were not provided (X-Forensic-Access-Token)",
            )
        })?;
        let session = state
            .store
            .session_by_access(&token)
            .await?
            .ok_or_else(|| ApiError::new(Code::AuthInvalid, "Invalid access token"))?;
        if session.access_expires_us < now_us() {
            return Err(ApiError::new(Code::AuthExpired, "Access token expired"));
        }
        if !session.user.is_active {
            return Err(ApiError::new(Code::Forbidden, "User is deactivated"));
        }
        state
            .store
            .session_touch(&session, state.cfg.sliding_expiry)
            .await?;
        if let Some(slot) = parts.extensions.get::<media_links::ViewerSlot>() {
            let _ = slot.0.set(session.user.company_id);
        }
        Ok(Actor {
            user_id: session.user.user_id,
            company_id: session.user.company_id,
            role: session.user.user_type,
            session_id: session.session_id,
        })
    }
}

pub fn token_from(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if !v.is_empty() {
            return Some(v.to_string());
        }
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string())
}

/// The scheme+host that media URLs start with: `public_url` when configured, else the request's Host.
pub struct BaseUrl(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let public = parts
            .extensions
            .get::<PublicUrl>()
            .and_then(|p| p.0.clone());
        if let Some(p) = public {
            return Ok(BaseUrl(p.trim_end_matches('/').to_string()));
        }
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Ok(BaseUrl(format!("http://{host}")))
    }
}

/// The configured public URL, put into request extensions by the server.
#[derive(Clone)]
pub struct PublicUrl(pub Option<String>);

/// A JSON body, whatever its label: Oz clients send JSON as `application/json`, but also labelled
/// `application/x-www-form-urlencoded` (Oz's iOS SDK sets that header on every request and
/// Alamofire's JSON encoding keeps it), as `text/plain`, or unlabelled (`curl -d`). The body is
/// read as JSON whenever it parses; a real `key=value` form stays error 3 naming the expected
/// shape. Malformed JSON, wrong shape or missing fields → 3; over the size limit → 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let label = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        // JSON bodies are small (settings, orders, metadata of at most 16 KiB): the limit is
        // applied while reading, so a 100 MB "name" is never held, let alone parsed.
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    Code::TooLarge,
                    format!("A JSON body is limited to {MAX_JSON_BYTES} bytes"),
                )
                .with_details(serde_json::json!({ "max_bytes": MAX_JSON_BYTES }))
            })?;
        json_body(label.as_deref(), &bytes).map(ApiJson)
    }
}

/// The largest JSON body [`ApiJson`] reads (1 MiB); more → 413.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;

/// The body as JSON of type `T`, for any label (see [`ApiJson`]); no string in it may hold a
/// control character other than tab and line breaks ([`crate::text::check_json`]).
pub fn json_body<T: DeserializeOwned>(label: Option<&str>, bytes: &[u8]) -> ApiResult<T> {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            let labelled_json =
                label.is_some_and(|l| l == "application/json" || l.ends_with("+json"));
            let text = String::from_utf8_lossy(bytes);
            let looks_like_form =
                !labelled_json && !text.trim_start().starts_with(['{', '[']) && text.contains('=');
            let message = if bytes.iter().all(u8::is_ascii_whitespace) {
                "Invalid request body: a JSON body is required".to_string()
            } else if looks_like_form {
                "Invalid request body: this endpoint reads a JSON body; a key=value form is not accepted".to_string()
            } else {
                format!("Invalid request body: malformed JSON ({e})")
            };
            return Err(ApiError::structure(message));
        }
    };
    crate::text::check_json(&value)?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::structure(format!("Invalid request body: {e}")))
}

/// An id from the path: not a UUID → 5 (wrong type).
pub fn path_id(s: &str) -> ApiResult<Uuid> {
    s.parse::<Uuid>().map_err(|_| {
        ApiError::new(
            Code::InvalidType,
            format!("'{s}' is not a valid id (UUID expected)"),
        )
    })
}

/// The most ids a list filter takes.
pub const MAX_IDS: usize = 1000;

/// Raw query pairs (repeated keys kept, e.g. several `meta_data=` filters).
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).map_err(|e| {
            ApiError::new(Code::InvalidValue, format!("Malformed query string: {e}"))
        })?;
        crate::text::check_query(&pairs)?;
        Ok(QueryPairs(pairs))
    }
}

impl QueryPairs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        self.get(key)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ApiError::new(Code::InvalidType, format!("{key} must be an integer"))
                })
            })
            .transpose()
    }
    /// A UNIX time in seconds, milliseconds or microseconds (told apart by magnitude: JavaScript
    /// sends `Date.now()` in milliseconds) → microseconds.
    pub fn time_us(&self, key: &str) -> ApiResult<Option<i64>> {
        self.get(key)
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(unix_time_us)
                    .ok_or_else(|| {
                        ApiError::new(Code::InvalidType, format!("{key} must be a UNIX timestamp"))
                    })
            })
            .transpose()
    }
    pub fn flag(&self, key: &str) -> ApiResult<bool> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(false),
            Some(v) if v == "true" || v == "1" || v == "yes" => Ok(true),
            Some(v) if v == "false" || v == "0" || v == "no" || v.is_empty() => Ok(false),
            Some(_) => Err(ApiError::new(
                Code::InvalidType,
                format!("{key} must be true or false"),
            )),
        }
    }
    pub fn uuid(&self, key: &str) -> ApiResult<Option<Uuid>> {
        self.get(key).map(path_id).transpose()
    }
    /// The values of a repeatable, comma-separated parameter, upper-cased and read as one of
    /// `allowed` (else error 4 listing them).
    pub fn upper_list<W: crate::domain::Word>(
        &self,
        key: &str,
        allowed: &[W],
    ) -> ApiResult<Vec<W>> {
        let mut out = Vec::new();
        for s in self.comma_values(key) {
            let s = s.to_ascii_uppercase();
            let Some(w) = allowed.iter().find(|w| w.as_str() == s) else {
                return Err(ApiError::value(format!(
                    "Unknown {key} '{s}' (one of {})",
                    allowed
                        .iter()
                        .map(|w| w.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            out.push(*w);
        }
        Ok(out)
    }

    /// The ids of a repeatable, comma-separated parameter (a non-UUID → error 5).
    /// A repeatable, comma-separated list of ids: at most [`MAX_IDS`] (each a clause's
    /// parameter; more → error 4).
    pub fn id_list(&self, key: &str) -> ApiResult<Vec<Uuid>> {
        if self.comma_values(key).count() > MAX_IDS {
            return Err(ApiError::value(format!(
                "{key}: at most {MAX_IDS} ids in one query"
            )));
        }
        self.comma_values(key).map(path_id).collect()
    }

    fn comma_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.all(key)
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// `offset` (default 0) and `limit` (default 100, at most 1000).
    pub fn paging(&self) -> ApiResult<(i64, i64)> {
        let offset = self.int("offset")?.unwrap_or(0);
        let limit = self.int("limit")?.unwrap_or(100);
        if offset < 0 || !(0..=1000).contains(&limit) {
            return Err(ApiError::value(
                "offset must be ≥ 0 and limit between 0 and 1000",
            ));
        }
        Ok((offset, limit))
    }
}

/// Seconds below 10^11 (until the year 5138), milliseconds below 10^14, microseconds above.
pub fn unix_time_us(x: f64) -> i64 {
    let us = if x.abs() < 1e11 {
        x * 1e6
    } else if x.abs() < 1e14 {
        x * 1e3
    } else {
        x
    };
    us.clamp(i64::MIN as f64, i64::MAX as f64) as i64
}

/// A stored file as the response body (`what` names it in the 404 when the bytes are missing),
/// streamed from the media store: a large video is never held whole in memory here. A missing
/// object fails before the first byte (a 404); a store failing mid-stream ends the response
/// early, which the client sees as a body shorter than its `Content-Length`.
pub async fn stored_file(
    st: &AppState,
    key: &str,
    mime: &str,
    what: &str,
) -> ApiResult<axum::response::Response> {
    let file = st.blobs.get_stream(key).await.map_err(|e| {
        tracing::error!("reading a stored file ({what}): {e}");
        ApiError::not_found(what)
    })?;
    axum::response::Response::builder()
        .header(axum::http::header::CONTENT_TYPE, mime)
        .header(axum::http::header::CONTENT_LENGTH, file.size)
        .header(axum::http::header::CACHE_CONTROL, "private, no-store")
        .body(axum::body::Body::from_stream(file.chunks))
        .map_err(ApiError::internal)
}

/// [`stored_file`] answering a `Range` request header too (media files and previews), because
/// video players ask for byte ranges — Safari's only plays a video served that way, and seeking
/// needs it everywhere. One range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) inside the file: 206 with
/// `Content-Range`; anything else (several ranges, a range past the end, a malformed header):
/// the whole file with 200, as HTTP lets a server ignore a range. `Accept-Ranges: bytes` always.
pub async fn stored_file_ranged(
    st: &AppState,
    key: &str,
    mime: &str,
    what: &str,
    range: Option<&axum::http::HeaderValue>,
) -> ApiResult<axum::response::Response> {
    use axum::http::header;
    let missing = |e: std::io::Error| {
        tracing::error!("reading a stored file ({what}): {e}");
        ApiError::not_found(what)
    };
    let builder = axum::response::Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(header::CACHE_CONTROL, "private, no-store")
        .header(header::ACCEPT_RANGES, "bytes");
    if let Some(spec) = range.and_then(|h| h.to_str().ok()) {
        let total = st.blobs.size(key).await.map_err(missing)?;
        if let Some((start, end)) = byte_range(spec, total) {
            let part = st
                .blobs
                .get_range_stream(key, start..end + 1)
                .await
                .map_err(missing)?;
            return builder
                .status(axum::http::StatusCode::PARTIAL_CONTENT)
                .header(
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{end}/{total}"),
                )
                .header(header::CONTENT_LENGTH, part.size)
                .body(axum::body::Body::from_stream(part.chunks))
                .map_err(ApiError::internal);
        }
    }
    let file = st.blobs.get_stream(key).await.map_err(missing)?;
    builder
        .header(header::CONTENT_LENGTH, file.size)
        .body(axum::body::Body::from_stream(file.chunks))
        .map_err(ApiError::internal)
}

/// The first and last byte (inclusive) of a one-range `Range` header value for a file of `total`
/// bytes; `None` when it is not one satisfiable byte range.
pub fn byte_range(spec: &str, total: u64) -> Option<(u64, u64)> {
    let set = spec.trim().strip_prefix("bytes=")?.trim();
    if set.contains(',') || total == 0 {
        return None;
    }
    let (a, b) = set.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let number = |x: &str| {
        (!x.is_empty() && x.bytes().all(|c| c.is_ascii_digit()))
            .then(|| x.parse::<u64>().ok())
            .flatten()
    };
    match (a.is_empty(), b.is_empty()) {
        // the last n bytes
        (true, false) => {
            let n = number(b)?;
            (n > 0).then(|| (total - n.min(total), total - 1))
        }
        (false, true) => {
            let start = number(a)?;
            (start < total).then_some((start, total - 1))
        }
        (false, false) => {
            let (start, end) = (number(a)?, number(b)?);
            (start <= end && start < total).then_some((start, end.min(total - 1)))
        }
        (true, true) => None,
    }
}

/// `{"items": [...], "total": N}` — the list shape of every list endpoint.
pub fn page<T: serde::Serialize>(items: Vec<T>, total: i64) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "items": items, "total": total, "count": total }))
}

#[cfg(test)]
mod tests {
    use super::{byte_range, unix_time_us};

    #[test]
    fn byte_ranges_are_one_satisfiable_range() {
        assert_eq!(byte_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(byte_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(byte_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(byte_range("bytes=-5000", 1000), Some((0, 999)));
        assert_eq!(byte_range("bytes=990-2000", 1000), Some((990, 999)));
        assert_eq!(byte_range("bytes=0-0", 1), Some((0, 0)));
        for bad in [
            "bytes=1000-",
            "bytes=5-4",
            "bytes=-0",
            "bytes=0-1,5-6",
            "bytes=-",
            "bytes=a-b",
            "items=0-1",
            "bytes=+1-2",
        ] {
            assert_eq!(byte_range(bad, 1000), None, "{bad}");
        }
        assert_eq!(byte_range("bytes=0-", 0), None);
    }

    #[test]
    fn time_filters_take_seconds_milliseconds_and_microseconds() {
        let us = 1_764_000_000_000_000i64; // November 2025
        assert_eq!(unix_time_us(1_764_000_000.0), us);
        assert_eq!(unix_time_us(1_764_000_000_000.0), us);
        assert_eq!(unix_time_us(1_764_000_000_000_000.0), us);
        assert_eq!(unix_time_us(1_764_000_000.5), us + 500_000);
        assert_eq!(unix_time_us(0.0), 0);
    }
}
