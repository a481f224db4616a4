-- A job's chunk keeps the before-images of the records it updates (see 0016) as one row: a JSON
-- array of `[record id, version left, image]`, one element a record. A row per record cost the
-- chunk an insert into `undo_images`' heap and primary key for every record it updated: 7% of
-- PostgreSQL's CPU in a 1,000,000-row upsert, and 18% of its log (docs/PERFORMANCE.md). Images
-- are read only by an undo, rarely: its first chunk moves the job's images into `undo_images`,
-- a row per record as before, in its transaction, and the undo goes on from there.
CREATE TABLE undo_chunk_images (
    job_id BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    first_row BIGINT NOT NULL,
    images_json TEXT NOT NULL,
    PRIMARY KEY (job_id, idx, first_row)
);
