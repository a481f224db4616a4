//! Reading result rows back: one stored row per chunk, encoded as `bulkwrite_store::result_rows`
//! says, expanded in input order,
//! each with the reasons its chunk stored.

use bulkwrite_core::result::ResultRow;
use bulkwrite_store::{result_rows, StoreResult};
use rusqlite::{params, Connection};

use crate::db_error;

/// Up to `limit` result rows with `row_no > after`, in input order.
pub(crate) fn read_after(
    conn: &Connection,
    job: i64,
    resource: i64,
    after: u64,
    limit: usize,
) -> StoreResult<Vec<ResultRow>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT r.rows_json, x.reasons_json FROM job_results r
             LEFT JOIN job_row_reasons x ON x.job_id = r.job_id AND x.idx = r.idx AND x.first_row = r.first_row
             WHERE r.job_id = ?1 AND r.idx = ?2 AND r.last_row > ?3 ORDER BY r.first_row",
        )
        .map_err(db_error)?;
    let mut rows = statement.query(params![job, resource, after as i64]).map_err(db_error)?;
    let mut out = Vec::with_capacity(limit.min(4096));
    while let Some(row) = rows.next().map_err(db_error)? {
        if out.len() >= limit {
            break;
        }
        let text: String = row.get(0).map_err(db_error)?;
        let reasons: Option<String> = row.get(1).map_err(db_error)?;
        result_rows::decode(&text, reasons.as_deref(), &mut out, after, limit)?;
    }
    Ok(out)
}
