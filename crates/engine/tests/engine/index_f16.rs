//! Half-precision index rows change no ranking on real faces: every photo of
//! `shared/data/verification` (≈700, 160 identities) is embedded by the default pack (SFace,
//! 128-d) and enrolled in an `f32` and an `f16` [`FlatIndex`]; each photo is then searched (itself
//! excluded) and the two top-10 lists are compared.
//!
//! Near-ties: an `f16` score may differ from the `f32` one by at most
//! `b(x) = 2⁻¹¹ · Σ|qᵢ·xᵢ| + 1e-6` (rounding of each stored component to 11 significant bits,
//! plus `f32` summation noise). Two faces whose `f32` scores differ by no more than
//! `b(x) + b(y)` cannot be ordered by an `f16` index; the test counts such pairs. Where the lists
//! differ, every difference must be such a pair — the same id set up to swaps of near-tied
//! neighbours, including the 10th/11th boundary — and any other difference fails. The printed
//! figures say how many lists were identical and how many near-ties occurred.

use crate::common;

use std::path::{Path, PathBuf};

use faceproof_engine::search::{FlatIndex, Precision};
use faceproof_engine::{AnalyzeOptions, Engine};

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

fn photos(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(data.join("verification")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).unwrap() {
                out.push(f.unwrap().path());
            }
        }
    }
    out.sort();
    out
}

fn normalised(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

#[test]
fn f16_index_ranks_real_faces_as_f32() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let Some(engine) = common::default_engine() else {
        return;
    };
    let files = photos(&data);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = files.len().div_ceil(threads);
    let embedded: Vec<(&Path, Vec<f32>)> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|c| {
                s.spawn(|| {
                    c.iter()
                        .filter_map(|p| embed(&engine, p).map(|e| (p.as_path(), e)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let (names, embeddings): (Vec<&Path>, Vec<Vec<f32>>) = embedded.into_iter().unzip();
    assert!(embeddings.len() >= 650, "{} faces", embeddings.len());
    let dim = embeddings[0].len();
    let mut f32_index = FlatIndex::new(dim);
    let mut f16_index = FlatIndex::new(dim).with_precision(Precision::F16);
    for (i, e) in embeddings.iter().enumerate() {
        f32_index.add(i, e).unwrap();
        f16_index.add(i, e).unwrap();
    }
    let unit: Vec<Vec<f32>> = embeddings.iter().map(|e| normalised(e)).collect();
    let k = 10;
    let (mut identical, mut near_ties, mut max_err) = (0, 0, 0.0f32);
    for (qi, q) in unit.iter().enumerate() {
        let exact = f32_index.search(q, k + 1, -1.0, |id| *id != qi);
        let half = f16_index.search(q, k, -1.0, |id| *id != qi);
        assert_eq!(half.len(), k);
        let bound = |id: usize| {
            q.iter()
                .zip(&unit[id])
                .map(|(a, b)| (a * b).abs())
                .sum::<f32>()
                / 2048.0
                + 1e-6
        };
        let score = |id: usize| q.iter().zip(&unit[id]).map(|(a, b)| a * b).sum::<f32>();
        for h in &half {
            let err = (h.similarity - score(h.id)).abs();
            max_err = max_err.max(err);
            assert!(err <= bound(h.id), "query {qi}: id {} error {err}", h.id);
        }
        let want: Vec<usize> = exact[..k].iter().map(|h| h.id).collect();
        let got: Vec<usize> = half.iter().map(|h| h.id).collect();
        if want == got {
            identical += 1;
            continue;
        }
        // Every position where the lists differ must hold two faces the f16 scores cannot
        // order: f32 scores within the sum of their rounding bounds (the 11th f32 face may enter
        // at the 10th place the same way).
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            if w != g {
                let gap = (score(*w) - score(*g)).abs();
                assert!(
                    gap <= bound(*w) + bound(*g),
                    "query {qi} ({}): rank {} is {w} in f32 and {g} in f16, f32 scores {gap} apart \
                     (more than f16 rounding can explain)",
                    names[qi].display(),
                    i + 1
                );
                near_ties += 1;
            }
        }
    }
    println!(
        "f16 vs f32 index on {} real {dim}-d embeddings: {identical} of {} top-{k} lists identical; \
         {near_ties} positions differ, all between near-tied faces; largest score error {max_err:.2e}",
        unit.len(),
        unit.len()
    );
}
