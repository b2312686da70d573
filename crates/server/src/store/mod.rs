//! Repositories over sqlx's `Any` driver: the same SQL (with `$N` placeholders, TEXT ids, BIGINT
//! times in UNIX microseconds, JSON as TEXT) runs on SQLite and PostgreSQL. The only dialect
//! difference — reading a key of a JSON document — is isolated in [`Store::json_text`].
//!
//! Migrations live in `crates/server/migrations/` and are embedded in the binary; they run at start.

pub mod analyses;
pub mod collections;
pub mod companies;
pub mod folders;
pub mod jobs;
pub mod metadata;
pub mod sessions;
pub mod statistics;
pub mod users;
pub mod web_sdk;
pub mod webhooks;

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::migrate::MigrateDatabase;
use sqlx::query::Query;
use sqlx::{Any, AnyPool};
use uuid::Uuid;

use crate::auth::policy::Scope;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// Now, in UNIX microseconds.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub fn parse_uuid(s: &str) -> Option<Uuid> {
    Uuid::from_str(s).ok()
}

fn backend_of(url: &str) -> anyhow::Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        anyhow::bail!("unsupported database URL (use sqlite://… or postgres://…)")
    }
}

/// Create the database named by `url` when it does not exist (PostgreSQL: `CREATE DATABASE`).
pub async fn create_database(url: &str) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    if !Any::database_exists(url).await.unwrap_or(false) {
        Any::create_database(url)
            .await
            .context("creating the database")?;
    }
    Ok(())
}

/// Drop the database named by `url` (used by the test suites for their throw-away databases).
pub async fn drop_database(url: &str) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    if Any::database_exists(url).await.unwrap_or(false) {
        Any::force_drop_database(url)
            .await
            .context("dropping the database")?;
    }
    Ok(())
}

impl Store {
    /// Connect (creating the SQLite file when needed) and run the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let max = if backend == Backend::Sqlite { 4 } else { 10 };
        let mut options = AnyPoolOptions::new().max_connections(max);
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(url)
            .await
            .context("connecting to the database")?;
        MIGRATOR
            .run(&pool)
            .await
            .context("running database migrations")?;
        Ok(Store { pool, backend })
    }

    /// SQL for "the text value of key `$n` of the JSON document in `column`".
    pub fn json_text(&self, column: &str, placeholder: &str) -> String {
        match self.backend {
            // Not a JSON path built from the key: a key holding `"` or `\` cannot be spelled in
            // one, so such a filter found nothing. json_each compares keys as plain text.
            Backend::Sqlite => format!(
                "(SELECT CAST(value AS TEXT) FROM json_each({column}) WHERE key = {placeholder})"
            ),
            Backend::Postgres => format!("(CAST({column} AS jsonb) ->> {placeholder})"),
        }
    }
}

/// A value bound to a query built at run time.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
}

/// A tiny SQL builder: text plus `$N` placeholders in order (valid for both SQLite and PostgreSQL).
#[derive(Debug, Default, Clone)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql {
            text: text.into(),
            params: Vec::new(),
        }
    }
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    /// Appends a placeholder bound to `p`, returns its text (`$3`).
    pub fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        let ph = format!("${}", self.params.len());
        self.text.push_str(&ph);
        ph
    }
    /// A placeholder for `p` without appending it to the text.
    pub fn placeholder(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
    /// Appends the visibility of a list [`Scope`]: a company's rows (`company_id`), one user's
    /// (`owner_column`; no owner column ⇒ nothing), all, or nothing.
    pub fn and_scope(&mut self, scope: Scope, owner_column: Option<&str>) -> &mut Self {
        match (scope, owner_column) {
            (Scope::All, _) => self,
            (Scope::Company(c), _) => {
                self.push(" AND company_id = ");
                self.bind(Param::Text(c.to_string()));
                self
            }
            (Scope::Own(u), Some(col)) => {
                self.push(&format!(" AND {col} = "));
                self.bind(Param::Text(u.to_string()));
                self
            }
            (Scope::Own(_), None) | (Scope::Nothing, _) => self.push(" AND 1=0"),
        }
    }

    /// Appends ` AND column IN ($a, $b, …)` (`NOT IN` when `negate`); nothing for no values,
    /// so an empty filter means "any".
    pub fn and_in<I, V>(&mut self, column: &str, values: I, negate: bool) -> &mut Self
    where
        I: IntoIterator<Item = V>,
        V: ToString,
    {
        let mut values = values.into_iter().peekable();
        if values.peek().is_none() {
            return self;
        }
        self.push(&format!(
            " AND {column} {}IN (",
            if negate { "NOT " } else { "" }
        ));
        for (i, v) in values.enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Param::Text(v.to_string()));
        }
        self.push(")")
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for p in &self.params {
            q = match p {
                Param::Text(s) => q.bind(s.as_str()),
                Param::OptText(s) => q.bind(s.as_deref()),
                Param::Int(i) => q.bind(*i),
                Param::OptInt(i) => q.bind(*i),
            };
        }
        q
    }
    pub async fn fetch_all(&self, pool: &AnyPool) -> sqlx::Result<Vec<AnyRow>> {
        self.query().fetch_all(pool).await
    }
}

/// A column list (`"a, b, c"`) qualified with a table alias (`"m.a, m.b, m.c"`), for joins.
pub fn qualified(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parse a JSON TEXT column (an empty object when corrupt).
pub fn json_col(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::json!({}))
}

/// A column holding one of the domain's words ([`crate::domain`]); a word the enum does not
/// know is a decode error (rows are written by us, so it means a corrupt row).
pub fn word_col<T>(r: &AnyRow, column: &str) -> sqlx::Result<T>
where
    T: std::str::FromStr<Err = crate::domain::UnknownWord>,
{
    use sqlx::Row;
    r.try_get::<String, _>(column)?
        .parse()
        .map_err(|e| sqlx::Error::ColumnDecode {
            index: column.into(),
            source: Box::new(e),
        })
}

/// The id strings of rows are UUIDs written by us; a corrupt one reads as nil.
pub fn uuid_col(s: &str) -> Uuid {
    parse_uuid(s).unwrap_or(Uuid::nil())
}

impl Store {
    /// Rows in one of the server's tables (for operators' checks and the test suites).
    pub async fn table_count(&self, table: &str) -> sqlx::Result<i64> {
        const TABLES: &[&str] = &[
            "companies",
            "users",
            "sessions",
            "folders",
            "media",
            "analyses",
            "jobs",
            "analysis_decisions",
            "webhook_deliveries",
            "webhook_attempts",
            "collections",
            "persons",
            "person_images",
            "web_sdk_sessions",
        ];
        if !TABLES.contains(&table) {
            return Err(sqlx::Error::Protocol(format!("unknown table {table}")));
        }
        use sqlx::Row;
        sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&self.pool)
            .await?
            .try_get("n")
    }

    /// One round trip to the database (readiness).
    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Photos enrolled per collection (id, count): the size of the 1:N index, for `/metrics`.
    pub async fn collection_sizes(&self) -> sqlx::Result<Vec<(Uuid, i64)>> {
        use sqlx::Row;
        sqlx::query(
            "SELECT c.collection_id AS id, COUNT(i.person_image_id) AS n FROM collections c \
             LEFT JOIN person_images i ON i.collection_id = c.collection_id GROUP BY c.collection_id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((uuid_col(&r.try_get::<String, _>("id")?), r.try_get("n")?)))
        .collect()
    }

    /// (state, attempts) of the latest job for an analysis or a webhook delivery.
    pub async fn job_of(
        &self,
        target: Uuid,
    ) -> sqlx::Result<Option<(crate::domain::JobState, i64)>> {
        use sqlx::Row;
        let row = sqlx::query(
            "SELECT state, attempts FROM jobs WHERE target_id = $1 ORDER BY time_created DESC LIMIT 1",
        )
        .bind(target.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((word_col(&r, "state")?, r.try_get("attempts")?)))
            .transpose()
    }
}
