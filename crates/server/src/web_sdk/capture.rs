//! What a started session receives: guidance frames (the faces the server's detector sees, for
//! the live hints) and the captures of its actions — each checked against the action (its turn,
//! its kind, its length), stored as tagged media of the session's folder (made by the first), the
//! last one ordering the analyses.

use faceproof_engine::media::MediaKind;
use serde_json::{json, Value};
use uuid::Uuid;

use super::session::settings_of;
use super::Settings;
use crate::analysis::order::{place_order, Order, Requested};
use crate::analysis::AnalysisType;
use crate::app::AppState;
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::folders::{FolderRow, MediaRow};
use crate::store::now_us;
use crate::store::web_sdk::WebSdkSession;
use crate::uploads::{self, IncomingFile, Payload};

/// What a guidance frame asks for beyond the faces' boxes.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuidanceAsk {
    /// The largest face's five points (the capture architecture's per-frame landmarks).
    pub landmarks: bool,
    /// The largest face's "happy" probability (live progress toward a smile; the expression
    /// model is the pack's largest, so it runs only when asked).
    pub smile: bool,
}

/// The guidance for one frame (a JPEG or PNG) of a session not yet submitted: `{width, height,
/// faces: [{box: [x1, y1, x2, y2], score}], brightness, pose}` — `pose` is the largest face's
/// `{yaw, pitch, roll}` in degrees (the gesture check's model and signs; null without a face),
/// from which the plugin shows progress toward an asked movement — and, as `ask` says,
/// `landmarks` (the largest face's five points, frame pixels, or null) and `smile`.
pub async fn guidance(
    st: &AppState,
    s: &WebSdkSession,
    file: Option<IncomingFile>,
    ask: GuidanceAsk,
) -> ApiResult<Value> {
    if s.submitted_at.is_some() {
        return Err(ApiError::value("This session has been submitted"));
    }
    let file = file.ok_or_else(|| ApiError::value("a frame file is required"))?;
    guidance_rate(s.session_id)?;
    // A guidance frame is a camera frame: its size is checked from its header (413 past it)
    // before a pixel is decoded.
    let limits = faceproof_engine::media::Limits {
        max_dimension: GUIDANCE_MAX_SIDE,
        max_pixels: GUIDANCE_MAX_SIDE as u64 * GUIDANCE_MAX_SIDE as u64,
        ..crate::inference::upload_limits(&st.cfg)
    };
    st.inference
        .run("web_sdk_guidance", move |engine| -> ApiResult<Value> {
            let bytes = file.contents().map_err(ApiError::internal)?;
            let img =
                faceproof_engine::media::decode_image(&bytes, &limits).map_err(ApiError::from)?;
            let faces = engine.detect(&img).map_err(ApiError::from)?;
            let luma: u64 = img
                .pixels()
                .step_by(7)
                .map(|p| (p[0] as u64 * 299 + p[1] as u64 * 587 + p[2] as u64 * 114) / 1000)
                .sum();
            let n = (img.width() as u64 * img.height() as u64)
                .div_ceil(7)
                .max(1);
            // The five points of the Oz payload, for the largest face (detections come
            // largest first), placed on the detection above rather than a second one.
            let landmarks = match faces.first() {
                Some(largest) if ask.landmarks => engine
                    .five_landmarks(&img, largest)
                    .map_err(ApiError::from)?
                    .map(|points| points.map(|(x, y)| [x, y])),
                _ => None,
            };
            let pose = match faces.first() {
                Some(largest) => engine.head_pose(&img, largest).map_err(ApiError::from)?,
                None => None,
            };
            let smile = match faces.first() {
                Some(largest) if ask.smile => {
                    engine.smile(&img, largest).map_err(ApiError::from)?
                }
                _ => None,
            };
            let mut out = json!({
                "width": img.width(),
                "height": img.height(),
                "landmarks": landmarks,
                "pose": pose.map(|p| json!({"yaw": p.yaw, "pitch": p.pitch, "roll": p.roll})),
                "brightness": luma / n,
                "faces": faces.iter().map(|d| json!({
                    "box": [d.raw.x1, d.raw.y1, d.raw.x2, d.raw.y2],
                    "score": d.score,
                })).collect::<Vec<_>>(),
            });
            if ask.smile {
                out["smile"] = json!(smile);
            }
            Ok(out)
        })
        .await?
}

/// The largest side of a guidance frame (the plugin sends 320-pixel frames for hints and camera
/// frames, at most 1920×1080, to locate faces in recorded frames).
pub const GUIDANCE_MAX_SIDE: u32 = 2048;

/// Guidance frames one session may send in a burst, and how many a second after it.
pub const GUIDANCE_BURST: f64 = 60.0;
pub const GUIDANCE_PER_SECOND: f64 = 10.0;

/// Each session's guidance budget (a token bucket, per process: a session's frames go to the
/// server that started it or to any, and each server bounds its own work).
fn guidance_rate(session: Uuid) -> ApiResult<()> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::time::Instant;
    static BUCKETS: OnceLock<Mutex<HashMap<Uuid, (f64, Instant)>>> = OnceLock::new();
    let mut b = BUCKETS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if b.len() > 10_000 {
        // Sessions idle long enough to have refilled are as good as new: forget them.
        let full = std::time::Duration::from_secs_f64(GUIDANCE_BURST / GUIDANCE_PER_SECOND);
        b.retain(|_, (_, at)| now.duration_since(*at) < full);
    }
    let (tokens, at) = b.entry(session).or_insert((GUIDANCE_BURST, now));
    *tokens =
        (*tokens + now.duration_since(*at).as_secs_f64() * GUIDANCE_PER_SECOND).min(GUIDANCE_BURST);
    *at = now;
    if *tokens < 1.0 {
        return Err(ApiError::new(
            Code::TooManyAttempts,
            format!("Too many guidance frames: at most {GUIDANCE_PER_SECOND} a second per session"),
        )
        .with_details(json!({"reason": "guidance_rate"})));
    }
    *tokens -= 1.0;
    Ok(())
}

/// One action's capture as the plugin sends it.
pub struct Capture {
    /// The action it performs (required).
    pub action: Option<String>,
    pub landscape: bool,
    /// The client's `additional_info` (cleaned before it is stored).
    pub additional_info: Option<String>,
    /// A photo for photo actions; a ZIP of JPEG frames or a video for the others (required).
    pub file: Option<IncomingFile>,
}

/// How long a capture may hold its session's claim (a killed process's claim lapses then).
const CAPTURE_CLAIM_SECS: i64 = 600;

/// Store one capture of session `s`; the last of its actions submits the session and orders the
/// analyses. Answers `{uploaded, remaining, submitted}`. One capture of a session is stored at a
/// time: a capture sent while another is being stored is refused (409, `capture_in_progress`),
/// so that the session keeps one folder; the session is read again once claimed.
pub async fn store(st: &AppState, s: WebSdkSession, capture: Capture) -> ApiResult<Value> {
    if s.submitted_at.is_some() {
        return Err(ApiError::value("This session has been submitted"));
    }
    let id = s.session_id;
    if !st
        .store
        .web_sdk_claim_capture(id, now_us() + CAPTURE_CLAIM_SECS * 1_000_000)
        .await?
    {
        return Err(ApiError::new(
            Code::Conflict,
            "Another capture of this session is being stored: send the captures one at a time",
        )
        .with_details(json!({"reason": "capture_in_progress"})));
    }
    // Released below; if this request is dropped (the client hung up), by the guard.
    let mut claim = Claim(Some((st.store.clone(), id)));
    let result = match st.store.web_sdk_get(id).await {
        Ok(Some(fresh)) => store_claimed(st, fresh, capture).await,
        Ok(None) => Err(ApiError::unknown_object()),
        Err(e) => Err(e.into()),
    };
    claim.0 = None;
    st.store.web_sdk_release_capture(id).await?;
    result
}

/// A session's capture claim, released in the background when the request is dropped before
/// it could release it itself.
struct Claim(Option<(crate::store::Store, Uuid)>);

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some((store, id)) = self.0.take() {
            tokio::spawn(async move {
                if let Err(e) = store.web_sdk_release_capture(id).await {
                    tracing::warn!("releasing a plugin session's capture claim: {e}");
                }
            });
        }
    }
}

async fn store_claimed(st: &AppState, s: WebSdkSession, capture: Capture) -> ApiResult<Value> {
    if s.submitted_at.is_some() {
        return Err(ApiError::value("This session has been submitted"));
    }
    let actions = super::parse_actions(&s.actions);
    let action = capture
        .action
        .ok_or_else(|| ApiError::structure("action is required"))?;
    let Some(this) = actions.iter().find(|a| a.action == action).cloned() else {
        return Err(ApiError::value(format!(
            "action '{action}' is not one of this session's actions"
        )));
    };
    if s.uploaded.contains(&action) {
        return Err(ApiError::value(format!(
            "action '{action}' has been uploaded"
        )));
    }
    // The actions arrive in the order the server gave them (the challenge's order).
    if let Some(next) = actions.get(s.uploaded.len()).filter(|n| n.action != action) {
        return Err(ApiError::value(format!(
            "action '{action}' is out of order: '{}' comes first",
            next.action
        )));
    }
    let mut file = capture
        .file
        .ok_or_else(|| ApiError::value("the capture file is required"))?;
    file.key = "capture".into();
    let prepared = uploads::prepare(vec![file], &st.cfg).await?;
    let kind = prepared[0].kind;
    let photo = super::is_photo(&action);
    if photo != (kind == MediaKind::Image) {
        return Err(ApiError::value(if photo {
            "a photo action needs an image"
        } else {
            "a video action needs a ZIP of frames or a video"
        }));
    }
    // One continuous capture of the time the server gave the action (with some slack for slow
    // devices), so a longer recording cannot hold a search through many movements.
    let seconds = super::action_seconds(&this);
    // A shots set may also carry the countdown's rest frames (see `REST_SECONDS`), counted apart.
    let too_long = match kind {
        MediaKind::ShotsSet => {
            let rest = prepared[0].rest_frames;
            let action = prepared[0].frames - rest;
            action as f32 > (seconds * super::CAPTURE_FPS * 1.25).ceil() + 2.0
                || rest as f32 > (super::REST_SECONDS * super::CAPTURE_FPS * 1.25).ceil()
        }
        MediaKind::Video => {
            prepared[0].duration_ms.unwrap_or(0) as f32 > (seconds * 1.25 + 1.0) * 1000.0
        }
        MediaKind::Image => false,
    };
    if too_long {
        return Err(ApiError::value(format!(
            "the capture of '{action}' is longer than the {seconds} s it is given"
        ))
        .with_details(json!({"reason": "capture_too_long"})));
    }
    let info: String = capture
        .additional_info
        .as_deref()
        .map(uploads::clean_additional_info)
        .unwrap_or_default();
    let mut media_meta = json!({ "web_sdk_action": action, "web_sdk_attempt": s.attempt });
    if !info.is_empty() {
        media_meta["additional_info"] = json!(info);
    }
    let payload = Payload {
        media_tags: [(
            "capture".to_string(),
            super::action_tags(&this, capture.landscape),
        )]
        .into(),
        media_meta: [("capture".to_string(), media_meta)].into(),
        ..Payload::default()
    };
    let (folder, new) = match s.folder_id {
        Some(f) => (
            st.store
                .folder_get(f)
                .await?
                .ok_or_else(ApiError::unknown_object)?,
            false,
        ),
        None => (new_folder(&s, &info), true),
    };
    uploads::commit(
        &st.store,
        st.blobs.as_ref(),
        new.then_some(&folder),
        folder.folder_id,
        prepared,
        &payload,
    )
    .await?;
    let mut uploaded = s.uploaded.clone();
    uploaded.push(action);
    st.store
        .web_sdk_set_upload(s.session_id, folder.folder_id, &uploaded)
        .await?;
    let remaining: Vec<&String> = actions
        .iter()
        .map(|a| &a.action)
        .filter(|a| !uploaded.contains(a))
        .collect();
    let mut submitted = false;
    if remaining.is_empty() && st.store.web_sdk_submit(s.session_id).await? {
        let actor = session_actor(st, &s).await?;
        let settings = settings_of(st, s.company_id).await?;
        let media = attempt_media(
            st.store.media_of_folders(&[folder.folder_id]).await?,
            s.attempt,
        );
        let order = order_for(&s.params, &settings, &media);
        place_order(st, &actor, &folder, &media, &order, true).await?;
        submitted = true;
    }
    Ok(json!({ "uploaded": uploaded, "remaining": remaining, "submitted": submitted }))
}

/// The media of one attempt of a session (a retry keeps the earlier attempts' media in the
/// folder, but judges only its own): those whose meta carry `web_sdk_attempt` = `attempt`; media
/// stored before attempts were counted belong to the first.
pub fn attempt_media(media: Vec<MediaRow>, attempt: i64) -> Vec<MediaRow> {
    media
        .into_iter()
        .filter(|m| {
            m.meta_data
                .get("web_sdk_attempt")
                .and_then(Value::as_i64)
                .unwrap_or(1)
                == attempt
        })
        .collect()
}

/// The session's folder, made with its first capture: the session's meta, its id and page
/// origin, and the capture's `additional_info`.
fn new_folder(s: &WebSdkSession, info: &str) -> FolderRow {
    let mut meta = s.meta.clone();
    meta["web_sdk_session_id"] = json!(s.session_id.to_string());
    if let Some(o) = &s.origin {
        meta["web_sdk_origin"] = json!(o);
    }
    if !info.is_empty() {
        meta["additional_info"] = json!(info);
    }
    let now = now_us();
    FolderRow {
        folder_id: Uuid::new_v4(),
        company_id: s.company_id,
        user_id: Some(s.user_id),
        resolution_status: crate::domain::FolderStatus::Initial,
        system_resolution: crate::domain::FolderStatus::Initial,
        meta_data: meta,
        technical_meta_data: json!({}),
        time_created: now,
        time_updated: now,
    }
}

/// The session's analyses are ordered as the user who minted the token.
async fn session_actor(st: &AppState, s: &WebSdkSession) -> ApiResult<Actor> {
    let user = st
        .store
        .user_get(s.user_id)
        .await?
        .ok_or_else(|| ApiError::new(Code::AuthInvalid, "The session's user is gone"))?;
    Ok(Actor {
        user_id: user.user_id,
        company_id: user.company_id,
        role: user.user_type,
        session_id: s.session_id,
    })
}

/// The analyses of a submitted session: QUALITY (best shot unless the session's `params` or the
/// settings turn it off), BIOMETRY when an ID photo was captured beside a selfie, and COLLECTION
/// on the selfie captures (each one's best face) when the settings name a blacklist; DOCUMENTS
/// alone when the session captured ID documents only.
pub fn order_for(params: &Value, settings: &Settings, media: &[MediaRow]) -> Order {
    let best = params
        .get("extract_best_shot")
        .and_then(Value::as_bool)
        .unwrap_or(settings.extract_best_shot);
    let has = |t: &str| media.iter().any(|m| m.tags.iter().any(|x| x == t));
    // A session of ID document photos only (photo_id_front / photo_id_back): QUALITY has no face
    // capture to judge, so the documents are read (DOCUMENTS on the photo_id* photos).
    if has("photo_id") && !has("video_selfie") && !has("photo_selfie") {
        return Order::new(vec![Requested::new(AnalysisType::Documents)]);
    }
    let mut items = vec![Requested::new(AnalysisType::Quality).param("extract_best_shot", best)];
    if has("photo_id_front") && (has("video_selfie") || has("photo_selfie")) {
        items.push(Requested::new(AnalysisType::Biometry));
    }
    if let Some(collection) = &settings.collection_id {
        let selfies: Vec<Uuid> = media
            .iter()
            .filter(|m| {
                m.tags
                    .iter()
                    .any(|t| t == "video_selfie" || t == "photo_selfie")
            })
            .map(|m| m.media_id)
            .collect();
        if !selfies.is_empty() {
            items.push(
                Requested::new(AnalysisType::Collection)
                    .on(selfies)
                    .param("collection_id", collection.as_str()),
            );
        }
    }
    Order::new(items)
}
