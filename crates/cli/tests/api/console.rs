//! How the binary serves the operator console and the API reference, over HTTP: content types,
//! the Content-Security-Policy, revalidation with ETags, unknown files; Swagger UI from the asset
//! cache, and the built-in reference page when the cache is empty. (What the console does is
//! tested in a browser: browser_console.rs.)

use crate::common::*;
use reqwest::Method;

fn header(r: &reqwest::blocking::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn console_files_are_served_with_a_strict_policy() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    let s = Server::start(Backend::Sqlite, &[("FACEPROOF_ASSETS_DIR", dir)]).unwrap();
    for (path, mime) in [
        ("/console/", "text/html"),
        ("/console", "text/html"),
        ("/console/js/app.js", "text/javascript"),
        ("/console/js/pages/order.js", "text/javascript"),
        ("/console/app.css", "text/css"),
        ("/console/favicon.svg", "image/svg+xml"),
    ] {
        let r = s.req(Method::GET, path, None).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(header(&r, "content-type").starts_with(mime), "{path}");
        let csp = header(&r, "content-security-policy");
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self';"),
            "{csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        assert_eq!(header(&r, "cache-control"), "no-cache");
        // unchanged files revalidate without a body
        let etag = header(&r, "etag");
        let again = s
            .req(Method::GET, path, None)
            .header("If-None-Match", &etag)
            .send()
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.bytes().unwrap().is_empty());
    }
    let page = s
        .req(Method::GET, "/console/", None)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains(r#"<script type="module" src="/console/js/app.js">"#));
    let r = s
        .req(Method::GET, "/console/js/nope.js", None)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = s
        .req(Method::GET, "/console/../Cargo.toml", None)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);

    // No Swagger UI in the cache: the built-in reference page, and its files are 404.
    let r = s.req(Method::GET, "/api/docs", None).send().unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    assert!(text.contains("faceproof API") && !text.contains("swagger-ui-bundle"));
    assert_error(
        s.call(Method::GET, "/api/docs/swagger-ui-bundle.js", None, None),
        404,
        10,
    );
}

/// Swagger UI as `faceproof assets fetch` installs it (skipped when npm cannot reach it and
/// the shared cache has no copy; under CI it must work).
#[test]
fn swagger_ui_from_the_asset_cache() {
    use faceproof_server::assets::{default_assets_dir, SWAGGER_UI};
    let cache = default_assets_dir();
    if SWAGGER_UI.load(&cache).is_none() {
        if let Err(e) = SWAGGER_UI.fetch(&cache) {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Swagger UI could not be fetched: {e:#}"
            );
            eprintln!("SKIPPED: Swagger UI could not be fetched: {e:#}");
            return;
        }
    }
    let dir = cache.to_str().unwrap();
    let s = Server::start(Backend::Sqlite, &[("FACEPROOF_ASSETS_DIR", dir)]).unwrap();
    let r = s.req(Method::GET, "/api/docs", None).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-security-policy").contains("script-src 'self';"));
    let page = r.text().unwrap();
    assert!(page.contains("/api/docs/swagger-ui-bundle.js") && page.contains("/api/docs/init.js"));
    for (file, mime) in [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("init.js", "text/javascript"),
        ("LICENSE", "text/plain"),
    ] {
        let r = s
            .req(Method::GET, &format!("/api/docs/{file}"), None)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{file}");
        assert!(header(&r, "content-type").starts_with(mime), "{file}");
        assert!(!r.bytes().unwrap().is_empty());
    }
    assert_error(
        s.call(Method::GET, "/api/docs/index.html", None, None),
        404,
        10,
    );
}
