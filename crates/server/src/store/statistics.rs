//! Statistics behind `GET /api/statistics/…`: counts of orders (folders) and analyses by type and
//! result, over time or in total, operator decisions, and processing-time percentiles. Everything
//! is aggregated in SQL that runs unchanged on SQLite and PostgreSQL: `GROUP BY`, window functions
//! (`ROW_NUMBER`/`COUNT(*) OVER`) for nearest-rank percentiles, and integer arithmetic on the
//! BIGINT microsecond times for day/week buckets (UTC; weeks start on Monday).
//!
//! Every query reaches its rows through the folder, so the visibility scope, the company and the
//! user filters (the folder's company and creator) mean the same everywhere; the time window
//! applies to each row's own creation time (an order's, an analysis', a decision's).

use std::collections::BTreeMap;

use sqlx::Row;
use uuid::Uuid;

use super::{Param, Sql, Store};
use crate::auth::policy::Scope;

#[derive(Debug, Clone)]
pub struct StatsFilter {
    pub scope: Scope,
    pub company_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// UNIX microseconds, inclusive.
    pub time_min: Option<i64>,
    pub time_max: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
}

const DAY_US: i64 = 86_400_000_000;
/// 1970-01-01 was a Thursday: weeks aligned on Monday start 4 days after the epoch.
const MONDAY_OFFSET_US: i64 = 4 * DAY_US;

impl Interval {
    fn width_and_offset(self) -> (i64, i64) {
        match self {
            Interval::Day => (DAY_US, 0),
            Interval::Week => (7 * DAY_US, MONDAY_OFFSET_US),
        }
    }
}

/// Count, median and 95th percentile (nearest rank) of durations, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Percentiles {
    pub count: i64,
    pub median_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// status → count
pub type Counts = BTreeMap<String, i64>;

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub orders: Counts,
    /// type → status → count
    pub analyses: BTreeMap<String, Counts>,
    /// type → processing time of finished analyses without an operator decision
    pub processing: BTreeMap<String, Percentiles>,
    /// after-status → count
    pub decisions: Counts,
    /// from the analysis' creation to the decision
    pub time_to_decision: Percentiles,
}

#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// UNIX microseconds of the bucket's start.
    pub start_us: i64,
    pub orders: Counts,
    pub analyses: BTreeMap<String, Counts>,
}

impl StatsFilter {
    /// ` AND …` for the folder alias `f` and the time column `time_col`.
    fn apply(&self, sql: &mut Sql, time_col: &str) {
        match self.scope {
            Scope::All => {}
            Scope::Company(c) => {
                sql.push(" AND f.company_id = ");
                sql.bind(Param::Text(c.to_string()));
            }
            Scope::Own(u) => {
                sql.push(" AND f.user_id = ");
                sql.bind(Param::Text(u.to_string()));
            }
            Scope::Nothing => {
                sql.push(" AND 1=0");
            }
        }
        if let Some(c) = self.company_id {
            sql.push(" AND f.company_id = ");
            sql.bind(Param::Text(c.to_string()));
        }
        if let Some(u) = self.user_id {
            sql.push(" AND f.user_id = ");
            sql.bind(Param::Text(u.to_string()));
        }
        if let Some(t) = self.time_min {
            sql.push(&format!(" AND {time_col} >= "));
            sql.bind(Param::Int(t));
        }
        if let Some(t) = self.time_max {
            sql.push(&format!(" AND {time_col} <= "));
            sql.bind(Param::Int(t));
        }
    }
}

const ANALYSES_FROM: &str =
    " FROM analyses a JOIN folders f ON f.folder_id = a.folder_id WHERE 1=1";
const DECISIONS_FROM: &str =
    " FROM analysis_decisions d JOIN analyses a ON a.analysis_id = d.analysis_id \
     JOIN folders f ON f.folder_id = a.folder_id WHERE 1=1";

impl Store {
    pub async fn stats_summary(&self, f: &StatsFilter) -> sqlx::Result<Summary> {
        let mut out = Summary::default();

        let mut q =
            Sql::new("SELECT f.resolution_status AS k, COUNT(*) AS n FROM folders f WHERE 1=1");
        f.apply(&mut q, "f.time_created");
        q.push(" GROUP BY f.resolution_status");
        for r in q.fetch_all(&self.pool).await? {
            out.orders.insert(r.try_get("k")?, r.try_get("n")?);
        }

        let mut q = Sql::new(format!(
            "SELECT a.type AS t, a.resolution_status AS k, COUNT(*) AS n{ANALYSES_FROM}"
        ));
        f.apply(&mut q, "a.time_created");
        q.push(" GROUP BY a.type, a.resolution_status");
        for r in q.fetch_all(&self.pool).await? {
            out.analyses
                .entry(r.try_get("t")?)
                .or_default()
                .insert(r.try_get("k")?, r.try_get("n")?);
        }

        let mut q = Sql::new(format!(
            "SELECT d.after_status AS k, COUNT(*) AS n{DECISIONS_FROM}"
        ));
        f.apply(&mut q, "d.time_created");
        q.push(" GROUP BY d.after_status");
        for r in q.fetch_all(&self.pool).await? {
            out.decisions.insert(r.try_get("k")?, r.try_get("n")?);
        }

        // An operator decision moves an analysis' time_updated to the decision, so only
        // undecided analyses tell how long processing took.
        let mut inner = Sql::new(format!(
            "SELECT a.type AS k, a.time_updated - a.time_created AS d{ANALYSES_FROM} \
             AND a.state IN ('FINISHED', 'FAILED') \
             AND NOT EXISTS (SELECT 1 FROM analysis_decisions x WHERE x.analysis_id = a.analysis_id)"
        ));
        f.apply(&mut inner, "a.time_created");
        out.processing = self.percentiles(inner).await?;

        let mut inner = Sql::new(format!(
            "SELECT 'all' AS k, d.time_created - a.time_created AS d{DECISIONS_FROM}"
        ));
        f.apply(&mut inner, "d.time_created");
        out.time_to_decision = self
            .percentiles(inner)
            .await?
            .remove("all")
            .unwrap_or_default();
        Ok(out)
    }

    /// Median and 95th percentile (nearest rank: the ⌈p·n⌉-th smallest) of `d` per `k`, from a
    /// query selecting `k` and `d` (microseconds).
    async fn percentiles(&self, inner: Sql) -> sqlx::Result<BTreeMap<String, Percentiles>> {
        let q = Sql {
            text: format!(
                "SELECT t.k AS k, t.d AS d, t.rn AS rn, t.n AS n FROM (\
                 SELECT s.k AS k, s.d AS d, ROW_NUMBER() OVER (PARTITION BY s.k ORDER BY s.d) AS rn, \
                 COUNT(*) OVER (PARTITION BY s.k) AS n FROM ({}) s) t \
                 WHERE t.rn = (t.n * 50 + 99) / 100 OR t.rn = (t.n * 95 + 99) / 100",
                inner.text
            ),
            params: inner.params,
        };
        let mut out: BTreeMap<String, Percentiles> = BTreeMap::new();
        for r in q.fetch_all(&self.pool).await? {
            let (k, d, rn, n): (String, i64, i64, i64) = (
                r.try_get("k")?,
                r.try_get("d")?,
                r.try_get("rn")?,
                r.try_get("n")?,
            );
            let p = out.entry(k).or_default();
            p.count = n;
            let ms = d as f64 / 1000.0;
            if rn == (n * 50 + 99) / 100 {
                p.median_ms = Some(ms);
            }
            if rn == (n * 95 + 99) / 100 {
                p.p95_ms = Some(ms);
            }
        }
        Ok(out)
    }

    /// Orders and analyses per day or week (only buckets that have rows), oldest first.
    pub async fn stats_timeseries(
        &self,
        f: &StatsFilter,
        interval: Interval,
    ) -> sqlx::Result<Vec<Bucket>> {
        let (w, off) = interval.width_and_offset();
        // constants from the enum, not input: literal so that GROUP BY sees one expression
        let bucket = |col: &str| format!("((({col} - {off}) / {w}) * {w} + {off})");
        let mut buckets: BTreeMap<i64, Bucket> = BTreeMap::new();

        let mut q = Sql::new(format!(
            "SELECT {} AS b, f.resolution_status AS k, COUNT(*) AS n FROM folders f WHERE 1=1",
            bucket("f.time_created")
        ));
        f.apply(&mut q, "f.time_created");
        q.push(" GROUP BY 1, 2");
        for r in q.fetch_all(&self.pool).await? {
            let b: i64 = r.try_get("b")?;
            buckets
                .entry(b)
                .or_insert_with(|| Bucket {
                    start_us: b,
                    ..Default::default()
                })
                .orders
                .insert(r.try_get("k")?, r.try_get("n")?);
        }

        let mut q = Sql::new(format!(
            "SELECT {} AS b, a.type AS t, a.resolution_status AS k, COUNT(*) AS n{ANALYSES_FROM}",
            bucket("a.time_created")
        ));
        f.apply(&mut q, "a.time_created");
        q.push(" GROUP BY 1, 2, 3");
        for r in q.fetch_all(&self.pool).await? {
            let b: i64 = r.try_get("b")?;
            buckets
                .entry(b)
                .or_insert_with(|| Bucket {
                    start_us: b,
                    ..Default::default()
                })
                .analyses
                .entry(r.try_get("t")?)
                .or_default()
                .insert(r.try_get("k")?, r.try_get("n")?);
        }
        Ok(buckets.into_values().collect())
    }
}
