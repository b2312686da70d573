//! COLLECTION (blacklist, 1:N): each eligible media's face is searched in the collections named in
//! `params` (`collection_id` or `collection_ids`; default: every collection of the folder's
//! company). Matches at or above the threshold (a calibrated confidence, default 0.85) are listed
//! best first in the media's `results_media` entry with `person_id`, the matched
//! `person_image_id` and `confidence`; any match declines the media and the analysis (a blacklist
//! hit). At most `decision_count` (default 10) persons are reported per media.

use serde_json::{json, Value};
use uuid::Uuid;

use super::faces::{add_faces, embeddings, round4, source_keys};
use super::{JobError, MediaInput, Outcome, Thresholds};
use crate::app::AppState;
use crate::domain::Resolution;
use crate::errors::ApiError;

fn named_ids(params: &Value) -> Result<Option<Vec<Uuid>>, ApiError> {
    let mut names: Vec<&Value> = Vec::new();
    if let Some(v) = params.get("collection_id").filter(|v| !v.is_null()) {
        names.push(v);
    }
    match params.get("collection_ids") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => names.extend(list.iter()),
        Some(_) => {
            return Err(ApiError::structure(
                "params.collection_ids must be a list of ids",
            ))
        }
    }
    if names.is_empty() {
        return Ok(None);
    }
    names
        .into_iter()
        .map(|v| {
            v.as_str()
                .and_then(|s| s.parse::<Uuid>().ok())
                .ok_or_else(|| {
                    ApiError::new(
                        crate::errors::Code::InvalidType,
                        format!("params: collection id {v} is not a valid id"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The collections an analysis searches. Named ones must exist and belong to the folder's
/// company (another company's collection reads as missing); without names, the company's own.
pub async fn resolve(
    st: &AppState,
    company: Option<Uuid>,
    params: &Value,
) -> Result<Vec<(Uuid, String)>, ApiError> {
    match named_ids(params)? {
        Some(ids) => {
            let mut out = Vec::new();
            for id in ids {
                match st.store.collection_get(id).await? {
                    Some(c) if company.is_none() || c.company_id == company => {
                        out.push((c.collection_id, c.alias))
                    }
                    _ => {
                        return Err(ApiError::value(format!("collection {id} not found"))
                            .with_details(
                                json!({ "reason": "unknown_collection", "collection_id": id }),
                            ))
                    }
                }
            }
            Ok(out)
        }
        None => {
            let mut out = Vec::new();
            for id in st.store.collections_of_company(company).await? {
                if let Some(c) = st.store.collection_get(id).await? {
                    out.push((c.collection_id, c.alias));
                }
            }
            if out.is_empty() {
                return Err(ApiError::value(
                    "COLLECTION: the company has no collection to search (create one with POST /api/collections/)",
                )
                .with_details(json!({ "reason": "no_collection" })));
            }
            Ok(out)
        }
    }
}

/// Validate a COLLECTION order before it is stored.
pub async fn check_params(
    st: &AppState,
    company: Option<Uuid>,
    params: &Value,
) -> Result<(), ApiError> {
    resolve(st, company, params).await.map(|_| ())
}

/// Search each media's face in the collections; any hit declines it.
pub(super) async fn run(
    st: &AppState,
    inputs: Vec<MediaInput>,
    params: &Value,
    thresholds: Thresholds,
    company: Option<Uuid>,
) -> Result<Outcome, JobError> {
    // A collection named by the order may have been deleted since: no retry brings it back.
    let collections = resolve(st, company, params)
        .await
        .map_err(JobError::from_api)?;
    let ids: Vec<Uuid> = collections.iter().map(|(id, _)| *id).collect();
    let k = params
        .get("decision_count")
        .and_then(Value::as_u64)
        .unwrap_or(10) as usize;
    let media = inputs.clone();
    let (faces, calibration) = st
        .inference
        .run("collection", move |e| {
            embeddings(e, &media, &thresholds).map(|f| (f, e.calibration()))
        })
        .await
        .map_err(JobError::from_api)??;
    let gallery_faces = st
        .collections
        .gallery_faces(&st.store, &ids)
        .await
        .map_err(JobError::retryable)?;
    let applied = crate::collections::threshold::decide(
        &calibration,
        thresholds.collection,
        st.cfg.collection_threshold,
        st.cfg.collection_fpir,
        gallery_faces,
    );
    let min_similarity = applied.similarity;
    let mut out = Outcome::default();
    let mut declined = false;
    let mut total = 0;
    for (m, face) in inputs.iter().zip(faces) {
        let mut entry = source_keys(m);
        let resolution = match face {
            Err(e) => {
                entry.insert(
                    "error".into(),
                    json!({ "code": e.code(), "message": e.to_string() }),
                );
                entry.insert("results_data".into(), json!({ "matches": [] }));
                Resolution::Declined
            }
            Ok(face) => {
                let hits = st
                    .collections
                    .search(&st.store, &ids, &face.embedding, min_similarity, k)
                    .await
                    .map_err(JobError::retryable)?;
                let matches: Vec<Value> = hits
                    .iter()
                    .map(|h| {
                        json!({
                            "collection_id": h.collection_id,
                            "person_id": h.person_id,
                            "person_image_id": h.person_image_id,
                            "confidence": round4(calibration.confidence(h.similarity)),
                            "similarity": round4(h.similarity),
                        })
                    })
                    .collect();
                total += matches.len();
                if let Some(best) = hits.first() {
                    entry.insert("person_id".into(), json!(best.person_id));
                    entry.insert("person_image_id".into(), json!(best.person_image_id));
                    entry.insert("collection_id".into(), json!(best.collection_id));
                }
                let mut data = json!({ "matches": matches });
                add_faces(&mut data, face.faces.as_ref());
                entry.insert("results_data".into(), data);
                if hits.is_empty() {
                    Resolution::Success
                } else {
                    Resolution::Declined
                }
            }
        };
        declined |= resolution == Resolution::Declined;
        entry.insert("resolution_status".into(), json!(resolution));
        out.results_media.push(Value::Object(entry));
    }
    out.resolution_status = if declined {
        Resolution::Declined
    } else {
        Resolution::Success
    };
    let mut data = json!({
        "collections": collections
            .iter()
            .map(|(id, alias)| json!({ "collection_id": id, "alias": alias }))
            .collect::<Vec<_>>(),
        "matches_found": total,
    });
    if let (Some(data), Value::Object(t)) = (data.as_object_mut(), applied.to_json()) {
        data.extend(t);
    }
    out.results_data = data;
    Ok(out)
}
