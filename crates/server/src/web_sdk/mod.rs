//! The web plugin's server side (the Oz "Web Adapter"): its settings (server-wide defaults in the
//! configuration, replaced per company by the `web_sdk` object of the company settings), the
//! actions and the media tags each produces, the server-chosen gesture challenge of action
//! `auto` (1–3 gestures performed in order in ONE capture, tagged with the gestures in that
//! order, which QUALITY checks as a sequence), the page-origin check, and the result views of
//! `result_mode`.
//!
//! The browser decides nothing: it is told which actions to perform, it uploads what it
//! captured, and it is shown a view of the verdict that exists only here.
//!
//! - [`session`] — tokens, starting a session, looking a started one up, its result;
//! - [`capture`] — guidance frames, storing captures, the analyses a submitted session orders;
//! - [`tokenless`] — a session started without a token, where a company allows that;
//! - [`handoff`] — a session continued on a phone (a QR code of a one-time link).
//!
//! The plugin's HTTP endpoints (`http/web_sdk.rs`) only read requests, check the page's origin
//! and answer with CORS headers; everything they decide is here.

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub mod capture;
pub mod handoff;
pub mod session;
pub mod tokenless;

use crate::config::Config;
use crate::domain::{AnalysisState, Resolution};
use crate::errors::{ApiError, ApiResult};

/// The actions the plugin can perform (Oz Web SDK §4) and that the server can check.
pub const ACTIONS: &[&str] = &[
    "photo_id_front",
    "photo_id_back",
    "photo_selfie",
    "video_selfie_left",
    "video_selfie_right",
    "video_selfie_down",
    "video_selfie_high",
    "video_selfie_smile",
    "video_selfie_eyes",
    "video_selfie_scan",
    "video_selfie_blank",
    "video_selfie_best",
];

/// The gestures action `auto` draws from (1–3 of them, distinct, in random order). Blinks and
/// scans are left out: a blink is too short to be sure of at the plugin's frame rate.
pub const AUTO_GESTURES: &[&str] = &[
    "video_selfie_left",
    "video_selfie_right",
    "video_selfie_down",
    "video_selfie_high",
    "video_selfie_smile",
];

pub const ARCHITECTURES: &[&str] = &["normal", "capture"];
pub const RESULT_MODES: &[&str] = &["safe", "status", "folder", "full"];
/// Language packs built into the plugin.
pub const LANGUAGES: &[&str] = &["en", "ru", "es", "pt-BR", "tr"];

/// The plugin settings in force for a company.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Settings {
    pub allowed_origins: Vec<String>,
    pub architecture: String,
    pub result_mode: String,
    pub actions_default: Vec<String>,
    pub actions_default_importance: bool,
    pub lang_allow: Vec<String>,
    pub lang_default: String,
    /// QUALITY keeps the best frame of each capture.
    pub extract_best_shot: bool,
    /// A collection (blacklist) of the company: when set, each session's selfie captures are
    /// searched in it (COLLECTION, on each capture's best face).
    pub collection_id: Option<String>,
    /// Captures a session may take in all (the first one included) when a capture is not
    /// usable: gesture not seen, face lost, too few usable frames. 1 = no retry.
    pub max_attempts: i64,
    /// false: a page of one of `allowed_origins` (listed by name, not `*`) may start a session
    /// without a session token, as the company's CLIENT SERVICE user (see
    /// [`tokenless`]).
    pub require_session_token: bool,
}

/// The default of `web_sdk.max_attempts`.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 3;
/// The largest `web_sdk.max_attempts` a company may set: each attempt is another chance for a
/// replay to meet a challenge it can follow.
pub const MAX_ATTEMPTS_LIMIT: i64 = 10;

fn one_of(what: &str, v: &str, allowed: &[&str]) -> ApiResult<String> {
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(ApiError::value(format!(
            "{what} must be one of {}",
            allowed.join(", ")
        )))
    }
}

/// `scheme://host[:port]`, lower-cased, no path; or `*`.
pub fn normalize_origin(o: &str) -> Option<String> {
    let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
    if o == "*" {
        return Some(o);
    }
    let (scheme, rest) = o.split_once("://")?;
    if !(scheme == "http" || scheme == "https") || rest.is_empty() || rest.contains('/') {
        return None;
    }
    if rest.chars().any(|c| c.is_whitespace() || c == '@') {
        return None;
    }
    Some(o)
}

fn actions_list(what: &str, v: &[String]) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for a in v {
        if a != "auto" {
            one_of(what, a, ACTIONS)?;
        }
        out.push(a.clone());
    }
    if out.is_empty() {
        return Err(ApiError::value(format!(
            "{what} must name at least one action"
        )));
    }
    Ok(out)
}

/// Refuse a configuration the plugin could not work with (at start-up).
pub fn check_config(c: &Config) -> anyhow::Result<()> {
    let e = |e: ApiError| anyhow::anyhow!("web_sdk settings: {}", e.message);
    one_of(
        "web_sdk_architecture",
        &c.web_sdk_architecture,
        ARCHITECTURES,
    )
    .map_err(e)?;
    one_of("web_sdk_result_mode", &c.web_sdk_result_mode, RESULT_MODES).map_err(e)?;
    actions_list("web_sdk_actions", &c.web_sdk_actions).map_err(e)?;
    for l in &c.web_sdk_languages {
        one_of("web_sdk_languages", l, LANGUAGES).map_err(e)?;
    }
    one_of("web_sdk_lang_default", &c.web_sdk_lang_default, LANGUAGES).map_err(e)?;
    for o in &c.web_sdk_allowed_origins {
        if normalize_origin(o).is_none() {
            anyhow::bail!("web_sdk_allowed_origins: {o:?} is not scheme://host[:port] or *");
        }
    }
    if c.web_sdk_token_ttl_secs < 1
        || c.web_sdk_session_ttl_secs < 1
        || c.web_sdk_handoff_ttl_secs < 1
    {
        anyhow::bail!("web_sdk TTLs must be at least one second");
    }
    Ok(())
}

/// The settings in force: the company's `web_sdk` object over the server's defaults.
pub fn settings(cfg: &Config, company_settings: &Value) -> Settings {
    let c = company_settings
        .get("web_sdk")
        .cloned()
        .unwrap_or(json!({}));
    let strings = |k: &str| -> Option<Vec<String>> {
        c.get(k)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    };
    let string = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    Settings {
        allowed_origins: strings("allowed_origins").unwrap_or_else(|| {
            cfg.web_sdk_allowed_origins
                .iter()
                .filter_map(|o| normalize_origin(o))
                .collect()
        }),
        architecture: string("architecture").unwrap_or_else(|| cfg.web_sdk_architecture.clone()),
        result_mode: string("result_mode").unwrap_or_else(|| cfg.web_sdk_result_mode.clone()),
        actions_default: strings("actions_default").unwrap_or_else(|| cfg.web_sdk_actions.clone()),
        actions_default_importance: c
            .get("actions_default_importance")
            .and_then(Value::as_bool)
            .unwrap_or(cfg.web_sdk_actions_default_importance),
        lang_allow: strings("lang_allow").unwrap_or_else(|| cfg.web_sdk_languages.clone()),
        lang_default: string("lang_default").unwrap_or_else(|| cfg.web_sdk_lang_default.clone()),
        extract_best_shot: c
            .get("extract_best_shot")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        collection_id: string("collection_id"),
        max_attempts: c
            .get("max_attempts")
            .and_then(Value::as_i64)
            .unwrap_or(DEFAULT_MAX_ATTEMPTS),
        require_session_token: c
            .get("require_session_token")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    }
}

/// Apply a `web_sdk` settings patch (each key: a value, or null for the server default) to the
/// company's stored `web_sdk` object; unknown keys and bad values → error 4.
pub fn apply_patch(stored: &mut Value, patch: &Value) -> ApiResult<()> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::value("web_sdk must be an object (or null)"));
    };
    if !stored.is_object() {
        *stored = json!({});
    }
    for (k, v) in patch {
        if v.is_null() {
            stored.as_object_mut().map(|o| o.remove(k));
            continue;
        }
        let strings = || -> ApiResult<Vec<String>> {
            serde_json::from_value(v.clone())
                .map_err(|_| ApiError::value(format!("web_sdk.{k} must be a list of strings")))
        };
        let string = || -> ApiResult<&str> {
            v.as_str()
                .ok_or_else(|| ApiError::value(format!("web_sdk.{k} must be a string")))
        };
        let value = match k.as_str() {
            "allowed_origins" => {
                let mut out = Vec::new();
                for o in strings()? {
                    out.push(normalize_origin(&o).ok_or_else(|| {
                        ApiError::value(format!(
                            "web_sdk.allowed_origins: {o:?} is not scheme://host[:port] or *"
                        ))
                    })?);
                }
                json!(out)
            }
            "architecture" => json!(one_of("web_sdk.architecture", string()?, ARCHITECTURES)?),
            "result_mode" => json!(one_of("web_sdk.result_mode", string()?, RESULT_MODES)?),
            "actions_default" => json!(actions_list("web_sdk.actions_default", &strings()?)?),
            "lang_allow" => {
                let l = strings()?;
                for x in &l {
                    one_of("web_sdk.lang_allow", x, LANGUAGES)?;
                }
                json!(l)
            }
            "lang_default" => json!(one_of("web_sdk.lang_default", string()?, LANGUAGES)?),
            "collection_id" => {
                let id = string()?;
                json!(uuid::Uuid::parse_str(id)
                    .map_err(|_| ApiError::value("web_sdk.collection_id must be a collection id"))?
                    .to_string())
            }
            "max_attempts" => match v.as_i64() {
                Some(n) if (1..=MAX_ATTEMPTS_LIMIT).contains(&n) => json!(n),
                _ => {
                    return Err(ApiError::value(format!(
                        "web_sdk.max_attempts must be a whole number from 1 to {MAX_ATTEMPTS_LIMIT}"
                    )))
                }
            },
            "actions_default_importance" | "extract_best_shot" | "require_session_token" => match v {
                Value::Bool(b) => json!(b),
                _ => return Err(ApiError::value(format!("web_sdk.{k} must be true or false"))),
            },
            other => {
                return Err(ApiError::value(format!(
                    "Unknown web_sdk setting '{other}' (allowed_origins, architecture, result_mode, \
                     actions_default, actions_default_importance, lang_allow, lang_default, extract_best_shot, \
                     collection_id, max_attempts, require_session_token)"
                )))
            }
        };
        stored[k.as_str()] = value;
    }
    Ok(())
}

/// Media problems that make a capture unusable rather than judged: the person is asked to take
/// it again. Never a spoof verdict: a capture scored as an attack is final and unexplained.
pub const RETRY_REASONS: &[&str] = &["gesture_not_performed", "no_face", "too_few_frames"];

/// Why the capture of an attempt must be taken again, from its finished analyses (Oz JSON, as
/// `GET …/analyses` shows them): the first QUALITY media error among [`RETRY_REASONS`] —
/// unless any media of the attempt was scored as an attack (`confidence_spoofing` at or above
/// its threshold), which stays a verdict. `None` while an analysis runs.
pub fn retry_reason(analyses: &[Value]) -> Option<&'static str> {
    let mut reason = None;
    for a in analyses {
        if a["state"] != AnalysisState::Finished {
            return None;
        }
        if !a["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("quality"))
        {
            continue;
        }
        for m in a["results_media"].as_array().into_iter().flatten() {
            let data = &m["results_data"];
            let spoof = data["confidence_spoofing"]
                .as_f64()
                .zip(data["threshold"].as_f64())
                .is_some_and(|(s, t)| s >= t);
            let code = m["error"]["code"].as_str();
            if spoof && code != Some("too_few_frames") {
                return None;
            }
            if reason.is_none() {
                reason = code.and_then(|c| RETRY_REASONS.iter().find(|r| **r == c).copied());
            }
        }
    }
    reason
}

/// May a page of `origin` run the plugin? The server's own origin always may; otherwise the
/// origin must be listed (or the list holds `*`).
pub fn origin_allowed(s: &Settings, origin: &str, own_origin: Option<&str>) -> bool {
    let Some(o) = normalize_origin(origin) else {
        return false;
    };
    if o == "*" {
        return false;
    }
    if own_origin.and_then(normalize_origin).as_deref() == Some(o.as_str()) {
        return true;
    }
    s.allowed_origins.iter().any(|a| a == "*" || *a == o)
}

/// One action of a session; `auto` carries the gestures drawn for it, in the order to perform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionAction {
    pub action: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gestures: Vec<String>,
}

impl SessionAction {
    fn plain(action: &str) -> Self {
        SessionAction {
            action: action.to_string(),
            gestures: Vec::new(),
        }
    }
}

/// A session's stored actions.
pub fn parse_actions(v: &Value) -> Vec<SessionAction> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// `n` distinct gestures drawn at random, `n` itself random in 1..=3.
pub fn draw_gestures() -> Vec<String> {
    let n = 1 + (OsRng.next_u32() % 3) as usize;
    let mut pool: Vec<&str> = AUTO_GESTURES.to_vec();
    let mut out = Vec::new();
    for _ in 0..n {
        let i = (OsRng.next_u32() as usize) % pool.len();
        out.push(pool.remove(i).to_string());
    }
    out
}

/// The actions of a session: the page's list unless the settings' list wins (or the page named
/// none); `auto` gets 1–3 random gestures, performed in one capture. Unknown actions → error 4.
pub fn resolve_actions(requested: Option<&Value>, s: &Settings) -> ApiResult<Vec<SessionAction>> {
    let page: Option<Vec<String>> = match requested {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) => Some(vec![a.clone()]),
        Some(v) => Some(
            serde_json::from_value::<Vec<String>>(v.clone())
                .map_err(|_| ApiError::structure("action must be a list of strings"))?,
        ),
    };
    let list = match page {
        Some(p) if !s.actions_default_importance && !p.is_empty() => p,
        _ => s.actions_default.clone(),
    };
    let list = actions_list("action", &list)?;
    let mut out: Vec<SessionAction> = Vec::new();
    for a in list {
        if out.iter().any(|x| x.action == a) {
            continue;
        }
        if a == "auto" {
            out.push(SessionAction {
                action: a,
                gestures: draw_gestures(),
            });
        } else {
            out.push(SessionAction::plain(&a));
        }
    }
    if out.len() > 8 {
        return Err(ApiError::value("at most 8 actions per session"));
    }
    Ok(out)
}

/// Photo actions capture one still; the others a short frame sequence.
pub fn is_photo(action: &str) -> bool {
    action.starts_with("photo_")
}

/// The media tags of an action's capture (Oz Web SDK §4), with the orientation of video captures.
/// An `auto` capture carries its gestures' tags in the order they are to be performed.
pub fn action_tags(a: &SessionAction, landscape: bool) -> Vec<String> {
    let action = a.action.as_str();
    let mut tags: Vec<String> = match action {
        "auto" => std::iter::once("video_selfie".to_string())
            .chain(a.gestures.iter().cloned())
            .collect(),
        "photo_id_front" => vec!["photo_id".into(), "photo_id_front".into()],
        "photo_id_back" => vec!["photo_id".into(), "photo_id_back".into()],
        "photo_selfie" => vec!["photo_selfie".into()],
        "video_selfie_best" => vec!["video_selfie".into(), "video_selfie_oneshot".into()],
        other => vec!["video_selfie".into(), other.to_string()],
    };
    if !is_photo(action) {
        tags.push(
            if landscape {
                "orientation_landscape"
            } else {
                "orientation_portrait"
            }
            .into(),
        );
    }
    tags
}

/// Seconds an `auto` capture opens with, the person looking at the camera: the resting pose the
/// gestures are measured from.
pub const AUTO_REST_SECONDS: f32 = 1.0;
/// Seconds an `auto` capture gives each gesture.
pub const AUTO_GESTURE_SECONDS: f32 = 2.5;
/// Frames per second the plugin records; with [`action_seconds`] it bounds a capture's length.
pub const CAPTURE_FPS: f32 = 8.0;
/// Seconds of rest the plugin records at the end of its countdown and sends with a video action
/// (`…_rest` frames): the person looking straight before the movement.
pub const REST_SECONDS: f32 = 1.25;

/// How long the plugin records each action (seconds); photos are one frame.
pub fn action_seconds(a: &SessionAction) -> f32 {
    match a.action.as_str() {
        "auto" => AUTO_REST_SECONDS + AUTO_GESTURE_SECONDS * a.gestures.len() as f32,
        a if is_photo(a) => 0.0,
        "video_selfie_blank" | "video_selfie_best" => 1.5,
        "video_selfie_scan" => 5.0,
        _ => 3.5,
    }
}

/// The plugin's view of a session's result under `mode` (Oz Web SDK §5.2). `analyses` are the
/// folder's analyses as Oz JSON; `folder` the folder's Oz JSON (used by `full` only).
pub fn result_view(
    mode: &str,
    submitted: bool,
    folder_id: Option<&str>,
    analyses: &[Value],
    folder: Option<&Value>,
) -> Value {
    let running = !submitted
        || analyses.is_empty()
        || analyses.iter().any(|a| {
            a["state"] == AnalysisState::Processing
                || a["state"] == "NEW"
                || a["resolution_status"] == Resolution::Processing
        });
    let state = if running { "processing" } else { "finished" };
    let mut v = json!({ "state": state });
    if mode == "safe" {
        return v;
    }
    let mut by_type = serde_json::Map::new();
    for a in analyses {
        let t = a["type"].as_str().unwrap_or("").to_ascii_lowercase();
        let finished = a["state"] == AnalysisState::Finished || a["state"] == AnalysisState::Failed;
        let resolution = if finished {
            a["resolution_status"]
                .as_str()
                .unwrap_or("")
                .to_ascii_lowercase()
        } else {
            String::new()
        };
        let mut entry = json!({
            "state": if finished { "finished" } else { "processing" },
            "resolution": resolution,
        });
        if mode == "full" && finished {
            entry["result_json"] = a.clone();
        }
        by_type.insert(t, entry);
    }
    v["analyses"] = Value::Object(by_type);
    if mode == "folder" || mode == "full" {
        v["folder_id"] = json!(folder_id);
    }
    if mode == "full" && !running {
        if let Some(f) = folder {
            v["folder"] = f.clone();
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AnalysisType;

    fn quality(media: Value) -> Value {
        json!({"type": AnalysisType::Quality, "state": AnalysisState::Finished, "results_media": [media]})
    }

    #[test]
    fn an_unusable_capture_is_a_retry_but_a_spoof_verdict_is_not() {
        let gesture = quality(
            json!({"results_data": {"confidence_spoofing": 0.1, "threshold": 0.5},
                                     "error": {"code": "gesture_not_performed"}}),
        );
        assert_eq!(retry_reason(&[gesture]), Some("gesture_not_performed"));
        let few = quality(
            json!({"results_data": {"confidence_spoofing": 0.7, "threshold": 0.5},
                                 "error": {"code": "too_few_frames"}}),
        );
        assert_eq!(retry_reason(&[few]), Some("too_few_frames"));
        // An attack that also failed its gesture: the verdict stands, unexplained.
        let spoof = quality(
            json!({"results_data": {"confidence_spoofing": 0.9, "threshold": 0.5},
                                   "error": {"code": "gesture_not_performed"}}),
        );
        assert_eq!(retry_reason(&[spoof]), None);
        let passed =
            quality(json!({"results_data": {"confidence_spoofing": 0.1, "threshold": 0.5}}));
        assert_eq!(retry_reason(&[passed]), None);
        let two_people = quality(json!({"results_data": {"confidence_spoofing": null},
                                        "error": {"code": "multiple_faces"}}));
        assert_eq!(retry_reason(&[two_people]), None);
        let running = json!({"type": AnalysisType::Quality, "state": AnalysisState::Processing});
        let gesture = quality(json!({"error": {"code": "no_face"}}));
        assert_eq!(
            retry_reason(std::slice::from_ref(&gesture)),
            Some("no_face")
        );
        assert_eq!(retry_reason(&[gesture, running]), None);
    }

    #[test]
    fn max_attempts_is_a_bounded_whole_number() {
        let mut stored = json!({});
        apply_patch(&mut stored, &json!({"max_attempts": 1})).unwrap();
        assert_eq!(stored["max_attempts"], 1);
        for bad in [json!(0), json!(11), json!(2.5), json!("3")] {
            assert!(apply_patch(&mut stored, &json!({ "max_attempts": bad })).is_err());
        }
    }

    #[test]
    fn auto_draws_one_to_three_distinct_gestures() {
        for _ in 0..200 {
            let g = draw_gestures();
            assert!((1..=3).contains(&g.len()));
            let mut d = g.clone();
            d.dedup();
            assert_eq!(d.len(), g.len());
            assert!(g.iter().all(|x| AUTO_GESTURES.contains(&x.as_str())));
        }
    }

    #[test]
    fn origins_are_checked_exactly() {
        let s = settings(
            &Config::default(),
            &json!({"web_sdk": {"allowed_origins": ["https://shop.example"]}}),
        );
        assert!(origin_allowed(&s, "https://shop.example", None));
        assert!(origin_allowed(&s, "HTTPS://shop.example/", None));
        assert!(!origin_allowed(&s, "https://shop.example.evil", None));
        assert!(!origin_allowed(&s, "http://shop.example", None));
        assert!(!origin_allowed(&s, "null", None));
        assert!(origin_allowed(
            &s,
            "http://127.0.0.1:8080",
            Some("http://127.0.0.1:8080")
        ));
    }

    #[test]
    fn actions_resolve_and_tag() {
        let s = settings(&Config::default(), &json!({}));
        assert_eq!(
            resolve_actions(None, &s).unwrap(),
            vec![SessionAction::plain("video_selfie_blank")]
        );
        assert!(resolve_actions(Some(&json!(["nope"])), &s).is_err());
        let a = resolve_actions(Some(&json!(["photo_id_front", "auto", "auto"])), &s).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0], SessionAction::plain("photo_id_front"));
        assert_eq!(a[1].action, "auto");
        assert!((1..=3).contains(&a[1].gestures.len()));
        assert_eq!(parse_actions(&json!(a)), a);
        let tags = action_tags(&a[1], true);
        assert_eq!(tags[0], "video_selfie");
        assert_eq!(tags[1..tags.len() - 1], a[1].gestures[..]);
        assert_eq!(tags.last().unwrap(), "orientation_landscape");
        assert_eq!(
            action_seconds(&a[1]),
            AUTO_REST_SECONDS + AUTO_GESTURE_SECONDS * a[1].gestures.len() as f32
        );
        assert_eq!(
            action_tags(&SessionAction::plain("video_selfie_left"), false),
            vec!["video_selfie", "video_selfie_left", "orientation_portrait"]
        );
        assert_eq!(
            action_tags(&SessionAction::plain("photo_id_back"), false),
            vec!["photo_id", "photo_id_back"]
        );
        let mut stored = json!({});
        apply_patch(
            &mut stored,
            &json!({"result_mode": "status", "allowed_origins": ["https://A.example/"]}),
        )
        .unwrap();
        assert_eq!(
            stored,
            json!({"result_mode": "status", "allowed_origins": ["https://a.example"]})
        );
        assert!(apply_patch(&mut stored, &json!({"result_mode": "everything"})).is_err());
        assert!(apply_patch(&mut stored, &json!({"nope": 1})).is_err());
    }
}
