//! Reachability and the queue's size, for `/readyz` and `/metrics`.

use async_trait::async_trait;
use bulkwrite_store::{HealthStore, QueueStats, StoreResult, Timestamp};

use crate::statements::{get, query_one};
use crate::{pg_error, unsigned, PgStore};

#[async_trait]
impl HealthStore for PgStore {
    /// A round trip on a pooled connection; the pool replaces a closed one first, so a database
    /// that was dropped or a server that went away fails here.
    async fn ping(&self) -> StoreResult<()> {
        let conn = self.conn().await?;
        conn.simple_query("SELECT 1").await.map_err(pg_error)?;
        Ok(())
    }

    async fn queue_stats(&self) -> StoreResult<QueueStats> {
        let conn = self.conn().await?;
        let row = query_one(
            &conn,
            "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'running'),
                    min(created_at) FILTER (WHERE state = 'queued')
             FROM jobs WHERE state IN ('queued', 'running')",
            &[],
        )
        .await?;
        Ok(QueueStats {
            queued: unsigned(get::<i64>(&row, 0)?, "queued jobs")?,
            running: unsigned(get::<i64>(&row, 1)?, "running jobs")?,
            oldest_queued_at: get::<Option<Timestamp>>(&row, 2)?,
        })
    }
}
