-- Dry runs (POST /bulkwrite/v1/dry-runs) write their chunks here instead of records and
-- record_keys: the unique keys and records the run's committed chunks would have written, per
-- job, so later chunks (and a resumed run, on any node) plan against them. Deleted when the job
-- ends, in the transaction that ends it.
CREATE TABLE dry_run_keys (
    job_id BIGINT NOT NULL,
    module TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    -- NULL: the run took this stored key from its record (the real job would delete it).
    record_id BIGINT,
    PRIMARY KEY (job_id, module, field, value)
);

CREATE TABLE dry_run_records (
    job_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    module TEXT NOT NULL,
    owner BIGINT NOT NULL,
    layout_id TEXT,
    data JSON NOT NULL,
    -- The record's unique keys as the run left them: [[field, value], …].
    keys JSON NOT NULL,
    PRIMARY KEY (job_id, id)
);
