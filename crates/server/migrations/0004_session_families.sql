-- Refresh-token rotation with reuse detection: every session refreshed from one login shares a
-- family; a refresh token is used at most once (`refreshed_at`); a refreshed session is retired
-- (its access token no longer accepted) once its successor is first used, and kept until its
-- refresh expiry so that a replay of its refresh token is recognised and ends the whole family.
ALTER TABLE sessions ADD COLUMN family_id TEXT;
ALTER TABLE sessions ADD COLUMN refreshed_at BIGINT;
ALTER TABLE sessions ADD COLUMN retired_at BIGINT;
UPDATE sessions SET family_id = session_id;
CREATE INDEX sessions_family ON sessions (family_id);
