//! Still images: decode with limits and EXIF orientation; encode JPEG for best shots.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

use super::{fit_within, Limits};
use crate::error::{EngineError, MediaWord, Result};

/// Decode a still image to 8-bit RGB, upright (EXIF orientation applied), refusing images whose
/// header announces more pixels than `limits` allow before any pixel memory is allocated.
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<RgbImage> {
    if bytes.starts_with(&[0xFF, 0xD8]) && !jpeg_is_complete(bytes) {
        // The JPEG decoder pads a cut-off scan with grey rather than failing; a half-grey selfie
        // must be refused, not analysed.
        return Err(EngineError::unreadable(
            MediaWord::Image,
            "the JPEG is truncated (no end-of-image marker)",
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| EngineError::unreadable(MediaWord::Image, e))?;
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_dimension);
    image_limits.max_image_height = Some(limits.max_dimension);
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let (w, h) = decoder.dimensions();
    if w as u64 * h as u64 > limits.max_pixels {
        return Err(EngineError::TooLarge(format!(
            "{w}×{h} pixels; the limit is {} pixels",
            limits.max_pixels
        )));
    }
    // A missing or malformed EXIF block is not a reason to refuse a photo.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    img.apply_orientation(orientation);
    Ok(fit_within(img.to_rgb8(), limits.max_dimension))
}

/// A complete JPEG has an end-of-image marker after its last start-of-scan. Scan data cannot
/// contain `FF D9` (0xFF bytes are stuffed), so this holds even with embedded thumbnails.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last = |marker: u8| {
        bytes
            .windows(2)
            .rposition(|w| w[0] == 0xFF && w[1] == marker)
    };
    match (last(0xDA), last(0xD9)) {
        (Some(sos), Some(eoi)) => eoi > sos,
        _ => false,
    }
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
    fn too_many_pixels_is_too_large() {
        let limits = Limits {
            max_pixels: 100,
            ..Limits::default()
        };
        let err = decode_image(&jpeg_of(40, 30), &limits).unwrap_err();
        assert!(matches!(err, EngineError::TooLarge(_)), "{err:?}");
    }
}
