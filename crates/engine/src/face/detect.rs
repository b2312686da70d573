//! Face detection with the UltraFace-style detector: the whole frame resized to the model input,
//! class-1 scores thresholded, non-maximum suppression, boxes rescaled to the frame and squared.

use image::RgbImage;
use serde::Serialize;

use super::{BoundingBox, Net};
use crate::error::Result;
use crate::imageops::Rect;

/// One detected face.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// Square box around the detection (side = detection height, clamped to the frame): the box
    /// every later stage crops from.
    pub bbox: BoundingBox,
    /// The detector's own box.
    pub raw: BoundingBox,
    pub score: f32,
}

/// Greedy non-maximum suppression by IoU; keeps the highest-scoring box of each cluster.
pub fn nms(mut candidates: Vec<(BoundingBox, f32)>, iou: f32) -> Vec<(BoundingBox, f32)> {
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut kept: Vec<(BoundingBox, f32)> = Vec::new();
    for c in candidates {
        if kept.iter().all(|k| k.0.iou(&c.0) < iou) {
            kept.push(c);
        }
    }
    kept
}

/// Detect faces; results sorted by box area, largest first.
pub fn detect(net: &Net, frame: &RgbImage, threshold: f32, nms_iou: f32) -> Result<Vec<Detection>> {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let full = Rect {
        x: 0,
        y: 0,
        width: frame.width(),
        height: frame.height(),
    };
    let out = net.run_on(frame, full)?;
    let (scores, boxes) = (&out[0], &out[1]);
    let candidates: Vec<(BoundingBox, f32)> = scores
        .chunks_exact(2)
        .zip(boxes.chunks_exact(4))
        .filter(|(s, _)| s[1] >= threshold)
        .map(|(s, b)| {
            (
                BoundingBox {
                    x1: b[0] * w,
                    y1: b[1] * h,
                    x2: b[2] * w,
                    y2: b[3] * h,
                },
                s[1],
            )
        })
        .filter(|(b, _)| b.width() > 1.0 && b.height() > 1.0)
        .collect();
    let mut faces: Vec<Detection> = nms(candidates, nms_iou)
        .into_iter()
        .map(|(raw, score)| {
            let side = raw.height();
            let (cx, cy) = ((raw.x1 + raw.x2) / 2.0, (raw.y1 + raw.y2) / 2.0);
            let bbox = BoundingBox {
                x1: (cx - side / 2.0).max(0.0),
                y1: (cy - side / 2.0).max(0.0),
                x2: (cx + side / 2.0).min(w - 1.0),
                y2: (cy + side / 2.0).min(h - 1.0),
            };
            Detection { bbox, raw, score }
        })
        .collect();
    faces.sort_by(|a, b| b.bbox.area().total_cmp(&a.bbox.area()));
    Ok(faces)
}
