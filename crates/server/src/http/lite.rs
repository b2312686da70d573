//! Oz API Lite (Oz API §3.11): stateless face endpoints under `/v1/face/…` plus `GET /version`.
//! Nothing is stored and nothing about a face is logged; images and templates live only for the
//! request. See `docs/lite-api.md` for the request and response of each endpoint.
//!
//! - Templates are [`faceproof_engine::template`] envelopes; a template of another model is
//!   refused with error 4 naming both models.
//! - Photos must show exactly one face ([`FacePolicy::RequireSingle`]): none → 4 with
//!   `details.reason = "no_face"`, several → 4 with `"multiple_faces"`.
//! - `Content-Transfer-Encoding: base64` makes bodies and multipart parts base64 text, and makes
//!   `extract` answer in base64.
//! - Authentication ([`LiteAuth`]): with `lite_api_key` set every `/v1/face/…/{extract, compare,
//!   verify, extract_and_compare, detect}` call needs the key (`X-Api-Key` or
//!   `Authorization: Bearer`): absent → 6, wrong → 7 (both 401). Without a key the Lite API is
//!   open only when the server listens on a loopback address, and refused (9/403) otherwise.
//!   `/version` and the health endpoints are always open.

use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Multipart, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use faceproof_engine::media::{self, MediaKind};
use faceproof_engine::template::{self, ModelId, Template, TemplateError};
use faceproof_engine::{AnalyzeOptions, Engine, EngineError, FacePolicy};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::config::Config;
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
// Authentication

/// Admission to the Lite API (see the module documentation).
pub struct LiteAuth;

impl FromRequestParts<AppState> for LiteAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        admit(
            st.cfg.lite_api_key.as_deref(),
            &st.cfg.listen,
            &parts.headers,
        )?;
        Ok(LiteAuth)
    }
}

fn admit(key: Option<&str>, listen: &str, headers: &HeaderMap) -> ApiResult<()> {
    match key {
        Some(key) => {
            let given = presented_key(headers).ok_or_else(|| {
                ApiError::new(
                    Code::AuthNotProvided,
                    "An API key is required: send it in X-Api-Key or Authorization: Bearer",
                )
            })?;
            if same_secret(given.as_bytes(), key.as_bytes()) {
                Ok(())
            } else {
                Err(ApiError::new(Code::AuthInvalid, "Invalid API key"))
            }
        }
        None if is_loopback(listen) => Ok(()),
        None => Err(ApiError::new(
            Code::Forbidden,
            format!(
                "The Lite API is closed: the server listens on {listen}, which is not a loopback \
                 address, and no API key is configured. Set FACEPROOF_LITE_API_KEY (or \
                 lite_api_key in the configuration file) and send it in X-Api-Key."
            ),
        )),
    }
}

/// The key from `X-Api-Key`, else from `Authorization: Bearer …`.
fn presented_key(headers: &HeaderMap) -> Option<String> {
    let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        if let Some(k) = non_empty(k) {
            return Some(k);
        }
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = auth.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        non_empty(rest)
    } else {
        None
    }
}

/// Equality in time independent of where the secrets differ (and of their lengths): both are
/// hashed, then the digests compared without an early exit.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let (da, db) = (Sha256::digest(a), Sha256::digest(b));
    let diff = da
        .iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Whether a `listen` setting (`host:port`) binds only a loopback interface.
fn is_loopback(listen: &str) -> bool {
    if let Ok(addr) = listen.trim().parse::<std::net::SocketAddr>() {
        return addr.ip().to_canonical().is_loopback();
    }
    let host = listen
        .trim()
        .rsplit_once(':')
        .map_or(listen.trim(), |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

// ---------------------------------------------------------------------------------------------
// Version and health

/// The backend name once a Lite call has seen the loaded engine ("not loaded" before).
static BACKEND: OnceLock<&'static str> = OnceLock::new();

fn note_backend(engine: &Engine) {
    let _ = BACKEND.set(engine.backend());
}

async fn version(State(st): State<AppState>) -> Json<Value> {
    let pack = &st.inference.options().pack;
    let models: Vec<Value> = pack
        .models
        .iter()
        .map(|(role, spec)| {
            json!({
                "name": spec.file.trim_end_matches(".onnx"),
                "version": pack.source.version,
                "role": role,
                "sha256": spec.sha256,
            })
        })
        .collect();
    Json(json!({
        "core": env!("CARGO_PKG_VERSION"),
        "tfss": st
            .inference
            .loaded_backend()
            .or_else(|| BACKEND.get().copied())
            .unwrap_or("not loaded"),
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
        Ok(engine) => {
            note_backend(&engine);
            Json(json!({ "status": 0, "message": "" })).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": 3, "message": e.message })),
        )
            .into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Request bodies

fn base64_mode(headers: &HeaderMap) -> bool {
    headers
        .get("content-transfer-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("base64"))
}

/// The media type of the request, lower-case, without parameters ("" when absent).
fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The base64 `"RlBUTQ"` that every base64 template starts with.
const TEMPLATE_B64_PREFIX: &[u8] = b"RlBUTQ";

/// Bytes as sent, or decoded from base64 when they are base64 text (an image or a template sent
/// raw is used as is, whatever the header says).
fn unwrap_base64(bytes: &[u8], base64: bool, what: &str) -> ApiResult<Vec<u8>> {
    let raw = bytes.starts_with(&template::MAGIC) || media::sniff(bytes).is_some();
    if raw || !(base64 || bytes.starts_with(TEMPLATE_B64_PREFIX)) {
        return Ok(bytes.to_vec());
    }
    let mut text = bytes;
    // A data URL ("data:image/jpeg;base64,…") is accepted too.
    if text.starts_with(b"data:") {
        if let Some(comma) = text.iter().position(|&c| c == b',') {
            text = &text[comma + 1..];
        }
    }
    template::from_base64(text).ok_or_else(|| {
        ApiError::value(format!(
            "The {what} is not valid base64 (Content-Transfer-Encoding: base64 was sent)"
        ))
        .with_details(json!({ "reason": "base64", "part": what }))
    })
}

/// Check an image's size and format before it reaches the engine: over `max_file_bytes` → 413;
/// not an image format the engine reads, or a video/archive → 415.
fn check_image(bytes: &[u8], cfg: &Config, what: &str) -> ApiResult<()> {
    if bytes.is_empty() {
        return Err(
            ApiError::structure(format!("The {what} is empty: an image is required"))
                .with_details(json!({ "reason": "missing", "part": what })),
        );
    }
    if bytes.len() as u64 > cfg.max_file_bytes {
        return Err(ApiError::new(
            Code::TooLarge,
            format!(
                "The {what} is over the limit of {} bytes",
                cfg.max_file_bytes
            ),
        )
        .with_details(
            json!({ "reason": "too_large", "part": what, "max_file_bytes": cfg.max_file_bytes }),
        ));
    }
    match media::sniff(bytes) {
        Some(f) if f.kind() == MediaKind::Image => Ok(()),
        Some(f) => Err(ApiError::new(
            Code::UnsupportedMedia,
            format!(
                "The {what} is a {} file; the Lite API takes photos (JPEG, PNG, WebP, BMP, TIFF)",
                f.extension()
            ),
        )
        .with_details(json!({ "reason": "unsupported_format", "part": what }))),
        None => Err(ApiError::new(
            Code::UnsupportedMedia,
            format!(
                "The {what} is not an image of a supported format (JPEG, PNG, WebP, BMP, TIFF)"
            ),
        )
        .with_details(json!({ "reason": "unsupported_format", "part": what }))),
    }
}

fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            Code::TooLarge,
            "The request is over the configured size limit",
        )
    } else {
        ApiError::structure(format!(
            "Could not read the request body: {}",
            e.body_text()
        ))
    }
}

/// A raw image body (`Content-Type: image/jpeg|png|…` or `application/octet-stream`; base64 text
/// with `Content-Transfer-Encoding: base64`).
fn raw_image(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    cfg: &Config,
) -> ApiResult<Vec<u8>> {
    let base64 = base64_mode(headers);
    let ct = content_type(headers);
    let accepted = ct.is_empty()
        || ct.starts_with("image/")
        || ct == "application/octet-stream"
        || (base64 && ct == "text/plain");
    if !accepted {
        return Err(ApiError::new(
            Code::UnsupportedMedia,
            format!(
                "Expected the image as the request body with Content-Type image/jpeg or image/png, not {ct}"
            ),
        )
        .with_details(json!({ "reason": "content_type", "content_type": ct })));
    }
    let bytes = unwrap_base64(&body.map_err(body_error)?, base64, "image")?;
    check_image(&bytes, cfg, "image")?;
    Ok(bytes)
}

/// One multipart field.
struct Part {
    name: String,
    bytes: Vec<u8>,
}

const MAX_PARTS: usize = 8;

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            Code::TooLarge,
            "The request is over the configured size limit",
        )
    } else {
        ApiError::structure(format!("Malformed multipart body: {}", e.body_text()))
    }
}

/// Every field of a multipart body (files and text alike), each base64-decoded when the request
/// or the part says `Content-Transfer-Encoding: base64`. After a limit is hit the rest of the body
/// is read and dropped so that the client receives the error.
async fn read_parts(
    headers: &HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
    cfg: &Config,
    expected: &str,
) -> ApiResult<Vec<Part>> {
    let mut mp = mp.map_err(|e| {
        let ct = content_type(headers);
        if ct != "multipart/form-data" {
            ApiError::new(
                Code::UnsupportedMedia,
                format!("Expected multipart/form-data with {expected}, not {ct:?}"),
            )
            .with_details(json!({ "reason": "content_type", "content_type": ct }))
        } else {
            ApiError::structure(format!("Malformed multipart body: {}", e.body_text()))
        }
    })?;
    let base64 = base64_mode(headers);
    // Base64 text is 4/3 of the bytes it carries.
    let limit = cfg.max_file_bytes.saturating_mul(4) / 3 + 1024;
    let mut parts = Vec::new();
    let mut failure: Option<ApiError> = None;
    while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_string();
        let part_base64 = base64 || base64_mode(field.headers());
        if failure.is_none() && parts.len() == MAX_PARTS {
            failure = Some(ApiError::structure(format!(
                "Too many parts: expected {expected}"
            )));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if failure.is_some() {
                continue;
            }
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                failure = Some(
                    ApiError::new(
                        Code::TooLarge,
                        format!(
                            "Part '{name}' is over the limit of {} bytes",
                            cfg.max_file_bytes
                        ),
                    )
                    .with_details(json!({ "reason": "too_large", "part": name, "max_file_bytes": cfg.max_file_bytes })),
                );
                bytes = Vec::new();
            }
        }
        if failure.is_none() {
            match unwrap_base64(&bytes, part_base64, &format!("part '{name}'")) {
                Ok(bytes) => parts.push(Part { name, bytes }),
                Err(e) => failure = Some(e),
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(parts),
    }
}

/// Pick the two parts of a request: by name (any of each slot's aliases), else the two parts in
/// the order sent. Missing or ambiguous parts → 3.
fn pick_two(
    mut parts: Vec<Part>,
    first: &[&str],
    second: &[&str],
    expected: &str,
) -> ApiResult<(Part, Part)> {
    let missing = |got: &[Part]| {
        let names: Vec<&str> = got.iter().map(|p| p.name.as_str()).collect();
        ApiError::structure(format!("Expected {expected}"))
            .with_details(json!({ "reason": "missing_part", "parts": names }))
    };
    let find = |parts: &[Part], names: &[&str]| {
        parts
            .iter()
            .position(|p| names.iter().any(|n| p.name.eq_ignore_ascii_case(n)))
    };
    match (find(&parts, first), find(&parts, second)) {
        (Some(a), Some(b)) => {
            let (a, b) = if a < b {
                let b = parts.remove(b);
                (parts.remove(a), b)
            } else {
                let a = parts.remove(a);
                let b = parts.remove(b);
                (a, b)
            };
            Ok((a, b))
        }
        (Some(a), None) if parts.len() == 2 => {
            let a = parts.remove(a);
            Ok((a, parts.remove(0)))
        }
        (None, Some(b)) if parts.len() == 2 => {
            let b = parts.remove(b);
            Ok((parts.remove(0), b))
        }
        (None, None) if parts.len() == 2 => {
            let b = parts.remove(1);
            Ok((parts.remove(0), b))
        }
        _ => Err(missing(&parts)),
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
            "{count} faces found in the {part}; the Lite API needs exactly one"
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

const EMBED: AnalyzeOptions = AnalyzeOptions {
    policy: FacePolicy::RequireSingle,
    embedding: true,
    liveness: false,
    attributes: false,
    expression: false,
};

/// The embedding of the one face of a photo (runs inside [`crate::inference::Inference::run`]).
fn embed(engine: &Engine, image: &[u8]) -> Result<Vec<f32>, EngineError> {
    let decoded = engine.decode(image)?;
    let frame = &decoded
        .frames
        .first()
        .ok_or_else(|| EngineError::UnsupportedFormat("no image in the file".into()))?
        .image;
    let report = engine.analyze_image(frame, &EMBED)?;
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
    let vector = st
        .inference
        .run(move |engine| {
            note_backend(engine);
            embed(engine, &image)
        })
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
        .run(move |engine| {
            note_backend(engine);
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
    let result = st
        .inference
        .run(move |engine| {
            note_backend(engine);
            let probe = embed(engine, &image.bytes)?;
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
    let result = st
        .inference
        .run(move |engine| -> Result<Comparison, PartFailure> {
            note_backend(engine);
            let ea = embed(engine, &a.bytes).map_err(|e| (e, name_a))?;
            let eb = embed(engine, &b.bytes).map_err(|e| (e, name_b))?;
            Ok(comparison(engine, &ea, &eb, threshold))
        })
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

const LIVENESS: AnalyzeOptions = AnalyzeOptions {
    policy: FacePolicy::RequireSingle,
    embedding: false,
    liveness: true,
    attributes: false,
    expression: false,
};

async fn detect(
    _: LiteAuth,
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<LivenessResult>> {
    let image = raw_image(&headers, body, &st.cfg)?;
    let spoofing = st
        .inference
        .run(move |engine| -> Result<Option<f32>, EngineError> {
            note_backend(engine);
            let decoded = engine.decode(&image)?;
            let frame = &decoded
                .frames
                .first()
                .ok_or_else(|| EngineError::UnsupportedFormat("no image in the file".into()))?
                .image;
            let report = engine.analyze_image(frame, &LIVENESS)?;
            Ok(report
                .face()
                .and_then(|f| f.liveness.as_ref())
                .map(|l| l.confidence_spoofing))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_addresses_are_recognised() {
        for l in [
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "[::1]:8080",
            "localhost:8080",
            "LOCALHOST:1",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(is_loopback(l), "{l}");
        }
        for l in [
            "0.0.0.0:8080",
            "[::]:8080",
            "10.0.0.5:80",
            "example.com:80",
            "",
        ] {
            assert!(!is_loopback(l), "{l}");
        }
    }

    #[test]
    fn keys_come_from_x_api_key_or_bearer() {
        assert_eq!(
            presented_key(&headers(&[("x-api-key", " k1 ")])).as_deref(),
            Some("k1")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer k2")])).as_deref(),
            Some("k2")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "bearer k3")])).as_deref(),
            Some("k3")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(presented_key(&headers(&[("x-api-key", "")])), None);
    }

    #[test]
    fn admission_follows_key_and_listen_address() {
        let code = |r: ApiResult<()>| r.err().map(|e| e.code.oz().0);
        let none = headers(&[]);
        let right = headers(&[("x-api-key", "secret")]);
        let wrong = headers(&[("x-api-key", "secreT")]);
        assert_eq!(code(admit(Some("secret"), "0.0.0.0:80", &none)), Some(6));
        assert_eq!(code(admit(Some("secret"), "0.0.0.0:80", &wrong)), Some(7));
        assert_eq!(code(admit(Some("secret"), "0.0.0.0:80", &right)), None);
        assert_eq!(code(admit(None, "127.0.0.1:80", &none)), None);
        let refused = admit(None, "0.0.0.0:80", &none).unwrap_err();
        assert_eq!(refused.code, Code::Forbidden);
        assert!(refused.message.contains("FACEPROOF_LITE_API_KEY"));
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }

    fn part(name: &str) -> Part {
        Part {
            name: name.into(),
            bytes: name.as_bytes().to_vec(),
        }
    }

    #[test]
    fn parts_are_picked_by_name_then_by_order() {
        let pick = |names: &[&str]| {
            pick_two(
                names.iter().map(|n| part(n)).collect(),
                &["template1"],
                &["template2"],
                "x",
            )
            .map(|(a, b)| (a.name, b.name))
        };
        let ok = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(
            pick(&["template2", "template1"]).ok(),
            ok("template1", "template2")
        );
        assert_eq!(
            pick(&["x", "template2", "y", "template1"]).ok(),
            ok("template1", "template2")
        );
        assert_eq!(pick(&["a", "b"]).ok(), ok("a", "b"));
        assert_eq!(pick(&["template2", "b"]).ok(), ok("b", "template2"));
        assert_eq!(
            pick(&["a"]).err().map(|e| e.code),
            Some(Code::InvalidStructure)
        );
        assert_eq!(
            pick(&["a", "b", "c"]).err().map(|e| e.code),
            Some(Code::InvalidStructure)
        );
        assert_eq!(
            pick(&[]).err().map(|e| e.code),
            Some(Code::InvalidStructure)
        );
    }

    #[test]
    fn base64_is_decoded_only_when_asked_or_unambiguous() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2];
        assert_eq!(unwrap_base64(&jpeg, true, "x").unwrap(), jpeg);
        let text = template::to_base64(&jpeg);
        assert_eq!(unwrap_base64(text.as_bytes(), true, "x").unwrap(), jpeg);
        assert_eq!(
            unwrap_base64(text.as_bytes(), false, "x").unwrap(),
            text.as_bytes()
        );
        let url = format!("data:image/jpeg;base64,{text}");
        assert_eq!(unwrap_base64(url.as_bytes(), true, "x").unwrap(), jpeg);
        let tpl = template::to_base64(b"FPTM\x01\x00rest");
        assert!(tpl.as_bytes().starts_with(TEMPLATE_B64_PREFIX));
        assert_eq!(
            unwrap_base64(tpl.as_bytes(), false, "x").unwrap(),
            b"FPTM\x01\x00rest"
        );
        let err = unwrap_base64(b"not base64!", true, "x").unwrap_err();
        assert_eq!(err.code, Code::InvalidValue);
    }
}
