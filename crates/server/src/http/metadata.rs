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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The metadata after a write: replaced by the body, the body merged in (`null` removes a key),
/// or emptied. Not yet checked against the limits.
fn updated(verb: Verb, current: Value, body: Option<Value>) -> ApiResult<Value> {
    Ok(match verb {
        Verb::Get => current,
        Verb::Replace => Value::Object(body_object(body)?),
        Verb::Merge => {
            let mut current = match current {
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
    })
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
        verb => updated(verb, owner.meta_data, body)?,
    };
    crate::metadata::check(&new, "meta_data")?;
    st.store.meta_set(target, id, &new).await?;
    if verb == Verb::Clear {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(new).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            "[a-z\u{0}]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("meta_data|[a-c]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Replace, merge and clear on any current metadata and any body: the documented result, or
    /// error 3 for a body that is not an object; what is stored is then checked against the
    /// limits (error 4).
    #[test]
    fn writes_follow_the_documented_verbs() {
        let cases = proptest::test_runner::Config::with_cases(512);
        proptest!(cases, |(current in value(), body in prop::option::of(value()))| {
            let fields = match &body {
                Some(Value::Object(m)) if m.len() == 1 && m.get("meta_data").is_some_and(Value::is_object) => {
                    m["meta_data"].as_object().cloned()
                }
                Some(Value::Object(m)) => Some(m.clone()),
                _ => None,
            };
            for verb in [Verb::Replace, Verb::Merge, Verb::Clear] {
                let got = updated(verb, current.clone(), body.clone());
                let Some(fields) = fields.clone().filter(|_| verb != Verb::Clear) else {
                    match got {
                        Ok(v) => prop_assert!(verb == Verb::Clear && v.as_object().is_some_and(|o| o.is_empty())),
                        Err(e) => prop_assert_eq!(e.code, crate::errors::Code::InvalidStructure),
                    }
                    continue;
                };
                let got = got.unwrap();
                let m = got.as_object().unwrap();
                for (k, v) in &fields {
                    prop_assert_eq!(m.get(k), (!v.is_null() || verb == Verb::Replace).then_some(v));
                }
                if verb == Verb::Merge {
                    for (k, v) in current.as_object().into_iter().flatten() {
                        if !fields.contains_key(k) {
                            prop_assert_eq!(m.get(k), Some(v));
                        }
                    }
                } else {
                    prop_assert_eq!(m.len(), fields.len());
                }
                if let Err(e) = crate::metadata::check(&got, "meta_data") {
                    prop_assert_eq!(e.code, crate::errors::Code::InvalidValue);
                }
            }
        });
    }
}
