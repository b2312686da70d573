//! Analyses end to end over HTTP with real photos and videos from ../shared/data: liveness,
//! biometry, best shot, statuses and operator decisions, the durable queue across a crash,
//! webhooks against a local receiver, single request and Instant — on SQLite and PostgreSQL.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

const LIVE: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";
const PRINT_ATTACK: &str = "liveness/spoof/print/nuaa/s0006/0006_00_00_01_170.jpg";
const BLAIR_A: &str = "verification/Tony_Blair/Tony_Blair_0009.jpg";
const BLAIR_B: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";
const POWELL: &str = "verification/Colin_Powell/Colin_Powell_0001.jpg";
const LIVE_VIDEO: &str = "video/tranvanluyt2203_live_head_turns.mp4";

fn file(data: &Path, rel: &str) -> PathBuf {
    data.join(rel)
}

fn folder(s: &Server, token: &str, files: &[(&str, PathBuf, &[&str])]) -> Value {
    let tags: serde_json::Map<String, Value> = files
        .iter()
        .map(|(k, _, t)| (k.to_string(), json!(t)))
        .collect();
    let list: Vec<(&str, &Path)> = files.iter().map(|(k, p, _)| (*k, p.as_path())).collect();
    let (st, v) = s.upload(
        "/api/folders/",
        token,
        &list,
        Some(json!({ "media:tags": tags })),
    );
    assert_eq!(st, 201, "{v}");
    v
}

fn media_id(folder: &Value, key: &str) -> String {
    folder["media"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["technical_meta_data"]["media_key"] == key)
        .unwrap_or_else(|| panic!("no media {key} in {folder}"))["media_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn order(s: &Server, token: &str, folder_id: &str, body: Value) -> (u16, Value) {
    s.call(
        Method::POST,
        &format!("/api/folders/{folder_id}/analyses/"),
        Some(token),
        Some(body),
    )
}

/// Order one analysis and wait for its result.
fn run_one(s: &Server, token: &str, folder_id: &str, analysis: Value) -> Value {
    let (st, v) = order(s, token, folder_id, json!({ "analyses": [analysis] }));
    assert_eq!(st, 201, "{v}");
    let created = &v[0];
    assert_eq!(created["state"], "PROCESSING");
    assert_eq!(created["analysis_id"], created["analyse_id"]);
    s.wait_analysis(token, created["analysis_id"].as_str().unwrap(), 180)
}

fn result_for<'a>(analysis: &'a Value, media: &str) -> &'a Value {
    analysis["results_media"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source_media_id"] == media)
        .unwrap_or_else(|| panic!("no result for {media} in {analysis}"))
}

fn liveness_biometry_and_best_shot(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[], |s| {
        let t = tenant(s, "bank");
        // Liveness: a live photo passes, a printed photo is declined, a live video passes and
        // gives a best shot.
        let f = folder(
            s,
            &t.client,
            &[
                ("live", file(&data, LIVE), &["photo_selfie"]),
                ("print", file(&data, PRINT_ATTACK), &["photo_selfie"]),
                (
                    "video",
                    file(&data, LIVE_VIDEO),
                    &["video_selfie", "video_selfie_blank", "orientation_portrait"],
                ),
            ],
        );
        let fid = f["folder_id"].as_str().unwrap();
        let a = run_one(
            s,
            &t.client,
            fid,
            json!({"type": "QUALITY", "params": {"extract_best_shot": true}}),
        );
        assert_eq!(a["state"], "FINISHED", "{a}");
        assert_eq!(a["type"], "QUALITY");
        let live = result_for(&a, &media_id(&f, "live"));
        let print = result_for(&a, &media_id(&f, "print"));
        let video = result_for(&a, &media_id(&f, "video"));
        let score = |r: &Value| r["results_data"]["confidence_spoofing"].as_f64().unwrap();
        assert!(score(live) < 0.5, "{live}");
        assert_eq!(live["resolution_status"], "SUCCESS");
        assert!(score(print) >= 0.5, "{print}");
        assert_eq!(print["resolution_status"], "DECLINED");
        assert!(score(video) < 0.5, "{video}");
        assert_eq!(video["resolution_status"], "SUCCESS");
        assert_eq!(video["source_video_id"], media_id(&f, "video"));
        // one spoof in the folder: the analysis and the folder are declined
        assert_eq!(a["resolution_status"], "DECLINED");
        assert_eq!(a["resolution"], "DECLINED");
        let (_, folder_now) = s.call(
            Method::GET,
            &format!("/api/folders/{fid}?with_analyses=true"),
            Some(&t.client),
            None,
        );
        assert_eq!(folder_now["resolution_status"], "DECLINED");
        assert_eq!(folder_now["system_resolution"], "DECLINED");
        assert_eq!(folder_now["analyses"].as_array().unwrap().len(), 1);
        // the best shot is a new media of the folder, downloadable
        let shot = &video["output_images"][0];
        let url = shot["original_url"].as_str().expect("best shot URL");
        let resp = s
            .client
            .get(url)
            .header("X-Forensic-Access-Token", &t.client)
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200);
        let jpeg = resp.bytes().unwrap();
        assert!(jpeg.starts_with(&[0xFF, 0xD8]), "a JPEG");
        let shot_id = shot["media_id"].as_str().unwrap();
        assert!(folder_now["media"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["media_id"] == shot_id));
        // the best shot is usable as biometry input: it matches the video it came from
        let b = run_one(
            s,
            &t.client,
            fid,
            json!({"type": "biometry", "source_media": [shot_id, media_id(&f, "video")]}),
        );
        assert_eq!(b["resolution_status"], "SUCCESS", "{b}");
        assert!(b["results_data"]["min_confidence"].as_f64().unwrap() >= 0.85);

        // Biometry: the same person matches, different people do not.
        let same = folder(
            s,
            &t.client,
            &[
                ("a", file(&data, BLAIR_A), &["photo_selfie"]),
                ("b", file(&data, BLAIR_B), &["photo_id", "photo_id_front"]),
            ],
        );
        let r = run_one(
            s,
            &t.client,
            same["folder_id"].as_str().unwrap(),
            json!({"type": "biometry"}),
        );
        assert_eq!(r["resolution_status"], "SUCCESS", "{r}");
        let min = r["results_data"]["min_confidence"].as_f64().unwrap();
        let max = r["results_data"]["max_confidence"].as_f64().unwrap();
        assert!(min >= 0.85 && max >= min, "{r}");
        let other = folder(
            s,
            &t.client,
            &[
                ("a", file(&data, BLAIR_A), &["photo_selfie"]),
                ("b", file(&data, POWELL), &["photo_selfie"]),
                ("back", file(&data, POWELL), &["photo_id", "photo_id_back"]),
            ],
        );
        let r = run_one(
            s,
            &t.client,
            other["folder_id"].as_str().unwrap(),
            json!({"type": "biometry"}),
        );
        assert_eq!(r["resolution_status"], "DECLINED", "{r}");
        assert!(r["results_data"]["min_confidence"].as_f64().unwrap() < 0.85);
        // photo_id_back is not compared
        assert_eq!(r["source_media"].as_array().unwrap().len(), 2, "{r}");
        assert_eq!(r["results_data"]["pairs"].as_array().unwrap().len(), 1);

        // the folder's analyses list and its filters
        let (st, list) = s.call(
            Method::GET,
            &format!("/api/folders/{fid}/analyses/?type=BIOMETRY&state=FINISHED"),
            Some(&t.client),
            None,
        );
        assert_eq!(st, 200);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["type"], "BIOMETRY");
        let (_, list) = s.call(
            Method::GET,
            "/api/folders/?with_analyses=true",
            Some(&t.client),
            None,
        );
        let with = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["folder_id"] == fid)
            .unwrap();
        assert_eq!(with["analyses"].as_array().unwrap().len(), 2);
    });
}

#[test]
fn liveness_biometry_and_best_shot_sqlite() {
    liveness_biometry_and_best_shot(Backend::Sqlite);
}

#[test]
fn liveness_biometry_and_best_shot_postgres() {
    liveness_biometry_and_best_shot(Backend::Postgres);
}

/// A tenant with a folder of one photo, a rival tenant; (shop, rival, folder id, orders path).
fn shop_with_a_photo(s: &Server, data: &Path) -> (Tenant, Tenant, String, String) {
    let t = tenant(s, "shop");
    let other = tenant(s, "rival");
    let f = folder(
        s,
        &t.client,
        &[("a", file(data, BLAIR_A), &["photo_selfie"])],
    );
    let fid = f["folder_id"].as_str().unwrap().to_string();
    let path = format!("/api/folders/{fid}/analyses/");
    (t, other, fid, path)
}

/// No refused order left a row.
#[track_caller]
fn nothing_ordered(s: &Server) {
    assert_eq!(s.db_count("analyses"), 0, "no refused order left a row");
    assert_eq!(s.db_count("jobs"), 0);
}

/// Bad orders get their documented errors (too few media for biometry, unknown or unsupported
/// types, bad bodies, media, params and endpoints, unknown folders) and store nothing.
fn bad_orders_refused(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[], |s| {
        let (t, _, fid, path) = shop_with_a_photo(s, &data);
        let fid = fid.as_str();
        // fewer than two media for biometry: a documented error, nothing stored
        let v = assert_error(
            order(
                s,
                &t.client,
                fid,
                json!({"analyses": [{"type": "biometry"}]}),
            ),
            400,
            4,
        );
        assert_eq!(v["details"]["reason"], "not_enough_media");
        assert_error(
            order(
                s,
                &t.client,
                fid,
                json!({"analyses": [{"type": "palmistry"}]}),
            ),
            400,
            4,
        );
        // (DOCUMENTS is accepted: the `compat` tests cover it.)
        assert_error(order(s, &t.client, fid, json!({"analyses": []})), 400, 3);
        assert_error(order(s, &t.client, fid, json!({"nothing": 1})), 400, 3);
        assert_error(
            order(
                s,
                &t.client,
                fid,
                json!({"analyses": [{"type": "quality", "source_media": ["nope"]}]}),
            ),
            400,
            5,
        );
        assert_error(
            order(
                s,
                &t.client,
                fid,
                json!({"analyses": [{"type": "quality", "source_media": [uuid()]}]}),
            ),
            400,
            4,
        );
        assert_error(
            order(
                s,
                &t.client,
                fid,
                json!({"analyses": [{"type": "quality", "params": {"threshold_spoofing": 7}}]}),
            ),
            400,
            4,
        );
        assert_error(
            order(
                s,
                &t.client,
                fid,
                json!({"analyses": [{"type": "quality"}], "resolution_endpoint": "file:///etc/passwd"}),
            ),
            400,
            4,
        );
        let resp = s
            .req(Method::POST, &path, Some(&t.client))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .unwrap();
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.json::<Value>().unwrap()["error_code"], 3);
        assert_error(
            order(
                s,
                &t.client,
                &uuid(),
                json!({"analyses": [{"type": "quality"}]}),
            ),
            404,
            10,
        );
        assert_error(
            order(
                s,
                &t.client,
                "123",
                json!({"analyses": [{"type": "quality"}]}),
            ),
            400,
            5,
        );
        nothing_ordered(s);
    });
}

/// Orders without a token, with a bad one, or on another company's folder are refused.
fn orders_of_strangers_refused(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[], |s| {
        let (_, other, fid, path) = shop_with_a_photo(s, &data);
        let fid = fid.as_str();
        // no token, bad token, another company's folder
        assert_error(
            s.call(
                Method::POST,
                &path,
                None,
                Some(json!({"analyses": [{"type": "quality"}]})),
            ),
            401,
            6,
        );
        assert_error(
            s.call(
                Method::POST,
                &path,
                Some("bogus"),
                Some(json!({"analyses": [{"type": "quality"}]})),
            ),
            401,
            7,
        );
        assert_error(
            order(
                s,
                &other.client,
                fid,
                json!({"analyses": [{"type": "quality"}]}),
            ),
            404,
            10,
        );
        assert_error(
            s.call(Method::GET, &path, Some(&other.admin), None),
            404,
            10,
        );
        nothing_ordered(s);
    });
}

/// A user without `can_start_analysis_quality` cannot order one.
fn orders_need_the_users_flag(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[], |s| {
        let t = tenant(s, "shop");
        // a user without can_start_analysis_quality
        let root = s.admin();
        let (uid, limited) = s.user(&root, "limited@shop.test", "CLIENT", Some(&t.company));
        let (st, _) = s.call(
            Method::PATCH,
            &format!("/api/users/{uid}"),
            Some(&root),
            Some(json!({"can_start_analysis_quality": false})),
        );
        assert_eq!(st, 200);
        let mine = folder(
            s,
            &limited,
            &[("a", file(&data, BLAIR_A), &["photo_selfie"])],
        );
        assert_error(
            order(
                s,
                &limited,
                mine["folder_id"].as_str().unwrap(),
                json!({"analyses": [{"type": "quality"}]}),
            ),
            403,
            9,
        );
        nothing_ordered(s);
    });
}

/// An ADMIN's folder belongs to no company: without the server's secret, no webhook.
fn admin_folders_get_no_webhook(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[], |s| {
        let root = s.admin();
        // an ADMIN's folder belongs to no company: without the server's secret no webhook
        let own = folder(s, &root, &[("a", file(&data, BLAIR_A), &["photo_selfie"])]);
        assert_error(
            order(
                s,
                &root,
                own["folder_id"].as_str().unwrap(),
                json!({"analyses": [{"type": "quality"}], "resolution_endpoint": "http://127.0.0.1:9/hook"}),
            ),
            400,
            4,
        );
        nothing_ordered(s);
    });
}

/// Unknown and malformed analysis ids.
fn unknown_analysis_ids(backend: Backend) {
    on(backend, &[], |s| {
        let t = tenant(s, "shop");
        // unknown analysis ids
        assert_error(
            s.call(
                Method::GET,
                &format!("/api/analyses/{}", uuid()),
                Some(&t.client),
                None,
            ),
            404,
            10,
        );
        assert_error(
            s.call(Method::GET, "/api/analyses/xyz", Some(&t.client), None),
            400,
            5,
        );
    });
}

/// A photo with no face is declined with a reason, not failed.
fn no_face_is_declined(backend: Backend) {
    on(backend, &[], |s| {
        let t = tenant(s, "shop");
        // a photo with no face is declined with a reason, not failed
        let dir = tempfile::tempdir().unwrap();
        let noface = dir.path().join("noface.png");
        image::RgbImage::from_pixel(320, 240, image::Rgb([90, 120, 200]))
            .save(&noface)
            .unwrap();
        let f = folder(
            s,
            &t.client,
            &[("blank", noface.clone(), &["photo_selfie"])],
        );
        let a = run_one(
            s,
            &t.client,
            f["folder_id"].as_str().unwrap(),
            json!({"type": "quality"}),
        );
        assert_eq!(a["state"], "FINISHED");
        assert_eq!(a["resolution_status"], "DECLINED");
        assert_eq!(a["results_media"][0]["error"]["code"], "no_face", "{a}");
    });
}

#[test]
fn bad_orders_refused_sqlite() {
    bad_orders_refused(Backend::Sqlite);
}

#[test]
fn bad_orders_refused_postgres() {
    bad_orders_refused(Backend::Postgres);
}

#[test]
fn orders_of_strangers_refused_sqlite() {
    orders_of_strangers_refused(Backend::Sqlite);
}

#[test]
fn orders_of_strangers_refused_postgres() {
    orders_of_strangers_refused(Backend::Postgres);
}

#[test]
fn orders_need_the_users_flag_sqlite() {
    orders_need_the_users_flag(Backend::Sqlite);
}

#[test]
fn orders_need_the_users_flag_postgres() {
    orders_need_the_users_flag(Backend::Postgres);
}

#[test]
fn admin_folders_get_no_webhook_sqlite() {
    admin_folders_get_no_webhook(Backend::Sqlite);
}

#[test]
fn admin_folders_get_no_webhook_postgres() {
    admin_folders_get_no_webhook(Backend::Postgres);
}

#[test]
fn unknown_analysis_ids_sqlite() {
    unknown_analysis_ids(Backend::Sqlite);
}

#[test]
fn unknown_analysis_ids_postgres() {
    unknown_analysis_ids(Backend::Postgres);
}

#[test]
fn no_face_is_declined_sqlite() {
    no_face_is_declined(Backend::Sqlite);
}

#[test]
fn no_face_is_declined_postgres() {
    no_face_is_declined(Backend::Postgres);
}

fn uuid() -> String {
    format!("{:08x}-0000-4000-8000-000000000000", std::process::id())
}

fn operator_review(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[], |s| {
        let t = tenant(s, "fintech");
        // Company settings: CLIENT ADMIN only; a review zone for biometry below 0.99999 (a
        // genuine pair of the default pack scores ≈ 0.999, so it lands in the zone).
        assert_error(
            s.call(
                Method::GET,
                &format!("/api/companies/{}/settings", t.company),
                Some(&t.operator),
                None,
            ),
            403,
            9,
        );
        let (st, settings) = s.call(
            Method::PATCH,
            &format!("/api/companies/{}/settings", t.company),
            Some(&t.admin),
            Some(json!({"biometry_threshold": 0.99999, "biometry_operator_threshold": 0.2})),
        );
        assert_eq!(st, 200, "{settings}");
        assert_eq!(settings["biometry_threshold"], 0.99999);
        assert!(settings["webhook_secret"].as_str().unwrap().len() >= 32);
        // Never set: null (scaled with the gallery), so saving back what was read changes nothing.
        assert_eq!(settings["collection_threshold"], Value::Null, "{settings}");
        assert_eq!(settings["collection_threshold_floor"], 0.85, "{settings}");
        assert_error(
            s.call(
                Method::PATCH,
                &format!("/api/companies/{}/settings", t.company),
                Some(&t.admin),
                Some(json!({"liveness_threshold": "high"})),
            ),
            400,
            4,
        );
        let f = folder(
            s,
            &t.client,
            &[
                ("a", file(&data, BLAIR_A), &["photo_selfie"]),
                ("b", file(&data, BLAIR_B), &["photo_selfie"]),
            ],
        );
        let fid = f["folder_id"].as_str().unwrap();
        let a = run_one(s, &t.client, fid, json!({"type": "biometry"}));
        assert_eq!(a["resolution_status"], "OPERATOR_REQUIRED", "{a}");
        let id = a["analysis_id"].as_str().unwrap();
        let (_, fo) = s.call(
            Method::GET,
            &format!("/api/folders/{fid}"),
            Some(&t.client),
            None,
        );
        assert_eq!(fo["resolution_status"], "OPERATOR_REQUIRED");
        // the request overrides the company's thresholds
        let a2 = run_one(
            s,
            &t.client,
            fid,
            json!({"type": "biometry", "params": {"threshold_min": 0.5, "threshold_max": 0.85}}),
        );
        assert_eq!(a2["resolution_status"], "SUCCESS", "{a2}");
        // the uploader may not decide; the company's operator may, once
        let path = format!("/api/analyses/{id}");
        assert_error(
            s.call(
                Method::PATCH,
                &path,
                Some(&t.client),
                Some(json!({"resolution_status": "SUCCESS"})),
            ),
            403,
            9,
        );
        assert_error(
            s.call(
                Method::PATCH,
                &path,
                Some(&t.operator),
                Some(json!({"resolution_status": "MAYBE"})),
            ),
            400,
            4,
        );
        let (st, decided) = s.call(
            Method::PATCH,
            &path,
            Some(&t.operator),
            Some(json!({"resolution_status": "SUCCESS", "comment": "same person, checked the ID"})),
        );
        assert_eq!(st, 200, "{decided}");
        assert_eq!(decided["resolution_status"], "SUCCESS");
        let d = &decided["decisions"][0];
        assert_eq!(d["before"], "OPERATOR_REQUIRED");
        assert_eq!(d["after"], "SUCCESS");
        assert_eq!(d["comment"], "same person, checked the ID");
        assert!(d["user_id"].is_string() && d["time_created"].as_f64().unwrap() > 0.0);
        assert_error(
            s.call(
                Method::PATCH,
                &path,
                Some(&t.operator),
                Some(json!({"resolution_status": "DECLINED"})),
            ),
            409,
            4,
        );
    });
}

#[test]
fn operator_review_sqlite() {
    operator_review(Backend::Sqlite);
}

#[test]
fn operator_review_postgres() {
    operator_review(Backend::Postgres);
}

fn single_request_and_instant(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[], |s| {
        let t = tenant(s, "kyc");
        // Single request: results in the response, persisted as usual.
        let (st, v) = s.upload(
            "/api/folders/",
            &t.client,
            &[
                ("selfie", &file(&data, BLAIR_A)),
                ("id", &file(&data, BLAIR_B)),
            ],
            Some(json!({
                "media:tags": {"selfie": ["photo_selfie"], "id": ["photo_id", "photo_id_front"]},
                "analyses": [{"type": "quality", "source_media": ["selfie"]}, {"type": "biometry"}]
            })),
        );
        assert_eq!(st, 201, "{v}");
        let analyses = v["analyses"].as_array().unwrap();
        assert_eq!(analyses.len(), 2);
        for a in analyses {
            assert_eq!(a["state"], "FINISHED", "{a}");
        }
        assert_eq!(analyses[0]["source_media"].as_array().unwrap().len(), 1);
        assert_eq!(analyses[1]["resolution_status"], "SUCCESS");
        assert_ne!(v["resolution_status"], "PROCESSING");
        let (_, again) = s.call(
            Method::GET,
            &format!(
                "/api/folders/{}?with_analyses=true",
                v["folder_id"].as_str().unwrap()
            ),
            Some(&t.client),
            None,
        );
        assert_eq!(again["analyses"].as_array().unwrap().len(), 2);
        // a single request whose order is refused leaves nothing behind
        let folders = s.db_count("folders");
        let files = s.media_files();
        let (st, v) = s.upload(
            "/api/folders/",
            &t.client,
            &[("selfie", &file(&data, BLAIR_A))],
            Some(json!({"media:tags": {"selfie": ["photo_selfie"]}, "analyses": [{"type": "biometry"}]})),
        );
        assert_error((st, v), 400, 4);
        assert_eq!(s.db_count("folders"), folders);
        assert_eq!(s.media_files(), files);

        // Instant: the same processing, nothing stored anywhere.
        let tables = ["folders", "media", "analyses", "jobs", "webhook_deliveries"];
        let before: Vec<i64> = tables.iter().map(|t| s.db_count(t)).collect();
        let snapshot = tree(s.data_dir.path());
        let (st, v) = s.upload(
            "/api/instant/folders/",
            &t.client,
            &[
                ("selfie", &file(&data, LIVE)),
                ("video", &file(&data, LIVE_VIDEO)),
                ("a", &file(&data, BLAIR_A)),
                ("b", &file(&data, BLAIR_B)),
            ],
            Some(json!({
                "media:tags": {"selfie": ["photo_selfie"], "video": ["video_selfie", "video_selfie_blank"],
                               "a": ["photo_selfie"], "b": ["photo_selfie"]},
                "analyses": [
                    {"type": "quality", "source_media": ["selfie", "video"], "params": {"extract_best_shot": true}},
                    {"type": "biometry", "source_media": ["a", "b"]}
                ]
            })),
        );
        assert_eq!(st, 200, "{v}");
        let q = &v["analyses"][0];
        assert_eq!(q["state"], "FINISHED", "{q}");
        assert_eq!(q["resolution_status"], "SUCCESS", "{q}");
        let video_result = q["results_media"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["results_data"]["frames_analysed"].is_number())
            .unwrap();
        assert!(video_result["output_images"][0]["original_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/jpeg;base64,"));
        assert_eq!(v["analyses"][1]["resolution_status"], "SUCCESS");
        assert!(v["media"][0]["original_url"].is_null());
        let after: Vec<i64> = tables.iter().map(|t| s.db_count(t)).collect();
        assert_eq!(before, after, "Instant stored rows");
        assert_eq!(snapshot, tree(s.data_dir.path()), "Instant left files");
        assert_error(
            s.upload(
                "/api/instant/folders/",
                &t.client,
                &[("a", &file(&data, BLAIR_A))],
                Some(json!({"analyses": [{"type": "collection"}]})),
            ),
            501,
            2,
        );
        assert_error(
            s.upload(
                "/api/instant/folders/",
                "bogus",
                &[("a", &file(&data, BLAIR_A))],
                None,
            ),
            401,
            7,
        );
    });
}

/// Files under `dir` (the SQLite files excepted: the database is checked by its rows).
fn tree(dir: &Path) -> Vec<(String, u64)> {
    fn walk(d: &Path, out: &mut Vec<(String, u64)>) {
        for e in std::fs::read_dir(d).unwrap().filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if !p.to_string_lossy().contains("faceproof.db") {
                out.push((p.display().to_string(), e.metadata().unwrap().len()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

#[test]
fn single_request_and_instant_sqlite() {
    single_request_and_instant(Backend::Sqlite);
}

#[test]
fn single_request_and_instant_postgres() {
    single_request_and_instant(Backend::Postgres);
}

fn crash_mid_processing(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let env = [
        ("FACEPROOF_JOB_LEASE", "3"),
        ("FACEPROOF_JOB_POLL_MS", "100"),
    ];
    let Some(mut s) = Server::start(backend, &env) else {
        return;
    };
    let t = tenant(&s, "durable");
    let f = folder(
        &s,
        &t.client,
        &[(
            "video",
            file(&data, LIVE_VIDEO),
            &["video_selfie", "video_selfie_blank"],
        )],
    );
    let (st, v) = order(
        &s,
        &t.client,
        f["folder_id"].as_str().unwrap(),
        json!({"analyses": [{"type": "quality", "params": {"extract_best_shot": true}}]}),
    );
    assert_eq!(st, 201, "{v}");
    let id = v[0]["analysis_id"].as_str().unwrap().to_string();
    // wait until a worker holds the job, then kill the server in the middle of it
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while s.job_of(&id).map(|j| j.0) != Some("running".into()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the job was never claimed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    s.crash_and_restart(&env);
    let a = s.wait_analysis(&t.client, &id, 180);
    assert_eq!(a["state"], "FINISHED", "{a}");
    assert_eq!(a["resolution_status"], "SUCCESS", "{a}");
    assert_eq!(
        a["results_media"][0]["output_images"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (state, attempts) = s.job_of(&id).unwrap();
    assert_eq!(state, "done");
    assert_eq!(attempts, 2, "claimed once before the crash and once after");
    // exactly one best shot despite two runs
    let (_, fo) = s.call(
        Method::GET,
        &format!("/api/folders/{}", f["folder_id"].as_str().unwrap()),
        Some(&t.client),
        None,
    );
    assert_eq!(fo["media"].as_array().unwrap().len(), 2, "{fo}");
}

#[test]
fn crash_mid_processing_sqlite() {
    crash_mid_processing(Backend::Sqlite);
}

#[test]
fn crash_mid_processing_postgres() {
    crash_mid_processing(Backend::Postgres);
}

/// A job that keeps failing (its media file vanished from storage) ends FAILED with a reason.
#[test]
fn failing_job_ends_failed() {
    let Some(data) = shared_data() else { return };
    on(
        Backend::Sqlite,
        &[("FACEPROOF_JOB_MAX_ATTEMPTS", "2")],
        |s| {
            let t = tenant(s, "flaky");
            let f = folder(
                s,
                &t.client,
                &[("a", file(&data, BLAIR_A), &["photo_selfie"])],
            );
            let original = s
                .data_dir
                .path()
                .join("media/folders")
                .join(f["folder_id"].as_str().unwrap())
                .join(media_id(&f, "a"))
                .join("original.jpg");
            std::fs::remove_file(&original).unwrap();
            let a = run_one(
                s,
                &t.client,
                f["folder_id"].as_str().unwrap(),
                json!({"type": "quality"}),
            );
            assert_eq!(a["state"], "FAILED", "{a}");
            assert_eq!(a["resolution_status"], "FAILED");
            assert!(
                a["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("failed 2 times"),
                "{a}"
            );
            let (_, fo) = s.call(
                Method::GET,
                &format!("/api/folders/{}", f["folder_id"].as_str().unwrap()),
                Some(&t.client),
                None,
            );
            assert_eq!(fo["resolution_status"], "FAILED");
            // a storage failure may pass: it was retried until the attempts were used
            let id = a["analysis_id"].as_str().unwrap();
            assert_eq!(s.job_of(id), Some(("failed".to_string(), 2)));
        },
    );
}

/// A failure no retry mends ends the analysis at once with its reason: the collection a
/// COLLECTION order names is deleted while the order waits in the queue (no workers in the
/// server), so the worker that then takes it fails it after one attempt, not five.
fn permanent_failure_is_not_retried(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(
        backend,
        &[
            ("FACEPROOF_WORKERS", "0"),
            ("FACEPROOF_JOB_MAX_ATTEMPTS", "5"),
        ],
        |s| {
            let t = tenant(s, "vanishing");
            let f = folder(
                s,
                &t.client,
                &[("a", file(&data, BLAIR_A), &["photo_selfie"])],
            );
            let (st, c) = s.call(
                Method::POST,
                "/api/collections/",
                Some(&t.admin),
                Some(json!({"alias": "gone soon", "company_id": t.company})),
            );
            assert_eq!(st, 201, "{c}");
            let cid = c["collection_id"].as_str().unwrap();
            let (st, v) = order(
                s,
                &t.client,
                f["folder_id"].as_str().unwrap(),
                json!({"analyses": [{"type": "collection", "params": {"collection_id": cid}}]}),
            );
            assert_eq!(st, 201, "{v}");
            let id = v[0]["analysis_id"].as_str().unwrap();
            let (st, _) = s.call(
                Method::DELETE,
                &format!("/api/collections/{cid}"),
                Some(&t.admin),
                None,
            );
            assert_eq!(st, 204);
            let worker = s.worker(&[
                ("FACEPROOF_JOB_POLL_MS", "100"),
                ("FACEPROOF_JOB_MAX_ATTEMPTS", "5"),
            ]);
            let a = s.wait_analysis(&t.client, id, 120);
            drop(worker);
            assert_eq!(a["state"], "FAILED", "{a}");
            assert_eq!(a["resolution_status"], "FAILED", "{a}");
            assert_eq!(
                a["error"]["message"],
                format!("collection {cid} not found"),
                "the reason, not a retry count: {a}"
            );
            assert_eq!(s.job_of(id), Some(("failed".to_string(), 1)));
        },
    );
}

#[test]
fn permanent_failure_is_not_retried_sqlite() {
    permanent_failure_is_not_retried(Backend::Sqlite);
}

#[test]
fn permanent_failure_is_not_retried_postgres() {
    permanent_failure_is_not_retried(Backend::Postgres);
}

fn webhook_delivered_and_retried(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let hook = webhook::Receiver::failing_once();
    let authority = hook.authority();
    let env = [
        ("FACEPROOF_WEBHOOK_BACKOFF_MS", "200"),
        ("FACEPROOF_WEBHOOK_ALLOWED_HOSTS", authority.as_str()),
    ];
    on(backend, &env, |s| {
        let t = tenant(s, "hooked");
        let (_, settings) = s.call(
            Method::GET,
            &format!("/api/companies/{}/settings", t.company),
            Some(&t.admin),
            None,
        );
        let secret = settings["webhook_secret"].as_str().unwrap().to_string();
        let f = folder(
            s,
            &t.client,
            &[
                ("a", file(&data, BLAIR_A), &["photo_selfie"]),
                ("b", file(&data, BLAIR_B), &["photo_selfie"]),
            ],
        );
        let fid = f["folder_id"].as_str().unwrap();
        let (st, v) = order(
            s,
            &t.client,
            fid,
            json!({"analyses": [{"type": "quality"}, {"type": "biometry"}], "resolution_endpoint": hook.url}),
        );
        assert_eq!(st, 201, "{v}");
        // wait for the second (successful) attempt
        let requests = hook.wait_for(2, 120);
        let body = &requests[1].body;
        assert_eq!(requests[0].body, *body, "a retry sends the same body");
        let header = |k: &str| requests[1].header(k).map(str::to_string);
        let sig = header("x-faceproof-signature").expect("signed");
        let (ts, mac) = sig
            .split_once(',')
            .map(|(t, m)| (t.trim_start_matches("t="), m.trim_start_matches("v1=")))
            .unwrap();
        let mut expected = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        expected.update(format!("{ts}.{body}").as_bytes());
        assert_eq!(
            mac,
            hex_encode(&expected.finalize().into_bytes()),
            "signature"
        );
        // A new company's webhooks carry the folder as `GET /api/folders/{id}?with_analyses=true`
        // answers it (`webhook_format: "oz"`; the `compat` tests cover the `faceproof` envelope).
        let payload: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            header("x-faceproof-event").as_deref(),
            Some("analyses.finished")
        );
        assert_eq!(payload["folder_id"], fid);
        let analyses = payload["analyses"].as_array().unwrap();
        assert_eq!(analyses.len(), 2);
        assert!(analyses.iter().all(|a| a["state"] == "FINISHED"));
        // the owner sees both attempts
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (st, list) = s.call(
                Method::GET,
                &format!("/api/folders/{fid}/webhooks/"),
                Some(&t.client),
                None,
            );
            assert_eq!(st, 200);
            let d = &list[0];
            if d["state"] == "DELIVERED" {
                let attempts = d["attempts"].as_array().unwrap();
                assert_eq!(attempts.len(), 2, "{d}");
                assert_eq!(attempts[0]["status_code"], 500);
                assert_eq!(attempts[1]["status_code"], 200);
                assert_eq!(d["url"], hook.url);
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "delivery not recorded: {list}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn webhook_delivered_and_retried_sqlite() {
    webhook_delivered_and_retried(Backend::Sqlite);
}

#[test]
fn webhook_delivered_and_retried_postgres() {
    webhook_delivered_and_retried(Backend::Postgres);
}

fn blacklist_analysis(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[], |s| {
        let t = tenant(s, "lender");
        let f = folder(
            s,
            &t.client,
            &[
                ("blair", file(&data, BLAIR_A), &["photo_selfie"]),
                ("powell", file(&data, POWELL), &["photo_selfie"]),
            ],
        );
        let fid = f["folder_id"].as_str().unwrap();
        // no collection yet: a documented error
        let v = assert_error(
            order(
                s,
                &t.client,
                fid,
                json!({"analyses": [{"type": "collection"}]}),
            ),
            400,
            4,
        );
        assert_eq!(v["details"]["reason"], "no_collection");
        let (st, c) = s.call(
            Method::POST,
            "/api/collections/",
            Some(&t.admin),
            Some(json!({"alias": "blacklist", "company_id": t.company})),
        );
        assert_eq!(st, 201, "{c}");
        let cid = c["collection_id"].as_str().unwrap();
        let (st, p) = s.upload(
            &format!("/api/collections/{cid}/persons/"),
            &t.admin,
            &[("photo", &file(&data, BLAIR_B))],
            Some(json!({"media:tags": {"photo": ["photo_selfie"]}})),
        );
        assert_eq!(st, 201, "{p}");
        let person = p["person_id"].as_str().unwrap();
        let a = run_one(s, &t.client, fid, json!({"type": "blacklist"}));
        assert_eq!(a["type"], "COLLECTION");
        assert_eq!(a["resolution_status"], "DECLINED", "{a}");
        let hit = result_for(&a, &media_id(&f, "blair"));
        assert_eq!(hit["person_id"], person, "{a}");
        assert_eq!(hit["resolution_status"], "DECLINED");
        assert!(
            hit["results_data"]["matches"][0]["confidence"]
                .as_f64()
                .unwrap()
                >= 0.85
        );
        // the matched enrolled photo, for the collection's managers
        let image_url = hit["results_data"]["matches"][0]["image_url"]
            .as_str()
            .unwrap();
        let resp = s
            .client
            .get(image_url)
            .header("X-Forensic-Access-Token", &t.admin)
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.bytes().unwrap().starts_with(&[0xFF, 0xD8]));
        let miss = result_for(&a, &media_id(&f, "powell"));
        assert_eq!(miss["resolution_status"], "SUCCESS", "{a}");
        assert!(miss.get("person_id").is_none());
        assert_eq!(a["results_data"]["collections"][0]["alias"], "blacklist");
        // after deleting the person the same check passes
        let (st, _) = s.call(
            Method::DELETE,
            &format!("/api/collections/{cid}/persons/{person}"),
            Some(&t.admin),
            None,
        );
        assert_eq!(st, 204);
        let a = run_one(
            s,
            &t.client,
            fid,
            json!({"type": "collection", "params": {"collection_id": cid}}),
        );
        assert_eq!(a["resolution_status"], "SUCCESS", "{a}");
        // another company's collection reads as unknown
        let other = tenant(s, "stranger");
        let g = folder(
            s,
            &other.client,
            &[("x", file(&data, BLAIR_A), &["photo_selfie"])],
        );
        let v = assert_error(
            order(
                s,
                &other.client,
                g["folder_id"].as_str().unwrap(),
                json!({"analyses": [{"type": "collection", "params": {"collection_id": cid}}]}),
            ),
            400,
            4,
        );
        assert_eq!(v["details"]["reason"], "unknown_collection");
    });
}

#[test]
fn blacklist_analysis_sqlite() {
    blacklist_analysis(Backend::Sqlite);
}

#[test]
fn blacklist_analysis_postgres() {
    blacklist_analysis(Backend::Postgres);
}

/// With no workers in the server, orders wait in the queue; a separate `faceproof worker` process
/// on the same database and data directory runs them.
fn separate_worker_process(backend: Backend) {
    let Some(data) = shared_data() else { return };
    on(backend, &[("FACEPROOF_WORKERS", "0")], |s| {
        let t = tenant(s, "split");
        let f = folder(s, &t.client, &[("a", file(&data, LIVE), &["photo_selfie"])]);
        let (st, v) = order(
            s,
            &t.client,
            f["folder_id"].as_str().unwrap(),
            json!({"analyses": [{"type": "quality"}]}),
        );
        assert_eq!(st, 201, "{v}");
        let id = v[0]["analysis_id"].as_str().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let (_, a) = s.call(
            Method::GET,
            &format!("/api/analyses/{id}"),
            Some(&t.client),
            None,
        );
        assert_eq!(a["state"], "PROCESSING", "no worker yet: {a}");
        assert_eq!(s.job_of(id).unwrap().0, "queued");
        let worker = s.worker(&[("FACEPROOF_JOB_POLL_MS", "100")]);
        let a = s.wait_analysis(&t.client, id, 120);
        drop(worker);
        assert_eq!(a["state"], "FINISHED", "{a}");
        assert_eq!(a["resolution_status"], "SUCCESS", "{a}");
    });
}

#[test]
fn separate_worker_process_sqlite() {
    separate_worker_process(Backend::Sqlite);
}

#[test]
fn separate_worker_process_postgres() {
    separate_worker_process(Backend::Postgres);
}

/// Gesture videos must show their gestures: the scripted clip's left turn, nod down and look up
/// are seen in that order (tagged so; its weak right turn stays under the bar), and no left turn
/// in a nearly still one (which is then declined with the reason).
#[test]
fn gesture_videos_are_checked() {
    let Some(data) = shared_data() else { return };
    on(Backend::Sqlite, &[], |s| {
        let t = tenant(s, "gestures");
        let f = folder(
            s,
            &t.client,
            &[
                (
                    "turns",
                    file(&data, LIVE_VIDEO),
                    &[
                        "video_selfie",
                        "video_selfie_left",
                        "video_selfie_down",
                        "video_selfie_high",
                    ],
                ),
                (
                    "still",
                    file(&data, "video/krzysiek354_live_small_moves.mp4"),
                    &["video_selfie", "video_selfie_left"],
                ),
            ],
        );
        let a = run_one(
            s,
            &t.client,
            f["folder_id"].as_str().unwrap(),
            json!({"type": "quality"}),
        );
        let turns = result_for(&a, &media_id(&f, "turns"));
        assert_eq!(turns["results_data"]["gesture"]["performed"], true, "{a}");
        assert_eq!(
            turns["results_data"]["gesture"]["name"],
            "video_selfie_left"
        );
        let steps = turns["results_data"]["gesture"]["sequence"]
            .as_array()
            .unwrap();
        assert_eq!(steps.len(), 3, "{a}");
        assert_eq!(steps[2]["name"], "video_selfie_high");
        assert_eq!(turns["resolution_status"], "SUCCESS", "{a}");
        let still = result_for(&a, &media_id(&f, "still"));
        assert_eq!(still["results_data"]["gesture"]["performed"], false, "{a}");
        assert_eq!(still["error"]["code"], "gesture_not_performed");
        assert_eq!(still["resolution_status"], "DECLINED");
        assert!(
            still["results_data"]["confidence_spoofing"]
                .as_f64()
                .unwrap()
                < 0.5,
            "live, but no turn"
        );
        assert_eq!(a["resolution_status"], "DECLINED");
    });
}

/// A client that hangs up during a single request does not leave its analyses half-done.
#[test]
fn single_request_survives_a_client_hanging_up() {
    let Some(data) = shared_data() else { return };
    on(Backend::Sqlite, &[], |s| {
        let t = tenant(s, "impatient");
        // The request written by hand on a socket, so the client hangs up exactly when the server
        // has it (its analysis placed, still PROCESSING) and not after a guessed time.
        let payload = json!({"media:tags": {"video": ["video_selfie", "video_selfie_blank"]},
                             "analyses": [{"type": "quality", "params": {"extract_best_shot": true}}]});
        let boundary = "faceproof-test-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"v.mp4\"\r\n\
             Content-Type: video/mp4\r\n\r\n"
        )
        .into_bytes();
        body.extend(std::fs::read(file(&data, LIVE_VIDEO)).unwrap());
        body.extend(
            format!(
                "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n\
                 {payload}\r\n--{boundary}--\r\n"
            )
            .into_bytes(),
        );
        let mut impatient =
            std::net::TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
        write!(
            impatient,
            "POST /api/folders/ HTTP/1.1\r\nHost: {}\r\nX-Forensic-Access-Token: {}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
            s.base.trim_start_matches("http://"),
            t.client,
            body.len()
        )
        .unwrap();
        impatient.write_all(&body).unwrap();
        let placed = |list: &Value| -> Vec<Value> {
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|f| f["analyses"].as_array().cloned().unwrap_or_default())
                .collect()
        };
        let seen = eventually(300, "the single request's analysis placed", || {
            let (_, list) = s.call(
                Method::GET,
                "/api/folders/?with_analyses=true",
                Some(&t.client),
                None,
            );
            let analyses = placed(&list);
            (!analyses.is_empty()).then_some(analyses)
        });
        // No answer yet: the client really hangs up in the middle of its request.
        impatient.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        assert!(
            matches!(impatient.peek(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the server answered before the client hung up: {seen:?}"
        );
        assert_eq!(seen[0]["state"], "PROCESSING", "{seen:?}");
        drop(impatient);
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let (_, list) = s.call(
                Method::GET,
                "/api/folders/?with_analyses=true",
                Some(&t.client),
                None,
            );
            let analyses: Vec<Value> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|f| f["analyses"].as_array().cloned().unwrap_or_default())
                .collect();
            if !analyses.is_empty() && analyses.iter().all(|a| a["state"] == "FINISHED") {
                assert_eq!(analyses[0]["resolution_status"], "SUCCESS");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "analyses stuck: {list}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    });
}

/// A refusal decided before the body is read (bad token, another company's folder) still reaches
/// a client that is in the middle of uploading megabytes, as the documented error.
#[test]
fn refused_large_uploads_get_their_error() {
    on(Backend::Sqlite, &[], |s| {
        let t = tenant(s, "big");
        let other = tenant(s, "bigger");
        let big: Vec<u8> = (0..8_000_000u32).map(|i| (i % 251) as u8).collect();
        for path in ["/api/folders/", "/api/instant/folders/"] {
            assert_error(
                s.upload_bytes(path, "bogus", "video", "v.mp4", big.clone(), None),
                401,
                7,
            );
        }
        let (st, f) = s.upload_bytes(
            "/api/folders/",
            &t.client,
            "a",
            "a.png",
            {
                let mut png = std::io::Cursor::new(Vec::new());
                image::RgbImage::from_pixel(64, 64, image::Rgb([10, 20, 30]))
                    .write_to(&mut png, image::ImageFormat::Png)
                    .unwrap();
                png.into_inner()
            },
            None,
        );
        assert_eq!(st, 201, "{f}");
        let path = format!("/api/folders/{}/media/", f["folder_id"].as_str().unwrap());
        assert_error(
            s.upload_bytes(&path, &other.client, "video", "v.mp4", big.clone(), None),
            404,
            10,
        );
    });
}
