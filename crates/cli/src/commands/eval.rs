//! `faceproof eval verify|liveness|tail|documents` (documents: `eval_documents`): accuracy on labelled data in the formats of `shared/data`.
//! Paths inside a CSV are relative to the CSV's folder. With `--json`, one JSON object on stdout
//! whose keys other tools read (keep them stable).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context;
use faceproof_engine::calibration::{Calibration, ImpostorTail, DEFAULT_MATCH_THRESHOLD};
use faceproof_engine::eval;
use faceproof_engine::{AnalyzeOptions, Engine};
use rayon::prelude::*;
use serde_json::json;

use crate::Globals;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(clap::Subcommand)]
enum Task {
    /// Face verification on pairs: CSV with columns left,right,same (same = 1 or 0).
    Verify {
        #[arg(long)]
        pairs: PathBuf,
        #[arg(long)]
        json: bool,
        /// Also fit the similarity → confidence calibration and print it.
        #[arg(long)]
        fit_calibration: bool,
    },
    /// The upper tail of impostor similarities over every cross-identity pair of a folder of
    /// `<person>/<photo>` images, and its normal fit (the manifest's
    /// `embedding.calibration.impostors`, which scales blacklist thresholds with the gallery).
    Tail {
        /// A folder with one sub-folder of photos per person (e.g. shared/data/verification).
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Presentation-attack detection: CSV with columns path,label (live or spoof).
    /// ID documents: CSV with columns path,doc_type,has_face (shared/data/documents/documents.csv):
    /// MRZ exact-read rate, check-digit pass rate, portrait-found rate, CPU per document.
    Documents {
        #[arg(long, default_value = "../shared/data/documents/documents.csv")]
        labels: PathBuf,
        #[arg(long)]
        json: bool,
    },
    Liveness {
        #[arg(long)]
        labels: PathBuf,
        /// Decision threshold on confidence_spoofing (≥ threshold ⇒ attack).
        #[arg(long, default_value_t = 0.5)]
        threshold: f32,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    let engine = globals.load_engine()?;
    match args.task {
        Task::Verify {
            pairs,
            json,
            fit_calibration,
        } => verify(&engine, &pairs, json, fit_calibration),
        Task::Liveness {
            labels,
            threshold,
            json,
        } => liveness(&engine, &labels, threshold, json),
        Task::Tail { dir, json } => tail(&engine, &dir, json),
        Task::Documents { labels, json } => {
            super::eval_documents::documents(&engine, &labels, json)
        }
    }
}

fn tail(engine: &Engine, dir: &Path, as_json: bool) -> anyhow::Result<()> {
    let mut photos: Vec<(String, String)> = Vec::new();
    for person in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let person = person?.path();
        if !person.is_dir() {
            continue;
        }
        let name = person
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        for f in std::fs::read_dir(&person)? {
            let f = f?.path();
            if f.is_file() {
                photos.push((name.clone(), f.to_string_lossy().to_string()));
            }
        }
    }
    photos.sort();
    let paths: Vec<String> = photos.iter().map(|(_, p)| p.clone()).collect();
    let embeddings = embed_photos(engine, Path::new(""), &paths, "embedding");
    let with_face: Vec<(&str, &Vec<f32>)> = photos
        .iter()
        .filter_map(|(person, p)| embeddings.get(p).map(|e| (person.as_str(), e)))
        .collect();
    let mut impostors = Vec::new();
    for (i, (a, ea)) in with_face.iter().enumerate() {
        for (b, eb) in &with_face[i + 1..] {
            if a != b {
                impostors.push(engine.compare(ea, eb).0);
            }
        }
    }
    let fit = ImpostorTail::fit(&impostors);
    impostors.sort_by(|a, b| b.total_cmp(a));
    let n = impostors.len();
    // The measured FAR at the cosines the fit is read at, beside the fit's own.
    let table: Vec<_> = [1e-2, 1e-3, 1e-4]
        .iter()
        .filter(|&&far| far * n as f64 >= 1.0)
        .map(|&far| {
            let t = impostors[((far * n as f64).round() as usize).clamp(1, n) - 1];
            json!({ "far": far, "cosine": t, "fit_far": fit.map(|f| f.far(t)) })
        })
        .collect();
    let out = json!({
        "photos": photos.len(),
        "with_face": with_face.len(),
        "impostor_pairs": n,
        "impostors": fit,
        "measured": table,
        "backend": engine.backend(),
    });
    if as_json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

/// The rows of a CSV file as column → value maps, and the file's folder (paths in it are
/// relative to that folder).
pub(super) fn read_csv(path: &Path) -> anyhow::Result<(PathBuf, Vec<BTreeMap<String, String>>)> {
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        rows.push(
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok((base, rows))
}

fn field<'a>(row: &'a BTreeMap<String, String>, name: &str) -> anyhow::Result<&'a str> {
    row.get(name)
        .map(String::as_str)
        .ok_or_else(|| anyhow::anyhow!("the CSV has no column {name:?}"))
}

/// Run `f` over every path on all cores with a progress bar; failures become `None`.
fn measure_all<T: Send>(
    paths: &[String],
    what: &str,
    f: impl Fn(&str) -> Option<T> + Sync,
) -> BTreeMap<String, T> {
    let bar = super::progress(paths.len() as u64, what);
    let out = paths
        .par_iter()
        .filter_map(|p| {
            let r = f(p).map(|v| (p.clone(), v));
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    out
}

/// The embedding of each photo's largest face (`paths` relative to `base`), on all cores with a
/// progress bar; photos without a usable face are left out.
pub(super) fn embed_photos(
    engine: &Engine,
    base: &Path,
    paths: &[String],
    what: &str,
) -> BTreeMap<String, Vec<f32>> {
    let opts = AnalyzeOptions {
        liveness: false,
        attributes: false,
        ..AnalyzeOptions::default()
    };
    measure_all(paths, what, |p| {
        let decoded = engine.decode(&std::fs::read(base.join(p)).ok()?).ok()?;
        let report = engine.analyze_image(&decoded.frames[0].image, &opts).ok()?;
        report.face()?.embedding.clone()
    })
}

fn verify(
    engine: &Engine,
    pairs_csv: &Path,
    as_json: bool,
    fit_calibration: bool,
) -> anyhow::Result<()> {
    let (base, rows) = read_csv(pairs_csv)?;
    let mut pairs = Vec::new();
    for row in &rows {
        let same = matches!(field(row, "same")?.trim(), "1" | "true" | "True");
        pairs.push((
            field(row, "left")?.to_string(),
            field(row, "right")?.to_string(),
            same,
        ));
    }
    let images: Vec<String> = pairs
        .iter()
        .flat_map(|(l, r, _)| [l.clone(), r.clone()])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let embeddings = embed_photos(engine, &base, &images, "embedding");
    let (mut genuine, mut impostor, mut skipped, mut labelled) =
        (Vec::new(), Vec::new(), 0, Vec::new());
    for (l, r, same) in &pairs {
        // A pair without a face on either side is a rejection, as a deployed system must treat it.
        let score = match (embeddings.get(l), embeddings.get(r)) {
            (Some(a), Some(b)) => {
                let s = engine.compare(a, b).0;
                labelled.push((s, *same));
                s
            }
            _ => {
                skipped += 1;
                -1.0
            }
        };
        if *same {
            genuine.push(score)
        } else {
            impostor.push(score)
        }
    }
    let (accuracy, acc_threshold) = eval::best_accuracy(&genuine, &impostor);
    let at_1e2 = eval::tar_at_far(&genuine, &impostor, 1e-2);
    let at_1e3 = eval::tar_at_far(&genuine, &impostor, 1e-3);
    let eer = eval::eer(&genuine, &impostor);
    let calibration = engine.calibration();
    let default_similarity = calibration.similarity_for(DEFAULT_MATCH_THRESHOLD);
    let roc_points: Vec<_> = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]
        .iter()
        .map(|&far| {
            let p = eval::tar_at_far(&genuine, &impostor, far);
            json!({ "far_budget": far, "far": p.far, "tar": p.tar, "similarity": p.threshold,
                    "confidence": calibration.confidence(p.threshold) })
        })
        .collect();
    let at_default = eval::roc(&genuine, &impostor)
        .into_iter()
        .rfind(|p| p.threshold >= default_similarity)
        .map(|p| json!({ "far": p.far, "tar": p.tar }));
    let mut out = json!({
        "pairs": pairs.len(),
        "skipped": skipped,
        "accuracy": accuracy,
        "accuracy_threshold": acc_threshold,
        "tar_at_far_1e-2": at_1e2.tar,
        "tar_at_far_1e-3": at_1e3.tar,
        "eer": eer,
        "roc": roc_points,
        "default_threshold": { "confidence": DEFAULT_MATCH_THRESHOLD, "similarity": default_similarity, "rates": at_default },
        "backend": engine.backend(),
    });
    if fit_calibration {
        let fit = Calibration::fit(&labelled);
        out["calibration_fit"] = json!({ "slope": fit.slope, "offset": fit.offset,
            "similarity_at_0.85": fit.similarity_for(0.85), "similarity_at_0.5": fit.similarity_for(0.5) });
    }
    if as_json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

fn liveness(
    engine: &Engine,
    labels_csv: &Path,
    threshold: f32,
    as_json: bool,
) -> anyhow::Result<()> {
    let (base, rows) = read_csv(labels_csv)?;
    let mut samples = Vec::new();
    for row in &rows {
        let label = field(row, "label")?.trim().to_ascii_lowercase();
        let attack = match label.as_str() {
            "spoof" | "attack" | "fake" => true,
            "live" | "real" | "bona_fide" => false,
            other => anyhow::bail!("unknown label {other:?} (use live or spoof)"),
        };
        samples.push((field(row, "path")?.to_string(), attack));
    }
    let paths: Vec<String> = samples.iter().map(|(p, _)| p.clone()).collect();
    let opts = AnalyzeOptions {
        embedding: false,
        attributes: false,
        ..AnalyzeOptions::default()
    };
    let scores = measure_all(&paths, "liveness", |p| {
        let bytes = std::fs::read(base.join(p)).ok()?;
        let decoded = engine.decode(&bytes).ok()?;
        engine
            .analyze_media(&decoded, &[], &opts)
            .ok()?
            .confidence_spoofing()
    });
    let (mut attacks, mut bona_fide) = (Vec::new(), Vec::new());
    for (p, attack) in &samples {
        if let Some(&s) = scores.get(p) {
            if *attack {
                attacks.push(s)
            } else {
                bona_fide.push(s)
            }
        }
    }
    let skipped = samples.len() - attacks.len() - bona_fide.len();
    let rates = eval::pad_rates(&attacks, &bona_fide, threshold);
    let at_1 = eval::bpcer_at_apcer(&attacks, &bona_fide, 1e-2);
    let at_5 = eval::bpcer_at_apcer(&attacks, &bona_fide, 5e-2);
    let out = json!({
        "samples": attacks.len() + bona_fide.len(),
        "skipped": skipped,
        "threshold": threshold,
        "apcer": rates.apcer,
        "bpcer": rates.bpcer,
        "acer": rates.acer,
        "bpcer_at_apcer_1e-2": at_1.bpcer,
        "bpcer_at_apcer_5e-2": at_5.bpcer,
        "eer": eval::eer(&attacks, &bona_fide),
        "attacks": attacks.len(),
        "bona_fide": bona_fide.len(),
        "backend": engine.backend(),
    });
    if as_json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
