-- Blacklist collections (1:N): persons, their photos with the face embedding computed once at
-- enrolment, and a change log every process replays to keep its in-memory index current.
-- Portable (SQLite and PostgreSQL): TEXT uuids, BIGINT UNIX-microsecond times, JSON as TEXT,
-- embeddings as little-endian f32 bytes in a BYTEA column (SQLite stores the blob as it is).

CREATE INDEX collections_company ON collections (company_id, time_created);

CREATE TABLE persons (
    person_id     TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL REFERENCES collections (collection_id) ON DELETE CASCADE,
    meta_data     TEXT NOT NULL DEFAULT '{}',
    time_created  BIGINT NOT NULL,
    time_updated  BIGINT NOT NULL
);
CREATE INDEX persons_collection ON persons (collection_id, time_created);

CREATE TABLE person_images (
    person_image_id TEXT PRIMARY KEY,
    person_id       TEXT NOT NULL REFERENCES persons (person_id) ON DELETE CASCADE,
    collection_id   TEXT NOT NULL,
    format          TEXT NOT NULL,
    mime            TEXT NOT NULL,
    original_name   TEXT NOT NULL DEFAULT '',
    file_key        TEXT NOT NULL,
    thumb_key       TEXT,
    size_bytes      BIGINT NOT NULL,
    width           BIGINT NOT NULL DEFAULT 0,
    height          BIGINT NOT NULL DEFAULT 0,
    tags            TEXT NOT NULL DEFAULT '[]',
    meta_data       TEXT NOT NULL DEFAULT '{}',
    -- face box, detector score, quality of the enrolled face
    technical_meta_data TEXT NOT NULL DEFAULT '{}',
    -- the model pack that computed the embedding (embeddings of different packs do not compare)
    embedding_model TEXT NOT NULL,
    embedding_dim   BIGINT NOT NULL,
    embedding       BYTEA NOT NULL,
    time_created    BIGINT NOT NULL,
    time_updated    BIGINT NOT NULL
);
CREATE INDEX person_images_person ON person_images (person_id, time_created);
CREATE INDEX person_images_collection ON person_images (collection_id);

-- The change log. `seq` comes from the single counter row below, incremented in the same
-- transaction as the change: the row lock (PostgreSQL) or the single writer (SQLite) makes
-- sequence numbers commit in order and without gaps, so "seq > last seen" never skips a change.
-- op: 'image_added' | 'image_removed' | 'person_removed' | 'collection_removed'.
CREATE TABLE collection_changes (
    seq             BIGINT PRIMARY KEY,
    op              TEXT NOT NULL,
    collection_id   TEXT NOT NULL,
    person_id       TEXT,
    person_image_id TEXT,
    time_created    BIGINT NOT NULL
);

CREATE TABLE collection_change_seq (
    id    BIGINT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO collection_change_seq (id, value) VALUES (1, 0);
