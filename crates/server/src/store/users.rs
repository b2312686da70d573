//! Users (accounts). Passwords arrive here already hashed.

use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::{json_col, now_us, parse_uuid, uuid_col, Param, Sql, Store};
use crate::auth::policy::Scope;
use crate::auth::Role;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub user_id: Uuid,
    pub user_type: Role,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: String,
    pub company_id: Option<Uuid>,
    pub can_start_analysis_biometry: bool,
    pub can_start_analysis_quality: bool,
    pub can_start_analysis_collection: bool,
    /// API ≤ 5.3 view of CLIENT ADMIN.
    pub is_admin: bool,
    /// API ≤ 5.3 view of CLIENT SERVICE.
    pub is_service: bool,
    pub is_active: bool,
    #[schema(value_type = Object)]
    pub meta_data: serde_json::Value,
    #[serde(skip)]
    pub password_hash: String,
}

pub const USER_COLUMNS: &str = "user_id, company_id, email, password_hash, user_type, first_name, last_name, middle_name, \
    can_start_analysis_biometry, can_start_analysis_quality, can_start_analysis_collection, is_active, meta_data";

pub fn from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<User> {
    let role_text: String = r.try_get("user_type")?;
    let role = Role::parse(&role_text).unwrap_or(Role::Client);
    Ok(User {
        user_id: uuid_col(&r.try_get::<String, _>("user_id")?),
        user_type: role,
        email: r.try_get("email")?,
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        middle_name: r.try_get("middle_name")?,
        company_id: r
            .try_get::<Option<String>, _>("company_id")?
            .as_deref()
            .and_then(parse_uuid),
        can_start_analysis_biometry: r.try_get::<i64, _>("can_start_analysis_biometry")? != 0,
        can_start_analysis_quality: r.try_get::<i64, _>("can_start_analysis_quality")? != 0,
        can_start_analysis_collection: r.try_get::<i64, _>("can_start_analysis_collection")? != 0,
        is_admin: matches!(role, Role::Admin | Role::ClientAdmin),
        is_service: role == Role::ClientService,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        meta_data: json_col(&r.try_get::<String, _>("meta_data")?),
        password_hash: r.try_get("password_hash")?,
    })
}

/// A user's company as a create or update gives it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum CompanyField {
    /// Not given: unchanged by an update; none for a new user.
    #[default]
    Unchanged,
    /// Given as null: no company (ADMIN).
    Cleared,
    /// Given: this company.
    Set(Uuid),
}

impl CompanyField {
    /// The company after this change to `current` (for a new user: to its default).
    pub fn applied_to(self, current: Option<Uuid>) -> Option<Uuid> {
        match self {
            CompanyField::Unchanged => current,
            CompanyField::Cleared => None,
            CompanyField::Set(c) => Some(c),
        }
    }
}

impl From<Option<Uuid>> for CompanyField {
    /// A company to set (`None`: cleared).
    fn from(c: Option<Uuid>) -> CompanyField {
        c.map_or(CompanyField::Cleared, CompanyField::Set)
    }
}

/// Fields of a new user (or of an update: `None` = unchanged).
#[derive(Debug, Default, Clone)]
pub struct UserFields {
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub user_type: Option<Role>,
    pub company_id: CompanyField,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub can_start_analysis_biometry: Option<bool>,
    pub can_start_analysis_quality: Option<bool>,
    pub can_start_analysis_collection: Option<bool>,
    pub is_active: Option<bool>,
    pub meta_data: Option<serde_json::Value>,
}

pub struct ListFilter {
    pub scope: Scope,
    pub company_id: Option<Uuid>,
    pub user_type: Option<Role>,
    pub search_text: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

fn flag(b: Option<bool>) -> i64 {
    b.unwrap_or(true) as i64
}

impl Store {
    pub async fn user_create(&self, f: &UserFields) -> sqlx::Result<User> {
        let id = Uuid::new_v4();
        let now = now_us();
        sqlx::query(
            "INSERT INTO users (user_id, company_id, email, password_hash, user_type, first_name, last_name, middle_name, \
             can_start_analysis_biometry, can_start_analysis_quality, can_start_analysis_collection, is_active, meta_data, \
             time_created, time_updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14)",
        )
        .bind(id.to_string())
        .bind(f.company_id.applied_to(None).map(|c| c.to_string()))
        .bind(f.email.clone().unwrap_or_default().trim().to_lowercase())
        .bind(f.password_hash.clone().unwrap_or_default())
        .bind(f.user_type.unwrap_or(Role::Client).as_str())
        .bind(f.first_name.clone().unwrap_or_default())
        .bind(f.last_name.clone().unwrap_or_default())
        .bind(f.middle_name.clone().unwrap_or_default())
        .bind(flag(f.can_start_analysis_biometry))
        .bind(flag(f.can_start_analysis_quality))
        .bind(flag(f.can_start_analysis_collection))
        .bind(flag(f.is_active))
        .bind(f.meta_data.clone().unwrap_or_else(|| serde_json::json!({})).to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(self.user_get(id).await?.expect("just inserted"))
    }

    pub async fn user_get(&self, id: Uuid) -> sqlx::Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn user_by_email(&self, email: &str) -> sqlx::Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn user_count(&self) -> sqlx::Result<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")
    }

    pub async fn user_list(&self, f: &ListFilter) -> sqlx::Result<(Vec<User>, i64)> {
        let mut w = Sql::new(" WHERE 1=1");
        w.and_scope(f.scope, Some("user_id"));
        if let Some(c) = f.company_id {
            w.push(" AND company_id = ");
            w.bind(Param::Text(c.to_string()));
        }
        if let Some(r) = f.user_type {
            w.push(" AND user_type = ");
            w.bind(Param::Text(r.as_str().into()));
        }
        if let Some(s) = &f.search_text {
            let like = format!("%{}%", s.to_lowercase());
            w.push(" AND (email LIKE ");
            w.bind(Param::Text(like.clone()));
            w.push(" OR LOWER(first_name) LIKE ");
            w.bind(Param::Text(like.clone()));
            w.push(" OR LOWER(last_name) LIKE ");
            w.bind(Param::Text(like));
            w.push(")");
        }
        let mut count = w.clone();
        count.text = format!("SELECT COUNT(*) AS n FROM users{}", w.text);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut q = w;
        q.text = format!(
            "SELECT {USER_COLUMNS} FROM users{} ORDER BY time_created, user_id LIMIT ",
            q.text
        );
        q.bind(Param::Int(f.limit));
        q.push(" OFFSET ");
        q.bind(Param::Int(f.offset));
        let rows = q.fetch_all(&self.pool).await?;
        Ok((
            rows.iter().map(from_row).collect::<sqlx::Result<_>>()?,
            total,
        ))
    }

    /// Apply `f`. A new password or a deactivation ends the user's sessions in the same
    /// transaction (all of them, except `keep`: the session of a user changing their own password).
    pub async fn user_update(
        &self,
        id: Uuid,
        f: &UserFields,
        keep: Option<Uuid>,
    ) -> sqlx::Result<Option<User>> {
        let mut q = Sql::new("UPDATE users SET time_updated = ");
        q.bind(Param::Int(now_us()));
        let set = |q: &mut Sql, col: &str, p: Param| {
            q.push(&format!(", {col} = "));
            q.bind(p);
        };
        if let Some(v) = &f.email {
            set(&mut q, "email", Param::Text(v.trim().to_lowercase()));
        }
        if let Some(v) = &f.password_hash {
            set(&mut q, "password_hash", Param::Text(v.clone()));
        }
        if let Some(v) = f.user_type {
            set(&mut q, "user_type", Param::Text(v.as_str().into()));
        }
        if f.company_id != CompanyField::Unchanged {
            let v = f.company_id.applied_to(None);
            set(
                &mut q,
                "company_id",
                Param::OptText(v.map(|c| c.to_string())),
            );
        }
        for (col, v) in [
            ("first_name", &f.first_name),
            ("last_name", &f.last_name),
            ("middle_name", &f.middle_name),
        ] {
            if let Some(v) = v {
                set(&mut q, col, Param::Text(v.clone()));
            }
        }
        for (col, v) in [
            ("can_start_analysis_biometry", f.can_start_analysis_biometry),
            ("can_start_analysis_quality", f.can_start_analysis_quality),
            (
                "can_start_analysis_collection",
                f.can_start_analysis_collection,
            ),
            ("is_active", f.is_active),
        ] {
            if let Some(v) = v {
                set(&mut q, col, Param::Int(v as i64));
            }
        }
        if let Some(v) = &f.meta_data {
            set(&mut q, "meta_data", Param::Text(v.to_string()));
        }
        q.push(" WHERE user_id = ");
        q.bind(Param::Text(id.to_string()));
        let mut tx = self.pool.begin().await?;
        q.query().execute(&mut *tx).await?;
        if f.is_active == Some(false) {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        } else if f.password_hash.is_some() {
            // The caller's own sign-in survives (with the sessions it was refreshed from).
            sqlx::query(
                "DELETE FROM sessions WHERE user_id = $1 AND family_id <> \
                 COALESCE((SELECT family_id FROM sessions WHERE session_id = $2), '')",
            )
            .bind(id.to_string())
            .bind(keep.map(|k| k.to_string()).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.user_get(id).await
    }

    pub async fn user_delete(&self, id: Uuid) -> sqlx::Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM users WHERE user_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::CompanyField;
    use uuid::Uuid;

    #[test]
    fn a_company_field_says_what_it_does_to_the_company() {
        let (old, new) = (Some(Uuid::new_v4()), Uuid::new_v4());
        assert_eq!(CompanyField::Unchanged.applied_to(old), old);
        assert_eq!(CompanyField::Cleared.applied_to(old), None);
        assert_eq!(CompanyField::Set(new).applied_to(old), Some(new));
        assert_eq!(CompanyField::from(None), CompanyField::Cleared);
        assert_eq!(CompanyField::from(Some(new)), CompanyField::Set(new));
        assert_eq!(CompanyField::default(), CompanyField::Unchanged);
    }
}
