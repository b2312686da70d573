-- Web plugin sessions. A row is made when a backend mints a session token
-- (GET /api/authorize/session_token): only the token's SHA-256 is kept, with its expiry and the
-- user and company it was minted for. Starting the plugin spends the token (`started_at`, once)
-- and stores the session: the plugin's own key (hashed), the page origin, the actions (with the
-- server-chosen gestures), `meta`, and later the folder and the uploaded actions.
CREATE TABLE web_sdk_sessions (
    session_id      TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    company_id      TEXT,
    time_created    BIGINT NOT NULL,
    token_expires   BIGINT NOT NULL,
    started_at      BIGINT,
    session_expires BIGINT,
    key_hash        TEXT,
    origin          TEXT,
    actions         TEXT NOT NULL DEFAULT '[]',
    meta            TEXT NOT NULL DEFAULT '{}',
    params          TEXT NOT NULL DEFAULT '{}',
    folder_id       TEXT,
    uploaded        TEXT NOT NULL DEFAULT '[]',
    submitted_at    BIGINT
);
CREATE INDEX web_sdk_sessions_token_expires ON web_sdk_sessions (token_expires);
