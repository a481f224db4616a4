//! Result rows are stored one chunk per row (a JSON array), so a chunk writes one row instead of
//! hundreds; reading expands them back in input order.

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::result::{ResultRow, RowStatus};
use bulkwrite_store::{StoreError, StoreResult};
use rusqlite::{params, Connection};
use serde_json::{json, Value};

use crate::{db_error, json_error};

/// Encodes a chunk's result rows.
pub(crate) fn encode(rows: &[ResultRow]) -> StoreResult<String> {
    let items: Vec<Value> = rows
        .iter()
        .map(|row| json!([row.row_no, row.status.as_str(), row.record_id.map(RecordId::get), row.errors, row.echo]))
        .collect();
    serde_json::to_string(&items).map_err(json_error)
}

/// `[row_no, status, record_id, errors, echo]` as stored.
type StoredRow = (u64, String, Option<u64>, String, Vec<String>);

fn decode(text: &str, out: &mut Vec<ResultRow>, after: u64, limit: usize) -> StoreResult<()> {
    let corrupt = || StoreError::Corrupt("result rows".into());
    let items: Vec<StoredRow> = serde_json::from_str(text).map_err(json_error)?;
    for (row_no, status, record_id, errors, echo) in items {
        if row_no <= after || out.len() >= limit {
            continue;
        }
        let status = RowStatus::parse(&status).ok_or_else(corrupt)?;
        out.push(ResultRow { row_no, echo, status, record_id: record_id.map(RecordId::new), errors });
    }
    Ok(())
}

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
            "SELECT rows_json FROM job_results WHERE job_id = ?1 AND idx = ?2 AND last_row > ?3 ORDER BY first_row",
        )
        .map_err(db_error)?;
    let mut rows = statement.query(params![job, resource, after as i64]).map_err(db_error)?;
    let mut out = Vec::with_capacity(limit.min(4096));
    while let Some(row) = rows.next().map_err(db_error)? {
        if out.len() >= limit {
            break;
        }
        let text: String = row.get(0).map_err(db_error)?;
        decode(&text, &mut out, after, limit)?;
    }
    Ok(out)
}
