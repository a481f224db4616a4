-- Cancel: who asked a job to stop, and when (kept after the job is cancelled).
ALTER TABLE jobs ADD COLUMN cancel_requested_at INTEGER;
ALTER TABLE jobs ADD COLUMN cancelled_by INTEGER;

-- The job list: an org's jobs, newest first.
CREATE INDEX jobs_by_org ON jobs (org, created_at, id);
