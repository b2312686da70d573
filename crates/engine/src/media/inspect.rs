//! Upload validation: what a file is, its size, and a small preview, at a fraction of the cost
//! of [`super::decode`]. A still is decoded (bounded, see [`super::decode_still`]); every frame of
//! a shots set is decoded and checked, one at a time, only the first kept; a video is probed
//! (ffprobe reads the headers: no stream decode) and its first frame alone is decoded, small.

use image::RgbImage;

use super::{archive, decode_still, sniff, video, Format, Limits, MediaKind};
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
    /// The first frame (a still and a shots set's at most `max_image_side`, a video's at most
    /// 640 pixels on its longer side), for thumbnails.
    pub preview: RgbImage,
}

impl Inspected {
    pub fn kind(&self) -> MediaKind {
        self.format.kind()
    }
}

/// Validate a file against `limits` without decoding more than it must (see the module doc).
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<Inspected> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(EngineError::TooLarge(format!(
            "{} bytes; the limit is {} bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
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
                preview: still.image,
            })
        }
        MediaKind::ShotsSet => {
            let mut first = None;
            let frames = archive::visit(bytes, limits, false, |_, still| {
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
                preview: first.image,
            })
        }
        MediaKind::Video => {
            let file = video::spill(bytes, limits)?;
            let info = video::probe(file.path(), limits.tool_timeout)?;
            video::check_probe(&info, limits)?;
            let preview = video::first_frame(file.path(), PREVIEW_SIDE, limits)?;
            Ok(Inspected {
                format,
                width: info.width,
                height: info.height,
                duration: info.duration,
                frames: 0,
                preview,
            })
        }
    }
}
