//! Per-face measurements: detection, 68 landmarks, 5-point alignment and embedding, passive
//! liveness, head pose, eye state and expression.
//!
//! Each stage takes the frame and what earlier stages found, crops and packs its own input as the
//! model was exported (see each model's `InputSpec` in the pack manifest), and returns plain
//! numbers. The cropping rules follow the pack's own JavaScript (`lib/*.js` in the npm package),
//! except where `shared/reference/README.md` measured a better choice (BGR liveness input,
//! 5-point similarity alignment).

pub mod detect;

pub use detect::{nms, Detection};

use std::sync::Arc;

use image::RgbImage;
use serde::Serialize;

use crate::error::Result;
use crate::imageops::{self, Affine, Rect};
use crate::models::{LoadedModel, ModelSpec};

/// A model together with its spec: enough to pack inputs and run it.
#[derive(Clone)]
pub struct Net {
    pub model: Arc<dyn LoadedModel>,
    pub spec: ModelSpec,
}

impl Net {
    /// Resize `region` of `frame` to the model's input, pack it and run the model.
    pub fn run_on(&self, frame: &RgbImage, region: Rect) -> Result<Vec<Vec<f32>>> {
        let input = &self.spec.input;
        let patch = imageops::resize_region(frame, region, input.width, input.height);
        self.run_patch(&patch)
    }

    /// Run the model on an image already at its input size.
    pub fn run_patch(&self, patch: &RgbImage) -> Result<Vec<Vec<f32>>> {
        let input = &self.spec.input;
        self.model.run(imageops::pack_nchw(
            patch,
            input.channels,
            input.mean,
            input.std,
        ))
    }
}

/// An axis-aligned box in frame pixels (corners).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoundingBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BoundingBox {
    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }
    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }
    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }
    pub fn iou(&self, other: &BoundingBox) -> f32 {
        let ix = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let iy = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = ix * iy;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
    /// The box as whole pixels (x, y, width, height), truncated like the pack's JavaScript.
    fn integer_xywh(&self) -> (i64, i64, i64, i64) {
        let (x1, y1, x2, y2) = (
            self.x1 as i64,
            self.y1 as i64,
            self.x2 as i64,
            self.y2 as i64,
        );
        (x1, y1, (x2 - x1).abs(), (y2 - y1).abs())
    }
}

/// The box scaled by `scale` about its centre, shrunk if it cannot fit and shifted back inside
/// the frame (the crop rule of the landmark and anti-spoofing models' training code).
pub fn scaled_crop(bbox: &BoundingBox, scale: f32, frame_w: u32, frame_h: u32) -> Option<Rect> {
    let (x, y, bw, bh) = bbox.integer_xywh();
    if bw < 2 || bh < 2 {
        return None;
    }
    let (src_w, src_h) = (frame_w as f32, frame_h as f32);
    let (bw, bh) = (bw as f32, bh as f32);
    let scale = scale.min((src_h - 1.0) / bh).min((src_w - 1.0) / bw);
    let (nw, nh) = (bw * scale, bh * scale);
    let (cx, cy) = (bw / 2.0 + x as f32, bh / 2.0 + y as f32);
    let (mut l, mut t, mut r, mut b) = (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        b -= t;
        t = 0.0;
    }
    if r > src_w - 1.0 {
        l -= r - src_w + 1.0;
        r = src_w - 1.0;
    }
    if b > src_h - 1.0 {
        t -= b - src_h + 1.0;
        b = src_h - 1.0;
    }
    let (x0, y0) = (l.max(0.0) as u32, t.max(0.0) as u32);
    let w = ((r - l) as u32).min(frame_w - x0);
    let h = ((b - t) as u32).min(frame_h - y0);
    (w >= 2 && h >= 2).then_some(Rect {
        x: x0,
        y: y0,
        width: w,
        height: h,
    })
}

/// 68 facial landmarks in frame pixels (iBUG 300-W order).
pub fn landmarks(net: &Net, frame: &RgbImage, bbox: &BoundingBox) -> Result<Option<Vec<[f32; 2]>>> {
    let Some(rect) = scaled_crop(bbox, 1.0, frame.width(), frame.height()) else {
        return Ok(None);
    };
    let out = net.run_on(frame, rect)?;
    let raw = &out[0];
    let points = raw
        .chunks_exact(2)
        .take(68)
        .map(|p| {
            [
                p[0] * rect.width as f32 + rect.x as f32,
                p[1] * rect.height as f32 + rect.y as f32,
            ]
        })
        .collect::<Vec<_>>();
    Ok((points.len() == 68).then_some(points))
}

/// The five alignment points (eye centres, nose tip, mouth corners) derived from 68 landmarks.
pub fn five_points(lm: &[[f32; 2]]) -> [(f32, f32); 5] {
    let mean = |idx: &[usize]| {
        let n = idx.len() as f32;
        let (sx, sy) = idx
            .iter()
            .fold((0.0, 0.0), |a, &i| (a.0 + lm[i][0], a.1 + lm[i][1]));
        (sx / n, sy / n)
    };
    [
        mean(&[37, 38, 40, 41]),
        mean(&[43, 44, 46, 47]),
        mean(&[30]),
        mean(&[48, 60]),
        mean(&[54, 64]),
    ]
}

/// The standard 112×112 five-point template (ArcFace-style crops).
pub const ALIGNMENT_TEMPLATE: [(f32, f32); 5] = [
    (38.294_6, 51.696_3),
    (73.531_8, 51.501_4),
    (56.025_2, 71.736_6),
    (41.549_3, 92.365_5),
    (70.729_9, 92.204_1),
];

/// The face warped onto the alignment template (similarity fitted on all five points).
pub fn aligned_face(frame: &RgbImage, lm: &[[f32; 2]], size: u32) -> Option<RgbImage> {
    let src = five_points(lm);
    let k = size as f32 / 112.0;
    let dst: Vec<(f32, f32)> = ALIGNMENT_TEMPLATE
        .iter()
        .map(|&(x, y)| (x * k, y * k))
        .collect();
    let m = Affine::fit_similarity(&src, &dst)?;
    Some(imageops::warp_affine(frame, &m, size, size))
}

/// L2-normalised embedding of an aligned face; with `flip`, the sum of the face's and its
/// mirror image's embeddings (test-time augmentation), normalised.
pub fn embedding(net: &Net, aligned: &RgbImage, flip: bool) -> Result<Vec<f32>> {
    let mut v = net.run_patch(aligned)?.swap_remove(0);
    if flip {
        let mirrored = net
            .run_patch(&imageops::flip_horizontal(aligned))?
            .swap_remove(0);
        for (a, b) in v.iter_mut().zip(mirrored) {
            *a += b;
        }
    }
    l2_normalise(&mut v);
    Ok(v)
}

pub fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two L2-normalised embeddings.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Passive liveness of one face.
#[derive(Debug, Clone, Serialize)]
pub struct Liveness {
    /// Softmax over the model's three classes; class 0 is "live".
    pub probabilities: Vec<f32>,
    /// Probability that the face is a presentation attack: `1 - probabilities[0]`.
    pub confidence_spoofing: f32,
}

/// Anti-spoofing on the face box enlarged 2.7×.
pub fn liveness(net: &Net, frame: &RgbImage, bbox: &BoundingBox) -> Result<Option<Liveness>> {
    let Some(rect) = scaled_crop(bbox, 2.7, frame.width(), frame.height()) else {
        return Ok(None);
    };
    // Anti-aliased: a plain bilinear shrink samples the codec's block noise, which the model
    // reads as a replay cue (a live clip re-encoded at CRF 32 went from 0.06 to 0.55).
    let input = &net.spec.input;
    let patch = imageops::resize_region_antialiased(frame, rect, input.width, input.height);
    let probabilities = softmax(&net.run_patch(&patch)?[0]);
    let confidence_spoofing = (1.0 - probabilities[0]).clamp(0.0, 1.0);
    Ok(Some(Liveness {
        probabilities,
        confidence_spoofing,
    }))
}

/// Head pose in degrees. Yaw is negative when the face turns towards the image's right,
/// pitch negative when looking down.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Pose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

pub fn pose(net: &Net, frame: &RgbImage, bbox: &BoundingBox) -> Result<Option<Pose>> {
    let (x1, y1, w, h) = bbox.integer_xywh();
    let (x2, y2) = (x1 + w, y1 + h);
    let (l, t) = (
        (x1 as f32 - w as f32 / 4.0) as i64,
        (y1 as f32 - h as f32 / 4.0) as i64,
    );
    let (r, b) = (
        (x2 as f32 + w as f32 / 4.0) as i64,
        (y2 as f32 + h as f32 / 4.0) as i64,
    );
    let Some(rect) = Rect::from_corners_clamped(
        l as f32,
        t as f32,
        r as f32,
        b as f32,
        frame.width(),
        frame.height(),
    ) else {
        return Ok(None);
    };
    let out = net.run_on(frame, rect)?;
    let angle = |logits: &[f32]| {
        softmax(logits)
            .iter()
            .enumerate()
            .map(|(i, p)| i as f32 * p)
            .sum::<f32>()
            * 3.0
            - 99.0
    };
    Ok(Some(Pose {
        yaw: angle(&out[0]),
        pitch: angle(&out[1]),
        roll: angle(&out[2]),
    }))
}

/// Eye state: probability that each eye is open (left/right as seen in the image).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Eyes {
    pub left_open: f32,
    pub right_open: f32,
}

impl Eyes {
    pub fn both_open(&self) -> bool {
        self.left_open >= 0.5 && self.right_open >= 0.5
    }
    pub fn both_closed(&self) -> bool {
        self.left_open < 0.5 && self.right_open < 0.5
    }
}

/// Index of the eye model's "open" class (measured on frontal photos with open eyes).
const EYE_OPEN_CLASS: usize = 1;

fn eye_rect(
    lm: &[[f32; 2]],
    centre: &[usize],
    corners: (usize, usize),
    frame: &RgbImage,
) -> Option<Rect> {
    let n = centre.len() as f32;
    let cx = (centre.iter().map(|&i| lm[i][0]).sum::<f32>() / n) as i64;
    let cy = (centre.iter().map(|&i| lm[i][1]).sum::<f32>() / n) as i64;
    let size = ((lm[corners.1][0] - lm[corners.0][0]) * 1.6) as i64;
    if size < 4 {
        return None;
    }
    let (x, y) = ((cx - size / 2).max(0), (cy - size / 2).max(0));
    let size = size
        .min(frame.width() as i64 - x - 1)
        .min(frame.height() as i64 - y - 1);
    (size >= 4).then_some(Rect {
        x: x as u32,
        y: y as u32,
        width: size as u32,
        height: size as u32,
    })
}

pub fn eyes(net: &Net, frame: &RgbImage, lm: &[[f32; 2]]) -> Result<Option<Eyes>> {
    let left = eye_rect(lm, &[37, 38, 40, 41], (36, 39), frame);
    let right = eye_rect(lm, &[43, 44, 46, 47], (42, 45), frame);
    let (Some(left), Some(right)) = (left, right) else {
        return Ok(None);
    };
    let open = |rect| -> Result<f32> { Ok(softmax(&net.run_on(frame, rect)?[0])[EYE_OPEN_CLASS]) };
    Ok(Some(Eyes {
        left_open: open(left)?,
        right_open: open(right)?,
    }))
}

/// Labels of the expression model's seven classes (FER-2013 order).
pub const EXPRESSIONS: [&str; 7] = [
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
];

#[derive(Debug, Clone, Serialize)]
pub struct Expression {
    pub label: &'static str,
    pub probabilities: Vec<f32>,
}

impl Expression {
    pub fn probability(&self, label: &str) -> f32 {
        EXPRESSIONS
            .iter()
            .position(|l| *l == label)
            .map(|i| self.probabilities[i])
            .unwrap_or(0.0)
    }
}

pub fn expression(net: &Net, frame: &RgbImage, bbox: &BoundingBox) -> Result<Option<Expression>> {
    let (x, y, w, h) = bbox.integer_xywh();
    let (w, h) = ((w as f32 * 1.2) as i64, (h as f32 * 1.2) as i64);
    let Some(rect) = Rect::from_corners_clamped(
        x as f32,
        y as f32,
        (x + w) as f32,
        (y + h) as f32,
        frame.width(),
        frame.height(),
    ) else {
        return Ok(None);
    };
    let probabilities = softmax(&net.run_on(frame, rect)?[0]);
    let best = probabilities
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap_or(6);
    Ok(Some(Expression {
        label: EXPRESSIONS[best.min(6)],
        probabilities,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_crop_stays_inside_the_frame() {
        let b = BoundingBox {
            x1: 5.0,
            y1: 5.0,
            x2: 55.0,
            y2: 55.0,
        };
        let r = scaled_crop(&b, 2.7, 100, 80).unwrap();
        assert!(r.x + r.width <= 100 && r.y + r.height <= 80, "{r:?}");
        assert!(r.width >= 50);
    }

    #[test]
    fn softmax_sums_to_one() {
        let p = softmax(&[1.0, 2.0, 3.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[2] > p[1] && p[1] > p[0]);
    }
}
