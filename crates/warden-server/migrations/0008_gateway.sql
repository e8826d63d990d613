-- warden-server schema, version 8: the gateway block list, inference-traffic settings and counters,
-- and drift reports.
--
-- A block stays a row for ever: lifting it (by hand, or because it expired and the client was
-- blocked again) sets `lifted_at`, so the history of who blocked whom and why is kept. At most one
-- block per (deployment, client) is open at a time (the partial unique index, which SQLite and
-- PostgreSQL both read the same way), so two instances blocking the same client at once make one
-- block, not two.

CREATE TABLE gateway_blocks (
    id TEXT PRIMARY KEY,
    deployment_id TEXT NOT NULL REFERENCES assets (id),
    client_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    incident_id TEXT,
    blocked_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    lifted_at BIGINT,
    lifted_by TEXT,
    lift_reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX gateway_blocks_open ON gateway_blocks (deployment_id, client_id) WHERE lifted_at IS NULL;
CREATE INDEX gateway_blocks_deployment ON gateway_blocks (deployment_id, created_at);

-- Per deployment: the reference profile of normal inputs for the input-anomaly detector
-- (`{"mean": [...], "std": [...]}`), and what its traffic amounted to (all instances together).
CREATE TABLE traffic_settings (
    deployment_id TEXT PRIMARY KEY REFERENCES assets (id),
    profile TEXT,
    profile_dims BIGINT NOT NULL DEFAULT 0,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE traffic_counts (
    deployment_id TEXT PRIMARY KEY REFERENCES assets (id),
    requests BIGINT NOT NULL DEFAULT 0,
    events BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    alerts BIGINT NOT NULL DEFAULT 0,
    last_at BIGINT NOT NULL
);

-- Drift reports (`warden drift --format json`) attached to a model, deployment or dataset. Shares
-- are kept in parts per million (BIGINT) for ordering; the report itself as sent.
CREATE TABLE drift_reports (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id),
    columns_compared BIGINT NOT NULL,
    columns_drifted BIGINT NOT NULL,
    drifted_share_ppm BIGINT NOT NULL,
    report_verdict BIGINT NOT NULL,
    threshold_ppm BIGINT,
    drifted BIGINT NOT NULL,
    finding_id TEXT,
    report TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX drift_reports_asset ON drift_reports (asset_id, created_at);

-- Per asset: the drifted-column share at or above which a drift report raises a finding; without a
-- row the report's own verdict (`dataset_drift`) decides.
CREATE TABLE drift_settings (
    asset_id TEXT PRIMARY KEY REFERENCES assets (id),
    threshold_ppm BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
