//! Placing an order: the `POST /api/folders/{id}/analyses/` body (also the `analyses` of a
//! single-request payload) parsed and validated, authorized for the actor, planned against the
//! folder's media (which media each analysis takes), stored as analyses + jobs in one
//! transaction, and the workers woken. Also the thresholds in force for a job.
//!
//! ```json
//! { "analyses": [ { "type": "quality", "source_media": ["<media_id>"],
//!                   "params": { "extract_best_shot": true, "threshold_spoofing": 0.4 } },
//!                 { "type": "biometry", "params": { "threshold_min": 0.7, "threshold_max": 0.9 } } ],
//!   "resolution_endpoint": "https://example.com/hook" }
//! ```
//!
//! Request parameters (all optional): QUALITY `extract_best_shot` (bool), `threshold_spoofing`;
//! BIOMETRY `threshold_min` (below ⇒ DECLINED), `threshold_max` (at or above ⇒ SUCCESS; between ⇒
//! OPERATOR_REQUIRED); COLLECTION `collection_id`/`collection_ids`, `threshold` (alias
//! `decision_threshold`), `decision_count` (most matches reported). Thresholds sent at the top
//! level of the body apply to every analysis that does not set its own.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{takes, AnalysisType, Thresholds};
use crate::app::AppState;
use crate::auth::policy::{authorize, Action, AnalysisKind, Flags, Object};
use crate::auth::Actor;
use crate::collections::threshold::{Explicit, Source};
use crate::config::Config;
use crate::domain::{AnalysisState, FacePolicy, Resolution};
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::analyses::AnalysisRow;
use crate::store::folders::{FolderRow, MediaRow};
use crate::store::now_us;
use crate::uploads::Payload;

#[derive(Debug, Clone)]
pub struct Requested {
    pub kind: AnalysisType,
    pub source_media: Option<Vec<Uuid>>,
    pub params: Value,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub items: Vec<Requested>,
    pub resolution_endpoint: Option<String>,
}

impl Requested {
    /// An analysis of `kind` on every folder media it takes, with no parameters: the server's own
    /// orders (the web plugin's) are built from these, not parsed from JSON.
    pub fn new(kind: AnalysisType) -> Self {
        Requested {
            kind,
            source_media: None,
            params: Value::Object(Map::new()),
        }
    }

    /// On these media only.
    pub fn on(mut self, media: Vec<Uuid>) -> Self {
        self.source_media = Some(media);
        self
    }

    /// With one request parameter (the keys of the module doc).
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params[key] = value.into();
        self
    }
}

impl Order {
    /// These analyses, no webhook.
    pub fn new(items: Vec<Requested>) -> Self {
        Order {
            items,
            resolution_endpoint: None,
        }
    }
}

const THRESHOLD_KEYS: &[&str] = &[
    "threshold_spoofing",
    "threshold_min",
    "threshold_max",
    "threshold",
    "decision_threshold",
];

/// A webhook URL must be absolute http(s).
pub fn check_url(url: &str) -> ApiResult<String> {
    let u = url.trim();
    let ok = (u.starts_with("http://") || u.starts_with("https://"))
        && u.len() > "https://".len()
        && !u.contains(char::is_whitespace);
    if ok {
        Ok(u.to_string())
    } else {
        Err(ApiError::value(format!(
            "resolution_endpoint must be an http:// or https:// URL, got '{url}'"
        )))
    }
}

fn check_params(kind: AnalysisType, params: &Map<String, Value>) -> ApiResult<()> {
    for (k, v) in params {
        if THRESHOLD_KEYS.contains(&k.as_str()) {
            match v.as_f64() {
                Some(x) if (0.0..=1.0).contains(&x) => {}
                _ => {
                    return Err(ApiError::new(
                        Code::InvalidValue,
                        format!("params.{k} must be a number between 0 and 1"),
                    ))
                }
            }
        }
    }
    if let Some(v) = params.get("extract_best_shot") {
        if !v.is_boolean() {
            return Err(ApiError::new(
                Code::InvalidType,
                "params.extract_best_shot must be true or false",
            ));
        }
    }
    if let Some(v) = params.get("decision_count") {
        match v.as_u64() {
            Some(n) if (1..=100).contains(&n) => {}
            _ => {
                return Err(ApiError::value(
                    "params.decision_count must be an integer between 1 and 100",
                ))
            }
        }
    }
    if kind == AnalysisType::Biometry {
        let min = params.get("threshold_min").and_then(Value::as_f64);
        let max = params.get("threshold_max").and_then(Value::as_f64);
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                return Err(ApiError::value(
                    "params.threshold_min must not be above params.threshold_max",
                ));
            }
        }
    }
    Ok(())
}

/// `media_key` names a media of the upload by its form field (a single request's payload
/// cannot know the ids yet); other ids are parsed as they are.
fn parse_ids(
    v: &Value,
    what: &str,
    media_key: &dyn Fn(&str) -> Option<Uuid>,
) -> ApiResult<Vec<Uuid>> {
    let Value::Array(items) = v else {
        return Err(ApiError::structure(format!("{what} must be a list of ids")));
    };
    items
        .iter()
        .map(|item| {
            let s = match item {
                Value::String(s) => match media_key(s.as_str()) {
                    Some(id) => return Ok(id),
                    None => s.as_str(),
                },
                Value::Object(o) => o
                    .get("media_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::structure(format!("{what}: objects need media_id")))?,
                _ => return Err(ApiError::structure(format!("{what} must be a list of ids"))),
            };
            s.parse::<Uuid>().map_err(|_| {
                ApiError::new(
                    Code::InvalidType,
                    format!("{what}: '{s}' is not a valid id"),
                )
            })
        })
        .collect()
}

/// Parse the body (`{"analyses": [...]}`; a bare list is accepted too).
pub fn parse_order(body: &Value) -> ApiResult<Order> {
    let (list, top) = match body {
        Value::Array(list) => (list, Map::new()),
        Value::Object(o) => match o.get("analyses") {
            Some(Value::Array(list)) => (list, o.clone()),
            Some(_) => return Err(ApiError::structure("analyses must be a list")),
            None => return Err(ApiError::structure("the body needs an analyses list")),
        },
        _ => return Err(ApiError::structure("the body must be a JSON object")),
    };
    parse_analyses(list, &top, &|_: &str| None)
}

/// The order a single request or an Instant call carries in its upload's payload (`analyses`,
/// `resolution_endpoint`); a `source_media` entry may name a form field of that upload. `None`
/// when the payload orders nothing.
pub fn payload_order(payload: &Payload, media: &[MediaRow]) -> ApiResult<Option<Order>> {
    let Some(analyses) = &payload.analyses else {
        return Ok(None);
    };
    let Value::Array(list) = analyses else {
        return Err(ApiError::structure("analyses must be a list"));
    };
    let mut top = Map::new();
    if let Some(url) = &payload.resolution_endpoint {
        top.insert("resolution_endpoint".into(), url.clone());
    }
    let media_key = |key: &str| {
        media
            .iter()
            .find(|m| {
                m.technical_meta_data
                    .get("media_key")
                    .and_then(Value::as_str)
                    == Some(key)
            })
            .map(|m| m.media_id)
    };
    parse_analyses(list, &top, &media_key).map(Some)
}

/// The analyses of an order; `top` holds the body's other keys (thresholds for every analysis,
/// `resolution_endpoint`).
fn parse_analyses(
    list: &[Value],
    top: &Map<String, Value>,
    media_key: &dyn Fn(&str) -> Option<Uuid>,
) -> ApiResult<Order> {
    if list.is_empty() {
        return Err(ApiError::structure("analyses must not be empty"));
    }
    let mut resolution_endpoint = match top.get("resolution_endpoint") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(check_url(s)?),
        Some(_) => {
            return Err(ApiError::new(
                Code::InvalidType,
                "resolution_endpoint must be a string",
            ))
        }
    };
    let mut items = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let Value::Object(item) = item else {
            return Err(ApiError::structure(format!(
                "analyses[{i}] must be an object"
            )));
        };
        let type_name = item
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::structure(format!("analyses[{i}].type is required")))?;
        let kind = match AnalysisType::parse(type_name) {
            Some(k) => k,
            None => {
                return Err(ApiError::value(format!(
                    "analyses[{i}].type '{type_name}' is unknown (quality, biometry, collection, documents)"
                )))
            }
        };
        let mut params = match item.get("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(_) => {
                return Err(ApiError::structure(format!(
                    "analyses[{i}].params must be an object"
                )))
            }
        };
        for key in THRESHOLD_KEYS {
            if let (false, Some(v)) = (params.contains_key(*key), top.get(*key)) {
                params.insert(key.to_string(), v.clone());
            }
        }
        if let Some(url) = params.remove("resolution_endpoint") {
            match url {
                Value::String(s) => resolution_endpoint = Some(check_url(&s)?),
                Value::Null => {}
                _ => {
                    return Err(ApiError::new(
                        Code::InvalidType,
                        "resolution_endpoint must be a string",
                    ))
                }
            }
        }
        check_params(kind, &params)?;
        let source_media = match item.get("source_media") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_ids(
                v,
                &format!("analyses[{i}].source_media"),
                media_key,
            )?),
        };
        items.push(Requested {
            kind,
            source_media,
            params: Value::Object(params),
        });
    }
    Ok(Order {
        items,
        resolution_endpoint,
    })
}

/// The media an analysis will run on: the listed ones (which must be in the folder) or all,
/// keeping those the type takes. Too few ⇒ error 4, before anything is stored.
pub fn select_media(req: &Requested, media: &[MediaRow]) -> ApiResult<Vec<Uuid>> {
    let candidates: Vec<&MediaRow> = match &req.source_media {
        None => media.iter().collect(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                media.iter().find(|m| m.media_id == *id).ok_or_else(|| {
                    ApiError::value(format!("source_media: media {id} is not in this folder"))
                })
            })
            .collect::<ApiResult<_>>()?,
    };
    let mut eligible: Vec<&&MediaRow> = candidates
        .iter()
        .filter(|m| takes(req.kind, m.media_kind, &m.tags))
        .collect();
    // DOCUMENTS reads the photos of the document when the folder tags any (`photo_id*`), not the
    // selfies beside them.
    if req.kind == AnalysisType::Documents && eligible.iter().any(|m| super::is_document(&m.tags)) {
        eligible.retain(|m| super::is_document(&m.tags));
    }
    let chosen: Vec<Uuid> = eligible.iter().map(|m| m.media_id).collect();
    match req.kind {
        AnalysisType::Quality if chosen.is_empty() => Err(ApiError::value(
            "QUALITY: no eligible media (photos, or videos tagged video_selfie*)",
        )
        .with_details(serde_json::json!({ "reason": "no_eligible_media" }))),
        AnalysisType::Biometry if chosen.len() < 2 => Err(ApiError::value(format!(
            "BIOMETRY needs at least two eligible media (photos or videos, not photo_id_back); this request has {}",
            chosen.len()
        ))
        .with_details(serde_json::json!({ "reason": "not_enough_media", "eligible": chosen.len() }))),
        AnalysisType::Documents if chosen.is_empty() => Err(ApiError::value(
            "DOCUMENTS: no eligible media (photos of the document)",
        )
        .with_details(serde_json::json!({ "reason": "no_eligible_media" }))),
        AnalysisType::Collection if chosen.is_empty() => Err(ApiError::value(
            "COLLECTION: no eligible media (photos or videos, not photo_id_back)",
        )
        .with_details(serde_json::json!({ "reason": "no_eligible_media" }))),
        _ => Ok(chosen),
    }
}

/// Build the rows of one order (one group), validated against the folder's media.
pub fn plan(
    order: &Order,
    media: &[MediaRow],
    folder_id: Uuid,
    user_id: Option<Uuid>,
) -> ApiResult<Vec<AnalysisRow>> {
    let group_id = Uuid::new_v4();
    let now = now_us();
    order
        .items
        .iter()
        .enumerate()
        .map(|(i, req)| {
            let source_media = select_media(req, media)?;
            Ok(AnalysisRow {
                analysis_id: Uuid::new_v4(),
                folder_id,
                group_id,
                user_id,
                kind: req.kind,
                state: AnalysisState::Processing,
                resolution_status: Resolution::Processing,
                params: req.params.clone(),
                source_media,
                results_media: Value::Array(Vec::new()),
                results_data: Value::Object(Map::new()),
                error: None,
                resolution_endpoint: order.resolution_endpoint.clone(),
                meta_data: Value::Object(Map::new()),
                // keep request order stable when sorting by time
                time_created: now + i as i64,
                time_updated: now + i as i64,
            })
        })
        .collect()
}

fn num(v: &Value, key: &str) -> Option<f32> {
    v.get(key).and_then(Value::as_f64).map(|x| x as f32)
}

/// Server default < company setting < request parameter (the collection default is not a
/// number here: it depends on the gallery searched).
pub fn thresholds(cfg: &Config, company: &Value, params: &Value) -> Thresholds {
    let liveness = num(params, "threshold_spoofing")
        .or_else(|| num(company, "liveness_threshold"))
        .unwrap_or(cfg.liveness_threshold);
    let company_max = num(company, "biometry_threshold").unwrap_or(cfg.biometry_threshold);
    // The company's review zone starts at `biometry_operator_threshold` (none by default).
    let company_min = num(company, "biometry_operator_threshold")
        .unwrap_or(company_max)
        .min(company_max);
    let biometry_max = num(params, "threshold_max").unwrap_or(company_max);
    let biometry_min = num(params, "threshold_min")
        .unwrap_or(company_min)
        .min(biometry_max);
    let collection = num(params, "threshold")
        .or_else(|| num(params, "decision_threshold"))
        .map(|confidence| Explicit {
            confidence,
            source: Source::Request,
        })
        .or_else(|| {
            num(company, "collection_threshold").map(|confidence| Explicit {
                confidence,
                source: Source::Company,
            })
        });
    let strict_faces = match company.get("face_policy").and_then(Value::as_str) {
        Some(p) => p.parse() == Ok(FacePolicy::Strict),
        None => cfg.strict_faces(),
    };
    let documents_unreadable = match company
        .get("documents_unreadable")
        .and_then(Value::as_str)
        .map(str::parse::<Resolution>)
    {
        Some(Ok(Resolution::Declined)) => Resolution::Declined,
        _ => Resolution::OperatorRequired,
    };
    Thresholds {
        liveness,
        biometry_min,
        biometry_max,
        collection,
        strict_faces,
        documents_unreadable,
    }
}

fn kind_of(t: AnalysisType) -> AnalysisKind {
    match t {
        AnalysisType::Quality => AnalysisKind::Quality,
        AnalysisType::Biometry => AnalysisKind::Biometry,
        AnalysisType::Collection => AnalysisKind::Collection,
        AnalysisType::Documents => AnalysisKind::Documents,
    }
}

/// May the actor start every analysis of the order on this folder (role and
/// `can_start_analysis_*` flags)?
pub async fn authorize_order(
    st: &AppState,
    actor: &Actor,
    folder: &FolderRow,
    order: &Order,
) -> ApiResult<()> {
    let user = st.store.user_get(actor.user_id).await?;
    let flags = user
        .map(|u| Flags {
            biometry: u.can_start_analysis_biometry,
            quality: u.can_start_analysis_quality,
            collection: u.can_start_analysis_collection,
        })
        .unwrap_or_default();
    for item in &order.items {
        let mut object = Object::folder(folder.company_id, folder.user_id);
        object.flags = flags;
        authorize(actor, Action::StartAnalysis(kind_of(item.kind)), &object)?;
    }
    Ok(())
}

/// Validate and store an order (analyses + jobs in one transaction); wake the workers unless the
/// caller runs the jobs itself (`wake_workers: false`, single request).
pub async fn place_order(
    st: &AppState,
    actor: &Actor,
    folder: &FolderRow,
    media: &[MediaRow],
    order: &Order,
    wake_workers: bool,
) -> ApiResult<Vec<AnalysisRow>> {
    authorize_order(st, actor, folder, order).await?;
    if let Some(url) = &order.resolution_endpoint {
        crate::webhooks::check_allowed(&st.cfg, url)?;
        // Webhooks are always signed: outside a company the server's secret signs them.
        if folder.company_id.is_none() && st.cfg.webhook_secret.is_none() {
            return Err(ApiError::value(
                "Webhooks for folders outside a company need the server's FACEPROOF_WEBHOOK_SECRET",
            ));
        }
    }
    for item in &order.items {
        if item.kind == AnalysisType::Collection {
            super::process_collection::check_params(st, folder.company_id, &item.params).await?;
        }
    }
    let rows = plan(order, media, folder.folder_id, Some(actor.user_id))?;
    st.store
        .analyses_create(&rows, st.cfg.job_max_attempts)
        .await?;
    for row in &rows {
        crate::telemetry::analyses_started(row.kind.as_str(), 1);
    }
    if wake_workers {
        for _ in &rows {
            st.wake.notify_one();
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn orders_are_validated() {
        let o = parse_order(&json!({"analyses":[{"type":"Quality","params":{"extract_best_shot":true}},{"type":"biometry"}],"threshold_spoofing":0.3})).unwrap();
        assert_eq!(o.items.len(), 2);
        assert_eq!(o.items[1].params["threshold_spoofing"], 0.3);
        assert_eq!(
            parse_order(&json!({})).unwrap_err().code,
            Code::InvalidStructure
        );
        assert_eq!(
            parse_order(&json!({"analyses":[{"type":"nope"}]}))
                .unwrap_err()
                .code,
            Code::InvalidValue
        );
        // Oz's iOS SDK orders documents with `capabilities`; accepted (finished as NOT_SUPPORTED).
        let docs =
            parse_order(&json!({"analyses":[{"type":"documents","params":{"capabilities":492}}]}))
                .unwrap();
        assert_eq!(docs.items[0].kind, AnalysisType::Documents);
        assert_eq!(
            parse_order(
                &json!({"analyses":[{"type":"quality","params":{"threshold_spoofing":2}}]})
            )
            .unwrap_err()
            .code,
            Code::InvalidValue
        );
        assert_eq!(
            parse_order(&json!({"analyses":[{"type":"quality","source_media":["x"]}]}))
                .unwrap_err()
                .code,
            Code::InvalidType
        );
        assert_eq!(
            parse_order(&json!({"analyses":[{"type":"quality"}],"resolution_endpoint":"ftp://x"}))
                .unwrap_err()
                .code,
            Code::InvalidValue
        );
    }

    #[test]
    fn thresholds_layer() {
        let cfg = Config::default();
        let t = thresholds(&cfg, &json!({}), &json!({}));
        assert_eq!(
            (t.liveness, t.biometry_min, t.biometry_max),
            (0.5, 0.85, 0.85)
        );
        let company = json!({"liveness_threshold": 0.4, "biometry_operator_threshold": 0.6});
        let t = thresholds(&cfg, &company, &json!({}));
        assert_eq!(
            (t.liveness, t.biometry_min, t.biometry_max),
            (0.4, 0.6, 0.85)
        );
        let t = thresholds(
            &cfg,
            &company,
            &json!({"threshold_spoofing": 0.2, "threshold_max": 0.9, "threshold_min": 0.7}),
        );
        assert_eq!(
            (t.liveness, t.biometry_min, t.biometry_max),
            (0.2, 0.7, 0.9)
        );
        // collection: none by default (scaled with the gallery), else company < request
        assert_eq!(thresholds(&cfg, &json!({}), &json!({})).collection, None);
        let company = json!({"collection_threshold": 0.9});
        assert_eq!(
            thresholds(&cfg, &company, &json!({})).collection,
            Some(Explicit {
                confidence: 0.9,
                source: Source::Company
            })
        );
        assert_eq!(
            thresholds(&cfg, &company, &json!({"threshold": 0.7})).collection,
            Some(Explicit {
                confidence: 0.7,
                source: Source::Request
            })
        );
    }
}
