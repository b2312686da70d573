//! `/api/companies/{id}/settings`: the per-company thresholds, face policy, default webhook URL
//! and webhook secret that steer analyses, and the web plugin's settings (`web_sdk`, see
//! [`crate::web_sdk`]) (ADMIN, or the company's CLIENT ADMIN).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{path_id, ApiJson};
use crate::analysis::order;
use crate::app::AppState;
use crate::auth::policy::{authorize, Action, Object};
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/companies/{company_id}/settings",
        get(read_settings).patch(update_settings),
    )
}

const SETTING_NUMBERS: &[&str] = &[
    "liveness_threshold",
    "biometry_threshold",
    "biometry_operator_threshold",
    "collection_threshold",
];

async fn company_for_settings(st: &AppState, actor: &Actor, id: &str) -> ApiResult<Uuid> {
    let id = path_id(id)?;
    st.store
        .company_get(id)
        .await?
        .ok_or_else(ApiError::unknown_object)?;
    authorize(actor, Action::Configure, &Object::company(id))?;
    Ok(id)
}

/// Settings with the defaults in force filled in, and the webhook secret (made on first read).
async fn settings_view(st: &AppState, company: Uuid) -> ApiResult<Value> {
    let secret = crate::webhooks::company_secret(st, company)
        .await
        .map_err(ApiError::internal)?;
    let s = st
        .store
        .company_settings(company)
        .await?
        .unwrap_or_else(|| json!({}));
    let cfg = &st.cfg;
    Ok(json!({
        "company_id": company,
        "liveness_threshold": s.get("liveness_threshold").cloned().unwrap_or(json!(cfg.liveness_threshold)),
        "biometry_threshold": s.get("biometry_threshold").cloned().unwrap_or(json!(cfg.biometry_threshold)),
        "biometry_operator_threshold": s.get("biometry_operator_threshold").cloned().unwrap_or(Value::Null),
        // Unset is null, not the server's floor: a client that saves back what it read must not
        // turn the gallery-size scaling off by writing a fixed 0.85.
        "collection_threshold": s.get("collection_threshold").cloned().unwrap_or(Value::Null),
        "collection_threshold_floor": (cfg.collection_threshold as f64 * 1e4).round() / 1e4,
        "face_policy": s.get("face_policy").cloned().unwrap_or(json!(cfg.face_policy)),
        "documents_unreadable": s.get("documents_unreadable").cloned().unwrap_or(json!(crate::domain::Resolution::OperatorRequired.as_str())),
        "resolution_endpoint": s.get("resolution_endpoint").cloned().unwrap_or(Value::Null),
        "webhook_secret": secret,
        "webhook_format": crate::views::WebhookFormat::of_settings(&s).as_str(),
        "web_sdk": crate::web_sdk::settings(cfg, &s),
    }))
}

async fn read_settings(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let company = company_for_settings(&st, &actor, &id).await?;
    Ok(Json(settings_view(&st, company).await?))
}

/// `PATCH /api/companies/{id}/settings`: thresholds (0..1, or null for the server default),
/// `resolution_endpoint` (http(s) URL or null), `webhook_format` (`oz` or `faceproof`),
/// `rotate_webhook_secret: true`.
async fn update_settings(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let company = company_for_settings(&st, &actor, &id).await?;
    let Value::Object(patch) = body else {
        return Err(ApiError::structure("settings must be a JSON object"));
    };
    let mut settings = st
        .store
        .company_settings(company)
        .await?
        .unwrap_or_else(|| json!({}));
    for (k, v) in patch {
        match k.as_str() {
            k if SETTING_NUMBERS.contains(&k) => match v.as_f64() {
                _ if v.is_null() => {
                    settings.as_object_mut().map(|o| o.remove(k));
                }
                Some(x) if (0.0..=1.0).contains(&x) => settings[k] = json!(x),
                _ => {
                    return Err(ApiError::value(format!(
                        "{k} must be a number between 0 and 1 (or null)"
                    )))
                }
            },
            "resolution_endpoint" => match v {
                Value::Null => {
                    settings.as_object_mut().map(|o| o.remove("resolution_endpoint"));
                }
                Value::String(s) => {
                    let url = order::check_url(&s)?;
                    crate::webhooks::check_allowed(&st.cfg, &url)?;
                    settings[k.as_str()] = json!(url);
                }
                _ => return Err(ApiError::value("resolution_endpoint must be a URL or null")),
            },
            "face_policy" => match v {
                Value::Null => {
                    settings.as_object_mut().map(|o| o.remove("face_policy"));
                }
                Value::String(p) if p.parse::<crate::domain::FacePolicy>().is_ok() => {
                    settings["face_policy"] = json!(p);
                }
                _ => {
                    return Err(ApiError::value(
                        "face_policy must be \"dominant\" (bystanders allowed), \"strict\" (any second face declines) or null",
                    ))
                }
            },
            "documents_unreadable" => match v.as_str() {
                _ if v.is_null() => {
                    settings.as_object_mut().map(|o| o.remove("documents_unreadable"));
                }
                Some(r)
                    if matches!(
                        r.parse::<crate::domain::Resolution>(),
                        Ok(crate::domain::Resolution::OperatorRequired
                            | crate::domain::Resolution::Declined)
                    ) =>
                {
                    settings["documents_unreadable"] = json!(r);
                }
                _ => {
                    return Err(ApiError::value(
                        "documents_unreadable must be \"OPERATOR_REQUIRED\", \"DECLINED\" or null",
                    ))
                }
            },
            "web_sdk" => {
                let mut stored = settings.get("web_sdk").cloned().unwrap_or_else(|| json!({}));
                if v.is_null() {
                    stored = json!({});
                } else {
                    crate::web_sdk::apply_patch(&mut stored, &v)?;
                }
                // The plugin's blacklist must be one of this company's collections, checked now
                // rather than when a person's session ends.
                if let Some(id) = stored.get("collection_id").filter(|c| c.is_string()) {
                    crate::analysis::process_collection::check_params(
                        &st,
                        Some(company),
                        &json!({ "collection_id": id }),
                    )
                    .await?;
                }
                settings["web_sdk"] = stored;
            }
            "webhook_format" => match v.as_str().and_then(crate::views::WebhookFormat::parse) {
                Some(f) => settings["webhook_format"] = json!(f.as_str()),
                None => {
                    return Err(ApiError::value(format!(
                        "webhook_format must be one of {}",
                        crate::views::WebhookFormat::NAMES.join(", ")
                    )))
                }
            },
            "rotate_webhook_secret" => {
                if v == json!(true) {
                    settings["webhook_secret"] = json!(crate::webhooks::new_secret());
                }
            }
            other => {
                return Err(ApiError::value(format!(
                    "Unknown setting '{other}' (liveness_threshold, biometry_threshold, \
                     biometry_operator_threshold, collection_threshold, face_policy, documents_unreadable, resolution_endpoint, \
                     webhook_format, rotate_webhook_secret, web_sdk)"
                )))
            }
        }
    }
    st.store.company_set_settings(company, &settings).await?;
    Ok(Json(settings_view(&st, company).await?))
}
