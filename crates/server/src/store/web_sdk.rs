//! Web plugin sessions (see migration 0005): a minted session token, spent once when the plugin
//! starts, then the session it became; and its hand-off to a phone (see migration 0007). Only
//! SHA-256 digests of the tokens and of the plugin's session keys are stored.

use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use super::{json_col, now_us, parse_uuid, Store};
use crate::auth::tokens;

#[derive(Debug, Clone)]
pub struct WebSdkSession {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub company_id: Option<Uuid>,
    pub token_expires_us: i64,
    pub started_at: Option<i64>,
    pub session_expires_us: Option<i64>,
    pub origin: Option<String>,
    pub actions: Value,
    pub meta: Value,
    pub params: Value,
    pub folder_id: Option<Uuid>,
    pub uploaded: Vec<String>,
    pub submitted_at: Option<i64>,
    /// The capture attempt in progress or last submitted, from 1 (see migration 0006).
    pub attempt: i64,
    /// When a hand-off token was minted and not spent yet: its expiry.
    pub handoff_expires_us: Option<i64>,
    /// When a phone took the session over (its hand-off token spent).
    pub handoff_started_at: Option<i64>,
    /// The page origin the phone runs on.
    pub handoff_origin: Option<String>,
    key_hash: Option<String>,
    handoff_key_hash: Option<String>,
}

impl WebSdkSession {
    /// Whether `key` is this session's plugin key.
    pub fn has_key(&self, key: &str) -> bool {
        self.key_hash.as_deref() == Some(tokens::digest(key).as_str())
    }

    /// Whether `key` is the key of the phone the session was handed off to.
    pub fn has_handoff_key(&self, key: &str) -> bool {
        self.handoff_key_hash.as_deref() == Some(tokens::digest(key).as_str())
    }
}

const COLUMNS: &str =
    "session_id, user_id, company_id, token_expires, started_at, session_expires, \
     key_hash, origin, actions, meta, params, folder_id, uploaded, submitted_at, attempt, \
     handoff_expires, handoff_started_at, handoff_key_hash, handoff_origin";

fn from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<WebSdkSession> {
    let uuid = |c: &str| -> sqlx::Result<Option<Uuid>> {
        Ok(r.try_get::<Option<String>, _>(c)?
            .as_deref()
            .and_then(parse_uuid))
    };
    Ok(WebSdkSession {
        session_id: uuid("session_id")?.unwrap_or_default(),
        user_id: uuid("user_id")?.unwrap_or_default(),
        company_id: uuid("company_id")?,
        token_expires_us: r.try_get("token_expires")?,
        started_at: r.try_get("started_at")?,
        session_expires_us: r.try_get("session_expires")?,
        key_hash: r.try_get("key_hash")?,
        origin: r.try_get("origin")?,
        actions: json_col(&r.try_get::<String, _>("actions")?),
        meta: json_col(&r.try_get::<String, _>("meta")?),
        params: json_col(&r.try_get::<String, _>("params")?),
        folder_id: uuid("folder_id")?,
        uploaded: serde_json::from_str(&r.try_get::<String, _>("uploaded")?).unwrap_or_default(),
        submitted_at: r.try_get("submitted_at")?,
        attempt: r.try_get("attempt")?,
        handoff_expires_us: r.try_get("handoff_expires")?,
        handoff_started_at: r.try_get("handoff_started_at")?,
        handoff_origin: r.try_get("handoff_origin")?,
        handoff_key_hash: r.try_get("handoff_key_hash")?,
    })
}

/// What the plugin's start stores with a spent token.
pub struct Start<'a> {
    pub key: &'a str,
    pub origin: &'a str,
    pub expires_us: i64,
    pub actions: &'a Value,
    pub meta: &'a Value,
    pub params: &'a Value,
}

impl Store {
    /// Store a new session token (its digest) for `user_id` of `company_id`.
    pub async fn web_sdk_token_create(
        &self,
        token: &str,
        user_id: Uuid,
        company_id: Option<Uuid>,
        ttl_secs: i64,
    ) -> sqlx::Result<()> {
        let now = now_us();
        sqlx::query(
            "INSERT INTO web_sdk_sessions (session_id, token_hash, user_id, company_id, time_created, token_expires) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(tokens::digest(token))
        .bind(user_id.to_string())
        .bind(company_id.map(|c| c.to_string()))
        .bind(now)
        .bind(now + ttl_secs.max(1) * 1_000_000)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session a token was minted as (spent or not).
    pub async fn web_sdk_by_token(&self, token: &str) -> sqlx::Result<Option<WebSdkSession>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM web_sdk_sessions WHERE token_hash = $1"
        ))
        .bind(tokens::digest(token))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn web_sdk_get(&self, id: Uuid) -> sqlx::Result<Option<WebSdkSession>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM web_sdk_sessions WHERE session_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Spend the token of session `id` and store the started session; `false` when the token was
    /// spent meanwhile or has expired (nothing is changed then).
    pub async fn web_sdk_start(&self, id: Uuid, s: &Start<'_>) -> sqlx::Result<bool> {
        let now = now_us();
        let done = sqlx::query(
            "UPDATE web_sdk_sessions SET started_at = $2, session_expires = $3, key_hash = $4, \
             origin = $5, actions = $6, meta = $7, params = $8 \
             WHERE session_id = $1 AND started_at IS NULL AND token_expires > $2",
        )
        .bind(id.to_string())
        .bind(now)
        .bind(s.expires_us)
        .bind(tokens::digest(s.key))
        .bind(s.origin)
        .bind(s.actions.to_string())
        .bind(s.meta.to_string())
        .bind(s.params.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Record the folder (set once) and the actions uploaded so far.
    pub async fn web_sdk_set_upload(
        &self,
        id: Uuid,
        folder_id: Uuid,
        uploaded: &[String],
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE web_sdk_sessions SET folder_id = $2, uploaded = $3 WHERE session_id = $1",
        )
        .bind(id.to_string())
        .bind(folder_id.to_string())
        .bind(serde_json::to_string(uploaded).unwrap_or_else(|_| "[]".into()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claim the session for storing one capture until `until_us` (see migration 0008); `false`
    /// when another capture holds an unexpired claim.
    pub async fn web_sdk_claim_capture(&self, id: Uuid, until_us: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE web_sdk_sessions SET capture_until = $2 \
             WHERE session_id = $1 AND (capture_until IS NULL OR capture_until < $3)",
        )
        .bind(id.to_string())
        .bind(until_us)
        .bind(now_us())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Release a claim of [`Store::web_sdk_claim_capture`].
    pub async fn web_sdk_release_capture(&self, id: Uuid) -> sqlx::Result<()> {
        sqlx::query("UPDATE web_sdk_sessions SET capture_until = NULL WHERE session_id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Mark the session submitted (its analyses ordered); `false` when it already was.
    pub async fn web_sdk_submit(&self, id: Uuid) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE web_sdk_sessions SET submitted_at = $2 WHERE session_id = $1 AND submitted_at IS NULL",
        )
        .bind(id.to_string())
        .bind(now_us())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Open attempt `attempt + 1` of a submitted session: nothing uploaded yet, not submitted,
    /// with `actions` (a new challenge). `false` when the session is not at `attempt` and
    /// submitted any more (a concurrent retry won), and nothing is changed then.
    pub async fn web_sdk_retry(
        &self,
        id: Uuid,
        attempt: i64,
        actions: &Value,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE web_sdk_sessions SET attempt = attempt + 1, uploaded = '[]', submitted_at = NULL, \
             actions = $3 WHERE session_id = $1 AND attempt = $2 AND submitted_at IS NOT NULL",
        )
        .bind(id.to_string())
        .bind(attempt)
        .bind(actions.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Store a hand-off token (its digest) for started session `id`, replacing an unspent one;
    /// `false` when a phone has already taken the session over (nothing is changed then).
    pub async fn web_sdk_handoff_mint(
        &self,
        id: Uuid,
        token: &str,
        expires_us: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE web_sdk_sessions SET handoff_token_hash = $2, handoff_expires = $3 \
             WHERE session_id = $1 AND started_at IS NOT NULL AND handoff_started_at IS NULL",
        )
        .bind(id.to_string())
        .bind(tokens::digest(token))
        .bind(expires_us)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The session a hand-off token was minted for (spent or not).
    pub async fn web_sdk_by_handoff_token(
        &self,
        token: &str,
    ) -> sqlx::Result<Option<WebSdkSession>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM web_sdk_sessions WHERE handoff_token_hash = $1"
        ))
        .bind(tokens::digest(token))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Spend session `id`'s hand-off token and give the phone (on `origin`) its key; `false`
    /// when it was spent meanwhile or has expired (nothing is changed then).
    pub async fn web_sdk_handoff_start(
        &self,
        id: Uuid,
        key: &str,
        origin: &str,
    ) -> sqlx::Result<bool> {
        let now = now_us();
        let done = sqlx::query(
            "UPDATE web_sdk_sessions SET handoff_started_at = $2, handoff_key_hash = $3, handoff_origin = $4 \
             WHERE session_id = $1 AND handoff_started_at IS NULL AND handoff_expires > $2",
        )
        .bind(id.to_string())
        .bind(now)
        .bind(tokens::digest(key))
        .bind(origin)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Drop tokens that expired unspent and sessions a day past their end.
    pub async fn web_sdk_purge(&self) -> sqlx::Result<u64> {
        let now = now_us();
        let done = sqlx::query(
            "DELETE FROM web_sdk_sessions WHERE (started_at IS NULL AND token_expires < $1) \
             OR (session_expires IS NOT NULL AND session_expires < $2)",
        )
        .bind(now)
        .bind(now - 24 * 3600 * 1_000_000)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
