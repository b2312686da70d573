//! Companies, users, roles, cross-company isolation and user metadata — on SQLite and PostgreSQL.

use crate::common::*;
use reqwest::Method;
use serde_json::json;

/// Two companies and a user of each role (the OPERATOR sent with a company it does not get).
struct World {
    admin: String,
    a: String,
    b: String,
    cadmin_id: String,
    cadmin: String,
    client_id: String,
    client: String,
    cop: String,
    svc_id: String,
    svc: String,
    client_b_id: String,
    client_b: String,
    op_id: String,
    op: String,
}

fn world(s: &Server) -> World {
    let admin = s.admin();
    let a = s.company(&admin, "Alpha Bank");
    let b = s.company(&admin, "Beta Telecom");
    let (cadmin_id, cadmin) = s.user(&admin, "cadmin@a.example", "CLIENT ADMIN", Some(&a));
    let (client_id, client) = s.user(&admin, "client@a.example", "CLIENT", Some(&a));
    let (_, cop) = s.user(&admin, "cop@a.example", "CLIENT OPERATOR", Some(&a));
    let (svc_id, svc) = s.user(&admin, "svc@a.example", "CLIENT SERVICE", Some(&a));
    let (client_b_id, client_b) = s.user(&admin, "client@b.example", "CLIENT", Some(&b));
    let (op_id, op) = s.user(&admin, "operator@example.com", "OPERATOR", Some(&a));
    World {
        admin,
        a,
        b,
        cadmin_id,
        cadmin,
        client_id,
        client,
        cop,
        svc_id,
        svc,
        client_b_id,
        client_b,
        op_id,
        op,
    }
}

/// Two more users of company A: `new@a.example`, created by its CLIENT ADMIN (its id), and a
/// legacy service account created by the ADMIN.
fn more_users(s: &Server, w: &World) -> String {
    let (st, v) = s.call(
        Method::POST,
        "/api/users",
        Some(&w.cadmin),
        Some(json!({"email": "new@a.example", "password": "password-123", "user_type": "CLIENT", "first_name": "N"})),
    );
    assert_eq!(st, 201, "{v}");
    let a = &w.a;
    let legacy = json!({"email": "legacy@a.example", "password": "password-123", "is_service": true, "company_id": a,
                        "can_start_analyse_quality": false});
    let (st, l) = s.call(Method::POST, "/api/users", Some(&w.admin), Some(legacy));
    assert_eq!(st, 201, "{l}");
    v["user_id"].as_str().unwrap().to_string()
}

/// OPERATOR belongs to no company even when one is sent; flags default to true; a service
/// account is a CLIENT SERVICE; no password is shown.
fn operator_and_service_defaults(s: &Server) {
    let w = world(s);
    let World {
        admin,
        svc_id,
        svc,
        op_id,
        ..
    } = &w;
    let (_, v) = s.call(
        Method::GET,
        &format!("/api/users/{op_id}"),
        Some(admin),
        None,
    );
    assert!(v["company_id"].is_null(), "{v}");
    assert_eq!(v["can_start_analysis_quality"], true);
    assert_eq!(v["can_start_analysis_biometry"], true);
    assert_eq!(v["can_start_analysis_collection"], true);
    let (_, v) = s.call(
        Method::GET,
        &format!("/api/users/{svc_id}"),
        Some(svc),
        None,
    );
    assert_eq!(v["user_type"], "CLIENT SERVICE");
    assert_eq!(v["is_service"], true);
    assert!(v.get("password_hash").is_none() && v.get("password").is_none());
}

/// Companies: ADMIN full CRUD, OPERATOR reads all, client roles read their own only.
fn companies(s: &Server) {
    let w = world(s);
    let World {
        admin,
        a,
        b,
        cadmin,
        client,
        cop,
        svc,
        op,
        ..
    } = &w;
    let (st, v) = s.call(Method::GET, "/api/companies/", Some(admin), None);
    assert_eq!(st, 200);
    assert_eq!(v["total"], 2);
    let (_, v) = s.call(
        Method::GET,
        "/api/companies/?search_text=beta",
        Some(admin),
        None,
    );
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["company_id"], b.as_str());
    for who in [&client, &cadmin, &cop, &svc] {
        let (st, v) = s.call(Method::GET, "/api/companies", Some(who), None);
        assert_eq!(st, 200);
        assert_eq!(v["total"], 1);
        assert_eq!(v["items"][0]["company_id"], a.as_str());
        assert_eq!(
            s.call(Method::GET, &format!("/api/companies/{a}"), Some(who), None)
                .0,
            200
        );
        assert_error(
            s.call(Method::GET, &format!("/api/companies/{b}"), Some(who), None),
            404,
            10,
        );
        assert_error(
            s.call(
                Method::POST,
                "/api/companies",
                Some(who),
                Some(json!({"name": "X"})),
            ),
            403,
            9,
        );
        assert_error(
            s.call(
                Method::PATCH,
                &format!("/api/companies/{a}"),
                Some(who),
                Some(json!({"name": "X"})),
            ),
            403,
            9,
        );
        assert_error(
            s.call(
                Method::PATCH,
                &format!("/api/companies/{b}"),
                Some(who),
                Some(json!({"name": "X"})),
            ),
            404,
            10,
        );
        assert_error(
            s.call(
                Method::DELETE,
                &format!("/api/companies/{b}"),
                Some(who),
                None,
            ),
            403,
            9,
        );
    }
    assert_eq!(
        s.call(Method::GET, &format!("/api/companies/{b}"), Some(op), None)
            .0,
        200
    );
    assert_error(
        s.call(
            Method::POST,
            "/api/companies",
            Some(op),
            Some(json!({"name": "X"})),
        ),
        403,
        9,
    );
    let (st, v) = s.call(
        Method::PATCH,
        &format!("/api/companies/{b}/"),
        Some(admin),
        Some(json!({"name": "Beta Mobile"})),
    );
    assert_eq!((st, v["name"].as_str()), (200, Some("Beta Mobile")));
    assert_error(
        s.call(
            Method::DELETE,
            &format!("/api/companies/{b}"),
            Some(admin),
            None,
        ),
        409,
        4,
    );
    let c = s.company(admin, "Gamma");
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/api/companies/{c}"),
            Some(admin),
            None
        )
        .0,
        204
    );
    assert_error(
        s.call(
            Method::GET,
            &format!("/api/companies/{c}"),
            Some(admin),
            None,
        ),
        404,
        10,
    );
    assert_error(
        s.call(Method::POST, "/api/companies", Some(admin), Some(json!({}))),
        400,
        3,
    );
}

/// Users: a CLIENT ADMIN manages client roles in its company only; other roles create none.
fn client_admin_creates_users_in_its_company(s: &Server) {
    let w = world(s);
    let World {
        a,
        b,
        cadmin,
        client,
        cop,
        svc,
        op,
        ..
    } = &w;
    let (st, v) = s.call(
        Method::POST,
        "/api/users",
        Some(cadmin),
        Some(json!({"email": "new@a.example", "password": "password-123", "user_type": "CLIENT", "first_name": "N"})),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        v["company_id"],
        a.as_str(),
        "a company admin's users land in its company"
    );
    let admin_body =
        json!({"email": "evil@a.example", "password": "password-123", "user_type": "ADMIN"});
    assert_error(
        s.call(Method::POST, "/api/users", Some(cadmin), Some(admin_body)),
        403,
        9,
    );
    let other_company = json!({"email": "x@b.example", "password": "password-123", "user_type": "CLIENT", "company_id": b});
    assert_error(
        s.call(
            Method::POST,
            "/api/users",
            Some(cadmin),
            Some(other_company),
        ),
        404,
        10,
    );
    let body = json!({"email": "y@a.example", "password": "password-123", "user_type": "CLIENT"});
    for who in [&client, &cop, &svc, &op] {
        assert_error(
            s.call(Method::POST, "/api/users", Some(who), Some(body.clone())),
            403,
            9,
        );
    }
}

/// User validation: duplicate, unknown role, missing field, short password, no company, legacy
/// flags.
fn user_validation(s: &Server) {
    let w = world(s);
    let World { admin, a, .. } = &w;
    let dup = json!({"email": "CLIENT@a.example", "password": "password-123", "user_type": "CLIENT", "company_id": a});
    assert_error(
        s.call(Method::POST, "/api/users", Some(admin), Some(dup)),
        409,
        4,
    );
    let bad_role = json!({"email": "z@a.example", "password": "password-123", "user_type": "KING", "company_id": a});
    assert_error(
        s.call(Method::POST, "/api/users", Some(admin), Some(bad_role)),
        400,
        4,
    );
    assert_error(
        s.call(
            Method::POST,
            "/api/users",
            Some(admin),
            Some(json!({"email": "z@a.example"})),
        ),
        400,
        3,
    );
    let short = json!({"email": "z@a.example", "password": "short", "company_id": a});
    assert_error(
        s.call(Method::POST, "/api/users", Some(admin), Some(short)),
        400,
        4,
    );
    let no_company =
        json!({"email": "z@a.example", "password": "password-123", "user_type": "CLIENT"});
    assert_error(
        s.call(Method::POST, "/api/users", Some(admin), Some(no_company)),
        400,
        4,
    );
    let legacy = json!({"email": "legacy@a.example", "password": "password-123", "is_service": true, "company_id": a,
                        "can_start_analyse_quality": false});
    let (st, v) = s.call(Method::POST, "/api/users", Some(admin), Some(legacy));
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["user_type"], "CLIENT SERVICE");
    assert_eq!(v["can_start_analysis_quality"], false);
}

/// Reading users: scopes and isolation.
fn reading_users_scopes(s: &Server) {
    let w = world(s);
    more_users(s, &w);
    let World {
        admin,
        cadmin_id,
        cadmin,
        client_id,
        client,
        cop,
        client_b_id,
        op,
        ..
    } = &w;
    let (_, v) = s.call(Method::GET, "/api/users", Some(client), None);
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["user_id"], client_id.as_str());
    let (_, v) = s.call(Method::GET, "/api/users?limit=100", Some(cop), None);
    assert_eq!(
        v["total"], 6,
        "company A: cadmin, client, cop, svc, new, legacy"
    );
    let (_, v) = s.call(
        Method::GET,
        "/api/users?limit=2&offset=1",
        Some(admin),
        None,
    );
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    assert_eq!(v["total"], 9);
    let (_, v) = s.call(
        Method::GET,
        "/api/users?user_type=CLIENT%20ADMIN",
        Some(admin),
        None,
    );
    assert_eq!(v["total"], 1);
    assert_error(
        s.call(Method::GET, "/api/users?limit=abc", Some(admin), None),
        400,
        5,
    );
    assert_error(
        s.call(
            Method::GET,
            &format!("/api/users/{cadmin_id}"),
            Some(client),
            None,
        ),
        403,
        9,
    );
    assert_error(
        s.call(
            Method::GET,
            &format!("/api/users/{client_b_id}"),
            Some(client),
            None,
        ),
        404,
        10,
    );
    assert_error(
        s.call(
            Method::GET,
            &format!("/api/users/{client_b_id}"),
            Some(cadmin),
            None,
        ),
        404,
        10,
    );
    assert_eq!(
        s.call(
            Method::GET,
            &format!("/api/users/{client_b_id}"),
            Some(op),
            None
        )
        .0,
        200
    );
    assert_eq!(
        s.call(
            Method::GET,
            &format!("/api/users/{client_id}"),
            Some(cop),
            None
        )
        .0,
        200
    );
}

/// Updates: self for names and password (with the current one), managers for role and flags.
fn updates(s: &Server) {
    let w = world(s);
    let World {
        cadmin,
        client_id,
        client,
        client_b_id,
        op,
        ..
    } = &w;
    let (st, v) = s.call(
        Method::PATCH,
        &format!("/api/users/{client_id}"),
        Some(client),
        Some(json!({"first_name": "Ann"})),
    );
    assert_eq!((st, v["first_name"].as_str()), (200, Some("Ann")));
    let promote = json!({"user_type": "ADMIN"});
    assert_error(
        s.call(
            Method::PATCH,
            &format!("/api/users/{client_id}"),
            Some(client),
            Some(promote.clone()),
        ),
        403,
        9,
    );
    assert_error(
        s.call(
            Method::PATCH,
            &format!("/api/users/{client_id}"),
            Some(cadmin),
            Some(promote),
        ),
        403,
        9,
    );
    let flags = json!({"can_start_analysis_quality": false});
    assert_error(
        s.call(
            Method::PATCH,
            &format!("/api/users/{client_id}"),
            Some(op),
            Some(flags.clone()),
        ),
        403,
        9,
    );
    let (st, v) = s.call(
        Method::PATCH,
        &format!("/api/users/{client_id}"),
        Some(cadmin),
        Some(flags),
    );
    assert_eq!((st, &v["can_start_analysis_quality"]), (200, &json!(false)));
    assert_error(
        s.call(
            Method::PATCH,
            &format!("/api/users/{client_b_id}"),
            Some(cadmin),
            Some(json!({"first_name": "x"})),
        ),
        404,
        10,
    );
    assert_error(
        s.call(
            Method::PATCH,
            &format!("/api/users/{client_id}"),
            Some(client),
            Some(json!({"password": "another-password"})),
        ),
        400,
        3,
    );
    let pw = json!({"password": "another-password", "current_password": "password-123"});
    assert_eq!(
        s.call(
            Method::PATCH,
            &format!("/api/users/{client_id}"),
            Some(client),
            Some(pw)
        )
        .0,
        200
    );
    s.login("client@a.example", "another-password");
}

/// Deleting a user: by a manager of its company only; its login ends.
fn deletion(s: &Server) {
    let w = world(s);
    let new_id = more_users(s, &w);
    let World {
        admin,
        cadmin,
        client,
        client_b_id,
        ..
    } = &w;
    assert_error(
        s.call(
            Method::DELETE,
            &format!("/api/users/{new_id}"),
            Some(client),
            None,
        ),
        403,
        9,
    );
    assert_error(
        s.call(
            Method::DELETE,
            &format!("/api/users/{client_b_id}"),
            Some(cadmin),
            None,
        ),
        404,
        10,
    );
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/api/users/{new_id}/"),
            Some(cadmin),
            None
        )
        .0,
        204
    );
    assert_error(
        s.call(
            Method::GET,
            &format!("/api/users/{new_id}"),
            Some(admin),
            None,
        ),
        404,
        10,
    );
    assert_eq!(s.login_raw("new@a.example", "password-123").status(), 401);
}

/// User metadata under both suffixes.
fn user_metadata(s: &Server) {
    let w = world(s);
    let World {
        cadmin,
        client_id,
        client,
        cop,
        client_b,
        ..
    } = &w;
    let path = format!("/api/users/{client_id}/meta_data");
    let (st, v) = s.call(
        Method::POST,
        &path,
        Some(client),
        Some(json!({"iin": "123"})),
    );
    assert_eq!((st, v.clone()), (200, json!({"iin": "123"})));
    let (st, v) = s.call(
        Method::PATCH,
        &format!("/api/users/{client_id}/metadata"),
        Some(client),
        Some(json!({"meta_data": {"x": 1}})),
    );
    assert_eq!((st, v), (200, json!({"iin": "123", "x": 1})));
    let (_, v) = s.call(Method::GET, &format!("{path}/"), Some(cadmin), None);
    assert_eq!(v, json!({"iin": "123", "x": 1}));
    assert_error(s.call(Method::GET, &path, Some(client_b), None), 404, 10);
    assert_error(
        s.call(Method::POST, &path, Some(cop), Some(json!({"a": 1}))),
        403,
        9,
    );
    assert_error(
        s.call(Method::POST, &path, Some(client), Some(json!([1]))),
        400,
        3,
    );
    assert_eq!(s.call(Method::DELETE, &path, Some(client), None).0, 204);
    assert_eq!(s.call(Method::GET, &path, Some(client), None).1, json!({}));
}

/// Analyses and collections exist as tables: unknown ids answer 404.
fn unknown_ids_answer_404(s: &Server) {
    let w = world(s);
    let World { admin, .. } = &w;
    let nobody = "00000000-0000-4000-8000-000000000000";
    assert_error(
        s.call(
            Method::GET,
            &format!("/api/analyses/{nobody}/meta_data"),
            Some(admin),
            None,
        ),
        404,
        10,
    );
    assert_error(
        s.call(
            Method::GET,
            &format!("/api/collections/{nobody}/metadata"),
            Some(admin),
            None,
        ),
        404,
        10,
    );
}

on_both_databases!(
    operator_and_service_defaults,
    companies,
    client_admin_creates_users_in_its_company,
    user_validation,
    reading_users_scopes,
    updates,
    deletion,
    user_metadata,
    unknown_ids_answer_404,
);
