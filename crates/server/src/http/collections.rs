//! `/api/collections/…`: blacklist collections, their persons and person images (Oz §3.7), the
//! stored photos, and a 1:N search of one photo against a collection.
//!
//! Access ([`crate::auth::policy`]): ADMIN manages every collection, OPERATOR reads and searches
//! every collection, CLIENT ADMIN manages and searches its company's collections; every other
//! role (CLIENT, CLIENT OPERATOR, CLIENT SERVICE) reads and searches its company's collections
//! (Oz's iOS SDK looks up alias `blacklist` as the capturing user) and gets 9/403 on every change
//! here; another company's collection answers 10/404. Blacklist checks of uploaded media run through the
//! COLLECTION analysis, which needs only the right to start that analysis.
//!
//! Enrolment (`POST …/persons/`, `POST …/persons/{id}/images/`): multipart photos under any keys
//! plus `payload` with `media:tags`, `media:meta_data` and `person:meta_data`
//! (`{"person_info": {first_name, middle_name, last_name}}`). Photos only (videos, archives → 5/415);
//! each must show exactly one face: no face → 4/400 `details.reason = "no_face"`, several →
//! `"multiple_faces"`, corrupt → `"unreadable"`. One refused photo refuses the request and nothing
//! is stored.

use std::collections::HashMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use faceproof_engine::media::{sniff, MediaKind};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::access::load;
use super::{page, path_id, ApiJson, BaseUrl, QueryPairs};
use crate::app::AppState;
use crate::auth::policy::{authorize, list_scope, Action, Object, Resource, Scope};
use crate::auth::Actor;
use crate::collections::threshold::{self, Explicit, Source};
use crate::collections::{embed_photos, face_policy, person_prefix, store_images};
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::collections::{CollectionRow, PersonImageRow, PersonRow};
use crate::store::now_us;
use crate::uploads::{self, IncomingFile, Payload};
use crate::views::collection::{self as view, CollectionView, PersonImageView, PersonView};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/collections", get(list).post(create))
        .route("/api/collections/{collection_id}", get(read).delete(remove))
        .route("/api/collections/{collection_id}/search", post(search))
        .route(
            "/api/collections/{collection_id}/persons",
            get(list_persons).post(add_person),
        )
        .route(
            "/api/collections/{collection_id}/persons/{person_id}",
            get(read_person).delete(remove_person),
        )
        .route(
            "/api/collections/{collection_id}/persons/{person_id}/images",
            get(list_images).post(add_images),
        )
        .route(
            "/api/collections/{collection_id}/persons/{person_id}/images/{image_id}",
            get(read_image).delete(remove_image),
        )
        .route(
            "/api/collections/{collection_id}/persons/{person_id}/images/{image_id}/file",
            get(image_file),
        )
        .route(
            "/api/collections/{collection_id}/persons/{person_id}/images/{image_id}/thumb",
            get(image_thumb),
        )
}

// ---------------------------------------------------------------------------------------------
// Loading with access checks: unknown or another company's → 404, forbidden role → 403.

async fn load_person(
    st: &AppState,
    actor: &Actor,
    cid: &str,
    pid: &str,
    action: Action,
) -> ApiResult<(CollectionRow, PersonRow)> {
    let c = load::<CollectionRow>(st, actor, path_id(cid)?, action).await?;
    let pid = path_id(pid)?;
    let p = st
        .store
        .person_get(pid)
        .await?
        .filter(|p| p.collection_id == c.collection_id)
        .ok_or_else(|| ApiError::not_found("Person"))?;
    Ok((c, p))
}

async fn load_image(
    st: &AppState,
    actor: &Actor,
    (cid, pid, iid): (String, String, String),
    action: Action,
) -> ApiResult<PersonImageRow> {
    let (_, p) = load_person(st, actor, &cid, &pid, action).await?;
    let iid = path_id(&iid)?;
    st.store
        .person_image_get(iid)
        .await?
        .filter(|i| i.person_id == p.person_id)
        .ok_or_else(|| ApiError::not_found("Person image"))
}

// ---------------------------------------------------------------------------------------------
// Collections.

#[derive(Deserialize)]
struct NewCollection {
    alias: Value,
    #[serde(default)]
    company_id: Option<Value>,
    #[serde(default)]
    meta_data: Option<Value>,
}

async fn create(
    State(st): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<NewCollection>,
) -> ApiResult<(StatusCode, Json<CollectionView>)> {
    let alias = body
        .alias
        .as_str()
        .ok_or_else(|| ApiError::new(Code::InvalidType, "alias must be a string"))?
        .trim()
        .to_string();
    if alias.is_empty() {
        return Err(ApiError::value("alias must not be empty"));
    }
    crate::text::line("alias", &alias, crate::text::TITLE_CHARS)?;
    let company_id = match body.company_id {
        None | Some(Value::Null) => actor.company_id,
        Some(Value::String(s)) => Some(path_id(&s)?),
        Some(_) => {
            return Err(ApiError::new(
                Code::InvalidType,
                "company_id must be a UUID string",
            ))
        }
    };
    let Some(company_id) = company_id else {
        return Err(ApiError::structure("Missing field: company_id"));
    };
    let meta = match body.meta_data {
        None | Some(Value::Null) => json!({}),
        Some(m @ Value::Object(_)) => m,
        Some(_) => return Err(ApiError::structure("meta_data must be an object")),
    };
    authorize(
        &actor,
        Action::Create,
        &Object::collection(Some(company_id)),
    )?;
    if st.store.company_get(company_id).await?.is_none() {
        return Err(ApiError::value(format!("No company {company_id}")));
    }
    let c = st
        .store
        .collection_create(Some(company_id), &alias, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(view::collection(&c))))
}

/// `GET /api/collections/`: a top-level JSON array, as Oz answers and as Oz's iOS SDK reads it
/// (it looks up the entry whose `alias` is `blacklist`). `offset`/`limit` apply; `paged=true`
/// answers the `{items, total, count}` page of the other list endpoints instead.
async fn list(State(st): State<AppState>, actor: Actor, q: QueryPairs) -> ApiResult<Response> {
    let (offset, limit) = q.paging()?;
    let paged = q.flag("paged")?;
    let answer = |items: Vec<CollectionView>, total: i64| {
        if paged {
            page(items, total).into_response()
        } else {
            Json(items).into_response()
        }
    };
    let company = match list_scope(&actor, Resource::Collection) {
        Scope::All => q.uuid("company_id")?,
        Scope::Company(c) => {
            if q.uuid("company_id")?.is_some_and(|asked| asked != c) {
                return Ok(answer(Vec::new(), 0));
            }
            Some(c)
        }
        Scope::Own(_) | Scope::Nothing => return Err(ApiError::forbidden()),
    };
    let (rows, total) = st.store.collection_list(company, offset, limit).await?;
    Ok(answer(rows.iter().map(view::collection).collect(), total))
}

async fn read(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<CollectionView>> {
    let c = load::<CollectionRow>(&st, &actor, path_id(&id)?, Action::Read).await?;
    Ok(Json(view::collection(&c)))
}

async fn remove(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let c = load::<CollectionRow>(&st, &actor, path_id(&id)?, Action::Delete).await?;
    if let Some(change) = st.store.collection_delete(c.collection_id).await? {
        index_applied(&st, &[change]).await;
    }
    if let Err(e) = st
        .blobs
        .delete_prefix(&format!("collections/{}", c.collection_id))
        .await
    {
        tracing::error!("deleting the files of a deleted collection: {e}");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Tell this process's index about committed changes. The rows are committed, so a failure here
/// only delays the index until its next catch-up; it is logged, not reported.
async fn index_applied(st: &AppState, changes: &[crate::store::collections::Change]) {
    if let Err(e) = st.collections.applied(&st.store, changes).await {
        tracing::warn!("updating the collection index: {e:#}");
    }
}

// ---------------------------------------------------------------------------------------------
// Multipart photos.

fn multipart(
    headers: &HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Multipart> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("multipart/form-data") {
        return Err(ApiError::structure(
            "Expected a multipart/form-data body with photos",
        ));
    }
    mp.map_err(|e| {
        ApiError::structure(format!(
            "Expected a multipart/form-data body: {}",
            e.body_text()
        ))
    })
}

struct PhotoUpload {
    payload: Payload,
    person_meta: Option<Value>,
    files: Vec<IncomingFile>,
}

/// Read photos and `payload` with the upload rules of [`uploads::read_multipart`] (file fields,
/// size limits), `person:meta_data` included.
async fn read_photos(mp: Multipart, st: &AppState) -> ApiResult<PhotoUpload> {
    let upload = uploads::read_multipart(mp, &st.cfg).await?;
    let person_meta = upload.payload.person_meta.clone();
    let payload = upload.payload;
    let files = upload.files;
    if files.is_empty() {
        return Err(ApiError::value("No photos have been added"));
    }
    // Photos only: refuse videos and archives before decoding anything.
    for f in &files {
        if let Some(format) = sniff(f.head()) {
            if format.kind() != MediaKind::Image {
                return Err(ApiError::new(
                    Code::UnsupportedMedia,
                    format!(
                        "File '{}': collections take photos only, not {}",
                        f.key,
                        format.mime()
                    ),
                )
                .with_details(json!({ "media_key": f.key, "reason": "not_an_image" })));
            }
        }
    }
    Ok(PhotoUpload {
        payload,
        person_meta,
        files,
    })
}

/// Validate, embed and store photos for `person` (a new person when `is_new`).
async fn enrol(
    st: &AppState,
    company: Option<Uuid>,
    person: &PersonRow,
    is_new: bool,
    upload: PhotoUpload,
) -> ApiResult<Vec<PersonImageRow>> {
    let prepared = uploads::prepare(upload.files, &st.cfg).await?;
    let policy = face_policy(&st.store, &st.cfg, company).await?;
    let embedded = embed_photos(&st.inference, prepared, policy).await?;
    let store = st.store.clone();
    let model = st.inference.pack_id().to_string();
    let (images, changes) = store_images(
        st.blobs.as_ref(),
        person,
        embedded,
        &upload.payload,
        &model,
        |rows| async move {
            if is_new {
                Ok(store.person_insert(person, &rows).await?)
            } else {
                store
                    .person_images_insert(person.person_id, &rows)
                    .await?
                    .ok_or_else(|| ApiError::not_found("Person"))
            }
        },
    )
    .await?;
    index_applied(st, &changes).await;
    Ok(images)
}

// ---------------------------------------------------------------------------------------------
// Persons and images.

async fn add_person(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(cid): Path<String>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    let c = load::<CollectionRow>(&st, &actor, path_id(&cid)?, Action::Update).await?;
    let mut upload = read_photos(multipart(&headers, mp)?, &st).await?;
    let now = now_us();
    let person = PersonRow {
        person_id: Uuid::new_v4(),
        collection_id: c.collection_id,
        meta_data: upload.person_meta.take().unwrap_or_else(|| json!({})),
        time_created: now,
        time_updated: now,
    };
    let images = enrol(&st, c.company_id, &person, true, upload).await?;
    Ok((
        StatusCode::CREATED,
        Json(view::person(&base, &person, &images)),
    ))
}

async fn list_persons(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(cid): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let c = load::<CollectionRow>(&st, &actor, path_id(&cid)?, Action::Read).await?;
    let (offset, limit) = q.paging()?;
    let (persons, total) = st.store.person_list(c.collection_id, offset, limit).await?;
    let ids: Vec<Uuid> = persons.iter().map(|p| p.person_id).collect();
    let images = st.store.person_images_of(&ids).await?;
    Ok(page(
        persons
            .iter()
            .map(|p| view::person(&base, p, &images))
            .collect(),
        total,
    ))
}

async fn read_person(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path((cid, pid)): Path<(String, String)>,
) -> ApiResult<Json<PersonView>> {
    let (_, p) = load_person(&st, &actor, &cid, &pid, Action::Read).await?;
    let images = st.store.person_images_of(&[p.person_id]).await?;
    Ok(Json(view::person(&base, &p, &images)))
}

async fn remove_person(
    State(st): State<AppState>,
    actor: Actor,
    Path((cid, pid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (c, p) = load_person(&st, &actor, &cid, &pid, Action::Delete).await?;
    let change = st
        .store
        .person_delete(p.person_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Person"))?;
    index_applied(&st, &[change]).await;
    if let Err(e) = st
        .blobs
        .delete_prefix(&person_prefix(c.collection_id, p.person_id))
        .await
    {
        tracing::error!("deleting the files of a deleted person: {e}");
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn add_images(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path((cid, pid)): Path<(String, String)>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Vec<PersonImageView>>)> {
    let (c, p) = load_person(&st, &actor, &cid, &pid, Action::Update).await?;
    let upload = read_photos(multipart(&headers, mp)?, &st).await?;
    let images = enrol(&st, c.company_id, &p, false, upload).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            images
                .iter()
                .map(|i| view::person_image(&base, i))
                .collect(),
        ),
    ))
}

async fn list_images(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path((cid, pid)): Path<(String, String)>,
) -> ApiResult<Json<Vec<PersonImageView>>> {
    let (_, p) = load_person(&st, &actor, &cid, &pid, Action::Read).await?;
    let images = st.store.person_images_of(&[p.person_id]).await?;
    Ok(Json(
        images
            .iter()
            .map(|i| view::person_image(&base, i))
            .collect(),
    ))
}

async fn read_image(
    State(st): State<AppState>,
    actor: Actor,
    BaseUrl(base): BaseUrl,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult<Json<PersonImageView>> {
    let i = load_image(&st, &actor, ids, Action::Read).await?;
    Ok(Json(view::person_image(&base, &i)))
}

async fn remove_image(
    State(st): State<AppState>,
    actor: Actor,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let i = load_image(&st, &actor, ids, Action::Delete).await?;
    let change = st
        .store
        .person_image_delete(&i)
        .await?
        .ok_or_else(|| ApiError::not_found("Person image"))?;
    index_applied(&st, &[change]).await;
    let dir = format!(
        "{}/{}",
        person_prefix(i.collection_id, i.person_id),
        i.person_image_id
    );
    if let Err(e) = st.blobs.delete_prefix(&dir).await {
        tracing::error!("deleting the files of a deleted person image: {e}");
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn image_file(
    State(st): State<AppState>,
    actor: Actor,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let i = load_image(&st, &actor, ids, Action::Read).await?;
    super::stored_file(&st, &i.file_key, &i.mime, "Person image file").await
}

async fn image_thumb(
    State(st): State<AppState>,
    actor: Actor,
    Path(ids): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let i = load_image(&st, &actor, ids, Action::Read).await?;
    let key = i
        .thumb_key
        .ok_or_else(|| ApiError::not_found("Thumbnail"))?;
    super::stored_file(&st, &key, "image/jpeg", "Person image file").await
}

// ---------------------------------------------------------------------------------------------
// 1:N search of one photo.

/// `POST /api/collections/{id}/search`: one photo (multipart, any key) → the enrolled persons
/// most like its face, best first. Query: `threshold` (confidence; default the company's
/// `collection_threshold`, else one scaled with the collection's size — see
/// [`crate::collections::threshold`]; the response says which: `threshold`,
/// `threshold_source`, `gallery_faces`) and `limit` (persons, default 10, at most 100). Each hit has
/// `person_id`, `person_image_id`, cosine `similarity`, calibrated `confidence` and the person's
/// `meta_data`; `match` is true when any hit reaches the threshold (it always does when present).
async fn search(
    State(st): State<AppState>,
    actor: Actor,
    Path(cid): Path<String>,
    q: QueryPairs,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Value>> {
    let c = load::<CollectionRow>(&st, &actor, path_id(&cid)?, Action::Read).await?;
    let explicit = match q.get("threshold") {
        None => None,
        Some(t) => Some(
            t.trim()
                .parse::<f32>()
                .ok()
                .filter(|t| (0.0..=1.0).contains(t))
                .ok_or_else(|| ApiError::value("threshold must be a number between 0 and 1"))?,
        ),
    };
    let limit = q.int("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::value("limit must be between 1 and 100"));
    }
    let upload = read_photos(multipart(&headers, mp)?, &st).await?;
    if upload.files.len() != 1 {
        return Err(ApiError::value("Send exactly one photo to search with"));
    }
    let prepared = uploads::prepare(upload.files, &st.cfg).await?;
    let policy = face_policy(&st.store, &st.cfg, c.company_id).await?;
    let embedded = embed_photos(&st.inference, prepared, policy).await?;
    let calibration = st.inference.options().calibration;
    let explicit = match explicit {
        Some(confidence) => Some(Explicit {
            confidence,
            source: Source::Request,
        }),
        None => company_collection_threshold(&st, c.company_id)
            .await?
            .map(|confidence| Explicit {
                confidence,
                source: Source::Company,
            }),
    };
    let gallery_faces = st
        .collections
        .gallery_faces(&st.store, &[c.collection_id])
        .await
        .map_err(ApiError::internal)?;
    let applied = threshold::decide(
        &calibration,
        explicit,
        st.cfg.collection_threshold,
        st.cfg.collection_fpir,
        gallery_faces,
    );
    let min_similarity = applied.similarity;
    let hits = st
        .collections
        .search(
            &st.store,
            &[c.collection_id],
            &embedded[0].embedding,
            min_similarity,
            limit as usize,
        )
        .await
        .map_err(ApiError::internal)?;
    let mut metas: HashMap<Uuid, Value> = HashMap::new();
    for h in &hits {
        if let Some(p) = st.store.person_get(h.person_id).await? {
            metas.insert(p.person_id, p.meta_data);
        }
    }
    Ok(Json(view::search_result(
        c.collection_id,
        &embedded[0].face["face"],
        &hits,
        &calibration,
        &metas,
        applied.to_json(),
    )))
}

/// The company's explicit `collection_threshold` setting, if any.
async fn company_collection_threshold(
    st: &AppState,
    company: Option<Uuid>,
) -> ApiResult<Option<f32>> {
    let Some(company) = company else {
        return Ok(None);
    };
    Ok(st
        .store
        .company_settings(company)
        .await?
        .and_then(|s| s.get("collection_threshold").and_then(Value::as_f64))
        .map(|t| t as f32))
}
