-- warden-server schema, version 4: the model registry's stage history.
-- `cause` says why a stage changed (upload, promote, displaced, quarantine, rollback); a promotion
-- to production records the version it displaced in `previous_version_id`, and rollbacks follow
-- that chain back to the previous good version.

ALTER TABLE stage_events ADD COLUMN cause TEXT NOT NULL DEFAULT '';
ALTER TABLE stage_events ADD COLUMN previous_version_id TEXT;
CREATE INDEX stage_events_version ON stage_events (version_id, ts);
