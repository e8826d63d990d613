-- When the incident rules last looked at a finding. A finding stored but never taken in (the
-- intake after its commit failed) is found by the housekeeping sweep and taken in then.
ALTER TABLE findings ADD COLUMN intake_at BIGINT;
CREATE INDEX findings_intake ON findings (intake_at, created_at);
