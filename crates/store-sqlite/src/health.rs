//! Reachability and the queue's size, for `/readyz` and `/metrics`.

use async_trait::async_trait;
use bulkwrite_store::{HealthStore, QueueStats, StoreResult};
use rusqlite::{Connection, OpenFlags};

use crate::{db_error, instant, SqliteStore};

#[async_trait]
impl HealthStore for SqliteStore {
    /// Opens the database file afresh and reads its schema page: the pooled connections keep
    /// working on a file that was deleted, moved or lost its volume, so only a new open tells.
    async fn ping(&self) -> StoreResult<()> {
        let path = self.path().to_path_buf();
        self.run(move |pooled| {
            pooled.query_row("SELECT 1", [], |_| Ok(())).map_err(db_error)?;
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let fresh = Connection::open_with_flags(&path, flags).map_err(db_error)?;
            fresh.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())).map_err(db_error)
        })
        .await
    }

    async fn queue_stats(&self) -> StoreResult<QueueStats> {
        self.run(|conn| {
            let (queued, running, oldest): (i64, i64, Option<i64>) = conn
                .query_row(
                    "SELECT COALESCE(SUM(state = 'queued'), 0), COALESCE(SUM(state = 'running'), 0),
                            MIN(CASE WHEN state = 'queued' THEN created_at END)
                     FROM jobs WHERE state IN ('queued', 'running')",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .map_err(db_error)?;
            Ok(QueueStats {
                queued: queued.max(0) as u64,
                running: running.max(0) as u64,
                oldest_queued_at: oldest.map(instant).transpose()?,
            })
        })
        .await
    }
}
