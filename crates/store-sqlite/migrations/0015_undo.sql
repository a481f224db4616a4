-- Undo (issue 19). Every record carries a version: 1 when created, bumped by every later write,
-- so an undo can tell a record changed since its job wrote it.
ALTER TABLE records ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- An undo is a job of kind 'undo'; `undo_of` names the job it undoes.
ALTER TABLE jobs ADD COLUMN undo_of INTEGER;
CREATE INDEX jobs_by_undo_of ON jobs (undo_of) WHERE undo_of IS NOT NULL;

-- Before-images of the records a job's chunk updated, written in the chunk's transaction: what
-- the chunk changed (JSON, see bulkwrite_store::undo::BeforeImage) and the version it left.
-- Records a job added need none (their ids are in its result rows). Deleted with the job's
-- result rows by retention.
CREATE TABLE undo_images (
    job_id INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    first_row INTEGER NOT NULL,
    version INTEGER NOT NULL,
    image_json TEXT NOT NULL,
    PRIMARY KEY (job_id, record_id, idx, first_row)
) WITHOUT ROWID;

-- Records an undo of `job_id` has settled (deleted, restored or reported), each once.
CREATE TABLE undo_settled (
    job_id INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    undo_job_id INTEGER NOT NULL,
    PRIMARY KEY (job_id, record_id)
) WITHOUT ROWID;
