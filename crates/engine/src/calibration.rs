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
}

/// The faceplugin pack's curve, fitted on `shared/data/verification` with flip test-time
/// augmentation: confidence 0.5 at cosine 0.236, 0.85 at cosine 0.330. Also the curve of a
/// manifest that names none.
pub const DEFAULT_CALIBRATION: Calibration = Calibration {
    slope: 18.377,
    offset: -4.334,
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
