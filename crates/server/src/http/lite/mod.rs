//! Oz API Lite (Oz API §3.11): stateless face endpoints under `/v1/face/…` plus `GET /version`.
//! Nothing is stored and nothing about a face is logged; images and templates live only for the
//! request. See `docs/lite-api.md` for the request and response of each endpoint.
//!
//! - Templates are [`faceproof_engine::template`] envelopes; a template of another model is
//!   refused with error 4 naming both models.
//! - Photos must show one subject under the server's `face_policy` ([`FacePolicy::Dominant`]:
//!   smaller background faces are ignored; `strict`: any second face refuses): none → 4 with
//!   `details.reason = "no_face"`, two comparable faces → 4 with `"multiple_faces"`.
//! - `Content-Transfer-Encoding: base64` makes bodies and multipart parts base64 text, and makes
//!   `extract` answer in base64.
//! - Authentication (`auth::LiteAuth`): with `lite_api_key` set every `/v1/face/…/{extract, compare,
//!   verify, extract_and_compare, detect}` call needs the key (`X-Api-Key` or
//!   `Authorization: Bearer`): absent → 6, wrong → 7 (both 401). Without a key the Lite API is
//!   open only when the server listens on a loopback address, and refused (9/403) otherwise.
//!   `/version` and the health endpoints are always open.

use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use faceproof_engine::template::{self, ModelId, Template, TemplateError};
use faceproof_engine::{AnalyzeOptions, Engine, EngineError, FacePolicy};
use serde::Serialize;
use serde_json::{json, Value};

use crate::app::AppState;
use auth::LiteAuth;
use body::*;

mod auth;
mod body;
use crate::errors::{ApiError, ApiResult, Code};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/version", get(version))
        .route("/v1/face/pattern/health", get(health))
        .route("/v1/face/liveness/health", get(health))
        .route("/v1/face/pattern/extract", post(extract))
        .route("/v1/face/pattern/compare", post(compare))
        .route("/v1/face/pattern/verify", post(verify))
        .route(
            "/v1/face/pattern/extract_and_compare",
            post(extract_and_compare),
        )
        .route("/v1/face/liveness/detect", post(detect))
}

// ---------------------------------------------------------------------------------------------
// Version and health

async fn version(State(st): State<AppState>) -> Json<Value> {
    let pack = &st.inference.options().pack;
    let models: Vec<Value> = pack
        .models
        .iter()
        .map(|(role, spec)| {
            json!({
                "name": spec.file.trim_end_matches(".onnx"),
                "version": pack.source_of(*role).unwrap_or(&pack.source).version,
                "role": role,
                "sha256": spec.sha256,
            })
        })
        .collect();
    Json(json!({
        "core": env!("CARGO_PKG_VERSION"),
        "tfss": st.inference.loaded_backend().unwrap_or("not loaded"),
        "models": models,
        "pack": pack.id,
        "template_format": template::FORMAT_VERSION,
    }))
}

/// `{"status": 0, "message": ""}` once the models load; `{"status": 3, "message": why}` with
/// HTTP 503 when they cannot. Loads the models when needed but runs nothing on them, so a health
/// check never queues behind analyses for an inference slot.
async fn health(State(st): State<AppState>) -> Response {
    match st.inference.engine().await {
        Ok(_) => Json(json!({ "status": 0, "message": "" })).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": 3, "message": e.message })),
        )
            .into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Engine work

fn model_id(st: &AppState) -> ApiResult<ModelId> {
    ModelId::of_pack(&st.inference.options().pack).map_err(ApiError::internal)
}

fn parse_template(bytes: &[u8], model: &ModelId, part: &str) -> ApiResult<Template> {
    Template::parse(bytes, model).map_err(|e| {
        let mut details = json!({ "reason": e.code(), "part": part });
        if let TemplateError::OtherModel { found, expected } = &e {
            details["template_model"] = json!(found.to_string());
            details["server_model"] = json!(expected.to_string());
        }
        ApiError::value(format!("{part}: {e}")).with_details(details)
    })
}

/// An engine failure on one part of the request, as the API reports it.
fn engine_error(e: EngineError, part: &str) -> ApiError {
    match e {
        EngineError::NoFace => ApiError::value(format!("No face found in the {part}"))
            .with_details(json!({ "reason": "no_face", "part": part })),
        EngineError::MultipleFaces { count } => ApiError::value(format!(
            "{count} faces of comparable size found in the {part}; the Lite API needs one person"
        ))
        .with_details(json!({ "reason": "multiple_faces", "faces": count, "part": part })),
        other => {
            let mut err = ApiError::from(other);
            if err.code != Code::Internal {
                err.message = format!("{part}: {}", err.message);
                if let Some(map) = err.details.as_object_mut() {
                    map.insert("part".into(), json!(part));
                }
            }
            err
        }
    }
}

/// A failure inside an engine run: which part, what happened.
type PartFailure = (EngineError, String);

/// The server's face policy (`face_policy` setting).
fn policy(st: &AppState) -> FacePolicy {
    if st.cfg.strict_faces() {
        FacePolicy::Strict
    } else {
        FacePolicy::Dominant
    }
}

/// The embedding of the subject's face of a photo (runs inside
/// [`crate::inference::Inference::run`]).
fn embed(engine: &Engine, image: &[u8], policy: FacePolicy) -> Result<Vec<f32>, EngineError> {
    let decoded = engine.decode(image)?;
    let frame = &decoded
        .frames
        .first()
        .ok_or_else(|| EngineError::UnsupportedFormat("no image in the file".into()))?
        .image;
    let opts = AnalyzeOptions {
        policy,
        embedding: true,
        liveness: false,
        attributes: false,
        expression: false,
    };
    let report = engine.analyze_image(frame, &opts)?;
    report
        .face()
        .and_then(|f| f.embedding.clone())
        .ok_or(EngineError::NoFace)
}

/// The result of every comparison endpoint.
#[derive(Serialize)]
struct Comparison {
    /// Calibrated confidence that both are the same person, 0..1.
    score: f32,
    /// Cosine similarity of the two embeddings, -1..1.
    similarity: f32,
    /// `biometry_threshold`: `score` at or above it is a match.
    threshold: f32,
    #[serde(rename = "match")]
    is_match: bool,
    /// `SAME` or `DIFFERENT`.
    decision: &'static str,
}

fn comparison(engine: &Engine, a: &[f32], b: &[f32], threshold: f32) -> Comparison {
    let (similarity, score) = engine.compare(a, b);
    let is_match = score >= threshold;
    Comparison {
        score,
        similarity,
        threshold,
        is_match,
        decision: if is_match { "SAME" } else { "DIFFERENT" },
    }
}

fn same_length(a: &Template, b: &Template) -> ApiResult<()> {
    if a.vector.len() != b.vector.len() {
        return Err(ApiError::value(format!(
            "The templates have different lengths ({} and {})",
            a.vector.len(),
            b.vector.len()
        ))
        .with_details(json!({ "reason": "malformed_template" })));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn extract(
    _: LiteAuth,
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let image = raw_image(&headers, body, &st.cfg)?;
    let model = model_id(&st)?;
    let policy = policy(&st);
    let vector = st
        .inference
        .run("lite_embed", move |engine| embed(engine, &image, policy))
        .await?
        .map_err(|e| engine_error(e, "image"))?;
    let bytes = Template::new(model, vector)
        .to_bytes()
        .map_err(ApiError::internal)?;
    let octets = HeaderValue::from_static("application/octet-stream");
    Ok(if base64_mode(&headers) {
        (
            [
                (header::CONTENT_TYPE, octets),
                (
                    header::HeaderName::from_static("content-transfer-encoding"),
                    HeaderValue::from_static("base64"),
                ),
            ],
            template::to_base64(&bytes),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, octets)], Body::from(bytes)).into_response()
    })
}

const TEMPLATES: &str = "two templates: parts template1 and template2 (or two parts in order)";

async fn compare(
    _: LiteAuth,
    State(st): State<AppState>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Comparison>> {
    let parts = read_parts(&headers, mp, &st.cfg, TEMPLATES).await?;
    let (a, b) = pick_two(
        parts,
        &["template1", "template_1", "pattern1"],
        &["template2", "template_2", "pattern2"],
        TEMPLATES,
    )?;
    let model = model_id(&st)?;
    let a = parse_template(&a.bytes, &model, &format!("template '{}'", a.name))?;
    let b = parse_template(&b.bytes, &model, &format!("template '{}'", b.name))?;
    same_length(&a, &b)?;
    let threshold = st.cfg.biometry_threshold;
    let result = st
        .inference
        .run("lite_compare_templates", move |engine| {
            comparison(engine, &a.vector, &b.vector, threshold)
        })
        .await?;
    Ok(Json(result))
}

const IMAGE_AND_TEMPLATE: &str =
    "an image and a template: parts image and template (or two parts in order, image first)";

async fn verify(
    _: LiteAuth,
    State(st): State<AppState>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Comparison>> {
    let mut parts = read_parts(&headers, mp, &st.cfg, IMAGE_AND_TEMPLATE).await?;
    // Unnamed parts: the one that is a template goes second whatever the order.
    if parts.len() == 2 && parts[0].bytes.starts_with(&template::MAGIC) {
        parts.swap(0, 1);
    }
    let (image, tpl) = pick_two(
        parts,
        &["image", "photo", "image1", "photo1", "media"],
        &["template", "template1", "pattern"],
        IMAGE_AND_TEMPLATE,
    )?;
    let model = model_id(&st)?;
    let tpl = parse_template(&tpl.bytes, &model, &format!("template '{}'", tpl.name))?;
    let part = format!("image '{}'", image.name);
    check_image(&image.bytes, &st.cfg, &part)?;
    let threshold = st.cfg.biometry_threshold;
    let policy = policy(&st);
    let result = st
        .inference
        .run("lite_verify", move |engine| {
            let probe = embed(engine, &image.bytes, policy)?;
            if probe.len() != tpl.vector.len() {
                return Err(EngineError::ModelPack(format!(
                    "the engine made a {}-value embedding for a {}-value template",
                    probe.len(),
                    tpl.vector.len()
                )));
            }
            Ok(comparison(engine, &probe, &tpl.vector, threshold))
        })
        .await?
        .map_err(|e| engine_error(e, &part))?;
    Ok(Json(result))
}

const TWO_IMAGES: &str = "two images: parts image1 and image2 (or two parts in order)";

async fn extract_and_compare(
    _: LiteAuth,
    State(st): State<AppState>,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> ApiResult<Json<Comparison>> {
    let parts = read_parts(&headers, mp, &st.cfg, TWO_IMAGES).await?;
    let (a, b) = pick_two(
        parts,
        &["image1", "photo1", "image_1"],
        &["image2", "photo2", "image_2"],
        TWO_IMAGES,
    )?;
    let (name_a, name_b) = (format!("image '{}'", a.name), format!("image '{}'", b.name));
    check_image(&a.bytes, &st.cfg, &name_a)?;
    check_image(&b.bytes, &st.cfg, &name_b)?;
    let threshold = st.cfg.biometry_threshold;
    let policy = policy(&st);
    let result = st
        .inference
        .run(
            "lite_compare_images",
            move |engine| -> Result<Comparison, PartFailure> {
                let ea = embed(engine, &a.bytes, policy).map_err(|e| (e, name_a))?;
                let eb = embed(engine, &b.bytes, policy).map_err(|e| (e, name_b))?;
                Ok(comparison(engine, &ea, &eb, threshold))
            },
        )
        .await?
        .map_err(|(e, part)| engine_error(e, &part))?;
    Ok(Json(result))
}

/// The answer of `liveness/detect`.
#[derive(Serialize)]
struct LivenessResult {
    passed: bool,
    /// 0..1, higher = more likely a presentation attack.
    confidence_spoofing: f32,
    /// `liveness_threshold`: passed when `confidence_spoofing` is below it.
    threshold: f32,
    /// `live_face` or `presentation_attack_suspected`.
    reason: &'static str,
}

async fn detect(
    _: LiteAuth,
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<LivenessResult>> {
    let image = raw_image(&headers, body, &st.cfg)?;
    let policy = policy(&st);
    let spoofing = st
        .inference
        .run(
            "lite_liveness",
            move |engine| -> Result<Option<f32>, EngineError> {
                let decoded = engine.decode(&image)?;
                let frame = &decoded
                    .frames
                    .first()
                    .ok_or_else(|| EngineError::UnsupportedFormat("no image in the file".into()))?
                    .image;
                let opts = AnalyzeOptions {
                    policy,
                    embedding: false,
                    liveness: true,
                    attributes: false,
                    expression: false,
                };
                let report = engine.analyze_image(frame, &opts)?;
                Ok(report
                    .face()
                    .and_then(|f| f.liveness.as_ref())
                    .map(|l| l.confidence_spoofing))
            },
        )
        .await?
        .map_err(|e| engine_error(e, "image"))?;
    let Some(confidence_spoofing) = spoofing else {
        return Err(ApiError::value(
            "The face is too small or too close to the border of the image to check liveness",
        )
        .with_details(json!({ "reason": "face_too_small", "part": "image" })));
    };
    let threshold = st.cfg.liveness_threshold;
    let passed = confidence_spoofing < threshold;
    Ok(Json(LivenessResult {
        passed,
        confidence_spoofing,
        threshold,
        reason: if passed {
            "live_face"
        } else {
            "presentation_attack_suspected"
        },
    }))
}
