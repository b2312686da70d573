//! Analyses, their operator decisions, and the folder status derived from them.
//!
//! Folder status rule (Oz §4.2): the folder shows the result of its latest group of analyses (a
//! group = the analyses ordered in one request). While any of them is processing the folder is
//! `PROCESSING`; any `FAILED` makes it `FAILED`; otherwise the worst resolution wins
//! (`DECLINED` > `OPERATOR_REQUIRED` > `SUCCESS`). `resolution_status` and `system_resolution`
//! carry the same value, because clients read either.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::folders::{MediaRow, Owner};
use super::jobs::{insert_job, JobKind};
use super::{json_col, now_us, parse_uuid, uuid_col, word_col, Param, Sql, Store};
use crate::domain::{
    AnalysisState, AnalysisType, AnalysisTypeFilter, DeliveryState, FolderStatus, Resolution,
};

#[derive(Debug, Clone)]
pub struct AnalysisRow {
    pub analysis_id: Uuid,
    pub folder_id: Uuid,
    pub group_id: Uuid,
    pub user_id: Option<Uuid>,
    pub kind: AnalysisType,
    pub state: AnalysisState,
    pub resolution_status: Resolution,
    pub params: serde_json::Value,
    pub source_media: Vec<Uuid>,
    pub results_media: serde_json::Value,
    pub results_data: serde_json::Value,
    pub error: Option<String>,
    pub resolution_endpoint: Option<String>,
    pub meta_data: serde_json::Value,
    pub time_created: i64,
    pub time_updated: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionRow {
    pub decision_id: Uuid,
    pub analysis_id: Uuid,
    pub user_id: Uuid,
    #[schema(value_type = String)]
    pub before: Resolution,
    #[schema(value_type = String)]
    pub after: Resolution,
    pub comment: String,
    /// UNIX seconds.
    pub time_created: f64,
}

const COLUMNS: &str = "analysis_id, folder_id, group_id, user_id, type, state, resolution_status, params, \
    source_media, results_media, results_data, error, resolution_endpoint, meta_data, time_created, time_updated";

fn from_row(r: &AnyRow) -> sqlx::Result<AnalysisRow> {
    let source: Vec<String> =
        serde_json::from_str(&r.try_get::<String, _>("source_media")?).unwrap_or_default();
    Ok(AnalysisRow {
        analysis_id: uuid_col(&r.try_get::<String, _>("analysis_id")?),
        folder_id: uuid_col(&r.try_get::<String, _>("folder_id")?),
        group_id: uuid_col(&r.try_get::<String, _>("group_id")?),
        user_id: r
            .try_get::<Option<String>, _>("user_id")?
            .as_deref()
            .and_then(parse_uuid),
        kind: word_col(r, "type")?,
        state: word_col(r, "state")?,
        resolution_status: word_col(r, "resolution_status")?,
        params: json_col(&r.try_get::<String, _>("params")?),
        source_media: source.iter().filter_map(|s| parse_uuid(s)).collect(),
        results_media: serde_json::from_str(&r.try_get::<String, _>("results_media")?)
            .unwrap_or_else(|_| serde_json::json!([])),
        results_data: json_col(&r.try_get::<String, _>("results_data")?),
        error: r.try_get("error")?,
        resolution_endpoint: r.try_get("resolution_endpoint")?,
        meta_data: json_col(&r.try_get::<String, _>("meta_data")?),
        time_created: r.try_get("time_created")?,
        time_updated: r.try_get("time_updated")?,
    })
}

/// Filters of `GET /api/folders/{id}/analyses/` (legacy `folder_analyze_list_get`).
#[derive(Debug, Clone, Default)]
pub struct AnalysisFilter {
    pub analysis_ids: Vec<Uuid>,
    pub exclude_ids: Vec<Uuid>,
    pub kinds: Vec<AnalysisTypeFilter>,
    pub states: Vec<AnalysisState>,
    pub resolution_status: Vec<Resolution>,
    pub time_created_min: Option<i64>,
    pub time_created_max: Option<i64>,
}

/// What a worker writes when an analysis finishes.
pub struct Finished<'a> {
    pub analysis_id: Uuid,
    pub resolution_status: Resolution,
    pub results_media: &'a serde_json::Value,
    pub results_data: &'a serde_json::Value,
    /// Media the analysis produced (best shots), stored with the result.
    pub new_media: &'a [MediaRow],
}

/// A webhook delivery queued because a group of analyses finished.
pub struct GroupDone {
    pub delivery_id: Uuid,
}

/// What [`Store::analysis_finish`] did.
pub enum FinishOutcome {
    /// The analysis was no longer PROCESSING (a duplicate run after a lease ran out): nothing
    /// was written.
    AlreadyFinished,
    /// The result was stored; `webhook` is the delivery queued when this analysis was the last
    /// of its group and the group has a webhook URL.
    Stored { webhook: Option<GroupDone> },
}

impl Store {
    /// Insert analyses (one group) and their jobs, and mark the folder PROCESSING — one transaction.
    pub async fn analyses_create(
        &self,
        rows: &[AnalysisRow],
        max_attempts: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.pool.begin().await?;
        for a in rows {
            sqlx::query(&format!(
                "INSERT INTO analyses ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)"
            ))
            .bind(a.analysis_id.to_string())
            .bind(a.folder_id.to_string())
            .bind(a.group_id.to_string())
            .bind(a.user_id.map(|u| u.to_string()))
            .bind(a.kind.as_str())
            .bind(a.state.as_str())
            .bind(a.resolution_status.as_str())
            .bind(a.params.to_string())
            .bind(serde_json::to_string(&a.source_media).unwrap_or_else(|_| "[]".into()))
            .bind(a.results_media.to_string())
            .bind(a.results_data.to_string())
            .bind(a.error.as_deref())
            .bind(a.resolution_endpoint.as_deref())
            .bind(a.meta_data.to_string())
            .bind(a.time_created)
            .bind(a.time_updated)
            .execute(&mut *tx)
            .await?;
            insert_job(&mut tx, JobKind::Analysis, a.analysis_id, max_attempts, 0).await?;
        }
        if let Some(a) = rows.first() {
            refresh_folder_status(&mut tx, a.folder_id).await?;
        }
        tx.commit().await
    }

    /// One analysis with its folder's ownership.
    pub async fn analysis_get(&self, id: Uuid) -> sqlx::Result<Option<(AnalysisRow, Owner)>> {
        let cols = super::qualified(COLUMNS, "a");
        let row = sqlx::query(&format!(
            "SELECT {cols}, f.company_id AS f_company_id, f.user_id AS f_user_id FROM analyses a \
             JOIN folders f ON f.folder_id = a.folder_id WHERE a.analysis_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let a = from_row(&r)?;
                let owner = Owner::joined(&r, a.folder_id)?;
                Ok(Some((a, owner)))
            }
        }
    }

    /// Analyses of the given folders, oldest first.
    pub async fn analyses_of_folders(
        &self,
        ids: &[Uuid],
        f: &AnalysisFilter,
    ) -> sqlx::Result<Vec<AnalysisRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(format!("SELECT {COLUMNS} FROM analyses WHERE 1=1"));
        q.and_in("folder_id", ids, false)
            .and_in("analysis_id", &f.analysis_ids, false)
            .and_in("analysis_id", &f.exclude_ids, true)
            .and_in("type", &f.kinds, false)
            .and_in("state", &f.states, false)
            .and_in("resolution_status", &f.resolution_status, false);
        for (op, v) in [(">=", f.time_created_min), ("<=", f.time_created_max)] {
            if let Some(v) = v {
                q.push(&format!(" AND time_created {op} "));
                q.bind(Param::Int(v));
            }
        }
        q.push(" ORDER BY time_created, analysis_id");
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// Store a finished analysis, its new media, the folder status, and (when the analysis was the
    /// last of its group) the group's webhook — one transaction.
    pub async fn analysis_finish(
        &self,
        done: &Finished<'_>,
        default_webhook: Option<&str>,
    ) -> sqlx::Result<FinishOutcome> {
        let mut tx = self.pool.begin().await?;
        let now = now_us();
        let n = sqlx::query(
            "UPDATE analyses SET state = 'FINISHED', resolution_status = $2, results_media = $3, \
             results_data = $4, error = NULL, time_updated = $5 WHERE analysis_id = $1 AND state = 'PROCESSING'",
        )
        .bind(done.analysis_id.to_string())
        .bind(done.resolution_status.as_str())
        .bind(done.results_media.to_string())
        .bind(done.results_data.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(FinishOutcome::AlreadyFinished);
        }
        super::folders::insert_media(&mut tx, done.new_media).await?;
        let webhook = after_change(&mut tx, done.analysis_id, default_webhook).await?;
        tx.commit().await?;
        Ok(FinishOutcome::Stored { webhook })
    }

    /// Mark an analysis FAILED with a reason (after the last retry).
    pub async fn analysis_fail(
        &self,
        id: Uuid,
        reason: &str,
        default_webhook: Option<&str>,
    ) -> sqlx::Result<Option<GroupDone>> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE analyses SET state = 'FAILED', resolution_status = 'FAILED', error = $2, time_updated = $3 \
             WHERE analysis_id = $1 AND state = 'PROCESSING'",
        )
        .bind(id.to_string())
        .bind(reason)
        .bind(now_us())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let group = after_change(&mut tx, id, default_webhook).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// An operator's decision: only from OPERATOR_REQUIRED; recorded with who and when.
    /// Returns `false` when the analysis is not awaiting a decision.
    pub async fn analysis_decide(
        &self,
        id: Uuid,
        user_id: Uuid,
        after: Resolution,
        comment: &str,
    ) -> sqlx::Result<bool> {
        let mut tx = self.pool.begin().await?;
        let now = now_us();
        let n = sqlx::query(
            "UPDATE analyses SET resolution_status = $2, time_updated = $3 \
             WHERE analysis_id = $1 AND state = 'FINISHED' AND resolution_status = 'OPERATOR_REQUIRED'",
        )
        .bind(id.to_string())
        .bind(after.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO analysis_decisions (decision_id, analysis_id, user_id, before_status, after_status, comment, time_created) \
             VALUES ($1,$2,$3,'OPERATOR_REQUIRED',$4,$5,$6)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(after.as_str())
        .bind(comment)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let folder: String = sqlx::query("SELECT folder_id FROM analyses WHERE analysis_id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?
            .try_get("folder_id")?;
        refresh_folder_status(&mut tx, uuid_col(&folder)).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn decisions_of(&self, ids: &[Uuid]) -> sqlx::Result<Vec<DecisionRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(
            "SELECT decision_id, analysis_id, user_id, before_status, after_status, comment, time_created \
             FROM analysis_decisions WHERE 1=1",
        );
        q.and_in("analysis_id", ids, false);
        q.push(" ORDER BY time_created");
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(DecisionRow {
                    decision_id: uuid_col(&r.try_get::<String, _>("decision_id")?),
                    analysis_id: uuid_col(&r.try_get::<String, _>("analysis_id")?),
                    user_id: uuid_col(&r.try_get::<String, _>("user_id")?),
                    before: word_col(r, "before_status")?,
                    after: word_col(r, "after_status")?,
                    comment: r.try_get("comment")?,
                    time_created: r.try_get::<i64, _>("time_created")? as f64 / 1e6,
                })
            })
            .collect()
    }
}

/// After an analysis changed: refresh the folder status; when its group has just finished and has
/// a webhook URL (the request's, else the company default), queue the delivery.
async fn after_change(
    tx: &mut Transaction<'static, Any>,
    analysis_id: Uuid,
    default_webhook: Option<&str>,
) -> sqlx::Result<Option<GroupDone>> {
    let r = sqlx::query("SELECT folder_id, group_id FROM analyses WHERE analysis_id = $1")
        .bind(analysis_id.to_string())
        .fetch_one(&mut **tx)
        .await?;
    let folder_id = uuid_col(&r.try_get::<String, _>("folder_id")?);
    let group_id: String = r.try_get("group_id")?;
    refresh_folder_status(tx, folder_id).await?;
    let rows = sqlx::query("SELECT state, resolution_endpoint FROM analyses WHERE group_id = $1")
        .bind(&group_id)
        .fetch_all(&mut **tx)
        .await?;
    let mut url = None;
    for r in &rows {
        if word_col::<AnalysisState>(r, "state")? == AnalysisState::Processing {
            return Ok(None);
        }
        if let Some(u) = r.try_get::<Option<String>, _>("resolution_endpoint")? {
            url = Some(u);
        }
    }
    let Some(url) = url.or_else(|| default_webhook.map(str::to_string)) else {
        return Ok(None);
    };
    // The body is frozen at the first attempt (built from the folder as it is then).
    let delivery_id = Uuid::new_v4();
    let now = now_us();
    sqlx::query(
        "INSERT INTO webhook_deliveries (delivery_id, folder_id, group_id, url, body, state, attempts, time_created, time_updated) \
         VALUES ($1,$2,$3,$4,'',$6,0,$5,$5)",
    )
    .bind(delivery_id.to_string())
    .bind(folder_id.to_string())
    .bind(&group_id)
    .bind(&url)
    .bind(now)
    .bind(DeliveryState::Pending.as_str())
    .execute(&mut **tx)
    .await?;
    insert_job(tx, JobKind::Webhook, delivery_id, i64::MAX, 0).await?;
    Ok(Some(GroupDone { delivery_id }))
}

/// Recompute a folder's status from its latest group (see the module doc).
pub async fn refresh_folder_status(
    tx: &mut Transaction<'static, Any>,
    folder_id: Uuid,
) -> sqlx::Result<()> {
    let latest = sqlx::query(
        "SELECT group_id FROM analyses WHERE folder_id = $1 ORDER BY time_created DESC, analysis_id DESC LIMIT 1",
    )
    .bind(folder_id.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    let status = match latest {
        None => FolderStatus::Initial,
        Some(r) => {
            let group: String = r.try_get("group_id")?;
            let rows =
                sqlx::query("SELECT state, resolution_status FROM analyses WHERE group_id = $1")
                    .bind(&group)
                    .fetch_all(&mut **tx)
                    .await?;
            let mut states = Vec::new();
            for r in &rows {
                states.push((word_col(r, "state")?, word_col(r, "resolution_status")?));
            }
            folder_status(&states)
        }
    };
    sqlx::query(
        "UPDATE folders SET resolution_status = $2, system_resolution = $2, time_updated = $3 WHERE folder_id = $1",
    )
    .bind(folder_id.to_string())
    .bind(status.as_str())
    .bind(now_us())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The folder status of a group from its analyses' (state, resolution_status).
pub fn folder_status(group: &[(AnalysisState, Resolution)]) -> FolderStatus {
    let any_state = |s: AnalysisState| group.iter().any(|(x, _)| *x == s);
    let any_result = |r: Resolution| group.iter().any(|(_, x)| *x == r);
    if any_state(AnalysisState::Processing) {
        FolderStatus::Processing
    } else if any_state(AnalysisState::Failed) {
        FolderStatus::Failed
    } else if any_result(Resolution::Declined) {
        FolderStatus::Declined
    } else if any_result(Resolution::OperatorRequired) {
        FolderStatus::OperatorRequired
    } else if group.is_empty() {
        FolderStatus::Initial
    } else {
        FolderStatus::Success
    }
}

#[cfg(test)]
mod tests {
    use super::folder_status;
    use crate::domain::{AnalysisState, FolderStatus, Resolution};

    fn g(v: &[(&str, &str)]) -> Vec<(AnalysisState, Resolution)> {
        v.iter()
            .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
            .collect()
    }

    #[test]
    fn the_worst_result_of_the_group_wins() {
        assert_eq!(folder_status(&g(&[])), FolderStatus::Initial);
        assert_eq!(
            folder_status(&g(&[("FINISHED", "SUCCESS"), ("PROCESSING", "PROCESSING")])),
            FolderStatus::Processing
        );
        assert_eq!(
            folder_status(&g(&[("FINISHED", "DECLINED"), ("FAILED", "FAILED")])),
            FolderStatus::Failed
        );
        assert_eq!(
            folder_status(&g(&[
                ("FINISHED", "SUCCESS"),
                ("FINISHED", "OPERATOR_REQUIRED")
            ])),
            FolderStatus::OperatorRequired
        );
        assert_eq!(
            folder_status(&g(&[
                ("FINISHED", "DECLINED"),
                ("FINISHED", "OPERATOR_REQUIRED")
            ])),
            FolderStatus::Declined
        );
        assert_eq!(
            folder_status(&g(&[("FINISHED", "SUCCESS"), ("FINISHED", "SUCCESS")])),
            FolderStatus::Success
        );
    }
}
