//! The Oz JSON of an analysis (`results_media`, `results_data`, best shots and blacklist matches
//! with their URLs, operator decisions).

use serde_json::{json, Value};
use uuid::Uuid;

use super::folder::{media, MediaView};
use crate::store::analyses::{AnalysisRow, DecisionRow};
use crate::store::folders::MediaRow;

/// The Oz JSON of an analysis: both `analysis_id` and `analyse_id`, `resolution` mirroring
/// `resolution_status`, source media as media objects, best shots with their URLs, and the
/// operator decisions taken on it.
pub fn analysis(
    base: &str,
    a: &AnalysisRow,
    media_rows: &[MediaRow],
    decisions: &[DecisionRow],
) -> Value {
    let find = |id: &Uuid| media_rows.iter().find(|m| m.media_id == *id);
    let source_media: Vec<MediaView> = a
        .source_media
        .iter()
        .filter_map(|id| find(id).map(|m| media(base, m)))
        .collect();
    let mut results_media = a.results_media.clone();
    if let Some(list) = results_media.as_array_mut() {
        for entry in list {
            // the quantitative-results page shows each result with its analysis' id
            if let Some(o) = entry.as_object_mut() {
                o.entry("analysis_id").or_insert(json!(a.analysis_id));
            }
            // blacklist matches: a link to the matched enrolled photo
            if let Some(matches) = entry
                .get_mut("results_data")
                .and_then(|d| d.get_mut("matches"))
                .and_then(Value::as_array_mut)
            {
                for m in matches {
                    let ids = ["collection_id", "person_id", "person_image_id"]
                        .map(|k| m.get(k).and_then(Value::as_str).map(str::to_string));
                    if let [Some(c), Some(p), Some(i)] = ids {
                        m["image_url"] = json!(format!(
                            "{base}/api/collections/{c}/persons/{p}/images/{i}/file"
                        ));
                    }
                }
            }
            if let Some(images) = entry.get_mut("output_images").and_then(Value::as_array_mut) {
                for img in images {
                    let id = img
                        .get("media_id")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse::<Uuid>().ok());
                    if let Some(m) = id.as_ref().and_then(find) {
                        let v = media(base, m);
                        img["original_url"] = json!(v.original_url);
                        img["thumb_url"] = json!(v.thumb_url);
                    }
                }
            }
        }
    }
    let decisions: Vec<&DecisionRow> = decisions
        .iter()
        .filter(|d| d.analysis_id == a.analysis_id)
        .collect();
    json!({
        "analysis_id": a.analysis_id,
        "analyse_id": a.analysis_id,
        "folder_id": a.folder_id,
        "group_id": a.group_id,
        "user_id": a.user_id,
        "type": a.kind,
        "state": a.state,
        "resolution_status": a.resolution_status,
        "resolution": a.resolution_status,
        "source_media": source_media,
        "results_media": results_media,
        "results_data": a.results_data,
        "params": a.params,
        "resolution_endpoint": a.resolution_endpoint,
        "error": a.error.as_ref().map(|e| json!({ "message": e })),
        "decisions": decisions,
        "meta_data": a.meta_data,
        "time_created": a.time_created / 1_000_000,
        "time_updated": a.time_updated / 1_000_000,
    })
}
