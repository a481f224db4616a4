//! Planner statistics after a large job. A job that adds many records to a table the planner
//! has never measured (or measured when it was a tenth of its size) leaves PostgreSQL planning
//! from guesses until autovacuum's next pass (a minute or more away): the records list of a
//! freshly loaded org of 1,000,000 Leads was planned as a bitmap scan of every record and a sort,
//! 1.1 s a page, where the ordered scan of the index by module (now the primary key) takes a
//! millisecond. So the job that made the statistics wrong refreshes them once it has completed,
//! on a task of its own: the node's worker goes on to its next job meanwhile (a job queued just
//! after a 25,000-row one waited some 30–40 ms of the `ANALYZE`'s 70–90 ms for it before).
//! The records' values and keys are left out of it (migration 0024): nothing plans by them.

use deadpool_postgres::GenericClient;

use crate::statements::query_one;
use crate::StoreResult;

/// A job adding fewer records than this leaves the statistics to autovacuum.
pub(crate) const ANALYZE_AFTER_ADDED: i64 = 10_000;

/// How long the refresh waits for another session's `ANALYZE` (or autovacuum) of the table;
/// past it, that session's statistics will do.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '2s'";

/// Whether a job that added `added` records should refresh `records`' statistics: it added
/// enough, and the table was never analyzed or held fewer than ten times as many rows then.
pub(crate) async fn needs_analyze(client: &impl GenericClient, added: i64) -> StoreResult<bool> {
    if added < ANALYZE_AFTER_ADDED {
        return Ok(false);
    }
    let row = query_one(client, "SELECT reltuples::float8 FROM pg_class WHERE oid = 'records'::regclass", &[]).await?;
    let measured: f64 = crate::statements::get(&row, 0)?;
    Ok(measured < 0.0 || (added as f64) * 10.0 >= measured)
}

/// The tables a large job grows, in the order they are analyzed: the keys first, whose
/// statistics come quickest and matter first. Without them, the next update or upsert (often
/// the job just after an import) planned each of its probes of the unique keys, by value and by
/// record, as a bitmap scan of some thousand rows it guessed: its reads of 1,000,000 Leads took
/// 79 ms a 2,000-row chunk where index scans take 40 ms (docs/PERFORMANCE.md).
const GROWN_TABLES: [&str; 2] = ["unique_keys", "records"];

/// Runs `ANALYZE` of each of the [`GROWN_TABLES`] in a transaction of its own, so that each
/// table's statistics serve the plans made after it as soon as they are taken. A failure is
/// logged, never returned: the job it follows has already completed.
pub(crate) async fn analyze_grown_tables(client: &mut deadpool_postgres::Client, added: i64) {
    for table in GROWN_TABLES {
        let started = std::time::Instant::now();
        let outcome = async {
            let tx = client.transaction().await?;
            tx.batch_execute(LOCK_TIMEOUT).await?;
            tx.batch_execute(&format!("ANALYZE {table}")).await?;
            tx.commit().await
        }
        .await;
        match outcome {
            Ok(()) => tracing::info!(
                table,
                added,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "analyzed a table after a large job"
            ),
            Err(error) => {
                // In the database's words (the driver's own are "db error").
                let said = crate::pg_error(error).last_said();
                tracing::warn!(table, added, error = %said, "analyzing a table after a large job failed");
            }
        }
    }
}
