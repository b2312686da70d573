//! What the process counts and times, in Prometheus terms: the metric names, the process-wide
//! recorder (`metrics` + `metrics-exporter-prometheus`, installed once per process by
//! [`install`]), and one small function per event so that the callers (HTTP layer, workers,
//! webhooks, inference) never spell a name or a label themselves.
//!
//! Labels carry only closed sets or ids: route templates (never raw paths), methods, status codes,
//! analysis types and resolutions, operation names, backends, outcomes. Nothing a client wrote
//! (emails, metadata, collection aliases) ever becomes a label. Values read from the database at
//! scrape time (queue depth, collection sizes) are rendered by `crate::ops`, not recorded here.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "faceproof_http_requests_total";
pub const HTTP_DURATION: &str = "faceproof_http_request_duration_seconds";
pub const ANALYSES_STARTED: &str = "faceproof_analyses_started_total";
pub const ANALYSES_FINISHED: &str = "faceproof_analyses_finished_total";
pub const ANALYSIS_RUN: &str = "faceproof_analysis_run_seconds";
pub const ANALYSIS_LATENCY: &str = "faceproof_analysis_latency_seconds";
pub const INFERENCE: &str = "faceproof_inference_seconds";
pub const INFERENCE_WAIT: &str = "faceproof_inference_wait_seconds";
pub const WEBHOOK_ATTEMPTS: &str = "faceproof_webhook_attempts_total";
pub const JOBS_RELEASED: &str = "faceproof_jobs_released_total";

/// Request latencies: 5 ms … 2 min (uploads and single requests run long).
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];
/// Analyses and engine calls: 50 ms (a photo on a fast core) … 10 min (the job budget).
const WORK_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process's recorder (first call only; later calls are no-ops). Without it the
/// `metrics` macros record nothing, as in unit tests.
pub fn install() {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), HTTP_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Suffix("_seconds".into()), WORK_BUCKETS)
            });
        match builder.and_then(|b| b.install_recorder()) {
            Ok(handle) => {
                describe();
                Some(handle)
            }
            Err(e) => {
                tracing::warn!("metrics disabled: {e}");
                None
            }
        }
    });
}

fn describe() {
    use metrics::{describe_counter, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to the response head, by method, route template and status"
    );
    describe_counter!(ANALYSES_STARTED, "Analyses ordered (stored), by type");
    describe_counter!(ANALYSES_FINISHED, "Analyses finished by this process's workers, by type and resolution (FAILED after the last retry)");
    describe_histogram!(
        ANALYSIS_RUN,
        Unit::Seconds,
        "Run time of one analysis job (media read, engine, results stored), by type"
    );
    describe_histogram!(
        ANALYSIS_LATENCY,
        Unit::Seconds,
        "From the order to the stored result (queueing included), by type"
    );
    describe_histogram!(
        INFERENCE,
        Unit::Seconds,
        "Engine calls, by operation (the models it runs) and backend"
    );
    describe_histogram!(
        INFERENCE_WAIT,
        Unit::Seconds,
        "Wait for an inference slot and a decode permit, by operation"
    );
    describe_counter!(
        WEBHOOK_ATTEMPTS,
        "Webhook delivery attempts, by outcome (delivered, retry, failed, dropped)"
    );
    describe_counter!(
        JOBS_RELEASED,
        "Running jobs handed back to the queue at shutdown (deadline passed)"
    );
}

/// The recorded metrics in Prometheus text format (empty when no recorder is installed).
pub fn render_recorded() -> String {
    match HANDLE.get() {
        Some(Some(h)) => {
            h.run_upkeep();
            h.render()
        }
        _ => String::new(),
    }
}

/// One answered HTTP request. `route` is the matched route template or `unmatched`.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_string()),
        ("route", route.to_string()),
        ("status", status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// Analyses of `kind` (`QUALITY`, `BIOMETRY`, `COLLECTION`) stored by an order.
pub fn analyses_started(kind: &str, n: u64) {
    metrics::counter!(ANALYSES_STARTED, "type" => kind.to_string()).increment(n);
}

/// An analysis this process finished (`resolution`: SUCCESS, DECLINED, OPERATOR_REQUIRED, FAILED).
pub fn analysis_finished(kind: &str, resolution: &str, run: Duration, latency: Option<Duration>) {
    let kind = kind.to_string();
    metrics::counter!(ANALYSES_FINISHED, "type" => kind.clone(), "resolution" => resolution.to_string())
        .increment(1);
    metrics::histogram!(ANALYSIS_RUN, "type" => kind.clone()).record(run.as_secs_f64());
    if let Some(l) = latency {
        metrics::histogram!(ANALYSIS_LATENCY, "type" => kind).record(l.as_secs_f64());
    }
}

/// One engine call: `operation` names what ran (and so which models), `waited` is the time spent
/// waiting for the permits.
pub fn inference(operation: &'static str, backend: &'static str, waited: Duration, ran: Duration) {
    metrics::histogram!(INFERENCE_WAIT, "operation" => operation).record(waited.as_secs_f64());
    metrics::histogram!(INFERENCE, "operation" => operation, "backend" => backend)
        .record(ran.as_secs_f64());
}

/// A webhook attempt: `delivered` (2xx), `retry` (will be tried again), `failed` (gave up),
/// `dropped` (nothing left to send: the folder is gone).
pub fn webhook_attempt(outcome: &'static str) {
    metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).increment(1);
}

/// Running jobs released at shutdown.
pub fn jobs_released(n: u64) {
    metrics::counter!(JOBS_RELEASED).increment(n);
}

/// This process's resident memory (Linux: `VmRSS` of `/proc/self/status`).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = super::resident_bytes().expect("VmRSS");
            assert!(rss > 1024 * 1024, "{rss}");
        }
    }
}
