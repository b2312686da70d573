//! Webhooks: when every analysis of a group (one order) has finished, the folder with its analyses
//! is POSTed to the order's `resolution_endpoint` (or the company's default), signed, retried with
//! exponential backoff, every attempt recorded (`GET /api/folders/{id}/webhooks/`).
//!
//! The request:
//! ```text
//! POST <resolution_endpoint>
//! Content-Type: application/json
//! X-Faceproof-Event: analyses.finished
//! X-Faceproof-Delivery: <delivery_id>          (the same on every retry: deduplicate on it)
//! X-Faceproof-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//!
//! {"event": "analyses.finished", "delivery_id": "…", "group_id": "…", "folder": { …folder with analyses… }}
//! ```
//! The secret is the company's `webhook_secret` (`GET /api/companies/{id}/settings`, made on first
//! use), or the server's `webhook_secret` for folders outside any company (without it such orders
//! cannot name a webhook, so nothing is ever sent unsigned). A receiver recomputes
//! the HMAC over the raw body and refuses timestamps older than a few minutes.
//! Any 2xx answer is a delivery; anything else (or no answer within `webhook_timeout_secs`) is
//! retried after `webhook_backoff_ms` × 2^(attempt−1), up to `webhook_max_attempts`, then `FAILED`.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

use crate::http::{views, AppState};
use crate::store::analyses::AnalysisFilter;
use crate::store::jobs::{Job, JobKind};

pub const SIGNATURE_HEADER: &str = "x-faceproof-signature";

/// `t=<ts>,v1=<hex>` for `body` at time `ts`.
pub fn sign(secret: &str, ts: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{ts}.{body}").as_bytes());
    format!("t={ts},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// `host[:port]` of an http(s) URL, lower case.
fn authority(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Refuse callback URLs outside `webhook_allowed_hosts` (when that list is set): without it any
/// client could make the server POST to internal addresses.
pub fn check_allowed(cfg: &crate::Config, url: &str) -> Result<(), crate::errors::ApiError> {
    if cfg.webhook_allowed_hosts.is_empty() {
        return Ok(());
    }
    let authority = authority(url).unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map(|(h, _)| h.to_string())
        .unwrap_or_else(|| authority.clone());
    if cfg
        .webhook_allowed_hosts
        .iter()
        .any(|a| *a == authority || *a == host)
    {
        Ok(())
    } else {
        Err(crate::errors::ApiError::value(format!(
            "resolution_endpoint host '{authority}' is not in the server's webhook_allowed_hosts"
        )))
    }
}

/// A new random secret (32 bytes, hex).
pub fn new_secret() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The company's webhook secret, created and stored on first use.
pub async fn company_secret(st: &AppState, company: Uuid) -> anyhow::Result<String> {
    let mut settings = st
        .store
        .company_settings(company)
        .await?
        .unwrap_or_else(|| json!({}));
    if let Some(s) = settings.get("webhook_secret").and_then(Value::as_str) {
        return Ok(s.to_string());
    }
    let secret = new_secret();
    settings["webhook_secret"] = json!(secret);
    st.store.company_set_settings(company, &settings).await?;
    Ok(secret)
}

pub async fn webhook_loop(st: AppState, name: String) {
    let poll = Duration::from_millis(st.cfg.job_poll_ms.max(10));
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(st.cfg.webhook_timeout_secs.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("webhooks disabled: cannot build the HTTP client: {e}");
            return;
        }
    };
    loop {
        match st
            .store
            .job_claim(
                JobKind::Webhook,
                &name,
                st.cfg.webhook_timeout_secs + 30,
                None,
            )
            .await
        {
            Ok(Some(job)) => deliver(&st, &client, job).await,
            Ok(None) => {
                tokio::select! {
                    _ = st.wake_webhooks.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
            Err(e) => {
                tracing::warn!("claiming a webhook job: {e}");
                tokio::time::sleep(poll).await;
            }
        }
    }
}

fn base_url(st: &AppState) -> String {
    match &st.cfg.public_url {
        Some(p) => p.trim_end_matches('/').to_string(),
        None => format!("http://{}", st.cfg.listen),
    }
}

async fn body_of(
    st: &AppState,
    folder: Uuid,
    group: Uuid,
    delivery: Uuid,
) -> anyhow::Result<Option<String>> {
    let Some(f) = st.store.folder_get(folder).await? else {
        return Ok(None);
    };
    let media = st.store.media_of_folders(&[folder]).await?;
    let analyses = st
        .store
        .analyses_of_folders(&[folder], &AnalysisFilter::default())
        .await?;
    let ids: Vec<Uuid> = analyses.iter().map(|a| a.analysis_id).collect();
    let decisions = st.store.decisions_of(&ids).await?;
    let base = base_url(st);
    let mut view = views::folder(&base, &f, &media);
    view.analyses = Some(
        analyses
            .iter()
            .map(|a| views::analysis(&base, a, &media, &decisions))
            .collect(),
    );
    Ok(Some(serde_json::to_string(&json!({
        "event": "analyses.finished",
        "delivery_id": delivery,
        "group_id": group,
        "folder": view,
    }))?))
}

async fn deliver(st: &AppState, client: &reqwest::Client, job: Job) {
    if let Err(e) = try_deliver(st, client, &job).await {
        tracing::error!("webhook delivery {}: {e}", job.target_id);
        let _ = st
            .store
            .job_retry(
                job.job_id,
                &e.to_string(),
                st.cfg.webhook_backoff_ms as i64 * 1000,
            )
            .await;
    }
}

async fn try_deliver(st: &AppState, client: &reqwest::Client, job: &Job) -> anyhow::Result<()> {
    let Some(mut d) = st.store.delivery_get(job.target_id).await? else {
        st.store.job_done(job.job_id).await?;
        return Ok(());
    };
    if d.state != "PENDING" {
        st.store.job_done(job.job_id).await?;
        return Ok(());
    }
    if d.body.is_empty() {
        let Some(body) = body_of(st, d.folder_id, d.group_id, d.delivery_id).await? else {
            st.store.job_done(job.job_id).await?;
            return Ok(());
        };
        st.store.delivery_set_body(d.delivery_id, &body).await?;
        d = st.store.delivery_get(d.delivery_id).await?.unwrap_or(d);
    }
    let company = st
        .store
        .folder_get(d.folder_id)
        .await?
        .and_then(|f| f.company_id);
    let secret = match company {
        Some(c) => Some(company_secret(st, c).await?),
        None => st.cfg.webhook_secret.clone(),
    };
    let attempt = job.attempts;
    let ts = chrono_now_secs();
    let mut req = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("x-faceproof-event", "analyses.finished")
        .header("x-faceproof-delivery", d.delivery_id.to_string())
        .body(d.body.clone());
    if let Some(secret) = &secret {
        req = req.header(SIGNATURE_HEADER, sign(secret, ts, &d.body));
    }
    let started = Instant::now();
    let result = req.send().await;
    let duration_ms = started.elapsed().as_millis() as i64;
    let (status, error) = match &result {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
        Ok(r) => (
            Some(r.status().as_u16()),
            Some(format!("the receiver answered {}", r.status())),
        ),
        Err(e) => (None, Some(describe(e))),
    };
    let delivered = error.is_none();
    let last = attempt >= st.cfg.webhook_max_attempts;
    let state = match (delivered, last) {
        (true, _) => "DELIVERED",
        (false, true) => "FAILED",
        (false, false) => "PENDING",
    };
    st.store
        .delivery_attempt(
            d.delivery_id,
            attempt,
            status,
            error.as_deref(),
            duration_ms,
            state,
        )
        .await?;
    match state {
        "DELIVERED" => st.store.job_done(job.job_id).await?,
        "FAILED" => {
            tracing::warn!(delivery = %d.delivery_id, "webhook gave up after {attempt} attempts");
            st.store
                .job_fail(job.job_id, error.as_deref().unwrap_or(""))
                .await?
        }
        _ => {
            let delay_ms = st
                .cfg
                .webhook_backoff_ms
                .saturating_mul(1 << (attempt - 1).clamp(0, 16));
            st.store
                .job_retry(
                    job.job_id,
                    error.as_deref().unwrap_or(""),
                    delay_ms as i64 * 1000,
                )
                .await?
        }
    }
    Ok(())
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "request failed".into()
    }
}

fn chrono_now_secs() -> i64 {
    crate::store::now_us() / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts() {
        let mut cfg = crate::Config::default();
        assert!(check_allowed(&cfg, "http://10.0.0.1:9/x").is_ok());
        cfg.webhook_allowed_hosts = vec!["hooks.example.com".into(), "127.0.0.1:8089".into()];
        assert!(check_allowed(&cfg, "https://hooks.example.com/a?b").is_ok());
        assert!(check_allowed(&cfg, "https://user@HOOKS.example.com:8443/a").is_ok());
        assert!(check_allowed(&cfg, "http://127.0.0.1:8089/hook").is_ok());
        assert!(check_allowed(&cfg, "http://127.0.0.1:5432/").is_err());
        assert!(check_allowed(&cfg, "http://hooks.example.com.evil.net/").is_err());
    }

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_and_body() {
        // Expected value from Python: hmac.new(b"secret", b'1700000000.{"a":1}', sha256).hexdigest()
        assert_eq!(
            sign("secret", 1700000000, r#"{"a":1}"#),
            "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_ne!(
            sign("other", 1700000000, r#"{"a":1}"#),
            sign("secret", 1700000000, r#"{"a":1}"#)
        );
    }
}
