//! Webhook deliveries (one per finished group of analyses with a callback URL) and every attempt
//! made to deliver them, visible to the folder's owner.

use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::{now_us, uuid_col, word_col, Store};
use crate::domain::DeliveryState;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttemptRow {
    pub attempt: i64,
    /// HTTP status of the receiver's answer; null when no answer came.
    pub status_code: Option<i64>,
    /// `receiver error` (it answered, not 2xx) or `unreachable` (no answer: refused, timed out,
    /// or a destination the server may not call); null when delivered.
    pub error: Option<String>,
    /// Kept for the server's own records; not shown, since timings map a network.
    #[serde(skip)]
    pub duration_ms: i64,
    /// UNIX seconds.
    pub time_created: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryRow {
    pub delivery_id: Uuid,
    pub folder_id: Uuid,
    pub group_id: Uuid,
    pub url: String,
    /// `PENDING`, `DELIVERED` or `FAILED` (gave up after the last retry).
    #[schema(value_type = String)]
    pub state: DeliveryState,
    pub attempts: Vec<AttemptRow>,
    #[serde(skip)]
    pub body: String,
    /// UNIX seconds.
    pub time_created: f64,
}

fn delivery_from(r: &sqlx::any::AnyRow) -> sqlx::Result<DeliveryRow> {
    Ok(DeliveryRow {
        delivery_id: uuid_col(&r.try_get::<String, _>("delivery_id")?),
        folder_id: uuid_col(&r.try_get::<String, _>("folder_id")?),
        group_id: uuid_col(&r.try_get::<String, _>("group_id")?),
        url: r.try_get("url")?,
        state: word_col(r, "state")?,
        attempts: Vec::new(),
        body: r.try_get("body")?,
        time_created: r.try_get::<i64, _>("time_created")? as f64 / 1e6,
    })
}

const COLUMNS: &str = "delivery_id, folder_id, group_id, url, body, state, time_created";

impl Store {
    pub async fn delivery_get(&self, id: Uuid) -> sqlx::Result<Option<DeliveryRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM webhook_deliveries WHERE delivery_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(delivery_from).transpose()
    }

    /// Freeze the body of a delivery (first attempt only; later attempts resend the same bytes).
    pub async fn delivery_set_body(&self, id: Uuid, body: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE webhook_deliveries SET body = $2 WHERE delivery_id = $1 AND body = ''")
            .bind(id.to_string())
            .bind(body)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Record one attempt and the delivery's new state.
    pub async fn delivery_attempt(
        &self,
        id: Uuid,
        attempt: i64,
        status_code: Option<u16>,
        error: Option<&str>,
        duration_ms: i64,
        state: DeliveryState,
    ) -> sqlx::Result<()> {
        let now = now_us();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (attempt_id, delivery_id, attempt, status_code, error, duration_ms, time_created) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(id.to_string())
        .bind(attempt)
        .bind(status_code.map(i64::from))
        .bind(error)
        .bind(duration_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, attempts = $3, time_updated = $4 WHERE delivery_id = $1",
        )
        .bind(id.to_string())
        .bind(state.as_str())
        .bind(attempt)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// The deliveries of a folder with their attempts, oldest first.
    pub async fn deliveries_of_folder(&self, folder: Uuid) -> sqlx::Result<Vec<DeliveryRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM webhook_deliveries WHERE folder_id = $1 ORDER BY time_created"
        ))
        .bind(folder.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<DeliveryRow> = rows
            .iter()
            .map(delivery_from)
            .collect::<sqlx::Result<_>>()?;
        for d in &mut out {
            let rows = sqlx::query(
                "SELECT attempt, status_code, error, duration_ms, time_created FROM webhook_attempts \
                 WHERE delivery_id = $1 ORDER BY attempt",
            )
            .bind(d.delivery_id.to_string())
            .fetch_all(&self.pool)
            .await?;
            for r in rows {
                d.attempts.push(AttemptRow {
                    attempt: r.try_get("attempt")?,
                    status_code: r.try_get("status_code")?,
                    error: r.try_get("error")?,
                    duration_ms: r.try_get("duration_ms")?,
                    time_created: r.try_get::<i64, _>("time_created")? as f64 / 1e6,
                });
            }
        }
        Ok(out)
    }

    /// A company's settings document (`{}` when none).
    pub async fn company_settings(&self, company: Uuid) -> sqlx::Result<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT settings FROM companies WHERE company_id = $1")
            .bind(company.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(super::json_col(&r.try_get::<String, _>("settings")?)))
            .transpose()
    }

    /// Every company's id and settings (the web plugin's tokenless start looks for the company
    /// whose settings allow a page origin).
    pub async fn companies_settings(&self) -> sqlx::Result<Vec<(Uuid, serde_json::Value)>> {
        let rows = sqlx::query("SELECT company_id, settings FROM companies ORDER BY time_created")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    super::uuid_col(&r.try_get::<String, _>("company_id")?),
                    super::json_col(&r.try_get::<String, _>("settings")?),
                ))
            })
            .collect()
    }

    pub async fn company_set_settings(
        &self,
        company: Uuid,
        settings: &serde_json::Value,
    ) -> sqlx::Result<()> {
        sqlx::query("UPDATE companies SET settings = $2, time_updated = $3 WHERE company_id = $1")
            .bind(company.to_string())
            .bind(settings.to_string())
            .bind(now_us())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
