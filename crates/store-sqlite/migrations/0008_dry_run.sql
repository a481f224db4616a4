-- Dry runs (POST /bulkwrite/v1/dry-runs) write their chunks here instead of records and
-- record_keys: the unique keys and records the run's committed chunks would have written, per
-- job, so later chunks (and a resumed run) plan against them. Deleted when the job ends.
CREATE TABLE dry_run_keys (
    job_id INTEGER NOT NULL,
    module TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    -- NULL: the run took this stored key from its record (the real job would delete it).
    record_id INTEGER,
    PRIMARY KEY (job_id, module, field, value)
) WITHOUT ROWID;

CREATE TABLE dry_run_records (
    job_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    module TEXT NOT NULL,
    owner INTEGER NOT NULL,
    layout_id TEXT,
    data TEXT NOT NULL,
    -- The record's unique keys as the run left them: JSON [[field, value], …].
    keys_json TEXT NOT NULL,
    PRIMARY KEY (job_id, id)
) WITHOUT ROWID;
