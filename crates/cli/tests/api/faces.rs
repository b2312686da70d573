//! Which face counts, through the HTTP API: a selfie's subject is its dominant face; a small
//! face in the background is a bystander (reported in `results_data.faces_found` and
//! `results_data.bystanders`, never declining); two faces of comparable size decline with
//! `multiple_faces`; the company setting `face_policy: "strict"` declines any second face.
//! Real photos of `shared/data`; the two-person image is composed at test time.

use std::path::Path;

use crate::common::{assert_error, shared_data, side_by_side, Backend, Server};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

/// A live full-frame photo: subject 219 px wide, a colleague 44 px wide behind him.
const BYSTANDER: &str = "liveness/live/nuaa/s0001/0001_00_00_01_12.jpg";
/// Two people, one photo each, for the composed two-face image.
const LEFT: &str = "verification/Colin_Powell/Colin_Powell_0004.jpg";
const RIGHT: &str = "verification/Tony_Blair/Tony_Blair_0008.jpg";

fn read(data: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(data.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Instant QUALITY + BIOMETRY on `photo` (and `other` for biometry); the per-media results of
/// each analysis.
fn instant(s: &Server, token: &str, photo: &[u8], other: &[u8]) -> (Value, Value) {
    let form = Form::new()
        .part(
            "selfie",
            Part::bytes(photo.to_vec()).file_name("selfie.jpg"),
        )
        .part("other", Part::bytes(other.to_vec()).file_name("other.jpg"))
        .text(
            "payload",
            json!({
                "media:tags": {"selfie": ["photo_selfie"], "other": ["photo_selfie"]},
                "analyses": [
                    {"type": "quality", "source_media": ["selfie"]},
                    {"type": "biometry", "source_media": ["selfie", "other"]}
                ]
            })
            .to_string(),
        );
    let (st, v) = s.upload_form("/api/instant/folders/", token, form);
    assert_eq!(st, 200, "{v}");
    let quality = v["analyses"][0].clone();
    let biometry = v["analyses"][1].clone();
    (quality, biometry)
}

fn selfie_result(analysis: &Value, media_count: usize) -> &Value {
    let media = analysis["results_media"].as_array().unwrap();
    assert_eq!(media.len(), media_count, "{analysis}");
    &media[0]
}

#[test]
fn a_bystander_is_reported_and_two_comparable_faces_decline() {
    let Some(data) = shared_data() else { return };
    let Some(s) = Server::start(Backend::Sqlite, &[]) else {
        return;
    };
    let root = s.admin();
    let company = s.company(&root, "faces");
    let (_, client) = s.user(&root, "client@faces.test", "CLIENT", Some(&company));
    let (_, cadmin) = s.user(&root, "admin@faces.test", "CLIENT ADMIN", Some(&company));
    let bystander = read(&data, BYSTANDER);
    let same_person = read(&data, "liveness/live/nuaa/s0001/0001_00_00_01_112.jpg");

    // Default (dominant): the photo with a colleague in the background passes QUALITY, and
    // BIOMETRY compares its subject.
    let (q, b) = instant(&s, &client, &bystander, &same_person);
    let r = selfie_result(&q, 1);
    assert_eq!(r["resolution_status"], "SUCCESS", "{q}");
    assert_eq!(r["results_data"]["faces_found"], 2, "{r}");
    let boxes = r["results_data"]["bystanders"].as_array().unwrap();
    assert_eq!(boxes.len(), 1, "{r}");
    let width = boxes[0]["x2"].as_f64().unwrap() - boxes[0]["x1"].as_f64().unwrap();
    assert!((30.0..70.0).contains(&width), "bystander box {r}");
    assert!(r.get("error").is_none(), "{r}");
    let r = selfie_result(&b, 2);
    assert_eq!(r["results_data"]["faces_found"], 2, "{b}");
    assert_eq!(b["resolution_status"], "SUCCESS", "{b}");

    // Two people side by side: declined with multiple_faces in both analyses.
    let two = side_by_side(&read(&data, LEFT), &read(&data, RIGHT));
    let (q, b) = instant(&s, &client, &two, &same_person);
    let r = selfie_result(&q, 1);
    assert_eq!(q["resolution_status"], "DECLINED", "{q}");
    assert_eq!(r["error"]["code"], "multiple_faces", "{r}");
    assert_eq!(b["resolution_status"], "DECLINED", "{b}");
    assert_eq!(
        selfie_result(&b, 2)["error"]["code"],
        "multiple_faces",
        "{b}"
    );

    // The company goes strict: now the bystander photo declines too.
    let path = format!("/api/companies/{company}/settings");
    assert_error(
        s.call(
            Method::PATCH,
            &path,
            Some(&cadmin),
            Some(json!({"face_policy": "loose"})),
        ),
        400,
        4,
    );
    let (st, v) = s.call(
        Method::PATCH,
        &path,
        Some(&cadmin),
        Some(json!({"face_policy": "strict"})),
    );
    assert_eq!((st, &v["face_policy"]), (200, &json!("strict")), "{v}");
    let (q, b) = instant(&s, &client, &bystander, &same_person);
    assert_eq!(q["resolution_status"], "DECLINED", "{q}");
    assert_eq!(
        selfie_result(&q, 1)["error"]["code"],
        "multiple_faces",
        "{q}"
    );
    assert_eq!(b["resolution_status"], "DECLINED", "{b}");

    // Back to the server default.
    let (st, v) = s.call(
        Method::PATCH,
        &path,
        Some(&cadmin),
        Some(json!({"face_policy": null})),
    );
    assert_eq!((st, &v["face_policy"]), (200, &json!("dominant")), "{v}");
    let (q, _) = instant(&s, &client, &bystander, &same_person);
    assert_eq!(q["resolution_status"], "SUCCESS", "{q}");
}

#[test]
fn lite_follows_the_server_face_policy() {
    let Some(data) = shared_data() else { return };
    let bystander = read(&data, BYSTANDER);
    for (policy, status) in [("dominant", 200), ("strict", 400)] {
        let Some(s) = Server::start(Backend::Sqlite, &[("FACEPROOF_FACE_POLICY", policy)]) else {
            return;
        };
        let resp = s
            .client
            .post(s.url("/v1/face/pattern/extract"))
            .header("Content-Type", "image/jpeg")
            .body(bystander.clone())
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{policy}");
        let two = side_by_side(&read(&data, LEFT), &read(&data, RIGHT));
        let resp = s
            .client
            .post(s.url("/v1/face/pattern/extract"))
            .header("Content-Type", "image/jpeg")
            .body(two)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{policy}: two faces");
        let v: Value = resp.json().unwrap();
        assert_eq!(v["details"]["reason"], "multiple_faces", "{v}");
    }
}
