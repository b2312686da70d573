//! Login sessions: hashed access and refresh tokens with their expiry times.

use sqlx::Row;
use uuid::Uuid;

use super::{now_us, parse_uuid, users, Store};
use crate::auth::tokens;

pub struct NewTokens {
    pub access_token: String,
    pub expire_token: String,
    /// UNIX seconds.
    pub expire_date: i64,
}

pub struct SessionRow {
    pub session_id: Uuid,
    pub user: users::User,
    pub access_expires_us: i64,
    pub refresh_expires_us: i64,
    pub ttl_secs: i64,
    pub replaces: Option<Uuid>,
}

const PREFIX_COLUMNS: &str =
    "s.session_id AS s_id, s.access_expires AS s_access_expires, s.refresh_expires AS s_refresh_expires, \
     s.ttl_secs AS s_ttl, s.replaces AS s_replaces";

fn from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<SessionRow> {
    Ok(SessionRow {
        session_id: parse_uuid(&r.try_get::<String, _>("s_id")?).unwrap_or_default(),
        user: users::from_row(r)?,
        access_expires_us: r.try_get("s_access_expires")?,
        refresh_expires_us: r.try_get("s_refresh_expires")?,
        ttl_secs: r.try_get("s_ttl")?,
        replaces: r
            .try_get::<Option<String>, _>("s_replaces")?
            .as_deref()
            .and_then(parse_uuid),
    })
}

impl Store {
    /// A new session for `user_id`, valid `ttl_secs` (access) and `refresh_ttl_secs` (refresh).
    pub async fn session_create(
        &self,
        user_id: Uuid,
        ttl_secs: i64,
        refresh_ttl_secs: i64,
        replaces: Option<Uuid>,
    ) -> sqlx::Result<NewTokens> {
        let access_token = tokens::generate();
        let expire_token = tokens::generate();
        let now = now_us();
        let access_expires = now + ttl_secs * 1_000_000;
        sqlx::query(
            "INSERT INTO sessions (session_id, user_id, access_hash, refresh_hash, access_expires, refresh_expires, \
             ttl_secs, replaces, time_created) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(user_id.to_string())
        .bind(tokens::digest(&access_token))
        .bind(tokens::digest(&expire_token))
        .bind(access_expires)
        .bind(now + refresh_ttl_secs.max(ttl_secs) * 1_000_000)
        .bind(ttl_secs)
        .bind(replaces.map(|r| r.to_string()))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(NewTokens {
            access_token,
            expire_token,
            expire_date: access_expires / 1_000_000,
        })
    }

    async fn session_find(&self, column: &str, token: &str) -> sqlx::Result<Option<SessionRow>> {
        let cols = super::qualified(users::USER_COLUMNS, "u");
        let row = sqlx::query(&format!(
            "SELECT {PREFIX_COLUMNS}, {cols} FROM sessions s JOIN users u ON u.user_id = s.user_id WHERE s.{column} = $1"
        ))
        .bind(tokens::digest(token))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn session_by_access(&self, token: &str) -> sqlx::Result<Option<SessionRow>> {
        self.session_find("access_hash", token).await
    }

    pub async fn session_by_refresh(&self, token: &str) -> sqlx::Result<Option<SessionRow>> {
        self.session_find("refresh_hash", token).await
    }

    /// Sliding expiry: push the access expiry to now + TTL; also forgets the replaced session.
    pub async fn session_touch(&self, s: &SessionRow, slide: bool) -> sqlx::Result<()> {
        if slide {
            let now = now_us();
            let refresh = s.refresh_expires_us.max(now + s.ttl_secs * 1_000_000);
            sqlx::query("UPDATE sessions SET access_expires = $2, refresh_expires = $3 WHERE session_id = $1")
                .bind(s.session_id.to_string())
                .bind(now + s.ttl_secs * 1_000_000)
                .bind(refresh)
                .execute(&self.pool)
                .await?;
        }
        if let Some(old) = s.replaces {
            sqlx::query("DELETE FROM sessions WHERE session_id = $1")
                .bind(old.to_string())
                .execute(&self.pool)
                .await?;
            sqlx::query("UPDATE sessions SET replaces = NULL WHERE session_id = $1")
                .bind(s.session_id.to_string())
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn session_delete(&self, id: Uuid) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE session_id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forget sessions whose refresh token has expired too.
    pub async fn session_purge_expired(&self) -> sqlx::Result<u64> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE refresh_expires < $1")
                .bind(now_us())
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
