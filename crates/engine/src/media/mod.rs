//! Media decoding: bytes → frames, with limits.
//!
//! The kind of a file is decided from its content ([`sniff`]), never from its name. Images are
//! decoded with the `image` crate (EXIF orientation applied; grey, CMYK and 16-bit converted to
//! 8-bit RGB); videos with ffmpeg (a Debian package) sampling a few frames a second; ZIP archives
//! are read as ordered sets of still frames ("shots sets").

mod archive;
mod still;
mod video;

pub use archive::decode_shots_set;
pub use still::{check_complete, decode_image, encode_jpeg};
pub use video::{decode_video, ffmpeg_available, probe_video, VideoInfo};

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

/// Recognise a file's format from its content. `None`: nothing the engine reads.
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
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Largest accepted image side, in pixels (after decoding, before any resize).
    pub max_dimension: u32,
    /// Largest accepted image area, in pixels.
    pub max_pixels: u64,
    /// Most frames taken from one video or archive.
    pub max_frames: usize,
    /// Frames sampled per second of video (fewer when the video is long).
    pub frames_per_second: f32,
    /// Longest accepted video, in seconds.
    pub max_video_seconds: f32,
    /// Frames are downscaled so their longer side is at most this (detection runs at 320×240).
    pub max_frame_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_dimension: 12_000,
            max_pixels: 50_000_000,
            max_frames: 48,
            frames_per_second: 5.0,
            max_video_seconds: 120.0,
            max_frame_side: 1280,
        }
    }
}

/// One decoded still: the pixels and, for video, when it was shown.
#[derive(Debug, Clone)]
pub struct Frame {
    pub image: RgbImage,
    /// Seconds from the start of the video; 0 for photos; the archive position for shots sets.
    pub timestamp: f32,
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

/// Decode any supported file: sniff, check the size limit, then decode by kind.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(EngineError::TooLarge(format!(
            "{} bytes; the limit is {} bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let format = sniff(bytes).ok_or_else(|| {
        EngineError::UnsupportedFormat(
            "not a JPEG, PNG, WebP, BMP, TIFF, MP4, MOV, WebM, AVI or ZIP file".into(),
        )
    })?;
    match format.kind() {
        MediaKind::Image => {
            let image = decode_image(bytes, limits)?;
            Ok(Decoded {
                format,
                frames: vec![Frame {
                    image,
                    timestamp: 0.0,
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
