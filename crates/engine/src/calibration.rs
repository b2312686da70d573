//! Similarity → confidence. One place documents what a match score means.
//!
//! The embedder's cosine similarity is mapped to a `confidence` in [0, 1] by a logistic curve
//! `confidence = 1 / (1 + exp(-(slope · cosine + offset)))`, fitted by maximum likelihood on the
//! verification pairs of `shared/data/verification` (500 genuine, 500 impostor pairs; refit with
//! `faceproof eval verify --pairs … --fit-calibration`). With balanced classes the confidence
//! reads as the probability that the two faces are the same person. The curve is monotone, so a
//! threshold on confidence is a threshold on similarity, and every figure below holds for both.
//!
//! Each pack carries its own curve (the manifest's `embedding.calibration`): a cosine of one
//! embedder means nothing for another. Default pack (SFace, no flip): slope 20.007, offset
//! −6.216; confidence 0.85 is cosine 0.397, accepting 0 of 500 impostors and 93.0 % of genuine
//! pairs. The constants below are the faceplugin pack's (flip): confidence 0.85 is cosine 0.330,
//! accepting 2 of 500 impostors (FAR 0.4 %) and 92.2 % of genuine pairs
//! ([`DEFAULT_THRESHOLD_FAR`], [`DEFAULT_THRESHOLD_TAR`]; tables in `docs/scores.md`).

use serde::{Deserialize, Serialize};

/// A monotone logistic map from cosine similarity to confidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub slope: f32,
    pub offset: f32,
    /// The upper tail of this embedder's impostor cosines, which gives the per-comparison FAR a
    /// similarity threshold has — what a 1:N threshold must scale with (the logistic curve
    /// alone cannot say it: it is a likelihood ratio, not a tail). `None` for a pack that was
    /// not measured: its collection searches keep the fixed threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impostors: Option<ImpostorTail>,
}

/// The false-accept rate of a cosine threshold: `FAR(t) = Q((t − mean) / std)`, a normal upper
/// tail **fitted to the tail, not to the whole distribution** — through the empirical quantiles
/// at FAR 1e-2 and 1e-4 of every cross-identity pair of `shared/data/verification` (235,047
/// pairs for SFace). A normal fitted to the mean and deviation of all impostors underestimates
/// the tail (4.4e-4 against 5.5e-4 measured at cosine 0.397); the tail fit matches the measured
/// FAR within its counting noise from 1e-2 to 1e-4 (`docs/scores.md`). Below 1e-4 it is an
/// extrapolation: 235k pairs hold too few impostors above cosine 0.46 to measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImpostorTail {
    pub mean: f32,
    pub std: f32,
}

impl ImpostorTail {
    /// Share of impostor comparisons at or above cosine `t`.
    pub fn far(&self, t: f32) -> f64 {
        normal_upper_tail((t as f64 - self.mean as f64) / self.std as f64)
    }

    /// The cosine whose FAR is `far` (clamped to [-1, 1]).
    pub fn similarity_for_far(&self, far: f64) -> f32 {
        // FAR falls monotonically with t: bisection is exact enough and needs no inverse erf.
        let (mut lo, mut hi) = (-1.0f32, 1.0f32);
        if self.far(hi) >= far {
            return hi;
        }
        if self.far(lo) <= far {
            return lo;
        }
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if self.far(mid) > far {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    /// The tail fit described on the type, from impostor cosines (at least 10,000 of them, so
    /// that the 1e-2 quantile is measured; the upper quantile is 1e-4 or, with fewer pairs,
    /// the one 20 impostors reach).
    pub fn fit(impostor_cosines: &[f32]) -> Option<ImpostorTail> {
        if impostor_cosines.len() < 10_000 {
            return None;
        }
        let mut s: Vec<f32> = impostor_cosines.to_vec();
        s.sort_by(|a, b| b.total_cmp(a));
        let n = s.len() as f64;
        let quantile = |far: f64| s[((far * n).round() as usize).clamp(1, s.len()) - 1] as f64;
        let (far_a, far_b) = (1e-2, (20.0 / n).max(1e-4));
        let (qa, qb) = (quantile(far_a), quantile(far_b));
        let (za, zb) = (normal_upper_quantile(far_a), normal_upper_quantile(far_b));
        let std = (qb - qa) / (zb - za);
        (std > 0.0).then_some(ImpostorTail {
            mean: (qa - za * std) as f32,
            std: std as f32,
        })
    }
}

/// `Q(z) = P(Z ≥ z)` for a standard normal, through `erfc` (W. J. Cody's rational
/// approximations as in Numerical Recipes' `erfcc`: relative error < 1.2e-7 everywhere, so
/// also in the far tail where 1 − Φ would cancel).
fn normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The z with `Q(z) = p` (bisection on [`normal_upper_tail`]).
fn normal_upper_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_upper_tail(mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Per-comparison FAR that keeps the false-positive identification rate of a search against
/// `faces` independent enrolled faces at or below `fpir`: `1 − (1 − FAR)^N ≤ fpir` ⇔
/// `FAR ≤ 1 − (1 − fpir)^(1/N)` (computed without cancellation).
pub fn far_for_fpir(fpir: f64, faces: usize) -> f64 {
    let n = faces.max(1) as f64;
    -((1.0 - fpir).ln() / n).exp_m1()
}

/// The faceplugin pack's curve, fitted on `shared/data/verification` with flip test-time
/// augmentation: confidence 0.5 at cosine 0.236, 0.85 at cosine 0.330. Also the curve of a
/// manifest that names none.
pub const DEFAULT_CALIBRATION: Calibration = Calibration {
    slope: 18.377,
    offset: -4.334,
    impostors: None,
};

/// Default decision threshold on confidence for biometry (Oz API §5.2).
pub const DEFAULT_MATCH_THRESHOLD: f32 = 0.85;
/// False-accept rate of [`DEFAULT_MATCH_THRESHOLD`] with the faceplugin pack, measured on the
/// verification impostor pairs.
pub const DEFAULT_THRESHOLD_FAR: f32 = 0.004;
/// True-accept rate of [`DEFAULT_MATCH_THRESHOLD`] with the faceplugin pack, measured on the
/// verification genuine pairs.
pub const DEFAULT_THRESHOLD_TAR: f32 = 0.922;

impl Calibration {
    pub fn confidence(&self, cosine: f32) -> f32 {
        1.0 / (1.0 + (-(self.slope * cosine + self.offset)).exp())
    }

    /// The cosine similarity at which the confidence equals `confidence` (inverse map).
    pub fn similarity_for(&self, confidence: f32) -> f32 {
        let c = confidence.clamp(1e-6, 1.0 - 1e-6);
        ((c / (1.0 - c)).ln() - self.offset) / self.slope
    }

    /// Maximum-likelihood logistic fit (Newton's method) of `same` on `cosine`.
    pub fn fit(scores: &[(f32, bool)]) -> Calibration {
        let (mut a, mut b) = (10.0f64, -4.0f64);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
            for &(x, y) in scores {
                let x = x as f64;
                let p = 1.0 / (1.0 + (-(a * x + b)).exp());
                let r = (y as u8 as f64) - p;
                ga += r * x;
                gb += r;
                let w = p * (1.0 - p) + 1e-9;
                haa += w * x * x;
                hab += w * x;
                hbb += w;
            }
            // Small ridge keeps the step finite when the classes separate perfectly.
            let (haa, hbb) = (haa + 1e-6, hbb + 1e-6);
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-12 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            a += da;
            b += db;
            if da.abs() < 1e-7 && db.abs() < 1e-7 {
                break;
            }
        }
        Calibration {
            slope: a as f32,
            offset: b as f32,
            impostors: ImpostorTail::fit(
                &scores
                    .iter()
                    .filter(|(_, same)| !same)
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

impl Default for Calibration {
    fn default() -> Self {
        DEFAULT_CALIBRATION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_monotone_and_invertible() {
        let c = DEFAULT_CALIBRATION;
        assert!(c.confidence(0.2) < c.confidence(0.4));
        let s = c.similarity_for(0.85);
        assert!((c.confidence(s) - 0.85).abs() < 1e-4);
    }

    #[test]
    fn impostor_tail_inverts_and_scales_with_the_gallery() {
        let tail = ImpostorTail {
            mean: 0.0844,
            std: 0.0966,
        };
        // Q(2.326) = 1e-2, Q(3.719) = 1e-4
        assert!((tail.far(0.0844 + 2.3263 * 0.0966) - 1e-2).abs() < 1e-5);
        assert!((tail.far(0.0844 + 3.7190 * 0.0966) / 1e-4 - 1.0).abs() < 1e-3);
        for far in [1e-2, 1e-4, 1e-6] {
            let t = tail.similarity_for_far(far);
            assert!((tail.far(t) / far - 1.0).abs() < 1e-3, "{far} {t}");
        }
        assert!((far_for_fpir(0.01, 1) - 0.01).abs() < 1e-12);
        // 1 − 0.99^(1/100)
        assert!((far_for_fpir(0.01, 100) - 1.004_983e-4).abs() < 1e-9);
        let (t10, t1k) = (
            tail.similarity_for_far(far_for_fpir(0.01, 10)),
            tail.similarity_for_far(far_for_fpir(0.01, 1000)),
        );
        assert!(t10 < t1k, "{t10} {t1k}");
        // the fit recovers a normal's tail from its quantiles
        let n = 200_000;
        let sample: Vec<f32> = (1..n)
            .map(|i| 0.1 + 0.09 * normal_upper_quantile(i as f64 / n as f64) as f32)
            .collect();
        let fit = ImpostorTail::fit(&sample).unwrap();
        assert!(
            (fit.mean - 0.1).abs() < 2e-3 && (fit.std - 0.09).abs() < 2e-3,
            "{fit:?}"
        );
        assert_eq!(ImpostorTail::fit(&sample[..100]), None);
    }

    #[test]
    fn fit_separates_two_clusters() {
        let mut data = Vec::new();
        for i in 0..100 {
            data.push((0.1 + (i % 10) as f32 * 0.02, false));
            data.push((0.5 + (i % 10) as f32 * 0.02, true));
        }
        data.push((0.45, false));
        data.push((0.25, true));
        let c = Calibration::fit(&data);
        assert!(c.confidence(0.6) > 0.9 && c.confidence(0.1) < 0.1, "{c:?}");
    }
}
