//! The per-process search index over enrolled embeddings, caught up with the change log before
//! every search (see the parent module).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use faceproof_engine::search::{FlatIndex, Precision};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::store::collections::{Change, ChangeOp};
use crate::store::Store;

/// One search result: the most similar photo of one enrolled person.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub collection_id: Uuid,
    pub person_id: Uuid,
    pub person_image_id: Uuid,
    /// Cosine similarity of the embeddings (map to a confidence with the engine's calibration).
    pub similarity: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    person: Uuid,
    image: Uuid,
}

/// Change-log entries read per catch-up query / embeddings per page of the initial load.
const CHANGES_PAGE: i64 = 10_000;
const LOAD_PAGE: i64 = 5_000;
/// Below this many faces a search runs inline; above, on the blocking pool.
const INLINE_SEARCH_ROWS: usize = 20_000;
/// From this many faces a search splits the rows among the cores.
const PARALLEL_SEARCH_ROWS: usize = 50_000;

#[derive(Default)]
struct State {
    loaded: bool,
    /// Every change-log entry up to this one is reflected.
    last_seq: i64,
    collections: HashMap<Uuid, FlatIndex<Key>>,
}

impl State {
    fn add(&mut self, collection: Uuid, key: Key, embedding: &[f32]) {
        let index = self.collections.entry(collection).or_insert_with(|| {
            // Half-precision rows: half the memory and time of a scan, rankings unchanged
            // (the engine's `search` module; scores within ~1e-4 of f32).
            FlatIndex::new(embedding.len()).with_precision(Precision::F16)
        });
        if let Err(e) = index.add(key, embedding) {
            tracing::warn!(
                person_image_id = %key.image,
                "enrolled embedding not indexed: {e}"
            );
        }
    }

    fn apply(&mut self, change: &Change) {
        match change.op {
            ChangeOp::ImageAdded => {
                if let (Some(person), Some(image), Some(embedding)) = (
                    change.person_id,
                    change.person_image_id,
                    change.embedding.as_deref(),
                ) {
                    self.add(change.collection_id, Key { person, image }, embedding);
                }
            }
            ChangeOp::ImageRemoved => {
                if let (Some(person), Some(image), Some(index)) = (
                    change.person_id,
                    change.person_image_id,
                    self.collections.get_mut(&change.collection_id),
                ) {
                    index.remove(&Key { person, image });
                }
            }
            ChangeOp::PersonRemoved => {
                if let (Some(person), Some(index)) = (
                    change.person_id,
                    self.collections.get_mut(&change.collection_id),
                ) {
                    index.retain(|k| k.person != person);
                }
            }
            ChangeOp::CollectionRemoved => {
                self.collections.remove(&change.collection_id);
            }
        }
        self.last_seq = change.seq;
    }
}

/// The process-wide search index over enrolled embeddings (see the module doc).
#[derive(Default)]
pub struct CollectionIndex {
    state: Arc<RwLock<State>>,
    /// Serialises loading and catching up, so `last_seq` only moves forward.
    refresh: Mutex<()>,
    /// The model pack whose embeddings this process compares (those of other packs are left
    /// out: a vector from another model has no meaningful similarity to ours).
    model: String,
}

impl CollectionIndex {
    /// An index over the embeddings made by model pack `model` (the engine's pack id).
    pub fn new(model: &str) -> Self {
        CollectionIndex {
            model: model.to_string(),
            ..CollectionIndex::default()
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Load (first call) or catch up with the change log.
    pub async fn refresh(&self, store: &Store) -> anyhow::Result<()> {
        let _guard = self.refresh.lock().await;
        if !self.read().loaded {
            return self.load(store).await;
        }
        loop {
            let last = self.read().last_seq;
            let changes = store
                .collection_changes_since(last, CHANGES_PAGE, &self.model)
                .await?;
            if changes.is_empty() {
                return Ok(());
            }
            if changes[0].seq != last + 1 {
                tracing::warn!(
                    last,
                    next = changes[0].seq,
                    "collection change log has a hole; reloading the index"
                );
                return self.load(store).await;
            }
            let full = changes.len() as i64 == CHANGES_PAGE;
            {
                let mut state = self.write();
                for c in &changes {
                    state.apply(c);
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn load(&self, store: &Store) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let seq = store.collection_change_seq().await?;
        let mut fresh = State {
            loaded: true,
            last_seq: seq,
            collections: HashMap::new(),
        };
        let mut after = None;
        let mut count = 0usize;
        loop {
            let page = store
                .collection_embeddings_page(after, LOAD_PAGE, &self.model)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.person_image_id);
            count += page.len();
            let short = (page.len() as i64) < LOAD_PAGE;
            for e in page {
                fresh.add(
                    e.collection_id,
                    Key {
                        person: e.person_id,
                        image: e.person_image_id,
                    },
                    &e.embedding,
                );
            }
            if short {
                break;
            }
        }
        *self.write() = fresh;
        tracing::info!(
            faces = count,
            seq,
            ms = started.elapsed().as_millis() as u64,
            "collection index loaded"
        );
        // Whatever committed while loading is replayed (idempotently) by the next catch-up.
        Ok(())
    }

    /// Apply the change-log entries this process has just committed, without a round trip when
    /// they follow on from what the index holds (otherwise catch up from the log).
    pub async fn applied(&self, store: &Store, changes: &[Change]) -> anyhow::Result<()> {
        {
            let _refreshing = self.refresh.lock().await;
            let mut state = self.write();
            if !state.loaded {
                return Ok(()); // the lazy load will read them
            }
            let mut sorted: Vec<&Change> = changes.iter().collect();
            sorted.sort_by_key(|c| c.seq);
            if sorted.iter().all(|c| c.seq <= state.last_seq) {
                return Ok(()); // a catch-up got there first
            }
            let first = state.last_seq + 1;
            if sorted
                .iter()
                .enumerate()
                .all(|(i, c)| c.seq == first + i as i64)
            {
                for c in sorted {
                    state.apply(c);
                }
                return Ok(());
            }
        }
        self.refresh(store).await
    }

    /// Number of faces indexed in a collection (after the last refresh).
    pub fn faces_in(&self, collection_id: Uuid) -> usize {
        self.read()
            .collections
            .get(&collection_id)
            .map_or(0, |i| i.len())
    }

    /// Faces (enrolled photos of this pack) in the collections `collection_ids`, after catching
    /// up with the change log: the gallery size a search's default threshold scales with.
    pub async fn gallery_faces(
        &self,
        store: &Store,
        collection_ids: &[Uuid],
    ) -> anyhow::Result<usize> {
        self.refresh(store).await?;
        let unique: std::collections::HashSet<&Uuid> = collection_ids.iter().collect();
        let state = self.read();
        Ok(unique
            .into_iter()
            .filter_map(|c| state.collections.get(c))
            .map(|i| i.len())
            .sum())
    }

    /// Best first; only collections in `collection_ids`; at most k hits; similarity ≥ min_similarity.
    ///
    /// One hit per person (the person's most similar photo), so `k` counts persons. Catches up
    /// with the change log first.
    pub async fn search(
        &self,
        store: &Store,
        collection_ids: &[Uuid],
        embedding: &[f32],
        min_similarity: f32,
        k: usize,
    ) -> anyhow::Result<Vec<Hit>> {
        self.refresh(store).await?;
        if k == 0 || collection_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: usize = {
            let state = self.read();
            collection_ids
                .iter()
                .filter_map(|c| state.collections.get(c))
                .map(|i| i.len())
                .sum()
        };
        if rows < INLINE_SEARCH_ROWS {
            return Ok(search_state(
                &self.read(),
                collection_ids,
                embedding,
                min_similarity,
                k,
            ));
        }
        let state = self.state.clone();
        let ids = collection_ids.to_vec();
        let query = embedding.to_vec();
        Ok(tokio::task::spawn_blocking(move || {
            let state = state.read().unwrap_or_else(|e| e.into_inner());
            search_state(&state, &ids, &query, min_similarity, k)
        })
        .await?)
    }
}

fn search_state(
    state: &State,
    collection_ids: &[Uuid],
    query: &[f32],
    min_similarity: f32,
    k: usize,
) -> Vec<Hit> {
    let mut seen = std::collections::HashSet::new();
    let collections: Vec<(Uuid, &FlatIndex<Key>)> = collection_ids
        .iter()
        .filter(|c| seen.insert(**c))
        .filter_map(|c| state.collections.get(c).map(|i| (*c, i)))
        .collect();
    // Ask each collection for more photos than persons wanted until k distinct persons are
    // found or the collection has no more photos above the threshold.
    let mut per_person: HashMap<(Uuid, Uuid), Hit> = HashMap::new();
    for (cid, index) in collections {
        let mut want = k.saturating_mul(2).max(4);
        loop {
            let hits = if index.len() >= PARALLEL_SEARCH_ROWS {
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                index.search_parallel(query, want, min_similarity, |_| true, threads)
            } else {
                index.search(query, want, min_similarity, |_| true)
            };
            let exhausted = hits.len() < want || want >= index.len();
            let mut persons = std::collections::HashSet::new();
            for h in &hits {
                persons.insert(h.id.person);
            }
            if exhausted || persons.len() >= k {
                for h in hits {
                    let hit = Hit {
                        collection_id: cid,
                        person_id: h.id.person,
                        person_image_id: h.id.image,
                        similarity: h.similarity,
                    };
                    per_person
                        .entry((cid, h.id.person))
                        .and_modify(|best| {
                            if hit.similarity > best.similarity {
                                *best = hit;
                            }
                        })
                        .or_insert(hit);
                }
                break;
            }
            want = want.saturating_mul(4);
        }
    }
    let mut hits: Vec<Hit> = per_person.into_values().collect();
    hits.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(a.person_image_id.cmp(&b.person_image_id))
    });
    hits.truncate(k);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::collections::{NewPersonImage, PersonImageRow, PersonRow};
    use crate::store::now_us;

    fn unit(seed: u32, dim: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        let v: Vec<f32> = (0..dim)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32) - 0.5
            })
            .collect();
        let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.into_iter().map(|a| a / n).collect()
    }

    fn added(seq: i64, c: Uuid, p: Uuid, i: Uuid, e: Vec<f32>) -> Change {
        Change {
            seq,
            op: ChangeOp::ImageAdded,
            collection_id: c,
            person_id: Some(p),
            person_image_id: Some(i),
            embedding: Some(e),
        }
    }

    #[test]
    fn state_applies_changes_and_searches_per_person() {
        let (c1, c2) = (Uuid::new_v4(), Uuid::new_v4());
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let (a1, a2, b1) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let q = unit(1, 32);
        let near: Vec<f32> = q
            .iter()
            .zip(unit(2, 32))
            .map(|(a, b)| a + 0.3 * b)
            .collect();
        let mut s = State::default();
        s.apply(&added(1, c1, alice, a1, q.clone()));
        s.apply(&added(2, c1, alice, a2, near.clone()));
        s.apply(&added(3, c2, bob, b1, near));
        assert_eq!(s.last_seq, 3);
        // one hit per person, best photo first
        let hits = search_state(&s, &[c1, c2], &q, 0.5, 10);
        assert_eq!(hits.len(), 2);
        assert_eq!((hits[0].person_id, hits[0].person_image_id), (alice, a1));
        // f16 rows: a score within 2⁻¹¹ of the exact one
        assert!((hits[0].similarity - 1.0).abs() < 5e-4);
        assert_eq!(hits[1].person_id, bob);
        assert_eq!(search_state(&s, &[c2], &q, 0.5, 10).len(), 1);
        assert_eq!(search_state(&s, &[c1, c2], &q, 0.5, 1).len(), 1);
        assert!(search_state(&s, &[c1], &unit(9, 32), 0.9, 5).is_empty());
        s.apply(&Change {
            seq: 4,
            op: ChangeOp::ImageRemoved,
            collection_id: c1,
            person_id: Some(alice),
            person_image_id: Some(a1),
            embedding: None,
        });
        assert_eq!(search_state(&s, &[c1], &q, 0.5, 10)[0].person_image_id, a2);
        s.apply(&Change {
            seq: 5,
            op: ChangeOp::PersonRemoved,
            collection_id: c1,
            person_id: Some(alice),
            person_image_id: None,
            embedding: None,
        });
        assert!(search_state(&s, &[c1], &q, -1.0, 10).is_empty());
        s.apply(&Change {
            seq: 6,
            op: ChangeOp::CollectionRemoved,
            collection_id: c2,
            person_id: None,
            person_image_id: None,
            embedding: None,
        });
        assert!(search_state(&s, &[c2], &q, -1.0, 10).is_empty());
        // an add whose image was deleted since (no embedding) is skipped
        s.apply(&Change {
            embedding: None,
            ..added(7, c1, bob, b1, vec![])
        });
        assert_eq!(s.last_seq, 7);
        assert!(search_state(&s, &[c1], &q, -1.0, 10).is_empty());
    }

    #[test]
    fn many_photos_of_one_person_do_not_hide_others() {
        let c = Uuid::new_v4();
        let q = unit(1, 16);
        let mut s = State::default();
        let crowd = Uuid::new_v4();
        for i in 0..50 {
            s.apply(&added(i + 1, c, crowd, Uuid::new_v4(), q.clone()));
        }
        let other = Uuid::new_v4();
        let slightly: Vec<f32> = q
            .iter()
            .zip(unit(3, 16))
            .map(|(a, b)| a + 0.1 * b)
            .collect();
        s.apply(&added(51, c, other, Uuid::new_v4(), slightly));
        let hits = search_state(&s, &[c], &q, 0.0, 2);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].person_id, crowd);
        assert_eq!(hits[1].person_id, other);
    }

    /// Embeddings of another model pack are never compared with ours, whether the index loads
    /// them from the tables or replays them from the change log.
    #[tokio::test]
    async fn embeddings_of_another_model_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        let c = store
            .collection_create(None, "blacklist", &serde_json::json!({}))
            .await
            .unwrap();
        let image = |model: &str, person: Uuid, seed: u32| NewPersonImage {
            row: PersonImageRow {
                person_image_id: Uuid::new_v4(),
                person_id: person,
                collection_id: c.collection_id,
                format: "jpeg".into(),
                mime: "image/jpeg".into(),
                original_name: String::new(),
                file_key: "k".into(),
                thumb_key: None,
                size_bytes: 1,
                width: 1,
                height: 1,
                tags: vec![],
                meta_data: serde_json::json!({}),
                technical_meta_data: serde_json::json!({}),
                embedding_model: model.into(),
                time_created: now_us(),
                time_updated: now_us(),
            },
            embedding: unit(seed, 8),
        };
        let person = |id: Uuid| PersonRow {
            person_id: id,
            collection_id: c.collection_id,
            meta_data: serde_json::json!({}),
            time_created: now_us(),
            time_updated: now_us(),
        };
        let (ours, theirs, late) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        store
            .person_insert(&person(ours), &[image("ours", ours, 1)])
            .await
            .unwrap();
        store
            .person_insert(&person(theirs), &[image("theirs", theirs, 1)])
            .await
            .unwrap();
        let index = CollectionIndex::new("ours");
        let hits = index
            .search(&store, &[c.collection_id], &unit(1, 8), 0.5, 10)
            .await
            .unwrap();
        assert_eq!(
            hits.iter().map(|h| h.person_id).collect::<Vec<_>>(),
            vec![ours]
        );
        // added after the load: replayed from the change log, with the same rule
        store
            .person_insert(&person(late), &[image("theirs", late, 1)])
            .await
            .unwrap();
        let hits = index
            .search(&store, &[c.collection_id], &unit(1, 8), 0.5, 10)
            .await
            .unwrap();
        assert_eq!(hits.len(), 1, "{hits:?}");
    }
}
