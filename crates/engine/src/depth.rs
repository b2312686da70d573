//! Depth from motion during head movements: a flat object moved in front of the camera (a printed
//! photo, a photo on a phone turned by hand) maps every point of one view onto another by one
//! homography, whatever the movement; a head that turns does not — the nose moves across the
//! cheeks, the far side of the face goes out of sight. So the 68 landmarks of a rest frame are
//! mapped onto each turned frame by the best homography (least squares, normalised DLT), and what
//! it cannot explain — the RMS distance left, over the turned face's box height — is the
//! capture's `residual`: near the landmarks' own noise for a flat object, large for a face.
//!
//! This module owns the fit and the per-capture figure ([`depth_from_motion`]); whether the
//! figure decides anything is [`DepthFromMotion::flat`] against [`FLAT_RESIDUAL`], measured on
//! the shared live clips and synthesised flat attacks (docs/web-sdk.md, "Depth from motion").
//! A replay of a *recorded* face turning on a screen is not flat in this sense (the recording
//! keeps the face's own parallax): that attack is passive liveness's to catch.

use nalgebra::{Matrix3, SMatrix, SymmetricEigen, Vector3};
use serde::Serialize;

use crate::engine::FrameReport;
use crate::face::Pose;

/// Degrees of head movement (yaw or pitch, from the rest frame) from which a frame is compared
/// with the rest: smaller movements show too little parallax to tell a face from a plane.
pub const MIN_MOVEMENT_DEGREES: f32 = 15.0;
/// A frame whose landmarks left the rest frame's by more than an affine map explains (this
/// fraction of the face's height, RMS) moved out of the image plane whatever the pose model
/// says: a photo turned by hand foreshortens without the pose model seeing a turn.
pub const MIN_DEFORMATION: f32 = 0.015;
/// Moved frames the figure needs before it may decide anything.
pub const MIN_FRAMES: usize = 3;
/// Degrees of yaw (and of pitch from the usual −10°) within which the rest frame the movements
/// are measured from must look at the camera for the figure to decide anything.
pub const REFERENCE_MAX_OFFSET_DEGREES: f32 = 15.0;
/// Below this residual (median over the moved frames, as a fraction of the face box's height)
/// the capture moved as a flat object. Measured with `faceproof eval-capture` (docs/web-sdk.md,
/// "Depth from motion"): live turns and nods 0.033–0.10 over every window and encoding of the
/// shared clips; photos turned and tilted by hand 0.008–0.026 (the landmarks' noise on a
/// foreshortened face); rest frames against each other 0.002–0.024.
pub const FLAT_RESIDUAL: f32 = 0.025;

/// The depth-from-motion figure of one capture.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DepthFromMotion {
    /// Median over the moved frames of the landmarks' RMS distance from the best homography of
    /// the rest frame's landmarks, over the moved face's box height; `None` without a rest frame
    /// or a moved frame.
    pub residual: Option<f32>,
    /// Moved frames compared with the rest frame.
    pub frames: usize,
    /// The same figure between rest frames (no movement): the landmarks' own noise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest_residual: Option<f32>,
    /// Median over the moved frames of what the best affine map leaves: how far they moved out
    /// of the image plane (the homography explains a plane's share of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affine_residual: Option<f32>,
    /// Enough moved frames for the figure to decide ([`MIN_FRAMES`]) and a rule in force
    /// ([`FLAT_RESIDUAL`] > 0).
    pub used_in_verdict: bool,
    /// Decided: the capture moved as a flat object (an attack).
    pub flat: bool,
}

/// A 2-D point set normalised for a well-conditioned fit (Hartley): centroid at the origin,
/// mean distance √2; with the transform that did it.
fn normalise(points: &[[f64; 2]]) -> (Vec<[f64; 2]>, Matrix3<f64>) {
    let n = points.len() as f64;
    let (cx, cy) = points
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p[0] / n, a.1 + p[1] / n));
    let mean = points
        .iter()
        .map(|p| ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt())
        .sum::<f64>()
        / n;
    let s = if mean > 1e-12 {
        std::f64::consts::SQRT_2 / mean
    } else {
        1.0
    };
    let t = Matrix3::new(s, 0.0, -s * cx, 0.0, s, -s * cy, 0.0, 0.0, 1.0);
    (
        points
            .iter()
            .map(|p| [s * (p[0] - cx), s * (p[1] - cy)])
            .collect(),
        t,
    )
}

/// The homography mapping `from` onto `to` in the least-squares sense (normalised DLT: the
/// right singular vector of the 2N × 9 system with the smallest singular value, taken as the
/// eigenvector of its 9 × 9 normal matrix). `None` for fewer than 4 points or a degenerate set.
pub fn fit_homography(from: &[[f64; 2]], to: &[[f64; 2]]) -> Option<Matrix3<f64>> {
    if from.len() != to.len() || from.len() < 4 {
        return None;
    }
    let (a, ta) = normalise(from);
    let (b, tb) = normalise(to);
    let mut ata = SMatrix::<f64, 9, 9>::zeros();
    for (p, q) in a.iter().zip(&b) {
        let (x, y, u, v) = (p[0], p[1], q[0], q[1]);
        let rows = [
            [-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u],
            [0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v],
        ];
        for r in rows {
            for i in 0..9 {
                for j in 0..9 {
                    ata[(i, j)] += r[i] * r[j];
                }
            }
        }
    }
    let eig = SymmetricEigen::new(ata);
    let (k, _) = eig
        .eigenvalues
        .iter()
        .enumerate()
        .min_by(|x, y| x.1.total_cmp(y.1))?;
    let h = eig.eigenvectors.column(k);
    let hn = Matrix3::new(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]);
    let h = tb.try_inverse()? * hn * ta;
    (h[(2, 2)].abs() > 1e-12).then(|| h / h[(2, 2)])
}

/// RMS distance between `h` applied to `from` and `to`.
pub fn rms_error(h: &Matrix3<f64>, from: &[[f64; 2]], to: &[[f64; 2]]) -> f64 {
    let sum: f64 = from
        .iter()
        .zip(to)
        .map(|(p, q)| {
            let m = h * Vector3::new(p[0], p[1], 1.0);
            if m[2].abs() < 1e-12 {
                return f64::INFINITY;
            }
            (m[0] / m[2] - q[0]).powi(2) + (m[1] / m[2] - q[1]).powi(2)
        })
        .sum();
    (sum / from.len().max(1) as f64).sqrt()
}

/// The affine map (as a homography with last row 0 0 1) fitting `from` onto `to` in the
/// least-squares sense; `None` for a degenerate set.
pub fn fit_affine(from: &[[f64; 2]], to: &[[f64; 2]]) -> Option<Matrix3<f64>> {
    let mut ata = Matrix3::<f64>::zeros();
    let (mut bu, mut bv) = (Vector3::<f64>::zeros(), Vector3::<f64>::zeros());
    for (p, q) in from.iter().zip(to) {
        let r = Vector3::new(p[0], p[1], 1.0);
        ata += r * r.transpose();
        bu += r * q[0];
        bv += r * q[1];
    }
    let inv = ata.try_inverse()?;
    let (u, v) = (inv * bu, inv * bv);
    Some(Matrix3::new(
        u[0], u[1], u[2], v[0], v[1], v[2], 0.0, 0.0, 1.0,
    ))
}

/// The residuals of the best homography and of the best affine map from `rest`'s landmarks
/// onto `moved`'s, over the moved face's box height.
fn residuals(rest: &[[f32; 2]], moved: &[[f32; 2]], height: f32) -> Option<(f32, f32)> {
    let a: Vec<[f64; 2]> = rest.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
    let b: Vec<[f64; 2]> = moved.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
    let h = fit_homography(&a, &b)?;
    let f = fit_affine(&a, &b)?;
    let (eh, ef) = (rms_error(&h, &a, &b), rms_error(&f, &a, &b));
    (eh.is_finite() && ef.is_finite() && height > 0.0)
        .then(|| ((eh / height as f64) as f32, (ef / height as f64) as f32))
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The depth-from-motion figure of a capture's frames: the rest frame is the capture's most
/// frontal rest frame (`…_rest` frames; without any, the first frames with a face), and each
/// other frame that moved — the head by at least [`MIN_MOVEMENT_DEGREES`], or the landmarks out
/// of the image plane by [`MIN_DEFORMATION`] — is compared with it.
pub fn depth_from_motion(frames: &[FrameReport]) -> DepthFromMotion {
    let faces: Vec<(usize, &FrameReport)> = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.face
                .as_ref()
                .is_some_and(|x| x.pose.is_some() && x.landmarks.len() == 68)
        })
        .collect();
    let marked: Vec<&(usize, &FrameReport)> = faces.iter().filter(|(_, f)| f.rest).collect();
    let rest_set: Vec<&(usize, &FrameReport)> = if marked.is_empty() {
        faces.iter().take(crate::gesture::REST_FRAMES).collect()
    } else {
        marked
    };
    let pose = |f: &FrameReport| {
        f.face.as_ref().and_then(|x| x.pose).unwrap_or(Pose {
            yaw: 0.0,
            pitch: -10.0,
            roll: 0.0,
        })
    };
    let reference = rest_set
        .iter()
        .min_by(|a, b| {
            let (pa, pb) = (pose(a.1), pose(b.1));
            (pa.yaw.abs() + (pa.pitch + 10.0).abs())
                .total_cmp(&(pb.yaw.abs() + (pb.pitch + 10.0).abs()))
        })
        .copied();
    let mut out = DepthFromMotion {
        residual: None,
        frames: 0,
        rest_residual: None,
        affine_residual: None,
        used_in_verdict: false,
        flat: false,
    };
    let Some(&(ri, reference)) = reference else {
        return out;
    };
    let rf = reference.face.as_ref().expect("a face");
    let rp = pose(reference);
    let (mut moved, mut moved_affine, mut still) = (Vec::new(), Vec::new(), Vec::new());
    for (i, f) in &faces {
        if *i == ri {
            continue;
        }
        let face = f.face.as_ref().expect("a face");
        let p = pose(f);
        let movement = (p.yaw - rp.yaw).abs().max((p.pitch - rp.pitch).abs());
        let Some((r, affine)) =
            residuals(&rf.landmarks, &face.landmarks, face.detection.bbox.height())
        else {
            continue;
        };
        if f.rest {
            still.push(r);
        } else if movement >= MIN_MOVEMENT_DEGREES || affine >= MIN_DEFORMATION {
            moved.push(r);
            moved_affine.push(affine);
        }
    }
    out.frames = moved.len();
    out.residual = median(moved);
    out.affine_residual = median(moved_affine);
    out.rest_residual = median(still);
    // Movements are only measured from a face that looked at the camera: from a head already
    // turned, a turn further foreshortens the face like a plane and the residual says nothing.
    let reference_frontal = rp.yaw.abs() <= REFERENCE_MAX_OFFSET_DEGREES
        && (rp.pitch + 10.0).abs() <= REFERENCE_MAX_OFFSET_DEGREES;
    out.used_in_verdict = FLAT_RESIDUAL > 0.0 && out.frames >= MIN_FRAMES && reference_frontal;
    out.flat = out.used_in_verdict && out.residual.is_some_and(|r| r < FLAT_RESIDUAL);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<[f64; 2]> {
        (0..68)
            .map(|i| [100.0 + (i % 9) as f64 * 13.0, 80.0 + (i / 9) as f64 * 17.0])
            .collect()
    }

    #[test]
    fn a_plane_under_perspective_fits_exactly() {
        let h = Matrix3::new(0.8, 0.05, 30.0, -0.02, 1.1, -12.0, 0.0007, -0.0003, 1.0);
        let from = grid();
        let to: Vec<[f64; 2]> = from
            .iter()
            .map(|p| {
                let m = h * Vector3::new(p[0], p[1], 1.0);
                [m[0] / m[2], m[1] / m[2]]
            })
            .collect();
        let fit = fit_homography(&from, &to).unwrap();
        assert!(rms_error(&fit, &from, &to) < 1e-6);
        assert!((fit - h).abs().max() < 1e-6, "{fit} vs {h}");
    }

    #[test]
    fn points_off_the_plane_leave_a_residual() {
        // A "nose": points with depth, turned about the vertical axis, under perspective.
        let pts3: Vec<[f64; 3]> = grid()
            .iter()
            .enumerate()
            .map(|(i, p)| {
                [
                    p[0] - 150.0,
                    p[1] - 150.0,
                    if i % 5 == 0 { -60.0 } else { 0.0 },
                ]
            })
            .collect();
        let project = |yaw: f64| -> Vec<[f64; 2]> {
            pts3.iter()
                .map(|p| {
                    let (s, c) = yaw.to_radians().sin_cos();
                    let (x, z) = (c * p[0] + s * p[2], -s * p[0] + c * p[2] + 600.0);
                    [500.0 * x / z, 500.0 * p[1] / z]
                })
                .collect()
        };
        let (rest, turned) = (project(0.0), project(35.0));
        let fit = fit_homography(&rest, &turned).unwrap();
        assert!(rms_error(&fit, &rest, &turned) > 3.0);
        assert!(fit_homography(&rest[..3], &turned[..3]).is_none());
    }
}
