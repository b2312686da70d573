//! DOCUMENTS: each photo of an ID document (tags `photo_id*`; a frame set's frames until one
//! reads) goes through the engine's document reader — the MRZ found, read, its check digits and
//! expiry checked, the portrait found — and the readings decide:
//! - SUCCESS: an MRZ was read, every check digit (and the composite) holds, none has expired;
//! - DECLINED: a check digit fails, or the document has expired;
//! - no MRZ readable on any photo: the company's `documents_unreadable` (OPERATOR_REQUIRED by
//!   default, or DECLINED);
//! - OPERATOR_REQUIRED as well when one photo shows two documents, or two photos carry the MRZs
//!   of different documents.
//!
//! Photos without an MRZ (the front of an ID card whose MRZ is on the back) do not count against
//! a zone read on another photo. `results_data` carries the deciding photo's `mrz` and `portrait`
//! (and `text_fields`, the list shape Oz's SDK reads); every photo has its own in `results_media`.

use faceproof_engine::media::MediaKind as EngineKind;
use faceproof_engine::{DocumentReport, Engine, EngineError};
use serde_json::{json, Value};

use super::faces::{media_problem, problem_json, round4, source_keys};
use super::{JobError, MediaInput, Outcome, Thresholds};
use crate::domain::Resolution;

/// Frames of a frame set read at most (evenly spaced), until one shows a complete MRZ.
const MAX_FRAMES: usize = 4;

/// What one photo (or the best frame of a set) said.
struct Read {
    report: DocumentReport,
    expired: Option<bool>,
}

impl Read {
    fn valid(&self) -> bool {
        self.report
            .reading
            .mrz
            .as_ref()
            .is_some_and(|m| m.check_digits_valid)
    }
}

/// Read one media: the photo, or a frame set's frames until one gives a valid MRZ.
fn read_media(
    engine: &Engine,
    m: &MediaInput,
    today: (i32, u32, u32),
) -> Result<Result<Read, EngineError>, JobError> {
    // The upload check may have decoded the page already (decode once): `bytes` is empty then.
    let decoded = match m
        .decoded
        .clone()
        .map(Ok)
        .unwrap_or_else(|| engine.decode(&m.bytes).map(std::sync::Arc::new))
    {
        Ok(d) => d,
        Err(e) if media_problem(&e) => return Ok(Err(e)),
        Err(e) => return Err(JobError::retryable(e)),
    };
    let frames = &decoded.frames;
    let picks: Vec<usize> = if decoded.kind() == EngineKind::Image || frames.len() <= MAX_FRAMES {
        (0..frames.len()).collect()
    } else {
        (0..MAX_FRAMES)
            .map(|i| i * (frames.len() - 1) / (MAX_FRAMES - 1))
            .collect()
    };
    let mut best: Option<Read> = None;
    for i in picks {
        let report = engine
            .read_document(&frames[i].image, today)
            .map_err(JobError::retryable)?;
        let expired = report
            .reading
            .mrz
            .as_ref()
            .and_then(|m| m.expired_on(today));
        let read = Read { report, expired };
        let better = match &best {
            None => true,
            Some(b) => {
                (
                    read.valid(),
                    read.report.reading.mrz.is_some(),
                    read.report.portrait.found,
                ) > (
                    b.valid(),
                    b.report.reading.mrz.is_some(),
                    b.report.portrait.found,
                )
            }
        };
        if better {
            best = Some(read);
        }
        if best.as_ref().is_some_and(Read::valid) {
            break;
        }
    }
    // A decoded media has at least one frame.
    Ok(best.ok_or(EngineError::NoFace))
}

fn mrz_json(read: &Read) -> Value {
    let Some(m) = &read.report.reading.mrz else {
        return Value::Null;
    };
    let fields: serde_json::Map<String, Value> = m
        .fields
        .iter()
        .map(|(k, f)| {
            let mut o =
                json!({ "value": f.value, "raw": f.raw, "confidence": round4(f.confidence) });
            if let Some(v) = f.check_digit_valid {
                o["check_digit_valid"] = json!(v);
            }
            (k.to_string(), o)
        })
        .collect();
    json!({
        "type": m.format.as_str(),
        "lines": m.lines,
        "check_digits_valid": m.check_digits_valid,
        "checks": m.checks,
        "expired": read.expired,
        "confidence": round4(m.confidence),
        "fields": fields,
    })
}

fn portrait_json(read: &Read) -> Value {
    let p = &read.report.portrait;
    let mut o = json!({ "found": p.found, "faces_found": p.faces_found });
    if let Some(d) = &p.detection {
        let r = |x: f32| (x as f64 * 10.0).round() / 10.0;
        o["width"] = json!(p.width);
        o["height"] = json!(p.height);
        o["confidence"] = json!(round4(d.score));
        o["bbox"] = json!({ "x1": r(d.bbox.x1), "y1": r(d.bbox.y1), "x2": r(d.bbox.x2), "y2": r(d.bbox.y2) });
        o["rotation"] = json!(read.report.reading.rotation.unwrap_or(0));
    }
    o
}

/// The MRZ fields as Oz's `text_fields` list.
fn text_fields(read: &Read) -> Value {
    let Some(m) = &read.report.reading.mrz else {
        return json!([]);
    };
    Value::Array(
        m.fields
            .iter()
            .map(|(k, f)| {
                json!({ "key": k, "value": f.value, "confidence": round4(f.confidence), "source": "MRZ" })
            })
            .collect(),
    )
}

/// Why a photo got its resolution (`results_data.status`).
fn status(read: &Read) -> &'static str {
    match &read.report.reading.mrz {
        _ if read.report.reading.other_documents > 0 => "MULTIPLE_DOCUMENTS",
        None => "MRZ_NOT_FOUND",
        Some(m) if !m.check_digits_valid => "CHECK_DIGIT_FAILED",
        Some(_) if read.expired == Some(true) => "EXPIRED",
        Some(_) => "VALID",
    }
}

fn resolution_of(status: &str, thresholds: &Thresholds) -> Resolution {
    match status {
        "VALID" => Resolution::Success,
        "CHECK_DIGIT_FAILED" | "EXPIRED" => Resolution::Declined,
        "MRZ_NOT_FOUND" => thresholds.documents_unreadable,
        _ => Resolution::OperatorRequired,
    }
}

fn message(status: &str) -> &'static str {
    match status {
        "VALID" => "The MRZ was read and every check digit holds; the document has not expired",
        "CHECK_DIGIT_FAILED" => "A check digit of the MRZ does not hold",
        "EXPIRED" => "The document has expired",
        "MULTIPLE_DOCUMENTS" => "The photo shows more than one document",
        "DOCUMENTS_DIFFER" => "The photos show different documents",
        _ => "No machine-readable zone could be read on the photo",
    }
}

/// DOCUMENTS over the chosen media; `today` (UTC) decides expiry.
pub(super) fn run_documents(
    engine: &Engine,
    media: &[MediaInput],
    thresholds: &Thresholds,
    today: (i32, u32, u32),
) -> Result<Outcome, JobError> {
    let mut out = Outcome::default();
    let mut reads: Vec<Option<Read>> = Vec::with_capacity(media.len());
    for m in media {
        let mut entry = source_keys(m);
        match read_media(engine, m, today)? {
            Ok(read) => {
                let st = status(&read);
                let mut data = json!({
                    "status": st,
                    "message": message(st),
                    "mrz": mrz_json(&read),
                    "portrait": portrait_json(&read),
                    "text_fields": text_fields(&read),
                    "text_lines": read.report.reading.text_lines,
                    "documents_found": read.report.reading.other_documents
                        + usize::from(read.report.reading.mrz.is_some()),
                });
                if let Some(r) = read.report.reading.rotation {
                    data["rotation"] = json!(r);
                }
                entry.insert(
                    "resolution_status".into(),
                    json!(resolution_of(st, thresholds)),
                );
                entry.insert("results_data".into(), data);
                reads.push(Some(read));
            }
            Err(err) => {
                entry.insert("resolution_status".into(), json!(Resolution::Declined));
                entry.insert(
                    "results_data".into(),
                    json!({ "status": "UNREADABLE_MEDIA", "mrz": null, "portrait": { "found": false }, "text_fields": [] }),
                );
                entry.insert("error".into(), problem_json(&err));
                reads.push(None);
            }
        }
        out.results_media.push(Value::Object(entry));
    }
    // The deciding photo: a valid zone first, then any zone, then one with a portrait.
    let rank = |r: &Read| {
        (
            r.valid(),
            r.report.reading.mrz.is_some(),
            r.report.portrait.found,
        )
    };
    let decider = reads
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().map(|r| (i, r)))
        .max_by(|a, b| rank(a.1).cmp(&rank(b.1)).then(b.0.cmp(&a.0)));
    let zones: Vec<&Read> = reads
        .iter()
        .flatten()
        .filter(|r| r.report.reading.mrz.is_some())
        .collect();
    let numbers: std::collections::BTreeSet<&str> = zones
        .iter()
        .filter(|r| r.valid())
        .filter_map(|r| r.report.reading.mrz.as_ref()?.field("document_number"))
        .collect();
    let overall = if reads
        .iter()
        .flatten()
        .any(|r| r.report.reading.other_documents > 0)
    {
        "MULTIPLE_DOCUMENTS"
    } else if numbers.len() > 1 {
        "DOCUMENTS_DIFFER"
    } else if zones.is_empty() {
        "MRZ_NOT_FOUND"
    } else if let Some(bad) = zones.iter().find(|r| !r.valid()) {
        status(bad)
    } else if let Some(old) = zones.iter().find(|r| r.expired == Some(true)) {
        status(old)
    } else {
        "VALID"
    };
    let unreadable_media = reads.iter().any(Option::is_none);
    out.resolution_status =
        if zones.is_empty() && unreadable_media && reads.iter().all(Option::is_none) {
            Resolution::Declined
        } else {
            resolution_of(overall, thresholds)
        };
    out.results_data = match decider {
        Some((i, read)) => json!({
            "status": overall,
            "message": message(overall),
            "source_media_id": media[i].media_id,
            "mrz": mrz_json(read),
            "portrait": portrait_json(read),
            "text_fields": text_fields(read),
            "documents_read": zones.len(),
        }),
        None => json!({
            "status": "UNREADABLE_MEDIA",
            "message": "No photo could be decoded",
            "mrz": null,
            "portrait": { "found": false },
            "text_fields": [],
            "documents_read": 0,
        }),
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds(unreadable: Resolution) -> Thresholds {
        Thresholds {
            liveness: 0.5,
            biometry_min: 0.85,
            biometry_max: 0.85,
            collection: None,
            strict_faces: false,
            documents_unreadable: unreadable,
        }
    }

    #[test]
    fn statuses_map_to_resolutions_with_the_company_setting_for_unreadable() {
        let t = thresholds(Resolution::OperatorRequired);
        assert_eq!(resolution_of("VALID", &t), Resolution::Success);
        assert_eq!(
            resolution_of("CHECK_DIGIT_FAILED", &t),
            Resolution::Declined
        );
        assert_eq!(resolution_of("EXPIRED", &t), Resolution::Declined);
        assert_eq!(
            resolution_of("MRZ_NOT_FOUND", &t),
            Resolution::OperatorRequired
        );
        assert_eq!(
            resolution_of("MULTIPLE_DOCUMENTS", &t),
            Resolution::OperatorRequired
        );
        let strict = thresholds(Resolution::Declined);
        assert_eq!(
            resolution_of("MRZ_NOT_FOUND", &strict),
            Resolution::Declined
        );
    }
}
