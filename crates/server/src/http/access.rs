//! The one authorised loader: [`load`] fetches an object of a kind by id and hands it over only
//! if [`crate::auth::policy::authorize`] lets the actor do the action on it. Unknown objects and
//! objects the actor may not see answer 404 (error 10, so existence does not leak); a visible
//! object the role may not act on answers 403 (error 9) — the shapes of [`crate::errors`].
//!
//! Each kind says how it is fetched and what the policy needs to know of it ([`Guarded`]).

use std::future::Future;

use uuid::Uuid;

use crate::app::AppState;
use crate::auth::policy::{authorize, authorize_collection_role, Action, Denial, Object};
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult};
use crate::store::analyses::AnalysisRow;
use crate::store::collections::CollectionRow;
use crate::store::companies::Company;
use crate::store::folders::{FolderRow, MediaRow, Owner};
use crate::store::users::User;

/// An object handlers load by id.
pub trait Guarded: Sized {
    /// The object and what the policy knows of it, or `None` when there is no such object.
    fn fetch(
        st: &AppState,
        id: Uuid,
    ) -> impl Future<Output = ApiResult<Option<(Self, Object)>>> + Send;

    /// A check made before the object is looked up, for kinds whose access does not depend on
    /// the object (a refusal then does not reveal whether it exists).
    fn before(_actor: &Actor, _action: Action, _id: Uuid) -> Result<(), Denial> {
        Ok(())
    }
}

/// The object `id` of kind `T`, if `actor` may do `action` on it.
pub async fn load<T: Guarded>(
    st: &AppState,
    actor: &Actor,
    id: Uuid,
    action: Action,
) -> ApiResult<T> {
    T::before(actor, action, id)?;
    let (object, seen) = T::fetch(st, id)
        .await?
        .ok_or_else(ApiError::unknown_object)?;
    authorize(actor, action, &seen)?;
    Ok(object)
}

/// Media and analyses are guarded as the folder that holds them.
fn in_folder(owner: &Owner) -> Object {
    Object::folder(owner.company_id, owner.user_id)
}

impl Guarded for FolderRow {
    async fn fetch(st: &AppState, id: Uuid) -> ApiResult<Option<(Self, Object)>> {
        Ok(st.store.folder_get(id).await?.map(|f| {
            let o = Object::folder(f.company_id, f.user_id);
            (f, o)
        }))
    }
}

impl Guarded for MediaRow {
    async fn fetch(st: &AppState, id: Uuid) -> ApiResult<Option<(Self, Object)>> {
        Ok(st
            .store
            .media_get(id)
            .await?
            .map(|(m, owner)| (m, in_folder(&owner))))
    }
}

impl Guarded for AnalysisRow {
    async fn fetch(st: &AppState, id: Uuid) -> ApiResult<Option<(Self, Object)>> {
        Ok(st
            .store
            .analysis_get(id)
            .await?
            .map(|(a, owner)| (a, in_folder(&owner))))
    }
}

impl Guarded for User {
    async fn fetch(st: &AppState, id: Uuid) -> ApiResult<Option<(Self, Object)>> {
        Ok(st.store.user_get(id).await?.map(|u| {
            let o = Object::user(u.user_id, u.company_id, u.user_type);
            (u, o)
        }))
    }
}

impl Guarded for Company {
    async fn fetch(st: &AppState, id: Uuid) -> ApiResult<Option<(Self, Object)>> {
        Ok(st
            .store
            .company_get(id)
            .await?
            .map(|c| (c, Object::company(id))))
    }

    /// Unknown and invisible companies answer the same.
    fn before(actor: &Actor, action: Action, id: Uuid) -> Result<(), Denial> {
        authorize(actor, action, &Object::company(id))
    }
}

impl Guarded for CollectionRow {
    async fn fetch(st: &AppState, id: Uuid) -> ApiResult<Option<(Self, Object)>> {
        Ok(st.store.collection_get(id).await?.map(|c| {
            let o = Object::collection(c.company_id);
            (c, o)
        }))
    }

    /// Roles without access to collections are refused (403) before any lookup.
    fn before(actor: &Actor, action: Action, _id: Uuid) -> Result<(), Denial> {
        authorize_collection_role(actor, action)
    }
}
