//! Instant (Oz §3.5): an order run on uploaded media in this request's memory only — no folder,
//! media, analysis or job row, no stored object, no log line about the faces. (A file over
//! `upload_memory_bytes` passes through a scratch file, deleted when the request ends, like the
//! copies ffmpeg reads videos from.) Best shots come back inline as
//! `data:` URLs. Blacklist (COLLECTION) is not available here, as in Oz.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};
use uuid::Uuid;

use super::order::{self, authorize_order, Order, Requested};
use super::{AnalysisType, MediaInput};
use crate::app::AppState;
use crate::auth::Actor;
use crate::domain::{AnalysisState, FolderStatus, Resolution};
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::analyses::folder_status;
use crate::store::folders::FolderRow;
use crate::store::now_us;
use crate::uploads::{self, Payload, Prepared};
use crate::views;

fn data_url(jpeg: &[u8]) -> String {
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    )
}

/// Run the payload's order (default: QUALITY) on the prepared media and answer with a folder-like
/// result.
pub async fn run(
    st: &AppState,
    actor: &Actor,
    prepared: Vec<Prepared>,
    payload: Payload,
) -> ApiResult<Value> {
    let folder_id = Uuid::new_v4();
    let folder = FolderRow {
        folder_id,
        company_id: actor.company_id,
        user_id: Some(actor.user_id),
        resolution_status: FolderStatus::Processing,
        system_resolution: FolderStatus::Processing,
        meta_data: json!({}),
        technical_meta_data: json!({}),
        time_created: now_us(),
        time_updated: now_us(),
    };
    let media = uploads::ephemeral_rows(&prepared, &payload, folder_id);
    let order = order::payload_order(&payload, &media)?
        .unwrap_or_else(|| Order::new(vec![Requested::new(AnalysisType::Quality)]));
    if order
        .items
        .iter()
        .any(|i| i.kind == AnalysisType::Collection)
    {
        return Err(ApiError::new(
            Code::NotRealized,
            "COLLECTION (blacklist) analyses are not available in Instant mode",
        ));
    }
    if order.resolution_endpoint.is_some() {
        return Err(ApiError::value(
            "Instant mode answers in the response; resolution_endpoint is not accepted",
        ));
    }
    authorize_order(st, actor, &folder, &order).await?;
    let rows = order::plan(&order, &media, folder_id, Some(actor.user_id))?;
    let company = match actor.company_id {
        Some(c) => st
            .store
            .company_settings(c)
            .await?
            .unwrap_or_else(|| json!({})),
        None => json!({}),
    };
    // The analyses need each file whole (as stored analyses read theirs from the store); a
    // spooled upload is read back here and its scratch file deleted.
    let mut bytes: Vec<Arc<Vec<u8>>> = Vec::with_capacity(prepared.len());
    let mut decoded = Vec::with_capacity(prepared.len());
    for p in prepared {
        decoded.push(p.decoded);
        bytes.push(Arc::new(
            p.file.into_bytes().await.map_err(ApiError::internal)?,
        ));
    }
    let mut analyses = Vec::new();
    let mut states = Vec::new();
    for mut row in rows {
        let kind = row.kind;
        let inputs: Vec<MediaInput> = row
            .source_media
            .iter()
            .filter_map(|id| media.iter().position(|m| m.media_id == *id))
            .map(|i| MediaInput {
                media_id: media[i].media_id,
                kind: media[i].media_kind,
                tags: media[i].tags.clone(),
                bytes: bytes[i].clone(),
                // the photo as the upload check decoded it: not decoded again
                decoded: decoded[i].clone(),
            })
            .collect();
        let thresholds = order::thresholds(&st.cfg, &company, &row.params);
        let mut shots = Vec::new();
        match super::run(
            st,
            kind,
            row.analysis_id,
            inputs,
            &row.params,
            thresholds,
            actor.company_id,
        )
        .await
        {
            Ok(outcome) => {
                row.state = AnalysisState::Finished;
                row.resolution_status = outcome.resolution_status;
                row.results_media = Value::Array(outcome.results_media);
                row.results_data = outcome.results_data;
                shots = outcome.best_shots;
            }
            Err(e) => {
                row.state = AnalysisState::Failed;
                row.resolution_status = Resolution::Failed;
                row.error = Some(e.to_string());
            }
        }
        states.push((row.state, row.resolution_status));
        let mut v = views::analysis("", &row, &media, &[]);
        inline_urls(&mut v, &shots, &media, &bytes);
        analyses.push(v);
    }
    let status = folder_status(&states);
    let media_json: Vec<Value> = media
        .iter()
        .map(|m| {
            let mut v = json!(views::media("", m));
            strip_urls(&mut v);
            v
        })
        .collect();
    Ok(json!({
        "folder_id": folder_id,
        "instant": true,
        "resolution_status": status,
        "system_resolution": status,
        "meta_data": payload.folder_meta.unwrap_or_else(|| json!({})),
        "media": media_json,
        "analyses": analyses,
    }))
}

/// Nothing is stored, so there are no URLs to give.
fn strip_urls(v: &mut Value) {
    for key in ["original_url", "video_url", "thumb_url", "preview_url"] {
        if v.get(key).is_some() {
            v[key] = Value::Null;
        }
    }
}

/// Source media lose their (non-existent) URLs; best shots carry their pixels as `data:` URLs.
fn inline_urls(
    v: &mut Value,
    shots: &[super::BestShot],
    media: &[crate::store::folders::MediaRow],
    bytes: &[Arc<Vec<u8>>],
) {
    if let Some(list) = v.get_mut("source_media").and_then(Value::as_array_mut) {
        list.iter_mut().for_each(strip_urls);
    }
    let Some(results) = v.get_mut("results_media").and_then(Value::as_array_mut) else {
        return;
    };
    for entry in results {
        let Some(images) = entry.get_mut("output_images").and_then(Value::as_array_mut) else {
            continue;
        };
        for img in images {
            let id = img
                .get("media_id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Uuid>().ok());
            let Some(id) = id else { continue };
            if let Some(shot) = shots.iter().find(|s| s.media_id == id) {
                img["original_url"] = json!(data_url(&shot.jpeg));
            } else if let Some(i) = media.iter().position(|m| m.media_id == id) {
                if media[i].mime == "image/jpeg" {
                    img["original_url"] = json!(data_url(&bytes[i]));
                }
            }
        }
    }
}
