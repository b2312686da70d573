//! `GET /api/statistics/summary` and `GET /api/statistics/timeseries`: the figures of the
//! console's Statistics page for integrators too, as JSON or CSV (`format=csv`). Visibility is
//! the folder list's (`list_scope`): ADMIN and OPERATOR see every company, CLIENT ADMIN and
//! CLIENT OPERATOR their company, CLIENT and CLIENT SERVICE their own orders. The SQL lives in
//! [`crate::store::statistics`].

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::QueryPairs;
use crate::app::AppState;
use crate::auth::policy::{list_scope, Resource};
use crate::auth::Actor;
use crate::domain::{AnalysisType, Resolution};
use crate::errors::{ApiError, ApiResult};
use crate::store::statistics::{Bucket, Counts, Interval, Percentiles, StatsFilter, Summary};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/statistics/summary", get(summary))
        .route("/api/statistics/timeseries", get(timeseries))
}

/// The analysis types always listed (with zeros), in this order.
const TYPES: &[AnalysisType] = AnalysisType::JUDGED;

/// The pass rates' names and the analysis types they are of.
const PASS_RATES: [(&str, AnalysisType); 3] = [
    ("liveness", AnalysisType::Quality),
    ("biometry", AnalysisType::Biometry),
    ("blacklist", AnalysisType::Collection),
];

fn filter(actor: &Actor, q: &QueryPairs) -> ApiResult<StatsFilter> {
    Ok(StatsFilter {
        scope: list_scope(actor, Resource::Folder),
        company_id: q.uuid("company_id")?,
        user_id: q.uuid("user_id")?,
        time_min: q.time_us("time_created.min")?,
        time_max: q.time_us("time_created.max")?,
    })
}

fn wants_csv(q: &QueryPairs) -> ApiResult<bool> {
    match q.get("format").map(str::to_ascii_lowercase).as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::value(format!(
            "Unknown format '{other}' (json or csv)"
        ))),
    }
}

fn total(c: &Counts) -> i64 {
    c.values().sum()
}

fn percentiles_json(p: &Percentiles) -> Value {
    json!({ "count": p.count, "median": p.median_ms, "p95": p.p95_ms })
}

/// Finished analyses of a type (any result but PROCESSING and FAILED) and how many passed.
fn pass_rate(s: &Summary, kind: AnalysisType) -> Value {
    let c = s.analyses.get(kind.as_str()).cloned().unwrap_or_default();
    let finished: i64 = Resolution::FINISHED
        .iter()
        .map(|k| c.get(k.as_str()).copied().unwrap_or(0))
        .sum();
    let passed = c.get(Resolution::Success.as_str()).copied().unwrap_or(0);
    let rate = (finished > 0).then(|| passed as f64 / finished as f64);
    json!({ "finished": finished, "passed": passed, "rate": rate })
}

fn summary_json(s: &Summary, f: &StatsFilter) -> Value {
    let mut by_type = Map::new();
    let mut processing = Map::new();
    for t in TYPES {
        let c = s.analyses.get(t.as_str()).cloned().unwrap_or_default();
        by_type.insert(t.to_string(), json!({ "total": total(&c), "by_status": c }));
        processing.insert(
            t.to_string(),
            percentiles_json(&s.processing.get(t.as_str()).cloned().unwrap_or_default()),
        );
    }
    let pending: i64 = s
        .analyses
        .values()
        .map(|c| {
            c.get(Resolution::OperatorRequired.as_str())
                .copied()
                .unwrap_or(0)
        })
        .sum();
    let pass_rates: Map<String, Value> = PASS_RATES
        .iter()
        .map(|(name, t)| (name.to_string(), pass_rate(s, *t)))
        .collect();
    json!({
        "filters": {
            "company_id": f.company_id,
            "user_id": f.user_id,
            "time_created.min": f.time_min.map(|t| t / 1_000_000),
            "time_created.max": f.time_max.map(|t| t / 1_000_000),
        },
        "orders": { "total": total(&s.orders), "by_status": s.orders },
        "analyses": {
            "total": s.analyses.values().map(total).sum::<i64>(),
            "by_type": by_type,
        },
        "pass_rates": pass_rates,
        "processing_ms": processing,
        "decisions": {
            "total": total(&s.decisions),
            "by_status": s.decisions,
            "pending": pending,
            "time_to_decision_ms": percentiles_json(&s.time_to_decision),
        },
    })
}

/// `metric,type,status,value` rows of the summary (the same numbers as the JSON).
fn summary_csv(v: &Value) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let mut row = |m: &str, t: &str, s: &str, x: &Value| {
        let value = match x {
            Value::Null => String::new(),
            other => other.to_string(),
        };
        rows.push([m.into(), t.into(), s.into(), value]);
    };
    row("orders", "", "total", &v["orders"]["total"]);
    for (k, n) in v["orders"]["by_status"].as_object().into_iter().flatten() {
        row("orders", "", k, n);
    }
    for t in TYPES {
        let t = t.as_str();
        let a = &v["analyses"]["by_type"][t];
        row("analyses", t, "total", &a["total"]);
        for (k, n) in a["by_status"].as_object().into_iter().flatten() {
            row("analyses", t, k, n);
        }
        let p = &v["processing_ms"][t];
        for k in ["count", "median", "p95"] {
            row("processing_ms", t, k, &p[k]);
        }
    }
    for (name, t) in PASS_RATES {
        let p = &v["pass_rates"][name];
        for k in ["finished", "passed", "rate"] {
            row("pass_rate", t.as_str(), k, &p[k]);
        }
    }
    let d = &v["decisions"];
    row("decisions", "", "total", &d["total"]);
    for (k, n) in d["by_status"].as_object().into_iter().flatten() {
        row("decisions", "", k, n);
    }
    row("decisions", "", "pending", &d["pending"]);
    for k in ["count", "median", "p95"] {
        row("time_to_decision_ms", "", k, &d["time_to_decision_ms"][k]);
    }
    csv_text(&["metric", "type", "status", "value"], rows)
}

fn csv_text<const N: usize>(head: &[&str; N], rows: Vec<[String; N]>) -> String {
    // Values are status and type names, ids and numbers: no field needs quoting, but a quote
    // rule keeps the format right if one ever does.
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = head.join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|s| field(s)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"faceproof-{name}.csv\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

async fn summary(State(st): State<AppState>, actor: Actor, q: QueryPairs) -> ApiResult<Response> {
    let f = filter(&actor, &q)?;
    let csv = wants_csv(&q)?;
    let v = summary_json(&st.store.stats_summary(&f).await?, &f);
    Ok(if csv {
        csv_response("summary", summary_csv(&v))
    } else {
        Json(v).into_response()
    })
}

/// A UTC calendar date (`YYYY-MM-DD`) from UNIX microseconds (days-from-civil inverted).
pub fn utc_date(us: i64) -> String {
    let z = us.div_euclid(86_400_000_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn bucket_json(b: &Bucket) -> Value {
    json!({
        "start": b.start_us / 1_000_000,
        "date": utc_date(b.start_us),
        "orders": b.orders,
        "analyses": b.analyses,
    })
}

async fn timeseries(
    State(st): State<AppState>,
    actor: Actor,
    q: QueryPairs,
) -> ApiResult<Response> {
    let f = filter(&actor, &q)?;
    let interval = match q.get("interval").map(str::to_ascii_lowercase).as_deref() {
        None | Some("day") => Interval::Day,
        Some("week") => Interval::Week,
        Some(other) => {
            return Err(ApiError::value(format!(
                "Unknown interval '{other}' (day or week)"
            )))
        }
    };
    let csv = wants_csv(&q)?;
    let buckets = st.store.stats_timeseries(&f, interval).await?;
    if csv {
        let mut rows = Vec::new();
        for b in &buckets {
            let date = utc_date(b.start_us);
            for (k, n) in &b.orders {
                rows.push([
                    date.clone(),
                    "orders".into(),
                    String::new(),
                    k.clone(),
                    n.to_string(),
                ]);
            }
            for (t, c) in &b.analyses {
                for (k, n) in c {
                    rows.push([
                        date.clone(),
                        "analyses".into(),
                        t.clone(),
                        k.clone(),
                        n.to_string(),
                    ]);
                }
            }
        }
        let text = csv_text(&["bucket_start", "metric", "type", "status", "count"], rows);
        return Ok(csv_response("timeseries", text));
    }
    Ok(Json(json!({
        "interval": if interval == Interval::Day { "day" } else { "week" },
        "buckets": buckets.iter().map(bucket_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::utc_date;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(4 * 86_400_000_000), "1970-01-05"); // a Monday
        assert_eq!(utc_date(1_764_201_600_000_000), "2025-11-27");
        assert_eq!(utc_date(951_782_400_000_000), "2000-02-29");
    }
}
