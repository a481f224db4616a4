-- bulkwrite embedded schema, version 1. Instants are unix milliseconds (UTC).

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE id_sequence (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), next_id INTEGER NOT NULL);

CREATE TABLE orgs (
    zgid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    company_name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    schema_json TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    org INTEGER NOT NULL REFERENCES orgs (zgid),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    profile TEXT NOT NULL,
    role TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX users_by_org ON users (org);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    org INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    expires_at INTEGER
);

CREATE TABLE uploads (
    file_id INTEGER PRIMARY KEY,
    org INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    blob_key TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    entries_json TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    org INTEGER NOT NULL,
    created_by INTEGER NOT NULL,
    api_version TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    character_encoding TEXT,
    result_blob TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX jobs_by_state ON jobs (state, created_at, id);

CREATE TABLE job_resources (
    job_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    state TEXT NOT NULL,
    rows_done INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;

-- Result rows, one row per applied chunk: `rows_json` is a JSON array of
-- [row_no, status, record_id or null, errors, [echo cells]] in input order.
CREATE TABLE job_results (
    job_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    first_row INTEGER NOT NULL,
    last_row INTEGER NOT NULL,
    rows_json TEXT NOT NULL,
    PRIMARY KEY (job_id, idx, first_row)
) WITHOUT ROWID;

CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    org INTEGER NOT NULL,
    module TEXT NOT NULL,
    owner INTEGER NOT NULL,
    layout_id TEXT,
    created_by INTEGER NOT NULL,
    modified_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX records_by_module ON records (org, module, id);

CREATE TABLE record_keys (
    org INTEGER NOT NULL,
    module TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (org, module, field, value)
) WITHOUT ROWID;
CREATE INDEX record_keys_by_record ON record_keys (record_id);

CREATE TABLE callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL UNIQUE,
    org INTEGER NOT NULL,
    url TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_expires_at INTEGER
);
CREATE INDEX callbacks_due ON callbacks (state, next_attempt_at);

CREATE TABLE callback_attempts (
    callback_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (callback_id, attempt)
) WITHOUT ROWID;
