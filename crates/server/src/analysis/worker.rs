//! Workers: claim analysis jobs from the durable queue, run them through the engine, store the
//! results. The same loop runs inside `faceproof serve` (`workers` tasks) and in separate
//! `faceproof worker` processes; a single request runs its own jobs through [`run_now`].
//!
//! Every step is idempotent: an analysis is written only while it is still `PROCESSING`, best
//! shots have ids derived from (analysis, source media), so a job run twice (its worker died after
//! storing the result but before marking the job done) changes nothing.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use super::{request, run_biometry, run_quality, AnalysisType, MediaInput, Outcome, SystemError};
use crate::blobs::put_original_and_thumb;
use crate::http::AppState;
use crate::store::analyses::{AnalysisRow, Finished};
use crate::store::folders::{MediaRow, Owner};
use crate::store::jobs::{Job, JobKind};
use crate::store::now_us;

/// A name for this worker in the jobs table (host, process, task).
pub fn worker_name(task: usize) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!("{host}/{}/{task}", std::process::id())
}

/// Run `n` analysis workers and one webhook worker until the process ends.
pub fn spawn_workers(st: &AppState, n: usize) {
    for i in 0..n {
        let st = st.clone();
        tokio::spawn(async move { analysis_loop(st, worker_name(i)).await });
    }
    let st = st.clone();
    tokio::spawn(async move { crate::webhooks::webhook_loop(st, worker_name(usize::MAX)).await });
}

async fn analysis_loop(st: AppState, name: String) {
    let poll = Duration::from_millis(st.cfg.job_poll_ms.max(10));
    loop {
        match st
            .store
            .job_claim(JobKind::Analysis, &name, st.cfg.job_lease_secs, None)
            .await
        {
            Ok(Some(job)) => process(&st, &name, job).await,
            Ok(None) => {
                tokio::select! {
                    _ = st.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
            Err(e) => {
                tracing::warn!("claiming a job: {e}");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

/// Run the given analyses now (single request): claim each one's job here; those another worker
/// already holds are awaited. Returns when none is PROCESSING or after `timeout`.
pub async fn run_now(st: &AppState, ids: &[Uuid], timeout: Duration) {
    let name = worker_name(0);
    for id in ids {
        match st
            .store
            .job_claim(JobKind::Analysis, &name, st.cfg.job_lease_secs, Some(*id))
            .await
        {
            // Spawned, so a client that hangs up does not cancel the analysis half-way.
            Ok(Some(job)) => {
                let (st, name) = (st.clone(), name.clone());
                let _ = tokio::spawn(async move { process(&st, &name, job).await }).await;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("claiming a job: {e}"),
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        let mut pending = false;
        for id in ids {
            if let Ok(Some((a, _))) = st.store.analysis_get(*id).await {
                pending |= a.state == "PROCESSING";
            }
        }
        if !pending {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a job works on, read once: the analysis, its folder's owner, the company's settings.
struct Context {
    analysis: AnalysisRow,
    owner: Owner,
    company: Value,
}

impl Context {
    async fn load(st: &AppState, analysis_id: Uuid) -> Result<Option<Context>, SystemError> {
        let Some((analysis, owner)) = st.store.analysis_get(analysis_id).await.map_err(system)?
        else {
            return Ok(None);
        };
        let company = match owner.company_id {
            Some(c) => st.store.company_settings(c).await.map_err(system)?,
            None => None,
        };
        Ok(Some(Context {
            analysis,
            owner,
            company: company.unwrap_or_else(|| json!({})),
        }))
    }

    /// The company's default webhook URL.
    fn default_hook(&self) -> Option<&str> {
        self.company
            .get("resolution_endpoint")
            .and_then(Value::as_str)
    }
}

/// Process one claimed job: run it while renewing the lease; then done, retry, or FAILED.
async fn process(st: &AppState, name: &str, job: Job) {
    let ctx = match Context::load(st, job.target_id).await {
        Ok(Some(ctx)) if ctx.analysis.state == "PROCESSING" => ctx,
        // deleted with its folder, or already finished by an earlier run
        Ok(_) => {
            if let Err(e) = st.store.job_done(job.job_id).await {
                tracing::error!("marking job {} done: {e}", job.job_id);
            }
            return;
        }
        Err(e) => return retry(st, &job, &e).await,
    };
    if job.attempts > job.max_attempts {
        let reason = format!(
            "gave up after {} attempts; last error: {}",
            job.max_attempts,
            job.last_error
                .clone()
                .unwrap_or_else(|| "the worker stopped while processing (crash or restart)".into())
        );
        finish_failed(st, &job, &reason, ctx.default_hook()).await;
        return;
    }
    // The lease is renewed while this future lives; dropped, the renewal stops with it.
    let renew = AbortOnDrop({
        let store = st.store.clone();
        let (id, name, lease) = (job.job_id, name.to_string(), st.cfg.job_lease_secs);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs((lease / 3).max(1))).await;
                if !matches!(store.job_renew(id, &name, lease).await, Ok(true)) {
                    break;
                }
            }
        })
    });
    let result = execute(st, &ctx).await;
    drop(renew);
    match result {
        Ok(webhook) => {
            if let Err(e) = st.store.job_done(job.job_id).await {
                tracing::error!("marking job {} done: {e}", job.job_id);
            }
            if webhook {
                st.wake_webhooks.notify_one();
            }
        }
        Err(e) if job.attempts >= job.max_attempts => {
            let reason = format!("failed {} times; last error: {e}", job.attempts);
            finish_failed(st, &job, &reason, ctx.default_hook()).await;
        }
        Err(e) => retry(st, &job, &e).await,
    }
}

/// Back to the queue after a system error, runnable after 2^attempts seconds (at most 64 s).
async fn retry(st: &AppState, job: &Job, e: &SystemError) {
    tracing::warn!(analysis = %job.target_id, attempt = job.attempts, "analysis failed, will retry: {e}");
    let delay = 1_000_000i64 << job.attempts.clamp(0, 6);
    if let Err(e) = st.store.job_retry(job.job_id, &e.to_string(), delay).await {
        tracing::error!("re-queueing job {}: {e}", job.job_id);
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn finish_failed(st: &AppState, job: &Job, reason: &str, default_hook: Option<&str>) {
    tracing::error!(analysis = %job.target_id, "analysis FAILED: {reason}");
    match st
        .store
        .analysis_fail(job.target_id, reason, default_hook)
        .await
    {
        Ok(Some(_)) => st.wake_webhooks.notify_one(),
        Ok(None) => {}
        Err(e) => tracing::error!("marking analysis {} FAILED: {e}", job.target_id),
    }
    if let Err(e) = st.store.job_fail(job.job_id, reason).await {
        tracing::error!("marking job {} failed: {e}", job.job_id);
    }
}

fn system(e: impl std::fmt::Display) -> SystemError {
    SystemError(e.to_string())
}

/// Run one analysis and store its result. `Ok(true)` when a webhook was queued.
async fn execute(st: &AppState, ctx: &Context) -> Result<bool, SystemError> {
    let (a, owner) = (&ctx.analysis, &ctx.owner);
    let analysis_id = a.analysis_id;
    let all = st
        .store
        .media_of_folders(&[a.folder_id])
        .await
        .map_err(system)?;
    // Media deleted since the order are left out (the outcome then says what was compared).
    let chosen: Vec<&MediaRow> = a
        .source_media
        .iter()
        .filter_map(|id| all.iter().find(|m| m.media_id == *id))
        .collect();
    let mut inputs = Vec::with_capacity(chosen.len());
    for m in &chosen {
        let bytes = st.blobs.get(&m.file_key).await.map_err(system)?;
        inputs.push(MediaInput {
            media_id: m.media_id,
            kind: m.media_kind.clone(),
            tags: m.tags.clone(),
            bytes: Arc::new(bytes),
        });
    }
    let kind = AnalysisType::parse(&a.kind).ok_or_else(|| system("unknown analysis type"))?;
    let thresholds = request::thresholds(&st.cfg, &ctx.company, &a.params);
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
                resolution_status: &outcome.resolution_status,
                results_media: &results_media,
                results_data: &outcome.results_data,
                new_media: &new_media,
            },
            ctx.default_hook(),
        )
        .await
        .map_err(system)?;
    Ok(matches!(done, Some(Some(_))))
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
) -> Result<Outcome, SystemError> {
    match kind {
        AnalysisType::Quality => {
            let best = params
                .get("extract_best_shot")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            st.inference
                .run(move |e| run_quality(e, analysis_id, &inputs, &thresholds, best))
                .await
                .map_err(|e| system(e.message))?
        }
        AnalysisType::Biometry => st
            .inference
            .run(move |e| run_biometry(e, &inputs, &thresholds))
            .await
            .map_err(|e| system(e.message))?,
        AnalysisType::Collection => {
            super::collection::run(st, inputs, params, thresholds, company).await
        }
    }
}

async fn store_best_shot(
    st: &AppState,
    folder_id: Uuid,
    analysis_id: Uuid,
    shot: &super::BestShot,
) -> Result<MediaRow, SystemError> {
    let dir = format!("folders/{folder_id}/{}", shot.media_id);
    let (file_key, thumb_key) = put_original_and_thumb(
        st.blobs.as_ref(),
        &dir,
        "jpg",
        &shot.jpeg,
        shot.thumb.as_deref(),
    )
    .await
    .map_err(system)?;
    let now = now_us();
    Ok(MediaRow {
        media_id: shot.media_id,
        folder_id,
        media_kind: "IMAGE".into(),
        media_type: "IMAGE_FOLDER".into(),
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
