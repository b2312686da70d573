-- Portable schema (SQLite and PostgreSQL): ids are UUID strings, times are UNIX microseconds,
-- JSON documents are TEXT, flags are 0/1 integers.

CREATE TABLE companies (
    company_id   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    meta_data    TEXT NOT NULL DEFAULT '{}',
    time_created BIGINT NOT NULL,
    time_updated BIGINT NOT NULL
);

CREATE TABLE users (
    user_id      TEXT PRIMARY KEY,
    company_id   TEXT REFERENCES companies (company_id),
    email        TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    user_type    TEXT NOT NULL,
    first_name   TEXT NOT NULL DEFAULT '',
    last_name    TEXT NOT NULL DEFAULT '',
    middle_name  TEXT NOT NULL DEFAULT '',
    can_start_analysis_biometry  BIGINT NOT NULL DEFAULT 1,
    can_start_analysis_quality   BIGINT NOT NULL DEFAULT 1,
    can_start_analysis_collection BIGINT NOT NULL DEFAULT 1,
    is_active    BIGINT NOT NULL DEFAULT 1,
    meta_data    TEXT NOT NULL DEFAULT '{}',
    time_created BIGINT NOT NULL,
    time_updated BIGINT NOT NULL
);
CREATE INDEX users_company ON users (company_id);

-- One row per login (or refresh). Only SHA-256 digests of the tokens are stored.
CREATE TABLE sessions (
    session_id     TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    access_hash    TEXT NOT NULL UNIQUE,
    refresh_hash   TEXT NOT NULL UNIQUE,
    access_expires BIGINT NOT NULL,
    refresh_expires BIGINT NOT NULL,
    ttl_secs       BIGINT NOT NULL,
    -- the session this one was refreshed from; deleted when this one is first used
    replaces       TEXT,
    time_created   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE folders (
    folder_id          TEXT PRIMARY KEY,
    company_id         TEXT,
    user_id            TEXT,
    resolution_status  TEXT NOT NULL DEFAULT 'INITIAL',
    system_resolution  TEXT NOT NULL DEFAULT 'INITIAL',
    meta_data          TEXT NOT NULL DEFAULT '{}',
    technical_meta_data TEXT NOT NULL DEFAULT '{}',
    time_created       BIGINT NOT NULL,
    time_updated       BIGINT NOT NULL
);
CREATE INDEX folders_company_created ON folders (company_id, time_created);
CREATE INDEX folders_user ON folders (user_id);
CREATE INDEX folders_created ON folders (time_created);

CREATE TABLE media (
    media_id       TEXT PRIMARY KEY,
    folder_id      TEXT NOT NULL REFERENCES folders (folder_id) ON DELETE CASCADE,
    media_kind     TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    format         TEXT NOT NULL,
    mime           TEXT NOT NULL,
    original_name  TEXT NOT NULL DEFAULT '',
    file_key       TEXT NOT NULL,
    thumb_key      TEXT,
    size_bytes     BIGINT NOT NULL,
    width          BIGINT NOT NULL DEFAULT 0,
    height         BIGINT NOT NULL DEFAULT 0,
    duration_ms    BIGINT,
    tags           TEXT NOT NULL DEFAULT '[]',
    meta_data      TEXT NOT NULL DEFAULT '{}',
    technical_meta_data TEXT NOT NULL DEFAULT '{}',
    time_created   BIGINT NOT NULL,
    time_updated   BIGINT NOT NULL
);
CREATE INDEX media_folder ON media (folder_id);

-- Filled by the analyses issue; created now so metadata endpoints and folder joins are stable.
CREATE TABLE analyses (
    analysis_id       TEXT PRIMARY KEY,
    folder_id         TEXT NOT NULL REFERENCES folders (folder_id) ON DELETE CASCADE,
    type              TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT 'PROCESSING',
    resolution_status TEXT NOT NULL DEFAULT 'PROCESSING',
    params            TEXT NOT NULL DEFAULT '{}',
    results_data      TEXT NOT NULL DEFAULT '{}',
    meta_data         TEXT NOT NULL DEFAULT '{}',
    time_created      BIGINT NOT NULL,
    time_updated      BIGINT NOT NULL
);
CREATE INDEX analyses_folder ON analyses (folder_id);

CREATE TABLE collections (
    collection_id TEXT PRIMARY KEY,
    company_id    TEXT REFERENCES companies (company_id),
    alias         TEXT NOT NULL,
    meta_data     TEXT NOT NULL DEFAULT '{}',
    time_created  BIGINT NOT NULL,
    time_updated  BIGINT NOT NULL
);
