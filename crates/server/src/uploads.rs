//! Media uploads: read the multipart body (files under any keys plus a `payload` JSON), validate
//! every file with the engine's [`inspect`] (a photo decoded within the still limits, every frame
//! of a shots set decoded, a video probed and its first frame decoded, small), make a JPEG
//! thumbnail, then store blobs and rows so that a failure at any step leaves nothing behind.
//! Validations hold a decode permit ([`crate::inference::decode_permit`]), so their memory is
//! bounded with the analyses'.
//!
//! Spooling: a file is held in memory up to `upload_memory_bytes` ([`Body::Memory`]); past that
//! it is written, chunk by chunk as it arrives, to a file in this process's scratch area
//! ([`crate::blobs::scratch`]) and checked there ([`Body::Spooled`]: a video is probed by ffmpeg
//! where it lies, a photo or archive read back for its decoder), then streamed to the media store
//! part by part ([`crate::blobs::BlobStore::put_file`]). So a large video never sits whole in
//! the server's memory on its way to the store. The scratch file is deleted when the request
//! ends, whatever the outcome (a killed process's files go at the next start). Instant analyses
//! read it back whole, as stored analyses read their file from the store.
//!
//! Error mapping (documented in the OpenAPI description of the upload endpoints):
//! - malformed multipart or `payload` JSON, wrong block shapes → 3 (400);
//! - unknown tag, no file where one is required, too many files → 4 (400);
//! - corrupt or truncated image/video/archive → 4 (400);
//! - a file over `max_file_bytes`, a request over `max_request_bytes`, a video over
//!   `max_video_seconds` or `max_video_pixels`, a photo over `max_decode_bytes`, a shots set of
//!   more than `max_shots` frames or `max_shots_pixels` pixels (read from the frames' headers
//!   before any is decoded), ffprobe/ffmpeg over `media_tool_timeout_secs`, a request whose
//!   checks outlast `upload_decode_budget_secs` → 4 (413);
//! - content of no supported format (decided from the bytes, not the name) → 5 (415);
//! - ffmpeg missing or failing to run → 11 (503).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;

use axum::extract::multipart::Field;
use axum::extract::Multipart;
use faceproof_engine::media::{inspect, inspect_file, Format, Inspected, MediaKind, SNIFF_BYTES};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::blobs::{put_original_and_thumb, BlobStore, Source};
use crate::config::Config;
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::folders::{FolderRow, MediaRow};
use crate::store::{now_us, Store};

/// The media tags of Oz API §4.5; anything else is refused with error 4.
pub const KNOWN_TAGS: &[&str] = &[
    "video_selfie",
    "orientation_portrait",
    "orientation_landscape",
    "video_selfie_left",
    "video_selfie_right",
    "video_selfie_down",
    "video_selfie_high",
    "video_selfie_smile",
    "video_selfie_eyes",
    "video_selfie_scan",
    "video_selfie_blank",
    "video_selfie_oneshot",
    "video_selfie_zoom_in",
    "video_selfie_zoom_out",
    "photo_selfie",
    "photo_id",
    "photo_id_front",
    "photo_id_back",
];

/// Refuse tags outside [`KNOWN_TAGS`] (error 4) and drop duplicates, keeping order.
pub fn check_tags(tags: &[String]) -> ApiResult<Vec<String>> {
    let unknown: Vec<&String> = tags
        .iter()
        .filter(|t| !KNOWN_TAGS.contains(&t.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::value(format!(
            "Unknown media tag(s): {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .with_details(json!({ "unknown_tags": unknown, "known_tags": KNOWN_TAGS })));
    }
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

/// The `payload` form field.
#[derive(Debug, Default)]
pub struct Payload {
    pub media_tags: HashMap<String, Vec<String>>,
    pub folder_meta: Option<Value>,
    pub media_meta: HashMap<String, Value>,
    /// `analyses` in the payload asks for the single-request mode: the order, as sent.
    pub analyses: Option<Value>,
    /// A webhook URL for those analyses.
    pub resolution_endpoint: Option<Value>,
    /// `person:meta_data` (collection enrolment).
    pub person_meta: Option<Value>,
}

impl Payload {
    /// The tags sent for the file under form key `key` (none when not named).
    pub fn tags_of(&self, key: &str) -> Vec<String> {
        self.media_tags.get(key).cloned().unwrap_or_default()
    }

    /// The `media:meta_data` sent for the file under form key `key` (`{}` when not named).
    pub fn meta_of(&self, key: &str) -> Value {
        self.media_meta
            .get(key)
            .cloned()
            .unwrap_or_else(|| json!({}))
    }
}

pub fn parse_payload(text: &str) -> ApiResult<Payload> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::structure(format!("payload is not valid JSON: {e}")))?;
    let Value::Object(map) = v else {
        return Err(ApiError::structure("payload must be a JSON object"));
    };
    let mut p = Payload {
        analyses: map.get("analyses").cloned(),
        resolution_endpoint: map.get("resolution_endpoint").cloned(),
        ..Payload::default()
    };
    if let Some(tags) = map.get("media:tags") {
        let Value::Object(tags) = tags else {
            return Err(ApiError::structure(
                "media:tags must be an object of key → [tag]",
            ));
        };
        for (key, list) in tags {
            let list: Vec<String> = serde_json::from_value(list.clone()).map_err(|_| {
                ApiError::structure(format!("media:tags.{key} must be a list of strings"))
            })?;
            p.media_tags.insert(key.clone(), check_tags(&list)?);
        }
    }
    if let Some(meta) = map.get("folder:meta_data") {
        crate::metadata::check(meta, "folder:meta_data")?;
        p.folder_meta = Some(meta.clone());
    }
    match map.get("person:meta_data") {
        None | Some(Value::Null) => {}
        Some(m @ Value::Object(_)) => {
            crate::metadata::check(m, "person:meta_data")?;
            // A person's names are names like a user's: one line each, as long.
            for part in ["first_name", "middle_name", "last_name"] {
                if let Some(Value::String(n)) = m.get("person_info").and_then(|i| i.get(part)) {
                    crate::text::line(&format!("person_info.{part}"), n, crate::text::NAME_CHARS)?;
                }
            }
            p.person_meta = Some(m.clone())
        }
        Some(_) => return Err(ApiError::structure("person:meta_data must be an object")),
    }
    if let Some(meta) = map.get("media:meta_data") {
        let Value::Object(meta) = meta else {
            return Err(ApiError::structure(
                "media:meta_data must be an object of key → object",
            ));
        };
        for (key, m) in meta {
            crate::metadata::check(m, &format!("media:meta_data.{key}"))?;
            p.media_meta.insert(key.clone(), m.clone());
        }
    }
    Ok(p)
}

pub struct IncomingFile {
    pub key: String,
    pub name: String,
    pub body: Body,
}

/// Where an uploaded file's bytes are (see the module doc, Spooling).
pub enum Body {
    /// Held whole: at most `upload_memory_bytes`.
    Memory(Vec<u8>),
    /// In the scratch area; the file is deleted when this is dropped.
    Spooled {
        path: tempfile::TempPath,
        len: u64,
        /// The first [`SNIFF_BYTES`] bytes, to tell the format without reading the file.
        head: Vec<u8>,
    },
}

impl IncomingFile {
    pub fn len(&self) -> u64 {
        match &self.body {
            Body::Memory(b) => b.len() as u64,
            Body::Spooled { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file's first bytes (at most [`SNIFF_BYTES`]), for [`faceproof_engine::media::sniff`].
    pub fn head(&self) -> &[u8] {
        match &self.body {
            Body::Memory(b) => &b[..b.len().min(SNIFF_BYTES)],
            Body::Spooled { head, .. } => head,
        }
    }

    /// Where a store put reads the bytes from.
    pub fn source(&self) -> Source<'_> {
        match &self.body {
            Body::Memory(b) => Source::Memory(b),
            Body::Spooled { path, .. } => Source::File(path),
        }
    }

    /// The whole content in memory, for decoders that need all of it (a spooled file is read;
    /// blocking: call it on a blocking thread).
    pub fn contents(&self) -> std::io::Result<Cow<'_, [u8]>> {
        match &self.body {
            Body::Memory(b) => Ok(Cow::Borrowed(b)),
            Body::Spooled { path, .. } => std::fs::read(path).map(Cow::Owned),
        }
    }

    /// The whole content, owned (a spooled file is read, then deleted).
    pub async fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self.body {
            Body::Memory(b) => Ok(b),
            Body::Spooled { path, .. } => tokio::fs::read(&path).await,
        }
    }
}

/// Read one file field of a multipart body: in memory up to `memory_bytes`, then into a scratch
/// file under `spool_dir`, chunk by chunk. More than `max_bytes` ends the reading with
/// `too_large()` (the partial scratch file is deleted).
pub async fn read_file_field(
    field: &mut Field<'_>,
    max_bytes: u64,
    memory_bytes: u64,
    spool_dir: &Path,
    too_large: impl Fn() -> ApiError,
) -> ApiResult<Body> {
    let mut memory: Vec<u8> = Vec::new();
    let mut head: Vec<u8> = Vec::new();
    let mut spool: Option<Spool> = None;
    let mut len: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        len += chunk.len() as u64;
        if len > max_bytes {
            return Err(too_large());
        }
        let room = SNIFF_BYTES - head.len();
        head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if let Some(s) = &mut spool {
            s.out.write_all(&chunk).await.map_err(spool_error)?;
        } else if len > memory_bytes {
            let mut s = Spool::create(spool_dir).await.map_err(spool_error)?;
            s.out.write_all(&memory).await.map_err(spool_error)?;
            s.out.write_all(&chunk).await.map_err(spool_error)?;
            memory = Vec::new();
            spool = Some(s);
        } else {
            memory.extend_from_slice(&chunk);
        }
    }
    let Some(mut s) = spool else {
        return Ok(Body::Memory(memory));
    };
    s.out.flush().await.map_err(spool_error)?;
    Ok(Body::Spooled {
        path: s.path,
        len,
        head,
    })
}

/// A scratch file being written.
struct Spool {
    path: tempfile::TempPath,
    out: tokio::io::BufWriter<tokio::fs::File>,
}

impl Spool {
    async fn create(dir: &Path) -> std::io::Result<Spool> {
        let dir = dir.to_path_buf();
        let named = tokio::task::spawn_blocking(move || {
            // The process's scratch directory exists once the server runs; not in unit tests.
            std::fs::create_dir_all(&dir)?;
            tempfile::Builder::new()
                .prefix("faceproof-upload-")
                .tempfile_in(&dir)
        })
        .await
        .map_err(std::io::Error::other)??;
        let (file, path) = named.into_parts();
        Ok(Spool {
            path,
            out: tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file)),
        })
    }
}

fn spool_error(e: std::io::Error) -> ApiError {
    ApiError::internal(format!("writing an upload to the temporary area: {e}"))
}

#[derive(Default)]
pub struct Upload {
    pub payload: Payload,
    pub files: Vec<IncomingFile>,
}

/// A multipart reading error as the API reports it: over the size limit → 413, otherwise 3.
pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            Code::TooLarge,
            "The request is over the configured size limit",
        )
    } else {
        ApiError::structure(format!("Malformed multipart body: {}", e.body_text()))
    }
}

/// Read the multipart body: `payload` and `additional_info` are text; every other field that has a
/// file name or a non-text content type is a media file. `additional_info` (the capture
/// environment a web plugin reports: device, browser, timings) is kept in every uploaded media's
/// `meta_data.additional_info`, unless the payload's `media:meta_data` sets that key itself.
/// The first problem ends the reading; the rest of the body is drained by the HTTP layer (its
/// `drain` middleware) so the client still gets the error.
pub async fn read_multipart(mut mp: Multipart, cfg: &Config) -> ApiResult<Upload> {
    let spool_dir = crate::inference::scratch_dir(cfg);
    let mut payload = None;
    let mut additional_info = None;
    let mut files = Vec::new();
    // Keys of other text fields: a tagged media key sent as text is named in the error.
    let mut text_keys: Vec<String> = Vec::new();
    while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
        let key = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let is_text = field
            .content_type()
            .is_none_or(|ct| ct.starts_with("text/"));
        if key == "payload" {
            let text = read_text_field(&mut field, "payload", MAX_PAYLOAD_BYTES).await?;
            payload = Some(parse_payload(&text)?);
            continue;
        }
        if key == "additional_info" {
            let text = read_text_field(&mut field, &key, MAX_TEXT_FIELD_BYTES).await?;
            additional_info = Some(clean_additional_info(&text));
            continue;
        }
        if file_name.is_none() && is_text {
            // Any other text field is not read: skipped with the rest of the part.
            text_keys.push(key);
            continue;
        }
        if let Some(name) = &file_name {
            crate::text::line("file name", name, crate::text::FILE_NAME_CHARS).map_err(|e| {
                e.with_details(json!({ "media_key": key, "reason": "text_limits" }))
            })?;
        }
        if files.len() >= cfg.max_files_per_folder {
            return Err(ApiError::value(format!(
                "Too many files: at most {} per folder",
                cfg.max_files_per_folder
            )));
        }
        let body = read_file_field(
            &mut field,
            cfg.max_file_bytes,
            cfg.upload_memory_bytes,
            &spool_dir,
            || {
                ApiError::new(
                    Code::TooLarge,
                    format!(
                        "File '{key}' is over the limit of {} bytes",
                        cfg.max_file_bytes
                    ),
                )
                .with_details(json!({ "media_key": key, "max_file_bytes": cfg.max_file_bytes }))
            },
        )
        .await?;
        files.push(IncomingFile {
            key: key.clone(),
            name: file_name.unwrap_or(key),
            body,
        });
    }
    let mut payload = payload.unwrap_or_default();
    if let Some(key) = text_keys.iter().find(|k| {
        payload.media_tags.contains_key(k.as_str()) && !files.iter().any(|f| &f.key == *k)
    }) {
        return Err(ApiError::value(format!(
            "'{key}' is tagged as media but was sent as a text field, not as a file"
        ))
        .with_details(json!({ "media_key": key })));
    }
    if let Some(info) = additional_info.filter(|i| !i.is_empty()) {
        for f in &files {
            let meta = payload
                .media_meta
                .entry(f.key.clone())
                .or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.entry("additional_info").or_insert_with(|| json!(info));
            }
        }
    }
    Ok(Upload { payload, files })
}

/// The largest `payload` field read (256 KiB: its metadata objects are at most 16 KiB each).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The largest other text field read (`additional_info`, the plugin's form fields).
pub const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;

/// A text field read as it streams, refused (413) as soon as it passes `max` bytes: a 100 MB
/// `payload` is never held whole.
pub async fn read_text_field(field: &mut Field<'_>, key: &str, max: usize) -> ApiResult<String> {
    let mut out: Vec<u8> = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if out.len() + chunk.len() > max {
            return Err(ApiError::new(
                Code::TooLarge,
                format!("The '{key}' field is over the limit of {max} bytes"),
            )
            .with_details(json!({ "field": key, "max_bytes": max })));
        }
        out.extend_from_slice(&chunk);
    }
    // As multipart text is read elsewhere: UTF-8, a leading byte-order mark dropped, anything
    // undecodable replaced.
    let text = String::from_utf8_lossy(&out);
    Ok(text.strip_prefix('\u{feff}').unwrap_or(&text).to_string())
}

/// `additional_info` as stored: control characters dropped, at most 2000 characters (it is
/// free text from the client, shown back in media and folder metadata).
pub fn clean_additional_info(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(2000)
        .collect()
}

/// A validated file ready to store.
pub struct Prepared {
    pub file: IncomingFile,
    pub format: Format,
    pub kind: MediaKind,
    pub width: u32,
    pub height: u32,
    pub duration_ms: Option<i64>,
    /// Frames of a shots set; 1 for a still; 0 for a video.
    pub frames: usize,
    /// Of those, a shots set's rest frames (the web plugin's `…_rest` entries).
    pub rest_frames: usize,
    pub thumb: Option<Vec<u8>>,
}

fn thumbnail(preview: image::RgbImage) -> Option<Vec<u8>> {
    let img = image::DynamicImage::ImageRgb8(preview).thumbnail(320, 320);
    let mut out = Cursor::new(Vec::new());
    img.to_rgb8()
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .ok()?;
    Some(out.into_inner())
}

/// Validate uploaded files, one at a time under a decode permit. The files of one request share
/// a wall-clock budget (`upload_decode_budget_secs`, waits for a permit not counted): a shots set
/// still being decoded when it is spent is refused (413). When the request is dropped — the
/// client hung up — the decode in progress stops at its next frame instead of running on.
pub async fn prepare(files: Vec<IncomingFile>, cfg: &Config) -> ApiResult<Vec<Prepared>> {
    let limits = crate::inference::upload_limits(cfg);
    let mut left = std::time::Duration::from_secs_f32(cfg.upload_decode_budget_secs.max(0.001));
    // Set when this future is dropped with a decode under way (see `CancelOnDrop`).
    let cancel = CancelOnDrop::default();
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let permit = crate::inference::decode_permit().await?;
        let started = std::time::Instant::now();
        let limits = faceproof_engine::media::Limits {
            deadline: Some(started + left),
            cancel: Some(cancel.0.clone()),
            ..limits.clone()
        };
        let (file, result) = tokio::task::spawn_blocking(move || {
            let inspected = match &file.body {
                Body::Memory(bytes) => inspect(bytes, &limits),
                Body::Spooled { path, .. } => inspect_file(path, &limits),
            };
            if matches!(inspected, Err(faceproof_engine::EngineError::Cancelled)) {
                tracing::info!("upload checks stopped: the client hung up");
            }
            let r = inspected.map_err(ApiError::from).map(|i: Inspected| {
                (
                    i.format,
                    i.kind(),
                    i.width,
                    i.height,
                    i.duration.map(|s| (s * 1000.0).round() as i64),
                    (i.frames, i.rest_frames),
                    thumbnail(i.preview),
                )
            });
            (file, r)
        })
        .await
        .map_err(ApiError::internal)?;
        drop(permit);
        left = left.saturating_sub(started.elapsed());
        let (format, kind, width, height, duration_ms, (frames, rest_frames), thumb) = result
            .map_err(|mut err| {
                err.message = format!("File '{}': {}", file.key, err.message);
                err.details = json!({ "media_key": file.key, "reason": err.details.get("reason") });
                err
            })?;
        out.push(Prepared {
            file,
            format,
            kind,
            width,
            height,
            duration_ms,
            frames,
            rest_frames,
            thumb,
        });
    }
    Ok(out)
}

/// A flag raised when dropped: the blocking decode of an abandoned request reads it between
/// frames ([`faceproof_engine::media::Limits::cancel`]) and stops.
#[derive(Default)]
struct CancelOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Store blobs, then rows in one transaction (with the new folder, when given). On any failure
/// the blobs already written are deleted, so nothing half-stored remains.
pub async fn commit(
    store: &Store,
    blobs: &dyn BlobStore,
    folder: Option<&FolderRow>,
    folder_id: Uuid,
    prepared: Vec<Prepared>,
    payload: &Payload,
) -> ApiResult<Vec<MediaRow>> {
    let now = now_us();
    let mut rows = Vec::with_capacity(prepared.len());
    let mut written: Vec<String> = Vec::new();
    let result: ApiResult<()> = async {
        for (i, p) in prepared.into_iter().enumerate() {
            let media_id = Uuid::new_v4();
            let dir = format!("folders/{folder_id}/{media_id}");
            written.push(dir.clone());
            let (file_key, thumb_key) = put_original_and_thumb(
                blobs,
                &dir,
                p.format.extension(),
                p.file.source(),
                p.thumb.as_deref(),
            )
            .await?;
            let mut row = media_row(&p, payload, folder_id, media_id, now + i as i64);
            row.file_key = file_key;
            row.thumb_key = thumb_key;
            rows.push(row);
        }
        store.folder_insert(folder, &rows).await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        for dir in &written {
            if let Err(err) = blobs.delete_prefix(dir).await {
                tracing::error!("cleaning up after a failed upload: {err}");
            }
        }
        if folder.is_some() {
            let _ = blobs.delete_prefix(&format!("folders/{folder_id}")).await;
        }
        return Err(e);
    }
    Ok(rows)
}

/// Media rows for validated files that are not stored (Instant), ids fresh.
pub fn ephemeral_rows(prepared: &[Prepared], payload: &Payload, folder_id: Uuid) -> Vec<MediaRow> {
    let now = now_us();
    prepared
        .iter()
        .enumerate()
        .map(|(i, p)| media_row(p, payload, folder_id, Uuid::new_v4(), now + i as i64))
        .collect()
}

/// The row of a validated file (no storage keys yet); `time` keeps upload order stable when
/// sorting by time.
fn media_row(
    p: &Prepared,
    payload: &Payload,
    folder_id: Uuid,
    media_id: Uuid,
    time: i64,
) -> MediaRow {
    let kind = crate::domain::MediaKind::from(p.kind);
    MediaRow {
        media_id,
        folder_id,
        media_kind: kind,
        media_type: kind.media_type(),
        format: format!("{:?}", p.format).to_lowercase(),
        mime: p.format.mime().into(),
        original_name: p.file.name.clone(),
        file_key: String::new(),
        thumb_key: None,
        size_bytes: p.file.len() as i64,
        width: p.width as i64,
        height: p.height as i64,
        duration_ms: p.duration_ms,
        tags: payload.tags_of(&p.file.key),
        meta_data: payload.meta_of(&p.file.key),
        // a shots set's frame count: its media object lists each frame (`images[]`)
        technical_meta_data: if p.kind == MediaKind::ShotsSet {
            json!({ "media_key": p.file.key, "frames": p.frames })
        } else {
            json!({ "media_key": p.file.key })
        },
        time_created: time,
        time_updated: time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_blocks() {
        let p = parse_payload(r#"{"media:tags":{"v":["video_selfie","video_selfie_blank"]},"folder:meta_data":{"a":1},"media:meta_data":{"v":{"x":"y"}}}"#).unwrap();
        assert_eq!(p.media_tags["v"].len(), 2);
        assert_eq!(p.folder_meta.unwrap()["a"], 1);
        assert_eq!(
            parse_payload(r#"{"media:tags":{"v":["nope"]}}"#)
                .unwrap_err()
                .code,
            Code::InvalidValue
        );
        assert_eq!(
            parse_payload("{not json").unwrap_err().code,
            Code::InvalidStructure
        );
        assert_eq!(
            parse_payload(r#"{"folder:meta_data":[1]}"#)
                .unwrap_err()
                .code,
            Code::InvalidStructure
        );
    }
}
