//! BIOMETRY: every pair of eligible media compared; the least similar pair (`min_confidence`)
//! decides between DECLINED, OPERATOR_REQUIRED and SUCCESS.

use faceproof_engine::Engine;
use serde_json::{json, Value};

use super::faces::{add_faces, embeddings, problem_json, round4, source_keys};
use super::{is_document, JobError, MediaInput, Outcome, Thresholds};
use crate::domain::Resolution;

/// BIOMETRY: every pair of media compared; `min_confidence` (the least similar pair) decides.
pub(super) fn run_biometry(
    engine: &Engine,
    media: &[MediaInput],
    thresholds: &Thresholds,
) -> Result<Outcome, JobError> {
    let embeddings = embeddings(engine, media, thresholds)?;
    let mut out = Outcome::default();
    let mut problems = 0;
    for (m, e) in media.iter().zip(&embeddings) {
        let mut entry = source_keys(m);
        match e {
            Ok(face) => {
                let mut data = json!({ "face_found": true });
                add_faces(&mut data, face.faces.as_ref());
                if let Some(p) = &face.portrait {
                    data["portrait"] = p.clone();
                }
                entry.insert("resolution_status".into(), json!(Resolution::Success));
                entry.insert("results_data".into(), data);
            }
            Err(err) => {
                problems += 1;
                entry.insert("resolution_status".into(), json!(Resolution::Declined));
                let mut data = json!({ "face_found": false });
                if is_document(&m.tags) {
                    data["portrait"] = json!({ "found": false });
                }
                entry.insert("results_data".into(), data);
                entry.insert("error".into(), problem_json(err));
            }
        }
        out.results_media.push(Value::Object(entry));
    }
    let mut pairs = Vec::new();
    let (mut min_c, mut max_c) = (f32::INFINITY, f32::NEG_INFINITY);
    for i in 0..media.len() {
        for j in i + 1..media.len() {
            if let (Ok(a), Ok(b)) = (&embeddings[i], &embeddings[j]) {
                let (similarity, confidence) = engine.compare(&a.embedding, &b.embedding);
                min_c = min_c.min(confidence);
                max_c = max_c.max(confidence);
                pairs.push(json!({
                    "media_ids": [media[i].media_id, media[j].media_id],
                    "confidence": round4(confidence),
                    "similarity": round4(similarity),
                }));
            }
        }
    }
    let compared = !pairs.is_empty();
    out.resolution_status = if problems > 0 || !compared || min_c < thresholds.biometry_min {
        Resolution::Declined
    } else if min_c >= thresholds.biometry_max {
        Resolution::Success
    } else {
        Resolution::OperatorRequired
    };
    out.results_data = json!({
        "min_confidence": compared.then(|| round4(min_c)),
        "max_confidence": compared.then(|| round4(max_c)),
        "pairs": pairs,
        "threshold_min": round4(thresholds.biometry_min),
        "threshold_max": round4(thresholds.biometry_max),
    });
    Ok(out)
}
