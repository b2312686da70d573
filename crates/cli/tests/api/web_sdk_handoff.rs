//! The web plugin's hand-off to a phone and its live guidance over HTTP, on SQLite and
//! PostgreSQL: a session's page mints a one-time link (and its QR code) to the server's capture
//! page; the phone opens it once, before it expires, from an origin the session's company allows
//! (another company's page is refused), captures with its own key, and the computer's key sees
//! the hand-off and the result; a hand-off token is no session token. Guidance frames report the
//! head pose the plugin shows a movement's progress from (frontal and turned frames of a real
//! clip). Browser runs are in `browser_web_sdk.rs`.

use crate::common::*;
use reqwest::blocking::multipart;
use reqwest::Method;
use serde_json::{json, Value};

const SHOP: &str = "http://shop.example:8000";
/// A page origin that Shop B (not Shop A) allows.
const OTHER_SHOP: &str = "http://other.example:8000";
const PHOTO: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";
/// The person's own left turn (towards the image's right) peaks at about 3.5–5 s; frontal
/// before 1.3 s.
const TURNS: &str = "video/tranvanluyt2203_live_head_turns.mp4";

struct Answer {
    status: u16,
    body: Value,
    cors: Option<String>,
}

fn send(s: &Server, path: &str, origin: &str, body: Value) -> Answer {
    let r = s
        .req(Method::POST, path, None)
        .header("origin", origin)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let cors = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    Answer {
        status,
        body: r.json().unwrap_or(Value::Null),
        cors,
    }
}

#[track_caller]
fn refused(a: &Answer, status: u16, code: i64) {
    assert_eq!(
        (a.status, a.body["error_code"].as_i64()),
        (status, Some(code)),
        "{}",
        a.body
    );
}

fn session_call(s: &Server, what: &str, origin: &str, session: &Value, key: &Value) -> Answer {
    let path = format!(
        "/web-sdk/session/{}/{what}",
        session["session_id"].as_str().unwrap()
    );
    send(s, &path, origin, json!({"session_key": key, "lang": "ru"}))
}

/// Shop A (allows [`SHOP`]) and Shop B (allows [`OTHER_SHOP`]): Shop A's CLIENT and settings path.
fn shops(s: &Server) -> (String, String) {
    let admin = s.admin();
    let a = s.company(&admin, "Shop A");
    let b = s.company(&admin, "Shop B");
    let (_, client_a) = s.user(&admin, "client@a.test", "CLIENT", Some(&a));
    for (company, origin) in [(&a, SHOP), (&b, OTHER_SHOP)] {
        let (st, v) = s.call(
            Method::PATCH,
            &format!("/api/companies/{company}/settings"),
            Some(&admin),
            Some(json!({"web_sdk": {"allowed_origins": [origin]}})),
        );
        assert_eq!(st, 200, "{v}");
    }
    (client_a, format!("/api/companies/{a}/settings"))
}

/// A `photo_selfie` session of Shop A started from [`SHOP`].
fn session(s: &Server, client: &str, tx: &str) -> Value {
    let (st, v) = s.call(
        Method::GET,
        "/api/authorize/session_token",
        Some(client),
        None,
    );
    assert_eq!(st, 200, "{v}");
    let ok = send(
        s,
        "/web-sdk/session",
        SHOP,
        json!({"session_token": v["session_token"], "action": ["photo_selfie"],
               "meta": {"transaction_id": tx}}),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    ok.body
}

/// The token in a hand-off URL (its fragment).
fn token_of(url: &str) -> String {
    url.split_once('#').unwrap().1.to_string()
}

/// A session continued on a phone: the link and its QR code; the token works once, only from an
/// origin the session's company allows, and is no session token; the phone's key works from its
/// own origin; the computer's key sees `handoff` go from `waiting` to `opened`, then the result
/// of the phone's capture, in the session's one folder.
fn a_session_continues_on_a_phone(s: &Server) {
    let Some(data) = shared_data() else { return };
    let (client_a, _) = shops(s);
    let desktop = session(s, &client_a, "tx-handoff");
    let key = desktop["session_key"].clone();
    let own = s.base.trim_end_matches('/').to_string();

    // No hand-off yet: the result says nothing of one.
    let r = session_call(s, "result", SHOP, &desktop, &key);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("handoff").is_none(), "{}", r.body);
    // Minting needs the session's key, from its page's origin.
    refused(
        &session_call(s, "handoff", SHOP, &desktop, &json!("nope")),
        401,
        7,
    );
    refused(
        &session_call(s, "handoff", OTHER_SHOP, &desktop, &key),
        403,
        9,
    );
    let minted = session_call(s, "handoff", SHOP, &desktop, &key);
    assert_eq!(minted.status, 200, "{}", minted.body);
    assert_eq!(minted.cors.as_deref(), Some(SHOP));
    let url = minted.body["handoff_url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{own}/web-sdk/continue/?lang=ru#fpho_")),
        "{url}"
    );
    let expires = minted.body["expires_in"].as_i64().unwrap();
    assert!((250..=300).contains(&expires), "{expires}");
    let svg = minted.body["qr_svg"].as_str().unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<path"), "{svg}");
    // The page the link opens: served here, under a strict CSP, loading nothing from elsewhere.
    let page = s
        .req(Method::GET, "/web-sdk/continue/", None)
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    let html = page.text().unwrap();
    assert!(html.contains("/web-sdk/plugin.js") && html.contains("/web-sdk/continue/continue.js"));
    assert!(!html.contains("://"), "nothing from another host: {html}");
    let js = s
        .req(Method::GET, "/web-sdk/continue/continue.js", None)
        .send()
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.text().unwrap().contains("handoff_token"));
    let r = session_call(s, "result", SHOP, &desktop, &key);
    assert_eq!(r.body["handoff"], "waiting", "{}", r.body);

    // A minted code replaces the one not used yet.
    let replaced = token_of(&url);
    let minted = session_call(s, "handoff", SHOP, &desktop, &key);
    assert_eq!(minted.status, 200, "{}", minted.body);
    let url = minted.body["handoff_url"].as_str().unwrap().to_string();
    let token = token_of(&url);
    assert_ne!(token, replaced);
    let redeem = |origin: &str, t: &str| {
        send(
            s,
            "/web-sdk/handoff",
            origin,
            json!({"handoff_token": t, "lang": "es"}),
        )
    };
    refused(&redeem(&own, &replaced), 401, 7);
    // A hand-off token is no session token, and no token at all is refused.
    refused(
        &send(s, "/web-sdk/session", SHOP, json!({"session_token": token})),
        401,
        7,
    );
    refused(&redeem(&own, "fpho_unknown"), 401, 7);
    // Another company's page may not take Shop A's session over (no CORS answer), and the
    // refusal does not spend the token.
    let foreign = redeem(OTHER_SHOP, &token);
    refused(&foreign, 403, 9);
    assert_eq!(foreign.cors, None);
    assert_eq!(foreign.body["details"]["reason"], "origin_not_allowed");

    // The phone, on this server's capture page: the same session, its own key.
    let phone = redeem(&own, &token);
    assert_eq!(phone.status, 200, "{}", phone.body);
    assert_eq!(phone.cors.as_deref(), Some(own.as_str()));
    assert_eq!(phone.body["session_id"], desktop["session_id"]);
    assert_ne!(phone.body["session_key"], key);
    assert_eq!(phone.body["actions"], desktop["actions"]);
    assert_eq!(phone.body["lang"], "es");
    assert_eq!(phone.body["attempt"], 1);
    assert_eq!(phone.body["attempts"], 3);
    // Once only.
    let again = redeem(&own, &token);
    refused(&again, 401, 7);
    assert_eq!(again.body["details"]["reason"], "handoff_used");
    let phone_key = phone.body["session_key"].clone();
    // Each key from its own page: the phone's not from the shop, the shop's still works.
    refused(
        &session_call(s, "result", SHOP, &desktop, &phone_key),
        403,
        9,
    );
    let r = session_call(s, "result", SHOP, &desktop, &key);
    assert_eq!(r.body["handoff"], "opened", "{}", r.body);
    assert_eq!(r.body["state"], "processing");
    // No second hand-off once a phone has the session.
    let more = session_call(s, "handoff", SHOP, &desktop, &key);
    refused(&more, 400, 4);
    assert_eq!(more.body["details"]["reason"], "handoff_unavailable");

    // The phone captures; the computer learns the result.
    let form = multipart::Form::new()
        .text("session_key", phone_key.as_str().unwrap().to_string())
        .text("action", "photo_selfie")
        .part(
            "capture",
            multipart::Part::bytes(std::fs::read(data.join(PHOTO)).unwrap()).file_name("c.jpg"),
        );
    let up = s
        .req(
            Method::POST,
            &format!(
                "/web-sdk/session/{}/capture",
                desktop["session_id"].as_str().unwrap()
            ),
            None,
        )
        .header("origin", &own)
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(up.status(), 200);
    let done = eventually(120, "the phone's capture judged", || {
        let r = session_call(s, "result", SHOP, &desktop, &key);
        assert_eq!(r.status, 200, "{}", r.body);
        (r.body["state"] == "finished").then_some(r.body)
    });
    assert!(done.get("retry").is_none(), "{done}");
    let (_, folders) = s.call(
        Method::GET,
        "/api/folders/?meta_data=transaction_id==tx-handoff",
        Some(&client_a),
        None,
    );
    let items = folders["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{folders}");
    assert_eq!(
        items[0]["meta_data"]["web_sdk_origin"], SHOP,
        "the session's page"
    );
    assert_eq!(
        items[0]["meta_data"]["web_sdk_session_id"],
        desktop["session_id"]
    );
    // After the capture was sent there is no hand-off to mint.
    refused(&session_call(s, "handoff", SHOP, &desktop, &key), 400, 4);
}

/// A hand-off code expires (and then cannot be spent); a session of the capture architecture has
/// none (its frames go to its own page).
fn a_handoff_expires(s: &Server) {
    let (client_a, settings) = shops(s);
    let own = s.base.trim_end_matches('/').to_string();
    let desktop = session(s, &client_a, "tx-late");
    let key = desktop["session_key"].clone();
    let minted = session_call(s, "handoff", SHOP, &desktop, &key);
    assert_eq!(minted.status, 200, "{}", minted.body);
    let token = token_of(minted.body["handoff_url"].as_str().unwrap());
    s.expire_handoff_token(&token);
    let late = send(s, "/web-sdk/handoff", &own, json!({"handoff_token": token}));
    refused(&late, 401, 8);
    assert_eq!(late.body["details"]["reason"], "handoff_expired");
    // A new code works.
    let minted = session_call(s, "handoff", SHOP, &desktop, &key);
    let token = token_of(minted.body["handoff_url"].as_str().unwrap());
    let phone = send(s, "/web-sdk/handoff", &own, json!({"handoff_token": token}));
    assert_eq!(phone.status, 200, "{}", phone.body);
    assert_eq!(phone.body["lang"], "en");

    let admin = s.admin();
    let (st, v) = s.call(
        Method::PATCH,
        &settings,
        Some(&admin),
        Some(json!({"web_sdk": {"architecture": "capture"}})),
    );
    assert_eq!(st, 200, "{v}");
    let capture = session(s, &client_a, "tx-capture");
    let none = session_call(s, "handoff", SHOP, &capture, &capture["session_key"]);
    refused(&none, 400, 4);
    assert_eq!(none.body["details"]["reason"], "handoff_unavailable");
}

/// Guidance frames carry the largest face's head pose (the gesture check's model and signs): a
/// frontal frame near 0° of yaw, the person's own left turn well below −20°; a smile reading only
/// when asked.
fn guidance_frames_report_the_pose(s: &Server) {
    let Some(data) = shared_data() else { return };
    let (client_a, _) = shops(s);
    let desktop = session(s, &client_a, "tx-pose");
    let frame = |jpeg: Vec<u8>, smile: bool| -> Value {
        let mut form = multipart::Form::new().text(
            "session_key",
            desktop["session_key"].as_str().unwrap().to_string(),
        );
        if smile {
            form = form.text("smile", "1");
        }
        let form = form.part("frame", multipart::Part::bytes(jpeg).file_name("f.jpg"));
        let r = s
            .req(
                Method::POST,
                &format!(
                    "/web-sdk/session/{}/frame",
                    desktop["session_id"].as_str().unwrap()
                ),
                None,
            )
            .header("origin", SHOP)
            .multipart(form)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    };
    // Frames at 320 px, as the plugin sends them.
    let frontal = clip_frames(&data, 0.2, 0.8);
    let turned = clip_frames(&data, 3.8, 1.0);
    assert!(frontal.len() >= 4 && turned.len() >= 4);
    for f in &frontal {
        let v = frame(f.clone(), false);
        let yaw = v["pose"]["yaw"].as_f64().unwrap_or_else(|| panic!("{v}"));
        assert!(yaw.abs() < 15.0, "frontal: {v}");
        assert!(
            v["pose"]["pitch"].is_f64() && v.get("smile").is_none(),
            "{v}"
        );
    }
    for f in &turned {
        let v = frame(f.clone(), false);
        let yaw = v["pose"]["yaw"].as_f64().unwrap_or_else(|| panic!("{v}"));
        assert!(yaw < -25.0, "the person's own left turn: {v}");
    }
    let v = frame(frontal[0].clone(), true);
    let smile = v["smile"].as_f64().unwrap_or_else(|| panic!("{v}"));
    assert!((0.0..=1.0).contains(&smile), "{v}");
    // No face: no pose.
    let blank = {
        let img = image::RgbImage::from_pixel(320, 240, image::Rgb([40, 40, 40]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    };
    let v = frame(blank, false);
    assert_eq!(v["pose"], Value::Null, "{v}");
}

/// 8 frames a second of the head-turn clip from `start`, 320 px wide JPEGs.
fn clip_frames(data: &std::path::Path, start: f32, secs: f32) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    media::run(
        media::cut(&data.join(TURNS), start, secs)
            .args(["-vf", "fps=8,scale=320:-2", "-q:v", "4"])
            .arg(dir.path().join("f%04d.jpg")),
        TURNS,
    );
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

on_both_databases!(
    a_session_continues_on_a_phone,
    a_handoff_expires,
    guidance_frames_report_the_pose,
);
