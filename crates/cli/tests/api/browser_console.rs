//! The operator console in a real browser: Debian's headless Chromium, driven by playwright-core
//! (`tests/browser/console.mjs`, one browser for every scenario), against the real server on
//! SQLite and PostgreSQL with photos from ../shared/data. This test creates the companies and
//! users through the API, runs the script, then checks what the script read from the Statistics
//! page and the downloaded CSV against counts computed here from the database.
//!
//! Needs `node`, `tests/browser/node_modules` (`npm ci` there) and `chromium`; the test command
//! (scripts/test.sh) installs them. Without them the test prints SKIPPED (and fails under CI=true).
//! Screenshots and results: `target/tmp/console-browser/<database>/`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::common::*;
use reqwest::Method;
use serde_json::json;
use sqlx::Row;

const SELFIE: &str = "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg";
const ID_PHOTO: &str = "liveness/live/nuaa/s0002/0002_01_00_01_109.jpg";
const BLAIR_A: &str = "verification/Tony_Blair/Tony_Blair_0009.jpg";
const BLAIR_B: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";
const LIVE_VIDEO: &str = "video/tranvanluyt2203_live_head_turns.mp4";

/// A frame set as the web plugin uploads it: a ZIP of JPEG frames of the head-turn video (5 per
/// second, at most 25), written to `dir`.
fn frame_set(video: &std::path::Path, dir: &std::path::Path) -> PathBuf {
    let frames = dir.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    let ok = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(video)
        .args(["-vf", "fps=5,scale=480:-2", "-frames:v", "25", "-q:v", "3"])
        .arg(frames.join("%03d.jpg"))
        .status()
        .expect("running ffmpeg");
    assert!(ok.success());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&frames)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{} frames", files.len());
    let zip = dir.join("capture.zip");
    std::fs::write(&zip, zip::files(&files)).unwrap();
    zip
}

/// `SELECT <key>, COUNT(*)` of a query, as a map (key columns joined with '.').
fn counts(s: &Server, sql: &str) -> BTreeMap<String, i64> {
    let (rt, store) = s.store();
    let rows = rt
        .block_on(sqlx::query(sql).fetch_all(&store.pool))
        .unwrap();
    rows.iter()
        .map(|r| {
            let n = r.len();
            let key: Vec<String> = (0..n - 1).map(|i| r.get::<String, _>(i)).collect();
            (key.join("."), r.get::<i64, _>(n - 1))
        })
        .collect()
}

fn run(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let Some(harness) = browser::harness("browser tests", &[]) else {
        return;
    };
    on(backend, &[], |s| {
        // Swagger UI is served from the asset cache (`faceproof assets fetch`, run by the test
        // command); checked in the browser when installed, and always under CI.
        let swagger = faceproof_server::assets::SWAGGER_UI
            .load(&faceproof_server::assets::default_assets_dir())
            .is_some();
        if !swagger {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Swagger UI is not installed (faceproof assets fetch)"
            );
            eprintln!("SKIPPED (part): the API reference check needs `faceproof assets fetch`");
        }
        let admin = s.admin();
        let company_a = s.company(&admin, "Acme Bank");
        let company_b = s.company(&admin, "Globex");
        s.user(&admin, "client@acme.test", "CLIENT", Some(&company_a));
        s.user(&admin, "admin@acme.test", "CLIENT ADMIN", Some(&company_a));
        s.user(&admin, "operator@faceproof.test", "OPERATOR", None);
        let (_, client_b) = s.user(&admin, "client@globex.test", "CLIENT", Some(&company_b));
        let who = |email: &str| json!({"email": email, "password": "password-123"});
        let name = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("console-browser")
            .join(name);
        let _ = std::fs::remove_dir_all(&out);
        let path = |rel: &str| data.join(rel).to_string_lossy().to_string();
        let scratch = tempfile::tempdir().unwrap();
        let frames = frame_set(&data.join(LIVE_VIDEO), scratch.path());
        let scenario = json!({
            "base": s.base,
            "out": out,
            "admin": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            "client_a": who("client@acme.test"),
            "admin_a": who("admin@acme.test"),
            "operator": who("operator@faceproof.test"),
            "client_b": who("client@globex.test"),
            "company_a_name": "Acme Bank",
            "files": {
                "selfie": path(SELFIE),
                "id_photo": path(ID_PHOTO),
                "enrolled": path(BLAIR_B),
                "probe": path(BLAIR_A),
                "review_a": path(BLAIR_A),
                "review_b": path(BLAIR_B),
                "video": path(LIVE_VIDEO),
                "frames": frames,
            },
            "expect": {"first_order": {"QUALITY": "SUCCESS", "BIOMETRY": "SUCCESS"}},
            "swagger": swagger,
        });

        let started = Instant::now();
        let results = browser::run_script(&harness, "console.mjs", &scenario, &out);
        eprintln!(
            "console browser scenario ({name}): {:.1} s, screenshots in {}",
            started.elapsed().as_secs_f64(),
            out.display()
        );

        // Screenshots of every page.
        let shots: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
            .collect();
        assert!(shots.len() >= 15, "{} screenshots", shots.len());
        // Issue 23, item 4: the crafted links of the report rendered "Not found" and left the
        // company and the user they aimed at in place (checked by the script).
        assert_eq!(results["crafted_links"], 6, "{results}");
        for e in &shots {
            assert!(
                e.metadata().unwrap().len() > 10_000,
                "{:?} is empty",
                e.path()
            );
        }

        // The console's view of the other company, checked once more through the API.
        for id in results["folders"].as_object().unwrap().values() {
            assert_error(
                s.call(
                    Method::GET,
                    &format!("/api/folders/{}", id.as_str().unwrap()),
                    Some(&client_b),
                    None,
                ),
                404,
                10,
            );
        }

        // The orders the scenario made, as the database has them.
        let orders = counts(
            s,
            "SELECT resolution_status, COUNT(*) FROM folders GROUP BY resolution_status",
        );
        let analyses = counts(
            s,
            "SELECT type, resolution_status, COUNT(*) FROM analyses GROUP BY type, resolution_status",
        );
        let decisions = counts(
            s,
            "SELECT after_status, COUNT(*) FROM analysis_decisions GROUP BY after_status",
        );
        let sum = |m: &BTreeMap<String, i64>| m.values().sum::<i64>();
        // selfie + ID and video orders SUCCESS, blacklist hit DECLINED, reviewed order approved,
        // and the frame set with its gesture as the analysis found it
        let frames_id = results["folders"]["frames"].as_str().unwrap();
        let (st, frames_order) = s.call(
            Method::GET,
            &format!("/api/folders/{frames_id}"),
            Some(&admin),
            None,
        );
        assert_eq!(st, 200, "{frames_order}");
        let mut expected =
            BTreeMap::from([("DECLINED".to_string(), 1), ("SUCCESS".to_string(), 3)]);
        *expected
            .entry(
                frames_order["resolution_status"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
            .or_default() += 1;
        assert_eq!(orders, expected, "orders in the database");
        eprintln!("frame set gesture: {}", results["gesture"]);
        assert_eq!(decisions, BTreeMap::from([("SUCCESS".into(), 1)]));
        let st = &results["stats"];
        let shown = |k: &str| -> i64 {
            st[k]
                .as_str()
                .unwrap_or_else(|| panic!("no {k} on the page: {st}"))
                .parse()
                .unwrap_or_else(|_| panic!("{k} = {} is not a count", st[k]))
        };
        assert_eq!(shown("orders.total"), sum(&orders));
        for status in [
            "SUCCESS",
            "DECLINED",
            "OPERATOR_REQUIRED",
            "FAILED",
            "PROCESSING",
            "INITIAL",
        ] {
            assert_eq!(
                shown(&format!("orders.{status}")),
                orders.get(status).copied().unwrap_or(0),
                "orders {status}"
            );
        }
        assert_eq!(shown("analyses.total"), sum(&analyses));
        for t in ["QUALITY", "BIOMETRY", "COLLECTION"] {
            let of_type: i64 = analyses
                .iter()
                .filter(|(k, _)| k.starts_with(&format!("{t}.")))
                .map(|(_, n)| n)
                .sum();
            assert_eq!(shown(&format!("analyses.{t}.total")), of_type, "{t}");
            for status in [
                "SUCCESS",
                "DECLINED",
                "OPERATOR_REQUIRED",
                "FAILED",
                "PROCESSING",
            ] {
                assert_eq!(
                    shown(&format!("analyses.{t}.{status}")),
                    analyses.get(&format!("{t}.{status}")).copied().unwrap_or(0),
                    "{t} {status}"
                );
            }
        }
        assert_eq!(shown("decisions.total"), sum(&decisions));
        assert_eq!(shown("decisions.SUCCESS"), 1);
        assert_eq!(shown("decisions.pending"), 0);

        // The CSV export carries the same numbers.
        let csv = results["summary_csv"].as_str().unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("metric,type,status,value"));
        let cells: BTreeMap<(String, String, String), String> = lines
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                assert_eq!(c.len(), 4, "{l}");
                ((c[0].into(), c[1].into(), c[2].into()), c[3].into())
            })
            .collect();
        let cell = |m: &str, t: &str, k: &str| -> i64 {
            cells
                .get(&(m.into(), t.into(), k.into()))
                .map(|v| v.parse().unwrap())
                .unwrap_or(0)
        };
        assert_eq!(cell("orders", "", "total"), sum(&orders));
        for (k, n) in &orders {
            assert_eq!(cell("orders", "", k), *n, "CSV orders {k}");
        }
        for (k, n) in &analyses {
            let (t, status) = k.split_once('.').unwrap();
            assert_eq!(cell("analyses", t, status), *n, "CSV analyses {k}");
        }
        assert_eq!(cell("decisions", "", "SUCCESS"), 1);
        assert_eq!(results["summary_csv_name"], "faceproof-summary.csv");
        let ts = results["timeseries_csv"].as_str().unwrap();
        let mut total_orders = 0;
        for l in ts.lines().skip(1) {
            let c: Vec<&str> = l.split(',').collect();
            if c[1] == "orders" {
                total_orders += c[4].parse::<i64>().unwrap();
            }
        }
        assert_eq!(total_orders, sum(&orders), "{ts}");
    });
}

#[test]
fn console_in_a_browser_sqlite() {
    run(Backend::Sqlite);
}

#[test]
fn console_in_a_browser_postgres() {
    run(Backend::Postgres);
}
