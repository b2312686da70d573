//! `faceproof eval-capture`: what a person (or a replay) gets from the web plugin, measured by
//! replaying clips through the plugin's own capture protocol — the same session endpoints, in
//! the same order, with the same frames the plugin sends — at many start offsets and in several
//! encodings, per clip and per action the clip shows.
//!
//! One window is one plugin session, done as `crates/server/web-sdk/plugin.js` does it:
//! `GET /api/authorize/session_token` (the backend's part), `POST /web-sdk/session` with the
//! page's `Origin`, two guidance frames (320 px) to `…/frame`, then the capture to `…/capture`:
//! a ZIP of stored JPEG entries, the countdown's last 1.25 s first as rest frames
//! (`frame_NNNN_rest.jpg`, 10 frames) and then the action's frames — 8 per second for the
//! action's `seconds` as the server gave them, at most 640 px on the longer side — and then
//! `…/result` polled until `finished`. A result with `retry` is an unusable capture: the window
//! counts as a retry, and `…/retry` is called to check that the next attempt opens (the
//! person's second try is not replayed: the figures are of first attempts). The verdict is read
//! the way a backend reads it (`GET /api/folders/?meta_data=transaction_id==…&with_analyses=true`),
//! so the measurement does not depend on the company's `result_mode`.
//!
//! Which seconds of a clip show which movement comes from a small CSV in the repository
//! (`docs/eval/capture-segments.csv`: clip, action, start, end; `rest` rows are seconds of the
//! person looking straight at the camera). A window of an action starts its recording at every
//! `--step` seconds (0.25) where its recording (3.5 s; 1.5 s for `blank`) overlaps the movement
//! by at least 1 s (or the whole movement when shorter), starts at most 0.5 s after the movement
//! began (a head movement: the person rests first), and shows no other head movement at all (a
//! person using the plugin rests through its countdown: a recording that starts in the tail of
//! another movement is not what anyone meets). Its rest frames are the 1.25 s of a `rest` segment ending closest before
//! the recording starts (contiguous where the clip allows; else spliced from the last frontal
//! seconds before, as a person rests during the countdown). `blank` windows (passive liveness)
//! lie wholly, rest frames included, within a `rest` segment.
//!
//! Encodings: the clip as recorded, H.264 at CRF 28 and CRF 32 (lossy second generations), and
//! 480p (the shorter side at most 480 px, H.264 at CRF 23), each cut to frames with ffmpeg.
//!
//! The server is this binary's own `serve` on a throw-away SQLite directory (the pack given to
//! this command), or an existing one (`--url`, `--email`, `--password`: an ADMIN, for whom a
//! company and a CLIENT user are made, or a user of a company that may mint session tokens).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::blocking::{multipart, Client};
use serde_json::{json, Value};

use super::local_server::{login, start_server, Server, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::Globals;

/// The segments of the shared clips, built in (`--segments` reads another file).
const SEGMENTS: &str = include_str!("../../../../docs/eval/capture-segments.csv");

#[derive(clap::Args)]
pub struct Args {
    /// The shared data directory (default `$FACEPROOF_DATA` or ../shared/data); clips are read
    /// from its `video/` with their labels from `video/videos.csv`.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Segments CSV (clip,action,start,end[,note]); default: the built-in
    /// `docs/eval/capture-segments.csv`.
    #[arg(long)]
    segments: Option<PathBuf>,
    /// Only these clips (comma-separated file names, or parts of them).
    #[arg(long)]
    clips: Option<String>,
    /// Only these actions (comma-separated: blank, left, right, down, high, smile).
    #[arg(long)]
    actions: Option<String>,
    /// Encodings, comma-separated: original, crf28, crf32, 480p.
    #[arg(long, default_value = "original,crf28,crf32,480p")]
    encodings: String,
    /// Seconds between the start offsets of windows.
    #[arg(long, default_value_t = 0.25)]
    step: f32,
    /// At most this many windows per clip, action and encoding, spread evenly; for a quick look.
    #[arg(long)]
    limit: Option<usize>,
    /// The synthesised flat attacks (each selected live clip's frontal frame as a still photo,
    /// turned and tilted by hand in front of the camera): `also` beside the clips, `only`, or
    /// `none`.
    #[arg(long, default_value = "also", value_parser = ["also", "only", "none"])]
    flat: String,
    /// Concurrent plugin sessions.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// An existing server instead of a throw-away one.
    #[arg(long, requires_all = ["email", "password"])]
    url: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    password: Option<String>,
    /// The page origin the sessions are started from (default: the server's own origin, which
    /// is always allowed).
    #[arg(long)]
    origin: Option<String>,
    /// Write one CSV row per window to this file.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// One JSON object on stdout instead of tables.
    #[arg(long)]
    json: bool,
}

/// The plugin's recording rate and its rest frames (`plugin.js`: CAPTURE_FPS, REST_MS).
const FPS: f32 = 8.0;
const REST_SECONDS: f32 = 1.25;
/// The longer side of a recorded frame, and of a guidance frame.
const FRAME_SIDE: u32 = 640;
const GUIDANCE_SIDE: u32 = 320;
/// Window rules (see the module documentation).
const MIN_OVERLAP: f32 = 1.0;
const ONSET_LATE: f32 = 0.5;
const SLACK: f32 = 0.0;
const EPS: f32 = 1e-3;

/// The encodings a clip is judged in: name, ffmpeg video arguments (`None`: as recorded).
const ENCODINGS: [(&str, Option<&[&str]>); 4] = [
    ("original", None),
    (
        "crf28",
        Some(&["-c:v", "libx264", "-preset", "veryfast", "-crf", "28"]),
    ),
    (
        "crf32",
        Some(&["-c:v", "libx264", "-preset", "veryfast", "-crf", "32"]),
    ),
    (
        "480p",
        Some(&[
            "-vf",
            "scale=w='if(lt(iw,ih),min(480,iw),-2)':h='if(lt(iw,ih),-2,min(480,ih))'",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
        ]),
    ),
];

/// The plugin action of a segment's movement; `blank` is passive liveness.
fn plugin_action(gesture: &str) -> Option<&'static str> {
    Some(match gesture {
        "blank" => "video_selfie_blank",
        "left" => "video_selfie_left",
        "right" => "video_selfie_right",
        "down" => "video_selfie_down",
        "high" => "video_selfie_high",
        "smile" => "video_selfie_smile",
        _ => return None,
    })
}

fn is_head_move(action: &str) -> bool {
    matches!(action, "left" | "right" | "down" | "high")
}

/// Seconds the plugin records an action (the server's `action_seconds`, which the session's
/// answer carries and the capture follows).
fn recorded_seconds(gesture: &str) -> f32 {
    if gesture == "blank" {
        1.5
    } else {
        3.5
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Segment {
    action: String,
    start: f32,
    end: f32,
}

impl Segment {
    fn overlap(&self, a: f32, b: f32) -> f32 {
        (b.min(self.end) - a.max(self.start)).max(0.0)
    }
}

/// One plugin session to run: a clip's action from `start` (the recording) with rest frames
/// from `rest_from`.
#[derive(Debug, Clone)]
struct Window {
    clip: String,
    /// `live`, the attack type of a shared clip (`replay`), or `flat` (synthesised).
    label: String,
    gesture: String,
    encoding: String,
    start: f32,
    rest_from: f32,
}

/// The flat attacks' movements: (action, from, to, yaw, pitch) — the still photo turned about
/// its vertical axis (positive: its right side away from the camera, as a face turning towards
/// the image's right foreshortens) or tilted about its horizontal one (positive: its top away,
/// as a face looking up), each movement eased in over its first quarter and out over its last.
const FLAT_MOVES: [(&str, f32, f32, f32, f32); 4] = [
    ("left", 2.5, 5.5, 50.0, 0.0),
    ("right", 8.0, 11.0, -50.0, 0.0),
    ("high", 13.5, 16.5, 0.0, 35.0),
    ("down", 19.0, 22.0, 0.0, -35.0),
];
const FLAT_SECONDS: f32 = 24.5;

/// The segments of a flat attack, by construction.
fn flat_segments() -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest_from = 0.0;
    for (action, from, to, _, _) in FLAT_MOVES {
        out.push(Segment {
            action: "rest".into(),
            start: rest_from,
            end: from,
        });
        out.push(Segment {
            action: action.into(),
            start: from,
            end: to,
        });
        rest_from = to;
    }
    out.push(Segment {
        action: "rest".into(),
        start: rest_from,
        end: FLAT_SECONDS,
    });
    out
}

/// Yaw and pitch (degrees) of the photo at `t`.
fn flat_angles(t: f32) -> (f64, f64) {
    let smooth = |x: f32| {
        let x = x.clamp(0.0, 1.0);
        x * x * (3.0 - 2.0 * x)
    };
    for (_, from, to, yaw, pitch) in FLAT_MOVES {
        if t > from && t < to {
            let u = (t - from) / (to - from);
            let e = smooth(u / 0.25) * smooth((1.0 - u) / 0.25);
            return ((yaw * e) as f64, (pitch * e) as f64);
        }
    }
    (0.0, 0.0)
}

type M3 = [[f64; 3]; 3];

fn mul(a: &M3, b: &M3) -> M3 {
    let mut m = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            m[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

fn inverse(m: &M3) -> Option<M3> {
    let c =
        |r0: usize, c0: usize, r1: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    let det = m[0][0] * c(1, 1, 2, 2) - m[0][1] * c(1, 0, 2, 2) + m[0][2] * c(1, 0, 2, 1);
    if det.abs() < 1e-12 {
        return None;
    }
    let adj = [
        [c(1, 1, 2, 2), -c(0, 1, 2, 2), c(0, 1, 1, 2)],
        [-c(1, 0, 2, 2), c(0, 0, 2, 2), -c(0, 0, 1, 2)],
        [c(1, 0, 2, 1), -c(0, 0, 2, 1), c(0, 0, 1, 1)],
    ];
    Some(adj.map(|r| r.map(|x| x / det)))
}

/// The homography of a flat photo of `w` × `h` pixels, centred, turned by `yaw` and tilted by
/// `pitch` degrees at a distance of 1.2 × its longer side (a photo at arm's length), then moved
/// by a hand's tremor at `t`.
fn flat_homography(w: f64, h: f64, yaw: f64, pitch: f64, t: f64) -> M3 {
    let (cx, cy) = (w / 2.0, h / 2.0);
    let d = 1.2 * w.max(h);
    let (sy, cy_) = yaw.to_radians().sin_cos();
    let (sp, cp) = pitch.to_radians().sin_cos();
    // Rotation: yaw (x → x cos + z sin) then pitch (top away for positive pitch).
    let ry = [[cy_, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy_]];
    let rp = [[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]];
    let r = mul(&rp, &ry);
    // [r1 r2 t] with t = (0, 0, d), the camera's intrinsics (focal d, centre) and the source
    // centred on its middle.
    let rt = [
        [r[0][0], r[0][1], 0.0],
        [r[1][0], r[1][1], 0.0],
        [r[2][0], r[2][1], d],
    ];
    let k = [[d, 0.0, cx], [0.0, d, cy], [0.0, 0.0, 1.0]];
    let centre = [[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]];
    let tau = std::f64::consts::TAU;
    let (dx, dy) = (
        6.0 * (tau * 0.7 * t).sin() + 3.0 * (tau * 1.9 * t).sin(),
        4.0 * (tau * 0.5 * t + 1.0).sin(),
    );
    let (ss, cs) = (1.5f64.to_radians() * (tau * 0.4 * t).sin()).sin_cos();
    let tremor = mul(
        &[[cs, -ss, cx + dx], [ss, cs, cy + dy], [0.0, 0.0, 1.0]],
        &centre,
    );
    mul(&tremor, &mul(&k, &mul(&rt, &centre)))
}

/// A flat attack made from `still` (a JPEG): its frames at 8 per second, turned and tilted
/// along [`FLAT_MOVES`], written as a video (H.264, CRF 12: the encodings come after).
fn flat_attack(still: &[u8], out: &Path, tmp: &Path) -> anyhow::Result<()> {
    let img = image::load_from_memory(still)?.to_rgb8();
    let (w, h) = img.dimensions();
    let dir = tmp.join("flat");
    std::fs::create_dir_all(&dir)?;
    let frames = (FLAT_SECONDS * FPS).round() as usize;
    for k in 0..frames {
        let t = k as f32 / FPS;
        let (yaw, pitch) = flat_angles(t);
        let hm = flat_homography(w as f64, h as f64, yaw, pitch, t as f64);
        let inv = inverse(&hm).context("a singular warp")?;
        let mut frame = image::RgbImage::from_pixel(w, h, image::Rgb([58, 56, 54]));
        for (u, v, px) in frame.enumerate_pixels_mut() {
            let (x, y) = (u as f64 + 0.5, v as f64 + 0.5);
            let z = inv[2][0] * x + inv[2][1] * y + inv[2][2];
            let sx = (inv[0][0] * x + inv[0][1] * y + inv[0][2]) / z - 0.5;
            let sy = (inv[1][0] * x + inv[1][1] * y + inv[1][2]) / z - 0.5;
            if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f64 || sy > (h - 1) as f64 {
                continue;
            }
            let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
            let p = |x, y| img.get_pixel(x, y).0;
            let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
            for ch in 0..3 {
                let top = a[ch] as f64 * (1.0 - fx) + b[ch] as f64 * fx;
                let bottom = c[ch] as f64 * (1.0 - fx) + d[ch] as f64 * fx;
                px.0[ch] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
        frame.save(dir.join(format!("f{k:05}.png")))?;
    }
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-framerate", "8", "-i"])
        .arg(dir.join("f%05d.png"))
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-pix_fmt", "yuv420p",
        ])
        .args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
        .arg(out)
        .status()
        .context("running ffmpeg")?;
    std::fs::remove_dir_all(&dir)?;
    if !status.success() {
        bail!("ffmpeg could not write the flat attack");
    }
    Ok(())
}

/// The segments CSV: clip → its segments.
fn read_segments(text: &str) -> anyhow::Result<BTreeMap<String, Vec<Segment>>> {
    let mut out: BTreeMap<String, Vec<Segment>> = BTreeMap::new();
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("the segments CSV has no column {name:?}"))
    };
    let (c, a, s, e) = (col("clip")?, col("action")?, col("start")?, col("end")?);
    for (i, row) in rdr.records().enumerate() {
        let row = row?;
        let field = |k: usize| row.get(k).unwrap_or("").trim().to_string();
        let num = |k: usize| -> anyhow::Result<f32> {
            field(k)
                .parse()
                .with_context(|| format!("segments row {}: {:?} is not seconds", i + 2, field(k)))
        };
        let action = field(a);
        if action != "rest" && plugin_action(&action).is_none() {
            bail!("segments row {}: unknown action {action:?}", i + 2);
        }
        let seg = Segment {
            action,
            start: num(s)?,
            end: num(e)?,
        };
        if seg.end <= seg.start {
            bail!("segments row {}: end before start", i + 2);
        }
        out.entry(field(c)).or_default().push(seg);
    }
    Ok(out)
}

/// Start offsets `0, step, 2·step…` up to `last`, on the plugin's frame grid.
fn grid(step: f32, last: f32) -> Vec<f32> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let t = ((i as f32 * step) * FPS).round() / FPS;
        if t > last + EPS {
            break;
        }
        out.push(t);
        i += 1;
    }
    out
}

/// The rest frames for a recording that starts at `t`: the 1.25 s of a rest segment that end
/// closest before `t`.
fn rest_before(segments: &[Segment], t: f32) -> Option<f32> {
    segments
        .iter()
        .filter(|r| r.action == "rest" && r.end - r.start >= REST_SECONDS - EPS)
        .filter(|r| r.start + REST_SECONDS <= t + EPS)
        .map(|r| r.end.min(t) - REST_SECONDS)
        .max_by(f32::total_cmp)
}

/// The windows of one clip (see the module documentation): (action, recording start, rest
/// start).
fn windows_of(segments: &[Segment], duration: f32, step: f32) -> Vec<(String, f32, f32)> {
    let mut out = Vec::new();
    let moves: Vec<&Segment> = segments
        .iter()
        .filter(|s| is_head_move(&s.action))
        .collect();
    for g in segments.iter().filter(|s| s.action != "rest") {
        let secs = recorded_seconds(&g.action);
        for t in grid(step, duration - secs) {
            let end = t + secs;
            if g.overlap(t, end) + EPS < MIN_OVERLAP.min(g.end - g.start) {
                continue;
            }
            if is_head_move(&g.action) && t > g.start + ONSET_LATE + EPS {
                continue;
            }
            if moves
                .iter()
                .any(|m| *m != g && m.overlap(t, end) > SLACK + EPS)
            {
                continue;
            }
            if let Some(rest) = rest_before(segments, t) {
                out.push((g.action.clone(), t, rest));
            }
        }
    }
    for r in segments.iter().filter(|s| s.action == "rest") {
        let secs = recorded_seconds("blank");
        for t in grid(step, duration - secs) {
            if t - REST_SECONDS >= r.start - EPS && t + secs <= r.end + EPS {
                out.push(("blank".into(), t, t - REST_SECONDS));
            }
        }
    }
    out
}

/// Every `n`-th item so that at most `limit` remain, spread over the whole list.
fn spread<T: Clone>(items: Vec<T>, limit: Option<usize>) -> Vec<T> {
    match limit {
        Some(l) if l > 0 && items.len() > l => {
            let step = items.len() as f64 / l as f64;
            (0..l)
                .map(|i| items[(i as f64 * step) as usize].clone())
                .collect()
        }
        _ => items,
    }
}

/// The clip in one encoding, as the plugin's camera frames: JPEGs at 8 per second, the longer
/// side at most 640 px.
fn plugin_frames(
    src: &Path,
    encoding: Option<&[&str]>,
    tmp: &Path,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let input = match encoding {
        None => src.to_path_buf(),
        Some(args) => {
            let out = tmp.join("encoded.mp4");
            let status = Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-i"])
                .arg(src)
                .arg("-an")
                .args(args)
                .arg(&out)
                .status()
                .context("running ffmpeg")?;
            if !status.success() {
                bail!("ffmpeg could not re-encode {}", src.display());
            }
            out
        }
    };
    let dir = tmp.join("frames");
    std::fs::create_dir_all(&dir)?;
    let scale = format!(
        "fps={FPS},scale=w='min({FRAME_SIDE},iw)':h='min({FRAME_SIDE},ih)':force_original_aspect_ratio=decrease"
    );
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&input)
        .args(["-vf", &scale, "-q:v", "3"])
        .arg(dir.join("f%05d.jpg"))
        .status()
        .context("running ffmpeg")?;
    if !status.success() {
        bail!("ffmpeg could not cut {} into frames", src.display());
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    let frames = names
        .iter()
        .map(std::fs::read)
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(frames)
}

/// One frame of `clip` at `at` seconds as the plugin records it (a JPEG, at most 640 px).
fn still_frame(clip: &Path, at: f32, tmp: &Path) -> anyhow::Result<Vec<u8>> {
    let out = tmp.join("still.jpg");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-ss", &format!("{at:.3}"), "-i"])
        .arg(clip)
        .args([
            "-frames:v",
            "1",
            "-vf",
            &format!("scale=w='min({FRAME_SIDE},iw)':h='min({FRAME_SIDE},ih)':force_original_aspect_ratio=decrease"),
            "-q:v",
            "2",
        ])
        .arg(&out)
        .status()
        .context("running ffmpeg")?;
    if !status.success() {
        bail!("ffmpeg could not take a frame of {}", clip.display());
    }
    Ok(std::fs::read(&out)?)
}

/// A ZIP of stored entries as the plugin packs a capture: rest frames first.
fn plugin_zip(rest: &[Vec<u8>], action: &[Vec<u8>]) -> anyhow::Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (i, jpeg) in rest.iter().chain(action).enumerate() {
        let suffix = if i < rest.len() { "_rest" } else { "" };
        zip.start_file(format!("frame_{i:04}{suffix}.jpg"), opts)?;
        zip.write_all(jpeg)?;
    }
    zip.finish()?;
    Ok(out.into_inner())
}

/// A recorded frame scaled down to a guidance frame (320 px JPEG, as `checkFrame` sends).
fn guidance_jpeg(frame: &[u8]) -> anyhow::Result<Vec<u8>> {
    let img = image::load_from_memory(frame)?;
    let small = img.thumbnail(GUIDANCE_SIDE, GUIDANCE_SIDE).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&small)?;
    Ok(out)
}

/// The plugin's hint for a guidance answer (`hintFor` in plugin.js, without the stillness rule).
fn hint(r: &Value) -> &'static str {
    let faces: Vec<&Value> = r["faces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["score"].as_f64().unwrap_or(0.0) >= 0.7)
        .collect();
    match faces.as_slice() {
        [] => "no_face",
        [f] => {
            let b: Vec<f64> = (0..4)
                .map(|i| f["box"][i].as_f64().unwrap_or(0.0))
                .collect();
            let (w, h) = (
                r["width"].as_f64().unwrap_or(1.0),
                r["height"].as_f64().unwrap_or(1.0),
            );
            let size = (b[2] - b[0]) / w.min(h);
            let (cx, cy) = ((b[0] + b[2]) / 2.0 / w - 0.5, (b[1] + b[3]) / 2.0 / h - 0.5);
            if r["brightness"].as_f64().unwrap_or(255.0) < 45.0 {
                "dark"
            } else if size < 0.22 {
                "closer"
            } else if size > 0.8 {
                "back"
            } else if cx.abs() > 0.17 || cy.abs() > 0.2 {
                "centre"
            } else {
                "ok"
            }
        }
        _ => "many_faces",
    }
}

struct Plugin {
    client: Client,
    base: String,
    origin: String,
    /// The access token that mints session tokens and reads the folders (the backend's).
    token: String,
    run: String,
    _server: Option<Server>,
}

/// One answer: status and JSON body.
fn answer(r: reqwest::blocking::Response) -> anyhow::Result<(u16, Value)> {
    let status = r.status().as_u16();
    let text = r.text()?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

impl Plugin {
    fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-Forensic-Access-Token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let (status, v) = answer(req.send()?)?;
        if !(200..300).contains(&status) {
            bail!("{path}: {status}: {v}");
        }
        Ok(v)
    }

    /// A plugin call: text or multipart body, the page's Origin, no credentials.
    fn post_text(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        answer(
            self.client
                .post(format!("{}{path}", self.base))
                .header("origin", &self.origin)
                .header("content-type", "text/plain;charset=UTF-8")
                .body(body.to_string())
                .send()?,
        )
    }

    fn post_form(&self, path: &str, form: multipart::Form) -> anyhow::Result<(u16, Value)> {
        answer(
            self.client
                .post(format!("{}{path}", self.base))
                .header("origin", &self.origin)
                .multipart(form)
                .send()?,
        )
    }

    /// One window through the plugin's protocol; the per-window record.
    fn run_window(&self, w: &Window, frames: &[Vec<u8>], n: usize) -> anyhow::Result<Value> {
        let started = Instant::now();
        let action = plugin_action(&w.gesture).context("action")?;
        let tx = format!("{}-{n}", self.run);
        let mut rec = json!({
            "clip": w.clip, "label": w.label,
            "action": w.gesture, "encoding": w.encoding, "start": w.start, "rest_from": w.rest_from,
        });
        let token = self.api(reqwest::Method::GET, "/api/authorize/session_token", None)?;
        let (status, session) = self.post_text(
            "/web-sdk/session",
            &json!({"session_token": token["session_token"], "action": [action], "lang": "en",
                    "meta": {"transaction_id": tx}, "params": {}}),
        )?;
        if status != 200 {
            bail!("starting a session: {status}: {session}");
        }
        let id = session["session_id"].as_str().context("session_id")?;
        let key = session["session_key"].as_str().context("session_key")?;
        let seconds = session["actions"][0]["seconds"]
            .as_f64()
            .context("the action's seconds")? as f32;
        // plugin.js `record`: max(4, round(seconds × fps)) frames; `countdown`: the last
        // REST_MS at the same rate.
        let count = ((seconds * FPS).round() as usize).max(4);
        let rest_count = (REST_SECONDS * FPS).round() as usize;
        let (r0, a0) = (
            (w.rest_from * FPS).round() as usize,
            (w.start * FPS).round() as usize,
        );
        let (Some(rest), Some(recorded)) =
            (frames.get(r0..r0 + rest_count), frames.get(a0..a0 + count))
        else {
            bail!("{} {}: the window runs past the clip", w.clip, w.start);
        };

        // Guidance: the plugin goes on after two good frames (or its timeout) whatever they say.
        let mut hints = Vec::new();
        for f in rest.iter().take(2) {
            let form = multipart::Form::new()
                .text("session_key", key.to_string())
                .part(
                    "frame",
                    multipart::Part::bytes(guidance_jpeg(f)?).file_name("frame.jpg"),
                );
            let (status, v) = self.post_form(&format!("/web-sdk/session/{id}/frame"), form)?;
            if status != 200 {
                bail!("a guidance frame: {status}: {v}");
            }
            hints.push(hint(&v));
        }
        rec["guidance"] = json!(hints);

        let dims = image::ImageReader::new(std::io::Cursor::new(&recorded[0]))
            .with_guessed_format()?
            .into_dimensions()?;
        let form = multipart::Form::new()
            .text("session_key", key.to_string())
            .text("action", action)
            .text(
                "orientation",
                if dims.0 > dims.1 {
                    "landscape"
                } else {
                    "portrait"
                },
            )
            .text(
                "additional_info",
                json!({"plugin": "faceproof eval-capture", "user_agent": "faceproof eval-capture",
                       "clip": w.clip, "encoding": w.encoding, "start": w.start})
                .to_string(),
            )
            .part(
                "capture",
                multipart::Part::bytes(plugin_zip(rest, recorded)?)
                    .file_name(format!("{action}.zip")),
            );
        let (status, v) = self.post_form(&format!("/web-sdk/session/{id}/capture"), form)?;
        if status != 200 {
            rec["outcome"] = json!("refused");
            rec["error"] = json!(format!("{status}: {}", v["error_message"]));
            return Ok(rec);
        }

        // plugin.js `runAttempt`: poll the result until it is finished.
        let deadline = Instant::now() + Duration::from_secs(900);
        let result = loop {
            let (status, r) = self.post_text(
                &format!("/web-sdk/session/{id}/result"),
                &json!({"session_key": key}),
            )?;
            if status != 200 {
                bail!("result: {status}: {r}");
            }
            if r["state"] == "finished" {
                break r;
            }
            if Instant::now() > deadline {
                bail!("no result in 900 s");
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        if let Some(reason) = result["retry"]["reason"].as_str() {
            rec["retry_reason"] = json!(reason);
            let (status, v) = self.post_text(
                &format!("/web-sdk/session/{id}/retry"),
                &json!({"session_key": key}),
            )?;
            if status != 200 || v["attempt"] != 2 {
                bail!("the retry did not open a second attempt: {status}: {v}");
            }
        }

        // The backend's check: the one folder of this transaction, its QUALITY.
        let list = self.api(
            reqwest::Method::GET,
            &format!("/api/folders/?meta_data=transaction_id=={tx}&with_analyses=true"),
            None,
        )?;
        let folder = &list["items"][0];
        let quality = folder["analyses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| {
                a["type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("quality"))
            })
            .with_context(|| format!("no QUALITY analysis in {folder}"))?;
        let media = &quality["results_media"][0];
        let data = &media["results_data"];
        let resolution = quality["resolution_status"]
            .as_str()
            .unwrap_or("")
            .to_string();
        rec["outcome"] = json!(if rec["retry_reason"].is_string() {
            "retry"
        } else {
            match resolution.parse::<faceproof_server::domain::Resolution>() {
                Ok(faceproof_server::domain::Resolution::Success) => "passed",
                Ok(faceproof_server::domain::Resolution::Declined) => "declined",
                Ok(faceproof_server::domain::Resolution::OperatorRequired) => "operator",
                _ => "other",
            }
        });
        rec["resolution"] = json!(resolution);
        rec["error"] = media["error"]["code"].clone();
        rec["confidence_spoofing"] = data["confidence_spoofing"].clone();
        rec["liveness_frames"] = data["liveness_frames"].clone();
        rec["frames_analysed"] = data["frames_analysed"].clone();
        rec["rest_frames"] = data["rest_frames"].clone();
        rec["liveness_spread"] = data["liveness_spread"].clone();
        rec["gesture_performed"] = data["gesture"]["performed"].clone();
        rec["gesture_peak"] = data["gesture"]["peak"].clone();
        rec["gesture_unexpected"] = data["gesture"]["unexpected"].clone();
        rec["depth_from_motion"] = data["depth_from_motion"].clone();
        rec["seconds"] = json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0);
        Ok(rec)
    }
}

pub fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    let data = args
        .data
        .clone()
        .or_else(|| std::env::var_os("FACEPROOF_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let videos = data.join("video");
    if !videos.join("videos.csv").is_file() {
        bail!(
            "{} is not the shared data directory (no video/videos.csv)",
            data.display()
        );
    }
    if args.step.is_nan() || args.step <= 0.0 {
        bail!("--step must be positive");
    }
    let segments = match &args.segments {
        Some(p) => read_segments(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )?,
        None => read_segments(SEGMENTS)?,
    };
    let labels: BTreeMap<String, String> = super::eval::read_csv(&videos.join("videos.csv"))?
        .1
        .into_iter()
        .map(|r| {
            let path = r.get("path").cloned().unwrap_or_default();
            let label = match r.get("label").map(String::as_str) {
                Some("live") => "live".to_string(),
                _ => r
                    .get("attack_type")
                    .cloned()
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| "attack".into()),
            };
            (path, label)
        })
        .collect();
    let list = |s: &Option<String>| -> Vec<String> {
        s.as_deref()
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (clip_filter, action_filter) = (list(&args.clips), list(&args.actions));
    for a in &action_filter {
        if plugin_action(a).is_none() {
            bail!("--actions: unknown action {a:?} (blank, left, right, down, high, smile)");
        }
    }
    let encodings: Vec<(&str, Option<&[&str]>)> = args
        .encodings
        .split(',')
        .map(|e| {
            ENCODINGS
                .iter()
                .find(|(n, _)| *n == e.trim())
                .copied()
                .with_context(|| format!("--encodings: unknown encoding {e:?}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let clips: Vec<(&String, &Vec<Segment>)> = segments
        .iter()
        .filter(|(c, _)| {
            clip_filter.is_empty() || clip_filter.iter().any(|f| c.contains(f.as_str()))
        })
        .collect();
    if clips.is_empty() {
        bail!("no clip of the segments CSV is selected");
    }

    // The clips: the shared ones, and a flat attack made from each live one's frontal frame.
    let started = Instant::now();
    let tmp = tempfile::tempdir()?;
    let mut sources: Vec<(String, PathBuf, String, Vec<Segment>)> = Vec::new();
    for (clip, segs) in &clips {
        let label = labels
            .get(*clip)
            .with_context(|| format!("{clip} is not in videos.csv"))?;
        sources.push((
            clip.to_string(),
            videos.join(clip),
            label.clone(),
            segs.to_vec(),
        ));
    }
    if args.flat != "none" {
        for (clip, path, label, segs) in sources.clone() {
            let Some(rest) = segs
                .iter()
                .find(|r| r.action == "rest" && r.end - r.start >= REST_SECONDS)
                .filter(|_| label == "live")
            else {
                continue;
            };
            let still = still_frame(&path, (rest.start + rest.end) / 2.0, tmp.path())?;
            let stem = clip
                .rsplit_once('.')
                .map_or(clip.as_str(), |(s, _)| s)
                .to_string();
            let out = tmp.path().join(format!("flat_{stem}.mp4"));
            flat_attack(&still, &out, tmp.path())?;
            sources.push((format!("flat:{stem}"), out, "flat".into(), flat_segments()));
        }
    }
    if args.flat == "only" {
        sources.retain(|s| s.2 == "flat");
    }

    // Frames of every clip in every encoding, and the windows over them.
    let mut frames: BTreeMap<(String, String), Vec<Vec<u8>>> = BTreeMap::new();
    let mut windows = Vec::new();
    let bar = super::progress((sources.len() * encodings.len()) as u64, "frames");
    for (clip, path, label, segs) in &sources {
        for (enc, ffargs) in &encodings {
            let f = plugin_frames(path, *ffargs, tmp.path())?;
            let duration = f.len() as f32 / FPS;
            let mut by_action: BTreeMap<String, Vec<Window>> = BTreeMap::new();
            for (gesture, start, rest_from) in windows_of(segs, duration, args.step) {
                if !action_filter.is_empty() && !action_filter.contains(&gesture) {
                    continue;
                }
                by_action.entry(gesture.clone()).or_default().push(Window {
                    clip: clip.clone(),
                    label: label.clone(),
                    gesture,
                    encoding: enc.to_string(),
                    start,
                    rest_from,
                });
            }
            for (_, w) in by_action {
                windows.extend(spread(w, args.limit));
            }
            frames.insert((clip.clone(), enc.to_string()), f);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if windows.is_empty() {
        bail!("no window fits the selected clips and actions");
    }

    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let plugin = connect(globals, &args, client)?;
    let version = plugin.api(reqwest::Method::GET, "/api/version", None)?;

    // The sessions, `clients` at a time.
    let bar = super::progress(windows.len() as u64, "sessions");
    let next = AtomicUsize::new(0);
    let results: Vec<anyhow::Result<Vec<(usize, Value)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.clients.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(w) = windows.get(i) else { break };
                        let f = &frames[&(w.clip.clone(), w.encoding.clone())];
                        out.push((i, plugin.run_window(w, f, i)?));
                        bar.inc(1);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    bar.finish_and_clear();
    let mut records = Vec::with_capacity(windows.len());
    for r in results {
        records.extend(r?);
    }
    records.sort_by_key(|(i, _)| *i);
    let records: Vec<Value> = records.into_iter().map(|(_, r)| r).collect();

    if let Some(path) = &args.csv {
        write_csv(path, &records)?;
    }
    let out = json!({
        "pack": globals.pack.id,
        "server": plugin.base,
        "server_version": version,
        "step": args.step,
        "windows": records.len(),
        "groups": summarise(&records, |r| vec![s(&r["clip"]), s(&r["action"]), s(&r["encoding"])]),
        "by_clip_action": summarise(&records, |r| vec![s(&r["clip"]), s(&r["action"])]),
        "by_label_encoding": summarise(&records, |r| vec![s(&r["label"]), s(&r["encoding"])]),
        "by_label": summarise(&records, |r| vec![s(&r["label"])]),
        "records": records,
        "seconds": started.elapsed().as_secs(),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_tables(&out);
    }
    Ok(())
}

/// The server (throw-away or `--url`) and the account the sessions run under.
fn connect(globals: &Globals, args: &Args, client: Client) -> anyhow::Result<Plugin> {
    let (base, server, admin) = match &args.url {
        Some(url) => {
            let base = url.trim_end_matches('/').to_string();
            let token = login(
                &client,
                &base,
                args.email.as_deref().unwrap_or_default(),
                args.password.as_deref().unwrap_or_default(),
            )?;
            (base, None, token)
        }
        None => {
            let server = start_server(globals)?;
            let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD)?;
            (server.base.clone(), Some(server), token)
        }
    };
    let run = format!("eval-capture-{}", run_suffix());
    let origin = match &args.origin {
        Some(o) => o.trim_end_matches('/').to_string(),
        None => {
            let (scheme, rest) = base.split_once("://").context("--url needs a scheme")?;
            format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest))
        }
    };
    let mut plugin = Plugin {
        client,
        base,
        origin,
        token: admin,
        run,
        _server: server,
    };
    // An ADMIN has no company: make one and a CLIENT user for the sessions (a backend's user).
    if let Ok(company) = plugin.api(
        reqwest::Method::POST,
        "/api/companies/",
        Some(json!({"name": format!("faceproof {}", plugin.run)})),
    ) {
        let email = format!("{}@eval.invalid", plugin.run);
        let password = format!("pw-{}", run_suffix());
        plugin.api(
            reqwest::Method::POST,
            "/api/users/",
            Some(
                json!({"email": email, "password": password, "user_type": "CLIENT",
                        "company_id": company["company_id"], "first_name": "Eval",
                        "last_name": "Capture"}),
            ),
        )?;
        plugin.token = login(&plugin.client, &plugin.base, &email, &password)?;
    }
    Ok(plugin)
}

fn run_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}", nanos & 0xffff_ffff_ffff)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn ratio(a: usize, b: usize) -> Value {
    if b == 0 {
        Value::Null
    } else {
        json!(((a as f64 / b as f64) * 10_000.0).round() / 10_000.0)
    }
}

/// Outcomes, rates, flips and score spread of the records grouped by `key`. Flips are counted
/// between windows next to each other (by start) of one clip, action and encoding.
fn summarise(records: &[Value], key: impl Fn(&Value) -> Vec<String>) -> Vec<Value> {
    let mut groups: BTreeMap<Vec<String>, Vec<&Value>> = BTreeMap::new();
    for r in records {
        groups.entry(key(r)).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(k, rs)| {
            let count = |o: &str| rs.iter().filter(|r| r["outcome"] == o).count();
            let n = rs.len();
            let mut series: BTreeMap<(String, String, String), Vec<(f64, String)>> =
                BTreeMap::new();
            for r in &rs {
                series
                    .entry((s(&r["clip"]), s(&r["action"]), s(&r["encoding"])))
                    .or_default()
                    .push((r["start"].as_f64().unwrap_or(0.0), s(&r["outcome"])));
            }
            let (mut flips, mut pairs) = (0, 0);
            for v in series.values_mut() {
                v.sort_by(|a, b| a.0.total_cmp(&b.0));
                for p in v.windows(2) {
                    pairs += 1;
                    flips += usize::from(p[0].1 != p[1].1);
                }
            }
            let mut scores: Vec<f64> = rs
                .iter()
                .filter_map(|r| r["confidence_spoofing"].as_f64())
                .collect();
            scores.sort_by(f64::total_cmp);
            let q = |p: f64| {
                (!scores.is_empty()).then(|| scores[((scores.len() - 1) as f64 * p).round() as usize])
            };
            let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
            for r in &rs {
                if let Some(e) = r["retry_reason"].as_str().or(r["error"].as_str()) {
                    *reasons.entry(e.to_string()).or_default() += 1;
                }
            }
            let label = rs.first().map(|r| s(&r["label"])).unwrap_or_default();
            json!({
                "key": k, "label": label, "windows": n,
                "passed": count("passed"), "retry": count("retry"), "declined": count("declined"),
                "operator": count("operator"), "refused": count("refused"),
                "pass_rate": ratio(count("passed"), n), "retry_rate": ratio(count("retry"), n),
                "decline_rate": ratio(count("declined"), n),
                "flips": flips, "pairs": pairs, "flip_rate": ratio(flips, pairs),
                "score": {"min": q(0.0), "p25": q(0.25), "median": q(0.5), "p75": q(0.75), "max": q(1.0)},
                "reasons": reasons,
            })
        })
        .collect()
}

fn write_csv(path: &Path, records: &[Value]) -> anyhow::Result<()> {
    let cols = [
        "clip",
        "label",
        "action",
        "encoding",
        "start",
        "rest_from",
        "outcome",
        "retry_reason",
        "resolution",
        "error",
        "confidence_spoofing",
        "liveness_frames",
        "frames_analysed",
        "rest_frames",
        "liveness_spread",
        "gesture_performed",
        "gesture_peak",
        "guidance",
        "depth_residual",
        "depth_affine",
        "depth_rest",
        "depth_frames",
        "depth_used",
        "seconds",
    ];
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(cols)?;
    for r in records {
        let d = &r["depth_from_motion"];
        let row: Vec<String> = cols
            .iter()
            .map(|c| match *c {
                "depth_residual" => s(&d["residual"]),
                "depth_affine" => s(&d["affine_residual"]),
                "depth_rest" => s(&d["rest_residual"]),
                "depth_frames" => s(&d["frames"]),
                "depth_used" => s(&d["used_in_verdict"]),
                "guidance" => r["guidance"]
                    .as_array()
                    .map(|a| a.iter().map(s).collect::<Vec<_>>().join(" "))
                    .unwrap_or_default(),
                c => s(&r[c]),
            })
            .collect();
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn score(v: &Value) -> String {
    let f = |k: &str| {
        v[k].as_f64()
            .map(|x| format!("{x:.3}"))
            .unwrap_or_else(|| "–".into())
    };
    format!("{} / {} / {}", f("min"), f("median"), f("max"))
}

fn print_tables(out: &Value) {
    println!(
        "Plugin captures replayed ({}, pack {}): {} windows every {} s, {} s\n",
        out["server"].as_str().unwrap_or(""),
        out["pack"].as_str().unwrap_or(""),
        out["windows"],
        out["step"],
        out["seconds"]
    );
    let row = |g: &Value, key: &str| {
        let attack = g["label"] != "live";
        format!(
            "| {key} | {} | {} | {} | {} | {} | {} ({}/{}) | {} | {} |",
            g["windows"],
            if attack {
                pct(&g["decline_rate"])
            } else {
                pct(&g["pass_rate"])
            },
            pct(&g["retry_rate"]),
            if attack {
                pct(&g["pass_rate"])
            } else {
                pct(&g["decline_rate"])
            },
            g["operator"].as_u64().unwrap_or(0) + g["refused"].as_u64().unwrap_or(0),
            pct(&g["flip_rate"]),
            g["flips"],
            g["pairs"],
            score(&g["score"]),
            g["reasons"],
        )
    };
    let head = "| {} | windows | live: passed / attack: declined | retry | live: declined / attack: passed | other | flips | confidence_spoofing min / median / max | reasons |\n|---|---|---|---|---|---|---|---|---|";
    println!("## By label and encoding");
    println!("{}", head.replace("{}", "label, encoding"));
    for g in out["by_label_encoding"].as_array().into_iter().flatten() {
        let k: Vec<String> = g["key"].as_array().into_iter().flatten().map(s).collect();
        println!("{}", row(g, &k.join(", ")));
    }
    for g in out["by_label"].as_array().into_iter().flatten() {
        let k: Vec<String> = g["key"].as_array().into_iter().flatten().map(s).collect();
        println!("{}", row(g, &format!("**{}, all**", k.join(", "))));
    }
    println!("\n## By clip and action (all encodings)");
    println!("{}", head.replace("{}", "clip, action"));
    for g in out["by_clip_action"].as_array().into_iter().flatten() {
        let k: Vec<String> = g["key"].as_array().into_iter().flatten().map(s).collect();
        println!("{}", row(g, &k.join(", ")));
    }
    println!("\n## By clip, action and encoding");
    println!("{}", head.replace("{}", "clip, action, encoding"));
    for g in out["groups"].as_array().into_iter().flatten() {
        let k: Vec<String> = g["key"].as_array().into_iter().flatten().map(s).collect();
        println!("{}", row(g, &k.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(action: &str, start: f32, end: f32) -> Segment {
        Segment {
            action: action.into(),
            start,
            end,
        }
    }

    #[test]
    fn windows_show_one_movement_after_a_rest() {
        let segs = vec![
            seg("rest", 0.0, 2.0),
            seg("left", 2.0, 5.5),
            seg("rest", 5.5, 7.25),
            seg("right", 7.25, 10.25),
            seg("rest", 11.0, 14.0),
        ];
        let w = windows_of(&segs, 15.0, 0.25);
        let left: Vec<_> = w.iter().filter(|x| x.0 == "left").collect();
        // Recording from 1.25 s (rest frames 0–1.25 s) to 2.5 s (the turn began 0.5 s before).
        assert_eq!(left.first().map(|x| (x.1, x.2)), Some((1.25, 0.0)));
        assert_eq!(left.last().map(|x| (x.1, x.2)), Some((2.5, 0.75)));
        assert_eq!(left.len(), 6);
        // The right turn's recordings start after the left turn ended; their rest frames are the
        // last frontal seconds before them.
        let right: Vec<_> = w.iter().filter(|x| x.0 == "right").collect();
        assert!(
            right.iter().all(|x| x.1 >= 5.25 && x.1 <= 7.75),
            "{right:?}"
        );
        assert!(
            right.iter().all(|x| x.2 + REST_SECONDS <= x.1 + EPS),
            "{right:?}"
        );
        // Passive windows lie within a rest segment, rest frames included.
        let blank: Vec<_> = w.iter().filter(|x| x.0 == "blank").collect();
        assert_eq!(
            blank.iter().map(|x| (x.1, x.2)).collect::<Vec<_>>(),
            vec![(12.25, 11.0), (12.5, 11.25)]
        );
    }

    #[test]
    fn the_segments_file_parses() {
        let segs = read_segments(SEGMENTS).unwrap();
        assert!(segs.values().flatten().any(|s| s.action == "left"));
        assert!(read_segments("clip,action,start,end\na,wink,1,2\n").is_err());
        assert!(read_segments("clip,action,start,end\na,left,2,1\n").is_err());
    }
}
