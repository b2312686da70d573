//! The JSON shapes of the API as OpenAPI schemas (`utoipa::ToSchema`), for the document at
//! `GET /api/openapi.json` (built in `http::docs`). Bodies the handlers read as free JSON (they
//! accept several spellings, see the descriptions) and answers built with `json!` are described
//! here by types that mirror them; answers that are Rust types (`FolderView`, `MediaView`,
//! `User`, `Company`, the collection views) derive their schema where they are defined. The
//! snapshot tests of `crates/cli/tests/api/shapes.rs` and the generated clients of
//! `crates/cli/tests/api/openapi.rs` hold these to what the server answers.
//!
//! Doc-only types: nothing constructs them.
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{FolderView, MediaView};

/// The body of every error answer (Oz §4.7): `error_code` (the Oz code: 3 structure, 4 value,
/// 5 type, 6–8 authentication, 9 permission, 10 not found, …), a readable `error_message` and
/// `details` (null, or an object with fields such as `reason`, `max_bytes`, `retry_after`).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error_code": 10, "error_message": "Object not found", "details": null}))]
pub struct ErrorBody {
    pub error_code: u16,
    pub error_message: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

/// An email and a password.
#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    #[schema(example = "admin@example.com")]
    pub email: String,
    #[schema(example = "admin-password-1", format = Password)]
    pub password: String,
}

/// `POST /api/authorize/auth`.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"credentials": {"email": "admin@example.com", "password": "admin-password-1"}}))]
pub struct LoginRequest {
    pub credentials: Credentials,
}

/// `POST /api/authorize/refresh` (with the session's access token in the header).
#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub expire_token: String,
}

/// A new token pair: send `access_token` as `X-Forensic-Access-Token` (or `Authorization:
/// Bearer`); `expire_token` refreshes it once.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"access_token": "3f2a…", "expire_token": "9c41…", "expire_date": 1765152000,
    "user": {"user_id": "8d2b3c4e-0000-4000-8000-000000000001", "user_type": "ADMIN", "email": "admin@example.com"}}))]
pub struct Tokens {
    pub access_token: String,
    pub expire_token: String,
    /// When the access token expires (UNIX seconds).
    pub expire_date: i64,
    pub user: crate::store::users::User,
}

/// `GET /api/authorize/session_token`.
#[derive(Serialize, ToSchema)]
pub struct SessionToken {
    pub session_token: String,
    /// Seconds.
    pub expires_in: i64,
}

/// `POST /api/companies`; every field optional for `PATCH`.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"name": "Acme Bank", "meta_data": {"region": "EU"}}))]
pub struct CompanyBody {
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
}

/// `POST /api/users`; every field optional for `PATCH` (plus `current_password`, `is_active`).
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"email": "client@acme.test", "password": "password-123", "user_type": "CLIENT",
    "first_name": "Ada", "last_name": "Lovelace", "company_id": "8d2b3c4e-0000-4000-8000-000000000002"}))]
pub struct UserBody {
    pub email: Option<String>,
    /// At least 8 characters.
    #[schema(format = Password)]
    pub password: Option<String>,
    /// Changing one's own password.
    #[schema(format = Password)]
    pub current_password: Option<String>,
    /// `ADMIN`, `OPERATOR`, `CLIENT`, `CLIENT ADMIN`, `CLIENT OPERATOR`, `CLIENT SERVICE`
    /// (underscores accepted).
    pub user_type: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub company_id: Option<Uuid>,
    pub can_start_analysis_biometry: Option<bool>,
    pub can_start_analysis_quality: Option<bool>,
    pub can_start_analysis_collection: Option<bool>,
    /// API ≤ 5.3: a CLIENT ADMIN.
    pub is_admin: Option<bool>,
    /// API ≤ 5.3: a CLIENT SERVICE.
    pub is_service: Option<bool>,
    pub is_active: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
}

/// `{items, total}` (and `count`, the same as `total`).
#[derive(Serialize, ToSchema)]
pub struct FolderPage {
    pub items: Vec<FolderView>,
    pub total: i64,
    pub count: i64,
}

/// `{items, total}` (and `count`, the same as `total`).
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<crate::store::users::User>,
    pub total: i64,
    pub count: i64,
}

/// `{items, total}` (and `count`, the same as `total`).
#[derive(Serialize, ToSchema)]
pub struct CompanyPage {
    pub items: Vec<crate::store::companies::Company>,
    pub total: i64,
    pub count: i64,
}

/// `{items, total}` (and `count`, the same as `total`).
#[derive(Serialize, ToSchema)]
pub struct PersonPage {
    pub items: Vec<super::collection::PersonView>,
    pub total: i64,
    pub count: i64,
}

/// One analysis of an order.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"type": "quality", "source_media": [], "params": {"extract_best_shot": true}}))]
pub struct AnalysisOrder {
    /// `quality` (alias `liveness`), `biometry`, `collection` (alias `blacklist`) or `documents`,
    /// any case.
    #[serde(rename = "type")]
    #[schema(example = "quality")]
    pub kind: String,
    /// Media ids (or, in a single request, form keys); omitted: every eligible media.
    pub source_media: Option<Vec<String>>,
    /// Thresholds and options of the type (see the operation's description).
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
}

/// `POST /api/folders/{folder_id}/analyses`.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"analyses": [{"type": "quality"}]}))]
pub struct StartAnalyses {
    pub analyses: Vec<AnalysisOrder>,
    /// A webhook called once every analysis of the order has finished (http or https).
    pub resolution_endpoint: Option<String>,
}

/// `PATCH /api/analyses/{analysis_id}`: an operator's decision.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"resolution_status": "SUCCESS", "comment": "same person, checked the ID"}))]
pub struct DecisionBody {
    /// `SUCCESS` or `DECLINED`.
    #[schema(example = "SUCCESS")]
    pub resolution_status: String,
    pub comment: Option<String>,
}

/// An analysis' `state`.
#[derive(Serialize, ToSchema)]
pub enum AnalysisStateDoc {
    #[serde(rename = "PROCESSING")]
    Processing,
    #[serde(rename = "FINISHED")]
    Finished,
    #[serde(rename = "FAILED")]
    Failed,
}

/// An analysis' `resolution_status` (and `resolution`).
#[derive(Serialize, ToSchema)]
pub enum ResolutionDoc {
    #[serde(rename = "PROCESSING")]
    Processing,
    #[serde(rename = "FAILED")]
    Failed,
    #[serde(rename = "SUCCESS")]
    Success,
    #[serde(rename = "DECLINED")]
    Declined,
    #[serde(rename = "OPERATOR_REQUIRED")]
    OperatorRequired,
}

/// A media's result within an analysis.
#[derive(Serialize, ToSchema)]
pub struct ResultMedia {
    pub source_media_id: Option<Uuid>,
    pub analysis_id: Option<Uuid>,
    #[schema(value_type = Option<ResolutionDoc>)]
    pub resolution_status: Option<String>,
    /// QUALITY: `confidence_spoofing` (0..1; at or above the threshold ⇒ DECLINED),
    /// `frames_analysed`, `gesture`…; BIOMETRY: `face_found`; COLLECTION: `matches`.
    #[schema(value_type = Option<Object>)]
    pub results_data: Option<Value>,
    /// Best shots: `{media_id, original_url, thumb_url}`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub output_images: Option<Vec<Value>>,
    /// A media problem: `{code, message}` (no_face, multiple_faces, unreadable, …).
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
}

/// An analysis (`GET /api/analyses/{analysis_id}`).
#[derive(Serialize, ToSchema)]
pub struct AnalysisView {
    pub analysis_id: Uuid,
    /// The same as `analysis_id` (older Oz spelling).
    pub analyse_id: Uuid,
    pub folder_id: Uuid,
    /// The order (one POST of analyses).
    pub group_id: Uuid,
    pub user_id: Option<Uuid>,
    /// `QUALITY`, `BIOMETRY`, `COLLECTION` or `DOCUMENTS`.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = AnalysisStateDoc)]
    pub state: String,
    #[schema(value_type = ResolutionDoc)]
    pub resolution_status: String,
    /// The same as `resolution_status`.
    #[schema(value_type = ResolutionDoc)]
    pub resolution: String,
    pub source_media: Vec<MediaView>,
    pub results_media: Vec<ResultMedia>,
    /// BIOMETRY: `min_confidence`, `max_confidence`, `pairs`, thresholds; DOCUMENTS: the MRZ.
    #[schema(value_type = Option<Object>)]
    pub results_data: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    pub resolution_endpoint: Option<String>,
    /// FAILED: `{message}`.
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    pub decisions: Vec<crate::store::analyses::DecisionRow>,
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
    /// UNIX seconds.
    pub time_created: i64,
    pub time_updated: i64,
}

/// `PATCH /api/media/{media_id}`.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"tags": ["video_selfie_blank"]}))]
pub struct MediaTags {
    pub tags: Vec<String>,
}

/// `POST /api/collections`.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"alias": "blacklist"}))]
pub struct CollectionBody {
    pub alias: String,
    pub company_id: Option<Uuid>,
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
}

/// The web plugin's start (`POST /web-sdk/session`).
#[derive(Deserialize, ToSchema)]
pub struct WebSdkStart {
    pub session_token: String,
    pub action: Option<String>,
    pub lang: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
}

/// `{session_key}` of a running plugin session (and `lang` for a hand-off).
#[derive(Deserialize, ToSchema)]
pub struct SessionKey {
    pub session_key: String,
    pub lang: Option<String>,
}

/// `POST /web-sdk/handoff`.
#[derive(Deserialize, ToSchema)]
pub struct HandoffRedeem {
    pub handoff_token: String,
    pub lang: Option<String>,
}

/// The multipart upload of a folder (and of `POST /api/folders/{id}/media`, `POST
/// /api/instant/folders`): files under any field names (`photo1`, `photo2`, `video1` are
/// examples; every other name works the same), `payload` a JSON string.
#[derive(Deserialize, ToSchema)]
pub struct FolderUpload {
    /// A photo (JPEG, PNG, …).
    #[schema(value_type = String, format = Binary, required = false)]
    pub photo1: Option<Vec<u8>>,
    /// A second photo (e.g. an ID document for BIOMETRY).
    #[schema(value_type = String, format = Binary, required = false)]
    pub photo2: Option<Vec<u8>>,
    /// A video (selfie), or a ZIP of frames.
    #[schema(value_type = String, format = Binary, required = false)]
    pub video1: Option<Vec<u8>>,
    /// JSON: `{"media:tags": {key: [tag…]}, "folder:meta_data": {…}, "media:meta_data": {key: {…}},
    /// "analyses"?: […]}`.
    #[schema(
        example = r#"{"media:tags": {"photo1": ["photo_selfie"]}, "folder:meta_data": {"external_id": "order-42"}}"#
    )]
    pub payload: Option<String>,
    /// The capture environment (at most 2000 characters kept).
    #[schema(example = "iPhone 15, iOS 18.1, Safari")]
    pub additional_info: Option<String>,
}

/// The multipart photos of a person (`POST …/persons`, `POST …/images`).
#[derive(Deserialize, ToSchema)]
pub struct PersonUpload {
    /// A photo showing one face; other field names work the same.
    #[schema(value_type = String, format = Binary)]
    pub photo1: Vec<u8>,
    #[schema(value_type = String, format = Binary, required = false)]
    pub photo2: Option<Vec<u8>>,
    /// JSON: `{"media:tags", "media:meta_data", "person:meta_data": {"person_info": {first_name,
    /// middle_name, last_name}}}`.
    #[schema(
        example = r#"{"person:meta_data": {"person_info": {"first_name": "Ada", "last_name": "Lovelace"}}}"#
    )]
    pub payload: Option<String>,
}

/// One photo to search (`POST /api/collections/{id}/search`).
#[derive(Deserialize, ToSchema)]
pub struct SearchUpload {
    /// A photo showing one face (any field name).
    #[schema(value_type = String, format = Binary)]
    pub photo: Vec<u8>,
}

/// `POST /web-sdk/session/{session_id}/frame`.
#[derive(Deserialize, ToSchema)]
pub struct WebSdkFrame {
    pub session_key: String,
    /// A JPEG.
    #[schema(value_type = String, format = Binary)]
    pub frame: Vec<u8>,
}

/// `POST /web-sdk/session/{session_id}/capture`.
#[derive(Deserialize, ToSchema)]
pub struct WebSdkCapture {
    pub session_key: String,
    pub action: Option<String>,
    pub orientation: Option<String>,
    pub additional_info: Option<String>,
    /// A photo, a ZIP of frames or a video.
    #[schema(value_type = String, format = Binary)]
    pub capture: Vec<u8>,
}

/// Lite: two templates.
#[derive(Deserialize, ToSchema)]
pub struct LiteCompare {
    #[schema(value_type = String, format = Binary)]
    pub template1: Vec<u8>,
    #[schema(value_type = String, format = Binary)]
    pub template2: Vec<u8>,
}

/// Lite: an image and a template.
#[derive(Deserialize, ToSchema)]
pub struct LiteVerify {
    #[schema(value_type = String, format = Binary)]
    pub image: Vec<u8>,
    #[schema(value_type = String, format = Binary)]
    pub template: Vec<u8>,
}

/// Lite: two images.
#[derive(Deserialize, ToSchema)]
pub struct LiteImages {
    #[schema(value_type = String, format = Binary)]
    pub image1: Vec<u8>,
    #[schema(value_type = String, format = Binary)]
    pub image2: Vec<u8>,
}
