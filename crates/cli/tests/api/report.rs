//! `GET /api/folders/{id}/report.pdf` on SQLite and PostgreSQL: three orders of a company — a
//! selfie with an ID photo (liveness and biometry), a pair in the review zone decided by the
//! company's operator, a photo of a blacklisted person — each read back from its PDF with
//! Debian's `pdftotext`: the user's file names, every verdict, the scores and thresholds the API
//! reports, the person's name and collection, the decision with its reason and author, the
//! company. Access is the folder's: another company's client gets 404 (error 10) as from
//! `GET /api/folders/{id}`, a colleague without the right the same refusal as there.

use std::process::Command;

use crate::common::*;
use reqwest::blocking::multipart;
use reqwest::Method;
use serde_json::{json, Value};

const SELFIE: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";
const ID_PHOTO: &str = "liveness/live/nuaa/s0002/0002_01_00_01_109.jpg";
const BLAIR_A: &str = "verification/Tony_Blair/Tony_Blair_0009.jpg";
const BLAIR_B: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";

/// Upload files under the given names (the report must show these, not the field names).
fn folder(s: &Server, token: &str, files: &[(&str, &std::path::Path, &[&str])]) -> Value {
    let mut form = multipart::Form::new();
    let mut tags = serde_json::Map::new();
    for (i, (name, path, t)) in files.iter().enumerate() {
        let key = format!("file{i}");
        form = form.part(
            key.clone(),
            multipart::Part::bytes(std::fs::read(path).unwrap()).file_name(name.to_string()),
        );
        tags.insert(key, json!(t));
    }
    form = form.text(
        "payload",
        json!({"media:tags": tags, "folder:meta_data": {"transaction_id": "tx-report-7"}})
            .to_string(),
    );
    let (st, v) = s.upload_form("/api/folders/", token, form);
    assert_eq!(st, 201, "{v}");
    v
}

/// Order analyses and wait for each; returns them finished.
fn analyse(s: &Server, token: &str, folder: &str, analyses: Value) -> Vec<Value> {
    let (st, v) = s.call(
        Method::POST,
        &format!("/api/folders/{folder}/analyses"),
        Some(token),
        Some(json!({ "analyses": analyses })),
    );
    assert_eq!(st, 201, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| s.wait_analysis(token, a["analysis_id"].as_str().unwrap(), 240))
        .collect()
}

/// The report's bytes (after checking the answer's type) and its text as `pdftotext` reads it,
/// with runs of white space made one space (table cells wrap over lines).
fn report(s: &Server, token: &str, folder: &str) -> (Vec<u8>, String) {
    let r = s
        .req(
            Method::GET,
            &format!("/api/folders/{folder}/report.pdf"),
            Some(token),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".pdf"));
    let bytes = r.bytes().unwrap().to_vec();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    // kept for a look: target/tmp/report/<folder>.pdf
    let keep = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&keep).unwrap();
    std::fs::write(keep.join(format!("{folder}.pdf")), &bytes).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &bytes).unwrap();
    let out = Command::new("pdftotext")
        .arg("-raw")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils; scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (bytes, text)
}

fn has(text: &str, what: &str) {
    assert!(text.contains(what), "{what:?} is not in the report: {text}");
}

/// The report shows a number as the API gave it, with four decimals.
fn four(v: &Value) -> String {
    format!(
        "{:.4}",
        v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
    )
}

fn pdf_tool() -> bool {
    let ok = Command::new("pdftotext").arg("-v").output().is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pdftotext is missing (scripts/test.sh installs poppler-utils)"
        );
        eprintln!("SKIPPED: pdftotext (poppler-utils) is not installed");
    }
    ok
}

fn run(backend: Backend) {
    let Some(data) = shared_data() else { return };
    if !pdf_tool() {
        return;
    }
    on(backend, &[], |s| {
        let admin = s.admin();
        let acme = s.company(&admin, "Acme Bank");
        let globex = s.company(&admin, "Globex");
        let (_, client) = s.user(&admin, "client@acme.test", "CLIENT", Some(&acme));
        let (_, colleague) = s.user(&admin, "other@acme.test", "CLIENT", Some(&acme));
        let (_, cadmin) = s.user(&admin, "admin@acme.test", "CLIENT ADMIN", Some(&acme));
        let (_, coperator) = s.user(&admin, "reviewer@acme.test", "CLIENT OPERATOR", Some(&acme));
        let (_, stranger) = s.user(&admin, "client@globex.test", "CLIENT", Some(&globex));

        // 1. liveness and biometry on a selfie and an ID photo
        let f1 = folder(
            s,
            &client,
            &[
                (
                    "applicant-selfie.jpg",
                    &data.join(SELFIE),
                    &["photo_selfie"],
                ),
                (
                    "passport-scan.jpg",
                    &data.join(ID_PHOTO),
                    &["photo_id", "photo_id_front"],
                ),
            ],
        );
        let id1 = f1["folder_id"].as_str().unwrap();
        let done = analyse(
            s,
            &client,
            id1,
            json!([{"type": "quality"}, {"type": "biometry"}]),
        );
        let (bytes, text) = report(s, &client, id1);
        has(&text, "Order report");
        has(&text, id1);
        has(&text, "Acme Bank");
        has(&text, "client@acme.test");
        has(&text, "applicant-selfie.jpg");
        has(&text, "passport-scan.jpg");
        has(&text, "tx-report-7");
        for a in &done {
            has(&text, a["resolution_status"].as_str().unwrap());
            if a["type"] == "QUALITY" {
                has(&text, "Liveness");
                for rm in a["results_media"].as_array().unwrap() {
                    has(&text, &four(&rm["results_data"]["confidence_spoofing"]));
                    has(&text, &four(&rm["results_data"]["threshold"]));
                }
            } else {
                has(&text, "Biometry");
                has(&text, &four(&a["results_data"]["min_confidence"]));
                has(&text, &four(&a["results_data"]["threshold_max"]));
            }
        }
        // the thumbnails are in it, as JPEG
        let raw = String::from_utf8_lossy(&bytes);
        assert!(
            raw.matches("/DCTDecode").count() >= 2,
            "two media thumbnails"
        );

        // 2. the review zone: the company's operator approves, the reason stays in the report
        let (st, v) = s.call(
            Method::PATCH,
            &format!("/api/companies/{acme}/settings"),
            Some(&cadmin),
            Some(json!({"biometry_threshold": 0.99999, "biometry_operator_threshold": 0.2})),
        );
        assert_eq!(st, 200, "{v}");
        let f2 = folder(
            s,
            &client,
            &[
                ("selfie-review.jpg", &data.join(BLAIR_A), &["photo_selfie"]),
                (
                    "id-review.jpg",
                    &data.join(BLAIR_B),
                    &["photo_id", "photo_id_front"],
                ),
            ],
        );
        let id2 = f2["folder_id"].as_str().unwrap();
        let bio = analyse(s, &client, id2, json!([{"type": "biometry"}]));
        assert_eq!(
            bio[0]["resolution_status"], "OPERATOR_REQUIRED",
            "{}",
            bio[0]
        );
        let reason = "Same person on the selfie and the ID photo, checked by eye";
        let (st, v) = s.call(
            Method::PATCH,
            &format!("/api/analyses/{}", bio[0]["analysis_id"].as_str().unwrap()),
            Some(&coperator),
            Some(json!({"resolution_status": "SUCCESS", "comment": reason})),
        );
        assert_eq!(st, 200, "{v}");
        let (_, text) = report(s, &client, id2);
        has(&text, "selfie-review.jpg");
        has(&text, "id-review.jpg");
        has(&text, "Operator decisions");
        has(&text, reason);
        has(&text, "reviewer@acme.test");
        has(&text, "OPERATOR_REQUIRED to SUCCESS");

        // 3. a blacklisted person: the match names the person and the collection
        let (st, c) = s.call(
            Method::POST,
            "/api/collections",
            Some(&cadmin),
            Some(json!({"alias": "Watchlist"})),
        );
        assert_eq!(st, 201, "{c}");
        let cid = c["collection_id"].as_str().unwrap();
        let (st, p) = s.upload(
            &format!("/api/collections/{cid}/persons"),
            &cadmin,
            &[("photo", &data.join(BLAIR_B))],
            Some(json!({"media:tags": {"photo": ["photo_selfie"]},
                        "person:meta_data": {"person_info": {"first_name": "Jordan", "last_name": "Sample"}}})),
        );
        assert_eq!(st, 201, "{p}");
        let f3 = folder(
            s,
            &client,
            &[("applicant.jpg", &data.join(BLAIR_A), &["photo_selfie"])],
        );
        let id3 = f3["folder_id"].as_str().unwrap();
        let hit = analyse(s, &client, id3, json!([{"type": "collection"}]));
        assert_eq!(hit[0]["resolution_status"], "DECLINED", "{}", hit[0]);
        let (_, text) = report(s, &client, id3);
        has(&text, "applicant.jpg");
        has(&text, "Blacklist");
        has(&text, "DECLINED");
        has(&text, "Jordan Sample");
        has(&text, "Watchlist");
        has(&text, &four(&hit[0]["results_data"]["threshold"]));
        for rm in hit[0]["results_media"].as_array().unwrap() {
            for m in rm["results_data"]["matches"].as_array().unwrap() {
                has(&text, &four(&m["confidence"]));
            }
        }

        // The folder's access, exactly: who may read the folder may read its report.
        for id in [id1, id2, id3] {
            for (who, token) in [
                ("stranger", &stranger),
                ("colleague", &colleague),
                ("company admin", &cadmin),
                ("company operator", &coperator),
                ("admin", &admin),
            ] {
                let folder_status = s
                    .call(
                        Method::GET,
                        &format!("/api/folders/{id}"),
                        Some(token),
                        None,
                    )
                    .0;
                let (st, v) = s.call(
                    Method::GET,
                    &format!("/api/folders/{id}/report.pdf"),
                    Some(token),
                    None,
                );
                assert_eq!(st, folder_status, "{who}: {v}");
            }
            assert_error(
                s.call(
                    Method::GET,
                    &format!("/api/folders/{id}/report.pdf"),
                    Some(&stranger),
                    None,
                ),
                404,
                10,
            );
        }
        // no token, a malformed id, an unknown folder
        let r = s
            .req(Method::GET, &format!("/api/folders/{id1}/report.pdf"), None)
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
        let (st, _) = s.call(
            Method::GET,
            "/api/folders/not-an-id/report.pdf",
            Some(&client),
            None,
        );
        assert!(st == 400 || st == 404, "{st}");
        assert_error(
            s.call(
                Method::GET,
                &format!("/api/folders/{}/report.pdf", uuid_nil()),
                Some(&admin),
                None,
            ),
            404,
            10,
        );
    });
}

fn uuid_nil() -> &'static str {
    "00000000-0000-0000-0000-000000000000"
}

#[test]
fn order_report_pdf_sqlite() {
    run(Backend::Sqlite);
}

#[test]
fn order_report_pdf_postgres() {
    run(Backend::Postgres);
}
