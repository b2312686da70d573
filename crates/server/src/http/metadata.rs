//! Metadata of users, folders, media, analyses and collections, under both `/meta_data` and
//! `/metadata`:
//! - `GET` returns the metadata object;
//! - `POST` replaces the whole object with the body;
//! - `PATCH` merges the body into it (a key set to `null` is removed);
//! - `DELETE` empties it (204).
//!
//! The body is the metadata object itself; `{"meta_data": {...}}` is accepted too.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{path_id, ApiJson};
use crate::app::AppState;
use crate::auth::policy::{authorize, authorize_collection_role, Action, Object};
use crate::auth::{Actor, Role};
use crate::errors::{ApiError, ApiResult};
use crate::store::metadata::MetaTarget;

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for (prefix, target) in [
        ("/api/users/{user_id}", MetaTarget::User),
        ("/api/folders/{folder_id}", MetaTarget::Folder),
        ("/api/media/{media_id}", MetaTarget::Media),
        ("/api/analyses/{analysis_id}", MetaTarget::Analysis),
        ("/api/collections/{collection_id}", MetaTarget::Collection),
    ] {
        for suffix in ["meta_data", "metadata"] {
            let path = format!("{prefix}/{suffix}");
            r = r.route(
                &path,
                get(move |st: St, a: Actor, p: Id| handle(st, a, p, target, Verb::Get, None))
                    .post(move |st: St, a: Actor, p: Id, ApiJson(b): ApiJson<Value>| {
                        handle(st, a, p, target, Verb::Replace, Some(b))
                    })
                    .patch(move |st: St, a: Actor, p: Id, ApiJson(b): ApiJson<Value>| {
                        handle(st, a, p, target, Verb::Merge, Some(b))
                    })
                    .delete(move |st: St, a: Actor, p: Id| {
                        handle(st, a, p, target, Verb::Clear, None)
                    }),
            );
        }
    }
    r
}

type St = State<AppState>;
type Id = Path<String>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Replace,
    Merge,
    Clear,
}

fn body_object(body: Option<Value>) -> ApiResult<serde_json::Map<String, Value>> {
    match body {
        Some(Value::Object(mut m)) => {
            if m.len() == 1 && m.get("meta_data").is_some_and(Value::is_object) {
                if let Some(Value::Object(inner)) = m.remove("meta_data") {
                    return Ok(inner);
                }
            }
            Ok(m)
        }
        _ => Err(ApiError::structure(
            "The metadata body must be a JSON object",
        )),
    }
}

async fn handle(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    target: MetaTarget,
    verb: Verb,
    body: Option<Value>,
) -> ApiResult<Response> {
    let id = path_id(&id)?;
    let action = if verb == Verb::Get {
        Action::Read
    } else {
        Action::Update
    };
    if target == MetaTarget::Collection {
        // As on every collection endpoint: the role first, before the id is looked up.
        authorize_collection_role(&actor, action)?;
    }
    let owner = st
        .store
        .meta_owner(target, id)
        .await?
        .ok_or_else(ApiError::unknown_object)?;
    let object = match target {
        MetaTarget::User => {
            let role = owner
                .role
                .as_deref()
                .and_then(Role::parse)
                .unwrap_or(Role::Client);
            Object::user(id, owner.company_id, role)
        }
        MetaTarget::Collection => Object::collection(owner.company_id),
        _ => Object::folder(owner.company_id, owner.owner_id),
    };
    authorize(&actor, action, &object)?;
    let new = match verb {
        Verb::Get => return Ok(Json(owner.meta_data).into_response()),
        Verb::Replace => Value::Object(body_object(body)?),
        Verb::Merge => {
            let mut current = match owner.meta_data {
                Value::Object(m) => m,
                _ => Default::default(),
            };
            for (k, v) in body_object(body)? {
                if v.is_null() {
                    current.remove(&k);
                } else {
                    current.insert(k, v);
                }
            }
            Value::Object(current)
        }
        Verb::Clear => json!({}),
    };
    crate::metadata::check(&new, "meta_data")?;
    st.store.meta_set(target, id, &new).await?;
    if verb == Verb::Clear {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(new).into_response())
}
