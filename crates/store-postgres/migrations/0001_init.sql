-- bulkwrite on PostgreSQL, version 1. Ids are BIGINT (19-digit ids fit below 2^63), instants
-- are timestamptz, documents the Rust side only reads whole are text, and record data is `json`
-- (kept exactly as written, key order included, yet queryable with -> and ->>).

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- The id counter: `reserve_ids` bumps it in a statement of its own, so the row lock is held for
-- one statement, never for a chunk's transaction.
CREATE TABLE id_sequence (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    next_id BIGINT NOT NULL
);

CREATE TABLE orgs (
    zgid BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    company_name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    schema_json TEXT NOT NULL
);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    org BIGINT NOT NULL REFERENCES orgs (zgid),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    profile TEXT NOT NULL,
    role TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    password_hash TEXT
);
CREATE INDEX users_by_org ON users (org);
CREATE UNIQUE INDEX users_by_email ON users (org, lower(email));

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    org BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at TIMESTAMPTZ,
    client_id TEXT,
    refresh_hash TEXT
);
CREATE INDEX access_tokens_by_refresh ON access_tokens (refresh_hash) WHERE refresh_hash IS NOT NULL;

CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY,
    org BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    secret_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX oauth_clients_by_org ON oauth_clients (org);

CREATE TABLE grant_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    org BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    scopes TEXT NOT NULL,
    redirect_uri TEXT,
    expires_at TIMESTAMPTZ NOT NULL,
    used BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    org BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE uploads (
    file_id BIGINT PRIMARY KEY,
    org BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    blob_key TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    entries_json TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- `lease_node` is the store (node) that made the claim: `requeue_running_jobs` gives back the
-- jobs of its own node and expired ones, never those of another live node.
CREATE TABLE jobs (
    id BIGINT PRIMARY KEY,
    org BIGINT NOT NULL,
    created_by BIGINT NOT NULL,
    api_version TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_node TEXT,
    lease_expires_at TIMESTAMPTZ,
    character_encoding TEXT,
    result_blob TEXT,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
-- Claims scan only queued and running jobs, oldest first.
CREATE INDEX jobs_claimable ON jobs (created_at, id) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_running_by_org ON jobs (org, lease_expires_at) WHERE state = 'running';

CREATE TABLE job_resources (
    job_id BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    state TEXT NOT NULL,
    rows_done BIGINT NOT NULL DEFAULT 0,
    added BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, idx)
);

-- Result rows, one row per applied chunk: `rows_json` is a JSON array of
-- [row_no, status, record_id or null, errors, [echo cells]] in input order.
CREATE TABLE job_results (
    job_id BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    first_row BIGINT NOT NULL,
    last_row BIGINT NOT NULL,
    rows_json TEXT NOT NULL,
    PRIMARY KEY (job_id, idx, first_row)
);

CREATE TABLE records (
    id BIGINT PRIMARY KEY,
    org BIGINT NOT NULL,
    module TEXT NOT NULL,
    owner BIGINT NOT NULL,
    layout_id TEXT,
    created_by BIGINT NOT NULL,
    modified_by BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    data JSON NOT NULL
);
CREATE INDEX records_by_module ON records (org, module, id);
-- Subform rows by their parent (`child_records`); only records that have a parent are indexed.
CREATE INDEX records_by_parent ON records (org, module, ((data -> 'Parent_Id') ->> 'id'))
    WHERE (data -> 'Parent_Id') IS NOT NULL;

-- Unique and lookup keys: duplicate checks and `find_by` are probes of this primary key.
CREATE TABLE record_keys (
    org BIGINT NOT NULL,
    module TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (org, module, field, value)
);
CREATE INDEX record_keys_by_record ON record_keys (record_id);

CREATE TABLE callbacks (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL UNIQUE,
    org BIGINT NOT NULL,
    url TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_owner TEXT,
    lease_expires_at TIMESTAMPTZ
);
CREATE INDEX callbacks_due ON callbacks (next_attempt_at, id) WHERE state = 'pending';

CREATE TABLE callback_attempts (
    callback_id BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (callback_id, attempt)
);

-- Blobs (uploaded zips, result zips) in chunks of 1 MiB, shared by every node. Zips do not
-- compress further, so TOAST stores the chunks out of line without trying.
CREATE TABLE blobs (
    key TEXT NOT NULL,
    chunk_no INTEGER NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (key, chunk_no)
);
ALTER TABLE blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;
