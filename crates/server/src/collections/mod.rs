//! Blacklist collections (1:N search): persons and their enrolled face embeddings, and the
//! in-memory search index kept consistent with the database across processes.

/// The process-wide search index over enrolled embeddings (filled by the collections issue).
#[derive(Default)]
pub struct CollectionIndex {}

impl CollectionIndex {
    pub fn new() -> Self {
        CollectionIndex::default()
    }
}
