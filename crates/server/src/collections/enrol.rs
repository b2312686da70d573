//! Enrolment: every uploaded photo embedded once (one face each), then files, rows and
//! change-log entries stored together or not at all (see the parent module).

use faceproof_engine::{AnalyzeOptions, EngineError, FacePolicy};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::blobs::{put_original_and_thumb, BlobStore};
use crate::errors::{ApiError, ApiResult, Code};
use crate::inference::Inference;
use crate::store::collections::{Change, NewPersonImage, PersonImageRow, PersonRow};
use crate::store::now_us;
use crate::uploads::{Payload, Prepared};

/// The face found on one enrolled photo.
pub struct Embedded {
    pub prepared: Prepared,
    pub embedding: Vec<f32>,
    /// Box, detector score and quality of the face (stored as the image's technical metadata).
    pub face: Value,
}

fn face_error(key: &str, e: EngineError) -> ApiError {
    let (message, details) = match &e {
        EngineError::NoFace => (
            format!("File '{key}': no face found"),
            json!({ "media_key": key, "reason": "no_face" }),
        ),
        EngineError::MultipleFaces { count } => (
            format!("File '{key}': {count} faces of comparable size found; a collection photo must show one person"),
            json!({ "media_key": key, "reason": "multiple_faces", "faces": count }),
        ),
        _ => {
            let mut err = ApiError::from(e);
            err.message = format!("File '{key}': {}", err.message);
            err.details = json!({ "media_key": key, "reason": err.details.get("reason") });
            return err;
        }
    };
    ApiError::new(Code::InvalidValue, message).with_details(details)
}

/// The face policy of a company's photos: `strict` when its `face_policy` setting (else the
/// server's) says so, otherwise the dominant face with bystanders allowed.
pub async fn face_policy(
    store: &crate::store::Store,
    cfg: &crate::config::Config,
    company: Option<Uuid>,
) -> ApiResult<FacePolicy> {
    let setting = match company {
        Some(c) => store.company_settings(c).await?,
        None => None,
    };
    let strict = match setting
        .as_ref()
        .and_then(|s| s.get("face_policy"))
        .and_then(Value::as_str)
    {
        Some(p) => p.parse() == Ok(crate::domain::FacePolicy::Strict),
        None => cfg.strict_faces(),
    };
    Ok(if strict {
        FacePolicy::Strict
    } else {
        FacePolicy::Dominant
    })
}

/// Detect the subject's face on each photo under `policy` and embed it (once, through the
/// inference pool). The first photo that fails refuses them all.
pub async fn embed_photos(
    inference: &Inference,
    photos: Vec<Prepared>,
    policy: FacePolicy,
) -> ApiResult<Vec<Embedded>> {
    let mut out = Vec::with_capacity(photos.len());
    for prepared in photos {
        let key = prepared.file.key.clone();
        let (prepared, result) = inference
            .run("enrol", move |engine| {
                let opts = AnalyzeOptions {
                    policy,
                    embedding: true,
                    liveness: false,
                    attributes: false,
                    expression: false,
                };
                let result = prepared
                    .file
                    .contents()
                    .map_err(EngineError::from)
                    .and_then(|bytes| engine.decode(&bytes))
                    .and_then(|decoded| {
                        let frame = decoded.frames.first().ok_or(EngineError::NoFace)?;
                        engine.analyze_image(&frame.image, &opts)
                    });
                (prepared, result)
            })
            .await?;
        let report = result.map_err(|e| face_error(&key, e))?;
        let face = report
            .face()
            .ok_or_else(|| face_error(&key, EngineError::NoFace))?;
        let embedding = face
            .embedding
            .clone()
            .ok_or_else(|| ApiError::internal("the engine returned no embedding"))?;
        let face_json = json!({
            "media_key": key,
            "face": {
                "bbox": face.detection.bbox,
                "score": face.detection.score,
                "quality": face.quality.score,
            },
        });
        out.push(Embedded {
            prepared,
            embedding,
            face: face_json,
        });
    }
    Ok(out)
}

/// Where a person's files live in the blob store.
pub fn person_prefix(collection_id: Uuid, person_id: Uuid) -> String {
    format!("collections/{collection_id}/{person_id}")
}

/// Write the photos' files, then (through `insert`) the rows and change-log entries in one
/// transaction. On failure the files written are deleted, so nothing half-stored remains.
pub async fn store_images<F, Fut>(
    blobs: &dyn BlobStore,
    person: &PersonRow,
    embedded: Vec<Embedded>,
    payload: &Payload,
    embedding_model: &str,
    insert: F,
) -> ApiResult<(Vec<PersonImageRow>, Vec<Change>)>
where
    F: FnOnce(Vec<NewPersonImage>) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Vec<Change>>>,
{
    let now = now_us();
    let mut written: Vec<String> = Vec::new();
    let mut images = Vec::with_capacity(embedded.len());
    let result: ApiResult<Vec<Change>> = async {
        for (i, e) in embedded.into_iter().enumerate() {
            let p = e.prepared;
            let image_id = Uuid::new_v4();
            let dir = format!(
                "{}/{image_id}",
                person_prefix(person.collection_id, person.person_id)
            );
            written.push(dir.clone());
            let (file_key, thumb_key) = put_original_and_thumb(
                blobs,
                &dir,
                p.format.extension(),
                p.file.source(),
                p.thumb.as_deref(),
            )
            .await?;
            images.push(NewPersonImage {
                row: PersonImageRow {
                    person_image_id: image_id,
                    person_id: person.person_id,
                    collection_id: person.collection_id,
                    format: format!("{:?}", p.format).to_lowercase(),
                    mime: p.format.mime().into(),
                    original_name: p.file.name.clone(),
                    file_key,
                    thumb_key,
                    size_bytes: p.file.len() as i64,
                    width: p.width as i64,
                    height: p.height as i64,
                    tags: payload.tags_of(&p.file.key),
                    meta_data: payload.meta_of(&p.file.key),
                    technical_meta_data: e.face,
                    embedding_model: embedding_model.to_string(),
                    // keep upload order stable when sorting by time
                    time_created: now + i as i64,
                    time_updated: now + i as i64,
                },
                embedding: e.embedding,
            });
        }
        insert(images.clone()).await
    }
    .await;
    match result {
        Ok(changes) => Ok((images.into_iter().map(|i| i.row).collect(), changes)),
        Err(e) => {
            for dir in &written {
                if let Err(err) = blobs.delete_prefix(dir).await {
                    tracing::error!("cleaning up after a failed enrolment: {err}");
                }
            }
            Err(e)
        }
    }
}
