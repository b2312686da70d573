//! Login, refresh, expiry, rate limits, token errors, error shapes, docs — on SQLite and PostgreSQL.

use std::time::Duration;

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn auth_flows(s: &Server) {
    // Version, docs, OpenAPI need no token.
    assert_eq!(s.call(Method::GET, "/api/version/", None, None).0, 200);
    let (st, doc) = s.call(Method::GET, "/api/openapi.json", None, None);
    assert_eq!(st, 200);
    assert!(doc["paths"]["/api/folders"]["post"].is_object());
    let page = s.req(Method::GET, "/api/docs", None).send().unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("<html"));

    // Login: response shape, wrong password, malformed bodies.
    let r = s.login_raw(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    let token = v["access_token"].as_str().unwrap().to_string();
    let expire_token = v["expire_token"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = v["expire_date"].as_i64().unwrap();
    assert!(
        (now + 800..=now + 1000).contains(&exp),
        "15 minutes by default: {exp} vs {now}"
    );
    assert_eq!(v["user"]["user_type"], "ADMIN");

    assert_error(
        s.call(
            Method::POST,
            "/api/authorize/auth",
            None,
            Some(json!({"credentials": {"email": ADMIN_EMAIL, "password": "nope"}})),
        ),
        401,
        7,
    );
    assert_error(
        s.call(
            Method::POST,
            "/api/authorize/auth/",
            None,
            Some(json!({"email": ADMIN_EMAIL})),
        ),
        400,
        3,
    );
    let malformed = s
        .req(Method::POST, "/api/authorize/auth", None)
        .header("content-type", "application/json")
        .body("{\"credentials\": ")
        .send()
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(malformed.json::<Value>().unwrap()["error_code"], 3);

    // Token errors: missing 6, unknown 7; trailing slash optional; unknown path 10; wrong method 1.
    assert_error(s.call(Method::GET, "/api/folders", None, None), 401, 6);
    assert_error(
        s.call(Method::GET, "/api/folders/", Some("not-a-token"), None),
        401,
        7,
    );
    assert_eq!(
        s.call(Method::GET, "/api/folders/", Some(&token), None).0,
        200
    );
    assert_eq!(
        s.call(Method::GET, "/api/folders", Some(&token), None).0,
        200
    );
    assert_error(
        s.call(Method::GET, "/api/nothing/here", Some(&token), None),
        404,
        10,
    );
    assert_error(
        s.call(Method::PUT, "/api/folders", Some(&token), None),
        405,
        1,
    );
    assert_error(
        s.call(Method::GET, "/api/folders/not-a-uuid", Some(&token), None),
        400,
        5,
    );

    // Refresh: errors, then a new pair; the old pair dies when the new one is first used.
    assert_error(
        s.call(
            Method::POST,
            "/api/authorize/refresh",
            None,
            Some(json!({})),
        ),
        400,
        3,
    );
    let v = assert_error(
        s.call(
            Method::POST,
            "/api/authorize/refresh/",
            None,
            Some(json!({"expire_token": "x"})),
        ),
        401,
        7,
    );
    assert_eq!(v["error_message"], "Session not found");
    let company = s.company(&token, "Refreshers");
    let (_, other) = s.user(&token, "other@example.com", "CLIENT", Some(&company));
    assert_error(
        s.call(
            Method::POST,
            "/api/authorize/refresh",
            Some(&other),
            Some(json!({"expire_token": expire_token})),
        ),
        403,
        9,
    );
    let (st, v) = s.call(
        Method::POST,
        "/api/authorize/refresh",
        Some(&token),
        Some(json!({"expire_token": expire_token})),
    );
    assert_eq!(st, 200, "{v}");
    let new_token = v["access_token"].as_str().unwrap().to_string();
    assert!(v["expire_token"].is_string() && v["expire_date"].is_i64());
    assert_eq!(
        s.call(Method::GET, "/api/users/me", Some(&token), None).0,
        200,
        "old token valid until the new one is used"
    );
    assert_eq!(
        s.call(Method::GET, "/api/users/me", Some(&new_token), None)
            .0,
        200
    );
    assert_error(
        s.call(Method::GET, "/api/users/me", Some(&token), None),
        401,
        7,
    );

    // CLIENT SERVICE tokens live 5 years.
    s.user(
        &new_token,
        "svc@example.com",
        "CLIENT SERVICE",
        Some(&company),
    );
    let v: Value = s
        .login_raw("svc@example.com", "password-123")
        .json()
        .unwrap();
    assert!(v["expire_date"].as_i64().unwrap() > now + 4 * 365 * 24 * 3600);

    // Rate limit (3 failures per account here): the 4th attempt is refused even with the right password.
    for _ in 0..3 {
        assert_eq!(
            s.login_raw("other@example.com", "wrong-password").status(),
            401
        );
    }
    let r = s.login_raw("other@example.com", "password-123");
    assert_eq!(r.status(), 429);
    let v: Value = r.json().unwrap();
    assert_eq!(v["error_code"], 9);
    assert!(v["details"]["retry_after"].as_u64().unwrap() > 0);
}

fn expiry(s: &Server) {
    // TTL 6 s with sliding expiry: regular use keeps the token alive past its first expiry date.
    // Each wait leaves 2 s of margin either side, for a request answered slowly on a busy machine.
    let token = s.admin();
    std::thread::sleep(Duration::from_millis(4000));
    assert_eq!(
        s.call(Method::GET, "/api/users/me", Some(&token), None).0,
        200
    );
    std::thread::sleep(Duration::from_millis(4000));
    assert_eq!(
        s.call(Method::GET, "/api/users/me", Some(&token), None).0,
        200,
        "sliding expiry"
    );
    std::thread::sleep(Duration::from_millis(8000));
    assert_error(
        s.call(Method::GET, "/api/users/me", Some(&token), None),
        401,
        8,
    );
}

const AUTH_ENV: &[(&str, &str)] = &[("FACEPROOF_LOGIN_MAX_FAILURES", "3")];
const EXPIRY_ENV: &[(&str, &str)] = &[("FACEPROOF_SESSION_TTL", "6")];

#[test]
fn auth_sqlite() {
    on(Backend::Sqlite, AUTH_ENV, auth_flows);
}

#[test]
fn auth_postgres() {
    on(Backend::Postgres, AUTH_ENV, auth_flows);
}

#[test]
fn expiry_sqlite() {
    on(Backend::Sqlite, EXPIRY_ENV, expiry);
}

#[test]
fn expiry_postgres() {
    on(Backend::Postgres, EXPIRY_ENV, expiry);
}
