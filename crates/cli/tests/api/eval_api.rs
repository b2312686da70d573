//! `faceproof eval-api` end to end on a few files of each part: it starts its own server, drives
//! the HTTP API and reports decisions that agree with what the engine says of the same files.
//! (The full run over the shared data is a measurement, not a test: `docs/scores.md`.)

use serde_json::Value;

#[test]
fn eval_api_reports_the_decisions_of_a_small_sample() {
    let Some(data) = crate::common::shared_data() else {
        return;
    };
    let out = crate::common::faceproof(&[
        "eval-api",
        "--only",
        "photos,pairs,videos",
        "--limit",
        "4",
        "--json",
    ])
    .arg("--data")
    .arg(&data)
    .env_remove("FACEPROOF_PACK")
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "eval-api failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pack"], "sface-2021dec", "{v}");

    // Photos: every photo has one outcome, and the API's scores are the engine's (same model,
    // same face) wherever both scored.
    let photos = &v["photos"];
    let counted: u64 = photos["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["photos"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 4, "{photos}");
    assert_eq!(photos["threshold"], 0.5, "{photos}");

    // Pairs: 4 pairs, each resolved; the two sides agree on how many could be compared.
    let pairs = &v["pairs"];
    assert_eq!(pairs["pairs"], 4, "{pairs}");
    let resolved: u64 = pairs["resolutions"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|r| r.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(resolved, 4, "{pairs}");

    // Videos: each clip as recorded and re-encoded (twice), scored with its frames and spread; the API's
    // score of the original is the engine's, and re-encoding keeps the verdict.
    let videos = &v["videos"];
    let rows = videos["videos"].as_array().unwrap();
    assert_eq!(rows.len(), 12, "{videos}");
    for r in rows {
        // A clip the API refuses for a media problem (a selfie video must show one person:
        // `multiple_faces`, `face_changed`) is DECLINED on that ground, without liveness figures.
        if !r["error"].is_null() {
            assert_eq!(r["resolution"], "DECLINED", "{r}");
            continue;
        }
        assert!(r["liveness_frames"].as_u64().unwrap() >= 3, "{r}");
        assert!(r["spread"].as_f64().is_some(), "{r}");
        if r["version"] == "original" {
            let (api, engine) = (
                r["confidence_spoofing"].as_f64().unwrap(),
                r["engine_confidence_spoofing"].as_f64().unwrap(),
            );
            assert!((api - engine).abs() < 0.02, "{r}");
        }
    }
    assert_eq!(
        videos["same_verdict_after_reencode"]["crf28"], 4,
        "{videos}"
    );
}
