-- Web plugin retries: a session may capture again, in the same folder, when its capture was not
-- usable (gesture not seen, face lost, too few usable frames), up to the company's
-- `web_sdk.max_attempts`. `attempt` counts the captures taken (1 = the first); each attempt's
-- media carry it in their meta (`web_sdk_attempt`), so its analyses judge only its own media.
ALTER TABLE web_sdk_sessions ADD COLUMN attempt BIGINT NOT NULL DEFAULT 1;
