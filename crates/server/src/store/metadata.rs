//! `meta_data` documents of users, folders, media, analyses and collections.

use sqlx::Row;
use uuid::Uuid;

use super::{json_col, now_us, parse_uuid, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaTarget {
    User,
    Folder,
    Media,
    Analysis,
    Collection,
}

impl MetaTarget {
    fn table_and_key(self) -> (&'static str, &'static str) {
        match self {
            MetaTarget::User => ("users", "user_id"),
            MetaTarget::Folder => ("folders", "folder_id"),
            MetaTarget::Media => ("media", "media_id"),
            MetaTarget::Analysis => ("analyses", "analysis_id"),
            MetaTarget::Collection => ("collections", "collection_id"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MetaTarget::User => "User",
            MetaTarget::Folder => "Folder",
            MetaTarget::Media => "Media",
            MetaTarget::Analysis => "Analysis",
            MetaTarget::Collection => "Collection",
        }
    }
}

/// Who owns a metadata-bearing object: (company, owner user, role text for users).
#[derive(Debug, Clone)]
pub struct MetaOwner {
    pub company_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub role: Option<String>,
    pub meta_data: serde_json::Value,
}

impl Store {
    pub async fn meta_owner(
        &self,
        target: MetaTarget,
        id: Uuid,
    ) -> sqlx::Result<Option<MetaOwner>> {
        let sql = match target {
            MetaTarget::User => "SELECT company_id, user_id AS owner_id, user_type AS role, meta_data FROM users WHERE user_id = $1",
            MetaTarget::Folder => "SELECT company_id, user_id AS owner_id, NULL AS role, meta_data FROM folders WHERE folder_id = $1",
            MetaTarget::Media => {
                "SELECT f.company_id, f.user_id AS owner_id, NULL AS role, m.meta_data FROM media m \
                 JOIN folders f ON f.folder_id = m.folder_id WHERE m.media_id = $1"
            }
            MetaTarget::Analysis => {
                "SELECT f.company_id, f.user_id AS owner_id, NULL AS role, a.meta_data FROM analyses a \
                 JOIN folders f ON f.folder_id = a.folder_id WHERE a.analysis_id = $1"
            }
            MetaTarget::Collection => {
                "SELECT company_id, NULL AS owner_id, NULL AS role, meta_data FROM collections WHERE collection_id = $1"
            }
        };
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(MetaOwner {
            company_id: r
                .try_get::<Option<String>, _>("company_id")?
                .as_deref()
                .and_then(parse_uuid),
            owner_id: r
                .try_get::<Option<String>, _>("owner_id")?
                .as_deref()
                .and_then(parse_uuid),
            role: r.try_get::<Option<String>, _>("role")?,
            meta_data: json_col(&r.try_get::<String, _>("meta_data")?),
        }))
    }

    pub async fn meta_set(
        &self,
        target: MetaTarget,
        id: Uuid,
        meta: &serde_json::Value,
    ) -> sqlx::Result<()> {
        let (table, key) = target.table_and_key();
        sqlx::query(&format!(
            "UPDATE {table} SET meta_data = $2, time_updated = $3 WHERE {key} = $1"
        ))
        .bind(id.to_string())
        .bind(meta.to_string())
        .bind(now_us())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
