//! Still images: decode with limits and EXIF orientation; encode JPEG for best shots.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

use super::Limits;
use crate::error::{EngineError, MediaWord, Result};

/// Decode a still image to 8-bit RGB, upright (EXIF orientation applied), at most
/// [`Limits::max_image_side`] on its longer side (see [`decode_still`]).
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<RgbImage> {
    decode_still(bytes, limits, None).map(|s| s.image)
}

/// A decoded still and the size it had before any downscaling (upright).
#[derive(Debug, Clone)]
pub struct Still {
    pub image: RgbImage,
    pub width: u32,
    pub height: u32,
}

/// Decode a still with bounded memory:
///
/// 1. only the header is read first: sides over `max_dimension`, area over `max_pixels`, or a
///    decoder buffer (pixels × bytes per pixel of the file's own colour type, 8 for 16-bit RGBA;
///    plus 4 bytes per pixel for WebP, whose decoder holds a frame of its own)
///    over `max_decode_bytes` are refused with [`EngineError::TooLarge`] before any pixel memory
///    is allocated;
/// 2. the pixels are decoded in the file's colour type (one buffer of at most `max_decode_bytes`);
/// 3. when larger than `max_image_side` (or than `max_area` pixels, for the frames of a shots
///    set), the image is box-downscaled in that colour type, and only then converted to 8-bit RGB
///    and rotated upright, so the full-size buffer is never copied.
///
/// The peak is therefore the decoder buffer plus one image of at most `max_image_side`² × 3 bytes.
pub fn decode_still(bytes: &[u8], limits: &Limits, max_area: Option<u64>) -> Result<Still> {
    // The decoders fill the missing part of a cut-off JPEG or PNG rather than failing; a
    // half-grey selfie must be refused, not analysed.
    check_complete(bytes).map_err(|reason| EngineError::unreadable(MediaWord::Image, reason))?;
    limits.check_budget()?;
    let (mut decoder, extra) = open(bytes, limits)?;
    let (w, h) = check_header(&decoder, extra, limits)?;
    // A missing or malformed EXIF block is not a reason to refuse a photo.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    if let Some((nw, nh)) = fit(w, h, limits.max_image_side, max_area) {
        img = img.thumbnail_exact(nw, nh);
    }
    let mut img = DynamicImage::ImageRgb8(img.into_rgb8());
    img.apply_orientation(orientation);
    use image::metadata::Orientation::*;
    let (width, height) = match orientation {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => (h, w),
        _ => (w, h),
    };
    Ok(Still {
        image: img.into_rgb8(),
        width,
        height,
    })
}

/// A decoder over `bytes` with the `image` crate's own limits set (only the header is read), and
/// the bytes per pixel its decode holds besides the output buffer.
fn open<'a>(bytes: &'a [u8], limits: &Limits) -> Result<(impl ImageDecoder + 'a, u64)> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| EngineError::unreadable(MediaWord::Image, e))?;
    let extra = match reader.format() {
        // image-webp decodes a lossless frame into an RGBA buffer of its own before copying it
        // into the output (and a lossy one into Y, U and V planes, 1.5 B/px, plus 1 B/px of
        // alpha): 4 bytes per pixel over the output buffer at most. Measured: a 7000×7000
        // lossless WebP peaked at 327 MB when that was not counted.
        Some(image::ImageFormat::WebP) => 4,
        _ => 0,
    };
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_dimension);
    image_limits.max_image_height = Some(limits.max_dimension);
    image_limits.max_alloc = Some(limits.max_decode_bytes);
    reader.limits(image_limits);
    Ok((reader.into_decoder().map_err(map_image_error)?, extra))
}

/// The header checks of [`decode_still`]'s step 1: area and decoder memory (output buffer plus
/// `extra` bytes per pixel of the decoder's own) within the limits.
fn check_header(decoder: &impl ImageDecoder, extra: u64, limits: &Limits) -> Result<(u32, u32)> {
    let (w, h) = decoder.dimensions();
    if w as u64 * h as u64 > limits.max_pixels {
        return Err(EngineError::TooLarge(format!(
            "{w}×{h} pixels; the limit is {} pixels",
            limits.max_pixels
        )));
    }
    let need = decoder
        .total_bytes()
        .saturating_add(w as u64 * h as u64 * extra);
    if need > limits.max_decode_bytes {
        return Err(EngineError::TooLarge(format!(
            "{w}×{h} pixels of {:?} need {} MB to decode; the limit is {} MB",
            decoder.color_type(),
            need.div_ceil(1_000_000),
            limits.max_decode_bytes / 1_000_000
        )));
    }
    Ok((w, h))
}

/// A still's size as its header announces it (before EXIF rotation), checked against the still
/// limits without decoding a pixel: what a shots set's frames are counted with before any of
/// them is decoded.
pub fn still_dimensions(bytes: &[u8], limits: &Limits) -> Result<(u32, u32)> {
    let (decoder, extra) = open(bytes, limits)?;
    check_header(&decoder, extra, limits)
}

/// The size to box-downscale a `w`×`h` image to so that its longer side is at most `side` and
/// its area at most `max_area`; `None` when it already fits.
pub(crate) fn fit(w: u32, h: u32, side: u32, max_area: Option<u64>) -> Option<(u32, u32)> {
    let side = side.max(1) as f64;
    let mut scale = (side / w.max(1) as f64).min(side / h.max(1) as f64);
    if let Some(area) = max_area {
        scale = scale.min((area.max(1) as f64 / (w as f64 * h as f64).max(1.0)).sqrt());
    }
    if scale >= 1.0 {
        return None;
    }
    let nw = ((w as f64 * scale).floor() as u32).max(1);
    let nh = ((h as f64 * scale).floor() as u32).max(1);
    Some((nw, nh))
}

/// Whether a JPEG or PNG file is whole: a JPEG needs an end-of-image marker after its first
/// start-of-scan (marker segments are walked, so a thumbnail embedded in APP1 does not count),
/// a PNG its `IEND` chunk. Other formats pass.
pub fn check_complete(bytes: &[u8]) -> Result<(), &'static str> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut i = 2;
        loop {
            if i + 4 > bytes.len() {
                return Err("truncated JPEG (headers)");
            }
            if bytes[i] != 0xFF {
                return Err("corrupt JPEG (marker expected)");
            }
            let marker = bytes[i + 1];
            if marker == 0xFF {
                i += 1;
                continue;
            }
            let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
            if marker == 0xDA {
                let scan = &bytes[(i + 2 + len).min(bytes.len())..];
                // Entropy-coded data stuffs 0xFF bytes, so FF D9 there can only be the end marker.
                return if scan.windows(2).any(|w| w == [0xFF, 0xD9]) {
                    Ok(())
                } else {
                    Err("truncated JPEG (no end of image)")
                };
            }
            i += 2 + len;
        }
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        && !bytes.windows(4).rev().take(64).any(|w| w == b"IEND")
    {
        return Err("truncated PNG (no IEND chunk)");
    }
    Ok(())
}

fn map_image_error(e: image::ImageError) -> EngineError {
    match e {
        image::ImageError::Limits(l) => EngineError::TooLarge(l.to_string()),
        image::ImageError::Unsupported(u) => EngineError::UnsupportedFormat(u.to_string()),
        other => EngineError::unreadable(MediaWord::Image, other),
    }
}

/// Encode an image as JPEG at the given quality (1–100).
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.write_with_encoder(encoder)
        .map_err(|e| EngineError::unreadable(MediaWord::Image, e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg_of(w: u32, h: u32) -> Vec<u8> {
        encode_jpeg(&RgbImage::from_pixel(w, h, image::Rgb([120, 80, 40])), 90).unwrap()
    }

    #[test]
    fn decodes_a_jpeg() {
        let img = decode_image(&jpeg_of(40, 30), &Limits::default()).unwrap();
        assert_eq!(img.dimensions(), (40, 30));
    }

    #[test]
    fn truncated_jpeg_is_unreadable() {
        let bytes = jpeg_of(64, 64);
        let err = decode_image(&bytes[..bytes.len() / 3], &Limits::default()).unwrap_err();
        assert!(matches!(err, EngineError::Unreadable { .. }), "{err:?}");
    }

    #[test]
    fn cut_files_are_incomplete_but_thumbnails_do_not_fool_the_check() {
        let jpeg = [
            &[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08][..],
            &[0xFF, 0xD8, 0xFF, 0xD9, 0, 0][..], // an embedded thumbnail in APP1 must not count
            &[0xFF, 0xDA, 0x00, 0x04, 1, 2, 0x12, 0x34, 0xFF, 0x00][..],
        ]
        .concat();
        assert!(check_complete(&jpeg).is_err());
        let complete = [&jpeg[..], &[0xFF, 0xD9][..]].concat();
        assert!(check_complete(&complete).is_ok());
        assert!(check_complete(b"\x89PNG\r\n\x1a\n....IHDR").is_err());
    }

    #[test]
    fn too_many_pixels_is_too_large() {
        let limits = Limits {
            max_pixels: 100,
            ..Limits::default()
        };
        let err = decode_image(&jpeg_of(40, 30), &limits).unwrap_err();
        assert!(matches!(err, EngineError::TooLarge(_)), "{err:?}");
    }
}
