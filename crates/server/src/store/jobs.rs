//! The durable job queue, in the database both SQLite and PostgreSQL share.
//!
//! A job is `queued` until a worker claims it: one atomic `UPDATE … RETURNING` sets it `running`
//! with a lease (`lease_until`) and counts the attempt. On PostgreSQL the candidate row is picked
//! with `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on each other; SQLite serialises
//! writers, so the same statement is atomic there. A worker renews its lease while it works; if it
//! dies, the lease runs out and the job is claimable again — nothing is lost. A job that fails (or
//! whose worker dies) `max_attempts` times ends `failed` with the last reason.

use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{now_us, uuid_col, Backend, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Analysis,
    Webhook,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Analysis => "analysis",
            JobKind::Webhook => "webhook",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub job_id: Uuid,
    pub kind: JobKind,
    pub target_id: Uuid,
    /// Claims so far, this one included.
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
}

/// One kind's part of the queue (see [`Store::queue_stats`]).
#[derive(Debug, Clone, Default)]
pub struct QueueStats {
    pub kind: String,
    pub queued: i64,
    pub running: i64,
    pub oldest_wait_us: i64,
}

/// Queue a job inside the caller's transaction, runnable `delay_us` from now.
pub async fn insert_job(
    tx: &mut Transaction<'static, Any>,
    kind: JobKind,
    target: Uuid,
    max_attempts: i64,
    delay_us: i64,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    let now = now_us();
    sqlx::query(
        "INSERT INTO jobs (job_id, kind, target_id, state, attempts, max_attempts, run_after, time_created, time_updated) \
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6)",
    )
    .bind(id.to_string())
    .bind(kind.as_str())
    .bind(target.to_string())
    .bind(max_attempts)
    .bind(now + delay_us)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

impl Store {
    /// Claim the next runnable job of `kind` (or the given job only, when `only` is set).
    pub async fn job_claim(
        &self,
        kind: JobKind,
        worker: &str,
        lease_secs: u64,
        only_target: Option<Uuid>,
    ) -> sqlx::Result<Option<Job>> {
        let now = now_us();
        let lease = now + (lease_secs as i64) * 1_000_000;
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let target = if only_target.is_some() {
            " AND target_id = $5"
        } else {
            " AND $5 = $5"
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $2, worker = $3, time_updated = $1 \
             WHERE job_id = (SELECT job_id FROM jobs WHERE kind = $4{target} AND \
             ((state = 'queued' AND run_after <= $1) OR (state = 'running' AND lease_until < $1)) \
             ORDER BY run_after, time_created LIMIT 1{lock}) \
             RETURNING job_id, kind, target_id, attempts, max_attempts, last_error"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(lease)
            .bind(worker)
            .bind(kind.as_str())
            .bind(only_target.map(|t| t.to_string()).unwrap_or_default())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Job {
                job_id: uuid_col(&r.try_get::<String, _>("job_id")?),
                kind,
                target_id: uuid_col(&r.try_get::<String, _>("target_id")?),
                attempts: r.try_get("attempts")?,
                max_attempts: r.try_get("max_attempts")?,
                last_error: r.try_get("last_error")?,
            })
        })
        .transpose()
    }

    /// Extend the lease of a job this worker holds; `false` when it is no longer ours.
    pub async fn job_renew(&self, job: Uuid, worker: &str, lease_secs: u64) -> sqlx::Result<bool> {
        let lease = now_us() + (lease_secs as i64) * 1_000_000;
        Ok(sqlx::query(
            "UPDATE jobs SET lease_until = $3 WHERE job_id = $1 AND worker = $2 AND state = 'running'",
        )
        .bind(job.to_string())
        .bind(worker)
        .bind(lease)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    pub async fn job_done(&self, job: Uuid) -> sqlx::Result<()> {
        sqlx::query("UPDATE jobs SET state = 'done', lease_until = NULL, time_updated = $2 WHERE job_id = $1")
            .bind(job.to_string())
            .bind(now_us())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Put a job back in the queue after a failure, runnable after `delay_us`.
    pub async fn job_retry(&self, job: Uuid, error: &str, delay_us: i64) -> sqlx::Result<()> {
        let now = now_us();
        sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, last_error = $2, \
             run_after = $3, time_updated = $4 WHERE job_id = $1",
        )
        .bind(job.to_string())
        .bind(error)
        .bind(now + delay_us)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn job_fail(&self, job: Uuid, error: &str) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = $2, time_updated = $3 WHERE job_id = $1",
        )
        .bind(job.to_string())
        .bind(error)
        .bind(now_us())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forget finished jobs (done or failed) older than `age_secs`; the analyses keep their results.
    pub async fn jobs_purge_finished(&self, age_secs: i64) -> sqlx::Result<u64> {
        Ok(
            sqlx::query("DELETE FROM jobs WHERE state IN ('done', 'failed') AND time_updated < $1")
                .bind(now_us() - age_secs * 1_000_000)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Hand the running jobs of every worker whose name starts with `prefix` (this process's
    /// workers) back to the queue, runnable now; the interrupted attempt is not counted. Used at
    /// shutdown after the deadline, once those workers' tasks are stopped. Returns how many.
    pub async fn jobs_release(&self, prefix: &str) -> sqlx::Result<u64> {
        let now = now_us();
        Ok(sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, run_after = $3, time_updated = $3, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
             WHERE state = 'running' AND substr(worker, 1, CAST($2 AS INTEGER)) = $1",
        )
        .bind(prefix)
        .bind(prefix.chars().count() as i64)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Per kind: jobs queued, jobs running, and the time since the oldest runnable queued job
    /// became runnable (µs; 0 when none waits).
    pub async fn queue_stats(&self) -> sqlx::Result<Vec<QueueStats>> {
        let now = now_us();
        let rows = sqlx::query(
            "SELECT kind, \
             SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END) AS queued, \
             SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running, \
             MIN(CASE WHEN state = 'queued' AND run_after <= $1 THEN run_after ELSE NULL END) AS oldest \
             FROM jobs WHERE state IN ('queued', 'running') GROUP BY kind",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let oldest: Option<i64> = r.try_get("oldest")?;
                Ok(QueueStats {
                    kind: r.try_get("kind")?,
                    queued: r.try_get("queued")?,
                    running: r.try_get("running")?,
                    oldest_wait_us: oldest.map_or(0, |t| (now - t).max(0)),
                })
            })
            .collect()
    }

    /// Jobs waiting or running (for `/metrics`-style reporting and tests).
    pub async fn jobs_pending(&self) -> sqlx::Result<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running')")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")
    }
}
