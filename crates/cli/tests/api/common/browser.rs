//! What the browser tests (the console's and the web plugin's) share: where the harness is,
//! which Chromium to drive, the check that everything they need is installed, and one run of a
//! harness script with its results.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `$CHROMIUM`, else Debian's Chromium.
pub fn chromium() -> Option<PathBuf> {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.exists())
}

fn works(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The harness folder (`tests/browser`) when node, its npm packages, Chromium and every
/// `(command, version flag)` of `also` are there; else `None` with a SKIPPED line naming what is
/// missing for `what` (a panic under CI=true, which must have them all).
pub fn harness(what: &str, also: &[(&str, &str)]) -> Option<PathBuf> {
    let harness = repo().join("tests/browser");
    let mut missing: Vec<&str> = [
        (!works("node", "--version")).then_some("node"),
        (!harness.join("node_modules/playwright-core").is_dir())
            .then_some("tests/browser/node_modules (npm ci)"),
        chromium().is_none().then_some("chromium"),
    ]
    .into_iter()
    .flatten()
    .collect();
    missing.extend(also.iter().filter(|(c, a)| !works(c, a)).map(|(c, _)| *c));
    if missing.is_empty() {
        return Some(harness);
    }
    let msg = format!(
        "{what} need {} (scripts/test.sh installs them)",
        missing.join(", ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// Run `script` of the harness on `scenario` (passed as `FACEPROOF_SCENARIO`) in Chromium, at
/// most 15 minutes, and return the `results.json` it writes into `out`; fails the test unless the
/// script exited well and reported `ok`.
pub fn run_script(harness: &Path, script: &str, scenario: &Value, out: &Path) -> Value {
    let started = Instant::now();
    let mut child = Command::new("node")
        .arg(harness.join(script))
        .current_dir(harness)
        .env("FACEPROOF_SCENARIO", scenario.to_string())
        .env("CHROMIUM", chromium().expect("checked by harness()"))
        .spawn()
        .expect("starting node");
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > Duration::from_secs(900) {
            let _ = child.kill();
            panic!("the browser scenarios of {script} ran over 15 minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json")).expect("results.json"),
    )
    .unwrap();
    assert!(
        status.success() && results["ok"] == true,
        "browser run of {script} failed ({status}): {}\nscreenshots in {}",
        results["error"],
        out.display()
    );
    results
}
