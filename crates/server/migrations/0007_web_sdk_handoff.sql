-- Web plugin hand-off: a session started on a computer continues on a phone (a QR code). The
-- session's page mints a short-lived hand-off token (only its SHA-256 kept, with its expiry);
-- opening it on the phone spends it once (`handoff_started_at`) and gives the phone its own
-- session key (hashed) for the page origin it runs on, beside the computer's key, which keeps
-- polling the result.
ALTER TABLE web_sdk_sessions ADD COLUMN handoff_token_hash TEXT;
ALTER TABLE web_sdk_sessions ADD COLUMN handoff_expires BIGINT;
ALTER TABLE web_sdk_sessions ADD COLUMN handoff_started_at BIGINT;
ALTER TABLE web_sdk_sessions ADD COLUMN handoff_key_hash TEXT;
ALTER TABLE web_sdk_sessions ADD COLUMN handoff_origin TEXT;
CREATE INDEX web_sdk_sessions_handoff_token ON web_sdk_sessions (handoff_token_hash);
