-- Whether the session that created an API key had used a second factor: requests made with the
-- key carry it as Cedar's `context.mfa`, so a key cannot reach further than its creator's session.
ALTER TABLE api_keys ADD COLUMN mfa BIGINT NOT NULL DEFAULT 0;
