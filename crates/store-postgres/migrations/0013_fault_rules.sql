-- Fault rules of the test controls (issue 19): one row per rule, its normalised request as JSON,
-- its counts updated under the row's lock in the transaction that decides a match, so every node
-- counts the same firings. `times` is copied out of the JSON so that exhausted rules are left out
-- of the lists matched against every request.
CREATE TABLE fault_rules (
    id BIGINT PRIMARY KEY,
    -- NULL: every org.
    org BIGINT,
    -- 'http', 'job' or 'callback'.
    kind TEXT NOT NULL,
    rule TEXT NOT NULL,
    times BIGINT,
    fired BIGINT NOT NULL DEFAULT 0,
    matched BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX fault_rules_by_kind ON fault_rules (kind, id);

-- Jobs whose job faults were decided (on their first run), and the faults that hit them.
CREATE TABLE fault_checked_jobs (
    job_id BIGINT PRIMARY KEY
);

CREATE TABLE fault_job_hits (
    job_id BIGINT NOT NULL,
    fault_id BIGINT NOT NULL,
    job_fault TEXT NOT NULL,
    -- Whether its once-only effect (fail_chunk_once) happened.
    spent BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (job_id, fault_id)
);
