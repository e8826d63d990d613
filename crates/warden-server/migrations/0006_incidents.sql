-- warden-server schema, version 6: incidents.
-- An incident groups the findings of one attack (one asset, or one alert subject such as
-- `user:alice`) and walks the lifecycle detected -> triaged -> contained -> mitigated -> recovered
-- -> closed; each step's time is kept (NULL when the step was skipped). `open_key` holds the group
-- key while the incident is open and is NULL once it is closed (and always for drills and for
-- incidents opened by hand next to an open one): its unique index makes "one open incident per
-- group" hold across server instances.

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,
    status TEXT NOT NULL,
    status_rank BIGINT NOT NULL,
    group_key TEXT NOT NULL,
    open_key TEXT,
    asset_id TEXT,
    subject TEXT NOT NULL DEFAULT '',
    rule_id TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    drill BIGINT NOT NULL DEFAULT 0,
    playbook_id TEXT,
    root_cause TEXT NOT NULL DEFAULT '',
    lessons TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    triaged_at BIGINT,
    contained_at BIGINT,
    mitigated_at BIGINT,
    recovered_at BIGINT,
    closed_at BIGINT
);
CREATE UNIQUE INDEX incidents_open_key ON incidents (open_key);
CREATE INDEX incidents_created ON incidents (drill, created_at);
CREATE INDEX incidents_updated ON incidents (drill, updated_at);
CREATE INDEX incidents_asset ON incidents (asset_id);

CREATE TABLE incident_findings (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    finding_id TEXT NOT NULL,
    linked_by TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, finding_id)
);
CREATE INDEX incident_findings_finding ON incident_findings (finding_id);

CREATE TABLE incident_assets (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    asset_id TEXT NOT NULL,
    linked_by TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, asset_id)
);
CREATE INDEX incident_assets_asset ON incident_assets (asset_id);

CREATE TABLE incident_assignees (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    username TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, username)
);

CREATE TABLE incident_events (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    text TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    ts BIGINT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, ts);

-- The simulated findings of drills: kept out of `findings`, so a drill changes nothing real.
CREATE TABLE drill_findings (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    asset_id TEXT,
    subject TEXT NOT NULL DEFAULT '',
    finding TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX drill_findings_incident ON drill_findings (incident_id);

-- Post-incident reviews search the audit log within an incident's time range.
CREATE INDEX audit_entries_ts ON audit_entries (ts);
