-- Analyses as durable jobs, operator decisions, webhooks and per-company settings.
-- Portable (SQLite and PostgreSQL), same conventions as 0001.

-- The order an analysis was started in (a group = analyses sent in one request), who started it,
-- what it ran on and what it produced.
ALTER TABLE analyses ADD COLUMN group_id TEXT NOT NULL DEFAULT '';
ALTER TABLE analyses ADD COLUMN user_id TEXT;
ALTER TABLE analyses ADD COLUMN source_media TEXT NOT NULL DEFAULT '[]';
ALTER TABLE analyses ADD COLUMN results_media TEXT NOT NULL DEFAULT '[]';
-- Why the analysis FAILED (a system error after the last retry); NULL otherwise.
ALTER TABLE analyses ADD COLUMN error TEXT;
ALTER TABLE analyses ADD COLUMN resolution_endpoint TEXT;
CREATE INDEX analyses_group ON analyses (group_id);

-- Thresholds, default webhook URL and webhook signing secret of a company (JSON).
ALTER TABLE companies ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

-- The durable queue. A worker claims a job by setting state = 'running' with a lease; a job whose
-- lease ran out (its worker died) is claimable again. `attempts` counts claims.
CREATE TABLE jobs (
    job_id       TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_after    BIGINT NOT NULL,
    lease_until  BIGINT,
    worker       TEXT,
    last_error   TEXT,
    time_created BIGINT NOT NULL,
    time_updated BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after);
CREATE INDEX jobs_target ON jobs (target_id);

-- An operator's decision on an OPERATOR_REQUIRED analysis: who, when, before and after.
CREATE TABLE analysis_decisions (
    decision_id   TEXT PRIMARY KEY,
    analysis_id   TEXT NOT NULL REFERENCES analyses (analysis_id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    before_status TEXT NOT NULL,
    after_status  TEXT NOT NULL,
    comment       TEXT NOT NULL DEFAULT '',
    time_created  BIGINT NOT NULL
);
CREATE INDEX analysis_decisions_analysis ON analysis_decisions (analysis_id);

-- One webhook per finished group of analyses; the body is frozen when the group finishes.
CREATE TABLE webhook_deliveries (
    delivery_id  TEXT PRIMARY KEY,
    folder_id    TEXT NOT NULL REFERENCES folders (folder_id) ON DELETE CASCADE,
    group_id     TEXT NOT NULL,
    url          TEXT NOT NULL,
    body         TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    time_created BIGINT NOT NULL,
    time_updated BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_folder ON webhook_deliveries (folder_id);

CREATE TABLE webhook_attempts (
    attempt_id   TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (delivery_id) ON DELETE CASCADE,
    attempt      BIGINT NOT NULL,
    status_code  BIGINT,
    error        TEXT,
    duration_ms  BIGINT NOT NULL,
    time_created BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
