//! The durable queue's worker side: claim analysis jobs with a lease, renew the lease while a job
//! runs, mark it done, retry system errors with backoff, give up after `job_max_attempts`. The
//! same loop runs inside `faceproof serve` (`workers` tasks) and in separate `faceproof worker`
//! processes; a single request runs its own jobs through [`run_now`]. What a job does is in
//! `execute`. A [`JobError`] says whether a failure is worth a retry: a permanent one fails the
//! analysis at once with its reason.
//!
//! Every step is idempotent: an analysis is written only while it is still `PROCESSING`, best
//! shots have ids derived from (analysis, source media), so a job run twice (its worker died after
//! storing the result but before marking the job done) changes nothing.

use std::time::Duration;

use uuid::Uuid;

use super::execute::{execute, Context};
use super::JobError;
use crate::app::AppState;
use crate::domain::AnalysisState;
use crate::store::jobs::{Job, JobKind};

/// A name for this worker in the jobs table (host, process, task).
pub fn worker_name(task: usize) -> String {
    format!("{}{task}", worker_prefix())
}

/// `host/process/`: the start of every worker name of this process (its jobs are released by it
/// at shutdown).
pub fn worker_prefix() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!("{host}/{}/", std::process::id())
}

/// Run `n` analysis workers and one webhook worker until the process stops (after SIGTERM each
/// finishes the job it holds and claims no other); their handles, for the drain.
pub fn spawn_workers(st: &AppState, n: usize) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles: Vec<_> = (0..n)
        .map(|i| {
            let st = st.clone();
            tokio::spawn(async move { analysis_loop(st, worker_name(i)).await })
        })
        .collect();
    let st = st.clone();
    handles.push(tokio::spawn(async move {
        crate::webhooks::webhook_loop(st, worker_name(usize::MAX)).await
    }));
    handles
}

async fn analysis_loop(st: AppState, name: String) {
    let poll = Duration::from_millis(st.cfg.job_poll_ms.max(10));
    // After SIGTERM no new job is claimed; the one in hand is finished (or released by the drain).
    while !st.life.is_stopping() {
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
                    _ = st.life.stopping() => {}
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
                pending |= a.state == AnalysisState::Processing;
            }
        }
        if !pending {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Process one claimed job: run it while renewing the lease; then done, retry, or FAILED.
async fn process(st: &AppState, name: &str, job: Job) {
    let ctx = match Context::load(st, job.target_id).await {
        Ok(Some(ctx)) if ctx.analysis.state == AnalysisState::Processing => ctx,
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
        finish_failed(st, &job, &reason, &ctx).await;
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
        Err(e) => match next_step(&job, &e) {
            Step::Retry => retry(st, &job, &e).await,
            Step::GiveUp(reason) => finish_failed(st, &job, &reason, &ctx).await,
        },
    }
}

/// What follows a failed run of a job.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Back to the queue, to run again after a backoff.
    Retry,
    /// The analysis ends FAILED with this reason.
    GiveUp(String),
}

/// A permanent error ends the analysis at once; a retryable one is retried until the job has
/// used its attempts.
fn next_step(job: &Job, e: &JobError) -> Step {
    match e {
        JobError::Permanent(why) => Step::GiveUp(why.clone()),
        JobError::Retryable(_) if job.attempts < job.max_attempts => Step::Retry,
        JobError::Retryable(why) => {
            Step::GiveUp(format!("failed {} times; last error: {why}", job.attempts))
        }
    }
}

/// Back to the queue after a retryable error, runnable after 2^attempts seconds (at most 64 s).
async fn retry(st: &AppState, job: &Job, e: &JobError) {
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

async fn finish_failed(st: &AppState, job: &Job, reason: &str, ctx: &Context) {
    tracing::error!(analysis = %job.target_id, "analysis FAILED: {reason}");
    let default_hook = ctx.default_hook();
    crate::telemetry::analysis_finished(
        ctx.analysis.kind.as_str(),
        crate::domain::Resolution::Failed.as_str(),
        std::time::Duration::ZERO,
        None,
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn job(attempts: i64, max_attempts: i64) -> Job {
        Job {
            job_id: Uuid::new_v4(),
            kind: JobKind::Analysis,
            target_id: Uuid::new_v4(),
            attempts,
            max_attempts,
            last_error: None,
        }
    }

    #[test]
    fn a_retryable_error_is_retried_until_the_attempts_are_used() {
        let e = JobError::retryable("blob store unavailable");
        assert_eq!(next_step(&job(1, 3), &e), Step::Retry);
        assert_eq!(next_step(&job(2, 3), &e), Step::Retry);
        assert_eq!(
            next_step(&job(3, 3), &e),
            Step::GiveUp("failed 3 times; last error: blob store unavailable".into())
        );
    }

    #[test]
    fn a_permanent_error_ends_the_analysis_at_once_with_its_reason() {
        let e = JobError::permanent("collection 42 not found");
        assert_eq!(
            next_step(&job(1, 5), &e),
            Step::GiveUp("collection 42 not found".into())
        );
    }
}
