//! Analyses: order them on a folder, read them (one, a folder's, embedded in folders), take the
//! operator's decision, see webhook deliveries.
//! The work itself happens in [`crate::analysis`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::load;
use super::{path_id, ApiJson, BaseUrl, QueryPairs};
use crate::analysis::order::{self, place_order};
use crate::analysis::read::{analyses_json, one};
use crate::app::AppState;
use crate::auth::policy::Action;
use crate::auth::Actor;
use crate::domain::{AnalysisState, AnalysisTypeFilter, Resolution};
use crate::errors::{ApiError, ApiResult};
use crate::store::analyses::{AnalysisFilter, AnalysisRow};
use crate::store::folders::FolderRow;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/folders/{folder_id}/analyses",
            post(start).get(list_of_folder),
        )
        .route("/api/folders/{folder_id}/webhooks", get(webhooks))
        .route("/api/analyses/{analysis_id}", get(read).patch(decide))
}

async fn start(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Vec<Value>>)> {
    let folder = load::<FolderRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    let order = order::parse_order(&body)?;
    let media = st.store.media_of_folders(&[folder.folder_id]).await?;
    let rows = place_order(&st, &actor, &folder, &media, &order, true).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            rows.iter()
                .map(|a| crate::views::analysis(&base, a, &media, &[]))
                .collect(),
        ),
    ))
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
    let folder = load::<FolderRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    let mut analysis_ids = q.id_list("analyse_id")?;
    analysis_ids.extend(q.id_list("analysis_id")?);
    let mut exclude_ids = q.id_list("analyse_id.exclude")?;
    exclude_ids.extend(q.id_list("analysis_id.exclude")?);
    let filter = AnalysisFilter {
        analysis_ids,
        exclude_ids,
        kinds: q.upper_list("type", AnalysisTypeFilter::ALL)?,
        states: q.upper_list("state", AnalysisState::ALL)?,
        resolution_status: q.upper_list("resolution_status", Resolution::ALL)?,
        time_created_min: q.time_us("time_created.min")?,
        time_created_max: q.time_us("time_created.max")?,
    };
    let media = st.store.media_of_folders(&[folder.folder_id]).await?;
    let list = analyses_json(&st, &base, &[folder.folder_id], &media, &filter).await?;
    Ok(Json(list.into_iter().map(|(_, v)| v).collect()))
}

async fn read(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let a = load::<AnalysisRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
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
    let a = load::<AnalysisRow>(&st, &actor, path_id(&id)?, Action::Decide).await?;
    let after = body.resolution_status.trim().to_ascii_uppercase();
    let Some(after) = Resolution::DECISIONS
        .into_iter()
        .find(|r| r.as_str() == after)
    else {
        return Err(ApiError::value(
            "resolution_status must be SUCCESS or DECLINED",
        ));
    };
    crate::text::lines("comment", &body.comment, crate::text::COMMENT_CHARS)?;
    if !st
        .store
        .analysis_decide(a.analysis_id, actor.user_id, after, &body.comment)
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
    let a = load::<AnalysisRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    Ok(Json(one(&st, &base, &a).await?))
}

/// `GET /api/folders/{id}/webhooks/`: every delivery of the folder with each attempt.
async fn webhooks(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let folder = load::<FolderRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    let list = st.store.deliveries_of_folder(folder.folder_id).await?;
    Ok(Json(json!(list)))
}
