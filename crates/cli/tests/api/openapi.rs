//! The OpenAPI document as its users meet it: validated by a pinned validator, turned into a
//! TypeScript client (npm `openapi-typescript` types + `openapi-fetch`, compiled by `tsc
//! --strict`), a Python client (PyPI `openapi-python-client`) and a Postman collection (npm
//! `openapi-to-postmanv2`, served at `/api/postman.json` and run with `newman`), each of which
//! signs in, uploads a photo, orders a QUALITY analysis, polls it and reads the result against a
//! real server on SQLite and PostgreSQL; and Swagger UI's "Try it out" doing the same in
//! Chromium (`tests/browser/swagger.mjs`).
//!
//! Needs `tests/openapi/node_modules` (`npm ci` there) and `tests/openapi/.venv` (the pinned
//! `requirements.txt`), both installed by `install_openapi_test_deps` of scripts/deps.sh (run by
//! scripts/test.sh); without them the tests print SKIPPED (and fail under CI=true). Generated
//! clients: `tests/openapi/generated/<database>/` (TypeScript: beside its node_modules) and
//! `target/tmp/openapi/<database>/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

const SELFIE: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";

fn harness() -> PathBuf {
    browser::repo().join("tests/openapi")
}

/// The tools folder when its npm packages and the Python environment are installed; else
/// `None` with a SKIPPED line (a panic under CI=true).
fn tools() -> Option<PathBuf> {
    let dir = harness();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (!node).then_some("node"),
        (!dir.join("node_modules/newman").is_dir())
            .then_some("tests/openapi/node_modules (npm ci)"),
        (!dir.join(".venv/bin/openapi-python-client").exists())
            .then_some("tests/openapi/.venv (pip install -r requirements.txt)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some(dir);
    }
    let msg = format!(
        "the OpenAPI tests need {} (scripts/test.sh installs them)",
        missing.join(", ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// Run a command to its end; its stdout, or a failure showing both outputs.
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The last line of `stdout` that is a JSON object (the scripts' report).
fn report(stdout: &str, what: &str) -> Value {
    stdout
        .lines()
        .rev()
        .find_map(|l| {
            l.trim()
                .starts_with('{')
                .then(|| serde_json::from_str(l.trim()).ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("{what} printed no report:\n{stdout}"))
}

fn python(dir: &Path) -> PathBuf {
    dir.join(".venv/bin/python")
}

fn write_document(doc: &Value, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("openapi.json");
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    path
}

/// The document passes openapi-spec-validator (as OpenAPI 3.1), and the Postman collection the
/// server serves is what the pinned converter makes of the current document
/// (`FACEPROOF_UPDATE_POSTMAN=1` rewrites it).
#[test]
fn document_validates_and_postman_collection_is_current() {
    let Some(dir) = tools() else { return };
    let doc = faceproof_server::http::docs::openapi();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openapi/document");
    let path = write_document(&doc, &out);
    let said = run(
        Command::new(python(&dir)).args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate, OpenAPIV31SpecValidator\n\
             spec = json.load(open(sys.argv[1]))\n\
             validate(spec, cls=OpenAPIV31SpecValidator)\n\
             print('valid', spec['openapi'], sum(len(v) for v in spec['paths'].values()))",
            path.to_str().unwrap(),
        ]),
        "openapi-spec-validator",
    );
    assert!(said.starts_with("valid 3.1"), "{said}");
    let operations: usize = said.split_whitespace().last().unwrap().parse().unwrap();
    assert!(operations >= 100, "{operations} operations");

    let generated = out.join("postman.json");
    run(
        Command::new("node").current_dir(&dir).args([
            "postman.mjs",
            "generate",
            path.to_str().unwrap(),
            generated.to_str().unwrap(),
        ]),
        "openapi-to-postmanv2",
    );
    let made = std::fs::read_to_string(&generated).unwrap();
    let kept = browser::repo().join("crates/server/api/faceproof.postman_collection.json");
    if std::env::var("FACEPROOF_UPDATE_POSTMAN").as_deref() == Ok("1") {
        std::fs::write(&kept, &made).unwrap();
    } else {
        assert!(
            made == faceproof_server::http::docs::POSTMAN,
            "crates/server/api/faceproof.postman_collection.json is not what openapi-to-postmanv2 makes of the \
             current document: rerun this test with FACEPROOF_UPDATE_POSTMAN=1 (then rebuild)"
        );
    }
    let collection: Value = serde_json::from_str(&made).unwrap();
    let names: Vec<&str> = collection["item"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    for tag in ["Authorization", "Folders", "Analyses", "Collections"] {
        assert!(names.contains(&tag), "folder {tag} in {names:?}");
    }
}

/// What every client reported after its run: the upload answered 201 with the photo, the
/// QUALITY analysis finished with a verdict the server agrees with, and the client read the
/// result's liveness score.
fn check_flow(s: &Server, token: &str, what: &str, r: &Value) {
    assert_eq!(r["upload_status"], 201, "{what}: {r}");
    assert_eq!(r["state"], "FINISHED", "{what}: {r}");
    let id = r["analysis_id"].as_str().unwrap();
    let (st, server) = s.call(
        Method::GET,
        &format!("/api/analyses/{id}"),
        Some(token),
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(
        r["resolution_status"], server["resolution_status"],
        "{what}"
    );
    assert_eq!(server["folder_id"], r["folder_id"], "{what}");
    let score = r["results_media"][0]["results_data"]["confidence_spoofing"]
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no liveness score read: {r}"));
    assert!((0.0..=1.0).contains(&score), "{what}: {score}");
    assert!(
        ["SUCCESS", "DECLINED"].contains(&r["resolution_status"].as_str().unwrap()),
        "{what}: {r}"
    );
}

fn generated_clients(s: &Server) {
    let Some(data) = shared_data() else { return };
    let Some(dir) = tools() else { return };
    let admin = s.admin();
    let company = s.company(&admin, "Client Proof Ltd");
    let email = "client@proof.test";
    let (_, token) = s.user(&admin, email, "CLIENT", Some(&company));
    let photo = data.join(SELFIE);
    let name = if s.postgres_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let (st, doc) = s.call(Method::GET, "/api/openapi.json", None, None);
    assert_eq!(st, 200);
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("openapi")
        .join(name);
    let _ = std::fs::remove_dir_all(&tmp);
    let doc_path = write_document(&doc, &tmp);
    let env = |c: &mut Command| {
        c.env("FACEPROOF_BASE", &s.base)
            .env("FACEPROOF_EMAIL", email)
            .env("FACEPROOF_PASSWORD", "password-123")
            .env("FACEPROOF_PHOTO", &photo);
    };

    // TypeScript: types generated from the document, the flow compiled against them (strict:
    // a body or answer that does not match the document fails here), then run.
    let ts = dir.join("generated").join(name);
    let _ = std::fs::remove_dir_all(&ts);
    std::fs::create_dir_all(&ts).unwrap();
    run(
        Command::new("node").current_dir(&dir).args([
            "node_modules/openapi-typescript/bin/cli.js",
            doc_path.to_str().unwrap(),
            "-o",
            ts.join("schema.d.ts").to_str().unwrap(),
        ]),
        "openapi-typescript",
    );
    std::fs::copy(dir.join("client.ts"), ts.join("client.ts")).unwrap();
    run(
        Command::new("node").current_dir(&dir).args([
            "node_modules/typescript/bin/tsc",
            "--strict",
            "--target",
            "es2022",
            "--module",
            "nodenext",
            "--moduleResolution",
            "nodenext",
            "--skipLibCheck",
            "--types",
            "node",
            "--outDir",
            ts.to_str().unwrap(),
            ts.join("client.ts").to_str().unwrap(),
        ]),
        "tsc",
    );
    let mut c = Command::new("node");
    c.current_dir(&ts).arg("client.js");
    env(&mut c);
    let r = report(&run(&mut c, "TypeScript client"), "TypeScript client");
    eprintln!("TypeScript client: {r}");
    check_flow(s, &token, "TypeScript", &r);
    assert_eq!(r["user"], email);
    assert_eq!(r["media"], 1);
    assert_eq!(r["listed"], json!([r["folder_id"]]), "{r}");
    assert_eq!(
        (r["refused_status"].as_u64(), r["refused_code"].as_u64()),
        (Some(401), Some(6))
    );

    // Python: a package generated from the document, then the flow with it.
    let py = tmp.join("python");
    run(
        Command::new(dir.join(".venv/bin/openapi-python-client")).args([
            "generate",
            "--path",
            doc_path.to_str().unwrap(),
            "--output-path",
            py.to_str().unwrap(),
            "--config",
            dir.join("python-client.yaml").to_str().unwrap(),
            "--meta",
            "none",
            "--overwrite",
        ]),
        "openapi-python-client",
    );
    let mut c = Command::new(python(&dir));
    c.arg(dir.join("client.py")).env("PYTHONPATH", &tmp);
    // the package is generated into <tmp>/python: importable as faceproof_client through a link
    let link = tmp.join("faceproof_client");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&py, &link).unwrap();
    env(&mut c);
    let r = report(&run(&mut c, "Python client"), "Python client");
    eprintln!("Python client: {r}");
    check_flow(s, &token, "Python", &r);
    assert_eq!(r["user"], email);
    assert_eq!(r["media"], 1);
    assert_eq!(r["listed"], json!([r["folder_id"]]), "{r}");
    assert_eq!(
        (r["refused_status"].as_u64(), r["refused_code"].as_u64()),
        (Some(401), Some(6))
    );

    // Postman: the collection this server serves, its own requests run by newman.
    let mut c = Command::new("node");
    c.current_dir(&dir).args(["postman.mjs", "run"]);
    env(&mut c);
    let r = report(&run(&mut c, "newman"), "newman");
    eprintln!("newman: {r}");
    assert_eq!(r["failures"], json!([]), "{r}");
    check_flow(s, &token, "Postman", &r);
}

on_both_databases!(generated_clients);

/// Swagger UI's "Try it out" in Chromium: log in, authorize with the token, upload a photo to a
/// new folder (201) and order its QUALITY analysis (201), which then finishes.
fn swagger_try_it_out(s: &Server) {
    let Some(data) = shared_data() else { return };
    let Some(harness) = browser::harness("the Swagger UI test", &[]) else {
        return;
    };
    if faceproof_server::assets::SWAGGER_UI
        .load(&faceproof_server::assets::default_assets_dir())
        .is_none()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Swagger UI is not installed (faceproof assets fetch)"
        );
        eprintln!("SKIPPED: the Swagger UI test needs `faceproof assets fetch`");
        return;
    }
    let admin = s.admin();
    let company = s.company(&admin, "Swagger Users Ltd");
    let email = "client@swagger.test";
    let (_, token) = s.user(&admin, email, "CLIENT", Some(&company));
    let name = if s.postgres_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("swagger-browser")
        .join(name);
    let _ = std::fs::remove_dir_all(&out);
    let scenario = json!({
        "base": s.base,
        "out": out,
        "email": email,
        "password": "password-123",
        "photo": data.join(SELFIE),
    });
    let r = browser::run_script(&harness, "swagger.mjs", &scenario, &out);
    assert_eq!(r["login_status"], 200, "{r}");
    assert_eq!(r["upload_status"], 201, "{r}");
    assert_eq!(r["media"], 1, "{r}");
    assert_eq!(r["analyses_status"], 201, "{r}");
    for tag in ["Authorization", "Folders", "Analyses"] {
        assert!(
            r["tags"].as_array().unwrap().iter().any(|t| t == tag),
            "tag {tag}: {r}"
        );
    }
    let folder = r["folder_id"].as_str().unwrap();
    let (st, v) = s.call(
        Method::GET,
        &format!("/api/folders/{folder}"),
        Some(&token),
        None,
    );
    assert_eq!(
        st, 200,
        "the folder uploaded in Swagger UI is the user's: {v}"
    );
    assert_eq!(v["meta_data"]["client"], "swagger");
    assert_eq!(
        v["media"][0]["meta_data"]["additional_info"],
        "Chromium, headless (Swagger UI test)"
    );
    let analysis = s.wait_analysis(&token, r["analysis_id"].as_str().unwrap(), 300);
    assert_eq!(analysis["state"], "FINISHED", "{analysis}");
}

on_both_databases!(swagger_try_it_out);
