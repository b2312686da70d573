//! The accuracy floor: on the whole of `shared/data`, the engine must reach the figures the
//! reference pipeline reaches with the same models (`shared/reference/README.md`): with the
//! faceplugin pack verification accuracy ≥ 0.965 and TAR ≥ 0.898 at FAR 1e-3; with the default
//! SFace pack (no reference fixture; measured 0.974 and 0.946 on both backends) accuracy ≥ 0.97
//! and TAR ≥ 0.93 at FAR 1e-3; liveness EER ≤ 0.10 on images with a face. A drop below these
//! means a preprocessing bug.

use crate::common;

use std::path::Path;

use faceproof_engine::{eval, AnalyzeOptions, Engine};

/// Map `f` over `items` on all cores.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn embed(engine: &Engine, path: &Path) -> Option<Vec<f32>> {
    let opts = AnalyzeOptions {
        liveness: false,
        attributes: false,
        ..AnalyzeOptions::default()
    };
    let frame = engine
        .decode(&std::fs::read(path).ok()?)
        .ok()?
        .frames
        .remove(0)
        .image;
    engine
        .analyze_image(&frame, &opts)
        .ok()?
        .face()?
        .embedding
        .clone()
}

/// Accuracy and TAR at FAR 1e-3 of `engine` on the shared verification pairs (a pair whose face
/// is not found counts as a rejection).
fn verification(engine: &Engine, data: &Path) -> (f64, f64) {
    let dir = data.join("verification");
    let mut reader = csv::Reader::from_path(dir.join("pairs.csv")).unwrap();
    let pairs: Vec<(String, String, bool)> = reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_string(), r[1].to_string(), &r[2] == "1"))
        .collect();
    let mut images: Vec<String> = pairs
        .iter()
        .flat_map(|p| [p.0.clone(), p.1.clone()])
        .collect();
    images.sort();
    images.dedup();
    let embeddings: std::collections::HashMap<String, Option<Vec<f32>>> = images
        .iter()
        .cloned()
        .zip(par_map(&images, |p| embed(engine, &dir.join(p))))
        .collect();
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for (l, r, same) in &pairs {
        let score = match (&embeddings[l], &embeddings[r]) {
            (Some(a), Some(b)) => engine.compare(a, b).0,
            _ => -1.0,
        };
        if *same {
            genuine.push(score)
        } else {
            impostor.push(score)
        }
    }
    let (accuracy, _) = eval::best_accuracy(&genuine, &impostor);
    let tar = eval::tar_at_far(&genuine, &impostor, 1e-3).tar;
    eprintln!(
        "verification, pack {} on {}: accuracy {accuracy:.3}, TAR@FAR1e-3 {tar:.3}",
        engine.pack_id(),
        engine.backend()
    );
    (accuracy, tar)
}

#[test]
fn sface_verification_reaches_its_floor() {
    let (Some(engine), Some(data)) = (common::default_engine(), common::data_dir()) else {
        return;
    };
    assert_eq!(engine.pack_id(), "sface-2021dec");
    let (accuracy, tar) = verification(&engine, &data);
    assert!(accuracy >= 0.97, "accuracy {accuracy}");
    assert!(tar >= 0.93, "TAR at FAR 1e-3 {tar}");
}

#[test]
fn faceplugin_verification_reaches_the_reference_floor() {
    let (Some(engine), Some(data)) = (
        common::pack_engine("faceplugin", faceproof_engine::models::BackendChoice::Auto),
        common::data_dir(),
    ) else {
        return;
    };
    let (accuracy, tar) = verification(&engine, &data);
    assert!(accuracy >= 0.965, "accuracy {accuracy}");
    assert!(tar >= 0.898, "TAR at FAR 1e-3 {tar}");
}

#[test]
fn liveness_reaches_the_reference_floor() {
    let (Some(engine), Some(data)) = (common::default_engine(), common::data_dir()) else {
        return;
    };
    let dir = data.join("liveness");
    let mut reader = csv::Reader::from_path(dir.join("labels.csv")).unwrap();
    let samples: Vec<(String, bool)> = reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_string(), &r[1] == "spoof"))
        .collect();
    let opts = AnalyzeOptions {
        embedding: false,
        attributes: false,
        ..AnalyzeOptions::default()
    };
    let scores = par_map(&samples, |(p, _)| {
        let frame = engine
            .decode(&std::fs::read(dir.join(p)).ok()?)
            .ok()?
            .frames
            .remove(0)
            .image;
        engine
            .analyze_image(&frame, &opts)
            .ok()?
            .face()?
            .liveness
            .as_ref()
            .map(|l| l.confidence_spoofing)
    });
    let (mut attacks, mut bona_fide) = (Vec::new(), Vec::new());
    for ((_, attack), score) in samples.iter().zip(scores) {
        if let Some(s) = score {
            if *attack {
                attacks.push(s)
            } else {
                bona_fide.push(s)
            }
        }
    }
    let found = attacks.len() + bona_fide.len();
    let eer = eval::eer(&attacks, &bona_fide);
    eprintln!(
        "liveness on {}: {found} faces, EER {eer:.3}",
        engine.backend()
    );
    assert!(
        found >= 550,
        "faces found in only {found} of {} images",
        samples.len()
    );
    assert!(eer <= 0.10, "EER {eer}");
    let at_1 = eval::bpcer_at_apcer(&attacks, &bona_fide, 0.01);
    assert!(at_1.bpcer <= 0.25, "BPCER at APCER 1%: {}", at_1.bpcer);
}
