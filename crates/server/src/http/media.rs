//! `/api/media/{id}`: read, retag, delete, and the stored files (same access checks as the folder).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use uuid::Uuid;

use super::access::load;
use super::{path_id, ApiJson, BaseUrl};
use crate::app::AppState;
use crate::auth::policy::Action;
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult};
use crate::store::folders::MediaRow;
use crate::uploads::check_tags;
use crate::views::{self, MediaView};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/media/{media_id}",
            get(read).patch(update).delete(remove),
        )
        .route("/api/media/{media_id}/file", get(file))
        .route("/api/media/{media_id}/thumb", get(thumb))
        .route("/api/media/{media_id}/preview", get(preview))
}

pub async fn delete_media(
    st: &AppState,
    actor: &Actor,
    id: Uuid,
    folder: Option<Uuid>,
) -> ApiResult<()> {
    let media = load::<MediaRow>(st, actor, id, Action::Delete).await?;
    if folder.is_some_and(|f| f != media.folder_id) {
        return Err(ApiError::unknown_object());
    }
    st.store.media_delete(media.media_id).await?;
    let dir = format!("folders/{}/{}", media.folder_id, media.media_id);
    if let Err(e) = st.blobs.delete_prefix(&dir).await {
        tracing::error!("deleting the files of a deleted media: {e}");
    }
    Ok(())
}

async fn read(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<MediaView>> {
    let m = load::<MediaRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    Ok(Json(views::media(&base, &m)))
}

async fn update(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<MediaView>> {
    let m = load::<MediaRow>(&st, &actor, path_id(&id)?, Action::Update).await?;
    let tags = body
        .get("tags")
        .ok_or_else(|| ApiError::structure("Missing field: tags"))?;
    let tags: Vec<String> = serde_json::from_value(tags.clone()).map_err(|_| {
        ApiError::new(
            crate::errors::Code::InvalidType,
            "tags must be a list of strings",
        )
    })?;
    let tags = check_tags(&tags)?;
    st.store.media_set_tags(m.media_id, &tags).await?;
    let m = load::<MediaRow>(&st, &actor, m.media_id, Action::Read).await?;
    Ok(Json(views::media(&base, &m)))
}

async fn remove(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_media(&st, &actor, path_id(&id)?, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn file(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = load::<MediaRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    super::stored_file(&st, &m.file_key, &m.mime, "Media file").await
}

async fn thumb(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = load::<MediaRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    let key = m
        .thumb_key
        .ok_or_else(|| ApiError::not_found("Thumbnail"))?;
    super::stored_file(&st, &key, "image/jpeg", "Media file").await
}

async fn preview(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = load::<MediaRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    if m.media_kind != crate::domain::MediaKind::Video {
        return Err(ApiError::not_found("Preview"));
    }
    super::stored_file(&st, &m.file_key, &m.mime, "Media file").await
}
