//! The Oz JSON shapes pinned by snapshots (`tests/api/snapshots/`): a folder with its analyses, each
//! analysis type (liveness on a video with a best shot, biometry decided by an operator, a
//! blacklist hit), an error, and a webhook body — taken from the real server on SQLite and on
//! PostgreSQL, which must give the same shapes. Ids, times, the server's address and model scores
//! are redacted, so a snapshot changes only when a field, a nesting or a fixed value does.
//! Review a change with `cargo insta review` (or delete the `.snap` file and rerun the test).

use std::path::Path;

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

const BLAIR_A: &str = "verification/Tony_Blair/Tony_Blair_0009.jpg";
const BLAIR_B: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";
const POWELL: &str = "verification/Colin_Powell/Colin_Powell_0001.jpg";
const LIVE_VIDEO: &str = "video/tranvanluyt2203_live_head_turns.mp4";

/// Fields whose value comes from a model: their presence and type are pinned, not their value.
const SCORES: &[&str] = &[
    "confidence_spoofing",
    "confidence",
    "similarity",
    "min_confidence",
    "max_confidence",
    "liveness_spread",
];

/// Replace what differs from run to run with placeholders.
fn redact(v: &Value, subs: &[(&str, &str)]) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k.starts_with("time_") && v.is_number() {
                        json!("[time]")
                    } else if SCORES.contains(&k.as_str()) && v.is_number() {
                        json!("[score]")
                    } else if k == "size" && v.is_number() {
                        json!("[bytes]")
                    } else if k == "liveness_frame_indices" && v.is_array() {
                        json!("[frames]")
                    } else {
                        redact(v, subs)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(list) => Value::Array(list.iter().map(|v| redact(v, subs)).collect()),
        Value::String(s) => Value::String(redact_str(s, subs)),
        other => other.clone(),
    }
}

/// The given addresses → their placeholders, every UUID → `[id]`, a signed media link's query
/// (expiry and signature) → `[signed]`.
fn redact_str(s: &str, subs: &[(&str, &str)]) -> String {
    let mut s = match s.find("?exp=") {
        Some(i) => format!("{}?[signed]", &s[..i]),
        None => s.to_string(),
    };
    for (needle, placeholder) in subs {
        s = s.replace(needle, placeholder);
    }
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        if i + 36 <= s.len() && s.is_char_boundary(i + 36) && uuid_at(&bytes[i..i + 36]) {
            out.push_str("[id]");
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn uuid_at(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

fn upload(s: &Server, token: &str, files: &[(&str, &Path, &[&str])], extra: Value) -> Value {
    let mut payload = json!({
        "media:tags": files.iter().map(|(k, _, t)| (k.to_string(), json!(t)))
            .collect::<serde_json::Map<_, _>>(),
        "folder:meta_data": { "transaction_id": "tx-snapshot" },
    });
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let list: Vec<(&str, &Path)> = files.iter().map(|(k, p, _)| (*k, *p)).collect();
    let (st, v) = s.upload("/api/folders/", token, &list, Some(payload));
    assert_eq!(st, 201, "{v}");
    v
}

fn snapshots(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let hook = webhook::Receiver::start();
    let authority = hook.authority();
    on(
        backend,
        &[("FACEPROOF_WEBHOOK_ALLOWED_HOSTS", authority.as_str())],
        |s| {
            let root = s.admin();
            let company = s.company(&root, "snap");
            let (_, client) = s.user(&root, "client@snap.test", "CLIENT", Some(&company));
            let (_, operator) = s.user(
                &root,
                "operator@snap.test",
                "CLIENT OPERATOR",
                Some(&company),
            );
            let (_, admin) = s.user(&root, "admin@snap.test", "CLIENT ADMIN", Some(&company));
            let show = |v: &Value| {
                redact(
                    v,
                    &[(hook.url.as_str(), "[hook]"), (s.base.as_str(), "[base]")],
                )
            };

            // A single request (liveness + biometry) with a webhook: the folder and the body sent.
            let f = upload(
                s,
                &client,
                &[
                    ("selfie", &data.join(BLAIR_A), &["photo_selfie"]),
                    ("id", &data.join(BLAIR_B), &["photo_id", "photo_id_front"]),
                ],
                json!({
                    "analyses": [{ "type": "quality" }, { "type": "biometry" }],
                    "resolution_endpoint": hook.url,
                }),
            );
            insta::assert_json_snapshot!("single_request_folder", show(&f));
            let body: Value = serde_json::from_str(&hook.wait_for(1, 60)[0].body).unwrap();
            insta::assert_json_snapshot!("webhook_body", show(&body));

            // Liveness on a video with its best shot.
            let f = upload(
                s,
                &client,
                &[(
                    "clip",
                    &data.join(LIVE_VIDEO),
                    &["video_selfie", "video_selfie_blank"],
                )],
                json!({ "analyses": [{ "type": "quality", "params": { "extract_best_shot": true } }] }),
            );
            insta::assert_json_snapshot!("quality_video_analysis", show(&f["analyses"][0]));

            // Biometry sent to review, then decided by an operator.
            let f = upload(
                s,
                &client,
                &[
                    ("a", &data.join(BLAIR_A), &["photo_selfie"]),
                    ("b", &data.join(BLAIR_B), &["photo_selfie"]),
                ],
                json!({ "analyses": [{ "type": "biometry",
                                       "params": { "threshold_min": 0.01, "threshold_max": 1.0 } }] }),
            );
            let a = &f["analyses"][0];
            assert_eq!(a["resolution_status"], "OPERATOR_REQUIRED", "{a}");
            let (st, decided) = s.call(
                Method::PATCH,
                &format!("/api/analyses/{}", a["analysis_id"].as_str().unwrap()),
                Some(&operator),
                Some(json!({ "resolution_status": "SUCCESS", "comment": "same person, checked" })),
            );
            assert_eq!(st, 200, "{decided}");
            insta::assert_json_snapshot!("biometry_decided_analysis", show(&decided));

            // A blacklist hit.
            let (st, c) = s.call(
                Method::POST,
                "/api/collections/",
                Some(&admin),
                Some(json!({ "alias": "blacklist", "company_id": company })),
            );
            assert_eq!(st, 201, "{c}");
            let cid = c["collection_id"].as_str().unwrap();
            let (st, p) = s.upload(
                &format!("/api/collections/{cid}/persons/"),
                &admin,
                &[("photo", &data.join(BLAIR_B))],
                Some(json!({ "media:tags": { "photo": ["photo_selfie"] } })),
            );
            assert_eq!(st, 201, "{p}");
            let f = upload(
                s,
                &client,
                &[
                    ("blair", &data.join(BLAIR_A), &["photo_selfie"]),
                    ("powell", &data.join(POWELL), &["photo_selfie"]),
                ],
                json!({ "analyses": [{ "type": "collection" }] }),
            );
            insta::assert_json_snapshot!("collection_analysis", show(&f["analyses"][0]));

            // An error in the documented shape.
            let fid = f["folder_id"].as_str().unwrap();
            let (st, err) = s.call(
                Method::POST,
                &format!("/api/folders/{fid}/analyses/"),
                Some(&client),
                Some(json!({ "analyses": [{ "type": "palmistry" }] })),
            );
            assert_eq!(st, 400);
            insta::assert_json_snapshot!("error_unknown_analysis_type", show(&err));
        },
    );
}

#[test]
fn oz_json_shapes_sqlite() {
    snapshots(Backend::Sqlite);
}

#[test]
fn oz_json_shapes_postgres() {
    snapshots(Backend::Postgres);
}
