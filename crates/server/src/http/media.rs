//! `/api/media/{id}`: read, retag, delete, and the stored files (same access checks as the folder).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use uuid::Uuid;

use super::access::load;
use super::{media_links, path_id, ApiJson, BaseUrl, QueryPairs};
use crate::app::AppState;
use crate::auth::policy::Action;
use crate::auth::Actor;
use crate::domain::MediaKind;
use crate::errors::{ApiError, ApiResult, Code};
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
        .route("/api/media/{media_id}/frames/{index}", get(frame))
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

/// The media a file route serves: with the token header as any media read, or — without a
/// usable header — by a signed link (see [`media_links`]).
async fn openable(
    st: &AppState,
    actor: Result<Actor, ApiError>,
    q: &QueryPairs,
    id: &str,
) -> ApiResult<MediaRow> {
    let id = path_id(id)?;
    let missing = match actor {
        Ok(actor) => return load::<MediaRow>(st, &actor, id, Action::Read).await,
        Err(e) => e,
    };
    if q.get("sig").is_none() {
        return Err(missing);
    }
    let Some((media, owner)) = st.store.media_get(id).await? else {
        return Err(ApiError::new(
            Code::Forbidden,
            "This media link is invalid or has expired",
        ));
    };
    if media_links::link_opens(st, q, id, owner.company_id).await? {
        Ok(media)
    } else {
        Err(missing)
    }
}

async fn file(
    State(st): State<AppState>,
    actor: Result<Actor, ApiError>,
    q: QueryPairs,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = openable(&st, actor, &q, &id).await?;
    let range = headers.get(header::RANGE);
    super::stored_file_ranged(&st, &m.file_key, &m.mime, "Media file", range).await
}

async fn thumb(
    State(st): State<AppState>,
    actor: Result<Actor, ApiError>,
    q: QueryPairs,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = openable(&st, actor, &q, &id).await?;
    let key = m
        .thumb_key
        .ok_or_else(|| ApiError::not_found("Thumbnail"))?;
    super::stored_file(&st, &key, "image/jpeg", "Media file").await
}

async fn preview(
    State(st): State<AppState>,
    actor: Result<Actor, ApiError>,
    q: QueryPairs,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = openable(&st, actor, &q, &id).await?;
    let range = headers.get(header::RANGE);
    match m.media_kind {
        MediaKind::Video => {
            super::stored_file_ranged(&st, &m.file_key, &m.mime, "Media file", range).await
        }
        MediaKind::ShotsSet => {
            let key = format!("folders/{}/{}/preview.mp4", m.folder_id, m.media_id);
            if st.blobs.size(&key).await.is_err() {
                make_shots_set_video(&st, &m, &key).await?;
            }
            super::stored_file_ranged(&st, &key, "video/mp4", "Preview", range).await
        }
        _ => Err(ApiError::not_found("Preview")),
    }
}

/// Oz 5.2.0: a shots set plays as a video. The MP4 is made from the frames with ffmpeg on first
/// request and kept beside the archive (deleted with the media); two first requests at once
/// both make it and store the same bytes.
async fn make_shots_set_video(st: &AppState, m: &MediaRow, key: &str) -> ApiResult<()> {
    let bytes = st.blobs.get(&m.file_key).await.map_err(|e| {
        tracing::error!("reading a shots set: {e}");
        ApiError::not_found("Media file")
    })?;
    let limits = st.cfg.media_limits();
    let _permit = crate::inference::decode_permit().await?;
    let mp4 = tokio::task::spawn_blocking(move || {
        faceproof_engine::media::shots_set_mp4(&bytes, &limits)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::new(Code::ExternalService, format!("Making the preview: {e}")))?;
    st.blobs.put(key, &mp4).await.map_err(ApiError::internal)
}

/// `GET /api/media/{id}/frames/{index}`: one frame of a shots set, as stored in the archive.
async fn frame(
    State(st): State<AppState>,
    actor: Result<Actor, ApiError>,
    q: QueryPairs,
    Path((id, index)): Path<(String, String)>,
) -> ApiResult<Response> {
    let m = openable(&st, actor, &q, &id).await?;
    let index: usize = index
        .parse()
        .map_err(|_| ApiError::new(Code::InvalidType, "the frame index must be a number"))?;
    if m.media_kind != MediaKind::ShotsSet {
        return Err(ApiError::not_found("Frame"));
    }
    let bytes = st.blobs.get(&m.file_key).await.map_err(|e| {
        tracing::error!("reading a shots set: {e}");
        ApiError::not_found("Media file")
    })?;
    let limits = st.cfg.media_limits();
    let data = tokio::task::spawn_blocking(move || {
        faceproof_engine::media::shots_set_frame(&bytes, &limits, index)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::value(format!("Reading the frame: {e}")))?
    .ok_or_else(|| ApiError::not_found("Frame"))?;
    let mime = faceproof_engine::media::sniff(&data)
        .map(|f| f.mime())
        .unwrap_or("application/octet-stream");
    axum::response::Response::builder()
        .header(axum::http::header::CONTENT_TYPE, mime)
        .header(axum::http::header::CACHE_CONTROL, "private, no-store")
        .body(axum::body::Body::from(data))
        .map_err(ApiError::internal)
}
