//! `faceproof reindex`: re-embed enrolled photos with the running model pack.
//!
//! Embeddings record the pack that made them, and an index only ever compares vectors of its
//! own pack, so after a pack switch the people enrolled under the old pack are not found. This
//! pass reads each such image's stored photo, embeds it with the running pack under its
//! company's face policy, and replaces the vector in one short logged transaction
//! ([`crate::store::Store::person_image_reembed`]).
//!
//! - Resumable: only images whose `embedding_model` differs from the running pack are selected,
//!   so a stopped run goes on where it ended. A photo that no longer yields a face (or whose file
//!   is gone) is reported and left as it was: it stays unsearchable by the new pack.
//! - Safe while servers run: every re-embedded image is an `image_added` change-log entry that
//!   each running index replays. Servers on the new pack see the person reappear at once;
//!   servers still on the old pack see the image leave their index.

use std::collections::HashMap;

use faceproof_engine::{AnalyzeOptions, EngineError, FacePolicy};
use uuid::Uuid;

use super::face_policy;
use crate::blobs::BlobStore;
use crate::config::Config;
use crate::inference::Inference;
use crate::store::Store;

/// What a reindex run reads and writes through (the parts of the application state it needs;
/// taking them, not the state, keeps `collections` below `app`).
#[derive(Clone, Copy)]
pub struct Services<'a> {
    pub store: &'a Store,
    pub inference: &'a Inference,
    pub blobs: &'a dyn BlobStore,
    pub cfg: &'a Config,
}

/// Rows read per page.
const PAGE: i64 = 64;

/// What a reindex run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReindexReport {
    /// The running pack, which the images now carry.
    pub model: String,
    /// Images of other packs when the run started.
    pub total: u64,
    pub reembedded: u64,
    /// Images left as they were: (person_image_id, why).
    pub failed: Vec<(Uuid, String)>,
}

/// Re-embed every enrolled image of another pack with the running one; `progress(done, total)`
/// after each image.
pub async fn reindex(
    st: Services<'_>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<ReindexReport> {
    let model = st.inference.pack_id().to_string();
    let total = st.store.person_images_to_reindex_count(&model).await? as u64;
    let mut report = ReindexReport {
        model: model.clone(),
        total,
        ..ReindexReport::default()
    };
    let mut policies: HashMap<Uuid, FacePolicy> = HashMap::new();
    let mut after = None;
    let mut done = 0;
    loop {
        let page = st
            .store
            .person_images_to_reindex(&model, after, PAGE)
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.person_image_id);
        for image in page {
            let policy = match policies.get(&image.collection_id) {
                Some(p) => *p,
                None => {
                    let company = st
                        .store
                        .collection_get(image.collection_id)
                        .await?
                        .and_then(|c| c.company_id);
                    let p = face_policy(st.store, st.cfg, company)
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message))?;
                    policies.insert(image.collection_id, p);
                    p
                }
            };
            match embed_stored(st, &image.file_key, policy).await? {
                Ok(embedding) => {
                    if st
                        .store
                        .person_image_reembed(&image, &model, &embedding)
                        .await?
                        .is_some()
                    {
                        report.reembedded += 1;
                    }
                }
                Err(why) => report.failed.push((image.person_image_id, why)),
            }
            done += 1;
            progress(done, total.max(done));
        }
    }
    Ok(report)
}

/// The embedding of a stored photo's subject, or why there is none (a media problem, not a
/// reason to stop the run).
async fn embed_stored(
    st: Services<'_>,
    file_key: &str,
    policy: FacePolicy,
) -> anyhow::Result<Result<Vec<f32>, String>> {
    let bytes = match st.blobs.get(file_key).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Err("the stored photo is missing".into()))
        }
        Err(e) => return Err(e.into()),
    };
    let result = st
        .inference
        .run("reindex", move |engine| -> Result<Vec<f32>, EngineError> {
            let decoded = engine.decode(&bytes)?;
            let frame = decoded.frames.first().ok_or(EngineError::NoFace)?;
            let opts = AnalyzeOptions {
                policy,
                embedding: true,
                liveness: false,
                attributes: false,
                expression: false,
            };
            engine
                .analyze_image(&frame.image, &opts)?
                .face()
                .and_then(|f| f.embedding.clone())
                .ok_or(EngineError::NoFace)
        })
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(
            e @ (EngineError::NoFace
            | EngineError::MultipleFaces { .. }
            | EngineError::FaceChanged { .. }
            | EngineError::Unreadable { .. }
            | EngineError::UnsupportedFormat(_)
            | EngineError::TooLarge(_)),
        ) => Ok(Err(e.code().to_string())),
        Err(e) => Err(e.into()),
    }
}
