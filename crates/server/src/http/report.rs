//! `GET /api/folders/{id}/report.pdf`: the order report ([`crate::report`]), for whoever may read
//! the folder (the same check as `GET /api/folders/{id}`: another company's folder is 404).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::access::load;
use super::path_id;
use crate::app::AppState;
use crate::auth::policy::Action;
use crate::auth::Actor;
use crate::errors::ApiResult;
use crate::store::folders::FolderRow;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/folders/{folder_id}/report.pdf", get(report))
}

async fn report(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let folder = load::<FolderRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    let pdf = crate::report::build(&st, &folder).await?;
    let name = format!("order-{}.pdf", &folder.folder_id.to_string()[..8]);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        pdf,
    )
        .into_response())
}
