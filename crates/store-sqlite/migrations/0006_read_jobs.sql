-- Bulk Read jobs share the queue (issue 17): `kind` says what a job does; `read_json` holds a
-- read job's request and, once it completed, its outcome.
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'write';
ALTER TABLE jobs ADD COLUMN read_json TEXT;

-- An export's committed parts: each a blob of CSV rows, committed with its checkpoint (the id
-- of its last record) under the job's lease, so a resumed export continues after the last one.
CREATE TABLE read_parts (
    job_id INTEGER NOT NULL,
    part_no INTEGER NOT NULL,
    blob_key TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    PRIMARY KEY (job_id, part_no)
) WITHOUT ROWID;
