//! Image quality of one face in one frame: sharpness, exposure, size, pose and eye state,
//! combined into a single `score` in [0, 1] that ranks frames for the best shot.

use image::RgbImage;
use serde::Serialize;

use crate::face::{BoundingBox, Eyes, Pose};
use crate::imageops;

#[derive(Debug, Clone, Serialize)]
pub struct Quality {
    /// Variance of the Laplacian of the aligned 112×112 grey face (higher is sharper).
    pub sharpness: f32,
    /// Mean grey level of the aligned face, 0 (black) to 1 (white).
    pub brightness: f32,
    /// Standard deviation of the grey level of the aligned face, 0 to 0.5.
    pub contrast: f32,
    /// Side of the face box in frame pixels.
    pub face_size: f32,
    /// Combined score in [0, 1]: the product of the sub-scores below.
    pub score: f32,
    pub sharpness_score: f32,
    pub exposure_score: f32,
    pub size_score: f32,
    pub pose_score: f32,
}

/// Faces at least this many pixels high are big enough for every model (the embedder's input).
const FULL_SIZE: f32 = 112.0;
/// Laplacian variance at which the sharpness score reaches 0.5.
const SHARPNESS_HALF: f32 = 60.0;

pub fn assess(
    aligned: &RgbImage,
    bbox: &BoundingBox,
    pose: Option<&Pose>,
    eyes: Option<&Eyes>,
) -> Quality {
    let grey = imageops::to_grey(aligned);
    let n = grey.len() as f32;
    let mean = grey.pixels().map(|p| p.0[0] as f32).sum::<f32>() / n;
    let var = grey
        .pixels()
        .map(|p| (p.0[0] as f32 - mean).powi(2))
        .sum::<f32>()
        / n;
    let brightness = mean / 255.0;
    let contrast = var.sqrt() / 255.0;
    let sharpness = imageops::laplacian_variance(&grey);
    let face_size = bbox.height().min(bbox.width());

    let sharpness_score = sharpness / (sharpness + SHARPNESS_HALF);
    let exposure_score =
        ((1.0 - ((brightness - 0.5) / 0.5).powi(2)) * (contrast / 0.12).min(1.0)).clamp(0.0, 1.0);
    let size_score = (face_size / FULL_SIZE).clamp(0.0, 1.0);
    let mut pose_score = pose
        .map(|p| {
            (p.yaw.to_radians().cos().max(0.0) * (p.pitch + 10.0).to_radians().cos().max(0.0))
                .powi(2)
        })
        .unwrap_or(1.0);
    if eyes.is_some_and(|e| e.both_closed()) {
        pose_score *= 0.5;
    }
    let score = sharpness_score * exposure_score * size_score * pose_score;
    Quality {
        sharpness,
        brightness,
        contrast,
        face_size,
        score,
        sharpness_score,
        exposure_score,
        size_score,
        pose_score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_and_darkness_lower_the_score() {
        let sharp = RgbImage::from_fn(112, 112, |x, y| {
            let v = if (x / 4 + y / 4) % 2 == 0 { 60 } else { 200 };
            image::Rgb([v, v, v])
        });
        let blurred = image::imageops::blur(&sharp, 3.0);
        let dark = RgbImage::from_fn(112, 112, |x, _| image::Rgb([(x % 8) as u8, 0, 0]));
        let b = BoundingBox {
            x1: 0.0,
            y1: 0.0,
            x2: 150.0,
            y2: 150.0,
        };
        let qs = assess(&sharp, &b, None, None).score;
        assert!(qs > assess(&blurred, &b, None, None).score);
        assert!(qs > assess(&dark, &b, None, None).score);
    }
}
