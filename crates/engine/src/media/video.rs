//! Videos through ffmpeg (the Debian package): probe, then sample frames as a PPM stream.
//!
//! ffmpeg is a separate process, so a malformed video cannot crash the server; its rotation
//! metadata is applied by ffmpeg itself (autorotate), and frames arrive already downscaled
//! (`fps` then `scale` filters: the decoder's output is thinned before it is scaled). The header
//! is checked first (frame area, duration), every run has a wall-clock budget, and the frames
//! are parsed as they stream, so at most `max_frames` frames of `max_frame_side` are ever held.
//!
//! The video is written to a temporary file (MP4s often keep their index at the end, so ffmpeg
//! must seek) in [`Limits::temp_dir`]; the file is deleted when the decode ends, whatever the
//! outcome (a crash leaves it for the server's start-up clean-up).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use image::RgbImage;
use serde::Deserialize;

use super::{tool, Frame, Limits};
use crate::error::{EngineError, MediaWord, Result};

/// What ffprobe says about a video's first video stream.
#[derive(Debug, Clone, Default)]
pub struct VideoInfo {
    pub width: u32,
    pub height: u32,
    pub duration: Option<f32>,
    pub fps: Option<f32>,
}

/// Whether `ffmpeg` and `ffprobe` can be run.
pub fn ffmpeg_available() -> bool {
    ["ffmpeg", "ffprobe"].iter().all(|tool| {
        Command::new(tool)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })
}

/// Write the bytes where ffmpeg can seek in them. The returned guard deletes the file when
/// dropped (also on errors and unwinding).
pub(crate) fn spill(bytes: &[u8], limits: &Limits) -> Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("faceproof-video-");
    let mut file = match &limits.temp_dir {
        Some(dir) => builder.tempfile_in(dir)?,
        None => builder.tempfile()?,
    };
    file.write_all(bytes)?;
    file.flush()?;
    Ok(file)
}

/// Probe a video file already on disk (ffprobe reads the headers only), within the default
/// budget of [`Limits::tool_timeout`].
pub fn probe_video(path: &std::path::Path) -> Result<VideoInfo> {
    probe(path, Limits::default().tool_timeout)
}

/// Probe with a wall-clock budget.
pub(crate) fn probe(path: &std::path::Path, budget: std::time::Duration) -> Result<VideoInfo> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        streams: Vec<Stream>,
        format: Option<FormatInfo>,
    }
    #[derive(Deserialize)]
    struct Stream {
        width: Option<u32>,
        height: Option<u32>,
        avg_frame_rate: Option<String>,
        duration: Option<String>,
    }
    #[derive(Deserialize)]
    struct FormatInfo {
        duration: Option<String>,
    }
    let out = tool::run(
        "ffprobe",
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
            .arg("stream=width,height,avg_frame_rate,duration:format=duration")
            .args(["-of", "json"])
            .arg(path),
        budget,
        |stdout| tool::read_capped(stdout, 1024 * 1024),
    )?;
    if !out.status.success() {
        return Err(EngineError::unreadable(
            MediaWord::Video,
            first_line(&out.stderr),
        ));
    }
    let stdout = out.output?;
    let probe: Probe = serde_json::from_slice(&stdout)
        .map_err(|e| EngineError::unreadable(MediaWord::Video, e))?;
    let stream = probe
        .streams
        .into_iter()
        .next()
        .ok_or_else(|| EngineError::unreadable(MediaWord::Video, "no video stream"))?;
    let parse = |s: Option<String>| {
        s.and_then(|v| v.parse::<f32>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    let fps = stream.avg_frame_rate.and_then(|r| {
        let (n, d) = r.split_once('/')?;
        let (n, d) = (n.parse::<f32>().ok()?, d.parse::<f32>().ok()?);
        (d > 0.0 && n > 0.0).then_some(n / d)
    });
    let duration = parse(stream.duration).or_else(|| parse(probe.format.and_then(|f| f.duration)));
    Ok(VideoInfo {
        width: stream.width.unwrap_or(0),
        height: stream.height.unwrap_or(0),
        duration,
        fps,
    })
}

fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("decoder error");
    // ffmpeg prefixes messages with the file's path: ours (`faceproof-video-…`) or the server's
    // spooled upload (`faceproof-upload-…`); that path means nothing to a caller.
    match line.split_once(": ") {
        Some((prefix, rest))
            if prefix.contains("faceproof-video-") || prefix.contains("faceproof-upload-") =>
        {
            rest.to_string()
        }
        _ => line.to_string(),
    }
}

/// Refuse a probed video over the limits (frame area, duration) before anything is decoded.
pub(crate) fn check_probe(info: &VideoInfo, limits: &Limits) -> Result<()> {
    if info.width == 0 || info.height == 0 {
        return Err(EngineError::unreadable(
            MediaWord::Video,
            "the video stream has no frame size",
        ));
    }
    if let Some(d) = info.duration {
        if d > limits.max_video_seconds {
            return Err(EngineError::TooLarge(format!(
                "video of {d:.1} s; the limit is {:.0} s",
                limits.max_video_seconds
            )));
        }
    }
    let area = info.width as u64 * info.height as u64;
    if area > limits.max_video_pixels.min(limits.max_pixels) {
        return Err(EngineError::TooLarge(format!(
            "video frames of {}×{} pixels; the limit is {} pixels (e.g. 3840×2160)",
            info.width,
            info.height,
            limits.max_video_pixels.min(limits.max_pixels)
        )));
    }
    Ok(())
}

/// The `scale` filter bringing a frame's longer side down to `side` (never up).
fn scale_filter(side: u32) -> String {
    format!("scale='if(gte(iw,ih),min(iw,{side}),-2)':'if(gte(iw,ih),-2,min(ih,{side}))'")
}

/// ffmpeg reading `path` with one decoding thread pool of at most two threads, no audio,
/// subtitles or data, writing PPM frames to stdout.
fn ffmpeg_frames(path: &std::path::Path, filter: &str, frames: usize, seconds: f32) -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-threads", "2", "-i"])
        .arg(path)
        .args([
            "-an",
            "-sn",
            "-dn",
            "-t",
            &format!("{seconds:.3}"),
            "-vf",
            filter,
        ])
        .args(["-frames:v", &frames.to_string()])
        .args(["-f", "image2pipe", "-vcodec", "ppm", "-"]);
    cmd
}

/// Decode a video into frames sampled evenly over its length (see [`Limits`]).
pub fn decode_video(bytes: &[u8], limits: &Limits) -> Result<(Vec<Frame>, VideoInfo)> {
    let file = spill(bytes, limits)?;
    let info = probe(file.path(), limits.tool_budget())?;
    check_probe(&info, limits)?;
    let max_frames = limits.max_frames.max(1);
    let mut fps = limits.frames_per_second.max(0.1);
    if let Some(d) = info.duration {
        fps = fps.min(max_frames as f32 / d.max(0.1));
    }
    let side = limits.max_frame_side;
    let filter = format!("fps={fps:.4},{}", scale_filter(side));
    let images = run_frames(
        &mut ffmpeg_frames(file.path(), &filter, max_frames, limits.max_video_seconds),
        limits,
        max_frames,
    )?;
    let frames = images
        .into_iter()
        .enumerate()
        .map(|(i, image)| Frame {
            image,
            timestamp: i as f32 / fps,
            rest: false,
        })
        .collect();
    Ok((frames, info))
}

/// The first frame of a video already probed, at most `side` on its longer side (upload
/// validation and thumbnails: one frame decoded, not the stream).
pub(crate) fn first_frame(path: &std::path::Path, side: u32, limits: &Limits) -> Result<RgbImage> {
    let mut cmd = ffmpeg_frames(path, &scale_filter(side), 1, limits.max_video_seconds);
    let mut images = run_frames(&mut cmd, limits, 1)?;
    Ok(images.remove(0))
}

/// Run ffmpeg under the budget and parse its PPM frames as they arrive; no frame at all is an
/// unreadable video (with ffmpeg's own reason when it failed).
fn run_frames(cmd: &mut Command, limits: &Limits, max_frames: usize) -> Result<Vec<RgbImage>> {
    let side = limits.max_frame_side.max(1) as u64;
    let max_frame_bytes = side * side * 3;
    let done = tool::run("ffmpeg", cmd, limits.tool_budget(), |stdout| {
        let mut reader = BufReader::new(stdout);
        let parsed = read_ppm_stream(&mut reader, max_frames, max_frame_bytes);
        // Drain whatever follows, so ffmpeg ends normally.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        parsed
    })?;
    let images = done.output?;
    if images.is_empty() {
        let reason = if done.status.success() {
            "no frames could be decoded".to_string()
        } else {
            first_line(&done.stderr)
        };
        return Err(EngineError::unreadable(MediaWord::Video, reason));
    }
    Ok(images)
}

/// Read concatenated binary PPM (P6, maxval 255) images from a stream, at most `max_frames` of
/// at most `max_frame_bytes` each; a truncated trailing frame is dropped, not an error.
fn read_ppm_stream(
    reader: &mut impl BufRead,
    max_frames: usize,
    max_frame_bytes: u64,
) -> Result<Vec<RgbImage>> {
    let bad = || EngineError::unreadable(MediaWord::Video, "unexpected frame stream from ffmpeg");
    let mut images = Vec::new();
    while images.len() < max_frames {
        let mut fields: Vec<String> = Vec::with_capacity(4);
        while fields.len() < 4 {
            let mut token = Vec::new();
            loop {
                let Some(&b) = reader.fill_buf()?.first() else {
                    // A truncated trailing frame (ffmpeg stopped mid-write) is dropped.
                    return Ok(images);
                };
                reader.consume(1);
                if b.is_ascii_whitespace() {
                    if token.is_empty() {
                        continue;
                    }
                    break;
                }
                if token.len() >= 16 {
                    return Err(bad());
                }
                token.push(b);
            }
            fields.push(String::from_utf8_lossy(&token).into_owned());
        }
        // The single whitespace byte after maxval was consumed with the token.
        if fields[0] != "P6" || fields[3] != "255" {
            return Err(bad());
        }
        let w: u32 = fields[1].parse().map_err(|_| bad())?;
        let h: u32 = fields[2].parse().map_err(|_| bad())?;
        let len = w as u64 * h as u64 * 3;
        if len == 0 || len > max_frame_bytes {
            return Err(bad());
        }
        let mut data = vec![0u8; len as usize];
        if reader.read_exact(&mut data).is_err() {
            return Ok(images);
        }
        images.push(RgbImage::from_raw(w, h, data).ok_or_else(bad)?);
    }
    Ok(images)
}

/// Frames per second of the MP4 made from a shots set (a capture SDK's frames are a few per
/// second of the person's movement).
pub const SHOTS_SET_FPS: u32 = 5;

/// A playable MP4 (H.264, yuv420p, `+faststart`) of a shots set's frames in order, at
/// [`SHOTS_SET_FPS`], each frame scaled to the first frame's size (even sides, as H.264 needs).
/// ffmpeg runs under [`Limits::tool_timeout`]; the frames pass through a temporary directory
/// deleted when this returns.
pub fn shots_set_mp4(bytes: &[u8], limits: &Limits) -> Result<Vec<u8>> {
    let frames = super::decode_shots_set(bytes, limits)?;
    let first = &frames
        .first()
        .ok_or_else(|| EngineError::unreadable(MediaWord::Archive, "no frames"))?
        .image;
    let (w, h) = (
        (first.width() / 2 * 2).max(2),
        (first.height() / 2 * 2).max(2),
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix("faceproof-frames-");
    let dir = match &limits.temp_dir {
        Some(d) => builder.tempdir_in(d)?,
        None => builder.tempdir()?,
    };
    for (i, f) in frames.iter().enumerate() {
        let img = if (f.image.width(), f.image.height()) == (w, h) {
            f.image.clone()
        } else {
            image::imageops::resize(&f.image, w, h, image::imageops::FilterType::Triangle)
        };
        let jpeg = super::encode_jpeg(&img, 90)?;
        std::fs::write(dir.path().join(format!("{i:05}.jpg")), jpeg)?;
    }
    let out = dir.path().join("frames.mp4");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-threads", "2", "-framerate"])
        .arg(SHOTS_SET_FPS.to_string())
        .args(["-i"])
        .arg(dir.path().join("%05d.jpg"))
        .args([
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            "-an",
            "-y",
        ])
        .arg(&out);
    let done = tool::run("ffmpeg", &mut cmd, limits.tool_budget(), |stdout| {
        let _ = std::io::copy(&mut BufReader::new(stdout), &mut std::io::sink());
    })?;
    if !done.status.success() {
        return Err(EngineError::Tool(format!(
            "ffmpeg could not make the frames' video: {}",
            first_line(&done.stderr)
        )));
    }
    Ok(std::fs::read(&out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_concatenated_ppm_frames_and_drops_a_truncated_tail() {
        let mut stream = Vec::new();
        for v in [10u8, 20] {
            stream.extend_from_slice(b"P6\n2 1\n255\n");
            stream.extend_from_slice(&[v; 6]);
        }
        stream.extend_from_slice(b"P6\n2 1\n255\n\x01\x02");
        let frames = read_ppm_stream(&mut &stream[..], 10, 1 << 20).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].get_pixel(1, 0).0, [20, 20, 20]);
    }
}
