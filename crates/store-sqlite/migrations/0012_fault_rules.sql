-- Fault rules of the test controls (issue 19): one row per rule, its normalised request as JSON,
-- its counts updated in the transaction that decides a match. `times` is copied out of the JSON
-- so that exhausted rules are left out of the lists matched against every request.
CREATE TABLE fault_rules (
    id INTEGER PRIMARY KEY,
    -- NULL: every org.
    org INTEGER,
    -- 'http', 'job' or 'callback'.
    kind TEXT NOT NULL,
    rule TEXT NOT NULL,
    times INTEGER,
    fired INTEGER NOT NULL DEFAULT 0,
    matched INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX fault_rules_by_kind ON fault_rules (kind, id);

-- Jobs whose job faults were decided (on their first run), and the faults that hit them.
CREATE TABLE fault_checked_jobs (
    job_id INTEGER PRIMARY KEY
);

CREATE TABLE fault_job_hits (
    job_id INTEGER NOT NULL,
    fault_id INTEGER NOT NULL,
    job_fault TEXT NOT NULL,
    -- 1 once its once-only effect (fail_chunk_once) happened.
    spent INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, fault_id)
) WITHOUT ROWID;
