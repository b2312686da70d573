//! The Oz JSON of folders and media. Times are UNIX seconds (integers, as in the legacy Oz
//! samples); URLs start with the caller's base URL.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::MediaKind;
use crate::store::folders::{FolderRow, MediaRow};

#[derive(Serialize, utoipa::ToSchema)]
pub struct MediaView {
    pub media_id: Uuid,
    pub folder_id: Uuid,
    /// `IMAGE_FOLDER`, `VIDEO_FOLDER` or `SHOTS_SET_FOLDER`.
    pub media_type: String,
    /// `IMAGE`, `VIDEO` or `SHOTS_SET`, decided from the content.
    pub media_kind: String,
    pub original_name: String,
    pub original_url: String,
    /// Videos and shots sets (the stored file); null for images.
    pub video_url: Option<String>,
    /// JPEG thumbnail of the image or first frame.
    pub thumb_url: Option<String>,
    /// Videos: the stored video (no transcoding yet); shots sets: an MP4 made from the frames
    /// (Oz 5.2.0; also their `video_url`); null for images.
    pub preview_url: Option<String>,
    /// Shots sets: each frame in order, `{index, original_url}` (what Oz's web clients read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub images: Option<Vec<Value>>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub info: Value,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
    pub time_created: i64,
    pub time_updated: i64,
}

pub fn media(base: &str, m: &MediaRow) -> MediaView {
    let url = |what: &str| format!("{base}/api/media/{}/{what}", m.media_id);
    let is_image = m.media_kind == MediaKind::Image;
    let shots = m.media_kind == MediaKind::ShotsSet;
    let images = shots.then(|| {
        let n = m
            .technical_meta_data
            .get("frames")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        (0..n)
            .map(|i| serde_json::json!({ "index": i, "original_url": url(&format!("frames/{i}")) }))
            .collect()
    });
    MediaView {
        media_id: m.media_id,
        folder_id: m.folder_id,
        media_type: m.media_type.to_string(),
        media_kind: m.media_kind.to_string(),
        original_name: m.original_name.clone(),
        original_url: url("file"),
        video_url: if shots {
            Some(url("preview"))
        } else {
            (!is_image).then(|| url("file"))
        },
        thumb_url: m.thumb_key.as_ref().map(|_| url("thumb")),
        preview_url: (m.media_kind == MediaKind::Video || shots).then(|| url("preview")),
        images,
        tags: m.tags.clone(),
        info: serde_json::json!({
            "kind": m.media_kind,
            "format": m.format,
            "mime": m.mime,
            "size": m.size_bytes,
            "width": m.width,
            "height": m.height,
            "duration": m.duration_ms.map(|d| d as f64 / 1000.0),
        }),
        meta_data: m.meta_data.clone(),
        technical_meta_data: m.technical_meta_data.clone(),
        time_created: m.time_created / 1_000_000,
        time_updated: m.time_updated / 1_000_000,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FolderView {
    pub folder_id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// `INITIAL` until analyses exist.
    pub resolution_status: String,
    pub system_resolution: String,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub technical_meta_data: Value,
    pub time_created: i64,
    pub time_updated: i64,
    pub media: Vec<MediaView>,
    /// With `with_analyses=true`: the folder's analyses, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<super::schema::AnalysisView>>)]
    pub analyses: Option<Vec<Value>>,
    /// With `with_user=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub user: Option<Value>,
    /// With `with_company=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub company: Option<Value>,
}

pub fn folder(base: &str, f: &FolderRow, media_rows: &[MediaRow]) -> FolderView {
    FolderView {
        folder_id: f.folder_id,
        company_id: f.company_id,
        user_id: f.user_id,
        resolution_status: f.resolution_status.to_string(),
        system_resolution: f.system_resolution.to_string(),
        meta_data: f.meta_data.clone(),
        technical_meta_data: f.technical_meta_data.clone(),
        time_created: f.time_created / 1_000_000,
        time_updated: f.time_updated / 1_000_000,
        media: media_rows
            .iter()
            .filter(|m| m.folder_id == f.folder_id)
            .map(|m| media(base, m))
            .collect(),
        analyses: None,
        user: None,
        company: None,
    }
}
