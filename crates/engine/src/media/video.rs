//! Videos through ffmpeg (the Debian package): probe, then sample frames as a PPM stream.
//!
//! ffmpeg is a separate process, so a malformed video cannot crash the server; its rotation
//! metadata is applied by ffmpeg itself (autorotate), and frames arrive already downscaled.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use image::RgbImage;
use serde::Deserialize;

use super::{Frame, Limits};
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

fn tool_missing(tool: &str, e: std::io::Error) -> EngineError {
    EngineError::Tool(format!(
        "cannot run {tool} ({e}); install the Debian package ffmpeg"
    ))
}

/// Write the bytes where ffmpeg can seek in them (MP4s often keep their index at the end).
fn spill(bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix("faceproof-video-")
        .tempfile()?;
    file.write_all(bytes)?;
    file.flush()?;
    Ok(file)
}

/// Probe a video file already on disk.
pub fn probe_video(path: &std::path::Path) -> Result<VideoInfo> {
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
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .arg("stream=width,height,avg_frame_rate,duration:format=duration")
        .args(["-of", "json"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| tool_missing("ffprobe", e))?;
    if !out.status.success() {
        return Err(EngineError::unreadable(
            MediaWord::Video,
            first_line(&out.stderr),
        ));
    }
    let probe: Probe = serde_json::from_slice(&out.stdout)
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
    // ffmpeg prefixes messages with the temporary file's path; that path means nothing to a caller.
    match line.split_once(": ") {
        Some((prefix, rest)) if prefix.contains("faceproof-video-") => rest.to_string(),
        _ => line.to_string(),
    }
}

/// Decode a video into frames sampled evenly over its length (see [`Limits`]).
pub fn decode_video(bytes: &[u8], limits: &Limits) -> Result<(Vec<Frame>, VideoInfo)> {
    let file = spill(bytes)?;
    let info = probe_video(file.path())?;
    if let Some(d) = info.duration {
        if d > limits.max_video_seconds {
            return Err(EngineError::TooLarge(format!(
                "video of {d:.1} s; the limit is {:.0} s",
                limits.max_video_seconds
            )));
        }
    }
    if info.width as u64 * info.height as u64 > limits.max_pixels {
        return Err(EngineError::TooLarge(format!(
            "video frames of {}×{} pixels",
            info.width, info.height
        )));
    }
    let max_frames = limits.max_frames.max(1);
    let mut fps = limits.frames_per_second.max(0.1);
    if let Some(d) = info.duration {
        fps = fps.min(max_frames as f32 / d.max(0.1));
    }
    let side = limits.max_frame_side;
    let filter = format!(
        "fps={fps:.4},scale='if(gte(iw,ih),min(iw,{side}),-2)':'if(gte(iw,ih),-2,min(ih,{side}))'"
    );
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file.path())
        .args([
            "-an",
            "-sn",
            "-dn",
            "-vf",
            &filter,
            "-frames:v",
            &max_frames.to_string(),
        ])
        .args(["-f", "image2pipe", "-vcodec", "ppm", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| tool_missing("ffmpeg", e))?;
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_end(&mut stdout)?;
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_end(&mut stderr)?;
    let status = child.wait()?;
    let images = parse_ppm_stream(&stdout)?;
    if images.is_empty() {
        let reason = if status.success() {
            "no frames could be decoded".to_string()
        } else {
            first_line(&stderr)
        };
        return Err(EngineError::unreadable(MediaWord::Video, reason));
    }
    let frames = images
        .into_iter()
        .enumerate()
        .map(|(i, image)| Frame {
            image,
            timestamp: i as f32 / fps,
        })
        .collect();
    Ok((frames, info))
}

/// Split a concatenation of binary PPM (P6, maxval 255) images.
fn parse_ppm_stream(mut data: &[u8]) -> Result<Vec<RgbImage>> {
    let mut images = Vec::new();
    while !data.is_empty() {
        let mut fields = Vec::with_capacity(4);
        let mut pos = 0;
        while fields.len() < 4 {
            while pos < data.len() && data[pos].is_ascii_whitespace() {
                pos += 1;
            }
            let start = pos;
            while pos < data.len() && !data[pos].is_ascii_whitespace() {
                pos += 1;
            }
            if start == pos {
                // A truncated trailing frame (ffmpeg stopped mid-write) is dropped, not an error.
                return Ok(images);
            }
            fields.push(
                std::str::from_utf8(&data[start..pos])
                    .unwrap_or("")
                    .to_string(),
            );
        }
        pos += 1; // the single whitespace byte after maxval
        let bad =
            || EngineError::unreadable(MediaWord::Video, "unexpected frame stream from ffmpeg");
        if fields[0] != "P6" || fields[3] != "255" {
            return Err(bad());
        }
        let w: u32 = fields[1].parse().map_err(|_| bad())?;
        let h: u32 = fields[2].parse().map_err(|_| bad())?;
        let len = (w * h * 3) as usize;
        if data.len() < pos + len {
            return Ok(images);
        }
        images.push(RgbImage::from_raw(w, h, data[pos..pos + len].to_vec()).ok_or_else(bad)?);
        data = &data[pos + len..];
    }
    Ok(images)
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
        let frames = parse_ppm_stream(&stream).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].get_pixel(1, 0).0, [20, 20, 20]);
    }
}
