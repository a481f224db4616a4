-- Retention: uploads and result files expire; their rows stay, marked, so the file id and the
-- download link can answer as gone rather than unknown.

ALTER TABLE uploads ADD COLUMN expired_at INTEGER;
ALTER TABLE jobs ADD COLUMN result_expired_at INTEGER;

-- What the sweeper looks at: live uploads by age, finished jobs whose results are live.
CREATE INDEX uploads_to_expire ON uploads (created_at) WHERE expired_at IS NULL;
CREATE INDEX jobs_results_to_expire ON jobs (finished_at)
    WHERE finished_at IS NOT NULL AND result_expired_at IS NULL;

-- The uploads each job reads, so an upload an unfinished job names is never expired.
CREATE TABLE job_uploads (
    file_id INTEGER NOT NULL,
    job_id INTEGER NOT NULL,
    PRIMARY KEY (file_id, job_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO job_uploads (file_id, job_id)
    SELECT CAST(json_extract(r.value, '$.file_id') AS INTEGER), j.id
    FROM jobs j, json_each(j.spec_json, '$.resources') r
    WHERE j.finished_at IS NULL;

-- Blobs of expired files, queued in the transaction that expired them; the sweeper deletes the
-- blob, then the key.
CREATE TABLE expired_blobs (
    key TEXT PRIMARY KEY,
    queued_at INTEGER NOT NULL
) WITHOUT ROWID;
