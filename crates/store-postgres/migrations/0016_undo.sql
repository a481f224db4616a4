-- Undo (issue 19). Every record carries a version: 1 when created, bumped by every later write,
-- so an undo can tell a record changed since its job wrote it.
ALTER TABLE records ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- An undo is a job of kind 'undo'; `undo_of` names the job it undoes.
ALTER TABLE jobs ADD COLUMN undo_of BIGINT;
CREATE INDEX jobs_by_undo_of ON jobs (undo_of) WHERE undo_of IS NOT NULL;

-- Before-images of the records a job's chunk updated, written in the chunk's transaction: what
-- the chunk changed (JSON, see bulkwrite_store::undo::BeforeImage) and the version it left.
-- Records a job added need none (their ids are in its result rows). Deleted with the job's
-- result rows by retention.
CREATE TABLE undo_images (
    job_id BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    first_row BIGINT NOT NULL,
    version BIGINT NOT NULL,
    image_json TEXT NOT NULL,
    PRIMARY KEY (job_id, record_id, idx, first_row)
);

-- Records an undo of `job_id` has settled (deleted, restored or reported), each once.
CREATE TABLE undo_settled (
    job_id BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    undo_job_id BIGINT NOT NULL,
    PRIMARY KEY (job_id, record_id)
);
