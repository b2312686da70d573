//! Videos of `shared/data/video`: frame sampling, aggregated liveness, gestures, best shot.

use crate::common;

use faceproof_engine::gesture::Gesture;
use faceproof_engine::{aggregate_liveness, AnalyzeOptions, Engine, VideoReport};

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

/// The same clip, as recorded and re-encoded lossily (H.264 at CRF 28, a second generation at
/// 110–280 kbit/s for these clips — harsher than a messenger's re-upload), keeps its verdict —
/// the whole clip's, and in windows of it (16 sampled frames, every 4): a replay is declined in
/// every window with enough usable frames, a live clip passes in most. Verdicts, not one score's
/// delta: the score itself moves with the ffmpeg build and the CPU (the head-turn clip at CRF 28
/// scored 0.25 on one machine, 0.39 on another of the same kind). (At CRF 32, ≈ 90 kbit/s, one
/// live clip flips: `docs/scores.md`.)
#[test]
fn liveness_verdict_is_stable_under_reencoding() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for (rel, live) in [
        ("video/tranvanluyt2203_live_head_turns.mp4", true),
        ("video/krzysiek354_live_small_moves.mp4", true),
        ("video/zubair_live_smile_turns.mov", true),
        ("video/tranvanluyt2203_replay_screen.mp4", false),
        ("video/apfol_replay_phone.webm", false),
    ] {
        let Some(src) = common::data_dir().map(|d| d.join(rel)) else {
            return;
        };
        let reencoded = tmp.path().join("reencoded.mp4");
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&src)
            .args([
                "-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "28",
            ])
            .arg(&reencoded)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success(), "{rel}: ffmpeg");
        for (encoding, path) in [("as recorded", src.clone()), ("CRF 28", reencoded.clone())] {
            let decoded = engine.decode(&std::fs::read(&path).unwrap()).unwrap();
            let report = engine
                .analyze_frames(&decoded.frames, &[], &AnalyzeOptions::default())
                .unwrap();
            let whole = report.confidence_spoofing.unwrap();
            assert!(report.liveness_sufficient, "{rel} {encoding}");
            assert_eq!(whole < 0.5, live, "{rel} {encoding}: {whole}");
            assert!(
                report
                    .liveness_spread
                    .is_some_and(|s| (0.0..=1.0).contains(&s)),
                "{rel} {encoding}"
            );
            let (mut judged, mut right, mut scores) = (0, 0, Vec::new());
            for start in (0..=report.frames.len().saturating_sub(16)).step_by(4) {
                let window = &report.frames[start..(start + 16).min(report.frames.len())];
                let agg = aggregate_liveness(window);
                if !agg.sufficient {
                    continue;
                }
                let s = agg.median.unwrap();
                judged += 1;
                right += usize::from((s < 0.5) == live);
                scores.push((s * 100.0).round() / 100.0);
            }
            assert!(judged >= 4, "{rel} {encoding}: {judged} windows judged");
            if live {
                assert!(
                    3 * right >= 2 * judged,
                    "{rel} {encoding}: {right}/{judged} windows pass: {scores:?}"
                );
            } else {
                assert_eq!(
                    right, judged,
                    "{rel} {encoding}: a replay window passed: {scores:?}"
                );
            }
        }
    }
}

/// JPEG frames of `rel` from `start` for `secs` seconds at the web plugin's 8 frames per second
/// and 640 px, cut with ffmpeg.
fn plugin_frames(rel: &str, start: f32, secs: f32, dir: &std::path::Path) -> Vec<Vec<u8>> {
    let src = common::data_dir().unwrap().join(rel);
    std::fs::create_dir_all(dir).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-ss",
            &start.to_string(),
            "-t",
            &secs.to_string(),
            "-i",
        ])
        .arg(&src)
        .args(["-vf", "fps=8,scale=-2:640", "-q:v", "3"])
        .arg(dir.join("f%04d.jpg"))
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "{rel}: ffmpeg");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// A ZIP of frames as the web plugin sends it: rest frames first (`frame_NNNN_rest.jpg`).
fn plugin_zip(rest: &[Vec<u8>], action: &[Vec<u8>]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (i, jpeg) in rest.iter().chain(action).enumerate() {
        let suffix = if i < rest.len() { "_rest" } else { "" };
        zip.start_file(format!("frame_{i:04}{suffix}.jpg"), opts)
            .unwrap();
        std::io::Write::write_all(&mut zip, jpeg).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

/// A capture of a head turn alone (every frame turned past 30°) gives liveness too little to
/// judge on — a retry, not a verdict — while the same turn with the countdown's rest frames
/// before it is judged, live, on the rest frames; the rest frames are marked and are the
/// resting pose the turn is measured from.
#[test]
fn rest_frames_give_a_turn_capture_enough_frames_to_judge() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let rel = "video/tranvanluyt2203_live_head_turns.mp4";
    if common::data(rel).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The person's own left turn holds from 2.2 to 5.2 s (42–57° of yaw); they rest before 1.3 s.
    let turn = plugin_frames(rel, 2.3, 2.8, &tmp.path().join("turn"));
    let rest = plugin_frames(rel, 0.0, 1.25, &tmp.path().join("rest"));
    assert!(
        turn.len() >= 16 && rest.len() >= 8,
        "{} {}",
        turn.len(),
        rest.len()
    );

    let alone = engine.decode(&plugin_zip(&[], &turn)).unwrap();
    assert!(alone.frames.iter().all(|f| !f.rest));
    let report = engine
        .analyze_frames(&alone.frames, &[Gesture::Left], &AnalyzeOptions::default())
        .unwrap();
    assert!(
        !report.liveness_sufficient,
        "{} usable frames of {}",
        report.liveness_frames,
        report.frames.len()
    );
    assert_eq!(
        report.liveness_required_frames,
        faceproof_engine::LIVENESS_MIN_FRAMES
    );

    let with_rest = engine.decode(&plugin_zip(&rest, &turn)).unwrap();
    let marked = with_rest.frames.iter().filter(|f| f.rest).count();
    assert_eq!(marked, rest.len());
    assert!(with_rest.frames[..rest.len()].iter().all(|f| f.rest));
    let report = engine
        .analyze_frames(
            &with_rest.frames,
            &[Gesture::Left],
            &AnalyzeOptions::default(),
        )
        .unwrap();
    assert!(
        report.liveness_sufficient,
        "{} usable",
        report.liveness_frames
    );
    assert!(
        report
            .liveness_frame_indices
            .iter()
            .all(|&i| i < rest.len() + 4),
        "judged on the rest frames: {:?}",
        report.liveness_frame_indices
    );
    let score = report.confidence_spoofing.unwrap();
    assert!(score < 0.5, "live, judged at rest: {score}");
    let gesture = report.gesture.unwrap();
    assert!(gesture.performed && gesture.rest_from_start, "{gesture:?}");
}
