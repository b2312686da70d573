//! Gesture direction, order and one-person checks on cuts of the shared research clips
//! (`shared/data/video`, cut with ffmpeg at test time, never stored), sampled at 8 frames per
//! second like the web plugin's captures. The cuts are those of `docs/web-sdk.md`'s figures.

use crate::common;

use std::process::Command;

use faceproof_engine::gesture::{Gesture, GestureCheck};
use faceproof_engine::media::{self, Limits};
use faceproof_engine::{AnalyzeOptions, EngineError, FacePolicy, VideoReport};

const TURNS: &str = "video/tranvanluyt2203_live_head_turns.mp4";

/// `rel` from `start` for `secs` seconds (or several such pieces joined, for a splice), as MP4
/// bytes; `None` when the data or ffmpeg is missing outside CI.
fn cut(pieces: &[(&str, f32, f32)]) -> Option<Vec<u8>> {
    let data = common::data_dir()?;
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "ffmpeg is missing, and CI must have it"
        );
        eprintln!("SKIPPED: ffmpeg is missing");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut.mp4");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y"]);
    for (rel, start, secs) in pieces {
        cmd.args(["-ss", &start.to_string(), "-t", &secs.to_string(), "-i"])
            .arg(data.join(rel));
    }
    // One piece is scaled to 480 px high, as the browser test's fake camera shows it; pieces of
    // a splice are fitted into one frame size, so they can be concatenated.
    let size = if pieces.len() == 1 {
        "scale=-2:480".to_string()
    } else {
        "scale=480:480:force_original_aspect_ratio=decrease,pad=480:480:(ow-iw)/2:(oh-ih)/2"
            .to_string()
    };
    let mut filter = String::new();
    for i in 0..pieces.len() {
        filter += &format!("[{i}:v]{size},setsar=1,fps=15[v{i}];");
    }
    for i in 0..pieces.len() {
        filter += &format!("[v{i}]");
    }
    filter += &format!("concat=n={}:v=1:a=0[out]", pieces.len());
    let st = cmd
        .args(["-filter_complex", &filter, "-map", "[out]", "-an"])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg failed on {pieces:?}");
    Some(std::fs::read(&out).unwrap())
}

/// The clip's report under the server's decision policy, with `gestures` checked in order.
fn analyze(bytes: &[u8], gestures: &[Gesture]) -> Result<VideoReport, EngineError> {
    let engine = common::default_engine().expect("the engine loads when the data is present");
    let limits = Limits {
        frames_per_second: 8.0,
        max_frames: 100,
        ..Limits::default()
    };
    let decoded = media::decode(bytes, &limits).unwrap();
    let opts = AnalyzeOptions {
        policy: FacePolicy::Dominant,
        embedding: false,
        ..AnalyzeOptions::default()
    };
    engine.analyze_frames(&decoded.frames, gestures, &opts)
}

fn checked(bytes: &[u8], gestures: &[Gesture]) -> GestureCheck {
    let report = analyze(bytes, gestures).unwrap();
    let check = report.gesture.unwrap();
    eprintln!(
        "{gestures:?}: performed {}, steps {:?}, unexpected {:?}, rest from start {}",
        check.performed, check.steps, check.unexpected, check.rest_from_start
    );
    check
}

fn performed(bytes: &[u8], gestures: &[Gesture]) -> bool {
    checked(bytes, gestures).performed
}

#[test]
fn nods_and_turns_pass_only_in_their_own_direction() {
    if common::default_engine().is_none() {
        return;
    }
    // (cut, the gesture it shows, the opposite one it must not pass).
    for ((start, secs), shown, opposite) in [
        ((10.8, 3.0), Gesture::Down, Gesture::High),
        ((14.0, 3.0), Gesture::High, Gesture::Down),
        ((1.0, 4.8), Gesture::Left, Gesture::Right),
        ((6.0, 4.5), Gesture::Right, Gesture::Left),
    ] {
        let Some(clip) = cut(&[(TURNS, start, secs)]) else {
            return;
        };
        assert!(performed(&clip, &[shown]), "{start}s: {shown:?} not seen");
        // Not passed, and not only because the shown movement is unexpected: the movement
        // itself does not count in the opposite direction.
        let check = checked(&clip, &[opposite]);
        assert!(
            !check.performed && !check.steps[0].performed,
            "{start}s: {opposite:?} seen on a {shown:?} cut"
        );
        assert!(check.peak < 15.0, "{start}s: {check:?}");
    }
}

#[test]
fn a_smiling_cut_passes_the_smile_gesture() {
    if common::default_engine().is_none() {
        return;
    }
    let Some(clip) = cut(&[("video/zubair_live_smile_turns.mov", 0.0, 3.5)]) else {
        return;
    };
    assert!(performed(&clip, &[Gesture::Smile]));
}

#[test]
fn a_challenge_passes_in_its_order_and_fails_reversed() {
    if common::default_engine().is_none() {
        return;
    }
    // The first turn (towards the image's right: the person's own left), then the other.
    let Some(clip) = cut(&[(TURNS, 1.0, 9.5)]) else {
        return;
    };
    assert!(performed(&clip, &[Gesture::Left, Gesture::Right]));
    assert!(!performed(&clip, &[Gesture::Right, Gesture::Left]));
    // One turn asked, both shown: not exactly what was asked.
    assert!(!performed(&clip, &[Gesture::Left]));
}

#[test]
fn a_clip_spliced_from_two_people_is_refused_and_one_person_passes() {
    if common::default_engine().is_none() {
        return;
    }
    let Some(live) = cut(&[(TURNS, 0.0, 2.5)]) else {
        return;
    };
    let report = analyze(&live, &[Gesture::Blank]).unwrap();
    let identity = report.identity.unwrap();
    eprintln!("one person: {identity:?}");
    assert_eq!(identity.frames_other, 0);
    // One person throughout: the check needs no more than its sample of frames.
    assert!(identity.frames_compared >= faceproof_engine::IDENTITY_SAMPLE);
    let Some(spliced) = cut(&[
        (TURNS, 0.0, 2.0),
        ("video/krzysiek354_live_small_moves.mp4", 0.0, 2.0),
    ]) else {
        return;
    };
    match analyze(&spliced, &[Gesture::Blank]) {
        Err(e @ EngineError::FaceChanged { .. }) => {
            eprintln!("spliced: {e}");
            assert_eq!(e.code(), "face_changed");
        }
        other => panic!("a two-person splice was not refused: {other:?}"),
    }
}
