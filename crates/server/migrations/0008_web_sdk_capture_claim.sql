-- One capture of a plugin session is stored at a time: a capture claims the session until
-- `capture_until` (microseconds) and releases it when stored or refused, so parallel uploads of
-- one session cannot each make a folder. A claim left by a killed process lapses at that time.
ALTER TABLE web_sdk_sessions ADD COLUMN capture_until BIGINT;
