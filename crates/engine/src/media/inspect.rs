//! Upload validation: what a file is, its size, and a small preview, at a fraction of the cost
//! of [`super::decode`]. A still is decoded (bounded, see [`super::decode_still`]); every frame of
//! a shots set is decoded and checked, one at a time, only the first kept; a video is probed
//! (ffprobe reads the headers: no stream decode) and its first frame alone is decoded, small.
//! [`inspect_file`] does the same for a file already on disk (a large upload spooled by the
//! server): a video there is probed where it lies, never read into memory.

use std::io::Read;
use std::path::Path;

use image::RgbImage;

use super::{
    archive, decode_still, sniff, video, Decoded, Format, Frame, Limits, MediaKind, SNIFF_BYTES,
};
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
    inspect_with(bytes, limits, false).map(|(i, _)| i)
}

/// [`inspect`], and when an analysis is about to read the file in this process, what
/// [`super::decode`] would give it, from the same decode: a still's pixels are the check's own;
/// a video is probed once and its frames sampled instead of its first frame alone (the first
/// sampled frame is the preview). A shots set gives `None` (its frames are scaled together only
/// once all are known: [`super::decode`] reads it again).
pub fn inspect_and_decode(bytes: &[u8], limits: &Limits) -> Result<(Inspected, Option<Decoded>)> {
    inspect_with(bytes, limits, true)
}

/// [`inspect_and_decode`] for a file on disk (see [`inspect_file`]).
pub fn inspect_file_and_decode(
    path: &Path,
    limits: &Limits,
) -> Result<(Inspected, Option<Decoded>)> {
    inspect_file_with(path, limits, true)
}

fn still_decoded(format: Format, image: &RgbImage) -> Decoded {
    Decoded {
        format,
        frames: vec![Frame {
            image: image.clone(),
            timestamp: 0.0,
            rest: false,
        }],
        duration: None,
    }
}

fn inspect_with(
    bytes: &[u8],
    limits: &Limits,
    decode: bool,
) -> Result<(Inspected, Option<Decoded>)> {
    check_size(bytes.len() as u64, limits)?;
    let format = sniff(bytes).ok_or_else(super::unsupported)?;
    match format.kind() {
        MediaKind::Image => {
            let still = decode_still(bytes, limits, None)?;
            let decoded = decode.then(|| still_decoded(format, &still.image));
            Ok((
                Inspected {
                    format,
                    width: still.width,
                    height: still.height,
                    duration: None,
                    frames: 1,
                    rest_frames: 0,
                    preview: still.image,
                },
                decoded,
            ))
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
            Ok((
                Inspected {
                    format,
                    width: first.width,
                    height: first.height,
                    duration: None,
                    frames,
                    rest_frames,
                    preview: first.image,
                },
                None,
            ))
        }
        MediaKind::Video => {
            let file = video::spill(bytes, limits)?;
            inspect_video(format, file.path(), limits, decode)
        }
    }
}

/// [`inspect`] for a file on disk: a video is probed in place (ffmpeg seeks in the file, nothing
/// of it is read here but its first bytes); a still or a shots set is read whole, as its decoder
/// needs it all anyway (both are bounded by `max_bytes` and the decode limits).
pub fn inspect_file(path: &Path, limits: &Limits) -> Result<Inspected> {
    inspect_file_with(path, limits, false).map(|(i, _)| i)
}

fn inspect_file_with(
    path: &Path,
    limits: &Limits,
    decode: bool,
) -> Result<(Inspected, Option<Decoded>)> {
    let mut file = std::fs::File::open(path)?;
    check_size(file.metadata()?.len(), limits)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    let format = sniff(&head).ok_or_else(super::unsupported)?;
    match format.kind() {
        MediaKind::Video => inspect_video(format, path, limits, decode),
        MediaKind::Image | MediaKind::ShotsSet => {
            drop(file);
            inspect_with(&std::fs::read(path)?, limits, decode)
        }
    }
}

fn inspect_video(
    format: Format,
    path: &Path,
    limits: &Limits,
    decode: bool,
) -> Result<(Inspected, Option<Decoded>)> {
    let info = video::probe(path, limits.tool_budget())?;
    video::check_probe(&info, limits)?;
    let (preview, decoded) = if decode {
        let frames = video::decode_probed(path, &info, limits)?;
        let preview = frames[0].image.clone();
        let decoded = Decoded {
            format,
            frames,
            duration: info.duration,
        };
        (preview, Some(decoded))
    } else {
        (video::first_frame(path, PREVIEW_SIDE, limits)?, None)
    };
    Ok((
        Inspected {
            format,
            width: info.width,
            height: info.height,
            duration: info.duration,
            frames: 0,
            rest_frames: 0,
            preview,
        },
        decoded,
    ))
}
