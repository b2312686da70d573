//! A model pack switch keeps stored data sound: people enrolled under one pack are never compared
//! with vectors of another (after the switch they are not found), and `faceproof reindex`, run
//! beside the live server, re-embeds them from their stored photos so they are found again.

use std::path::Path;

use crate::common::{shared_data, Backend, Server};
use reqwest::Method;
use serde_json::{json, Value};

const POWELL_ENROLLED: &str = "verification/Colin_Powell/Colin_Powell_0004.jpg";
const POWELL_PROBE: &str = "verification/Colin_Powell/Colin_Powell_0001.jpg";
const BLAIR_ENROLLED: &str = "verification/Tony_Blair/Tony_Blair_0008.jpg";

fn enrol(s: &Server, token: &str, cid: &str, photo: &Path) -> String {
    let (st, v) = s.upload(
        &format!("/api/collections/{cid}/persons/"),
        token,
        &[("photo1", photo)],
        Some(json!({"media:tags": {"photo1": ["photo_selfie"]}})),
    );
    assert_eq!(st, 201, "{v}");
    v["person_id"].as_str().unwrap().to_string()
}

/// The person ids the collection search finds for `probe`.
fn found(s: &Server, token: &str, cid: &str, probe: &Path) -> Vec<String> {
    let (st, v) = s.upload(
        &format!("/api/collections/{cid}/search"),
        token,
        &[("photo1", probe)],
        None,
    );
    assert_eq!(st, 200, "{v}");
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["person_id"].as_str().unwrap().to_string())
        .collect()
}

fn pack_of(s: &Server) -> String {
    let (st, v) = s.call(Method::GET, "/api/version", None, None);
    assert_eq!(st, 200);
    v["pack"]["id"].as_str().unwrap().to_string()
}

/// `faceproof reindex` on the server's data (beside the running server); its JSON report.
fn reindex(s: &Server, pack: &str) -> Value {
    let out = s
        .on_my_data(&["reindex"])
        .env("FACEPROOF_PACK", pack)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reindex failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn switch_and_reindex(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let Some(mut s) = Server::start(backend, &[("FACEPROOF_PACK", "faceplugin")]) else {
        return;
    };
    assert_eq!(pack_of(&s), "faceplugin-0.0.1");
    let root = s.admin();
    let company = s.company(&root, "switch");
    let (_, cadmin) = s.user(&root, "admin@switch.test", "CLIENT ADMIN", Some(&company));
    let (st, col) = s.call(
        Method::POST,
        "/api/collections/",
        Some(&cadmin),
        Some(json!({"alias": "watch list"})),
    );
    assert_eq!(st, 201, "{col}");
    let cid = col["collection_id"].as_str().unwrap().to_string();
    let powell = enrol(&s, &cadmin, &cid, &data.join(POWELL_ENROLLED));
    let _blair = enrol(&s, &cadmin, &cid, &data.join(BLAIR_ENROLLED));
    let probe = data.join(POWELL_PROBE);
    assert_eq!(found(&s, &cadmin, &cid, &probe), vec![powell.clone()]);

    // The default pack now: the old vectors are never compared with the new model's.
    s.crash_and_restart(&[("FACEPROOF_PACK", "sface")]);
    assert_eq!(pack_of(&s), "sface-2021dec");
    assert!(found(&s, &cadmin, &cid, &probe).is_empty());

    // Re-embed beside the running server: it picks the new vectors up from the change log.
    let report = reindex(&s, "sface");
    assert_eq!(report["model"], "sface-2021dec", "{report}");
    assert_eq!(
        (&report["total"], &report["reembedded"]),
        (&json!(2), &json!(2)),
        "{report}"
    );
    assert_eq!(found(&s, &cadmin, &cid, &probe), vec![powell.clone()]);
    // Resumable: nothing is left to do.
    let again = reindex(&s, "sface");
    assert_eq!(again["total"], 0, "{again}");

    // And a restart (index loaded from the tables) finds the same.
    s.crash_and_restart(&[("FACEPROOF_PACK", "sface")]);
    assert_eq!(found(&s, &cadmin, &cid, &probe), vec![powell]);
}

#[test]
fn reindex_after_a_pack_switch_sqlite() {
    switch_and_reindex(Backend::Sqlite);
}

#[test]
fn reindex_after_a_pack_switch_postgres() {
    switch_and_reindex(Backend::Postgres);
}
