//! Reading result rows back: one stored row per chunk, encoded as `bulkwrite_store::result_rows`
//! says (the same as the embedded backend), expanded in input order,
//! each with the reasons its chunk stored.

use bulkwrite_core::result::ResultRow;
use bulkwrite_store::{result_rows, StoreResult};
use deadpool_postgres::GenericClient;
use futures_util::TryStreamExt;

use crate::pg_error;
use crate::statements::get;

/// A job resource's stored chunks after a row (`$3`), each with its reasons. The reasons are
/// looked up by a chunk's whole key, one probe per chunk, whatever the planner believes: as a
/// join, on tables not yet analyzed since a job wrote them, PostgreSQL planned a scan of every
/// reasons row of the job for each chunk (1,605 chunks of a cancelled job: 170 ms a page of
/// result rows instead of 2 ms, seconds for its result file).
const READ_AFTER: &str = "SELECT r.rows_json,
            (SELECT x.reasons_json FROM job_row_reasons x
             WHERE x.job_id = r.job_id AND x.idx = r.idx AND x.first_row = r.first_row)
     FROM job_results r
     WHERE r.job_id = $1 AND r.idx = $2 AND r.last_row > $3 ORDER BY r.first_row";

/// Up to `limit` result rows with `row_no > after`, in input order; chunks are streamed, so
/// only the ones needed are read.
pub(crate) async fn read_after<C: GenericClient>(
    client: &C,
    job: i64,
    resource: i32,
    after: u64,
    limit: usize,
) -> StoreResult<Vec<ResultRow>> {
    let statement = client.prepare_cached(READ_AFTER).await.map_err(pg_error)?;
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

#[cfg(test)]
mod tests {
    use bulkwrite_core::result::{ErrorsCell, ReportError, ResultRow, RowErrorCode, RowStatus};

    use super::*;
    use crate::plan_checks::Fresh;

    const JOB: i64 = 5_725_767_000_000_100_006;
    const CHUNKS: i64 = 1_500;

    /// A skipped row of a one-row chunk, with its reason.
    fn skipped(row_no: u64) -> ResultRow {
        let reason = ReportError {
            code: RowErrorCode::DuplicateData,
            column: "Email".into(),
            field: "Email".into(),
            value: format!("l{row_no}@x.example"),
            message: "taken".into(),
        };
        ResultRow {
            row_no,
            echo: vec![format!("L{row_no}")],
            status: RowStatus::Skipped,
            record_id: None,
            errors: ErrorsCell::from_pairs([(RowErrorCode::DuplicateData, "Email")]),
            reasons: vec![reason],
        }
    }

    /// A job of 1,500 one-row chunks, each with a failed row, read back on tables the planner
    /// has never measured (as just after the job wrote them): every row comes back with its
    /// reasons, and PostgreSQL reads a few buffers a chunk, not the job's reasons for each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
    async fn a_page_of_result_rows_probes_each_chunks_reasons_once() {
        let fresh = Fresh::new("results").await;
        let client = fresh.store.conn().await.unwrap();
        for first in 1..=CHUNKS {
            let row = [skipped(first as u64)];
            let rows = bulkwrite_store::result_rows::encode(&row).unwrap();
            let reasons = bulkwrite_store::result_rows::encode_reasons(&row).unwrap().unwrap();
            client
                .execute(
                    "WITH result AS (
                         INSERT INTO job_results (job_id, idx, first_row, last_row, rows_json) VALUES ($1, 0, $2, $2, $3)
                     )
                     INSERT INTO job_row_reasons (job_id, idx, first_row, reasons_json) VALUES ($1, 0, $2, $4)",
                    &[&JOB, &first, &rows, &reasons],
                )
                .await
                .unwrap();
        }

        let page = read_after(&client, JOB, 0, 900, 500).await.unwrap();
        assert_eq!(page.iter().map(|row| row.row_no).collect::<Vec<_>>(), (901..=1_400).collect::<Vec<_>>());
        assert!(page
            .iter()
            .all(|row| row.reasons.len() == 1 && row.reasons[0].value == format!("l{}@x.example", row.row_no)));
        // A chunk's reasons, one probe each; the join read all 1,500 for each of the 600 chunks.
        let most = fresh.most_rows_a_scan_read("job_row_reasons", READ_AFTER, &[&JOB, &0i32, &900i64]).await;
        assert!(most <= 1, "{most} reasons rows one scan read");
        drop(client);
        fresh.drop().await;
    }
}
