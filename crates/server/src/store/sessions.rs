//! Login sessions: hashed access and refresh tokens with their expiry times, grouped in families.
//!
//! A login starts a family; each refresh adds a session to it and spends the refresh token of the
//! one it came from (single use). A refreshed session stays usable until its successor is first
//! used (in-flight requests keep working), then it is *retired*: its access token is refused, but
//! the row stays until its refresh expiry so that a replayed refresh token is recognised — and a
//! replay ends every session of the family (refresh-token reuse detection).

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
    pub family_id: Uuid,
    /// The refresh token has been spent.
    pub refreshed: bool,
    /// Superseded by a session refreshed from it and used: the access token is no longer valid.
    pub retired: bool,
    access_hash: String,
}

impl SessionRow {
    /// Whether `access_token` is this session's own access token.
    pub fn has_access_token(&self, access_token: &str) -> bool {
        tokens::digest(access_token) == self.access_hash
    }
}

/// What spending a refresh token found.
pub enum Refresh {
    /// The token was fresh and is now spent: here is the successor.
    Rotated(NewTokens),
    /// The token had been spent before: the family was revoked.
    Reused,
}

const PREFIX_COLUMNS: &str =
    "s.session_id AS s_id, s.access_expires AS s_access_expires, s.refresh_expires AS s_refresh_expires, \
     s.ttl_secs AS s_ttl, s.replaces AS s_replaces, s.family_id AS s_family, \
     s.refreshed_at AS s_refreshed, s.retired_at AS s_retired, s.access_hash AS s_access_hash";

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
        family_id: r
            .try_get::<Option<String>, _>("s_family")?
            .as_deref()
            .and_then(parse_uuid)
            .unwrap_or_default(),
        refreshed: r.try_get::<Option<i64>, _>("s_refreshed")?.is_some(),
        retired: r.try_get::<Option<i64>, _>("s_retired")?.is_some(),
        access_hash: r.try_get("s_access_hash")?,
    })
}

impl Store {
    /// A new session for `user_id`, valid `ttl_secs` (access) and `refresh_ttl_secs` (refresh).
    pub async fn session_create(
        &self,
        user_id: Uuid,
        ttl_secs: i64,
        refresh_ttl_secs: i64,
        replaces: Option<(Uuid, Uuid)>,
    ) -> sqlx::Result<NewTokens> {
        self.session_insert(&self.pool, user_id, ttl_secs, refresh_ttl_secs, replaces)
            .await
    }

    /// `replaces`: the session refreshed from and its family; `None` starts a new family.
    async fn session_insert<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
        &self,
        executor: E,
        user_id: Uuid,
        ttl_secs: i64,
        refresh_ttl_secs: i64,
        replaces: Option<(Uuid, Uuid)>,
    ) -> sqlx::Result<NewTokens> {
        let access_token = tokens::generate();
        let expire_token = tokens::generate();
        let now = now_us();
        let access_expires = now + ttl_secs * 1_000_000;
        let session_id = Uuid::new_v4();
        let family = replaces.map_or(session_id, |(_, family)| family);
        sqlx::query(
            "INSERT INTO sessions (session_id, user_id, access_hash, refresh_hash, access_expires, refresh_expires, \
             ttl_secs, replaces, time_created, family_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
        )
        .bind(session_id.to_string())
        .bind(user_id.to_string())
        .bind(tokens::digest(&access_token))
        .bind(tokens::digest(&expire_token))
        .bind(access_expires)
        .bind(now + refresh_ttl_secs.max(ttl_secs) * 1_000_000)
        .bind(ttl_secs)
        .bind(replaces.map(|(r, _)| r.to_string()))
        .bind(now)
        .bind(family.to_string())
        .execute(executor)
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

    /// The live session of an access token (retired sessions are not found).
    pub async fn session_by_access(&self, token: &str) -> sqlx::Result<Option<SessionRow>> {
        Ok(self
            .session_find("access_hash", token)
            .await?
            .filter(|s| !s.retired))
    }

    /// Spend the refresh token of `old` and create its successor in one transaction. A token spent
    /// before (a replay, or a race between two refreshes) revokes the whole family instead.
    pub async fn session_refresh(
        &self,
        old: &SessionRow,
        ttl_secs: i64,
        refresh_ttl_secs: i64,
    ) -> sqlx::Result<Refresh> {
        let mut tx = self.pool.begin().await?;
        let spent = sqlx::query(
            "UPDATE sessions SET refreshed_at = $2 WHERE session_id = $1 AND refreshed_at IS NULL",
        )
        .bind(old.session_id.to_string())
        .bind(now_us())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if spent == 0 {
            drop(tx);
            self.session_revoke_family(old.family_id).await?;
            return Ok(Refresh::Reused);
        }
        let tokens = self
            .session_insert(
                &mut *tx,
                old.user.user_id,
                ttl_secs,
                refresh_ttl_secs,
                Some((old.session_id, old.family_id)),
            )
            .await?;
        tx.commit().await?;
        Ok(Refresh::Rotated(tokens))
    }

    /// The family of a session (itself when it was never refreshed).
    pub async fn session_family(&self, session_id: Uuid) -> sqlx::Result<Uuid> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT family_id FROM sessions WHERE session_id = $1",
        )
        .bind(session_id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .flatten()
        .as_deref()
        .and_then(parse_uuid)
        .unwrap_or(session_id))
    }

    /// End every session refreshed from the same login.
    pub async fn session_revoke_family(&self, family_id: Uuid) -> sqlx::Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE family_id = $1")
            .bind(family_id.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// End every session of a user, except `keep` (the caller's own, when it changes its password).
    pub async fn session_revoke_user(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
    ) -> sqlx::Result<u64> {
        let keep_family = match keep {
            Some(id) => sqlx::query_scalar::<_, Option<String>>(
                "SELECT family_id FROM sessions WHERE session_id = $1",
            )
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .flatten(),
            None => None,
        };
        let q = match &keep_family {
            Some(_) => "DELETE FROM sessions WHERE user_id = $1 AND family_id <> $2",
            None => "DELETE FROM sessions WHERE user_id = $1",
        };
        let mut query = sqlx::query(q).bind(user_id.to_string());
        if let Some(f) = keep_family {
            query = query.bind(f);
        }
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    pub async fn session_by_refresh(&self, token: &str) -> sqlx::Result<Option<SessionRow>> {
        self.session_find("refresh_hash", token).await
    }

    /// Sliding expiry: push the access expiry to now + TTL; also retires the replaced session.
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
            sqlx::query(
                "UPDATE sessions SET retired_at = $2 WHERE session_id = $1 AND retired_at IS NULL",
            )
            .bind(old.to_string())
            .bind(now_us())
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
