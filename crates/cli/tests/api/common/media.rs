//! Test media cut from the research clips with ffmpeg at test time (the data is never stored in
//! the repository): the start of an ffmpeg command for a cut, and running it.

use std::path::Path;
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
