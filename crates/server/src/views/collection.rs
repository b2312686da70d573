//! The Oz JSON of collections (Oz §3.7): a collection, a person with its images, a person image
//! with the links to its file and thumbnail, and the answer of a 1:N search. Times in UNIX
//! seconds, as for folders and media.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use faceproof_engine::calibration::Calibration;

use crate::collections::Hit;
use crate::store::collections::{CollectionRow, PersonImageRow, PersonRow};

#[derive(Serialize, utoipa::ToSchema)]
pub struct CollectionView {
    pub collection_id: Uuid,
    pub alias: String,
    pub company_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    pub time_created: i64,
    pub time_updated: i64,
}

/// A collection.
pub fn collection(c: &CollectionRow) -> CollectionView {
    CollectionView {
        collection_id: c.collection_id,
        alias: c.alias.clone(),
        company_id: c.company_id,
        meta_data: c.meta_data.clone(),
        time_created: c.time_created / 1_000_000,
        time_updated: c.time_updated / 1_000_000,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonImageView {
    pub person_image_id: Uuid,
    pub person_id: Uuid,
    pub collection_id: Uuid,
    #[schema(value_type = String)]
    pub media_type: &'static str,
    pub original_name: String,
    pub original_url: String,
    pub thumb_url: Option<String>,
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

/// A person image, its file and thumbnail linked under `base` (the public URL).
pub fn person_image(base: &str, i: &PersonImageRow) -> PersonImageView {
    let url = |what: &str| {
        format!(
            "{base}/api/collections/{}/persons/{}/images/{}/{what}",
            i.collection_id, i.person_id, i.person_image_id
        )
    };
    PersonImageView {
        person_image_id: i.person_image_id,
        person_id: i.person_id,
        collection_id: i.collection_id,
        media_type: "IMAGE_FOLDER",
        original_name: i.original_name.clone(),
        original_url: url("file"),
        thumb_url: i.thumb_key.as_ref().map(|_| url("thumb")),
        tags: i.tags.clone(),
        info: json!({
            "kind": "IMAGE",
            "format": i.format,
            "mime": i.mime,
            "size": i.size_bytes,
            "width": i.width,
            "height": i.height,
            "embedding_model": i.embedding_model,
        }),
        meta_data: i.meta_data.clone(),
        technical_meta_data: i.technical_meta_data.clone(),
        time_created: i.time_created / 1_000_000,
        time_updated: i.time_updated / 1_000_000,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub person_id: Uuid,
    pub collection_id: Uuid,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    pub time_created: i64,
    pub time_updated: i64,
    pub images: Vec<PersonImageView>,
}

/// A person with its images (those of `images` that are its own).
pub fn person(base: &str, p: &PersonRow, images: &[PersonImageRow]) -> PersonView {
    PersonView {
        person_id: p.person_id,
        collection_id: p.collection_id,
        meta_data: p.meta_data.clone(),
        time_created: p.time_created / 1_000_000,
        time_updated: p.time_updated / 1_000_000,
        images: images
            .iter()
            .filter(|i| i.person_id == p.person_id)
            .map(|i| person_image(base, i))
            .collect(),
    }
}

/// The answer of a 1:N search: the searched `face`, the `hits` best first (each with its cosine
/// `similarity`, calibrated `confidence` and the person's `meta_data` from `person_meta`), whether
/// any matched, and the `threshold` fields of the decision.
pub fn search_result(
    collection_id: Uuid,
    face: &Value,
    hits: &[Hit],
    calibration: &Calibration,
    person_meta: &HashMap<Uuid, Value>,
    threshold: Value,
) -> Value {
    let hits: Vec<Value> = hits
        .iter()
        .map(|h| {
            json!({
                "collection_id": h.collection_id,
                "person_id": h.person_id,
                "person_image_id": h.person_image_id,
                "similarity": h.similarity,
                "confidence": calibration.confidence(h.similarity),
                "meta_data": person_meta.get(&h.person_id).cloned().unwrap_or_else(|| json!({})),
            })
        })
        .collect();
    let mut out = json!({
        "collection_id": collection_id,
        "match": !hits.is_empty(),
        "face": face,
        "hits": hits,
    });
    if let (Some(o), Value::Object(t)) = (out.as_object_mut(), threshold) {
        o.extend(t);
    }
    out
}
