//! Drop-in compatibility with Oz clients: each test replays, in this project's own words, the
//! request sequence one kind of published Oz client sends — its headers, content types, field
//! names — and reads the answers the way that client parses them. The client behaviour each test
//! reproduces is named in its comments (read from the public sources; nothing copied). On SQLite
//! and PostgreSQL, with real photos and videos from ../shared/data.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::webhook::Receiver;
use crate::common::*;
use hmac::{Hmac, Mac};
use reqwest::blocking::{multipart, RequestBuilder};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

const SELFIE: &str = "verification/Colin_Powell/Colin_Powell_0001.jpg";
const SELFIE_2: &str = "verification/Colin_Powell/Colin_Powell_0002.jpg";
const ID_FRONT: &str = "documents/100_id-usa.jpg";
const LIVE_VIDEO: &str = "video/tranvanluyt2203_live_head_turns.mp4";

/// The statuses Oz's iOS SDK maps `resolution` / `resolution_status` onto; anything else is a
/// parse error there ("Ошибка парсинга").
const SDK_STATUSES: &[&str] = &[
    "INITIAL",
    "PROCESSING",
    "FAILED",
    "FINISHED",
    "DECLINED",
    "SUCCESS",
    "OPERATOR_REQUIRED",
];

const FORM: &str = "application/x-www-form-urlencoded";

fn data_file(data: &Path, rel: &str) -> PathBuf {
    data.join(rel)
}

/// Send and read (status, JSON or Null).
fn send(r: RequestBuilder) -> (u16, Value) {
    let resp = r.send().unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A request with a raw body and the given label (`None`: no Content-Type at all).
fn raw(
    s: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    label: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut r = s.req(method, path, token).body(body.to_string());
    if let Some(l) = label {
        r = r.header("Content-Type", l);
    }
    send(r)
}

fn credentials(email: &str, password: &str) -> String {
    json!({"credentials": {"email": email, "password": password}}).to_string()
}

/// Oz's iOS SDK (`OZRequestManager.parse`): an object as is, an array by its last element.
fn sdk_parse(v: &Value) -> Value {
    match v {
        Value::Array(a) => a.last().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. JSON whatever its label.

/// Oz's iOS SDK sets `Content-Type: application/x-www-form-urlencoded` on every request and its
/// JSON encoding keeps that header; `curl -d '{…}'` (Oz's container scripts) sends the same label;
/// text/plain and unlabelled JSON come from hand-written clients (PHP Guzzle `body` without a
/// header). All are read as JSON. A real key=value form is error 3 saying what is expected.
fn json_whatever_label(s: &Server) {
    for label in [
        Some(FORM),
        Some("text/plain"),
        None,
        Some("application/json"),
    ] {
        let (st, v) = raw(
            s,
            Method::POST,
            "/api/authorize/auth",
            None,
            label,
            &credentials(ADMIN_EMAIL, ADMIN_PASSWORD),
        );
        assert_eq!(st, 200, "login labelled {label:?}: {v}");
        assert!(
            v["access_token"].as_str().is_some_and(|t| !t.is_empty()),
            "{v}"
        );
    }
    // A real form is refused, in the documented error shape.
    let form = format!("email={ADMIN_EMAIL}&password={ADMIN_PASSWORD}");
    let v = assert_error(
        raw(
            s,
            Method::POST,
            "/api/authorize/auth",
            None,
            Some(FORM),
            &form,
        ),
        400,
        3,
    );
    assert!(v["error_message"].as_str().unwrap().contains("form"), "{v}");
    // Malformed JSON labelled as a form: still error 3, naming JSON.
    let v = assert_error(
        raw(
            s,
            Method::POST,
            "/api/authorize/auth",
            None,
            Some(FORM),
            "{\"credentials\": ",
        ),
        400,
        3,
    );
    assert!(v["error_message"].as_str().unwrap().contains("JSON"), "{v}");
    // Wrong credentials labelled as a form: the login's own answer (7), not a body error.
    assert_error(
        raw(
            s,
            Method::POST,
            "/api/authorize/auth",
            None,
            Some(FORM),
            &credentials(ADMIN_EMAIL, "wrong-password-1"),
        ),
        401,
        7,
    );

    // An analysis order labelled as a form (the iOS SDK's `addAnalyses`).
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "labels");
    let (st, f) = s.upload(
        "/api/folders/",
        &t.client,
        &[("photo1", &data_file(&data, SELFIE))],
        Some(json!({"media:tags": {"photo1": ["photo_selfie"]}})),
    );
    assert_eq!(st, 201, "{f}");
    let fid = f["folder_id"].as_str().unwrap();
    let (st, v) = raw(
        s,
        Method::POST,
        &format!("/api/folders/{fid}/analyses"),
        Some(&t.client),
        Some(FORM),
        &json!({"analyses": [{"type": "quality"}]}).to_string(),
    );
    assert_eq!(st, 201, "{v}");
    let a = sdk_parse(&v);
    assert!(
        SDK_STATUSES.contains(&a["resolution"].as_str().unwrap()),
        "{a}"
    );
    // A settings change labelled text/plain (a browser `fetch` with a string body).
    let (st, v) = raw(
        s,
        Method::PATCH,
        &format!("/api/companies/{}/settings", t.company),
        Some(&t.admin),
        Some("text/plain;charset=UTF-8"),
        &json!({"liveness_threshold": 0.5}).to_string(),
    );
    assert_eq!(
        (st, v["liveness_threshold"].as_f64()),
        (200, Some(0.5)),
        "{v}"
    );
}

// ---------------------------------------------------------------------------------------------
// The iOS SDK session (items 1, 3, 4, 5).

/// Poll the folder as the newer iOS SDK does (`GET /api/folders/{id}?with_analyses=true`, form
/// label kept on a GET, one-second cadence) until no analysis is PROCESSING or INITIAL.
fn sdk_wait_folder(s: &Server, token: &str, fid: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (st, v) = send(
            s.req(
                Method::GET,
                &format!("/api/folders/{fid}?with_analyses=true"),
                Some(token),
            )
            .header("Content-Type", FORM),
        );
        assert_eq!(st, 200, "{v}");
        let folder = sdk_parse(&v);
        let pending = folder["analyses"].as_array().unwrap().iter().any(|a| {
            matches!(
                a["resolution_status"].as_str(),
                Some("PROCESSING" | "INITIAL")
            )
        });
        if !pending {
            return folder;
        }
        assert!(
            Instant::now() < deadline,
            "analyses still running: {folder}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The newer iOS SDK (Regula extension of `OZRequestManager`): log in with a form-labelled JSON
/// body; look up the collection with alias "blacklist" in the top-level array of
/// `GET /api/collections`; upload the ID's front (`photo_document_front`, tag `photo_id_front`)
/// and the liveness video (`video_0`, tags `video_selfie`, the action's tag,
/// `orientation_portrait`) with `folder:meta_data.phone_info`; tell photos from videos by
/// `media_type` IMAGE_FOLDER / VIDEO_FOLDER; order quality on the videos, documents with
/// `capabilities: 492`, biometry of video + ID, collection with `decision_count` and
/// `decision_threshold`; read `resolution` of the order's answer (last element of the array);
/// poll the folder and read each analysis' `type` and `resolution_status`, DOCUMENTS'
/// `results_data.text_fields`.
fn ios_sdk_session(s: &Server) {
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "iossdk");
    // The company's blacklist, set up by its admin (with one enrolled stranger).
    let (st, col) = s.call(
        Method::POST,
        "/api/collections/",
        Some(&t.admin),
        Some(json!({"alias": "blacklist"})),
    );
    assert_eq!(st, 201, "{col}");
    let (st, p) = s.upload(
        &format!(
            "/api/collections/{}/persons/",
            col["collection_id"].as_str().unwrap()
        ),
        &t.admin,
        &[(
            "photo1",
            &data_file(&data, "verification/Tony_Blair/Tony_Blair_0002.jpg"),
        )],
        Some(json!({"media:tags": {"photo1": ["photo_selfie"]}})),
    );
    assert_eq!(st, 201, "{p}");

    // Login as the capturing CLIENT, JSON labelled as a form.
    let (st, v) = raw(
        s,
        Method::POST,
        "/api/authorize/auth",
        None,
        Some(FORM),
        &credentials("client@iossdk.test", "password-123"),
    );
    assert_eq!(st, 200, "{v}");
    let token = v["access_token"].as_str().unwrap().to_string();

    // getBLCollectionID: a top-level array, searched for alias "blacklist".
    let (st, list) = send(
        s.req(Method::GET, "/api/collections", Some(&token))
            .header("Content-Type", FORM),
    );
    assert_eq!(st, 200, "{list}");
    let blacklist = list
        .as_array()
        .expect("GET /api/collections answers a JSON array")
        .iter()
        .find(|c| c["alias"] == "blacklist")
        .expect("the blacklist collection");
    let collection_id = blacklist["collection_id"].as_str().unwrap().to_string();
    assert_eq!(collection_id, col["collection_id"].as_str().unwrap());

    // addToFolder: multipart (Alamofire's multipart upload sets its own Content-Type), files
    // named by key, the payload as pretty-printed JSON.
    let payload = json!({
        "media:tags": {
            "photo_document_front": ["photo_id_front"],
            "video_0": ["video_selfie", "video_selfie_scan", "orientation_portrait"],
        },
        "folder:meta_data": {"phone_info": {
            "manufacturer": "Apple", "model": "iPhone 12", "device": "iPhone 12",
            "os_version": "17.1", "version_liveness_sdk": "3.0.0"}},
    });
    let part = |rel: &str| {
        let path = data_file(&data, rel);
        multipart::Part::bytes(std::fs::read(&path).unwrap())
            .file_name(path.file_name().unwrap().to_string_lossy().to_string())
    };
    let form = multipart::Form::new()
        .part("photo_document_front", part(ID_FRONT))
        .part("video_0", part(LIVE_VIDEO))
        .text("payload", serde_json::to_string_pretty(&payload).unwrap());
    let (st, folder) = send(
        s.req(Method::POST, "/api/folders/?", Some(&token))
            .multipart(form),
    );
    assert_eq!(st, 201, "{folder}");
    let fid = folder["folder_id"].as_str().unwrap().to_string();
    let (mut photos, mut videos, mut front) = (Vec::new(), Vec::new(), None);
    for m in folder["media"].as_array().unwrap() {
        let id = m["media_id"].as_str().unwrap().to_string();
        match m["media_type"].as_str().unwrap() {
            "IMAGE_FOLDER" => {
                if m["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t == "photo_id_front")
                {
                    front = Some(id.clone());
                }
                photos.push(id);
            }
            "VIDEO_FOLDER" => videos.push(id),
            other => panic!("media_type {other} is neither IMAGE_FOLDER nor VIDEO_FOLDER"),
        }
    }
    let front = front.expect("the ID front among the photos");
    assert_eq!((photos.len(), videos.len()), (1, 1), "{folder}");

    // addAnalyses, labelled as a form.
    let mut both = videos.clone();
    both.push(front.clone());
    let order = json!({"analyses": [
        {"type": "quality", "source_media": videos},
        {"type": "documents", "source_media": photos, "params": {"capabilities": 492}},
        {"type": "biometry", "source_media": both},
        {"type": "collection", "params": {"collection_id": collection_id, "decision_count": 10,
                                          "decision_threshold": 0.7, "source_media": both}},
    ]});
    let (st, v) = raw(
        s,
        Method::POST,
        &format!("/api/folders/{fid}/analyses"),
        Some(&token),
        Some(FORM),
        &order.to_string(),
    );
    assert_eq!(st, 201, "{v}");
    let answer = sdk_parse(&v);
    assert!(
        SDK_STATUSES.contains(&answer["resolution"].as_str().unwrap()),
        "{answer}"
    );

    // waitAnalysesStatus(folderID:).
    let done = sdk_wait_folder(s, &token, &fid);
    assert!(
        SDK_STATUSES.contains(&done["resolution_status"].as_str().unwrap()),
        "{done}"
    );
    let analyses = done["analyses"].as_array().unwrap();
    let of = |kind: &str| {
        analyses
            .iter()
            .find(|a| a["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} analysis in {done}"))
    };
    for a in analyses {
        assert!(
            SDK_STATUSES.contains(&a["resolution_status"].as_str().unwrap()),
            "{a}"
        );
    }
    // DOCUMENTS reads the card's MRZ (a specimen that expired in 2010: DECLINED, saying why)
    // into the `text_fields` list the SDK reads.
    let docs = of("DOCUMENTS");
    assert_eq!(docs["state"], "FINISHED", "{docs}");
    assert_eq!(docs["resolution_status"], "DECLINED", "{docs}");
    assert_eq!(docs["results_data"]["mrz"]["type"], "TD1", "{docs}");
    assert!(
        !docs["results_data"]["text_fields"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{docs}"
    );
    assert_eq!(docs["params"]["capabilities"], 492);
    // QUALITY ran on the video, and (Oz API ≥ 5.0.0) extracted its best shot by default.
    let quality = of("QUALITY");
    assert_eq!(quality["state"], "FINISHED", "{quality}");
    assert!(
        matches!(
            quality["resolution_status"].as_str(),
            Some("SUCCESS" | "DECLINED")
        ),
        "{quality}"
    );
    let shot = &quality["results_media"][0]["output_images"][0];
    let url = shot["original_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no default best shot: {quality}"));
    let r = s
        .client
        .get(url)
        .header("X-Forensic-Access-Token", &token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().unwrap().starts_with(&[0xFF, 0xD8]), "a JPEG");
    // BIOMETRY and COLLECTION ran to the end too.
    for kind in ["BIOMETRY", "COLLECTION"] {
        let a = of(kind);
        assert_eq!(a["state"], "FINISHED", "{a}");
    }
    // The older SDK polls one analysis by `analyse_id` and reads `resolution`.
    let id = answer["analyse_id"].as_str().unwrap();
    let (st, one) = send(
        s.req(Method::GET, &format!("/api/analyses/{id}"), Some(&token))
            .header("Content-Type", FORM),
    );
    assert_eq!(st, 200, "{one}");
    assert!(
        SDK_STATUSES.contains(&one["resolution"].as_str().unwrap()),
        "{one}"
    );
}

// ---------------------------------------------------------------------------------------------
// A PHP/Guzzle client.

/// A PHP client on Guzzle (the public `OzForensicsClient` / `Folder` classes): the token header
/// on every request; `POST api/folders` labelled as a form with no body creates an empty folder
/// and reads `folder_id`; files go up as Guzzle multipart (name, contents, filename; no payload);
/// a JSON body set raw (`body`, no Content-Type) orders the analyses; answers are
/// `json_decode`d; the folder list is read with `offset`/`limit`.
fn php_guzzle_client(s: &Server) {
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "guzzle");
    let (st, v) = send(
        s.req(Method::POST, "/api/folders", Some(&t.client))
            .header("Content-Type", FORM),
    );
    assert_eq!(st, 201, "{v}");
    let fid = v["folder_id"].as_str().expect("folder_id").to_string();
    assert_eq!(v["media"], json!([]), "{v}");
    for rel in [SELFIE, SELFIE_2] {
        let path = data_file(&data, rel);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let form = multipart::Form::new().part(
            name.clone(),
            multipart::Part::bytes(std::fs::read(&path).unwrap()).file_name(name),
        );
        let (st, v) = send(
            s.req(
                Method::POST,
                &format!("/api/folders/{fid}/media"),
                Some(&t.client),
            )
            .multipart(form),
        );
        assert_eq!(st, 201, "{v}");
    }
    let (st, v) = raw(
        s,
        Method::POST,
        &format!("/api/folders/{fid}/analyses"),
        Some(&t.client),
        None,
        &json!({"analyses": [{"type": "biometry"}, {"type": "quality"}]}).to_string(),
    );
    assert_eq!(st, 201, "{v}");
    let ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["analysis_id"].as_str().unwrap().to_string())
        .collect();
    for id in &ids {
        s.wait_analysis(&t.client, id, 600);
    }
    let (st, v) = send(s.req(
        Method::GET,
        &format!("/api/folders/{fid}/analyses"),
        Some(&t.client),
    ));
    assert_eq!(st, 200, "{v}");
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2, "{v}");
    let biometry = list.iter().find(|a| a["type"] == "BIOMETRY").unwrap();
    // two photos of the same person
    assert_eq!(biometry["resolution_status"], "SUCCESS", "{biometry}");
    let (st, v) = send(s.req(
        Method::GET,
        "/api/folders?offset=0&limit=100",
        Some(&t.client),
    ));
    assert_eq!(st, 200, "{v}");
    assert!(v.to_string().contains(&fid), "the folder is listed: {v}");
}

// ---------------------------------------------------------------------------------------------
// Accounts and roles.

/// Oz's deployment README creates its service account as `{"user_type": "CLIENT",
/// "is_service": true}` (API ≤ 5.3): a CLIENT SERVICE with the long-lived session.
fn legacy_service_account(s: &Server) {
    let root = s.admin();
    let company = s.company(&root, "legacy");
    let (st, u) = s.call(
        Method::POST,
        "/api/users/",
        Some(&root),
        Some(
            json!({"email": "service@legacy.test", "password": "password-123",
                    "user_type": "CLIENT", "is_service": true, "company_id": company}),
        ),
    );
    assert_eq!(st, 201, "{u}");
    assert_eq!(u["user_type"], "CLIENT SERVICE", "{u}");
    let (st, u) = s.call(
        Method::POST,
        "/api/users/",
        Some(&root),
        Some(
            json!({"email": "boss@legacy.test", "password": "password-123",
                    "user_type": "CLIENT", "is_admin": true, "company_id": company}),
        ),
    );
    assert_eq!(
        (st, u["user_type"].as_str()),
        (201, Some("CLIENT ADMIN")),
        "{u}"
    );
    let (st, plain) = s.call(
        Method::POST,
        "/api/users/",
        Some(&root),
        Some(
            json!({"email": "plain@legacy.test", "password": "password-123",
                    "user_type": "CLIENT", "is_service": false, "company_id": company}),
        ),
    );
    assert_eq!((st, plain["user_type"].as_str()), (201, Some("CLIENT")));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let expiry = |email: &str| {
        let r = s.login_raw(email, "password-123");
        assert_eq!(r.status(), 200);
        let v: Value = r.json().unwrap();
        v["expire_date"].as_f64().unwrap() - now
    };
    let year = 365.0 * 24.0 * 3600.0;
    assert!(expiry("service@legacy.test") > year, "long-lived session");
    assert!(expiry("plain@legacy.test") < 3600.0, "an ordinary session");
}

/// Oz's role table: a CLIENT does not delete folders or files (the CLIENT ADMIN does); the
/// operator's decision is an operator's (CLIENT OPERATOR), not the CLIENT ADMIN's.
fn roles_as_oz(s: &Server) {
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "roles");
    // A photo tagged as an ID that shows no machine-readable zone.
    let (st, f) = s.upload(
        "/api/folders/",
        &t.client,
        &[(
            "id",
            &data_file(&data, "verification/Tony_Blair/Tony_Blair_0002.jpg"),
        )],
        Some(json!({"media:tags": {"id": ["photo_id_front"]}})),
    );
    assert_eq!(st, 201, "{f}");
    let fid = f["folder_id"].as_str().unwrap().to_string();
    let mid = f["media"][0]["media_id"].as_str().unwrap().to_string();
    // A DOCUMENTS analysis with no readable MRZ waits for an operator.
    let (st, v) = s.call(
        Method::POST,
        &format!("/api/folders/{fid}/analyses"),
        Some(&t.client),
        Some(json!({"analyses": [{"type": "documents", "params": {"capabilities": 492}}]})),
    );
    assert_eq!(st, 201, "{v}");
    let aid = v[0]["analysis_id"].as_str().unwrap().to_string();
    let a = s.wait_analysis(&t.client, &aid, 300);
    assert_eq!(a["resolution_status"], "OPERATOR_REQUIRED", "{a}");
    let decide = |token: &str| {
        s.call(
            Method::PATCH,
            &format!("/api/analyses/{aid}"),
            Some(token),
            Some(json!({"resolution_status": "SUCCESS", "comment": "document checked"})),
        )
    };
    assert_error(decide(&t.client), 403, 9);
    assert_error(decide(&t.admin), 403, 9);
    let (st, v) = decide(&t.operator);
    assert_eq!(
        (st, v["resolution_status"].as_str()),
        (200, Some("SUCCESS")),
        "{v}"
    );

    for path in [format!("/api/media/{mid}"), format!("/api/folders/{fid}")] {
        assert_error(s.call(Method::DELETE, &path, Some(&t.client), None), 403, 9);
        assert_error(
            s.call(Method::DELETE, &path, Some(&t.operator), None),
            403,
            9,
        );
    }
    let (st, _) = s.call(
        Method::DELETE,
        &format!("/api/folders/{fid}"),
        Some(&t.admin),
        None,
    );
    assert_eq!(st, 204);
}

// ---------------------------------------------------------------------------------------------
// Public configuration and absent endpoints.

/// Oz API 5.2.0 added `GET /api/config` (the server's time zone settings); `GET /api/event_sessions`
/// has no published answer shape, so it is a documented "not realized" (2, 501).
fn public_config(s: &Server) {
    let (st, v) = s.call(Method::GET, "/api/config", None, None);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["timezone"], "UTC", "{v}");
    assert_eq!(v["utc_offset"], 0, "{v}");
    assert!(
        v["limits"]["max_files_per_folder"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert!(!v.to_string().contains("secret"), "{v}");
    let token = s.admin();
    assert_error(
        s.call(Method::GET, "/api/event_sessions", Some(&token), None),
        501,
        2,
    );
}

// ---------------------------------------------------------------------------------------------
// Webhook formats.

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Wait for the `n`-th delivery and return its JSON body, its signature checked with `secret`.
fn delivery(hook: &Receiver, n: usize, secret: &str) -> Value {
    let request = hook.wait_for(n, 300)[n - 1].clone();
    let body = &request.body;
    let sig = request
        .header("x-faceproof-signature")
        .expect("every webhook is signed");
    let (ts, mac) = sig
        .split_once(',')
        .map(|(t, m)| (t.trim_start_matches("t="), m.trim_start_matches("v1=")))
        .unwrap();
    let mut expected = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    expected.update(format!("{ts}.{body}").as_bytes());
    assert_eq!(mac, hex(&expected.finalize().into_bytes()), "signature");
    serde_json::from_str(body).unwrap()
}

/// `v` with the signed-link query of every media URL removed.
fn without_link_signatures(v: &Value) -> Value {
    match v {
        Value::String(s) => match s.find("?exp=") {
            Some(i) => json!(&s[..i]),
            None => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(without_link_signatures).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), without_link_signatures(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Oz clients parse the webhook body as the folder `GET /api/folders/{id}/?with_analyses=true`
/// answers (`webhook_format: "oz"`, the default of a new company); `faceproof` keeps the
/// `{event, delivery_id, group_id, folder}` envelope. Both signed.
fn webhook_formats(s: &Server) {
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "hooks");
    let settings_path = format!("/api/companies/{}/settings", t.company);
    let (st, settings) = s.call(Method::GET, &settings_path, Some(&t.admin), None);
    assert_eq!(st, 200, "{settings}");
    assert_eq!(settings["webhook_format"], "oz", "{settings}");
    let secret = settings["webhook_secret"].as_str().unwrap().to_string();
    let hook = Receiver::start();
    let url = hook.url.clone();
    let run = |n: usize| {
        let (st, f) = s.upload(
            "/api/folders/",
            &t.client,
            &[
                ("a", &data_file(&data, SELFIE)),
                ("b", &data_file(&data, SELFIE_2)),
            ],
            Some(json!({"media:tags": {"a": ["photo_selfie"], "b": ["photo_selfie"]}})),
        );
        assert_eq!(st, 201, "{f}");
        let fid = f["folder_id"].as_str().unwrap().to_string();
        let (st, v) = s.call(
            Method::POST,
            &format!("/api/folders/{fid}/analyses"),
            Some(&t.client),
            Some(json!({"analyses": [{"type": "biometry"}], "resolution_endpoint": url})),
        );
        assert_eq!(st, 201, "{v}");
        (fid, delivery(&hook, n, &secret))
    };
    let (fid, body) = run(1);
    let (st, folder) = s.call(
        Method::GET,
        &format!("/api/folders/{fid}/?with_analyses=true"),
        Some(&t.client),
        None,
    );
    assert_eq!(st, 200);
    // The GET answer's media links carry the viewer's signature; the webhook's are plain (the
    // receiver fetches with its token). Everything else is the same, field for field.
    assert_eq!(
        body,
        without_link_signatures(&folder),
        "the oz webhook body is the folder as GET answers it"
    );
    assert_eq!(
        body["analyses"][0]["resolution_status"], "SUCCESS",
        "{body}"
    );

    assert_error(
        s.call(
            Method::PATCH,
            &settings_path,
            Some(&t.admin),
            Some(json!({"webhook_format": "xml"})),
        ),
        400,
        4,
    );
    let (st, v) = s.call(
        Method::PATCH,
        &settings_path,
        Some(&t.admin),
        Some(json!({"webhook_format": "faceproof"})),
    );
    assert_eq!(
        (st, v["webhook_format"].as_str()),
        (200, Some("faceproof")),
        "{v}"
    );
    let (fid, body) = run(2);
    assert_eq!(body["event"], "analyses.finished", "{body}");
    assert_eq!(body["folder"]["folder_id"], fid.as_str());
    assert!(body["delivery_id"].is_string() && body["group_id"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Signed media links.

/// `url` with its `sig` changed in the last hex digit.
fn tampered_sig(url: &str) -> String {
    let last = url.chars().last().unwrap();
    let swapped = if last == '0' { '1' } else { '0' };
    format!("{}{swapped}", &url[..url.len() - 1])
}

/// A query parameter of `url` replaced.
fn with_param(url: &str, key: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let q: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k == key => format!("{k}={value}"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", q.join("&"))
}

/// Oz clients fetch `original_url` (and best shots, previews) with a plain GET, no token header
/// (the Angular page's `<img src>`, the Postman script's `media_url`). Media URLs in answers to
/// a company member are signed links: they open without the header until they expire; a changed
/// signature, expiry or company is 403; the header keeps working; a link never opens another
/// company's media.
fn signed_links(s: &Server) {
    let Some(data) = shared_data() else { return };
    let a = tenant(s, "linka");
    let b = tenant(s, "linkb");
    let upload = |t: &Tenant| {
        let (st, f) = s.upload(
            "/api/folders/",
            &t.client,
            &[("photo", &data_file(&data, SELFIE))],
            Some(json!({"media:tags": {"photo": ["photo_selfie"]}})),
        );
        assert_eq!(st, 201, "{f}");
        let fid = f["folder_id"].as_str().unwrap().to_string();
        let (_, f) = s.call(
            Method::GET,
            &format!("/api/folders/{fid}"),
            Some(&t.client),
            None,
        );
        f["media"][0].clone()
    };
    let media_a = upload(&a);
    let media_b = upload(&b);
    let url = media_a["original_url"].as_str().unwrap().to_string();
    assert!(url.contains("?exp=") && url.contains("&sig="), "{url}");
    assert!(url.contains(&format!("c={}", a.company)), "{url}");

    // A plain HTTP client: no token, no headers of ours.
    let plain = reqwest::blocking::Client::new();
    let get = |u: &str| {
        let r = plain.get(u).send().unwrap();
        let status = r.status().as_u16();
        (status, r.bytes().unwrap().to_vec())
    };
    let (st, bytes) = get(&url);
    assert_eq!(st, 200);
    assert_eq!(bytes, std::fs::read(data_file(&data, SELFIE)).unwrap());
    let (st, thumb) = get(media_a["thumb_url"].as_str().unwrap());
    assert_eq!(st, 200);
    assert!(thumb.starts_with(&[0xFF, 0xD8]));

    // Tampered: signature, expiry, company; another media id under the same signature.
    let refused = |u: &str| {
        let r = plain.get(u).send().unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().unwrap_or(Value::Null);
        assert_eq!(
            (status, v["error_code"].as_i64()),
            (403, Some(9)),
            "{u}: {v}"
        );
    };
    refused(&tampered_sig(&url));
    let exp: i64 = url
        .split("exp=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    refused(&with_param(&url, "exp", &(exp + 1000).to_string()));
    refused(&with_param(&url, "c", &b.company));
    let id_a = media_a["media_id"].as_str().unwrap();
    let id_b = media_b["media_id"].as_str().unwrap();
    // B's own signed link, pointed at A's media: never opens another company's media.
    let url_b = media_b["original_url"].as_str().unwrap();
    refused(&url_b.replace(id_b, id_a));
    // No signature at all: the token is required, as before.
    let bare = url.split('?').next().unwrap().to_string();
    let r = plain.get(&bare).send().unwrap();
    assert_eq!(r.status(), 401);

    // The header keeps working, with or without the link's query.
    for u in [&bare, &url] {
        let r = plain
            .get(u.as_str())
            .header("X-Forensic-Access-Token", &a.client)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{u}");
    }
    // Another company's user with its token still cannot read A's media.
    let r = plain
        .get(&bare)
        .header("X-Forensic-Access-Token", &b.client)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);

    // Expiry (FACEPROOF_MEDIA_LINK_TTL=4 here): the same link stops opening.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (st, _) = get(&url);
        if st == 403 {
            break;
        }
        assert_eq!(st, 200);
        assert!(Instant::now() < deadline, "the link never expired");
        std::thread::sleep(Duration::from_millis(500));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(now >= exp, "refused only once expired");
}

// ---------------------------------------------------------------------------------------------
// Frame sets.

/// `n` frames of a video at 5 per second, as JPEG bytes (ffmpeg), in order.
fn video_frames(video: &Path, n: usize) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(video)
        .args(["-vf", "fps=5,scale=480:-2", "-frames:v", &n.to_string()])
        .arg(dir.path().join("%03d.jpg"))
        .status()
        .expect("running ffmpeg");
    assert!(ok.success());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// What ffprobe says of an MP4's video stream: (codec, frames counted).
fn probe_mp4(bytes: &[u8]) -> (String, u64) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "json",
        ])
        .arg(file.path())
        .output()
        .expect("running ffprobe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    (
        s["codec_name"].as_str().unwrap_or("").to_string(),
        s["nb_read_frames"].as_str().unwrap_or("0").parse().unwrap(),
    )
}

/// Capture SDKs (and the web plugin) upload frame sets; Oz's Angular page reads each frame's
/// `original_url` from the media's `images[]`, and since Oz 5.2.0 a frame set's `video_url` (and
/// `preview_url`, which the console plays) is a real video made from the frames.
fn frame_sets(s: &Server) {
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "frames");
    let frames = video_frames(&data_file(&data, LIVE_VIDEO), 10);
    assert_eq!(frames.len(), 10);
    let (st, f) = s.upload_bytes(
        "/api/folders/",
        &t.client,
        "frames",
        "frames.zip",
        zip::frames(&frames),
        Some(json!({"media:tags": {"frames": ["video_selfie", "video_selfie_blank"]}})),
    );
    assert_eq!(st, 201, "{f}");
    let m = &f["media"][0];
    assert_eq!(m["media_type"], "SHOTS_SET_FOLDER", "{m}");
    let images = m["images"].as_array().expect("images[]");
    assert_eq!(images.len(), 10, "{m}");
    // Each frame opens by its URL with a plain GET (signed link) and is the uploaded frame.
    let plain = reqwest::blocking::Client::new();
    for (i, img) in images.iter().enumerate() {
        assert_eq!(img["index"], i);
        let r = plain
            .get(img["original_url"].as_str().unwrap())
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{img}");
        assert_eq!(r.bytes().unwrap().to_vec(), frames[i], "frame {i}");
    }
    // The video: the same URL in video_url and preview_url, an H.264 MP4 of the 10 frames.
    let video_url = m["video_url"].as_str().unwrap();
    let preview_url = m["preview_url"].as_str().unwrap();
    assert_eq!(
        video_url.split('?').next(),
        preview_url.split('?').next(),
        "{m}"
    );
    for _ in 0..2 {
        // made on first request, then served as kept
        let r = plain.get(preview_url).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"].to_str().unwrap(), "video/mp4");
        assert_eq!(r.headers()["accept-ranges"], "bytes");
        let mp4 = r.bytes().unwrap().to_vec();
        assert_eq!(probe_mp4(&mp4), ("h264".to_string(), 10));
    }
    // Players ask for byte ranges (Safari's plays only a video served so, seeking needs them):
    // one range inside the file is 206 with those bytes; anything else is the whole file.
    let whole = plain.get(preview_url).send().unwrap().bytes().unwrap();
    let n = whole.len();
    for (range, from, to) in [
        ("bytes=0-1", 0, 1),
        ("bytes=100-", 100, n - 1),
        ("bytes=-50", n - 50, n - 1),
        ("bytes=10-99999999", 10, n - 1),
    ] {
        let r = plain
            .get(preview_url)
            .header("range", range)
            .send()
            .unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()["content-range"].to_str().unwrap(),
            format!("bytes {from}-{to}/{n}"),
            "{range}"
        );
        assert_eq!(r.bytes().unwrap(), whole[from..=to], "{range}");
    }
    for range in [
        format!("bytes={n}-"),
        "bytes=0-1,4-5".into(),
        "pages=1".into(),
    ] {
        let r = plain
            .get(preview_url)
            .header("range", &range)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{range}");
        assert_eq!(r.bytes().unwrap(), whole, "{range}");
    }
    // The same with the token header and a tampered link: the range never opens a closed file.
    let path = preview_url.trim_start_matches(&s.base).split('?').next();
    let r = s
        .req(Method::GET, path.unwrap(), Some(&t.client))
        .header("range", "bytes=0-9")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().unwrap(), whole[..10]);
    let r = plain
        .get(tampered_sig(preview_url))
        .header("range", "bytes=0-9")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    // An image has no frames and no preview.
    let (st, f) = s.upload(
        "/api/folders/",
        &t.client,
        &[("photo", &data_file(&data, SELFIE))],
        None,
    );
    assert_eq!(st, 201);
    assert!(f["media"][0].get("images").is_none(), "{f}");
    assert!(f["media"][0]["preview_url"].is_null());
}

// ---------------------------------------------------------------------------------------------
// The web plugin without a session token.

const SHOP: &str = "https://shop.example";

/// `POST /web-sdk/session` as the plugin sends it (a text/plain JSON body, the page's Origin).
fn plugin_start(s: &Server, origin: &str, body: Value) -> (u16, Value, Option<String>) {
    let r = s
        .req(Method::POST, "/web-sdk/session", None)
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", origin)
        .body(body.to_string())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let cors = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    (status, r.json().unwrap_or(Value::Null), cors)
}

/// Pages call `OzLiveness.open({lang, action, meta, on_complete…})` with no token (Oz documents
/// it as optional). A company that sets `web_sdk.require_session_token: false` lets its listed
/// origins start sessions without one, as its CLIENT SERVICE user, limited per origin and client
/// address; its backend finds the verdict by the page's `transaction_id` with a millisecond
/// time filter (the Node backend's `meta_data=transaction_id==…&time_created.min=<Date.now()>`).
fn tokenless_plugin(s: &Server) {
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "shop");
    let root = s.admin();
    let settings = format!("/api/companies/{}/settings", t.company);
    let body = json!({"action": ["photo_selfie"], "lang": "en", "meta": {"transaction_id": "tx-tokenless"}});
    // Not opted in: a token is required, as before.
    let (st, v) = s.call(
        Method::PATCH,
        &settings,
        Some(&t.admin),
        Some(json!({"web_sdk": {"allowed_origins": [SHOP]}})),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["web_sdk"]["require_session_token"], true, "{v}");
    let (st, v, _) = plugin_start(s, SHOP, body.clone());
    assert_eq!((st, v["error_code"].as_i64()), (400, Some(3)), "{v}");
    // Opted in with `*` only: a wildcard never opens tokenless starts.
    let (st, v) = s.call(
        Method::PATCH,
        &settings,
        Some(&t.admin),
        Some(json!({"web_sdk": {"allowed_origins": ["*"], "require_session_token": false}})),
    );
    assert_eq!(st, 200, "{v}");
    let (st, _, _) = plugin_start(s, SHOP, body.clone());
    assert_eq!(st, 400);
    // Opted in for SHOP, but no service user yet.
    let (st, _) = s.call(
        Method::PATCH,
        &settings,
        Some(&t.admin),
        Some(json!({"web_sdk": {"allowed_origins": [SHOP]}})),
    );
    assert_eq!(st, 200);
    let (st, v, _) = plugin_start(s, SHOP, body.clone());
    assert_eq!((st, v["error_code"].as_i64()), (403, Some(9)), "{v}");
    let (service_id, _) = s.user(
        &root,
        "service@shop.test",
        "CLIENT SERVICE",
        Some(&t.company),
    );
    let since_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    // Another origin still gets nothing.
    let (st, _, cors) = plugin_start(s, "https://evil.example", body.clone());
    assert_eq!((st, cors), (400, None));

    let (st, session, cors) = plugin_start(s, SHOP, body.clone());
    assert_eq!(st, 200, "{session}");
    assert_eq!(cors.as_deref(), Some(SHOP));
    let form = multipart::Form::new()
        .text(
            "session_key",
            session["session_key"].as_str().unwrap().to_string(),
        )
        .text("action", "photo_selfie")
        .part(
            "capture",
            multipart::Part::bytes(std::fs::read(data_file(&data, SELFIE)).unwrap())
                .file_name("c.jpg"),
        );
    let r = s
        .req(
            Method::POST,
            &format!(
                "/web-sdk/session/{}/capture",
                session["session_id"].as_str().unwrap()
            ),
            None,
        )
        .header("origin", SHOP)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());

    // The backend's lookup, as the Node backend sends it.
    let (st, v) = s.call(
        Method::GET,
        &format!(
            "/api/folders/?meta_data=transaction_id==tx-tokenless&with_analyses=true&time_created.min={since_ms}"
        ),
        Some(&t.admin),
        None,
    );
    assert_eq!(st, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(
        items[0]["user_id"],
        service_id.as_str(),
        "acts as the service user"
    );

    // Limited per origin and client address (FACEPROOF_WEB_SDK_TOKENLESS_PER_MINUTE=3 here;
    // two starts counted above).
    let (st, _, _) = plugin_start(s, SHOP, body.clone());
    assert_eq!(st, 200);
    let (st, v, _) = plugin_start(s, SHOP, body.clone());
    assert_eq!((st, v["error_code"].as_i64()), (429, Some(9)), "{v}");
    assert_eq!(v["details"]["reason"], "rate_limited");
    // A session token still works from the same page.
    let (st, tok) = s.call(
        Method::GET,
        "/api/authorize/session_token",
        Some(&t.client),
        None,
    );
    assert_eq!(st, 200);
    let mut with_token = body.clone();
    with_token["session_token"] = tok["session_token"].clone();
    let (st, v, _) = plugin_start(s, SHOP, with_token);
    assert_eq!(st, 200, "{v}");
}

// ---------------------------------------------------------------------------------------------
// In Chromium: a tokenless page, its backend, and the captures' videos.

/// UNIX time in milliseconds, as `Date.now()` gives it to a Node backend.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The backend's lookup, as the published Node backend sends it: `GET /api/folders/?meta_data=
/// transaction_id==<id>&with_analyses=true&time_created.min=<ms>` with its service account's token
/// (`time_created.min` is `Date.now()` minus an hour there; `extra` adds more filters). The folders
/// found.
fn backend_lookup(s: &Server, token: &str, tx: &str, extra: &str) -> Vec<Value> {
    let (st, v) = send(s.req(
        Method::GET,
        &format!("/api/folders/?meta_data=transaction_id=={tx}&with_analyses=true{extra}"),
        Some(token),
    ));
    assert_eq!(st, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// A page on an allowed origin opens the plugin in Chromium WITHOUT a session token
/// (`OzLiveness.open({lang, action, meta: {transaction_id}, on_complete})`, the company having set
/// `web_sdk.require_session_token: false`), the fake camera playing a live clip that makes the
/// asked head turn, and a second page the replay of the same clip (filmed off a screen). On
/// `on_complete` the page's backend — a plain HTTP client signed in as the company's service
/// account with a JSON login, as the Node backend does — finds each verdict by `transaction_id`
/// with millisecond time filters: live SUCCESS, replay DECLINED.
///
/// Then the frame sets the plugin uploaded play in Chromium as Oz 5.2.0 hands them out: each
/// capture's `preview_url` (= `video_url`, an H.264 MP4 made from the frames) in a `<video>` on
/// another origin — as the signed link without any header, and as the plain URL with the token
/// header — plays (a duration, a picture, the position moves, no media error); a tampered link
/// does not.
fn tokenless_plugin_in_chromium(s: &Server) {
    use crate::browser_web_sdk::{GESTURE, LIVE, REPLAY, TURN};
    let Some(data) = shared_data() else { return };
    let Some(harness) = browser::harness(
        "the tokenless plugin page in Chromium",
        &[("ffmpeg", "-version")],
    ) else {
        return;
    };
    let live = media::camera_clip(&data, LIVE, TURN, "live_turn_1.0_4.8");
    let replay = media::camera_clip(&data, REPLAY, TURN, "replay_turn_1.0_4.8");
    let page_port = free_port();
    let page = format!("http://127.0.0.1:{page_port}");
    let t = tenant(s, "page");
    let root = s.admin();
    let (st, v) = s.call(
        Method::PATCH,
        &format!("/api/companies/{}/settings", t.company),
        Some(&t.admin),
        Some(json!({"web_sdk": {"allowed_origins": [page], "require_session_token": false}})),
    );
    assert_eq!(st, 200, "{v}");
    let (service_id, _) = s.user(
        &root,
        "backend@page.test",
        "CLIENT SERVICE",
        Some(&t.company),
    );
    // The backend signs in as the Node backend does (JSON login, then the token header).
    let login = s.login_raw("backend@page.test", "password-123");
    assert_eq!(login.status(), 200);
    let login: Value = login.json().unwrap();
    let backend = login["access_token"].as_str().unwrap().to_string();

    let run = uuid::Uuid::new_v4().simple().to_string();
    let tx_live = format!("tx-live-{run}");
    let tx_replay = format!("tx-replay-{run}");
    // No session_token anywhere: the options a page passes when Oz's docs call it optional.
    let open = |tx: &str| {
        json!({"lang": "en", "action": [GESTURE], "meta": {"transaction_id": tx},
               "guidance_timeout": 6000})
    };
    let scenario = |name: &str, camera: &Path, tx: &str| {
        json!({"name": name, "camera": camera, "host": "127.0.0.1", "open": open(tx),
               "until": "complete", "max_retries": 2})
    };
    let name = match s.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("compat-browser")
        .join(name);
    let _ = std::fs::remove_dir_all(&out);
    let issued_ms = now_ms();
    let results = browser::run_script(
        &harness,
        "web_sdk.mjs",
        &json!({"base": s.base, "out": out.join("plugin"), "page_port": page_port,
                "scenarios": [scenario("live", &live, &tx_live),
                              scenario("replay", &replay, &tx_replay)]}),
        &out.join("plugin"),
    );
    // What the server decided for each attempt (scores and rules, no face data): read first
    // when an assertion below fails.
    for tx in [&tx_live, &tx_replay] {
        for f in backend_lookup(s, &backend, tx, "") {
            for a in f["analyses"].as_array().into_iter().flatten() {
                for m in a["results_media"].as_array().into_iter().flatten() {
                    eprintln!(
                        "{tx} {} {}: {} {}",
                        a["type"], m["resolution_status"], m["error"], m["results_data"]
                    );
                }
            }
        }
    }
    for r in results["scenarios"].as_array().unwrap() {
        let n = r["name"].as_str().unwrap();
        assert_eq!(r["errors"], json!([]), "{n}: {r}");
        assert_eq!(r["csp"], json!([]), "{n}: CSP violations");
        let events = |e: &str| {
            r["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["name"] == e)
                .count()
        };
        assert_eq!(events("on_error"), 0, "{n}: no token needed: {r}");
        assert_eq!(events("on_complete"), 1, "{n}: {r}");
    }

    // The backend's lookups, with the page's transaction ids and millisecond time filters.
    let hour_ago_ms = now_ms() - 3_600_000;
    let mut captures = Vec::new();
    for (tx, verdict) in [(&tx_live, "SUCCESS"), (&tx_replay, "DECLINED")] {
        let found = backend_lookup(s, &backend, tx, &format!("&time_created.min={hour_ago_ms}"));
        assert_eq!(found.len(), 1, "exactly one folder for {tx}: {found:?}");
        let f = &found[0];
        assert_eq!(f["resolution_status"], verdict, "{tx}: {f}");
        assert_eq!(
            f["user_id"],
            service_id.as_str(),
            "made as the service user"
        );
        assert_eq!(f["meta_data"]["web_sdk_origin"], page.as_str());
        assert_eq!(f["meta_data"]["transaction_id"], tx.as_str());
        // The last attempt's QUALITY (the plugin may have asked for another capture).
        let quality = f["analyses"].as_array().unwrap().last().unwrap();
        assert_eq!(quality["type"], "QUALITY", "{f}");
        assert_eq!(quality["resolution_status"], verdict, "{f}");
        eprintln!(
            "{name} {tx}: {verdict}, {}",
            quality["results_media"][0]["results_data"]
        );
        // Created after the id was issued: its second-resolution time_created against the ms.
        let created_s = f["time_created"].as_f64().unwrap();
        assert!(created_s * 1000.0 >= (issued_ms - 1000) as f64, "{f}");
        // The bounds read as milliseconds (read as seconds, `max` would lie 50 000 years ahead
        // and find it, `min` an hour ago would find nothing).
        let count = |extra: String| backend_lookup(s, &backend, tx, &extra).len();
        assert_eq!(count(format!("&time_created.min={issued_ms}")), 1);
        assert_eq!(count(format!("&time_created.max={}", issued_ms - 1000)), 0);
        assert_eq!(count(format!("&time_created.min={}", now_ms() + 60_000)), 0);
        assert_eq!(
            count(format!(
                "&time_created.min={hour_ago_ms}&time_created.max={}",
                now_ms() + 1000
            )),
            1
        );
        captures.push(f["media"][0].clone());
    }
    // Another company's backend finds nothing by the same id.
    let other = tenant(s, "elsewhere");
    assert!(backend_lookup(s, &other.client, &tx_live, "").is_empty());

    // The captures' videos in a <video> element.
    let mut videos = Vec::new();
    for (label, m) in ["live", "replay"].iter().zip(&captures) {
        assert_eq!(m["media_type"], "SHOTS_SET_FOLDER", "a plugin capture: {m}");
        let preview = m["preview_url"].as_str().expect("preview_url").to_string();
        let video = m["video_url"].as_str().expect("video_url");
        assert_eq!(preview.split('?').next(), video.split('?').next(), "{m}");
        assert!(preview.contains("sig="), "a signed link: {preview}");
        let plain = preview.split('?').next().unwrap().to_string();
        videos.push(json!({"name": format!("{label}-signed"), "url": preview}));
        videos.push(json!({"name": format!("{label}-header"), "url": plain,
                           "headers": {"X-Forensic-Access-Token": backend}}));
        if *label == "live" {
            videos.push(json!({"name": "live-tampered", "url": tampered_sig(&preview)}));
        }
    }
    let played = browser::run_script(
        &harness,
        "video.mjs",
        &json!({"out": out.join("video"), "page_port": free_port(), "videos": videos}),
        &out.join("video"),
    );
    for r in played["videos"].as_array().unwrap() {
        let n = r["name"].as_str().unwrap();
        eprintln!("{name} {n}: {r}");
        assert_eq!(r["errors"], json!([]), "{n}");
        // Debian's Chromium is built with the proprietary codecs: it plays H.264.
        assert_eq!(r["codecs"]["h264_high"], "probably", "{n}: {r}");
        if n.ends_with("tampered") {
            assert_eq!(r["stage"], "load", "{n}: {r}");
            assert!(r["error"]["code"].as_i64().is_some(), "{n}: {r}");
            continue;
        }
        assert_eq!(r["stage"], "played", "{n}: {r}");
        assert_eq!(r["error"], Value::Null, "{n}: {r}");
        assert!(r["duration"].as_f64().unwrap() > 0.5, "{n}: {r}");
        assert!(r["width"].as_u64().unwrap() > 0, "{n}: {r}");
        assert!(r["height"].as_u64().unwrap() > 0, "{n}: {r}");
        let moved = r["current_time"].as_f64().unwrap() - r["start"].as_f64().unwrap();
        assert!(moved > 0.0, "{n}: the position moves: {r}");
        assert!(std::fs::metadata(out.join("video").join(format!("{n}.png"))).is_ok());
    }
}

on_both_databases!(
    json_whatever_label,
    ios_sdk_session,
    php_guzzle_client,
    legacy_service_account,
    roles_as_oz,
    public_config,
    frame_sets,
);
on_both_databases!(env = &[("FACEPROOF_WEBHOOK_ALLOW_INTERNAL", "true")]; webhook_formats);
on_both_databases!(env = &[("FACEPROOF_MEDIA_LINK_TTL", "4")]; signed_links);
on_both_databases!(env = &[("FACEPROOF_WEB_SDK_TOKENLESS_PER_MINUTE", "3")]; tokenless_plugin);
on_both_databases!(tokenless_plugin_in_chromium);
