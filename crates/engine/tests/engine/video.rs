//! Videos of `shared/data/video`: frame sampling, aggregated liveness, gestures, best shot.

use crate::common;

use faceproof_engine::gesture::Gesture;
use faceproof_engine::{AnalyzeOptions, Engine, VideoReport};

fn analyze(engine: &Engine, rel: &str, gesture: Option<Gesture>) -> Option<VideoReport> {
    let bytes = common::data(rel)?;
    let decoded = engine.decode(&bytes).unwrap();
    assert!(
        decoded.frames.len() >= 10,
        "{rel}: only {} frames sampled",
        decoded.frames.len()
    );
    Some(
        engine
            .analyze_frames(
                &decoded.frames,
                gesture.as_slice(),
                &AnalyzeOptions::default(),
            )
            .unwrap(),
    )
}

#[test]
fn live_selfie_videos_pass_and_replays_are_caught() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    for (rel, live) in [
        ("video/tranvanluyt2203_live_head_turns.mp4", true),
        ("video/tranvanluyt2203_replay_screen.mp4", false),
        ("video/apfol_replay_phone.webm", false),
        ("video/krzysiek354_live_small_moves.mp4", true),
        ("video/zubair_live_smile_turns.mov", true),
        ("video/zubair_replay_phone.mp4", false),
    ] {
        let Some(report) = analyze(&engine, rel, None) else {
            return;
        };
        let score = report.confidence_spoofing.unwrap();
        assert_eq!(score < 0.5, live, "{rel}: confidence_spoofing {score}");
        assert!(report.liveness_frames >= 3, "{rel}");
    }
}

#[test]
fn head_turns_and_nods_are_measured_over_the_scripted_clip() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let rel = "video/tranvanluyt2203_live_head_turns.mp4";
    let Some(bytes) = common::data(rel) else {
        return;
    };
    let decoded = engine.decode(&bytes).unwrap();
    // The person's own left first (towards the image's right), then right, down, up. Their
    // right turn is weak (about 20° from the pose they start in), so only the movements' peaks
    // are asserted here; tests/gestures.rs checks directions and order on cuts.
    let script = [Gesture::Left, Gesture::Right, Gesture::Down, Gesture::High];
    let report = engine
        .analyze_frames(&decoded.frames, &script, &AnalyzeOptions::default())
        .unwrap();
    let check = report.gesture.unwrap();
    assert!(check.rest_from_start, "{check:?}");
    assert!(check.steps[0].performed, "{check:?}");
    for step in [&check.steps[0], &check.steps[2], &check.steps[3]] {
        assert!(step.peak >= 22.5, "{check:?}");
    }
    // One of them alone is not what the clip shows: the nods are unexpected.
    let report = engine
        .analyze_frames(&decoded.frames, &script[..1], &AnalyzeOptions::default())
        .unwrap();
    let check = report.gesture.unwrap();
    assert!(!check.performed, "{check:?}");
    assert!(
        check.unexpected.contains(&Gesture::Down) && check.unexpected.contains(&Gesture::High),
        "{check:?}"
    );
}

#[test]
fn a_nearly_still_clip_does_not_count_as_a_head_turn() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let Some(report) = analyze(
        &engine,
        "video/krzysiek354_live_small_moves.mp4",
        Some(Gesture::Left),
    ) else {
        return;
    };
    let check = report.gesture.unwrap();
    assert!(!check.performed, "{check:?}");
}

#[test]
fn best_shot_is_a_sharp_frontal_frame() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let Some(report) = analyze(&engine, "video/tranvanluyt2203_live_head_turns.mp4", None) else {
        return;
    };
    let best = report.best_face().unwrap();
    let pose = best.pose.unwrap();
    assert!(pose.yaw.abs() < 20.0, "{pose:?}");
    let median_quality = {
        let mut q: Vec<f32> = report
            .frames
            .iter()
            .filter_map(|f| f.face.as_ref())
            .map(|f| f.quality.score)
            .collect();
        q.sort_by(f32::total_cmp);
        q[q.len() / 2]
    };
    assert!(best.quality.score >= median_quality);
    let frame = &engine
        .decode(&common::data("video/tranvanluyt2203_live_head_turns.mp4").unwrap())
        .unwrap()
        .frames[report.best_frame.unwrap()];
    let jpeg =
        faceproof_engine::best_shot::face_crop_jpeg(&frame.image, &best.detection.bbox).unwrap();
    let again = engine.decode(&jpeg).unwrap();
    assert!(engine
        .analyze_image(&again.frames[0].image, &AnalyzeOptions::default())
        .is_ok());
}

#[test]
fn a_smile_is_seen_in_the_smiling_clip() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let Some(report) = analyze(
        &engine,
        "video/zubair_live_smile_turns.mov",
        Some(Gesture::Smile),
    ) else {
        return;
    };
    // The smile is seen; the clip also turns the head, which a smile challenge does not allow
    // (tests/gestures.rs has the smiling cut alone).
    let check = report.gesture.unwrap();
    assert!(check.steps[0].performed, "{check:?}");
    assert!(
        !check.unexpected.is_empty() && !check.performed,
        "{check:?}"
    );
    let Some(report) = analyze(
        &engine,
        "video/tranvanluyt2203_live_head_turns.mp4",
        Some(Gesture::Smile),
    ) else {
        return;
    };
    assert!(report
        .frames
        .iter()
        .filter_map(|f| f.face.as_ref())
        .all(|f| f.expression.is_some()));
}

/// The same clip re-encoded lossily (H.264 at CRF 28, a second generation at 110–280 kbit/s for
/// these clips — harsher than a messenger's re-upload) keeps its verdict, its score within a
/// margin, and its spread reported: a verdict that flips with the encoder would mean nothing.
/// (At CRF 32, ≈ 90 kbit/s, one live clip still flips: `docs/scores.md`.)
#[test]
fn liveness_verdict_is_stable_under_reencoding() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for rel in [
        "video/tranvanluyt2203_live_head_turns.mp4",
        "video/krzysiek354_live_small_moves.mp4",
        "video/zubair_live_smile_turns.mov",
        "video/tranvanluyt2203_replay_screen.mp4",
        "video/apfol_replay_phone.webm",
        "video/zubair_replay_phone.mp4",
    ] {
        let Some(original) = analyze(&engine, rel, None) else {
            return;
        };
        let src = common::data_dir().unwrap().join(rel);
        let out = tmp.path().join("reencoded.mp4");
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&src)
            .args([
                "-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "28",
            ])
            .arg(&out)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success(), "{rel}: ffmpeg");
        let decoded = engine.decode(&std::fs::read(&out).unwrap()).unwrap();
        let again = engine
            .analyze_frames(&decoded.frames, &[], &AnalyzeOptions::default())
            .unwrap();
        let (a, b) = (
            original.confidence_spoofing.unwrap(),
            again.confidence_spoofing.unwrap(),
        );
        assert_eq!(a < 0.5, b < 0.5, "{rel}: {a} before, {b} after re-encoding");
        assert!(
            (a - b).abs() <= 0.15,
            "{rel}: {a} before, {b} after re-encoding"
        );
        assert!(
            again
                .liveness_spread
                .is_some_and(|s| (0.0..=1.0).contains(&s)),
            "{rel}"
        );
    }
}
