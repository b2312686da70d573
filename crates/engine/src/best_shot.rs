//! Best shot: among the frames of a video (or the photos given), the face with the highest
//! quality score, returned as a JPEG of the face region or of the whole frame.

use image::RgbImage;

use crate::error::Result;
use crate::face::{scaled_crop, BoundingBox};
use crate::media::encode_jpeg;

/// How much of the frame around the face a best-shot crop keeps (box side × this).
pub const CROP_SCALE: f32 = 2.0;

/// Index of the highest-scoring candidate; `None` when there are none.
pub fn pick(scores: impl IntoIterator<Item = Option<f32>>) -> Option<usize> {
    scores
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The face region (box enlarged [`CROP_SCALE`]× and kept inside the frame) as a JPEG.
pub fn face_crop_jpeg(frame: &RgbImage, bbox: &BoundingBox) -> Result<Vec<u8>> {
    let crop = match scaled_crop(bbox, CROP_SCALE, frame.width(), frame.height()) {
        Some(r) => image::imageops::crop_imm(frame, r.x, r.y, r.width, r.height).to_image(),
        None => frame.clone(),
    };
    encode_jpeg(&crop, 92)
}

/// The whole frame as a JPEG.
pub fn frame_jpeg(frame: &RgbImage) -> Result<Vec<u8>> {
    encode_jpeg(frame, 92)
}

/// A small preview (longer side `side` pixels) as a JPEG, for thumbnails (the server's upload
/// thumbnails too: built here, the box filter and the encoder run optimised in every profile).
pub fn thumbnail_jpeg(frame: &RgbImage, side: u32) -> Result<Vec<u8>> {
    let (w, h) = frame.dimensions();
    let scale = side as f32 / w.max(h) as f32;
    if scale >= 1.0 {
        return encode_jpeg(frame, 85);
    }
    // The SIMD convolution resizer: `image`'s box-filter thumbnail took 4–5 ms for a 640×480
    // selfie, a sixth of the server's CPU per photo analysis.
    let region = crate::imageops::Rect {
        x: 0,
        y: 0,
        width: w,
        height: h,
    };
    let thumb = crate::imageops::resize_region_antialiased(
        frame,
        region,
        ((w as f32 * scale) as u32).max(1),
        ((h as f32 * scale) as u32).max(1),
    );
    encode_jpeg(&thumb, 85)
}
