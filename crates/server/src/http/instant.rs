//! Instant API (Oz §3.5): `POST /api/instant/folders/` takes the same multipart body as a single
//! request and answers with the results, storing nothing (see [`crate::analysis::instant`]).

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use super::folders::multipart;
use crate::analysis::instant;
use crate::app::AppState;
use crate::auth::policy::{authorize, Action, Object};
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult};
use crate::uploads;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/instant/folders", post(instant))
}

async fn instant(
    State(st): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Value>> {
    authorize(
        &actor,
        Action::Create,
        &Object::folder(actor.company_id, Some(actor.user_id)),
    )?;
    let upload = uploads::read_multipart(multipart(&headers, mp)?, &st.cfg).await?;
    if upload.files.is_empty() {
        return Err(ApiError::value("No media have been added"));
    }
    let prepared = uploads::prepare_for_analysis(upload.files, &st.cfg).await?;
    Ok(Json(
        instant::run(&st, &actor, prepared, upload.payload).await?,
    ))
}
