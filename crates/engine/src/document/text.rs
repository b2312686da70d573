//! Text lines on a page: the DB detector's probability map thresholded into connected regions,
//! each region's oriented box from its principal axis (a text line is a long thin blob, so the
//! axis of largest spread is its reading direction), and a line cut out along that box at the
//! recogniser's height.

use image::{Rgb, RgbImage};

use crate::error::Result;
use crate::face::Net;
use crate::imageops::{self, Affine, Rect};

/// Pixels of the probability map above this are text (PaddleOCR's `thresh`).
const PIXEL_THRESHOLD: f32 = 0.3;
/// Regions whose mean probability is below this are dropped (PaddleOCR's `box_thresh`).
const REGION_THRESHOLD: f32 = 0.5;
/// Regions smaller than this (map pixels) are specks.
const MIN_PIXELS: usize = 10;

/// One detected text line in frame pixels. The detector marks a shrunk core of the text, so
/// `height` is smaller than the glyphs; [`cut_line`] widens it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextLine {
    pub cx: f32,
    pub cy: f32,
    /// Unit reading direction (x ≥ 0 as detected; the sign is settled by reading).
    pub dx: f32,
    pub dy: f32,
    pub length: f32,
    pub height: f32,
    pub score: f32,
}

impl TextLine {
    /// Position across the line direction `(nx, ny)` (for stacking lines).
    pub fn across(&self, nx: f32, ny: f32) -> f32 {
        self.cx * nx + self.cy * ny
    }

    /// The same line read the other way (the page upside down).
    pub fn reversed(&self) -> TextLine {
        TextLine {
            dx: -self.dx,
            dy: -self.dy,
            ..*self
        }
    }
}

/// Detect text lines: the frame letterboxed into the detector's input.
pub fn detect_lines(net: &Net, frame: &RgbImage) -> Result<Vec<TextLine>> {
    let (iw, ih) = (net.spec.input.width, net.spec.input.height);
    let (w, h) = (frame.width().max(1), frame.height().max(1));
    let scale = (iw as f32 / w as f32).min(ih as f32 / h as f32);
    let (rw, rh) = (
        ((w as f32 * scale).round() as u32).clamp(1, iw),
        ((h as f32 * scale).round() as u32).clamp(1, ih),
    );
    let full = Rect {
        x: 0,
        y: 0,
        width: w,
        height: h,
    };
    let resized = imageops::resize_region_antialiased(frame, full, rw, rh);
    let mut input = RgbImage::new(iw, ih);
    image::imageops::replace(&mut input, &resized, 0, 0);
    let out = net.run_patch(&input)?;
    let map = &out[0];
    let (mw, mh) = (iw as usize, ih as usize);
    if map.len() < mw * mh {
        return Err(crate::error::EngineError::inference(format!(
            "text detector gave {} values for a {mw}×{mh} map",
            map.len()
        )));
    }
    Ok(regions(map, mw, mh, rw as usize, rh as usize)
        .into_iter()
        .map(|mut l| {
            l.cx /= scale;
            l.cy /= scale;
            l.length /= scale;
            l.height /= scale;
            l
        })
        .collect())
}

/// Connected regions (8-neighbour) of the thresholded map inside `rw`×`rh`, as oriented lines.
fn regions(map: &[f32], mw: usize, _mh: usize, rw: usize, rh: usize) -> Vec<TextLine> {
    let mut seen = vec![false; rw * rh];
    let on = |x: usize, y: usize| map[y * mw + x] > PIXEL_THRESHOLD;
    let mut lines = Vec::new();
    let mut stack = Vec::new();
    let mut pixels: Vec<(usize, usize)> = Vec::new();
    for y0 in 0..rh {
        for x0 in 0..rw {
            if seen[y0 * rw + x0] || !on(x0, y0) {
                continue;
            }
            pixels.clear();
            stack.push((x0, y0));
            seen[y0 * rw + x0] = true;
            while let Some((x, y)) = stack.pop() {
                pixels.push((x, y));
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                        if nx < 0 || ny < 0 || nx >= rw as i64 || ny >= rh as i64 {
                            continue;
                        }
                        let (nx, ny) = (nx as usize, ny as usize);
                        if !seen[ny * rw + nx] && on(nx, ny) {
                            seen[ny * rw + nx] = true;
                            stack.push((nx, ny));
                        }
                    }
                }
            }
            if pixels.len() < MIN_PIXELS {
                continue;
            }
            let n = pixels.len() as f32;
            let score = pixels.iter().map(|&(x, y)| map[y * mw + x]).sum::<f32>() / n;
            if score < REGION_THRESHOLD {
                continue;
            }
            lines.push(oriented(&pixels, score));
        }
    }
    lines
}

/// The oriented box of a region from its principal axis.
fn oriented(pixels: &[(usize, usize)], score: f32) -> TextLine {
    let n = pixels.len() as f32;
    let (mx, my) = pixels.iter().fold((0.0f32, 0.0f32), |a, &(x, y)| {
        (a.0 + x as f32, a.1 + y as f32)
    });
    let (mx, my) = (mx / n, my / n);
    let (mut sxx, mut syy, mut sxy) = (0.0f32, 0.0f32, 0.0f32);
    for &(x, y) in pixels {
        let (u, v) = (x as f32 - mx, y as f32 - my);
        sxx += u * u;
        syy += v * v;
        sxy += u * v;
    }
    let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (mut dx, mut dy) = (angle.cos(), angle.sin());
    if dx < 0.0 || (dx == 0.0 && dy < 0.0) {
        dx = -dx;
        dy = -dy;
    }
    let (nx, ny) = (-dy, dx);
    let (mut u0, mut u1, mut v0, mut v1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &(x, y) in pixels {
        let (px, py) = (x as f32 - mx, y as f32 - my);
        let u = px * dx + py * dy;
        let v = px * nx + py * ny;
        u0 = u0.min(u);
        u1 = u1.max(u);
        v0 = v0.min(v);
        v1 = v1.max(v);
    }
    let (uc, vc) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
    TextLine {
        cx: mx + dx * uc + nx * vc + 0.5,
        cy: my + dy * uc + ny * vc + 0.5,
        dx,
        dy,
        length: u1 - u0 + 1.0,
        height: v1 - v0 + 1.0,
        score,
    }
}

/// How much of the glyphs the detector's core leaves out: the cut is this many core heights
/// high, and this many core heights longer than the core.
const CUT_HEIGHT: f32 = 2.0;
const CUT_EXTRA_LENGTH: f32 = 1.2;

/// The width a cut of `line` has at `out_h` pixels high without squeezing it.
pub fn natural_width(line: &TextLine, out_h: u32) -> f32 {
    let h = line.height * CUT_HEIGHT;
    let len = line.length + line.height * CUT_EXTRA_LENGTH;
    len * out_h as f32 / h
}

/// Cut `line` out of `frame` along its direction, `out_h` pixels high, as wide as its aspect
/// ratio gives (at most `max_w`), and pad it to `max_w` with grey. Returns the image and the
/// width the text occupies.
pub fn cut_line(frame: &RgbImage, line: &TextLine, out_h: u32, max_w: u32) -> (RgbImage, u32) {
    let h = line.height * CUT_HEIGHT;
    let len = line.length + line.height * CUT_EXTRA_LENGTH;
    let w = (natural_width(line, out_h).round() as u32).clamp(8, max_w);
    let (sx, sy) = (w as f32 / len, out_h as f32 / h);
    let (dx, dy) = (line.dx, line.dy);
    let (nx, ny) = (-dy, dx);
    // The box's top-left corner in frame pixels.
    let ox = line.cx - dx * len / 2.0 - nx * h / 2.0;
    let oy = line.cy - dy * len / 2.0 - ny * h / 2.0;
    let m = Affine([
        [dx * sx, dy * sx, -(ox * dx + oy * dy) * sx],
        [nx * sy, ny * sy, -(ox * nx + oy * ny) * sy],
    ]);
    let cut = imageops::warp_affine(frame, &m, w, out_h);
    let mut out = RgbImage::from_pixel(max_w, out_h, Rgb([128, 128, 128]));
    image::imageops::replace(&mut out, &cut, 0, 0);
    (out, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slanted_bar_gives_its_direction_length_and_height() {
        // A 60×4 bar rotated by about 10°.
        let (a, b) = (10f32.to_radians().cos(), 10f32.to_radians().sin());
        let mut pixels = Vec::new();
        for y in 0..100usize {
            for x in 0..100usize {
                let (u, v) = (x as f32 - 50.0, y as f32 - 50.0);
                let (along, across) = (u * a + v * b, -u * b + v * a);
                if along.abs() <= 30.0 && across.abs() <= 2.0 {
                    pixels.push((x, y));
                }
            }
        }
        let l = oriented(&pixels, 1.0);
        assert!((l.dy / l.dx - b / a).abs() < 0.02, "{l:?}");
        assert!((l.length - 61.0).abs() < 3.0, "{l:?}");
        assert!((l.height - 5.0).abs() < 1.5, "{l:?}");
        assert!(
            (l.cx - 50.5).abs() < 1.0 && (l.cy - 50.5).abs() < 1.0,
            "{l:?}"
        );
    }
}
