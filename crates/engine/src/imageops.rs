//! Pixel operations the models need: crops, OpenCV-compatible bilinear resizing, affine warps,
//! greyscale, tensor packing and a sharpness measure.
//!
//! Resizing is written here rather than taken from `fast_image_resize` on purpose: the models were
//! exported and evaluated with OpenCV's `INTER_LINEAR` (2×2 neighbours, half-pixel centres, no
//! anti-aliasing), and a convolution resize moves embeddings far enough to matter (see
//! `shared/reference/README.md`). The inputs are small (≤ 320×240), so speed is not the concern.
//! The one exception is the anti-spoofing crop ([`resize_region_antialiased`]), where measurement
//! showed the anti-aliased filter keeps scores stable under re-encoding at no cost in accuracy.

use image::{GrayImage, RgbImage};

/// An integer pixel rectangle inside an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    /// Clamp a float rectangle given by corners to the image and round it to whole pixels.
    /// Returns `None` when nothing of it lies inside the image.
    pub fn from_corners_clamped(
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        img_w: u32,
        img_h: u32,
    ) -> Option<Rect> {
        let x1 = x1.max(0.0).floor() as i64;
        let y1 = y1.max(0.0).floor() as i64;
        let x2 = (x2.min(img_w as f32)).ceil() as i64;
        let y2 = (y2.min(img_h as f32)).ceil() as i64;
        if x2 - x1 < 2 || y2 - y1 < 2 {
            return None;
        }
        Some(Rect {
            x: x1 as u32,
            y: y1 as u32,
            width: (x2 - x1) as u32,
            height: (y2 - y1) as u32,
        })
    }
}

/// Channel order of a packed tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    Rgb,
    Bgr,
    Grey,
}

impl ChannelOrder {
    pub fn channels(self) -> usize {
        match self {
            ChannelOrder::Grey => 1,
            _ => 3,
        }
    }
}

/// Resize the `region` of `src` to `out_w`×`out_h` with OpenCV `INTER_LINEAR` semantics.
pub fn resize_region(src: &RgbImage, region: Rect, out_w: u32, out_h: u32) -> RgbImage {
    let mut out = RgbImage::new(out_w, out_h);
    let sx = region.width as f32 / out_w as f32;
    let sy = region.height as f32 / out_h as f32;
    let max_x = region.width as i64 - 1;
    let max_y = region.height as i64 - 1;
    let xs: Vec<(u32, u32, f32)> = (0..out_w)
        .map(|x| {
            let fx = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
            let x0 = (fx.floor() as i64).min(max_x);
            let x1 = (x0 + 1).min(max_x);
            (region.x + x0 as u32, region.x + x1 as u32, fx - x0 as f32)
        })
        .collect();
    // Rows of pixels read and written as slices: the same arithmetic as reading them pixel by
    // pixel (bounds-checked `get_pixel`/`put_pixel`), without a bounds check per pixel.
    let stride = src.width() as usize * 3;
    let raw = src.as_raw();
    let out_w = out_w as usize;
    let dst = &mut *out;
    for (y, row) in dst.chunks_exact_mut(out_w * 3).enumerate() {
        let fy = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
        let y0 = (fy.floor() as i64).min(max_y);
        let y1 = (y0 + 1).min(max_y);
        let wy = fy - y0 as f32;
        let (ry0, ry1) = (
            region.y as usize + y0 as usize,
            region.y as usize + y1 as usize,
        );
        let (row0, row1) = (
            &raw[ry0 * stride..(ry0 + 1) * stride],
            &raw[ry1 * stride..(ry1 + 1) * stride],
        );
        for (px, &(x0, x1, wx)) in row.chunks_exact_mut(3).zip(xs.iter()) {
            let (x0, x1) = (x0 as usize * 3, x1 as usize * 3);
            for c in 0..3 {
                let top = row0[x0 + c] as f32 * (1.0 - wx) + row0[x1 + c] as f32 * wx;
                let bottom = row1[x0 + c] as f32 * (1.0 - wx) + row1[x1 + c] as f32 * wx;
                px[c] = round_u8(top * (1.0 - wy) + bottom * wy);
            }
        }
    }
    out
}

/// `v.round().clamp(0.0, 255.0) as u8` without the `roundf` call the baseline x86-64 target
/// makes for `round` (5 % of a photo analysis's CPU): after the clamp `v` is in [0, 255], where
/// `v - trunc(v)` is exact (Sterbenz), so comparing it with 0.5 rounds half away from zero as
/// `round` does, bit for bit.
#[inline]
fn round_u8(v: f32) -> u8 {
    let v = v.clamp(0.0, 255.0);
    let i = v as u32;
    (i + u32::from(v - i as f32 >= 0.5)) as u8
}

/// Resize `region` of `src` with an anti-aliased (convolution) bilinear filter: every source
/// pixel contributes, so a large crop shrunk to a small model input averages compression noise
/// instead of sampling it. Used for the anti-spoofing crop (about 5× smaller than the region on a
/// selfie), whose scores otherwise move with the JPEG/H.264 quality of the same scene:
/// `docs/scores.md` has the measurements. Falls back to [`resize_region`] if the resizer refuses.
pub fn resize_region_antialiased(src: &RgbImage, region: Rect, out_w: u32, out_h: u32) -> RgbImage {
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let attempt = || -> Option<RgbImage> {
        let view = ImageRef::new(src.width(), src.height(), src.as_raw(), PixelType::U8x3).ok()?;
        let mut dst = Image::new(out_w, out_h, PixelType::U8x3);
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
            .crop(
                region.x as f64,
                region.y as f64,
                region.width as f64,
                region.height as f64,
            );
        Resizer::new().resize(&view, &mut dst, &options).ok()?;
        RgbImage::from_raw(out_w, out_h, dst.into_vec())
    };
    attempt().unwrap_or_else(|| resize_region(src, region, out_w, out_h))
}

/// Resize a whole image (OpenCV `INTER_LINEAR` semantics).
pub fn resize(src: &RgbImage, out_w: u32, out_h: u32) -> RgbImage {
    resize_region(
        src,
        Rect {
            x: 0,
            y: 0,
            width: src.width(),
            height: src.height(),
        },
        out_w,
        out_h,
    )
}

/// ITU-R BT.601 luma, as OpenCV's `COLOR_RGB2GRAY`.
pub fn to_grey(src: &RgbImage) -> GrayImage {
    let mut out = GrayImage::new(src.width(), src.height());
    for (o, p) in out.pixels_mut().zip(src.pixels()) {
        let [r, g, b] = p.0;
        o.0[0] = (0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32)
            .round()
            .min(255.0) as u8;
    }
    out
}

/// Pack an image into a planar (NCHW, N = 1) float tensor: `(pixel - mean[c]) / std[c]`,
/// channels in `order` (mean/std are given in that order too).
pub fn pack_nchw(img: &RgbImage, order: ChannelOrder, mean: [f32; 3], std: [f32; 3]) -> Vec<f32> {
    let plane = (img.width() * img.height()) as usize;
    let mut data = vec![0f32; plane * order.channels()];
    match order {
        ChannelOrder::Grey => {
            for (i, p) in to_grey(img).pixels().enumerate() {
                data[i] = (p.0[0] as f32 - mean[0]) / std[0];
            }
        }
        ChannelOrder::Rgb | ChannelOrder::Bgr => {
            let map = if order == ChannelOrder::Rgb {
                [0, 1, 2]
            } else {
                [2, 1, 0]
            };
            for (i, p) in img.pixels().enumerate() {
                for (c, &src_c) in map.iter().enumerate() {
                    data[c * plane + i] = (p.0[src_c] as f32 - mean[c]) / std[c];
                }
            }
        }
    }
    data
}

/// A 2×3 affine matrix mapping source pixel coordinates to destination coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine(pub [[f32; 3]; 2]);

impl Affine {
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let m = &self.0;
        (
            m[0][0] * x + m[0][1] * y + m[0][2],
            m[1][0] * x + m[1][1] * y + m[1][2],
        )
    }

    pub fn invert(&self) -> Option<Affine> {
        let m = &self.0;
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
        if det.abs() < 1e-12 {
            return None;
        }
        let (a, b, c, d) = (m[1][1] / det, -m[0][1] / det, -m[1][0] / det, m[0][0] / det);
        Some(Affine([
            [a, b, -(a * m[0][2] + b * m[1][2])],
            [c, d, -(c * m[0][2] + d * m[1][2])],
        ]))
    }

    /// Least-squares similarity (rotation, uniform scale, translation; no reflection) taking
    /// `src` points onto `dst` points — the 2-D case of Umeyama's method.
    pub fn fit_similarity(src: &[(f32, f32)], dst: &[(f32, f32)]) -> Option<Affine> {
        let n = src.len().min(dst.len());
        if n < 2 {
            return None;
        }
        let mean = |pts: &[(f32, f32)]| {
            let (sx, sy) = pts[..n].iter().fold((0.0f64, 0.0f64), |a, p| {
                (a.0 + p.0 as f64, a.1 + p.1 as f64)
            });
            (sx / n as f64, sy / n as f64)
        };
        let (msx, msy) = mean(src);
        let (mdx, mdy) = mean(dst);
        let (mut num_a, mut num_b, mut den) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..n {
            let (x, y) = (src[i].0 as f64 - msx, src[i].1 as f64 - msy);
            let (u, v) = (dst[i].0 as f64 - mdx, dst[i].1 as f64 - mdy);
            num_a += x * u + y * v;
            num_b += x * v - y * u;
            den += x * x + y * y;
        }
        if den < 1e-9 {
            return None;
        }
        let (a, b) = (num_a / den, num_b / den);
        let tx = mdx - (a * msx - b * msy);
        let ty = mdy - (b * msx + a * msy);
        Some(Affine([
            [a as f32, -b as f32, tx as f32],
            [b as f32, a as f32, ty as f32],
        ]))
    }
}

/// Warp `src` into an `out_w`×`out_h` image with `m` (source → destination), bilinear sampling,
/// black outside the source (OpenCV `warpAffine` defaults).
pub fn warp_affine(src: &RgbImage, m: &Affine, out_w: u32, out_h: u32) -> RgbImage {
    let mut out = RgbImage::new(out_w, out_h);
    let Some(inv) = m.invert() else { return out };
    let (w, h) = (src.width() as i64, src.height() as i64);
    let sample = |x: i64, y: i64| -> [f32; 3] {
        if x < 0 || y < 0 || x >= w || y >= h {
            [0.0; 3]
        } else {
            let p = src.get_pixel(x as u32, y as u32).0;
            [p[0] as f32, p[1] as f32, p[2] as f32]
        }
    };
    for y in 0..out_h {
        for x in 0..out_w {
            let (sx, sy) = inv.apply(x as f32, y as f32);
            let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
            let (wx, wy) = (sx - x0 as f32, sy - y0 as f32);
            let (p00, p01, p10, p11) = (
                sample(x0, y0),
                sample(x0 + 1, y0),
                sample(x0, y0 + 1),
                sample(x0 + 1, y0 + 1),
            );
            let mut px = [0u8; 3];
            for c in 0..3 {
                let top = p00[c] * (1.0 - wx) + p01[c] * wx;
                let bottom = p10[c] * (1.0 - wx) + p11[c] * wx;
                px[c] = (top * (1.0 - wy) + bottom * wy).round().clamp(0.0, 255.0) as u8;
            }
            out.put_pixel(x, y, image::Rgb(px));
        }
    }
    out
}

/// Mirror an image left–right.
pub fn flip_horizontal(src: &RgbImage) -> RgbImage {
    image::imageops::flip_horizontal(src)
}

/// Variance of the 4-neighbour Laplacian of a greyscale image: a standard focus measure.
pub fn laplacian_variance(grey: &GrayImage) -> f32 {
    let (w, h) = (grey.width() as i64, grey.height() as i64);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let px = |x: i64, y: i64| grey.get_pixel(x as u32, y as u32).0[0] as f64;
    let (mut sum, mut sum_sq, mut n) = (0.0f64, 0.0f64, 0.0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let l = px(x - 1, y) + px(x + 1, y) + px(x, y - 1) + px(x, y + 1) - 4.0 * px(x, y);
            sum += l;
            sum_sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum_sq / n - mean * mean) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_u8_rounds_as_round_then_clamp() {
        // Every f32 from -2 to 258 whose bit pattern is a multiple of 7 (and every .5 tie).
        let (lo, hi) = (-2.0f32, 258.0f32);
        let check = |v: f32| {
            assert_eq!(round_u8(v), v.round().clamp(0.0, 255.0) as u8, "{v}");
        };
        for bits in (0..hi.to_bits()).step_by(7) {
            check(f32::from_bits(bits));
        }
        for bits in ((-0.0f32).to_bits()..=lo.to_bits()).step_by(7) {
            check(f32::from_bits(bits));
        }
        for k in -4..520 {
            let tie = k as f32 * 0.5;
            for v in [tie, tie.next_up(), tie.next_down()] {
                check(v);
            }
        }
    }

    /// The resize as it was written first (pixel by pixel): the slice version must give the
    /// same bytes, so every model input — and every score — is unchanged.
    fn resize_region_by_pixel(src: &RgbImage, region: Rect, out_w: u32, out_h: u32) -> RgbImage {
        let mut out = RgbImage::new(out_w, out_h);
        let sx = region.width as f32 / out_w as f32;
        let sy = region.height as f32 / out_h as f32;
        let (max_x, max_y) = (region.width as i64 - 1, region.height as i64 - 1);
        for y in 0..out_h {
            let fy = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
            let y0 = (fy.floor() as i64).min(max_y);
            let y1 = (y0 + 1).min(max_y);
            let wy = fy - y0 as f32;
            for x in 0..out_w {
                let fx = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
                let x0 = (fx.floor() as i64).min(max_x);
                let x1 = (x0 + 1).min(max_x);
                let wx = fx - x0 as f32;
                let (ax, bx) = (region.x + x0 as u32, region.x + x1 as u32);
                let (ay, by) = (region.y + y0 as u32, region.y + y1 as u32);
                let (p00, p01) = (src.get_pixel(ax, ay).0, src.get_pixel(bx, ay).0);
                let (p10, p11) = (src.get_pixel(ax, by).0, src.get_pixel(bx, by).0);
                let mut px = [0u8; 3];
                for c in 0..3 {
                    let top = p00[c] as f32 * (1.0 - wx) + p01[c] as f32 * wx;
                    let bottom = p10[c] as f32 * (1.0 - wx) + p11[c] as f32 * wx;
                    px[c] = (top * (1.0 - wy) + bottom * wy).round().clamp(0.0, 255.0) as u8;
                }
                out.put_pixel(x, y, image::Rgb(px));
            }
        }
        out
    }

    #[test]
    fn resize_region_gives_the_bytes_of_the_pixel_by_pixel_resize() {
        let mut seed = 12345u32;
        let src = RgbImage::from_fn(97, 61, |_, _| {
            let mut px = [0u8; 3];
            for c in &mut px {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *c = (seed >> 24) as u8;
            }
            image::Rgb(px)
        });
        for (region, w, h) in [
            (
                Rect {
                    x: 0,
                    y: 0,
                    width: 97,
                    height: 61,
                },
                320,
                240,
            ),
            (
                Rect {
                    x: 0,
                    y: 0,
                    width: 97,
                    height: 61,
                },
                24,
                17,
            ),
            (
                Rect {
                    x: 13,
                    y: 7,
                    width: 50,
                    height: 41,
                },
                64,
                64,
            ),
            (
                Rect {
                    x: 40,
                    y: 20,
                    width: 57,
                    height: 41,
                },
                112,
                112,
            ),
            (
                Rect {
                    x: 96,
                    y: 60,
                    width: 1,
                    height: 1,
                },
                5,
                3,
            ),
        ] {
            assert_eq!(
                resize_region(&src, region, w, h).as_raw(),
                resize_region_by_pixel(&src, region, w, h).as_raw(),
                "{region:?} to {w}×{h}"
            );
        }
    }

    #[test]
    fn similarity_fit_recovers_a_known_transform() {
        let truth = Affine([[0.8, -0.3, 12.0], [0.3, 0.8, -4.0]]);
        let src = [
            (10.0, 20.0),
            (50.0, 22.0),
            (30.0, 40.0),
            (15.0, 60.0),
            (45.0, 61.0),
        ];
        let dst: Vec<_> = src.iter().map(|&(x, y)| truth.apply(x, y)).collect();
        let fit = Affine::fit_similarity(&src, &dst).unwrap();
        for r in 0..2 {
            for c in 0..3 {
                assert!((fit.0[r][c] - truth.0[r][c]).abs() < 1e-3, "{fit:?}");
            }
        }
        let inv = fit.invert().unwrap();
        let (x, y) = inv.apply(dst[2].0, dst[2].1);
        assert!((x - 30.0).abs() < 1e-3 && (y - 40.0).abs() < 1e-3);
    }

    #[test]
    fn resize_keeps_flat_colour_and_halves_a_gradient_sensibly() {
        let img = RgbImage::from_fn(8, 8, |x, _| image::Rgb([(x * 32) as u8, 100, 7]));
        let small = resize(&img, 4, 4);
        assert_eq!(small.get_pixel(0, 0).0[1], 100);
        assert_eq!(small.get_pixel(0, 0).0[2], 7);
        // OpenCV INTER_LINEAR at 2× down averages columns 0 and 1 → 16.
        assert_eq!(small.get_pixel(0, 0).0[0], 16);
    }

    #[test]
    fn pack_orders_channels() {
        let img = RgbImage::from_pixel(2, 1, image::Rgb([10, 20, 30]));
        let bgr = pack_nchw(&img, ChannelOrder::Bgr, [0.0; 3], [1.0; 3]);
        assert_eq!(bgr, vec![30.0, 30.0, 20.0, 20.0, 10.0, 10.0]);
    }

    #[test]
    fn blur_lowers_laplacian_variance() {
        let sharp = GrayImage::from_fn(32, 32, |x, y| {
            image::Luma([if (x / 2 + y / 2) % 2 == 0 { 0 } else { 255 }])
        });
        let blurred = image::imageops::blur(&sharp, 2.0);
        assert!(laplacian_variance(&sharp) > 10.0 * laplacian_variance(&blurred));
    }
}
