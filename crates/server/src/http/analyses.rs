//! Analyses: order them on a folder, read them (one, a folder's, embedded in folders), take the
//! operator's decision, see webhook deliveries.
//! The work itself happens in [`crate::analysis`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::folders::load;
use super::{path_id, ApiJson, AppState, BaseUrl, QueryPairs};
use crate::analysis::request::{self, Order};
use crate::analysis::AnalysisType;
use crate::auth::policy::{authorize, Action, AnalysisKind, Flags, Object};
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult};
use crate::store::analyses::{AnalysisFilter, AnalysisRow};
use crate::store::folders::{FolderRow, MediaRow};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/folders/{folder_id}/analyses",
            post(start).get(list_of_folder),
        )
        .route("/api/folders/{folder_id}/webhooks", get(webhooks))
        .route("/api/analyses/{analysis_id}", get(read).patch(decide))
}

fn kind_of(t: AnalysisType) -> AnalysisKind {
    match t {
        AnalysisType::Quality => AnalysisKind::Quality,
        AnalysisType::Biometry => AnalysisKind::Biometry,
        AnalysisType::Collection => AnalysisKind::Collection,
    }
}

/// May the actor start every analysis of the order on this folder (role and
/// `can_start_analysis_*` flags)?
pub async fn authorize_order(
    st: &AppState,
    actor: &Actor,
    folder: &FolderRow,
    order: &Order,
) -> ApiResult<()> {
    let user = st.store.user_get(actor.user_id).await?;
    let flags = user
        .map(|u| Flags {
            biometry: u.can_start_analysis_biometry,
            quality: u.can_start_analysis_quality,
            collection: u.can_start_analysis_collection,
        })
        .unwrap_or_default();
    for item in &order.items {
        let mut object = Object::folder(folder.company_id, folder.user_id);
        object.flags = flags;
        authorize(actor, Action::StartAnalysis(kind_of(item.kind)), &object)?;
    }
    Ok(())
}

/// Validate and store an order (analyses + jobs in one transaction); wake the workers unless the
/// caller runs the jobs itself (`wake_workers: false`, single request).
pub async fn place_order(
    st: &AppState,
    actor: &Actor,
    folder: &FolderRow,
    media: &[MediaRow],
    order: &Order,
    wake_workers: bool,
) -> ApiResult<Vec<AnalysisRow>> {
    authorize_order(st, actor, folder, order).await?;
    if let Some(url) = &order.resolution_endpoint {
        crate::webhooks::check_allowed(&st.cfg, url)?;
        // Webhooks are always signed: outside a company the server's secret signs them.
        if folder.company_id.is_none() && st.cfg.webhook_secret.is_none() {
            return Err(ApiError::value(
                "Webhooks for folders outside a company need the server's FACEPROOF_WEBHOOK_SECRET",
            ));
        }
    }
    for item in &order.items {
        if item.kind == AnalysisType::Collection {
            crate::analysis::collection::check_params(st, folder.company_id, &item.params).await?;
        }
    }
    let rows = request::plan(order, media, folder.folder_id, Some(actor.user_id))?;
    st.store
        .analyses_create(&rows, st.cfg.job_max_attempts)
        .await?;
    if wake_workers {
        for _ in &rows {
            st.wake.notify_one();
        }
    }
    Ok(rows)
}

async fn start(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Vec<Value>>)> {
    let folder = load(&st, &actor, path_id(&id)?, Action::Read).await?;
    let order = request::parse_order(&body)?;
    let media = st.store.media_of_folders(&[folder.folder_id]).await?;
    let rows = place_order(&st, &actor, &folder, &media, &order, true).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            rows.iter()
                .map(|a| super::views::analysis(&base, a, &media, &[]))
                .collect(),
        ),
    ))
}

/// The analyses of some folders as Oz JSON (for `with_analyses=true` too).
pub async fn analyses_json(
    st: &AppState,
    base: &str,
    folder_ids: &[Uuid],
    media: &[MediaRow],
    filter: &AnalysisFilter,
) -> ApiResult<Vec<(Uuid, Value)>> {
    let rows = st.store.analyses_of_folders(folder_ids, filter).await?;
    let ids: Vec<Uuid> = rows.iter().map(|a| a.analysis_id).collect();
    let decisions = st.store.decisions_of(&ids).await?;
    Ok(rows
        .iter()
        .map(|a| {
            (
                a.folder_id,
                super::views::analysis(base, a, media, &decisions),
            )
        })
        .collect())
}

/// `GET /api/folders/{id}/analyses/?type=BIOMETRY,QUALITY&state=FINISHED` (legacy filters:
/// `analyse_id`, `analyse_id.exclude`, `type`, `state`, `resolution_status`,
/// `time_created.min/max`).
async fn list_of_folder(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Vec<Value>>> {
    let folder = load(&st, &actor, path_id(&id)?, Action::Read).await?;
    let mut analysis_ids = q.id_list("analyse_id")?;
    analysis_ids.extend(q.id_list("analysis_id")?);
    let mut exclude_ids = q.id_list("analyse_id.exclude")?;
    exclude_ids.extend(q.id_list("analysis_id.exclude")?);
    let filter = AnalysisFilter {
        analysis_ids,
        exclude_ids,
        kinds: q.upper_list("type", &["QUALITY", "BIOMETRY", "COLLECTION", "DOCUMENTS"])?,
        states: q.upper_list("state", &["PROCESSING", "FINISHED", "FAILED"])?,
        resolution_status: q.upper_list(
            "resolution_status",
            &[
                "PROCESSING",
                "FAILED",
                "SUCCESS",
                "DECLINED",
                "OPERATOR_REQUIRED",
            ],
        )?,
        time_created_min: q.time_us("time_created.min")?,
        time_created_max: q.time_us("time_created.max")?,
    };
    let media = st.store.media_of_folders(&[folder.folder_id]).await?;
    let list = analyses_json(&st, &base, &[folder.folder_id], &media, &filter).await?;
    Ok(Json(list.into_iter().map(|(_, v)| v).collect()))
}

async fn load_analysis(
    st: &AppState,
    actor: &Actor,
    id: &str,
    action: Action,
) -> ApiResult<AnalysisRow> {
    let (a, owner) = st
        .store
        .analysis_get(path_id(id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("Analysis"))?;
    authorize(
        actor,
        action,
        &Object::folder(owner.company_id, owner.user_id),
    )?;
    Ok(a)
}

async fn one(st: &AppState, base: &str, a: &AnalysisRow) -> ApiResult<Value> {
    let media = st.store.media_of_folders(&[a.folder_id]).await?;
    let decisions = st.store.decisions_of(&[a.analysis_id]).await?;
    Ok(super::views::analysis(base, a, &media, &decisions))
}

async fn read(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let a = load_analysis(&st, &actor, &id, Action::Read).await?;
    Ok(Json(one(&st, &base, &a).await?))
}

#[derive(Deserialize)]
struct Decision {
    resolution_status: String,
    #[serde(default)]
    comment: String,
}

/// `PATCH /api/analyses/{id}` `{"resolution_status": "SUCCESS"|"DECLINED", "comment": "…"}`:
/// the operator's decision on an OPERATOR_REQUIRED analysis, recorded with who and when.
async fn decide(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult<Json<Value>> {
    let a = load_analysis(&st, &actor, &id, Action::Decide).await?;
    let after = body.resolution_status.trim().to_ascii_uppercase();
    if after != "SUCCESS" && after != "DECLINED" {
        return Err(ApiError::value(
            "resolution_status must be SUCCESS or DECLINED",
        ));
    }
    if body.comment.chars().count() > 2000 {
        return Err(ApiError::value("comment must be at most 2000 characters"));
    }
    if !st
        .store
        .analysis_decide(a.analysis_id, actor.user_id, &after, &body.comment)
        .await?
    {
        return Err(ApiError::new(
            crate::errors::Code::Conflict,
            format!(
                "Only an analysis awaiting review (OPERATOR_REQUIRED) takes a decision; this one is {}",
                a.resolution_status
            ),
        ));
    }
    tracing::info!(analysis = %a.analysis_id, user = %actor.user_id, decision = %after, "operator decision");
    let a = load_analysis(&st, &actor, &id, Action::Read).await?;
    Ok(Json(one(&st, &base, &a).await?))
}

/// `GET /api/folders/{id}/webhooks/`: every delivery of the folder with each attempt.
async fn webhooks(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let folder = load(&st, &actor, path_id(&id)?, Action::Read).await?;
    let list = st.store.deliveries_of_folder(folder.folder_id).await?;
    Ok(Json(json!(list)))
}
