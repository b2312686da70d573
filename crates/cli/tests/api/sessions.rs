//! Sessions and accounts as an attacker meets them (issue 9): password changes and deactivation
//! end sessions, sign-out, refresh rotation with reuse detection, login lockout per (account,
//! address) pair behind a trusted proxy, e-mail conflicts that disclose nothing, and company
//! removal with everything it holds — on SQLite and PostgreSQL.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn login_pair(s: &Server, email: &str, password: &str) -> (String, String) {
    let r = s.login_raw(email, password);
    assert_eq!(r.status(), 200, "login of {email}");
    let v: Value = r.json().unwrap();
    (
        v["access_token"].as_str().unwrap().to_string(),
        v["expire_token"].as_str().unwrap().to_string(),
    )
}

fn me(s: &Server, token: &str) -> u16 {
    s.call(Method::GET, "/api/users/me", Some(token), None).0
}

fn refresh(s: &Server, access: Option<&str>, expire_token: &str) -> (u16, Value) {
    s.call(
        Method::POST,
        "/api/authorize/refresh",
        access,
        Some(json!({ "expire_token": expire_token })),
    )
}

fn patch_user(s: &Server, token: &str, id: &str, body: Value) -> (u16, Value) {
    s.call(
        Method::PATCH,
        &format!("/api/users/{id}"),
        Some(token),
        Some(body),
    )
}

fn sessions_end(s: &Server) {
    let root = s.admin();
    let company = s.company(&root, "acme");
    let (uid, first) = s.user(&root, "ann@acme.test", "CLIENT", Some(&company));
    let second = s.login("ann@acme.test", "password-123");

    // Own password change: needs the current password; ends the other sessions, keeps this one.
    assert_error(
        patch_user(s, &first, &uid, json!({"password": "new-password-1"})),
        400,
        3,
    );
    assert_error(
        patch_user(
            s,
            &first,
            &uid,
            json!({"password": "new-password-1", "current_password": "wrong-one"}),
        ),
        403,
        9,
    );
    assert_eq!(me(s, &second), 200, "a refused change ends nothing");
    let (st, v) = patch_user(
        s,
        &first,
        &uid,
        json!({"password": "new-password-1", "current_password": "password-123"}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(me(s, &first), 200, "the changing session survives");
    assert_error(
        s.call(Method::GET, "/api/users/me", Some(&second), None),
        401,
        7,
    );
    assert_eq!(s.login_raw("ann@acme.test", "password-123").status(), 401);

    // A password set by an administrator ends every session of the user.
    let third = s.login("ann@acme.test", "new-password-1");
    let (st, v) = patch_user(s, &root, &uid, json!({"password": "admin-set-pass"}));
    assert_eq!(st, 200, "{v}");
    assert_eq!((me(s, &first), me(s, &third)), (401, 401));

    // Deactivation ends them all; re-activation does not bring them back.
    let fourth = s.login("ann@acme.test", "admin-set-pass");
    let (a, r) = login_pair(s, "ann@acme.test", "admin-set-pass");
    assert_eq!(
        patch_user(s, &root, &uid, json!({"is_active": false})).0,
        200
    );
    assert_eq!(me(s, &fourth), 401);
    assert_eq!(s.login_raw("ann@acme.test", "admin-set-pass").status(), 403);
    assert_eq!(
        patch_user(s, &root, &uid, json!({"is_active": true})).0,
        200
    );
    assert_eq!((me(s, &fourth), me(s, &a)), (401, 401), "not revived");
    assert_error(refresh(s, Some(&a), &r), 401, 7);

    // Sign out: this session only; sign out everywhere: all of them.
    let one = s.login("ann@acme.test", "admin-set-pass");
    let two = s.login("ann@acme.test", "admin-set-pass");
    let three = s.login("ann@acme.test", "admin-set-pass");
    assert_eq!(
        s.call(Method::POST, "/api/authorize/logout", Some(&one), None)
            .0,
        204
    );
    assert_eq!((me(s, &one), me(s, &two), me(s, &three)), (401, 200, 200));
    assert_error(
        s.call(Method::POST, "/api/authorize/logout", Some(&one), None),
        401,
        7,
    );
    assert_eq!(
        s.call(Method::POST, "/api/authorize/logout_all", Some(&two), None)
            .0,
        204
    );
    assert_eq!((me(s, &two), me(s, &three)), (401, 401));
    assert_eq!(me(s, &root), 200, "other users are untouched");
}

fn refresh_rotation(s: &Server) {
    let root = s.admin();
    let company = s.company(&root, "rotors");
    s.user(&root, "rob@rotors.test", "CLIENT", Some(&company));
    let (a1, r1) = login_pair(s, "rob@rotors.test", "password-123");
    let (other_session, _) = login_pair(s, "rob@rotors.test", "password-123");

    // Both halves of the pair are needed.
    assert_error(refresh(s, None, &r1), 401, 6);
    assert_error(refresh(s, Some(&other_session), &r1), 403, 9);
    assert_error(refresh(s, Some("garbage"), &r1), 403, 9);

    let (st, v) = refresh(s, Some(&a1), &r1);
    assert_eq!(st, 200, "{v}");
    let a2 = v["access_token"].as_str().unwrap().to_string();
    let r2 = v["expire_token"].as_str().unwrap().to_string();
    assert_eq!(me(s, &a2), 200);
    assert_eq!(
        me(s, &a1),
        401,
        "the old access token is retired once the new one is used"
    );

    // Rotating again works with the new pair.
    let (st, v) = refresh(s, Some(&a2), &r2);
    assert_eq!(st, 200, "{v}");
    let a3 = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(me(s, &a3), 200);

    // A replayed refresh token ends the whole family (a thief and the owner both lose it).
    let v = assert_error(refresh(s, Some(&a1), &r1), 401, 7);
    assert!(
        v["error_message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{v}"
    );
    assert_eq!(me(s, &a3), 401, "the family is revoked");
    assert_error(refresh(s, Some(&a2), &r2), 401, 7);
    assert_eq!(me(s, &other_session), 200, "another sign-in is not");
}

fn lockout_per_pair(s: &Server) {
    let root = s.admin();
    let company = s.company(&root, "natco");
    s.user(&root, "victim@natco.test", "CLIENT", Some(&company));
    s.user(&root, "colleague@natco.test", "CLIENT", Some(&company));
    let login_from = |addr: &str, email: &str, password: &str| {
        s.req(Method::POST, "/api/authorize/auth", None)
            .header("X-Forwarded-For", addr)
            .json(&json!({"credentials": {"email": email, "password": password}}))
            .send()
            .unwrap()
    };
    let attacker = "203.0.113.66";
    for _ in 0..3 {
        assert_eq!(
            login_from(attacker, "victim@natco.test", "guess").status(),
            401
        );
    }
    let blocked = login_from(attacker, "victim@natco.test", "password-123");
    assert_eq!(blocked.status(), 429, "the attacking pair waits");
    let v: Value = blocked.json().unwrap();
    assert_eq!(v["error_code"], 9);
    assert!(v["details"]["retry_after"].as_u64().unwrap() >= 1);
    assert_eq!(
        login_from("198.51.100.7", "victim@natco.test", "password-123").status(),
        200,
        "the victim from their own address is not locked out"
    );
    assert_eq!(
        login_from(attacker, "colleague@natco.test", "password-123").status(),
        200,
        "others behind the attacker's NAT are not locked out"
    );
}

fn email_conflicts(s: &Server) {
    let root = s.admin();
    let a = s.company(&root, "Alpha Secret Corp");
    let b = s.company(&root, "Beta");
    s.user(&root, "taken@alpha.test", "CLIENT", Some(&a));
    let (_, b_admin) = s.user(&root, "boss@beta.test", "CLIENT ADMIN", Some(&b));
    s.user(&root, "mate@beta.test", "CLIENT", Some(&b));
    let create = |email: &str| {
        s.call(
            Method::POST,
            "/api/users/",
            Some(&b_admin),
            Some(json!({"email": email, "password": "password-123", "user_type": "CLIENT"})),
        )
    };
    let foreign = assert_error(create("Taken@Alpha.test"), 409, 4);
    let own = assert_error(create("mate@beta.test"), 409, 4);
    assert_eq!(
        foreign, own,
        "another company's account is answered like one's own"
    );
    let text = foreign.to_string();
    assert!(
        !text.contains("Alpha") && !text.contains(&a),
        "nothing about the holder: {text}"
    );
}

fn company_removal(s: &Server, photo: &std::path::Path) {
    let root = s.admin();
    let gone = s.company(&root, "leaving");
    let stays = s.company(&root, "staying");
    let (_, client) = s.user(&root, "c@leaving.test", "CLIENT", Some(&gone));
    let (_, cadmin) = s.user(&root, "a@leaving.test", "CLIENT ADMIN", Some(&gone));
    let (_, other) = s.user(&root, "c@staying.test", "CLIENT", Some(&stays));
    let selfie = |token: &str| {
        let (st, v) = s.upload(
            "/api/folders/",
            token,
            &[("a", photo)],
            Some(json!({"media:tags": {"a": ["photo_selfie"]}})),
        );
        assert_eq!(st, 201, "{v}");
    };
    selfie(&other);
    let files_of_others = s.media_files();
    selfie(&client);
    let (st, c) = s.call(
        Method::POST,
        "/api/collections/",
        Some(&cadmin),
        Some(json!({"alias": "blacklist"})),
    );
    assert_eq!(st, 201, "{c}");
    let cid = c["collection_id"].as_str().unwrap();
    let (st, p) = s.upload(
        &format!("/api/collections/{cid}/persons/"),
        &cadmin,
        &[("p", photo)],
        Some(json!({"media:tags": {"p": ["photo_selfie"]}})),
    );
    assert_eq!(st, 201, "{p}");

    // Refused while it holds anything, saying what.
    let v = assert_error(
        s.call(
            Method::DELETE,
            &format!("/api/companies/{gone}"),
            Some(&root),
            None,
        ),
        409,
        4,
    );
    assert_eq!(
        v["details"],
        json!({"users": 2, "folders": 1, "collections": 1})
    );
    assert_eq!(s.db_count("folders"), 2, "a refusal removes nothing");
    let users_before = s.db_count("users");

    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/api/companies/{gone}?cascade=true"),
            Some(&root),
            None
        )
        .0,
        204
    );
    assert_eq!(me(s, &client), 401, "its users' sessions are gone");
    assert_eq!(s.login_raw("c@leaving.test", "password-123").status(), 401);
    assert_eq!(s.db_count("folders"), 1);
    assert_eq!(s.db_count("collections"), 0);
    assert_eq!(s.db_count("persons"), 0);
    assert_eq!(s.db_count("person_images"), 0);
    assert_eq!(
        s.db_count("users"),
        users_before - 2,
        "its two users, nobody else"
    );
    assert_eq!(
        s.media_files(),
        files_of_others,
        "its files are gone from disk, the other company's stay"
    );
    let (st, list) = s.call(Method::GET, "/api/folders/", Some(&other), None);
    assert_eq!(st, 200);
    assert_eq!(
        list["total"], 1,
        "the other company keeps its folder: {list}"
    );
    assert_error(
        s.call(
            Method::DELETE,
            &format!("/api/companies/{gone}"),
            Some(&root),
            None,
        ),
        404,
        10,
    );
}

fn run(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let photo = photos(&data, 1).remove(0);
    on(
        backend,
        &[
            ("FACEPROOF_LOGIN_MAX_FAILURES", "3"),
            ("FACEPROOF_TRUSTED_PROXIES", "127.0.0.1"),
        ],
        |s| {
            sessions_end(s);
            refresh_rotation(s);
            lockout_per_pair(s);
            email_conflicts(s);
            company_removal(s, &photo);
        },
    );
}

#[test]
fn sessions_sqlite() {
    run(Backend::Sqlite);
}

#[test]
fn sessions_postgres() {
    run(Backend::Postgres);
}
