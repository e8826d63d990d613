-- warden-server schema, version 1. One SQL text for SQLite and PostgreSQL: only TEXT and BIGINT
-- columns (flags are 0/1, times are unix milliseconds, digests are lowercase hex), portable
-- constraints and indexes.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    email TEXT,
    password_hash TEXT,
    totp_secret TEXT,
    totp_enabled BIGINT NOT NULL DEFAULT 0,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    roles TEXT NOT NULL DEFAULT '',
    disabled BIGINT NOT NULL DEFAULT 0,
    oidc_issuer TEXT,
    oidc_subject TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_oidc ON users (oidc_issuer, oidc_subject);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf TEXT NOT NULL,
    method TEXT NOT NULL,
    mfa BIGINT NOT NULL DEFAULT 0,
    pending_mfa BIGINT NOT NULL DEFAULT 0,
    device_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE bootstrap_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE oidc_logins (
    state TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE known_devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

CREATE TABLE known_networks (
    user_id TEXT NOT NULL,
    network TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (user_id, network)
);

CREATE TABLE access_events (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT,
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    device_id TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    ts BIGINT NOT NULL
);
CREATE INDEX access_events_kind_ts ON access_events (kind, ts);
CREATE INDEX access_events_user_ts ON access_events (user_id, ts);

CREATE TABLE policy_sets (
    version BIGINT PRIMARY KEY,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT
);

CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    sensitivity BIGINT NOT NULL,
    lifecycle TEXT NOT NULL,
    environment TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    properties TEXT NOT NULL DEFAULT '{}',
    frozen BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE UNIQUE INDEX assets_kind_name ON assets (kind, name);

CREATE TABLE lineage (
    id TEXT PRIMARY KEY,
    from_id TEXT NOT NULL REFERENCES assets (id),
    to_id TEXT NOT NULL REFERENCES assets (id),
    relation TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX lineage_edge ON lineage (from_id, to_id, relation);
CREATE INDEX lineage_to ON lineage (to_id);

CREATE TABLE model_versions (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id),
    version TEXT NOT NULL,
    filename TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    blob TEXT NOT NULL,
    stage TEXT NOT NULL,
    quarantined BIGINT NOT NULL DEFAULT 0,
    quarantine_reason TEXT NOT NULL DEFAULT '',
    scan_status TEXT NOT NULL,
    max_severity TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX model_versions_version ON model_versions (asset_id, version);

CREATE TABLE stage_events (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id),
    version_id TEXT NOT NULL REFERENCES model_versions (id),
    from_stage TEXT NOT NULL,
    to_stage TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    ts BIGINT NOT NULL
);
CREATE INDEX stage_events_asset ON stage_events (asset_id, ts);

CREATE TABLE findings (
    id TEXT PRIMARY KEY,
    asset_id TEXT REFERENCES assets (id),
    version_id TEXT,
    source TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    location TEXT NOT NULL,
    evidence TEXT,
    atlas TEXT NOT NULL DEFAULT '[]',
    remediation TEXT,
    subject TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX findings_asset ON findings (asset_id, created_at);
CREATE INDEX findings_created ON findings (created_at);

CREATE TABLE audit_entries (
    seq BIGINT PRIMARY KEY,
    leaf_hash TEXT NOT NULL,
    data TEXT NOT NULL,
    ts BIGINT NOT NULL
);

CREATE TABLE audit_hashes (
    idx BIGINT PRIMARY KEY,
    hash TEXT NOT NULL
);

CREATE TABLE audit_checkpoints (
    size BIGINT PRIMARY KEY,
    root TEXT NOT NULL,
    note TEXT NOT NULL,
    ts BIGINT NOT NULL
);
