//! `/api/companies/…`: ADMIN has full CRUD; everyone else reads their own company. Removing a
//! company with its data is [`crate::tenancy`]'s.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::access::load;
use super::{page, path_id, ApiJson, QueryPairs};
use crate::app::AppState;
use crate::auth::policy::{authorize, list_scope, Action, Object, Resource};
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::companies::{Company, ListFilter};
use crate::tenancy;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/companies", get(list).post(create))
        .route(
            "/api/companies/{company_id}",
            get(read).patch(update).delete(remove),
        )
}

fn name_of(body: &Value, required: bool) -> ApiResult<Option<String>> {
    match body.get("name") {
        None | Some(Value::Null) if required => Err(ApiError::structure("Missing field: name")),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => {
            crate::text::line("name", s.trim(), crate::text::TITLE_CHARS)?;
            Ok(Some(s.trim().to_string()))
        }
        Some(Value::String(_)) => Err(ApiError::value("name must not be empty")),
        Some(_) => Err(ApiError::new(
            crate::errors::Code::InvalidType,
            "name must be a string",
        )),
    }
}

/// A list's search text, within its limit.
pub(super) fn search_text(q: Option<&str>) -> ApiResult<Option<String>> {
    q.map(|t| {
        crate::text::line("search_text", t, crate::text::SEARCH_CHARS).map(|()| t.to_string())
    })
    .transpose()
}

fn meta_of(body: &Value) -> ApiResult<Option<Value>> {
    match body.get("meta_data") {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(_) => Err(ApiError::structure("meta_data must be an object")),
    }
}

async fn create(
    State(st): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Company>)> {
    authorize(
        &actor,
        Action::Create,
        &Object::new(Resource::Company, None, None),
    )?;
    let name = name_of(&body, true)?.unwrap_or_default();
    let meta = meta_of(&body)?.unwrap_or_else(|| serde_json::json!({}));
    let company = st.store.company_create(&name, &meta).await?;
    // New companies get Oz-shaped webhooks (the folder as `GET …?with_analyses=true` answers);
    // companies made before the setting keep the envelope (see `views::WebhookFormat`).
    st.store
        .company_set_settings(
            company.company_id,
            &serde_json::json!({
                "webhook_format": crate::views::WebhookFormat::Oz.as_str(),
                // made now, so concurrent first uses never race to create two keys
                "media_link_key": crate::webhooks::new_secret(),
            }),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(company)))
}

async fn list(State(st): State<AppState>, actor: Actor, q: QueryPairs) -> ApiResult<Json<Value>> {
    let (offset, limit) = q.paging()?;
    let filter = ListFilter {
        scope: list_scope(&actor, Resource::Company),
        search_text: search_text(q.get("search_text").or(q.get("name")))?,
        offset,
        limit,
    };
    let (items, total) = st.store.company_list(&filter).await?;
    Ok(page(items, total))
}

async fn read(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<Company>> {
    Ok(Json(
        load::<Company>(&st, &actor, path_id(&id)?, Action::Read).await?,
    ))
}

async fn update(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Company>> {
    let c = load::<Company>(&st, &actor, path_id(&id)?, Action::Update).await?;
    let name = name_of(&body, false)?;
    let meta = meta_of(&body)?;
    let updated = st
        .store
        .company_update(c.company_id, name.as_deref(), meta.as_ref())
        .await?;
    Ok(Json(updated.ok_or_else(ApiError::unknown_object)?))
}

/// `DELETE /api/companies/{id}`: refused (409) while the company holds users, folders or
/// collections, naming what it holds; `?cascade=true` removes all of it with the company.
async fn remove(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<StatusCode> {
    let c = load::<Company>(&st, &actor, path_id(&id)?, Action::Delete).await?;
    let cascade = match q.get("cascade") {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::value(format!(
                "cascade must be true or false, not '{other}'"
            )))
        }
    };
    let held = tenancy::holdings(&st, c.company_id).await?;
    if !cascade && !held.is_empty() {
        return Err(ApiError::new(
            Code::Conflict,
            format!(
                "The company still holds {} user(s), {} folder(s) and {} collection(s); \
                 delete them first, or delete the company with ?cascade=true to remove them all",
                held.users, held.folders, held.collections
            ),
        )
        .with_details(json!({
            "users": held.users,
            "folders": held.folders,
            "collections": held.collections,
        })));
    }
    tenancy::delete_company(&st, c.company_id)
        .await
        .map_err(ApiError::internal)?;
    Ok(StatusCode::NO_CONTENT)
}
