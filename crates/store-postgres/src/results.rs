//! Reading result rows back: one stored row per chunk, encoded as `bulkwrite_store::result_rows`
//! says (the same as the embedded backend), expanded in input order,
//! each with the reasons its chunk stored.

use bulkwrite_core::result::ResultRow;
use bulkwrite_store::{result_rows, StoreResult};
use deadpool_postgres::GenericClient;
use futures_util::TryStreamExt;

use crate::pg_error;
use crate::statements::get;

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
            "SELECT r.rows_json, x.reasons_json FROM job_results r
             LEFT JOIN job_row_reasons x ON x.job_id = r.job_id AND x.idx = r.idx AND x.first_row = r.first_row
             WHERE r.job_id = $1 AND r.idx = $2 AND r.last_row > $3 ORDER BY r.first_row",
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
        let reasons: Option<String> = get(&row, 1)?;
        result_rows::decode(&text, reasons.as_deref(), &mut out, after, limit)?;
    }
    Ok(out)
}
