//! The stateless Lite API (`/version`, `/v1/face/…`) against the real binary and real photos of
//! `shared/data`: templates, comparisons, liveness, bad input and the API key.

use std::path::Path;

use crate::common::{assert_error, shared_data, Backend, Server};
use faceproof_engine::template::{self, Template};
use reqwest::blocking::multipart::{Form, Part};
use reqwest::blocking::{RequestBuilder, Response};
use serde_json::Value;

/// A same-person pair and a different-people pair of `verification/pairs.csv` whose photos show
/// one face each and which the engine scores far from the threshold.
const SAME: (&str, &str) = (
    "Tony_Blair/Tony_Blair_0007.jpg",
    "Tony_Blair/Tony_Blair_0008.jpg",
);
const OTHER: &str = "Colin_Powell/Colin_Powell_0004.jpg";
/// Photos the engine's own tests score clearly (crates/engine/tests/faces.rs).
const LIVE: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";
const SPOOF: &str = "liveness/spoof/print/nuaa/s0006/0006_00_00_01_170.jpg";
const NO_FACE: &str = "documents/100_id-usa.jpg";
/// Two people: the second face is 0.69 of the first's width (well above the bystander ratio).
const TWO_FACES: &str = "verification/Tony_Blair/Tony_Blair_0001.jpg";

fn read(data: &Path, rel: &str) -> Vec<u8> {
    let p = data.join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn photo(data: &Path, rel: &str) -> Vec<u8> {
    read(data, &format!("verification/{rel}"))
}

/// (status, body bytes)
fn send(r: RequestBuilder) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
    let resp: Response = r.send().unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.bytes().unwrap().to_vec(), headers)
}

fn json_of(status: u16, body: &[u8]) -> (u16, Value) {
    (status, serde_json::from_slice(body).unwrap_or(Value::Null))
}

fn post_raw(s: &Server, path: &str, content_type: &str, body: Vec<u8>) -> RequestBuilder {
    s.client
        .post(s.url(path))
        .header("Content-Type", content_type)
        .body(body)
}

fn form(parts: &[(&str, Vec<u8>)]) -> Form {
    let mut f = Form::new();
    for (name, bytes) in parts {
        f = f.part(
            name.to_string(),
            Part::bytes(bytes.clone()).file_name(format!("{name}.bin")),
        );
    }
    f
}

fn post_form(s: &Server, path: &str, parts: &[(&str, Vec<u8>)]) -> (u16, Value) {
    let (st, body, _) = send(s.client.post(s.url(path)).multipart(form(parts)));
    json_of(st, &body)
}

/// Extract a template (binary mode) and check the response shape.
fn extract(s: &Server, image: Vec<u8>) -> Vec<u8> {
    let (st, body, headers) = send(post_raw(s, "/v1/face/pattern/extract", "image/jpeg", image));
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(body.starts_with(b"FPTM"));
    body
}

fn assert_comparison(v: &Value, same: bool) {
    let score = v["score"].as_f64().unwrap_or_else(|| panic!("{v}"));
    let similarity = v["similarity"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score), "{v}");
    assert!((-1.0..=1.0).contains(&similarity), "{v}");
    assert!(
        (v["threshold"].as_f64().unwrap() - 0.85).abs() < 1e-6,
        "{v}"
    );
    assert_eq!(v["match"], same, "{v}");
    assert_eq!(
        v["decision"],
        if same { "SAME" } else { "DIFFERENT" },
        "{v}"
    );
    if same {
        assert!(score > 0.95, "same person should score high: {v}");
    } else {
        assert!(score < 0.2, "different people should score low: {v}");
    }
}

fn pair_label(data: &Path, a: &str, b: &str) -> Option<bool> {
    let text = std::fs::read_to_string(data.join("verification/pairs.csv")).unwrap();
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(',').collect();
        ((f[0] == a && f[1] == b) || (f[0] == b && f[1] == a)).then(|| f[2] == "1")
    })
}

#[test]
fn version_and_health() {
    let Some(s) = Server::start(Backend::Sqlite, &[]) else {
        return;
    };
    let (st, v) = s.call(reqwest::Method::GET, "/version", None, None);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["core"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["tfss"], "not loaded", "models load lazily: {v}");
    let models = v["models"].as_array().unwrap();
    assert!(
        models
            .iter()
            .any(|m| m["name"] == "face_recognition_sface_2021dec_int8bq"
                && m["role"] == "embedder"
                && m["version"] == "1.1.1"),
        "{v}"
    );
    for path in ["/v1/face/pattern/health", "/v1/face/liveness/health"] {
        let (st, v) = s.call(reqwest::Method::GET, path, None, None);
        assert_eq!((st, v["status"].as_i64()), (200, Some(0)), "{path}: {v}");
        assert_eq!(v["message"], "");
    }
    let (_, v) = s.call(reqwest::Method::GET, "/version", None, None);
    let backend = v["tfss"].as_str().unwrap();
    assert!(backend == "tract" || backend == "ort", "{v}");
}

#[test]
fn templates_extract_compare_verify_and_extract_and_compare() {
    let Some(data) = shared_data() else {
        return;
    };
    assert_eq!(pair_label(&data, SAME.0, SAME.1), Some(true));
    assert_eq!(pair_label(&data, SAME.0, OTHER), Some(false));
    let Some(s) = Server::start(Backend::Sqlite, &[]) else {
        return;
    };
    let (a1, a2, b) = (
        photo(&data, SAME.0),
        photo(&data, SAME.1),
        photo(&data, OTHER),
    );
    let (t1, t2, tb) = (
        extract(&s, a1.clone()),
        extract(&s, a2.clone()),
        extract(&s, b.clone()),
    );
    assert_eq!(t1.len(), 613, "documented size with the default pack");
    assert_eq!(t1, extract(&s, a1.clone()), "extraction is deterministic");

    let compare = |x: &[u8], y: &[u8]| {
        post_form(
            &s,
            "/v1/face/pattern/compare",
            &[("template1", x.to_vec()), ("template2", y.to_vec())],
        )
    };
    let (st, same) = compare(&t1, &t2);
    assert_eq!(st, 200, "{same}");
    assert_comparison(&same, true);
    let (st, diff) = compare(&t1, &tb);
    assert_eq!(st, 200, "{diff}");
    assert_comparison(&diff, false);
    // Unnamed parts are taken in order.
    let (st, v) = post_form(
        &s,
        "/v1/face/pattern/compare",
        &[("a", t2.clone()), ("b", t1.clone())],
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["score"], same["score"]);

    // verify: a photo against a template, parts named or in either order.
    let (st, v) = post_form(
        &s,
        "/v1/face/pattern/verify",
        &[("image", a2.clone()), ("template", t1.clone())],
    );
    assert_eq!(st, 200, "{v}");
    assert_comparison(&v, true);
    assert!((v["score"].as_f64().unwrap() - same["score"].as_f64().unwrap()).abs() < 1e-4);
    let (st, v) = post_form(
        &s,
        "/v1/face/pattern/verify",
        &[("x", tb.clone()), ("y", a1.clone())],
    );
    assert_eq!(st, 200, "{v}");
    assert_comparison(&v, false);

    // extract_and_compare: two photos.
    let (st, v) = post_form(
        &s,
        "/v1/face/pattern/extract_and_compare",
        &[("image1", a1.clone()), ("image2", a2.clone())],
    );
    assert_eq!(st, 200, "{v}");
    assert_comparison(&v, true);
    let (st, v) = post_form(
        &s,
        "/v1/face/pattern/extract_and_compare",
        &[("image1", a1.clone()), ("image2", b.clone())],
    );
    assert_eq!(st, 200, "{v}");
    assert_comparison(&v, false);

    // A template of another model (a well-formed envelope naming another pack) is refused.
    let mut foreign = Template::parse_any_model(&t2).unwrap();
    foreign.model.pack = "someone-else-2.0".into();
    let (st, v) = compare(&t1, &foreign.to_bytes().unwrap());
    let v = assert_error((st, v), 400, 4);
    let msg = v["error_message"].as_str().unwrap();
    assert!(
        msg.contains("template was made by model someone-else-2.0/face_recognition_sface")
            && msg.contains("this server runs sface-2021dec/face_recognition_sface"),
        "{v}"
    );
    assert_eq!(v["details"]["reason"], "other_model", "{v}");
    // Bytes edited in place: corrupt.
    let mut edited = t2.clone();
    edited[7] = b'X';
    let v = assert_error(compare(&t1, &edited), 400, 4);
    assert_eq!(v["details"]["reason"], "corrupt_template", "{v}");
    // Cut short, or not a template at all.
    let v = assert_error(compare(&t1, &t2[..100]), 400, 4);
    assert_eq!(v["details"]["reason"], "malformed_template", "{v}");
    let v = assert_error(compare(&t1, &a1), 400, 4);
    assert_eq!(v["details"]["reason"], "not_a_template", "{v}");
    // Missing parts.
    assert_error(
        post_form(&s, "/v1/face/pattern/compare", &[("template1", t1.clone())]),
        400,
        3,
    );
    assert_error(
        post_form(
            &s,
            "/v1/face/pattern/extract_and_compare",
            &[("image1", a1.clone())],
        ),
        400,
        3,
    );
    // A raw body where multipart is expected.
    let (st, body, _) = send(post_raw(&s, "/v1/face/pattern/compare", "image/jpeg", a1));
    assert_error(json_of(st, &body), 415, 5);
}

#[test]
fn base64_mode_round_trips() {
    let Some(data) = shared_data() else {
        return;
    };
    let Some(s) = Server::start(Backend::Sqlite, &[]) else {
        return;
    };
    let (a1, a2) = (photo(&data, SAME.0), photo(&data, SAME.1));
    let binary = extract(&s, a1.clone());
    // Base64 body in, base64 template out.
    let (st, body, headers) = send(
        post_raw(
            &s,
            "/v1/face/pattern/extract",
            "image/jpeg",
            template::to_base64(&a1).into_bytes(),
        )
        .header("Content-Transfer-Encoding", "base64"),
    );
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-transfer-encoding"], "base64");
    let text = String::from_utf8(body).expect("base64 text");
    assert_eq!(template::from_base64(text.as_bytes()).unwrap(), binary);
    // Base64 parts with the header.
    let t2 = template::to_base64(&extract(&s, a2.clone()));
    let resp = s
        .client
        .post(s.url("/v1/face/pattern/compare"))
        .header("Content-Transfer-Encoding", "base64")
        .multipart(
            Form::new()
                .text("template1", text.clone())
                .text("template2", t2.clone()),
        )
        .send()
        .unwrap();
    let (st, v) = (resp.status().as_u16(), resp.json::<Value>().unwrap());
    assert_eq!(st, 200, "{v}");
    assert_comparison(&v, true);
    let resp = s
        .client
        .post(s.url("/v1/face/pattern/verify"))
        .header("Content-Transfer-Encoding", "base64")
        .multipart(
            Form::new()
                .text("image", template::to_base64(&a2))
                .text("template", text.clone()),
        )
        .send()
        .unwrap();
    let (st, v) = (resp.status().as_u16(), resp.json::<Value>().unwrap());
    assert_eq!(st, 200, "{v}");
    assert_comparison(&v, true);
    // Broken base64 → 4.
    let (st, body, _) = send(
        post_raw(
            &s,
            "/v1/face/pattern/extract",
            "image/jpeg",
            b"this is *not* base64".to_vec(),
        )
        .header("Content-Transfer-Encoding", "base64"),
    );
    let v = assert_error(json_of(st, &body), 400, 4);
    assert_eq!(v["details"]["reason"], "base64", "{v}");
}

#[test]
fn bad_input_gets_the_documented_errors() {
    let Some(data) = shared_data() else {
        return;
    };
    let Some(s) = Server::start(Backend::Sqlite, &[]) else {
        return;
    };
    let extract = |ct: &str, body: Vec<u8>| {
        let (st, b, _) = send(post_raw(&s, "/v1/face/pattern/extract", ct, body));
        json_of(st, &b)
    };
    let jpeg = photo(&data, SAME.0);
    // Truncated and corrupt JPEGs.
    let v = assert_error(
        extract("image/jpeg", jpeg[..jpeg.len() / 3].to_vec()),
        400,
        4,
    );
    assert_eq!(v["details"]["reason"], "unreadable", "{v}");
    let mut corrupt = jpeg.clone();
    for b in corrupt.iter_mut().skip(4).take(600) {
        *b = 0x55;
    }
    assert_error(extract("image/jpeg", corrupt), 400, 4);
    // Text, by content type or by content; a video is no photo.
    assert_error(extract("text/plain", b"hello, face".to_vec()), 415, 5);
    assert_error(extract("application/json", b"{}".to_vec()), 415, 5);
    let v = assert_error(extract("image/jpeg", b"hello, face".to_vec()), 415, 5);
    assert_eq!(v["details"]["reason"], "unsupported_format", "{v}");
    let video = read(&data, "video/apfol_live_head_turns.webm");
    assert_error(extract("application/octet-stream", video), 415, 5);
    assert_error(extract("image/jpeg", Vec::new()), 400, 3);
    // No face, several faces.
    let v = assert_error(extract("image/jpeg", read(&data, NO_FACE)), 400, 4);
    assert_eq!(v["details"]["reason"], "no_face", "{v}");
    let v = assert_error(extract("image/jpeg", read(&data, TWO_FACES)), 400, 4);
    assert_eq!(v["details"]["reason"], "multiple_faces", "{v}");
    assert!(v["details"]["faces"].as_u64().unwrap() >= 2, "{v}");
    // The same for liveness, and for one image of a pair (the part is named).
    let (st, body, _) = send(post_raw(
        &s,
        "/v1/face/liveness/detect",
        "image/png",
        read(&data, NO_FACE),
    ));
    let v = assert_error(json_of(st, &body), 400, 4);
    assert_eq!(v["details"]["reason"], "no_face", "{v}");
    let v = assert_error(
        post_form(
            &s,
            "/v1/face/pattern/extract_and_compare",
            &[("image1", jpeg.clone()), ("image2", read(&data, NO_FACE))],
        ),
        400,
        4,
    );
    assert_eq!(v["details"]["part"], "image 'image2'", "{v}");
}

#[test]
fn over_the_file_limit_is_413() {
    let Some(data) = shared_data() else {
        return;
    };
    let Some(s) = Server::start(Backend::Sqlite, &[("FACEPROOF_MAX_FILE_BYTES", "10000")]) else {
        return;
    };
    let (st, body, _) = send(post_raw(
        &s,
        "/v1/face/pattern/extract",
        "image/jpeg",
        photo(&data, SAME.0),
    ));
    assert_error(json_of(st, &body), 413, 4);
}

#[test]
fn liveness_detect_passes_a_live_face_and_fails_a_print_attack() {
    let Some(data) = shared_data() else {
        return;
    };
    let Some(s) = Server::start(Backend::Sqlite, &[]) else {
        return;
    };
    let detect = |rel: &str| {
        let (st, body, _) = send(post_raw(
            &s,
            "/v1/face/liveness/detect",
            "image/jpeg",
            read(&data, rel),
        ));
        let (st, v) = json_of(st, &body);
        assert_eq!(st, 200, "{rel}: {v}");
        assert_eq!(v["threshold"].as_f64(), Some(0.5), "{v}");
        v
    };
    let live = detect(LIVE);
    assert_eq!(live["passed"], true, "{live}");
    assert!(
        live["confidence_spoofing"].as_f64().unwrap() < 0.5,
        "{live}"
    );
    assert_eq!(live["reason"], "live_face");
    let spoof = detect(SPOOF);
    assert_eq!(spoof["passed"], false, "{spoof}");
    assert!(
        spoof["confidence_spoofing"].as_f64().unwrap() >= 0.5,
        "{spoof}"
    );
    assert_eq!(spoof["reason"], "presentation_attack_suspected");
}

#[test]
fn an_api_key_when_set_is_required() {
    let Some(data) = shared_data() else {
        return;
    };
    let key = "lite-test-key-0123456789";
    let Some(s) = Server::start(Backend::Sqlite, &[("FACEPROOF_LITE_API_KEY", key)]) else {
        return;
    };
    let image = photo(&data, SAME.0);
    let call = |r: RequestBuilder| {
        let (st, b, _) = send(r);
        (st, b)
    };
    let req = || post_raw(&s, "/v1/face/pattern/extract", "image/jpeg", image.clone());
    let (st, b) = call(req());
    assert_error(json_of(st, &b), 401, 6);
    let (st, b) = call(req().header("X-Api-Key", "lite-test-key-0123456780"));
    assert_error(json_of(st, &b), 401, 7);
    let (st, b) = call(req().header("Authorization", "Bearer nope"));
    assert_error(json_of(st, &b), 401, 7);
    let (st, b) = call(req().header("X-Api-Key", key));
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    assert!(b.starts_with(b"FPTM"));
    let (st, b) = call(req().header("Authorization", format!("Bearer {key}")));
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    // The key is checked before the body: a multipart endpoint without it is 6 too.
    let (st, v) = post_form(&s, "/v1/face/pattern/compare", &[]);
    assert_error((st, v), 401, 6);
    // Version and health stay open.
    let (st, _) = s.call(reqwest::Method::GET, "/version", None, None);
    assert_eq!(st, 200);
    let (st, _) = s.call(reqwest::Method::GET, "/v1/face/pattern/health", None, None);
    assert_eq!(st, 200);
}

#[test]
fn without_a_key_a_public_listener_refuses_the_lite_api() {
    let s = Server::start_listening_on("0.0.0.0", &[("FACEPROOF_LITE_API_KEY", "")]);
    let (st, body, _) = send(post_raw(
        &s,
        "/v1/face/pattern/extract",
        "image/jpeg",
        vec![0xFF, 0xD8, 0xFF],
    ));
    let v = assert_error(json_of(st, &body), 403, 9);
    assert!(
        v["error_message"]
            .as_str()
            .unwrap()
            .contains("FACEPROOF_LITE_API_KEY"),
        "{v}"
    );
    let (st, _) = s.call(reqwest::Method::GET, "/version", None, None);
    assert_eq!(st, 200);
}

#[test]
fn without_models_health_says_inoperative() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    let Some(s) = Server::start(
        Backend::Sqlite,
        &[("FACEPROOF_MODELS_DIR", dir), ("FACEPROOF_WORKERS", "0")],
    ) else {
        return;
    };
    for path in ["/v1/face/pattern/health", "/v1/face/liveness/health"] {
        let (st, v) = s.call(reqwest::Method::GET, path, None, None);
        assert_eq!((st, v["status"].as_i64()), (503, Some(3)), "{path}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains("models fetch"),
            "{v}"
        );
    }
    let (st, v) = s.call(reqwest::Method::GET, "/version", None, None);
    assert_eq!((st, &v["tfss"]), (200, &Value::from("not loaded")), "{v}");
    let (st, body, _) = send(post_raw(
        &s,
        "/v1/face/pattern/extract",
        "image/png",
        faceproof_engine::media::encode_jpeg(&image::RgbImage::new(64, 64), 90).unwrap(),
    ));
    assert_error(json_of(st, &body), 503, 11);
}
