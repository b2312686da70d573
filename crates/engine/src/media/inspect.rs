//! Upload validation: what a file is, its size, and a small preview, at a fraction of the cost
//! of [`super::decode`]. A still is decoded (bounded, see [`super::decode_still`]); every frame of
//! a shots set is decoded and checked, one at a time, only the first kept; a video is probed
//! (ffprobe reads the headers: no stream decode) and its first frame alone is decoded, small.
//! [`inspect_file`] does the same for a file already on disk (a large upload spooled by the
//! server): a video there is probed where it lies, never read into memory.

use std::io::Read;
use std::path::Path;

use image::RgbImage;

use super::{archive, decode_still, sniff, video, Format, Limits, MediaKind, SNIFF_BYTES};
use crate::error::{EngineError, Result};

/// Side of the preview frame of a video.
const PREVIEW_SIDE: u32 = 640;

/// What [`inspect`] found.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub format: Format,
    /// Frame size as stored (a still's before downscaling, upright; a video's stream size).
    pub width: u32,
    pub height: u32,
    /// Seconds, for videos.
    pub duration: Option<f32>,
    /// Frames of a shots set; 1 for a still; 0 for a video (not decoded).
    pub frames: usize,
    /// Of those, the shots set's rest frames (`…_rest` entries, see [`super::Frame::rest`]).
    pub rest_frames: usize,
    /// The first frame (a still and a shots set's at most `max_image_side`, a video's at most
    /// 640 pixels on its longer side), for thumbnails.
    pub preview: RgbImage,
}

impl Inspected {
    pub fn kind(&self) -> MediaKind {
        self.format.kind()
    }
}

fn check_size(len: u64, limits: &Limits) -> Result<()> {
    if len > limits.max_bytes {
        return Err(EngineError::TooLarge(format!(
            "{len} bytes; the limit is {} bytes",
            limits.max_bytes
        )));
    }
    Ok(())
}

/// Validate a file against `limits` without decoding more than it must (see the module doc).
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<Inspected> {
    check_size(bytes.len() as u64, limits)?;
    let format = sniff(bytes).ok_or_else(super::unsupported)?;
    match format.kind() {
        MediaKind::Image => {
            let still = decode_still(bytes, limits, None)?;
            Ok(Inspected {
                format,
                width: still.width,
                height: still.height,
                duration: None,
                frames: 1,
                rest_frames: 0,
                preview: still.image,
            })
        }
        MediaKind::ShotsSet => {
            let (mut first, mut rest_frames) = (None, 0);
            let frames = archive::visit(bytes, limits, false, |_, name, still| {
                rest_frames += usize::from(archive::is_rest_name(name));
                if first.is_none() {
                    first = Some(still);
                }
            })?;
            let first = first.expect("an archive with frames has a first one");
            Ok(Inspected {
                format,
                width: first.width,
                height: first.height,
                duration: None,
                frames,
                rest_frames,
                preview: first.image,
            })
        }
        MediaKind::Video => {
            let file = video::spill(bytes, limits)?;
            inspect_video(format, file.path(), limits)
        }
    }
}

/// [`inspect`] for a file on disk: a video is probed in place (ffmpeg seeks in the file, nothing
/// of it is read here but its first bytes); a still or a shots set is read whole, as its decoder
/// needs it all anyway (both are bounded by `max_bytes` and the decode limits).
pub fn inspect_file(path: &Path, limits: &Limits) -> Result<Inspected> {
    let mut file = std::fs::File::open(path)?;
    check_size(file.metadata()?.len(), limits)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    let format = sniff(&head).ok_or_else(super::unsupported)?;
    match format.kind() {
        MediaKind::Video => inspect_video(format, path, limits),
        MediaKind::Image | MediaKind::ShotsSet => {
            drop(file);
            inspect(&std::fs::read(path)?, limits)
        }
    }
}

fn inspect_video(format: Format, path: &Path, limits: &Limits) -> Result<Inspected> {
    let info = video::probe(path, limits.tool_budget())?;
    video::check_probe(&info, limits)?;
    let preview = video::first_frame(path, PREVIEW_SIDE, limits)?;
    Ok(Inspected {
        format,
        width: info.width,
        height: info.height,
        duration: info.duration,
        frames: 0,
        rest_frames: 0,
        preview,
    })
}
