//! `/api/users/…`: accounts with Oz roles and `can_start_analysis_*` flags.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use uuid::Uuid;

use super::access::load;
use super::client_addr::ClientAddr;
use super::{page, path_id, ApiJson, QueryPairs};
use crate::app::AppState;
use crate::auth::policy::{authorize, list_scope, Action, Object, Resource};
use crate::auth::{passwords, Actor, Role};
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::users::{CompanyField, ListFilter, User, UserFields};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list).post(create))
        .route("/api/users/me", get(me))
        .route(
            "/api/users/{user_id}",
            get(read).patch(update).delete(remove),
        )
}

fn string(body: &Value, key: &str) -> ApiResult<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::new(
            Code::InvalidType,
            format!("{key} must be a string"),
        )),
    }
}

fn boolean(body: &Value, keys: &[&str]) -> ApiResult<Option<bool>> {
    for key in keys {
        match body.get(*key) {
            None | Some(Value::Null) => continue,
            Some(Value::Bool(b)) => return Ok(Some(*b)),
            Some(_) => {
                return Err(ApiError::new(
                    Code::InvalidType,
                    format!("{key} must be true or false"),
                ))
            }
        }
    }
    Ok(None)
}

/// Read the user fields of a create/update body. Accepts the API ≥ 6.0 flag names and the older
/// `can_start_analyse_*` / `can_start_analyze_*` spellings, and `is_admin` / `is_service` (≤ 5.3).
fn fields(body: &Value) -> ApiResult<UserFields> {
    if !body.is_object() {
        return Err(ApiError::structure("The body must be a JSON object"));
    }
    let mut f = UserFields {
        email: string(body, "email")?,
        first_name: string(body, "first_name")?,
        last_name: string(body, "last_name")?,
        middle_name: string(body, "middle_name")?,
        is_active: boolean(body, &["is_active"])?,
        ..UserFields::default()
    };
    if let Some(email) = &f.email {
        crate::text::email("email", email)?;
    }
    for (key, value) in [
        ("first_name", &f.first_name),
        ("last_name", &f.last_name),
        ("middle_name", &f.middle_name),
    ] {
        if let Some(v) = value {
            crate::text::line(key, v, crate::text::NAME_CHARS)?;
        }
    }
    if let Some(pw) = string(body, "password")? {
        // Hashing is deliberately slow: a long password must not make it slower still.
        crate::text::line("password", &pw, crate::text::PASSWORD_CHARS)?;
        if pw.chars().count() < 8 {
            return Err(ApiError::value("password must have at least 8 characters"));
        }
        f.password_hash = Some(passwords::hash(&pw).map_err(ApiError::internal)?);
    }
    let is_service = boolean(body, &["is_service"])? == Some(true);
    let is_admin = boolean(body, &["is_admin"])? == Some(true);
    if let Some(t) = string(body, "user_type")? {
        let role = Role::parse(&t).ok_or_else(|| {
            ApiError::value(format!(
                "Unknown user_type '{t}'; one of: {}",
                Role::ALL
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        // API ≤ 5.3 had no CLIENT SERVICE / CLIENT ADMIN roles: a CLIENT with `is_service` or
        // `is_admin` (Oz's deployment README creates its service account so).
        f.user_type = Some(match role {
            Role::Client if is_service => Role::ClientService,
            Role::Client if is_admin => Role::ClientAdmin,
            other => other,
        });
    } else if is_service {
        f.user_type = Some(Role::ClientService);
    } else if is_admin {
        f.user_type = Some(Role::ClientAdmin);
    }
    match body.get("company_id") {
        None => {}
        Some(Value::Null) => f.company_id = CompanyField::Cleared,
        Some(Value::String(s)) => f.company_id = CompanyField::Set(path_id(s)?),
        Some(_) => {
            return Err(ApiError::new(
                Code::InvalidType,
                "company_id must be a UUID string",
            ))
        }
    }
    for (kind, slot) in [
        ("biometry", &mut f.can_start_analysis_biometry),
        ("quality", &mut f.can_start_analysis_quality),
        ("collection", &mut f.can_start_analysis_collection),
    ] {
        *slot = boolean(
            body,
            &[
                &format!("can_start_analysis_{kind}"),
                &format!("can_start_analyse_{kind}"),
                &format!("can_start_analyze_{kind}"),
            ],
        )?;
    }
    match body.get("meta_data") {
        None | Some(Value::Null) => {}
        Some(v @ Value::Object(_)) => {
            crate::metadata::check(v, "meta_data")?;
            f.meta_data = Some(v.clone())
        }
        Some(_) => return Err(ApiError::structure("meta_data must be an object")),
    }
    Ok(f)
}

/// ADMIN/OPERATOR belong to no company; client roles must belong to an existing one.
async fn settle_company(
    st: &AppState,
    role: Role,
    company: Option<Uuid>,
) -> ApiResult<Option<Uuid>> {
    if !role.is_client() {
        return Ok(None);
    }
    let Some(c) = company else {
        return Err(ApiError::value(format!(
            "company_id is required for user_type {}",
            role.as_str()
        )));
    };
    if st.store.company_get(c).await?.is_none() {
        return Err(ApiError::value("company_id names no company"));
    }
    Ok(Some(c))
}

/// An address already in use. Callers who may not see the account holding it (another company's)
/// learn only that the address cannot be used — not whose it is, nor that it is in another company:
/// they get the same words as for an address taken inside their own company.
fn email_taken(actor: &Actor, holder: &User) -> ApiError {
    let visible = authorize(
        actor,
        Action::Read,
        &Object::user(holder.user_id, holder.company_id, holder.user_type),
    )
    .is_ok();
    let message = if visible && actor.role == Role::Admin {
        "A user with this email already exists"
    } else {
        "This email address cannot be used for an account"
    };
    ApiError::new(Code::Conflict, message)
}

/// Changing one's own password needs the current one (a stolen session must not be enough to take
/// the account over). Wrong guesses count against the sign-in limiter of the account.
fn check_current_password(st: &AppState, user: &User, body: &Value, addr: &str) -> ApiResult<()> {
    let Some(current) = body
        .get("current_password")
        .or_else(|| body.get("old_password"))
        .and_then(Value::as_str)
    else {
        return Err(ApiError::structure(
            "Missing field: current_password (needed to change your own password)",
        ));
    };
    if let Some(wait) = st.limiter.blocked(&user.email, addr) {
        return Err(ApiError::new(
            Code::TooManyAttempts,
            "Too many failed password attempts; try again later",
        )
        .with_details(serde_json::json!({ "retry_after": wait })));
    }
    if !passwords::verify(current, &user.password_hash) {
        st.limiter.failed(&user.email, addr);
        return Err(ApiError::new(
            Code::Forbidden,
            "current_password is not the account's password",
        ));
    }
    Ok(())
}

async fn create(
    State(st): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let mut f = fields(&body)?;
    if f.email.is_none() {
        return Err(ApiError::structure("Missing field: email"));
    }
    if f.password_hash.is_none() {
        return Err(ApiError::structure("Missing field: password"));
    }
    let role = f.user_type.unwrap_or(Role::Client);
    // A company admin creates users in their own company unless told otherwise.
    let company = f.company_id.applied_to(if role.is_client() {
        actor.company_id
    } else {
        None
    });
    let target = Object::user(Uuid::nil(), company, role);
    authorize(&actor, Action::Create, &target)?;
    let company = settle_company(&st, role, company).await?;
    f.user_type = Some(role);
    f.company_id = company.into();
    if let Some(other) = st
        .store
        .user_by_email(f.email.as_deref().unwrap_or_default())
        .await?
    {
        return Err(email_taken(&actor, &other));
    }
    Ok((StatusCode::CREATED, Json(st.store.user_create(&f).await?)))
}

async fn list(State(st): State<AppState>, actor: Actor, q: QueryPairs) -> ApiResult<Json<Value>> {
    let (offset, limit) = q.paging()?;
    let user_type = match q.get("user_type") {
        Some(t) => Some(
            Role::parse(t).ok_or_else(|| ApiError::value(format!("Unknown user_type '{t}'")))?,
        ),
        None => None,
    };
    let filter = ListFilter {
        scope: list_scope(&actor, Resource::User),
        company_id: q.uuid("company_id")?,
        user_type,
        search_text: super::companies::search_text(q.get("search_text").or(q.get("email")))?,
        offset,
        limit,
    };
    let (items, total) = st.store.user_list(&filter).await?;
    Ok(page(items, total))
}

async fn me(State(st): State<AppState>, actor: Actor) -> ApiResult<Json<User>> {
    Ok(Json(
        load::<User>(&st, &actor, actor.user_id, Action::Read).await?,
    ))
}

async fn read(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        load::<User>(&st, &actor, path_id(&id)?, Action::Read).await?,
    ))
}

async fn update(
    State(st): State<AppState>,
    ClientAddr(client): ClientAddr,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<User>> {
    let user = load::<User>(&st, &actor, path_id(&id)?, Action::Update).await?;
    let mut f = fields(&body)?;
    let manages = f.user_type.is_some()
        || f.company_id != CompanyField::Unchanged
        || f.can_start_analysis_biometry.is_some()
        || f.can_start_analysis_quality.is_some()
        || f.can_start_analysis_collection.is_some()
        || f.is_active.is_some();
    if manages {
        let role = f.user_type.unwrap_or(user.user_type);
        let company = f.company_id.applied_to(user.company_id);
        authorize(
            &actor,
            Action::Manage,
            &Object::user(user.user_id, user.company_id, user.user_type),
        )?;
        authorize(
            &actor,
            Action::Manage,
            &Object::user(user.user_id, company, role),
        )?;
        f.company_id = settle_company(&st, role, company).await?.into();
    }
    if let Some(email) = &f.email {
        if let Some(other) = st.store.user_by_email(email).await? {
            if other.user_id != user.user_id {
                return Err(email_taken(&actor, &other));
            }
        }
    }
    let own = actor.user_id == user.user_id;
    if own && f.password_hash.is_some() {
        check_current_password(&st, &user, &body, &client.to_string())?;
    }
    let updated = st
        .store
        .user_update(user.user_id, &f, own.then_some(actor.session_id))
        .await?
        .ok_or_else(ApiError::unknown_object)?;
    Ok(Json(updated))
}

async fn remove(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let user = load::<User>(&st, &actor, path_id(&id)?, Action::Delete).await?;
    st.store.user_delete(user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
