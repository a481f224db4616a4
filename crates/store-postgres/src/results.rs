//! Result rows are stored one chunk per row (a JSON array, the embedded backend's encoding), so
//! a chunk writes one row instead of hundreds; reading expands them back in input order.

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::result::{ResultRow, RowStatus};
use bulkwrite_store::{StoreError, StoreResult};
use deadpool_postgres::GenericClient;
use futures_util::TryStreamExt;
use serde_json::{json, Value};

use crate::rows::get;
use crate::{json_error, pg_error};

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
    let items: Vec<StoredRow> = serde_json::from_str(text).map_err(json_error)?;
    for (row_no, status, record_id, errors, echo) in items {
        if row_no <= after || out.len() >= limit {
            continue;
        }
        let status =
            RowStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("result row status {status}")))?;
        out.push(ResultRow { row_no, echo, status, record_id: record_id.map(RecordId::new), errors });
    }
    Ok(())
}

/// Up to `limit` result rows with `row_no > after`, in input order; chunks are streamed, so
/// only the ones needed are read.
pub(crate) async fn read_after<C: GenericClient>(
    client: &C,
    job: i64,
    resource: i32,
    after: u64,
    limit: usize,
) -> StoreResult<Vec<ResultRow>> {
    let statement = client
        .prepare_cached(
            "SELECT rows_json FROM job_results WHERE job_id = $1 AND idx = $2 AND last_row > $3 ORDER BY first_row",
        )
        .await
        .map_err(pg_error)?;
    let after_param = i64::try_from(after).unwrap_or(i64::MAX);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&job, &resource, &after_param];
    let rows = client.query_raw(&statement, params).await.map_err(pg_error)?;
    let mut rows = std::pin::pin!(rows);
    let mut out = Vec::with_capacity(limit.min(4096));
    while out.len() < limit {
        let Some(row) = rows.try_next().await.map_err(pg_error)? else { break };
        let text: String = get(&row, 0)?;
        decode(&text, &mut out, after, limit)?;
    }
    Ok(out)
}
