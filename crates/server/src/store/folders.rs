//! Folders and their media. A folder and its first media are written in one transaction.

use sqlx::Row;
use uuid::Uuid;

use super::{json_col, now_us, parse_uuid, uuid_col, word_col, Param, Sql, Store};
use crate::auth::policy::Scope;
use crate::domain::{AnalysisTypeFilter, FolderStatus, MediaKind, MediaType, Resolution};

#[derive(Debug, Clone)]
pub struct FolderRow {
    pub folder_id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub resolution_status: FolderStatus,
    pub system_resolution: FolderStatus,
    pub meta_data: serde_json::Value,
    pub technical_meta_data: serde_json::Value,
    pub time_created: i64,
    pub time_updated: i64,
}

#[derive(Debug, Clone)]
pub struct MediaRow {
    pub media_id: Uuid,
    pub folder_id: Uuid,
    /// IMAGE, VIDEO or SHOTS_SET.
    pub media_kind: MediaKind,
    /// IMAGE_FOLDER, VIDEO_FOLDER or SHOTS_SET_FOLDER.
    pub media_type: MediaType,
    pub format: String,
    pub mime: String,
    pub original_name: String,
    pub file_key: String,
    pub thumb_key: Option<String>,
    pub size_bytes: i64,
    pub width: i64,
    pub height: i64,
    pub duration_ms: Option<i64>,
    pub tags: Vec<String>,
    pub meta_data: serde_json::Value,
    pub technical_meta_data: serde_json::Value,
    pub time_created: i64,
    pub time_updated: i64,
}

const FOLDER_COLUMNS: &str =
    "folder_id, company_id, user_id, resolution_status, system_resolution, meta_data, \
    technical_meta_data, time_created, time_updated";
const MEDIA_COLUMNS: &str = "media_id, folder_id, media_kind, media_type, format, mime, original_name, file_key, \
    thumb_key, size_bytes, width, height, duration_ms, tags, meta_data, technical_meta_data, time_created, time_updated";

fn opt_uuid(r: &sqlx::any::AnyRow, col: &str) -> sqlx::Result<Option<Uuid>> {
    Ok(r.try_get::<Option<String>, _>(col)?
        .as_deref()
        .and_then(parse_uuid))
}

fn folder_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<FolderRow> {
    Ok(FolderRow {
        folder_id: uuid_col(&r.try_get::<String, _>("folder_id")?),
        company_id: opt_uuid(r, "company_id")?,
        user_id: opt_uuid(r, "user_id")?,
        resolution_status: word_col(r, "resolution_status")?,
        system_resolution: word_col(r, "system_resolution")?,
        meta_data: json_col(&r.try_get::<String, _>("meta_data")?),
        technical_meta_data: json_col(&r.try_get::<String, _>("technical_meta_data")?),
        time_created: r.try_get("time_created")?,
        time_updated: r.try_get("time_updated")?,
    })
}

fn media_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<MediaRow> {
    Ok(MediaRow {
        media_id: uuid_col(&r.try_get::<String, _>("media_id")?),
        folder_id: uuid_col(&r.try_get::<String, _>("folder_id")?),
        media_kind: word_col(r, "media_kind")?,
        media_type: word_col(r, "media_type")?,
        format: r.try_get("format")?,
        mime: r.try_get("mime")?,
        original_name: r.try_get("original_name")?,
        file_key: r.try_get("file_key")?,
        thumb_key: r.try_get("thumb_key")?,
        size_bytes: r.try_get("size_bytes")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        duration_ms: r.try_get("duration_ms")?,
        tags: serde_json::from_str(&r.try_get::<String, _>("tags")?).unwrap_or_default(),
        meta_data: json_col(&r.try_get::<String, _>("meta_data")?),
        technical_meta_data: json_col(&r.try_get::<String, _>("technical_meta_data")?),
        time_created: r.try_get("time_created")?,
        time_updated: r.try_get("time_updated")?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    TimeCreated,
    TimeUpdated,
}

#[derive(Debug, Clone)]
pub enum MetaOp {
    Eq,
    Ne,
}

#[derive(Debug, Clone)]
pub struct FolderFilter {
    pub scope: Scope,
    pub time_created_min: Option<i64>,
    pub time_created_max: Option<i64>,
    pub time_updated_min: Option<i64>,
    pub time_updated_max: Option<i64>,
    pub meta: Vec<(String, MetaOp, String)>,
    pub resolution_status: Vec<FolderStatus>,
    pub user_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub folder_ids: Vec<Uuid>,
    /// Folders with an analysis of one of these types (empty = any) …
    pub analysis_types: Vec<AnalysisTypeFilter>,
    /// … and with one of these results (empty = any); both hold for the same analysis.
    pub analysis_resolutions: Vec<Resolution>,
    pub sort: SortBy,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// Where a folder is owned, for the policy.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub folder_id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
}

/// Insert media rows inside a transaction.
pub async fn insert_media(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    media: &[MediaRow],
) -> sqlx::Result<()> {
    for m in media {
        sqlx::query(&format!(
            "INSERT INTO media ({MEDIA_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)"
        ))
        .bind(m.media_id.to_string())
        .bind(m.folder_id.to_string())
        .bind(m.media_kind.as_str())
        .bind(m.media_type.as_str())
        .bind(&m.format)
        .bind(&m.mime)
        .bind(&m.original_name)
        .bind(&m.file_key)
        .bind(m.thumb_key.as_deref())
        .bind(m.size_bytes)
        .bind(m.width)
        .bind(m.height)
        .bind(m.duration_ms)
        .bind(serde_json::to_string(&m.tags).unwrap_or_else(|_| "[]".into()))
        .bind(m.meta_data.to_string())
        .bind(m.technical_meta_data.to_string())
        .bind(m.time_created)
        .bind(m.time_updated)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Owner {
    /// The folder's ownership from a row joined with `folders` as `f_company_id`, `f_user_id`.
    pub fn joined(r: &sqlx::any::AnyRow, folder_id: Uuid) -> sqlx::Result<Owner> {
        Ok(Owner {
            folder_id,
            company_id: opt_uuid(r, "f_company_id")?,
            user_id: opt_uuid(r, "f_user_id")?,
        })
    }
}

impl Store {
    /// Insert a new folder (when given) and media rows in one transaction.
    pub async fn folder_insert(
        &self,
        folder: Option<&FolderRow>,
        media: &[MediaRow],
    ) -> sqlx::Result<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(f) = folder {
            sqlx::query(&format!(
                "INSERT INTO folders ({FOLDER_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
            ))
            .bind(f.folder_id.to_string())
            .bind(f.company_id.map(|c| c.to_string()))
            .bind(f.user_id.map(|c| c.to_string()))
            .bind(f.resolution_status.as_str())
            .bind(f.system_resolution.as_str())
            .bind(f.meta_data.to_string())
            .bind(f.technical_meta_data.to_string())
            .bind(f.time_created)
            .bind(f.time_updated)
            .execute(&mut *tx)
            .await?;
        }
        insert_media(&mut tx, media).await?;
        if folder.is_none() {
            if let Some(m) = media.first() {
                sqlx::query("UPDATE folders SET time_updated = $2 WHERE folder_id = $1")
                    .bind(m.folder_id.to_string())
                    .bind(now_us())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await
    }

    pub async fn folder_get(&self, id: Uuid) -> sqlx::Result<Option<FolderRow>> {
        let row = sqlx::query(&format!(
            "SELECT {FOLDER_COLUMNS} FROM folders WHERE folder_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(folder_from_row).transpose()
    }

    pub async fn folder_list(&self, f: &FolderFilter) -> sqlx::Result<(Vec<FolderRow>, i64)> {
        let mut w = Sql::new(" WHERE 1=1");
        w.and_scope(f.scope, Some("user_id"));
        for (col, op, v) in [
            ("time_created", ">=", f.time_created_min),
            ("time_created", "<=", f.time_created_max),
            ("time_updated", ">=", f.time_updated_min),
            ("time_updated", "<=", f.time_updated_max),
        ] {
            if let Some(v) = v {
                w.push(&format!(" AND {col} {op} "));
                w.bind(Param::Int(v));
            }
        }
        for (key, op, value) in &f.meta {
            let k = w.placeholder(Param::Text(key.clone()));
            let expr = self.json_text("meta_data", &k);
            let v = w.placeholder(Param::Text(value.clone()));
            match op {
                MetaOp::Eq => w.push(&format!(" AND {expr} = {v}")),
                MetaOp::Ne => w.push(&format!(" AND ({expr} IS NULL OR {expr} <> {v})")),
            };
        }
        w.and_in("resolution_status", &f.resolution_status, false);
        if let Some(u) = f.user_id {
            w.push(" AND user_id = ");
            w.bind(Param::Text(u.to_string()));
        }
        if let Some(c) = f.company_id {
            w.push(" AND company_id = ");
            w.bind(Param::Text(c.to_string()));
        }
        w.and_in("folder_id", &f.folder_ids, false);
        if !f.analysis_types.is_empty() || !f.analysis_resolutions.is_empty() {
            w.push(" AND EXISTS (SELECT 1 FROM analyses a WHERE a.folder_id = folders.folder_id");
            w.and_in("a.type", &f.analysis_types, false);
            w.and_in("a.resolution_status", &f.analysis_resolutions, false);
            w.push(")");
        }
        let mut count = w.clone();
        count.text = format!("SELECT COUNT(*) AS n FROM folders{}", w.text);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let col = match f.sort {
            SortBy::TimeCreated => "time_created",
            SortBy::TimeUpdated => "time_updated",
        };
        let dir = if f.descending { "DESC" } else { "ASC" };
        let mut q = w;
        q.text = format!(
            "SELECT {FOLDER_COLUMNS} FROM folders{} ORDER BY {col} {dir}, folder_id {dir} LIMIT ",
            q.text
        );
        q.bind(Param::Int(f.limit));
        q.push(" OFFSET ");
        q.bind(Param::Int(f.offset));
        let rows = q.fetch_all(&self.pool).await?;
        Ok((
            rows.iter()
                .map(folder_from_row)
                .collect::<sqlx::Result<_>>()?,
            total,
        ))
    }

    /// Media of the given folders, in upload order.
    pub async fn media_of_folders(&self, ids: &[Uuid]) -> sqlx::Result<Vec<MediaRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(format!("SELECT {MEDIA_COLUMNS} FROM media WHERE 1=1"));
        q.and_in("folder_id", ids, false);
        q.push(" ORDER BY time_created, media_id");
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(media_from_row).collect()
    }

    pub async fn media_count(&self, folder_id: Uuid) -> sqlx::Result<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM media WHERE folder_id = $1")
            .bind(folder_id.to_string())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")
    }

    /// A media row with its folder's ownership.
    pub async fn media_get(&self, id: Uuid) -> sqlx::Result<Option<(MediaRow, Owner)>> {
        let cols = super::qualified(MEDIA_COLUMNS, "m");
        let row = sqlx::query(&format!(
            "SELECT {cols}, f.company_id AS f_company_id, f.user_id AS f_user_id FROM media m \
             JOIN folders f ON f.folder_id = m.folder_id WHERE m.media_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let m = media_from_row(&r)?;
                let owner = Owner::joined(&r, m.folder_id)?;
                Ok(Some((m, owner)))
            }
        }
    }

    pub async fn media_set_tags(&self, id: Uuid, tags: &[String]) -> sqlx::Result<()> {
        sqlx::query("UPDATE media SET tags = $2, time_updated = $3 WHERE media_id = $1")
            .bind(id.to_string())
            .bind(serde_json::to_string(tags).unwrap_or_else(|_| "[]".into()))
            .bind(now_us())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn media_delete(&self, id: Uuid) -> sqlx::Result<bool> {
        Ok(sqlx::query("DELETE FROM media WHERE media_id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    /// Delete a folder with its media and analyses rows (one transaction); returns the media rows deleted.
    pub async fn folder_delete(&self, id: Uuid) -> sqlx::Result<Vec<MediaRow>> {
        let media = self.media_of_folders(&[id]).await?;
        let mut tx = self.pool.begin().await?;
        for table in ["analyses", "media", "folders"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE folder_id = $1"))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(media)
    }
}
