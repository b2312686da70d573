//! `GET /api/statistics/summary` and `/timeseries` over HTTP on SQLite and PostgreSQL: the numbers
//! against the orders made here, visibility per role (the folder list's scope), filters, buckets,
//! CSV, and the documented errors.

use std::path::Path;

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

const BLAIR_A: &str = "verification/Tony_Blair/Tony_Blair_0009.jpg";
const BLAIR_B: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";

fn folder(s: &Server, token: &str, data: &Path) -> String {
    let (st, v) = s.upload(
        "/api/folders/",
        token,
        &[("a", &data.join(BLAIR_A)), ("b", &data.join(BLAIR_B))],
        Some(json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_id", "photo_id_front"]}})),
    );
    assert_eq!(st, 201, "{v}");
    v["folder_id"].as_str().unwrap().to_string()
}

fn summary(s: &Server, token: &str, query: &str) -> Value {
    let (st, v) = s.call(
        Method::GET,
        &format!("/api/statistics/summary{query}"),
        Some(token),
        None,
    );
    assert_eq!(st, 200, "{v}");
    v
}

fn statistics(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[], |s| {
        let admin = s.admin();
        let a = s.company(&admin, "a");
        let b = s.company(&admin, "b");
        let (client1_id, client1) = s.user(&admin, "c1@a.test", "CLIENT", Some(&a));
        let (_, client2) = s.user(&admin, "c2@a.test", "CLIENT", Some(&a));
        let (_, cadmin) = s.user(&admin, "admin@a.test", "CLIENT ADMIN", Some(&a));
        let (_, client_b) = s.user(&admin, "c@b.test", "CLIENT", Some(&b));
        let (_, operator) = s.user(&admin, "op@x.test", "OPERATOR", None);

        // client1: one order with biometry (same person → SUCCESS), one without analyses
        let f1 = folder(s, &client1, &data);
        let (st, v) = s.call(
            Method::POST,
            &format!("/api/folders/{f1}/analyses"),
            Some(&client1),
            Some(json!({"analyses": [{"type": "biometry"}]})),
        );
        assert_eq!(st, 201, "{v}");
        let done = s.wait_analysis(&client1, v[0]["analysis_id"].as_str().unwrap(), 180);
        assert_eq!(done["resolution_status"], "SUCCESS", "{done}");
        folder(s, &client1, &data);
        folder(s, &client2, &data);
        folder(s, &client_b, &data);

        let all = summary(s, &admin, "");
        assert_eq!(all["orders"]["total"], 4, "{all}");
        assert_eq!(
            all["orders"]["by_status"],
            json!({"SUCCESS": 1, "INITIAL": 3})
        );
        assert_eq!(all["analyses"]["total"], 1);
        assert_eq!(
            all["analyses"]["by_type"]["BIOMETRY"],
            json!({"total": 1, "by_status": {"SUCCESS": 1}})
        );
        assert_eq!(
            all["analyses"]["by_type"]["QUALITY"],
            json!({"total": 0, "by_status": {}})
        );
        assert_eq!(
            all["pass_rates"]["biometry"],
            json!({"finished": 1, "passed": 1, "rate": 1.0})
        );
        assert_eq!(all["pass_rates"]["liveness"]["rate"], Value::Null);
        let p = &all["processing_ms"]["BIOMETRY"];
        assert_eq!(p["count"], 1);
        assert!(
            p["median"].as_f64().unwrap() > 0.0 && p["p95"] == p["median"],
            "{p}"
        );
        assert_eq!(all["decisions"]["total"], 0);
        assert_eq!(all["decisions"]["pending"], 0);

        // visibility follows the folder list
        let total = |v: &Value| v["orders"]["total"].as_i64().unwrap();
        assert_eq!(total(&summary(s, &operator, "")), 4);
        assert_eq!(total(&summary(s, &cadmin, "")), 3);
        assert_eq!(total(&summary(s, &client1, "")), 2);
        assert_eq!(total(&summary(s, &client2, "")), 1);
        assert_eq!(total(&summary(s, &client_b, "")), 1);
        // filters narrow, never widen
        assert_eq!(total(&summary(s, &admin, &format!("?company_id={a}"))), 3);
        assert_eq!(
            total(&summary(s, &admin, &format!("?user_id={client1_id}"))),
            2
        );
        assert_eq!(
            total(&summary(s, &client_b, &format!("?company_id={a}"))),
            0
        );
        let later = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 3600;
        assert_eq!(
            total(&summary(s, &admin, &format!("?time_created.min={later}"))),
            0
        );
        assert_eq!(
            total(&summary(s, &admin, &format!("?time_created.max={later}"))),
            4
        );

        // over time: today's bucket (UTC) holds everything; weeks start on Monday
        let (st, ts) = s.call(
            Method::GET,
            "/api/statistics/timeseries",
            Some(&admin),
            None,
        );
        assert_eq!(st, 200, "{ts}");
        assert_eq!(ts["interval"], "day");
        let buckets = ts["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), 1, "{ts}");
        assert_eq!(buckets[0]["orders"], json!({"SUCCESS": 1, "INITIAL": 3}));
        assert_eq!(buckets[0]["analyses"], json!({"BIOMETRY": {"SUCCESS": 1}}));
        let start = buckets[0]["start"].as_i64().unwrap();
        assert_eq!(start % 86_400, 0);
        assert!(later - 3600 - start < 86_400);
        let (_, week) = s.call(
            Method::GET,
            "/api/statistics/timeseries?interval=week",
            Some(&admin),
            None,
        );
        let monday = week["buckets"][0]["start"].as_i64().unwrap();
        assert_eq!(
            (monday / 86_400 + 3) % 7,
            0,
            "a Monday (1970-01-01 was a Thursday): {week}"
        );
        assert!(later - 3600 - monday < 7 * 86_400);

        // CSV: the same numbers
        let resp = s
            .req(
                Method::GET,
                "/api/statistics/summary?format=csv",
                Some(&admin),
            )
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let csv = resp.text().unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "metric,type,status,value");
        for row in [
            "orders,,total,4",
            "orders,,INITIAL,3",
            "orders,,SUCCESS,1",
            "analyses,BIOMETRY,SUCCESS,1",
            "pass_rate,BIOMETRY,rate,1.0",
            "decisions,,total,0",
        ] {
            assert!(lines.contains(&row), "{row} in\n{csv}");
        }
        let resp = s
            .req(
                Method::GET,
                "/api/statistics/timeseries?format=csv",
                Some(&admin),
            )
            .send()
            .unwrap();
        let csv = resp.text().unwrap();
        assert_eq!(
            csv.lines().next(),
            Some("bucket_start,metric,type,status,count")
        );
        assert_eq!(csv.lines().count(), 4, "{csv}");

        // documented errors
        assert_error(
            s.call(
                Method::GET,
                "/api/statistics/summary?format=xml",
                Some(&admin),
                None,
            ),
            400,
            4,
        );
        assert_error(
            s.call(
                Method::GET,
                "/api/statistics/timeseries?interval=month",
                Some(&admin),
                None,
            ),
            400,
            4,
        );
        assert_error(
            s.call(
                Method::GET,
                "/api/statistics/summary?company_id=nope",
                Some(&admin),
                None,
            ),
            400,
            5,
        );
        assert_error(
            s.call(
                Method::GET,
                "/api/statistics/summary?time_created.min=soon",
                Some(&admin),
                None,
            ),
            400,
            5,
        );
        assert_error(
            s.call(Method::GET, "/api/statistics/summary", None, None),
            401,
            6,
        );
    });
}

#[test]
fn statistics_sqlite() {
    statistics(Backend::Sqlite);
}

#[test]
fn statistics_postgres() {
    statistics(Backend::Postgres);
}
