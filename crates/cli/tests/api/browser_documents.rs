//! The web plugin's ID document capture in a real browser (`tests/browser/web_sdk.mjs`, Debian's
//! headless Chromium): for `photo_id_front` the plugin shows a card-shaped frame instead of the
//! face oval, asks for the rear camera (`facingMode: environment`), guides with checks of the
//! preview (no document, glare, fill the frame) and takes the photo; the photo it sends reads
//! as the specimen's MRZ when DOCUMENTS is ordered on the session's folder.
//!
//! The fake camera plays still clips made here with ffmpeg from a specimen of
//! `../shared/data/documents` (never stored in the repository): the page on a table, the same
//! with a glare spot, and an empty table. Screenshots of every screen at desktop (1280×800) and
//! phone (390×844) sizes: `target/tmp/web-sdk-documents/<database>/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

const SPECIMEN: &str = "documents/100_pass-uto.jpg";
const DESKTOP: [u32; 2] = [1280, 800];
const PHONE: [u32; 2] = [390, 844];

/// A 2-second still clip (1280×720, 15 fps, y4m) of the specimen on a dark table, `filter`
/// applied after it is placed (ffmpeg filter syntax; empty for none); `specimen: false` shows
/// the empty table.
fn still_clip(data: &Path, name: &str, specimen: bool, filter: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-sdk-clips");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}.y4m"));
    if out.exists() {
        return out;
    }
    let tmp = dir.join(format!("{name}.{}.y4m", uuid::Uuid::new_v4()));
    let mut cmd = std::process::Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y", "-loop", "1", "-t", "2", "-i"])
        .arg(data.join(SPECIMEN));
    // The page 960 px wide on a 1280×720 table (the card frame covers 86 % of the preview).
    let place = if specimen {
        "scale=960:-2,pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=0x3a3f47"
    } else {
        "scale=1280:720,drawbox=x=0:y=0:w=iw:h=ih:color=0x3a3f47:t=fill"
    };
    let vf = if filter.is_empty() {
        format!("{place},fps=15")
    } else {
        format!("{place},{filter},fps=15")
    };
    cmd.args(["-vf", &vf, "-pix_fmt", "yuv420p", "-an"])
        .arg(&tmp);
    media::run(&mut cmd, name);
    std::fs::rename(&tmp, &out).unwrap();
    out
}

fn folder_of(s: &Server, user: &str, tx: &str) -> Value {
    let started = Instant::now();
    loop {
        let (st, v) = s.call(
            Method::GET,
            &format!("/api/folders/?meta_data=transaction_id=={tx}&with_analyses=true"),
            Some(user),
            None,
        );
        assert_eq!(st, 200, "{v}");
        if let Some(f) = v["items"].as_array().unwrap().first() {
            let status = f["resolution_status"].as_str().unwrap_or("");
            if !["INITIAL", "PROCESSING"].contains(&status) {
                return f.clone();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no finished folder for {tx}: {v}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn document_frame_in_a_browser(s: &Server) {
    let Some(data) = shared_data() else { return };
    let Some(harness) = browser::harness("web plugin document tests", &[("ffmpeg", "-version")])
    else {
        return;
    };
    let page_clip = still_clip(&data, "doc_uto_table", true, "");
    let empty_clip = still_clip(&data, "doc_empty_table", false, "");
    let page_port = free_port();
    let page = format!("http://127.0.0.1:{page_port}");
    let t = tenant(s, "docweb");
    let (st, v) = s.call(
        Method::PATCH,
        &format!("/api/companies/{}/settings", t.company),
        Some(&t.admin),
        Some(json!({"web_sdk": {"allowed_origins": [page]}})),
    );
    assert_eq!(st, 200, "{v}");
    let token = || {
        let (st, v) = s.call(
            Method::GET,
            "/api/authorize/session_token",
            Some(&t.client),
            None,
        );
        assert_eq!(st, 200, "{v}");
        v["session_token"].as_str().unwrap().to_string()
    };
    let sc = |name: &str, camera: &Path, size: [u32; 2], tx: &str, guidance: u32| {
        json!({"name": name, "camera": camera, "host": "127.0.0.1", "until": "complete",
               "shots": true, "viewport": size,
               "open": {"session_token": token(), "lang": "en", "action": ["photo_id_front"],
                        "meta": {"transaction_id": tx}, "guidance_timeout": guidance}})
    };
    let scenarios = vec![
        sc("document", &page_clip, DESKTOP, "tx-doc", 20000),
        sc("document_phone", &page_clip, PHONE, "tx-doc-phone", 20000),
        // Glare guidance is not asserted in the browser: the client-side glare check stands
        // aside on a mostly white page (the specimen's), so the glare clip reads as a document.
        // Glare over the MRZ is judged by the server (`documents::bad_inputs`).
        sc("document_none", &empty_clip, DESKTOP, "tx-doc-none", 4000),
    ];
    let name = match s.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("web-sdk-documents")
        .join(name);
    let _ = std::fs::remove_dir_all(&out);
    let scenario =
        json!({"base": s.base, "out": out, "page_port": page_port, "scenarios": scenarios});
    let results = browser::run_script(&harness, "web_sdk.mjs", &scenario, &out);
    let by_name = |n: &str| -> &Value {
        results["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .unwrap()
    };
    for n in ["document", "document_phone", "document_none"] {
        let r = by_name(n);
        assert_eq!(r["errors"], json!([]), "{n}: {r}");
        assert_eq!(r["csp"], json!([]), "{n}: CSP violations");
        let done = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"] == "on_complete")
            .count();
        assert_eq!(done, 1, "{n}: {r}");
        let screens = r["screens"].as_array().unwrap();
        // The card frame and the rear camera, from the guidance on; never the face's hints.
        let guided: Vec<&Value> = screens.iter().filter(|x| x["state"] == "guide").collect();
        assert!(!guided.is_empty(), "{n}: no guidance screen: {screens:?}");
        for g in &guided {
            assert_eq!(g["frame"], "card", "{n}: {g}");
            assert_eq!(g["facing"], "environment", "{n}: {g}");
            assert_ne!(g["hint"], "No face in the frame", "{n}: {g}");
        }
        assert!(
            guided
                .iter()
                .any(|g| g["title"] == "Show the front of your ID document"),
            "{n}: {guided:?}"
        );
        let hints: Vec<&str> = guided.iter().filter_map(|g| g["hint"].as_str()).collect();
        let want = match n {
            "document_none" => "Place your document in the frame",
            _ => "Document found, hold still",
        };
        assert!(hints.contains(&want), "{n}: {want:?} not in {hints:?}");
        if n == "document" || n == "document_phone" {
            assert!(
                !hints.iter().any(|h| h.contains("Glare")),
                "{n}: glare on a clean page: {hints:?}"
            );
        }
        let shots = screens.iter().filter(|x| x["shot"].is_string()).count();
        assert!(shots >= 2, "{n}: {shots} screenshots");
    }

    // The photo the plugin took: tagged as the document's front, and its MRZ reads.
    for tx in ["tx-doc", "tx-doc-phone"] {
        let f = folder_of(s, &t.client, tx);
        let media = f["media"].as_array().unwrap();
        assert_eq!(media.len(), 1, "{f}");
        let tags = media[0]["tags"].as_array().unwrap();
        assert!(tags.contains(&json!("photo_id_front")), "{f}");
        let fid = f["folder_id"].as_str().unwrap();
        let (st, v) = s.call(
            Method::POST,
            &format!("/api/folders/{fid}/analyses"),
            Some(&t.client),
            Some(json!({"analyses": [{"type": "documents"}]})),
        );
        assert_eq!(st, 201, "{v}");
        let a = s.wait_analysis(&t.client, v[0]["analysis_id"].as_str().unwrap(), 300);
        let mrz = &a["results_data"]["mrz"];
        assert_eq!(mrz["check_digits_valid"], true, "{tx}: {a}");
        assert_eq!(
            mrz["fields"]["document_number"]["value"], "L898902C3",
            "{tx}: {a}"
        );
    }
}

on_both_databases!(document_frame_in_a_browser);
