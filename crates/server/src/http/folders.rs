//! `/api/folders/…`: create with media (multipart), add media, list with filters, read, delete.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::access::load;
use super::{page, path_id, BaseUrl, QueryPairs};
use crate::analysis::read::analyses_json;
use crate::analysis::single_request;
use crate::app::AppState;
use crate::auth::policy::{authorize, list_scope, Action, Object, Resource};
use crate::auth::Actor;
use crate::domain::{AnalysisTypeFilter, FolderStatus, Resolution};
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::folders::{FolderFilter, FolderRow, SortBy};
use crate::store::now_us;
use crate::uploads;
use crate::views::{self, FolderView, MediaView};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/folders", get(list).post(create))
        .route("/api/folders/{folder_id}", get(read).delete(remove))
        .route(
            "/api/folders/{folder_id}/media",
            post(add_media).get(list_media),
        )
        .route(
            "/api/folders/{folder_id}/media/{media_id}",
            delete(remove_media),
        )
}

pub(crate) fn multipart(
    headers: &HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Multipart> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/octet-stream") {
        return Err(ApiError::new(
            Code::NotRealized,
            "OzCapsula data containers are not supported",
        ));
    }
    mp.map_err(|e| {
        ApiError::structure(format!(
            "Expected a multipart/form-data body: {}",
            e.body_text()
        ))
    })
}

/// A request with no body at all (no length or length 0, not chunked) that is not multipart.
fn is_empty_non_multipart(headers: &HeaderMap) -> bool {
    use axum::http::header;
    let text = |h| {
        headers
            .get(h)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    let multipart = text(header::CONTENT_TYPE).is_some_and(|c| c.starts_with("multipart/"));
    let empty = match text(header::CONTENT_LENGTH) {
        Some(n) => n.trim() == "0",
        None => text(header::TRANSFER_ENCODING).is_none(),
    };
    !multipart && empty
}

async fn create(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<FolderView>)> {
    authorize(
        &actor,
        Action::Create,
        &Object::folder(actor.company_id, Some(actor.user_id)),
    )?;
    let upload = if is_empty_non_multipart(&headers) {
        // Oz's older clients (a PHP/Guzzle client: `POST api/folders` labelled as a form, no
        // body) create an empty folder first and add media to it afterwards.
        uploads::Upload::default()
    } else {
        uploads::read_multipart(multipart(&headers, mp)?, &st.cfg).await?
    };
    let prepared = uploads::prepare(upload.files, &st.cfg).await?;
    let now = now_us();
    let folder = FolderRow {
        folder_id: Uuid::new_v4(),
        company_id: actor.company_id,
        user_id: Some(actor.user_id),
        resolution_status: FolderStatus::Initial,
        system_resolution: FolderStatus::Initial,
        meta_data: upload
            .payload
            .folder_meta
            .clone()
            .unwrap_or_else(|| json!({})),
        technical_meta_data: json!({}),
        time_created: now,
        time_updated: now,
    };
    let media = uploads::commit(
        &st.store,
        st.blobs.as_ref(),
        Some(&folder),
        folder.folder_id,
        prepared,
        &upload.payload,
    )
    .await?;
    if upload.payload.analyses.is_some() {
        let view =
            single_request::run(&st, &actor, &base, &folder, &media, &upload.payload).await?;
        return Ok((StatusCode::CREATED, Json(view)));
    }
    Ok((
        StatusCode::CREATED,
        Json(views::folder(&base, &folder, &media)),
    ))
}

async fn add_media(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Vec<MediaView>>)> {
    let folder = load::<FolderRow>(&st, &actor, path_id(&id)?, Action::Update).await?;
    let upload = uploads::read_multipart(multipart(&headers, mp)?, &st.cfg).await?;
    if upload.files.is_empty() {
        return Err(ApiError::value("No media have been added"));
    }
    let existing = st.store.media_count(folder.folder_id).await? as usize;
    if existing + upload.files.len() > st.cfg.max_files_per_folder {
        return Err(ApiError::value(format!(
            "Too many files: the folder has {existing} and the limit is {}",
            st.cfg.max_files_per_folder
        )));
    }
    let prepared = uploads::prepare(upload.files, &st.cfg).await?;
    let media = uploads::commit(
        &st.store,
        st.blobs.as_ref(),
        None,
        folder.folder_id,
        prepared,
        &upload.payload,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(media.iter().map(|m| views::media(&base, m)).collect()),
    ))
}

async fn list_media(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MediaView>>> {
    let folder = load::<FolderRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    let media = st.store.media_of_folders(&[folder.folder_id]).await?;
    Ok(Json(media.iter().map(|m| views::media(&base, m)).collect()))
}

async fn list(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let (offset, limit) = q.paging()?;
    let (sort, descending) = match q.get("sorting").map(|s| s.replace(' ', "")) {
        None => (SortBy::TimeCreated, true),
        Some(s) => match s.as_str() {
            "time_created" | "time_created{asc}" => (SortBy::TimeCreated, false),
            "time_created{desc}" | "-time_created" => (SortBy::TimeCreated, true),
            "time_updated" | "time_updated{asc}" => (SortBy::TimeUpdated, false),
            "time_updated{desc}" | "-time_updated" => (SortBy::TimeUpdated, true),
            other => return Err(ApiError::value(format!("Unknown sorting '{other}'"))),
        },
    };
    let resolution_status = q.upper_list("resolution_status", FolderStatus::ALL)?;
    let folder_ids = q.id_list("folder_id")?;
    let filter = FolderFilter {
        scope: list_scope(&actor, Resource::Folder),
        time_created_min: q.time_us("time_created.min")?,
        time_created_max: q.time_us("time_created.max")?,
        time_updated_min: q.time_us("time_updated.min")?,
        time_updated_max: q.time_us("time_updated.max")?,
        meta: crate::metadata::parse_filters(&q.all("meta_data"))?,
        resolution_status,
        user_id: q.uuid("user_id")?,
        company_id: q.uuid("company_id")?,
        folder_ids,
        analysis_types: q.upper_list("analysis_type", AnalysisTypeFilter::ALL)?,
        analysis_resolutions: q.upper_list("analysis_resolution", Resolution::ALL)?,
        sort,
        descending,
        offset,
        limit,
    };
    let with_analyses = q.flag("with_analyses")?;
    let (folders, total) = st.store.folder_list(&filter).await?;
    let ids: Vec<Uuid> = folders.iter().map(|f| f.folder_id).collect();
    let media = st.store.media_of_folders(&ids).await?;
    let analyses = if with_analyses {
        analyses_json(&st, &base, &ids, &media, &Default::default()).await?
    } else {
        Vec::new()
    };
    let items: Vec<FolderView> = folders
        .iter()
        .map(|f| {
            let mut v = views::folder(&base, f, &media);
            if with_analyses {
                v.analyses = Some(
                    analyses
                        .iter()
                        .filter(|(fid, _)| *fid == f.folder_id)
                        .map(|(_, a)| a.clone())
                        .collect(),
                );
            }
            v
        })
        .collect();
    Ok(page(items, total))
}

async fn read(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<FolderView>> {
    let folder = load::<FolderRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    let media = st.store.media_of_folders(&[folder.folder_id]).await?;
    let mut v = views::folder(&base, &folder, &media);
    if q.flag("with_analyses")? {
        let list =
            analyses_json(&st, &base, &[folder.folder_id], &media, &Default::default()).await?;
        v.analyses = Some(list.into_iter().map(|(_, a)| a).collect());
    }
    if q.flag("with_user")? {
        let user = match folder.user_id {
            Some(u) => st.store.user_get(u).await?,
            None => None,
        };
        v.user = Some(serde_json::to_value(user).map_err(ApiError::internal)?);
    }
    if q.flag("with_company")? {
        let company = match folder.company_id {
            Some(c) => st.store.company_get(c).await?,
            None => None,
        };
        v.company = Some(serde_json::to_value(company).map_err(ApiError::internal)?);
    }
    Ok(Json(v))
}

async fn remove(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let folder = load::<FolderRow>(&st, &actor, path_id(&id)?, Action::Delete).await?;
    st.store.folder_delete(folder.folder_id).await?;
    if let Err(e) = st
        .blobs
        .delete_prefix(&format!("folders/{}", folder.folder_id))
        .await
    {
        tracing::error!("deleting the files of a deleted folder: {e}");
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_media(
    State(st): State<AppState>,
    actor: Actor,
    Path((folder_id, media_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let folder_id = path_id(&folder_id)?;
    let media_id = path_id(&media_id)?;
    super::media::delete_media(&st, &actor, media_id, Some(folder_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
