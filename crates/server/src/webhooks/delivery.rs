//! The webhook worker: claims delivery jobs, builds the body once (frozen at the first attempt),
//! signs and POSTs it, records every attempt, retries with exponential backoff.

use std::time::{Duration, Instant};

use uuid::Uuid;

use super::target::{check_before_send, GuardedResolver};
use super::{company_secret, sign, SIGNATURE_HEADER};
use crate::app::AppState;
use crate::domain::DeliveryState;
use crate::store::analyses::AnalysisFilter;
use crate::store::jobs::{Job, JobKind};
use crate::views;

pub async fn webhook_loop(st: AppState, name: String) {
    let poll = Duration::from_millis(st.cfg.job_poll_ms.max(10));
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(st.cfg.webhook_timeout_secs.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(GuardedResolver::new(st.cfg.clone())))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("webhooks disabled: cannot build the HTTP client: {e}");
            return;
        }
    };
    // After SIGTERM no new delivery is claimed; the one being sent finishes (bounded by its timeout).
    while !st.life.is_stopping() {
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
                    _ = st.life.stopping() => {}
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
    let format = match f.company_id {
        Some(c) => views::WebhookFormat::of_settings(
            &st.store.company_settings(c).await?.unwrap_or_default(),
        ),
        None => views::WebhookFormat::Faceproof,
    };
    let body = views::webhook_body(
        format,
        &base_url(st),
        &f,
        &media,
        &analyses,
        &decisions,
        group,
        delivery,
    );
    Ok(Some(serde_json::to_string(&body)?))
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
    if d.state != DeliveryState::Pending {
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
        .header("x-faceproof-event", views::WEBHOOK_EVENT)
        .header("x-faceproof-delivery", d.delivery_id.to_string())
        .body(d.body.clone());
    if let Some(secret) = &secret {
        req = req.header(SIGNATURE_HEADER, sign(secret, ts, &d.body));
    }
    let started = Instant::now();
    // Checked again before each attempt: settings may have changed since the order.
    let result = match check_before_send(&st.cfg, &d.url) {
        Ok(()) => Some(req.send().await),
        Err(why) => {
            tracing::warn!(delivery = %d.delivery_id, "webhook destination refused: {why}");
            None
        }
    };
    let duration_ms = started.elapsed().as_millis() as i64;
    // Clients see only what the receiver answered or that it was unreachable: no timings and no
    // reason that would tell a closed port from a filtered one (the server is no port scanner).
    let (status, error) = match &result {
        Some(Ok(r)) if r.status().is_success() => (Some(r.status().as_u16()), None),
        Some(Ok(r)) => (
            Some(r.status().as_u16()),
            Some("receiver error".to_string()),
        ),
        Some(Err(e)) => {
            tracing::info!(delivery = %d.delivery_id, "webhook attempt failed: {}", describe(e));
            (None, Some("unreachable".to_string()))
        }
        None => (None, Some("unreachable".to_string())),
    };
    let delivered = error.is_none();
    let last = attempt >= st.cfg.webhook_max_attempts;
    let state = match (delivered, last) {
        (true, _) => DeliveryState::Delivered,
        (false, true) => DeliveryState::Failed,
        (false, false) => DeliveryState::Pending,
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
    crate::telemetry::webhook_attempt(match state {
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
        DeliveryState::Pending => "retry",
    });
    match state {
        DeliveryState::Delivered => st.store.job_done(job.job_id).await?,
        DeliveryState::Failed => {
            tracing::warn!(delivery = %d.delivery_id, "webhook gave up after {attempt} attempts");
            st.store
                .job_fail(job.job_id, error.as_deref().unwrap_or(""))
                .await?
        }
        DeliveryState::Pending => {
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
