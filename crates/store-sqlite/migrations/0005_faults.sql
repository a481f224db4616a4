-- Transient failures back off (issue 15): a deferred job is not claimed before run_at;
-- waiting_since is when its current spell of transient failures began (the time budget).
ALTER TABLE jobs ADD COLUMN run_at INTEGER;
ALTER TABLE jobs ADD COLUMN waiting_since INTEGER;
