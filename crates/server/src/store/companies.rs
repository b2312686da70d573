//! Companies.

use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::{json_col, now_us, uuid_col, Param, Sql, Store};
use crate::auth::policy::Scope;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Company {
    pub company_id: Uuid,
    pub name: String,
    #[schema(value_type = Object)]
    pub meta_data: serde_json::Value,
}

fn from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<Company> {
    Ok(Company {
        company_id: uuid_col(&r.try_get::<String, _>("company_id")?),
        name: r.try_get("name")?,
        meta_data: json_col(&r.try_get::<String, _>("meta_data")?),
    })
}

pub struct ListFilter {
    pub scope: Scope,
    pub search_text: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

impl Store {
    pub async fn company_create(
        &self,
        name: &str,
        meta: &serde_json::Value,
    ) -> sqlx::Result<Company> {
        let id = Uuid::new_v4();
        let now = now_us();
        sqlx::query(
            "INSERT INTO companies (company_id, name, meta_data, time_created, time_updated) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(id.to_string())
        .bind(name)
        .bind(meta.to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(Company {
            company_id: id,
            name: name.to_string(),
            meta_data: meta.clone(),
        })
    }

    pub async fn company_get(&self, id: Uuid) -> sqlx::Result<Option<Company>> {
        let row =
            sqlx::query("SELECT company_id, name, meta_data FROM companies WHERE company_id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn company_list(&self, f: &ListFilter) -> sqlx::Result<(Vec<Company>, i64)> {
        let mut w = Sql::new(" WHERE 1=1");
        w.and_scope(f.scope, None);
        if let Some(s) = &f.search_text {
            w.push(" AND LOWER(name) LIKE ");
            w.bind(Param::Text(format!("%{}%", s.to_lowercase())));
        }
        let mut count = w.clone();
        count.text = format!("SELECT COUNT(*) AS n FROM companies{}", w.text);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut q = w;
        q.text = format!("SELECT company_id, name, meta_data FROM companies{} ORDER BY time_created, company_id LIMIT ", q.text);
        q.bind(Param::Int(f.limit));
        q.push(" OFFSET ");
        q.bind(Param::Int(f.offset));
        let rows = q.fetch_all(&self.pool).await?;
        Ok((
            rows.iter().map(from_row).collect::<sqlx::Result<_>>()?,
            total,
        ))
    }

    pub async fn company_update(
        &self,
        id: Uuid,
        name: Option<&str>,
        meta: Option<&serde_json::Value>,
    ) -> sqlx::Result<Option<Company>> {
        sqlx::query(
            "UPDATE companies SET name = COALESCE($2, name), meta_data = COALESCE($3, meta_data), time_updated = $4 WHERE company_id = $1",
        )
        .bind(id.to_string())
        .bind(name)
        .bind(meta.map(|m| m.to_string()))
        .bind(now_us())
        .execute(&self.pool)
        .await?;
        self.company_get(id).await
    }

    /// What a company still holds: users, folders, collections.
    pub async fn company_holdings(&self, id: Uuid) -> sqlx::Result<(i64, i64, i64)> {
        let count = |table: &'static str| async move {
            sqlx::query(&format!(
                "SELECT COUNT(*) AS n FROM {table} WHERE company_id = $1"
            ))
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?
            .try_get::<i64, _>("n")
        };
        Ok((
            count("users").await?,
            count("folders").await?,
            count("collections").await?,
        ))
    }

    /// Ids of up to `limit` rows of `table` (`folders` or `collections`) owned by a company.
    pub async fn company_owned_ids(
        &self,
        id: Uuid,
        table: &str,
        limit: i64,
    ) -> sqlx::Result<Vec<Uuid>> {
        let column = match table {
            "folders" => "folder_id",
            "collections" => "collection_id",
            _ => {
                return Err(sqlx::Error::Protocol(format!(
                    "not a company-owned table: {table}"
                )))
            }
        };
        let rows = sqlx::query(&format!(
            "SELECT {column} AS id FROM {table} WHERE company_id = $1 ORDER BY {column} LIMIT $2"
        ))
        .bind(id.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(super::parse_uuid(&r.try_get::<String, _>("id")?).unwrap_or_default()))
            .collect()
    }

    /// Remove a company's users with their sessions (one transaction): nobody can add to the
    /// company while the rest of it is removed.
    pub async fn company_users_delete(&self, id: Uuid) -> sqlx::Result<u64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM sessions WHERE user_id IN (SELECT user_id FROM users WHERE company_id = $1)",
        )
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query("DELETE FROM users WHERE company_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Delete the company row; it must hold nothing any more (see `tenancy::delete_company`).
    pub async fn company_delete(&self, id: Uuid) -> sqlx::Result<bool> {
        Ok(sqlx::query("DELETE FROM companies WHERE company_id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }
}
