-- Retention: uploads and result files expire; their rows stay, marked, so the file id and the
-- download link can answer as gone rather than unknown.

ALTER TABLE uploads ADD COLUMN expired_at TIMESTAMPTZ;
ALTER TABLE jobs ADD COLUMN result_expired_at TIMESTAMPTZ;

-- What the sweeper looks at: live uploads by age, finished jobs whose results are live.
CREATE INDEX uploads_to_expire ON uploads (created_at) WHERE expired_at IS NULL;
CREATE INDEX jobs_results_to_expire ON jobs (finished_at)
    WHERE finished_at IS NOT NULL AND result_expired_at IS NULL;

-- The uploads each job reads, so an upload an unfinished job names is never expired.
CREATE TABLE job_uploads (
    file_id BIGINT NOT NULL,
    job_id BIGINT NOT NULL,
    PRIMARY KEY (file_id, job_id)
);
INSERT INTO job_uploads (file_id, job_id)
    SELECT DISTINCT (r ->> 'file_id')::BIGINT, j.id
    FROM jobs j, jsonb_array_elements(j.spec_json::jsonb -> 'resources') r
    WHERE j.finished_at IS NULL
      AND CASE WHEN (r ->> 'file_id') ~ '^[0-9]{1,19}$' THEN (r ->> 'file_id')::NUMERIC END
          <= 9223372036854775807;

-- Blobs of expired files, queued in the transaction that expired them; the sweeper deletes the
-- blob, then the key.
CREATE TABLE expired_blobs (
    key TEXT PRIMARY KEY,
    queued_at TIMESTAMPTZ NOT NULL
);
