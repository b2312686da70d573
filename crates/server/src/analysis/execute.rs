//! One claimed analysis job: read what it works on (analysis, owner, company settings) once, fetch
//! its media from the blob store, run the processor of its type, store best shots and the result
//! in one transaction (only while the analysis is still PROCESSING).

use std::sync::Arc;

use serde_json::{json, Value};
use uuid::Uuid;

use super::process_biometry::run_biometry;
use super::process_quality::run_quality;
use super::{order, AnalysisType, JobError, MediaInput, Outcome};
use crate::app::AppState;
use crate::blobs::{put_original_and_thumb, Source};
use crate::domain::MediaKind;
use crate::store::analyses::{AnalysisRow, FinishOutcome, Finished};
use crate::store::folders::{MediaRow, Owner};
use crate::store::now_us;

/// What a job works on, read once: the analysis, its folder's owner, the company's settings.
pub(super) struct Context {
    pub(super) analysis: AnalysisRow,
    owner: Owner,
    company: Value,
}

impl Context {
    pub(super) async fn load(
        st: &AppState,
        analysis_id: Uuid,
    ) -> Result<Option<Context>, JobError> {
        let Some((analysis, owner)) = st.store.analysis_get(analysis_id).await? else {
            return Ok(None);
        };
        let company = match owner.company_id {
            Some(c) => st.store.company_settings(c).await?,
            None => None,
        };
        Ok(Some(Context {
            analysis,
            owner,
            company: company.unwrap_or_else(|| json!({})),
        }))
    }

    /// The company's default webhook URL.
    pub(super) fn default_hook(&self) -> Option<&str> {
        self.company
            .get("resolution_endpoint")
            .and_then(Value::as_str)
    }
}

/// Run one analysis and store its result. `Ok(true)` when a webhook was queued.
pub(super) async fn execute(st: &AppState, ctx: &Context) -> Result<bool, JobError> {
    let (a, owner) = (&ctx.analysis, &ctx.owner);
    let analysis_id = a.analysis_id;
    let started = std::time::Instant::now();
    let all = st.store.media_of_folders(&[a.folder_id]).await?;
    // Media deleted since the order are left out (the outcome then says what was compared).
    let chosen: Vec<&MediaRow> = a
        .source_media
        .iter()
        .filter_map(|id| all.iter().find(|m| m.media_id == *id))
        .collect();
    let mut inputs = Vec::with_capacity(chosen.len());
    for m in &chosen {
        // A media this process decoded at upload is neither read nor decoded again.
        let decoded = crate::decoded::get(m.media_id);
        let bytes = if decoded.is_some() {
            Vec::new()
        } else {
            // A blob store that fails (or has lost the file) may answer on a later attempt.
            st.blobs
                .get(&m.file_key)
                .await
                .map_err(JobError::retryable)?
        };
        inputs.push(MediaInput {
            media_id: m.media_id,
            kind: m.media_kind,
            tags: m.tags.clone(),
            bytes: Arc::new(bytes),
            decoded,
        });
    }
    let kind = a.kind;
    let thresholds = order::thresholds(&st.cfg, &ctx.company, &a.params);
    let outcome = run(
        st,
        kind,
        analysis_id,
        inputs,
        &a.params,
        thresholds,
        owner.company_id,
    )
    .await?;
    let mut new_media = Vec::new();
    for shot in &outcome.best_shots {
        new_media.push(store_best_shot(st, a.folder_id, analysis_id, shot).await?);
    }
    let results_media = Value::Array(outcome.results_media.clone());
    let done = st
        .store
        .analysis_finish(
            &Finished {
                analysis_id,
                resolution_status: outcome.resolution_status,
                results_media: &results_media,
                results_data: &outcome.results_data,
                new_media: &new_media,
            },
            ctx.default_hook(),
        )
        .await?;
    if let FinishOutcome::Stored { .. } = done {
        // Counted where the result was stored, so a duplicate run (lease ran out) counts nothing.
        let latency = std::time::Duration::from_micros((now_us() - a.time_created).max(0) as u64);
        crate::telemetry::analysis_finished(
            kind.as_str(),
            outcome.resolution_status.as_str(),
            started.elapsed(),
            Some(latency),
        );
    }
    Ok(matches!(done, FinishOutcome::Stored { webhook: Some(_) }))
}

/// Run the engine part of an analysis (shared with Instant).
pub async fn run(
    st: &AppState,
    kind: AnalysisType,
    analysis_id: Uuid,
    inputs: Vec<MediaInput>,
    params: &Value,
    thresholds: super::Thresholds,
    company: Option<Uuid>,
) -> Result<Outcome, JobError> {
    match kind {
        AnalysisType::Quality => {
            // Oz API ≥ 5.0.0: the best shot is extracted unless the order says otherwise.
            let best = params
                .get("extract_best_shot")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            st.inference
                .run("quality", move |e| {
                    run_quality(e, analysis_id, &inputs, &thresholds, best)
                })
                .await
                .map_err(JobError::from_api)?
        }
        AnalysisType::Biometry => st
            .inference
            .run("biometry", move |e| run_biometry(e, &inputs, &thresholds))
            .await
            .map_err(JobError::from_api)?,
        AnalysisType::Collection => {
            super::process_collection::run(st, inputs, params, thresholds, company).await
        }
        AnalysisType::Documents => st
            .inference
            .run("documents", move |e| {
                if !e.reads_documents() {
                    return Ok(super::documents_not_supported(&inputs));
                }
                let today = faceproof_engine::document::today_utc();
                super::process_documents::run_documents(e, &inputs, &thresholds, today)
            })
            .await
            .map_err(JobError::from_api)?,
    }
}

async fn store_best_shot(
    st: &AppState,
    folder_id: Uuid,
    analysis_id: Uuid,
    shot: &super::BestShot,
) -> Result<MediaRow, JobError> {
    let dir = format!("folders/{folder_id}/{}", shot.media_id);
    let (file_key, thumb_key) = put_original_and_thumb(
        st.blobs.as_ref(),
        &dir,
        "jpg",
        Source::Memory(&shot.jpeg),
        shot.thumb.as_deref(),
    )
    .await
    .map_err(JobError::retryable)?;
    let now = now_us();
    Ok(MediaRow {
        media_id: shot.media_id,
        folder_id,
        media_kind: MediaKind::Image,
        media_type: MediaKind::Image.media_type(),
        format: "jpeg".into(),
        mime: "image/jpeg".into(),
        original_name: "best_shot.jpg".into(),
        file_key,
        thumb_key,
        size_bytes: shot.jpeg.len() as i64,
        width: shot.width as i64,
        height: shot.height as i64,
        duration_ms: None,
        tags: vec!["photo_selfie".into()],
        meta_data: json!({}),
        technical_meta_data: json!({
            "best_shot_of": shot.source_media_id,
            "analysis_id": analysis_id,
        }),
        time_created: now,
        time_updated: now,
    })
}
