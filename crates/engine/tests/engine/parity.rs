//! Parity with the reference pipeline (onnxruntime + OpenCV over the same ONNX files), on both
//! backends, with the tolerances of `shared/reference/README.md`: same face count for clear
//! faces, box IoU ≥ 0.9, landmarks within a few pixels, embedding cosine ≥ 0.97 on average and
//! ≥ 0.90 each, spoofing confidence on the same side of 0.5 and within 0.05 where decisive.
//!
//! The reference covers the faceplugin pack only: `shared/reference` has no fixture for the SFace
//! embedder. For SFace the checks are that the dequantized model gives the same embeddings on
//! both backends (cosine ≥ 0.999 on every reference face) and the accuracy floor in
//! `accuracy.rs`; every other model of the SFace pack is the faceplugin file, checked here.

use crate::common;

use faceproof_engine::face::{self, BoundingBox};
use faceproof_engine::models::{BackendChoice, Role};
use serde_json::Value;

fn check_backend(backend: BackendChoice) {
    let Some(engine) = common::pack_engine("faceplugin", backend) else {
        return;
    };
    let Some(reference) = common::reference_file() else {
        return;
    };
    let data = common::data_dir().unwrap();
    let reference: Value = serde_json::from_slice(&std::fs::read(reference).unwrap()).unwrap();
    let images = reference["images"].as_object().unwrap();
    assert!(images.len() >= 20);
    let (mut cosines, mut compared_faces) = (Vec::new(), 0);
    for (rel, expected) in images {
        let bytes = std::fs::read(data.join(rel)).unwrap();
        let frame = engine.decode(&bytes).unwrap().frames.remove(0).image;
        assert_eq!(
            frame.width() as u64,
            expected["width"].as_u64().unwrap(),
            "{rel}"
        );
        let ours = engine.detect(&frame).unwrap();
        let clear: Vec<&Value> = expected["faces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["score"].as_f64().unwrap() >= 0.95)
            .collect();
        let ours_clear = ours.iter().filter(|d| d.score >= 0.95).count();
        assert_eq!(ours_clear, clear.len(), "{rel}: clear face count");
        for reference_face in clear {
            let b: Vec<f32> = reference_face["box"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let rbox = BoundingBox {
                x1: b[0],
                y1: b[1],
                x2: b[2],
                y2: b[3],
            };
            let det = ours
                .iter()
                .max_by(|a, c| a.bbox.iou(&rbox).total_cmp(&c.bbox.iou(&rbox)))
                .unwrap();
            let iou = det.bbox.iou(&rbox);
            assert!(
                iou >= 0.9,
                "{rel}: box IoU {iou} ({:?} vs {rbox:?})",
                det.bbox
            );

            let lm = face::landmarks(engine.net(Role::Landmarks), &frame, &det.bbox)
                .unwrap()
                .unwrap();
            let rlm = reference_face["landmarks68"].as_array().unwrap();
            let mean_err = lm
                .iter()
                .zip(rlm)
                .map(|(p, r)| {
                    let (rx, ry) = (r[0].as_f64().unwrap() as f32, r[1].as_f64().unwrap() as f32);
                    ((p[0] - rx).powi(2) + (p[1] - ry).powi(2)).sqrt()
                })
                .sum::<f32>()
                / 68.0;
            let allowed = (rbox.height() * 0.02).max(3.0);
            assert!(
                mean_err <= allowed,
                "{rel}: landmarks off by {mean_err:.2} px on average (allowed {allowed:.1})"
            );

            let aligned = face::aligned_face(&frame, &lm, 112).unwrap();
            let emb = face::embedding(engine.net(Role::Embedder), &aligned, false).unwrap();
            let remb: Vec<f32> = reference_face["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let mut remb_n = remb.clone();
            face::l2_normalise(&mut remb_n);
            let cos = face::cosine(&emb, &remb_n);
            assert!(cos >= 0.90, "{rel}: embedding cosine {cos}");
            cosines.push(cos);

            let live = face::liveness(engine.net(Role::Liveness), &frame, &det.bbox)
                .unwrap()
                .unwrap();
            let rs = reference_face["confidence_spoofing"].as_f64().unwrap() as f32;
            assert_eq!(
                live.confidence_spoofing >= 0.5,
                rs >= 0.5,
                "{rel}: spoofing {} vs {rs}",
                live.confidence_spoofing
            );
            if !(0.1..=0.9).contains(&rs) {
                assert!(
                    (live.confidence_spoofing - rs).abs() <= 0.05,
                    "{rel}: spoofing {} vs {rs}",
                    live.confidence_spoofing
                );
            }
            compared_faces += 1;
        }
    }
    assert!(compared_faces >= 18, "only {compared_faces} faces compared");
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
    assert!(mean >= 0.97, "mean embedding cosine {mean}");
    eprintln!(
        "{}: {compared_faces} faces, mean embedding cosine {mean:.4}",
        engine.backend()
    );
}

#[test]
fn tract_matches_the_reference_pipeline() {
    check_backend(BackendChoice::Tract);
}

#[test]
fn onnxruntime_matches_the_reference_pipeline() {
    check_backend(BackendChoice::Ort);
}

/// The SFace embedder, dequantized at install, on tract and on ONNX Runtime: the same vector
/// for every clear face of the reference images.
#[test]
fn sface_embeddings_agree_on_both_backends() {
    let (Some(tract), Some(ort)) = (
        common::pack_engine("sface", BackendChoice::Tract),
        common::pack_engine("sface", BackendChoice::Ort),
    ) else {
        return;
    };
    let Some(reference) = common::reference_file() else {
        return;
    };
    let data = common::data_dir().unwrap();
    let reference: Value = serde_json::from_slice(&std::fs::read(reference).unwrap()).unwrap();
    let mut compared = 0;
    let mut worst = 1.0f32;
    for rel in reference["images"].as_object().unwrap().keys() {
        let bytes = std::fs::read(data.join(rel)).unwrap();
        let frame = tract.decode(&bytes).unwrap().frames.remove(0).image;
        for det in tract.detect(&frame).unwrap() {
            if det.score < 0.95 {
                continue;
            }
            let Some(lm) = face::landmarks(tract.net(Role::Landmarks), &frame, &det.bbox).unwrap()
            else {
                continue;
            };
            let aligned = face::aligned_face(&frame, &lm, 112).unwrap();
            let a = face::embedding(tract.net(Role::Embedder), &aligned, false).unwrap();
            let b = face::embedding(ort.net(Role::Embedder), &aligned, false).unwrap();
            assert_eq!(a.len(), 128);
            let cos = face::cosine(&a, &b);
            assert!(cos >= 0.999, "{rel}: tract vs ort cosine {cos}");
            worst = worst.min(cos);
            compared += 1;
        }
    }
    assert!(compared >= 18, "only {compared} faces compared");
    eprintln!("sface: {compared} faces, lowest tract/ort cosine {worst:.5}");
}

#[test]
fn both_backends_agree_on_the_same_input() {
    let (Some(tract), Some(ort)) = (
        common::pack_engine("faceplugin", BackendChoice::Tract),
        common::pack_engine("faceplugin", BackendChoice::Ort),
    ) else {
        return;
    };
    assert_eq!((tract.backend(), ort.backend()), ("tract", "ort"));
    let Some(bytes) = common::data("verification/Colin_Powell/Colin_Powell_0001.jpg") else {
        return;
    };
    let frame = tract.decode(&bytes).unwrap().frames.remove(0).image;
    let det = tract.detect(&frame).unwrap().remove(0);
    let lm = face::landmarks(tract.net(Role::Landmarks), &frame, &det.bbox)
        .unwrap()
        .unwrap();
    let aligned = face::aligned_face(&frame, &lm, 112).unwrap();
    let a = face::embedding(tract.net(Role::Embedder), &aligned, true).unwrap();
    let b = face::embedding(ort.net(Role::Embedder), &aligned, true).unwrap();
    assert!(face::cosine(&a, &b) > 0.999);
    let a = face::liveness(tract.net(Role::Liveness), &frame, &det.bbox)
        .unwrap()
        .unwrap();
    let b = face::liveness(ort.net(Role::Liveness), &frame, &det.bbox)
        .unwrap()
        .unwrap();
    assert!((a.confidence_spoofing - b.confidence_spoofing).abs() < 1e-3);
    let a = face::pose(tract.net(Role::Pose), &frame, &det.bbox)
        .unwrap()
        .unwrap();
    let b = face::pose(ort.net(Role::Pose), &frame, &det.bbox)
        .unwrap()
        .unwrap();
    assert!(
        (a.yaw - b.yaw).abs() < 0.5 && (a.pitch - b.pitch).abs() < 0.5,
        "{a:?} vs {b:?}"
    );
}
