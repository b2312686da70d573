//! Signed, expiring media links. Oz hands out direct links and its clients fetch `original_url`,
//! best shots and previews with a plain HTTP GET, without the token header. Every media URL in a
//! JSON answer to a signed-in member of a company gets `?exp=<unix>&c=<company>&sig=<hex>`:
//! HMAC-SHA256 under the company's own link key over the media id, the expiry and the viewer's
//! company. The media routes serve such a link without the header until `exp`; a changed id,
//! expiry or company, or a link past its expiry answers 403 (error 9); the token header keeps
//! working as before (and wins when both are present). A link only ever opens media of the
//! company it names, so it never reaches another company's media.
//!
//! The links are added here, at the HTTP edge ([`sign_links`], a middleware that rewrites JSON
//! answers), so the views and services below never learn about them. Viewers outside any company
//! (ADMIN, OPERATOR) get plain links; `media_link_ttl_secs = 0` turns signing off. The link key
//! is made with the company (or on first use for older companies) and kept in its settings
//! (`media_link_key`, never shown by the settings endpoint).

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

use super::QueryPairs;
use crate::app::AppState;
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::now_us;

/// The company of the signed-in caller, filled by the [`crate::auth::Actor`] extractor: `None`
/// until a token was accepted, `Some(None)` for a viewer outside any company.
#[derive(Clone, Default)]
pub struct ViewerSlot(pub Arc<OnceLock<Option<Uuid>>>);

/// The largest JSON answer rewritten (larger answers keep plain links).
const MAX_REWRITE_BYTES: usize = 64 * 1024 * 1024;

fn mac(key: &str, media: Uuid, exp: i64, company: Uuid) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("faceproof-media-link.{media}.{exp}.{company}").as_bytes());
    mac
}

/// The query that opens `media` until `exp` for members of `company`.
pub fn link_query(key: &str, media: Uuid, exp: i64, company: Uuid) -> String {
    let sig = hex::encode(mac(key, media, exp, company).finalize().into_bytes());
    format!("exp={exp}&c={company}&sig={sig}")
}

/// The company's link key, created and stored on first use.
pub async fn company_link_key(st: &AppState, company: Uuid) -> ApiResult<String> {
    let mut settings = st
        .store
        .company_settings(company)
        .await?
        .unwrap_or_else(|| json!({}));
    if let Some(k) = settings.get("media_link_key").and_then(Value::as_str) {
        return Ok(k.to_string());
    }
    let key = crate::webhooks::new_secret();
    settings["media_link_key"] = json!(key);
    st.store.company_set_settings(company, &settings).await?;
    Ok(key)
}

/// Middleware: give the handlers a [`ViewerSlot`]; sign the media URLs of a successful JSON
/// answer to a company member.
pub async fn sign_links(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let slot = ViewerSlot::default();
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    let ttl = st.cfg.media_link_ttl_secs;
    let Some(Some(company)) = slot.0.get().copied() else {
        return response;
    };
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if ttl <= 0 || !response.status().is_success() || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_REWRITE_BYTES).await {
        Ok(b) => b,
        Err(e) => return ApiError::internal(format!("reading a JSON answer: {e}")).into_response(),
    };
    match signed(&st, &bytes, company, ttl).await {
        Some(out) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(out))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// The answer with its media URLs signed; `None` when it has none (or the key is unavailable:
/// the links then stay plain and still open with the token header).
async fn signed(st: &AppState, bytes: &[u8], company: Uuid, ttl: i64) -> Option<Vec<u8>> {
    if !bytes.windows(11).any(|w| w == b"/api/media/") {
        return None;
    }
    let mut value = serde_json::from_slice::<Value>(bytes).ok()?;
    let key = match company_link_key(st, company).await {
        Ok(k) => k,
        Err(e) => {
            tracing::error!("media link key of company {company}: {}", e.message);
            return None;
        }
    };
    let exp = now_us() / 1_000_000 + ttl;
    sign_value(&mut value, &key, exp, company);
    serde_json::to_vec(&value).ok()
}

/// The media id of a URL ending in `/api/media/{id}/file|thumb|preview|frames/{n}` (no query).
fn media_of_url(url: &str) -> Option<Uuid> {
    if url.contains('?') {
        return None;
    }
    let (_, rest) = url.rsplit_once("/api/media/")?;
    let (id, what) = rest.split_once('/')?;
    let known = matches!(what, "file" | "thumb" | "preview")
        || what
            .strip_prefix("frames/")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    known.then(|| id.parse().ok()).flatten()
}

fn sign_value(v: &mut Value, key: &str, exp: i64, company: Uuid) {
    match v {
        Value::String(s) => {
            if let Some(media) = media_of_url(s) {
                s.push('?');
                s.push_str(&link_query(key, media, exp, company));
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| sign_value(i, key, exp, company)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|i| sign_value(i, key, exp, company)),
        _ => {}
    }
}

/// A media route's caller without the token header: `Ok(true)` when the query carries a valid,
/// unexpired link for `media` of `media_company`; `Ok(false)` when it carries no link at all;
/// 403 for a link that is tampered with, expired, or names another company.
pub async fn link_opens(
    st: &AppState,
    q: &QueryPairs,
    media: Uuid,
    media_company: Option<Uuid>,
) -> ApiResult<bool> {
    let Some(sig) = q.get("sig") else {
        return Ok(false);
    };
    let refused = || ApiError::new(Code::Forbidden, "This media link is invalid or has expired");
    let exp: i64 = q
        .get("exp")
        .and_then(|e| e.parse().ok())
        .ok_or_else(refused)?;
    let company: Uuid = q
        .get("c")
        .and_then(|c| c.parse().ok())
        .ok_or_else(refused)?;
    if exp < now_us() / 1_000_000 || media_company != Some(company) {
        return Err(refused());
    }
    let sig = hex::decode(sig).map_err(|_| refused())?;
    let key = company_link_key(st, company).await?;
    mac(&key, media, exp, company)
        .verify_slice(&sig)
        .map_err(|_| refused())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_media_file_urls_are_signed() {
        let id = Uuid::new_v4();
        for (url, ok) in [
            (format!("http://h/api/media/{id}/file"), true),
            (format!("http://h/api/media/{id}/thumb"), true),
            (format!("http://h/api/media/{id}/frames/12"), true),
            (format!("http://h/api/media/{id}/frames/x"), false),
            (format!("http://h/api/media/{id}/file?exp=1"), false),
            (format!("http://h/api/media/{id}"), false),
            ("http://h/api/media/nope/file".to_string(), false),
        ] {
            assert_eq!(media_of_url(&url).is_some(), ok, "{url}");
        }
        let company = Uuid::new_v4();
        let mut v = json!({"a": [format!("http://h/api/media/{id}/file")], "b": "text"});
        sign_value(&mut v, "k", 100, company);
        let signed = v["a"][0].as_str().unwrap();
        assert!(
            signed.ends_with(&link_query("k", id, 100, company)),
            "{signed}"
        );
        assert_eq!(v["b"], "text");
        // the signature binds the media, the expiry and the company
        assert_ne!(
            link_query("k", id, 100, company),
            link_query("k", id, 101, company)
        );
        assert_ne!(
            link_query("k", id, 100, company),
            link_query("k", Uuid::new_v4(), 100, company)
        );
        assert_ne!(
            link_query("k", id, 100, company),
            link_query("k", id, 100, Uuid::new_v4())
        );
    }
}
