//! Test media cut from the research clips with ffmpeg at test time (the data is never stored in
//! the repository): the start of an ffmpeg command for a cut, running it, and the y4m clips the
//! browser tests feed Chromium's fake camera.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `ffmpeg -v error -y -ss <start> -t <secs> -i <src>`: a cut of `src`; add the output options
/// and file, then [`run`] it.
pub fn cut(src: &Path, start: f32, secs: f32) -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y", "-ss", &start.to_string()])
        .args(["-t", &secs.to_string(), "-i"])
        .arg(src);
    cmd
}

/// Run an ffmpeg command; a failure names `what`.
#[track_caller]
pub fn run(cmd: &mut Command, what: &str) {
    let st = cmd.status().expect("running ffmpeg");
    assert!(st.success(), "ffmpeg failed on {what}");
}

/// `src` (relative to the shared data) from `start` for `secs` seconds as a y4m clip for
/// Chromium's fake camera (15 fps, 480 px high), made once per test process under the target's
/// temporary directory and named `name`.
pub fn camera_clip(data: &Path, src: &str, (start, secs): (f32, f32), name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-sdk-clips");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}.y4m"));
    if out.exists() {
        return out;
    }
    // A name of its own: tests running at once may cut the same clip.
    let tmp = dir.join(format!("{name}.{}.y4m", uuid::Uuid::new_v4()));
    run(
        cut(&data.join(src), start, secs)
            .args(["-vf", "scale=-2:480,fps=15", "-pix_fmt", "yuv420p", "-an"])
            .arg(&tmp),
        src,
    );
    std::fs::rename(&tmp, &out).unwrap();
    out
}
