//! Media decoding: bytes → frames, with limits.
//!
//! The kind of a file is decided from its content ([`sniff`]), never from its name. Images are
//! decoded with the `image` crate (EXIF orientation applied; grey, CMYK and 16-bit converted to
//! 8-bit RGB); videos with ffmpeg (a Debian package) sampling a few frames a second; ZIP archives
//! are read as ordered sets of still frames ("shots sets"). [`inspect`] validates an upload
//! cheaply (a video is probed, not decoded); [`decode`] yields the frames an analysis needs.
//! Every decode is bounded in memory and time: see [`Limits`].

mod archive;
mod inspect;
mod still;
mod tool;
mod video;

pub use archive::{decode_shots_set, shots_set_frame};
pub use inspect::{inspect, inspect_and_decode, inspect_file, inspect_file_and_decode, Inspected};
pub use still::{check_complete, decode_image, decode_still, encode_jpeg, still_dimensions, Still};
pub use video::{
    decode_video, ffmpeg_available, probe_video, shots_set_mp4, VideoInfo, SHOTS_SET_FPS,
};

use image::RgbImage;
use serde::Serialize;

use crate::error::{EngineError, Result};

/// What a file is, decided from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaKind {
    Image,
    Video,
    ShotsSet,
}

/// The container or codec family recognised by [`sniff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Bmp,
    Tiff,
    Mp4,
    Quicktime,
    Matroska,
    Avi,
    Zip,
}

impl Format {
    pub fn kind(self) -> MediaKind {
        match self {
            Format::Jpeg | Format::Png | Format::Webp | Format::Bmp | Format::Tiff => {
                MediaKind::Image
            }
            Format::Mp4 | Format::Quicktime | Format::Matroska | Format::Avi => MediaKind::Video,
            Format::Zip => MediaKind::ShotsSet,
        }
    }

    /// The MIME type a server would answer with.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Bmp => "image/bmp",
            Format::Tiff => "image/tiff",
            Format::Mp4 => "video/mp4",
            Format::Quicktime => "video/quicktime",
            Format::Matroska => "video/webm",
            Format::Avi => "video/x-msvideo",
            Format::Zip => "application/zip",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Bmp => "bmp",
            Format::Tiff => "tiff",
            Format::Mp4 => "mp4",
            Format::Quicktime => "mov",
            Format::Matroska => "webm",
            Format::Avi => "avi",
            Format::Zip => "zip",
        }
    }
}

/// How many first bytes of a file [`sniff`] needs at most (callers holding only a file's start).
pub const SNIFF_BYTES: usize = 64;

/// Recognise a file's format from its content (its first [`SNIFF_BYTES`] bytes). `None`: nothing
/// the engine reads.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let starts = |magic: &[u8]| bytes.len() >= magic.len() && &bytes[..magic.len()] == magic;
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Some(Format::Jpeg);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" {
        return match &bytes[8..12] {
            b"WEBP" => Some(Format::Webp),
            b"AVI " => Some(Format::Avi),
            _ => None,
        };
    }
    if starts(b"BM") && bytes.len() >= 26 {
        return Some(Format::Bmp);
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Some(Format::Tiff);
    }
    if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(Format::Matroska);
    }
    if starts(b"PK\x03\x04") {
        return Some(Format::Zip);
    }
    if bytes.len() >= 12 {
        match &bytes[4..8] {
            b"ftyp" => {
                return Some(if &bytes[8..10] == b"qt" {
                    Format::Quicktime
                } else {
                    Format::Mp4
                });
            }
            b"moov" | b"mdat" | b"wide" | b"free" | b"skip" => return Some(Format::Quicktime),
            _ => {}
        }
    }
    None
}

/// Limits applied while decoding, so a hostile file cannot exhaust memory or time.
///
/// # Memory of one decode
///
/// - **still**: the decoder's memory (`max_decode_bytes`, checked from the header before it is
///   allocated: the output buffer, and for WebP the frame image-webp decodes into first, 4 B/px)
///   plus the image kept, box-downscaled to `max_image_side` (≤ 4096² × 3 B = 50 MB)
///   before the 8-bit RGB conversion: ≤ 150 + 50 = 200 MB with the defaults;
/// - **shots set**: the archive's entries are decoded one at a time (each a still as above) and
///   the frames kept are scaled so that together they hold at most `max_frames_pixels` pixels
///   (44.2 M px × 3 B = 133 MB): ≤ 200 + 133 MB;
/// - **video**: ffmpeg runs in its own process (bounded resolution and frame rate); the server
///   keeps at most `max_frames` frames of at most `max_frame_side` (48 × 1280 × 720 × 3 B =
///   133 MB), parsed from ffmpeg's output as it streams.
///
/// Every ffmpeg and ffprobe run has a wall-clock budget (`tool_timeout`): the child is killed
/// when it is exceeded and the media refused with [`EngineError::TooLarge`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Largest accepted image side, in pixels (as the header announces it).
    pub max_dimension: u32,
    /// Largest accepted image area, in pixels.
    pub max_pixels: u64,
    /// Largest decoder buffer for one still: pixels × bytes per pixel of the file's own colour
    /// type (3 for 8-bit RGB, 8 for 16-bit RGBA), checked from the header before decoding.
    pub max_decode_bytes: u64,
    /// Stills are box-downscaled so that their longer side is at most this, before conversion
    /// (detection runs at 320×240 and faces are aligned to 112×112; 4096 leaves every real
    /// selfie and ID photo untouched).
    pub max_image_side: u32,
    /// Most frames sampled from one video.
    pub max_frames: usize,
    /// Most frames in one shots set (ZIP archive of stills); more is refused.
    pub max_shots: usize,
    /// Largest total of uncompressed bytes read from one shots set.
    pub max_unpacked_bytes: u64,
    /// Most pixels of all the frames of one shots set together, as their headers announce them:
    /// checked for every frame before any is decoded, so decoding cost is bounded before it is
    /// spent (100 frames of 1280×720 by default).
    pub max_shots_pixels: u64,
    /// Most pixels kept for the frames of one shots set together: frames are scaled down so that
    /// `n × pixels ≤ max_frames_pixels` (100 frames: 442 k pixels each, e.g. 768×576).
    pub max_frames_pixels: u64,
    /// Frames sampled per second of video (fewer when the video is long).
    pub frames_per_second: f32,
    /// Longest accepted video, in seconds.
    pub max_video_seconds: f32,
    /// Largest accepted video frame area, in pixels (3840×2160 by default).
    pub max_video_pixels: u64,
    /// Frames are downscaled so their longer side is at most this (detection runs at 320×240).
    pub max_frame_side: u32,
    /// Wall-clock budget of every ffmpeg or ffprobe run.
    pub tool_timeout: std::time::Duration,
    /// When the work must be over (an upload's decode budget): checked before every frame is
    /// decoded, and the work refused with [`EngineError::TooLarge`] once it has passed.
    pub deadline: Option<std::time::Instant>,
    /// Set by the caller when the result is no longer wanted (the client hung up): checked as
    /// `deadline` is, and the work ends with [`EngineError::Cancelled`].
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Where videos are written for ffmpeg to read (`None`: the system's temporary directory).
    /// The file is removed when the decode ends, whatever the outcome.
    pub temp_dir: Option<std::path::PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_dimension: 12_000,
            max_pixels: 50_000_000,
            max_decode_bytes: 150_000_000,
            max_image_side: 4096,
            max_frames: 48,
            max_shots: 100,
            max_unpacked_bytes: 128 * 1024 * 1024,
            max_shots_pixels: 100 * 1280 * 720,
            max_frames_pixels: 48 * 1280 * 720,
            frames_per_second: 5.0,
            max_video_seconds: 120.0,
            max_video_pixels: 3840 * 2160,
            max_frame_side: 1280,
            tool_timeout: std::time::Duration::from_secs(60),
            deadline: None,
            cancel: None,
            temp_dir: None,
        }
    }
}

impl Limits {
    /// Whether the work may go on: not cancelled ([`Limits::cancel`]) and within its budget
    /// ([`Limits::deadline`]). Called between frames; one frame's decode is bounded by the
    /// still limits.
    pub fn check_budget(&self) -> Result<()> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Err(EngineError::Cancelled);
        }
        if self
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            return Err(EngineError::TooLarge(
                "decoding took longer than the upload's time budget".into(),
            ));
        }
        Ok(())
    }

    /// The wall-clock budget of one ffmpeg or ffprobe run: `tool_timeout`, cut to what is left
    /// before `deadline`.
    pub fn tool_budget(&self) -> std::time::Duration {
        match self.deadline {
            Some(d) => self
                .tool_timeout
                .min(d.saturating_duration_since(std::time::Instant::now()))
                .max(std::time::Duration::from_millis(1)),
            None => self.tool_timeout,
        }
    }
}

/// One decoded still: the pixels and, for video, when it was shown.
#[derive(Debug, Clone)]
pub struct Frame {
    pub image: RgbImage,
    /// Seconds from the start of the video; 0 for photos; the archive position for shots sets.
    pub timestamp: f32,
    /// A rest frame: the person looking straight at the camera before a movement is asked (a
    /// shots set's `…_rest` entries, which the web plugin records at the end of its countdown).
    /// Passive liveness counts on them; a movement is measured from them.
    pub rest: bool,
}

/// A decoded media file.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub format: Format,
    pub frames: Vec<Frame>,
    /// Duration in seconds for videos.
    pub duration: Option<f32>,
}

impl Decoded {
    pub fn kind(&self) -> MediaKind {
        self.format.kind()
    }
}

fn unsupported() -> EngineError {
    EngineError::UnsupportedFormat(
        "not a JPEG, PNG, WebP, BMP, TIFF, MP4, MOV, WebM, AVI or ZIP file".into(),
    )
}

/// Decode any supported file: sniff, check the size limit, then decode by kind.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(EngineError::TooLarge(format!(
            "{} bytes; the limit is {} bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let format = sniff(bytes).ok_or_else(unsupported)?;
    match format.kind() {
        MediaKind::Image => {
            let image = decode_image(bytes, limits)?;
            Ok(Decoded {
                format,
                frames: vec![Frame {
                    image,
                    timestamp: 0.0,
                    rest: false,
                }],
                duration: None,
            })
        }
        MediaKind::Video => {
            let (frames, info) = decode_video(bytes, limits)?;
            Ok(Decoded {
                format,
                frames,
                duration: info.duration,
            })
        }
        MediaKind::ShotsSet => {
            let frames = decode_shots_set(bytes, limits)?;
            Ok(Decoded {
                format,
                frames,
                duration: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
        assert_eq!(sniff(b"\0\0\0\x20ftypisom\0\0\0\0"), Some(Format::Mp4));
        assert_eq!(
            sniff(b"\0\0\0\x14ftypqt  \0\0\0\0"),
            Some(Format::Quicktime)
        );
        assert_eq!(
            sniff(&[0x1A, 0x45, 0xDF, 0xA3, 1, 2, 3, 4, 5, 6, 7, 8]),
            Some(Format::Matroska)
        );
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Format::Zip));
        assert_eq!(sniff(b"hello world, not media"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn oversize_is_refused_before_decoding() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            decode(&[0xFF; 11], &limits),
            Err(EngineError::TooLarge(_))
        ));
    }

    #[test]
    fn unknown_bytes_are_unsupported() {
        assert!(matches!(
            decode(b"just some text", &Limits::default()),
            Err(EngineError::UnsupportedFormat(_))
        ));
    }
}
