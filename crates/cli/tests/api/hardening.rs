//! Hardening found by attacking a running server, kept fixed (issue 9): webhook destinations
//! (allow-list bypass, internal addresses in every spelling), metadata limits and control
//! characters, JavaScript-millisecond time filters, the legacy `is_admin` flag, and operator
//! decisions reserved for operators — on SQLite and PostgreSQL.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// A company with a CLIENT who has uploaded one selfie; returns (company, client token, folder id).
fn client_with_folder(
    s: &Server,
    photo: &std::path::Path,
    meta: Value,
) -> (String, String, String) {
    let root = s.admin();
    let company = s.company(&root, "acme");
    let (_, client) = s.user(&root, "client@acme.test", "CLIENT", Some(&company));
    let (st, f) = s.upload(
        "/api/folders/",
        &client,
        &[("a", photo)],
        Some(json!({"media:tags": {"a": ["photo_selfie"]}, "folder:meta_data": meta})),
    );
    assert_eq!(st, 201, "{f}");
    let fid = f["folder_id"].as_str().unwrap().to_string();
    (company, client, fid)
}

fn hardening(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let photo = photos(&data, 1).remove(0);
    on(
        backend,
        &[("FACEPROOF_WEBHOOK_ALLOWED_HOSTS", "localhost:18190")],
        |s| {
            let root = s.admin();
            let (_, client, fid) = client_with_folder(s, &photo, json!({"transaction_id": "tx-1"}));
            let order = |url: &str| {
                s.call(
                    Method::POST,
                    &format!("/api/folders/{fid}/analyses/"),
                    Some(&client),
                    Some(json!({"analyses": [{"type": "quality"}], "resolution_endpoint": url})),
                )
            };
            // The allow-list reads the host the HTTP client would connect to.
            for url in [
                r"http://127.0.0.1:18192\@localhost:18190/x",
                "http://localhost:18190@127.0.0.1:18192/x",
                "http://127.0.0.1:18192#@localhost:18190/x",
            ] {
                assert_error(order(url), 400, 4);
            }
            assert_eq!(s.db_count("analyses"), 0, "no refused order left a row");

            // Metadata: size, control characters, filters that used to answer 500.
            let big = json!({"blob": "x".repeat(4000), "b": "x".repeat(4000),
                             "c": "x".repeat(4000), "d": "x".repeat(4000), "e": "x".repeat(4000)});
            for meta in [big, json!({"\u{0}k": "v"}), json!({"k": "v\u{0}"})] {
                let v = assert_error(
                    s.upload(
                        "/api/folders/",
                        &client,
                        &[("a", &photo)],
                        Some(json!({"folder:meta_data": meta})),
                    ),
                    400,
                    4,
                );
                assert_eq!(v["details"]["reason"], "metadata_limits", "{v}");
            }
            assert_error(
                s.call(
                    Method::PATCH,
                    &format!("/api/folders/{fid}/meta_data"),
                    Some(&client),
                    Some(json!({"\u{0}k": "v"})),
                ),
                400,
                4,
            );
            for filter in ["%00k%3D%3Dv", "k%3D%3Dv%00"] {
                assert_error(
                    s.call(
                        Method::GET,
                        &format!("/api/folders/?meta_data={filter}"),
                        Some(&client),
                        None,
                    ),
                    400,
                    4,
                );
            }
            let (st, list) = s.call(
                Method::GET,
                "/api/folders/?meta_data=transaction_id%3D%3Dtx-1",
                Some(&client),
                None,
            );
            assert_eq!((st, list["total"].as_i64()), (200, Some(1)), "{list}");

            // Time filters in seconds, milliseconds (JavaScript's Date.now()) and microseconds.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            let hour_ago = now.as_secs() - 3600;
            for min in [
                hour_ago.to_string(),
                (hour_ago * 1000).to_string(),
                (hour_ago * 1_000_000).to_string(),
            ] {
                let (st, list) = s.call(
                    Method::GET,
                    &format!("/api/folders/?time_created.min={min}"),
                    Some(&client),
                    None,
                );
                assert_eq!(
                    (st, list["total"].as_i64()),
                    (200, Some(1)),
                    "{min}: {list}"
                );
            }
            let (_, list) = s.call(
                Method::GET,
                &format!(
                    "/api/folders/?time_created.min={}",
                    (now.as_secs() + 3600) * 1000
                ),
                Some(&client),
                None,
            );
            assert_eq!(list["total"].as_i64(), Some(0), "{list}");

            // The legacy is_admin flag is true for an ADMIN.
            let login: Value = s.login_raw(ADMIN_EMAIL, ADMIN_PASSWORD).json().unwrap();
            assert_eq!(login["user"]["is_admin"], true, "{login}");

            // Operator decisions belong to operators, not to the ADMIN (Oz's role table).
            let (st, a) = s.call(
                Method::POST,
                &format!("/api/folders/{fid}/analyses/"),
                Some(&client),
                Some(json!({"analyses": [{"type": "quality"}]})),
            );
            assert_eq!(st, 201, "{a}");
            let id = a[0]["analysis_id"].as_str().unwrap();
            let done = s.wait_analysis(&client, id, 120);
            assert_eq!(
                done["results_media"][0]["analysis_id"], done["analysis_id"],
                "each result names its analysis"
            );
            assert_error(
                s.call(
                    Method::PATCH,
                    &format!("/api/analyses/{id}"),
                    Some(&root),
                    Some(json!({"resolution_status": "SUCCESS", "comment": "x"})),
                ),
                403,
                9,
            );
        },
    );
}

/// Without an allow-list, internal destinations are refused in every spelling.
fn no_internal_webhooks(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let photo = photos(&data, 1).remove(0);
    on(backend, &[], |s| {
        let root = s.admin();
        let (company, client, fid) = client_with_folder(s, &photo, json!({}));
        for url in [
            "http://127.0.0.1:5432/",
            "http://127.1:5432/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0.0.0.0:8080/",
            "http://[::1]:5432/",
            "http://localhost:6379/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://192.168.0.1/",
        ] {
            let v = assert_error(
                s.call(
                    Method::POST,
                    &format!("/api/folders/{fid}/analyses/"),
                    Some(&client),
                    Some(json!({"analyses": [{"type": "quality"}], "resolution_endpoint": url})),
                ),
                400,
                4,
            );
            assert!(
                v["error_message"]
                    .as_str()
                    .unwrap()
                    .contains("resolution_endpoint"),
                "{url}: {v}"
            );
        }
        // A company default webhook obeys the same rule.
        assert_error(
            s.call(
                Method::PATCH,
                &format!("/api/companies/{company}/settings"),
                Some(&root),
                Some(json!({"resolution_endpoint": "http://127.1:9/hook"})),
            ),
            400,
            4,
        );
        assert_eq!(s.db_count("analyses"), 0);
    });
}

/// An allowed receiver that answers with a redirect to an internal address is not followed:
/// the attempt is a receiver error and the redirect's target never sees a request.
fn redirects_not_followed(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let photo = photos(&data, 1).remove(0);
    let target = webhook::Receiver::start();
    let redirect = webhook::Receiver::fixed(format!(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{}/internal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        target.port
    ));
    let allowed = redirect.authority();
    on(
        backend,
        &[
            ("FACEPROOF_WEBHOOK_ALLOWED_HOSTS", allowed.as_str()),
            ("FACEPROOF_WEBHOOK_MAX_ATTEMPTS", "1"),
        ],
        |s| {
            let (_, client, fid) = client_with_folder(s, &photo, json!({}));
            let (st, v) = s.call(
                Method::POST,
                &format!("/api/folders/{fid}/analyses/"),
                Some(&client),
                Some(json!({"analyses": [{"type": "quality"}],
                            "resolution_endpoint": format!("http://{allowed}/hook")})),
            );
            assert_eq!(st, 201, "{v}");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
            let deliveries = loop {
                let (_, d) = s.call(
                    Method::GET,
                    &format!("/api/folders/{fid}/webhooks"),
                    Some(&client),
                    None,
                );
                if d.to_string().contains("FAILED") || std::time::Instant::now() > deadline {
                    break d;
                }
                std::thread::sleep(std::time::Duration::from_millis(300));
            };
            let text = deliveries.to_string();
            assert!(
                text.contains("FAILED") && text.contains("receiver error"),
                "{text}"
            );
            assert!(redirect.connections() >= 1, "the receiver was called");
            assert_eq!(target.connections(), 0, "the redirect was not followed");
        },
    );
}

#[test]
fn hardening_sqlite() {
    hardening(Backend::Sqlite);
    no_internal_webhooks(Backend::Sqlite);
    redirects_not_followed(Backend::Sqlite);
}

#[test]
fn hardening_postgres() {
    hardening(Backend::Postgres);
    no_internal_webhooks(Backend::Postgres);
    redirects_not_followed(Backend::Postgres);
}
