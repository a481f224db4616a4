-- Cancel: who asked a job to stop, and when (kept after the job is cancelled).
ALTER TABLE jobs ADD COLUMN cancel_requested_at TIMESTAMPTZ, ADD COLUMN cancelled_by BIGINT;

-- The job list: an org's jobs, newest first.
CREATE INDEX jobs_by_org ON jobs (org, created_at DESC, id DESC);
-- Jobs waiting to be cancelled (few at any time).
CREATE INDEX jobs_cancel_requested ON jobs (cancel_requested_at, id)
    WHERE cancel_requested_at IS NOT NULL AND state IN ('queued', 'running');
