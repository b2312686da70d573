//! The operator console (`/console/`): a static single-page app (plain ES modules and CSS under
//! `crates/server/console/`, no build step) embedded in the binary at compile time. It is a client
//! of the public API only, so it needs no route of its own beyond its files.
//!
//! Every answer carries a strict Content-Security-Policy (scripts and styles from this origin
//! only, no inline code, no eval; media as `blob:` URLs because the API's media need the token
//! header), and `Cache-Control: no-cache` with an ETag, so a new binary's console is picked up at
//! once while unchanged files revalidate with a 304.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

use crate::app::AppState;

/// The console's files: (path under `/console/`, content type, bytes).
macro_rules! assets {
    ($($path:literal => $mime:literal),* $(,)?) => {
        &[$(($path, $mime, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $path)) as &[u8])),*]
    };
}

pub const ASSETS: &[(&str, &str, &[u8])] = assets![
    "index.html" => "text/html; charset=utf-8",
    "app.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "js/api.js" => "text/javascript; charset=utf-8",
    "js/app.js" => "text/javascript; charset=utf-8",
    "js/chart.js" => "text/javascript; charset=utf-8",
    "js/dom.js" => "text/javascript; charset=utf-8",
    "js/roles.js" => "text/javascript; charset=utf-8",
    "js/router.js" => "text/javascript; charset=utf-8",
    "js/pages/blacklist.js" => "text/javascript; charset=utf-8",
    "js/pages/common.js" => "text/javascript; charset=utf-8",
    "js/pages/create.js" => "text/javascript; charset=utf-8",
    "js/pages/login.js" => "text/javascript; charset=utf-8",
    "js/pages/order.js" => "text/javascript; charset=utf-8",
    "js/pages/orders.js" => "text/javascript; charset=utf-8",
    "js/pages/settings.js" => "text/javascript; charset=utf-8",
    "js/pages/stats.js" => "text/javascript; charset=utf-8",
    "js/pages/users.js" => "text/javascript; charset=utf-8",
];

/// Scripts, styles, fonts and API calls from this origin only; images and videos also from
/// `blob:` (authenticated media fetched by the app) and `data:`; no plugins, frames or `<base>`.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        // `/console/` arrives as `/console` (trailing slashes are normalized before routing)
        .route(
            "/console",
            get(|h: HeaderMap| async move { serve("index.html", &h) }),
        )
        .route(
            "/console/{*path}",
            get(|Path(p): Path<String>, h: HeaderMap| async move { serve(&p, &h) }),
        )
}

fn etags() -> &'static Vec<String> {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(_, _, bytes)| format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..20]))
            .collect()
    })
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn serve(path: &str, req: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|(p, _, _)| *p == path) else {
        let mut resp = (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Not found",
        )
            .into_response();
        security_headers(resp.headers_mut());
        return resp;
    };
    let (_, mime, bytes) = ASSETS[i];
    let etag = &etags()[i];
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, mime)], bytes).into_response()
    };
    let h = resp.headers_mut();
    security_headers(h);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    /// Every file under `console/` is served (a new page module cannot be forgotten) and every
    /// served file exists.
    #[test]
    fn every_console_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut found = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    found.push(
                        p.strip_prefix(&root)
                            .unwrap()
                            .to_string_lossy()
                            .replace('\\', "/"),
                    );
                }
            }
        }
        found.sort();
        let mut served: Vec<String> = ASSETS.iter().map(|(p, _, _)| p.to_string()).collect();
        served.sort();
        assert_eq!(found, served);
    }

    /// No inline script or style and no eval in the console: the CSP would block them.
    #[test]
    fn console_has_no_inline_code() {
        for (path, _, bytes) in ASSETS {
            let text = std::str::from_utf8(bytes).unwrap();
            if path.ends_with(".html") {
                for (i, _) in text.match_indices("<script") {
                    let tag = &text[i..i + text[i..].find('>').unwrap()];
                    assert!(tag.contains("src="), "{path}: inline <script>");
                }
                assert!(!text.contains("<style"), "{path}: inline <style>");
                assert!(!text.contains(" style="), "{path}: style attribute");
                let handler = text.split_whitespace().any(|w| {
                    w.starts_with("on")
                        && w.contains('=')
                        && w[2..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_lowercase())
                });
                assert!(!handler, "{path}: inline event handler");
            }
            if path.ends_with(".js") {
                for bad in [
                    "eval(",
                    "new Function",
                    "innerHTML",
                    "insertAdjacentHTML",
                    "document.write",
                ] {
                    assert!(!text.contains(bad), "{path}: {bad}");
                }
            }
        }
    }
}
