//! Evaluation metrics: ROC, TAR at FAR, EER and accuracy for verification; APCER, BPCER and
//! ACER (ISO/IEC 30107-3) for presentation-attack detection. Scores are "higher means more
//! likely positive": similarity for verification, `confidence_spoofing` for attacks.

use serde::Serialize;

/// One operating point.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RocPoint {
    pub threshold: f32,
    /// Fraction of negatives scoring ≥ threshold.
    pub far: f64,
    /// Fraction of positives scoring ≥ threshold.
    pub tar: f64,
}

fn frac_at_least(sorted_desc: &[f32], t: f32) -> f64 {
    if sorted_desc.is_empty() {
        return 0.0;
    }
    sorted_desc.partition_point(|&s| s >= t) as f64 / sorted_desc.len() as f64
}

fn sorted_desc(v: &[f32]) -> Vec<f32> {
    let mut s = v.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

/// Every distinct operating point, from the strictest threshold to the loosest.
pub fn roc(positives: &[f32], negatives: &[f32]) -> Vec<RocPoint> {
    let (p, n) = (sorted_desc(positives), sorted_desc(negatives));
    let mut thresholds: Vec<f32> = p.iter().chain(n.iter()).cloned().collect();
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    thresholds
        .into_iter()
        .map(|t| RocPoint {
            threshold: t,
            far: frac_at_least(&n, t),
            tar: frac_at_least(&p, t),
        })
        .collect()
}

/// The best TAR whose FAR does not exceed `far` (thresholds taken at observed scores; with
/// fewer than 1/far negatives this means "above every negative").
pub fn tar_at_far(positives: &[f32], negatives: &[f32], far: f64) -> RocPoint {
    let mut best = RocPoint {
        threshold: f32::INFINITY,
        far: 0.0,
        tar: 0.0,
    };
    for pt in roc(positives, negatives) {
        if pt.far <= far + 1e-12 && pt.tar >= best.tar {
            best = pt;
        }
    }
    best
}

/// Equal error rate: where the false-accept rate meets the false-reject rate.
pub fn eer(positives: &[f32], negatives: &[f32]) -> f64 {
    let points = roc(positives, negatives);
    let mut best = (f64::INFINITY, 1.0);
    for pt in &points {
        let frr = 1.0 - pt.tar;
        let gap = (pt.far - frr).abs();
        if gap < best.0 {
            best = (gap, (pt.far + frr) / 2.0);
        }
    }
    best.1
}

/// Best accuracy over all thresholds, and the threshold reaching it.
pub fn best_accuracy(positives: &[f32], negatives: &[f32]) -> (f64, f32) {
    let total = (positives.len() + negatives.len()) as f64;
    let mut best = (0.0, 0.0);
    for pt in roc(positives, negatives) {
        let correct = pt.tar * positives.len() as f64 + (1.0 - pt.far) * negatives.len() as f64;
        if correct / total > best.0 {
            best = (correct / total, pt.threshold);
        }
    }
    best
}

/// ISO/IEC 30107-3 error rates at one threshold on `confidence_spoofing` (≥ threshold ⇒ attack).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PadRates {
    pub threshold: f32,
    /// Attack presentations classified as bona fide.
    pub apcer: f64,
    /// Bona fide presentations classified as attacks.
    pub bpcer: f64,
    pub acer: f64,
}

pub fn pad_rates(attack_scores: &[f32], bona_fide_scores: &[f32], threshold: f32) -> PadRates {
    let apcer = 1.0 - frac_at_least(&sorted_desc(attack_scores), threshold);
    let bpcer = frac_at_least(&sorted_desc(bona_fide_scores), threshold);
    PadRates {
        threshold,
        apcer,
        bpcer,
        acer: (apcer + bpcer) / 2.0,
    }
}

/// The lowest BPCER whose APCER does not exceed `apcer`. Flagging everything as an attack
/// (APCER 0, BPCER 1) is always admissible, so there is always an answer.
pub fn bpcer_at_apcer(attack_scores: &[f32], bona_fide_scores: &[f32], apcer: f64) -> PadRates {
    let mut best = pad_rates(attack_scores, bona_fide_scores, f32::NEG_INFINITY);
    for p in roc(attack_scores, bona_fide_scores) {
        let rates = pad_rates(attack_scores, bona_fide_scores, p.threshold);
        if rates.apcer <= apcer + 1e-12 && rates.bpcer < best.bpcer {
            best = rates;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_separation_has_zero_errors() {
        let pos = [0.9, 0.8, 0.7];
        let neg = [0.1, 0.2, 0.3];
        assert_eq!(eer(&pos, &neg), 0.0);
        assert_eq!(best_accuracy(&pos, &neg).0, 1.0);
        assert_eq!(tar_at_far(&pos, &neg, 0.0).tar, 1.0);
    }

    #[test]
    fn tar_at_far_respects_the_far_budget() {
        let pos = [0.9, 0.6, 0.4, 0.35];
        let neg = [0.5, 0.3, 0.2, 0.1];
        let pt = tar_at_far(&pos, &neg, 0.0);
        assert_eq!(pt.tar, 0.5);
        let pt = tar_at_far(&pos, &neg, 0.25);
        assert_eq!(pt.tar, 1.0);
    }

    #[test]
    fn pad_rates_count_both_error_kinds() {
        let attacks = [0.9, 0.8, 0.2];
        let bona = [0.1, 0.6];
        let r = pad_rates(&attacks, &bona, 0.5);
        assert!((r.apcer - 1.0 / 3.0).abs() < 1e-9);
        assert!((r.bpcer - 0.5).abs() < 1e-9);
        // APCER 0 needs a threshold at or below the weakest attack (0.2): the bona fide 0.6 is then flagged.
        let r = bpcer_at_apcer(&attacks, &bona, 0.0);
        assert_eq!(r.apcer, 0.0);
        assert_eq!(r.bpcer, 0.5);
    }
}
