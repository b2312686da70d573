//! The application's shared state ([`AppState`]: config, store, blobs, inference, the 1:N index,
//! wake-ups) and what surrounds it in a process: opening it (migrations, media directory), the
//! first ADMIN, background maintenance, and the shutdown signal. Services (`analysis`,
//! `collections`, `webhooks`, `uploads`) and the HTTP layer take this state; of them it knows
//! only the collection index it holds.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::auth::ratelimit::{LoginLimiter, LoginLimits};
use crate::auth::{passwords, Role};
use crate::blobs::BlobStore;
use crate::collections::CollectionIndex;
use crate::config::Config;
use crate::inference::Inference;
use crate::store::users::UserFields;
use crate::store::Store;
use faceproof_engine::EngineOptions;

/// What every handler, worker and service shares. Cheap to clone (all behind `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<Config>,
    pub store: Store,
    pub blobs: Arc<dyn BlobStore>,
    pub limiter: Arc<LoginLimiter>,
    /// The engine behind a bounded blocking pool (see [`crate::inference`]).
    pub inference: Arc<Inference>,
    /// The 1:N search index over collections (see [`crate::collections`]).
    pub collections: Arc<CollectionIndex>,
    /// Wakes this process's analysis workers when an order is stored.
    pub wake: Arc<tokio::sync::Notify>,
    /// Wakes the webhook worker when a delivery is queued.
    pub wake_webhooks: Arc<tokio::sync::Notify>,
    /// Set on SIGTERM: stop accepting and claiming (see [`crate::lifecycle`]).
    pub life: Arc<crate::lifecycle::Lifecycle>,
}

/// Create a user from the command line (`faceproof admin create`); returns the user id.
pub async fn create_user(
    cfg: &Config,
    email: &str,
    password: &str,
    role: Role,
    company: Option<&str>,
) -> anyhow::Result<String> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    let store = Store::connect(&cfg.database_url()).await?;
    if store.user_by_email(email).await?.is_some() {
        anyhow::bail!("a user with email {email} already exists");
    }
    if password.chars().count() < 8 {
        anyhow::bail!("the password must have at least 8 characters");
    }
    let company_id = match (role.is_client(), company) {
        (false, _) => None,
        (true, None) => anyhow::bail!(
            "role {} needs --company (an id or a new company's name)",
            role.as_str()
        ),
        (true, Some(c)) => match c.parse::<uuid::Uuid>() {
            Ok(id) => {
                store
                    .company_get(id)
                    .await?
                    .with_context(|| format!("no company {id}"))?;
                Some(id)
            }
            Err(_) => Some(
                store
                    .company_create(c, &serde_json::json!({}))
                    .await?
                    .company_id,
            ),
        },
    };
    let user = store
        .user_create(&UserFields {
            email: Some(email.to_string()),
            password_hash: Some(passwords::hash(password)?),
            user_type: Some(role),
            company_id: company_id.into(),
            ..UserFields::default()
        })
        .await?;
    Ok(user.user_id.to_string())
}

pub(crate) async fn bootstrap_admin(store: &Store) -> anyhow::Result<()> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    match (std::env::var("FACEPROOF_ADMIN_EMAIL"), std::env::var("FACEPROOF_ADMIN_PASSWORD")) {
        (Ok(email), Ok(password)) if !email.trim().is_empty() && !password.is_empty() => {
            store
                .user_create(&UserFields {
                    email: Some(email.clone()),
                    password_hash: Some(passwords::hash(&password)?),
                    user_type: Some(Role::Admin),
                    ..UserFields::default()
                })
                .await?;
            tracing::info!("created the first ADMIN from FACEPROOF_ADMIN_EMAIL");
        }
        _ => tracing::warn!(
            "the database has no users: set FACEPROOF_ADMIN_EMAIL and FACEPROOF_ADMIN_PASSWORD, or run `faceproof admin create`"
        ),
    }
    Ok(())
}

/// Open the store (running migrations) and the blobs, and assemble the shared state.
pub async fn build_state(cfg: &Config, engine: EngineOptions) -> anyhow::Result<AppState> {
    crate::telemetry::install();
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    let store = Store::connect(&cfg.database_url()).await?;
    let blobs = crate::blobs::open(cfg)?;
    tracing::info!("media store: {}", blobs.describe());
    let inference =
        Arc::new(Inference::new(engine, cfg).context("opening the temporary area (temp_dir)")?);
    Ok(AppState {
        limiter: Arc::new(LoginLimiter::new(LoginLimits {
            max_failures: cfg.login_max_failures.max(1),
            max_address_failures: cfg.login_max_address_failures,
            window: Duration::from_secs(cfg.login_window_secs),
            backoff: Duration::from_secs(cfg.login_backoff_secs),
            backoff_max: Duration::from_secs(
                cfg.login_backoff_max_secs.max(cfg.login_backoff_secs),
            ),
        })),
        cfg: Arc::new(cfg.clone()),
        store,
        blobs: Arc::new(blobs),
        collections: Arc::new(CollectionIndex::new(inference.pack_id())),
        inference,
        wake: Arc::new(tokio::sync::Notify::new()),
        wake_webhooks: Arc::new(tokio::sync::Notify::new()),
        life: Arc::default(),
    })
}

/// A database URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Hourly housekeeping: expired sessions, finished jobs older than a week, the collection change
/// log older than a day.
pub fn spawn_maintenance(store: &Store) {
    let purge = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = purge.session_purge_expired().await {
                tracing::warn!("purging expired sessions: {e}");
            }
            if let Err(e) = purge.web_sdk_purge().await {
                tracing::warn!("purging web plugin sessions: {e}");
            }
            // Finished jobs are kept a week for inspection, then dropped.
            if let Err(e) = purge.jobs_purge_finished(7 * 24 * 3600).await {
                tracing::warn!("purging finished jobs: {e}");
            }
            if let Err(e) = purge.collection_changes_prune(24 * 3600).await {
                tracing::warn!("pruning the collection change log: {e}");
            }
        }
    });
}
