-- The full error report (issue 18): why each failed row failed, kept when the job runs, in the
-- same chunk transaction as its result rows. One row per chunk that has failed rows, keyed like
-- job_results; `reasons_json` is [[row_no, [{code, column, field, value, message}, …]], …].
CREATE TABLE job_row_reasons (
    job_id BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    first_row BIGINT NOT NULL,
    reasons_json TEXT NOT NULL,
    PRIMARY KEY (job_id, idx, first_row)
);
