//! The decision threshold of a 1:N search (COLLECTION analyses and
//! `POST /api/collections/{id}/search`): one that keeps the false-positive identification rate
//! (FPIR, the share of strangers who hit someone) at or below `collection_fpir` (1 %) whatever
//! the number of faces searched.
//!
//! A 1:1 threshold applied to 1:N gives each stranger N chances to hit: with per-comparison
//! false-accept rate FAR(t), `FPIR ≈ 1 − (1 − FAR(t))^N` (independent comparisons). So the
//! default threshold is the lowest cosine t with `FAR(t) ≤ 1 − (1 − FPIR)^(1/N)`, N = the faces
//! (enrolled photos of this pack) in the searched collections, FAR from the pack's impostor tail
//! ([`faceproof_engine::calibration::ImpostorTail`]), mapped to a confidence through the pack's
//! calibration. It never goes below the server's `collection_threshold` (the 1:1 floor, 0.85):
//! a small gallery keeps the 1:1 decision. An explicit threshold — the request's, else the
//! company's `collection_threshold` — is applied as given. Measured in `docs/scores.md`.

use faceproof_engine::calibration::{far_for_fpir, Calibration};
use serde_json::{json, Value};

/// Where a collection threshold came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The request's `threshold` parameter.
    Request,
    /// The company's `collection_threshold` setting.
    Company,
    /// Derived from the gallery size (above the floor).
    Scaled,
    /// The server's floor (`collection_threshold`): the gallery is small enough, or the pack
    /// has no measured impostor tail, or scaling is off (`collection_fpir` 0).
    Floor,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Request => "request",
            Source::Company => "company",
            Source::Scaled => "gallery_size",
            Source::Floor => "server_default",
        }
    }
}

/// A threshold given explicitly (request or company), as a calibrated confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Explicit {
    pub confidence: f32,
    pub source: Source,
}

/// The threshold a search applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Applied {
    /// Calibrated confidence: a hit at or above is a match.
    pub confidence: f32,
    /// The same threshold as a cosine similarity (what the index compares).
    pub similarity: f32,
    pub source: Source,
    /// Faces searched (enrolled photos of the running pack in the searched collections).
    pub gallery_faces: usize,
    /// The per-comparison FAR of this threshold by the pack's impostor tail, when measured.
    pub far: Option<f64>,
}

impl Applied {
    /// The `threshold` fields of a response: the confidence plus how it was chosen.
    pub fn to_json(&self) -> Value {
        json!({
            "threshold": (self.confidence as f64 * 1e4).round() / 1e4,
            "threshold_similarity": (self.similarity as f64 * 1e4).round() / 1e4,
            "threshold_source": self.source.as_str(),
            "gallery_faces": self.gallery_faces,
            // the FPIR this threshold is expected to give against this gallery
            "expected_fpir": self.far.map(|f| {
                let fpir = -((1.0 - f).ln() * self.gallery_faces as f64).exp_m1();
                (fpir * 1e6).round() / 1e6
            }),
        })
    }
}

/// The threshold for a search of `gallery_faces` faces (see the module doc).
pub fn decide(
    calibration: &Calibration,
    explicit: Option<Explicit>,
    floor: f32,
    target_fpir: f64,
    gallery_faces: usize,
) -> Applied {
    let far = |t: f32| calibration.impostors.map(|tail| tail.far(t));
    if let Some(e) = explicit {
        let similarity = calibration.similarity_for(e.confidence);
        return Applied {
            confidence: e.confidence,
            similarity,
            source: e.source,
            gallery_faces,
            far: far(similarity),
        };
    }
    let floor_similarity = calibration.similarity_for(floor);
    let scaled = calibration
        .impostors
        .filter(|_| target_fpir > 0.0)
        .map(|tail| tail.similarity_for_far(far_for_fpir(target_fpir, gallery_faces)))
        .filter(|t| *t > floor_similarity);
    match scaled {
        Some(similarity) => Applied {
            confidence: calibration.confidence(similarity),
            similarity,
            source: Source::Scaled,
            gallery_faces,
            far: far(similarity),
        },
        None => Applied {
            confidence: floor,
            similarity: floor_similarity,
            source: Source::Floor,
            gallery_faces,
            far: far(floor_similarity),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faceproof_engine::calibration::ImpostorTail;

    fn sface() -> Calibration {
        Calibration {
            slope: 20.007,
            offset: -6.216,
            impostors: Some(ImpostorTail {
                mean: 0.0844,
                std: 0.0966,
            }),
        }
    }

    #[test]
    fn threshold_scales_with_the_gallery_above_the_floor() {
        let c = sface();
        let small = decide(&c, None, 0.85, 0.01, 10);
        assert_eq!(small.source, Source::Floor);
        assert_eq!(small.confidence, 0.85);
        let mut last = small.similarity;
        for n in [80, 160, 10_000, 1_000_000] {
            let a = decide(&c, None, 0.85, 0.01, n);
            assert_eq!(a.source, Source::Scaled, "{n}");
            assert!(a.similarity > last && a.confidence > 0.85, "{n}: {a:?}");
            // the expected FPIR is the target
            let fpir = 1.0 - (1.0 - a.far.unwrap()).powf(n as f64);
            assert!((fpir - 0.01).abs() < 1e-4, "{n}: {fpir}");
            last = a.similarity;
        }
        // an explicit threshold wins; no tail or no target keeps the floor
        let e = Explicit {
            confidence: 0.6,
            source: Source::Company,
        };
        let a = decide(&c, Some(e), 0.85, 0.01, 1_000_000);
        assert_eq!((a.confidence, a.source), (0.6, Source::Company));
        let plain = Calibration {
            impostors: None,
            ..c
        };
        assert_eq!(decide(&plain, None, 0.85, 0.01, 1000).source, Source::Floor);
        assert_eq!(decide(&c, None, 0.85, 0.0, 1000).source, Source::Floor);
        assert_eq!(
            decide(&c, None, 0.85, 0.01, 80).to_json()["threshold_source"],
            "gallery_size"
        );
    }
}
