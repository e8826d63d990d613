-- warden-server schema, version 7: incident-response playbooks, their runs, webhook targets and
-- deliveries.
--
-- A playbook keeps every version of its YAML text; `playbooks` holds the current version and
-- whether it is enabled. A run is one playbook acting on one incident (the unique index makes
-- "never twice" hold across instances); its steps are rows the runner claims with a conditional
-- UPDATE and a lease (`lease_owner`, `lease_until`), so two instances never run one step at once
-- and a crashed instance's work is picked up when its lease expires. `playbook_events` is the
-- run's log and the outbox of the incident timeline: written in the transaction of the state
-- change, posted to the incident afterwards (again under a short claim).

CREATE TABLE playbooks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE playbook_versions (
    playbook_id TEXT NOT NULL REFERENCES playbooks (id),
    version BIGINT NOT NULL,
    source TEXT NOT NULL,
    shipped BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (playbook_id, version)
);

CREATE TABLE playbook_runs (
    id TEXT PRIMARY KEY,
    playbook_id TEXT NOT NULL,
    playbook_version BIGINT NOT NULL,
    playbook_name TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    dry_run BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    current_step BIGINT NOT NULL DEFAULT 0,
    step_count BIGINT NOT NULL,
    failed_steps BIGINT NOT NULL DEFAULT 0,
    context TEXT NOT NULL,
    matched TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE UNIQUE INDEX playbook_runs_once ON playbook_runs (playbook_id, incident_id);
CREATE INDEX playbook_runs_incident ON playbook_runs (incident_id);
CREATE INDEX playbook_runs_status ON playbook_runs (status, updated_at);

CREATE TABLE playbook_steps (
    run_id TEXT NOT NULL REFERENCES playbook_runs (id),
    idx BIGINT NOT NULL,
    action TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    plan TEXT NOT NULL DEFAULT '{}',
    outcome TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    decided_by TEXT,
    decision_note TEXT NOT NULL DEFAULT '',
    started_at BIGINT,
    finished_at BIGINT,
    PRIMARY KEY (run_id, idx)
);
CREATE UNIQUE INDEX playbook_steps_key ON playbook_steps (idempotency_key);
CREATE INDEX playbook_steps_due ON playbook_steps (status, next_at);

CREATE TABLE playbook_events (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    step_idx BIGINT,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    claim_until BIGINT NOT NULL DEFAULT 0,
    posted_at BIGINT
);
CREATE INDEX playbook_events_run ON playbook_events (run_id, created_at);
CREATE INDEX playbook_events_unposted ON playbook_events (posted_at, created_at);

CREATE TABLE webhook_targets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    max_attempts BIGINT NOT NULL,
    backoff_seconds BIGINT NOT NULL,
    timeout_seconds BIGINT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    target_id TEXT NOT NULL REFERENCES webhook_targets (id),
    idempotency_key TEXT NOT NULL,
    incident_id TEXT,
    run_id TEXT,
    step_idx BIGINT,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    delivered_at BIGINT,
    dead_at BIGINT
);
CREATE UNIQUE INDEX webhook_deliveries_key ON webhook_deliveries (idempotency_key);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);

-- The API key a model version was uploaded with (NULL for uploads from a browser session), so a
-- playbook can revoke the key that uploaded a malicious version.
ALTER TABLE model_versions ADD COLUMN uploaded_key_id TEXT;
