//! The test controls' shared state (one row of `test_controls`), the queue's depth, and the
//! claim and hold of a stepped job.

use async_trait::async_trait;
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::job_row::read_job;
use crate::{db_error, ms, SqliteStore};

/// A held job's lease end: long past, so that any claim finds it ended.
const HELD: i64 = 0;

fn read_state(conn: &Connection) -> StoreResult<ControlState> {
    let (offset, paused): (i64, i64) = conn
        .query_row("SELECT clock_offset_seconds, queue_paused FROM test_controls WHERE singleton = 1", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()
        .map_err(db_error)?
        .unwrap_or((0, 0));
    Ok(ControlState { clock_offset_seconds: offset, queue_paused: paused != 0 })
}

impl SqliteStore {
    /// Runs `change` on the control row, then reads it back, in one transaction.
    async fn change_controls(&self, change: &'static str, value: i64) -> StoreResult<ControlState> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            tx.execute(change, [value]).map_err(db_error)?;
            let state = read_state(&tx)?;
            tx.commit().map_err(db_error)?;
            Ok(state)
        })
        .await
    }
}

#[async_trait]
impl ControlStore for SqliteStore {
    async fn control_state(&self) -> StoreResult<ControlState> {
        self.run(|conn| read_state(conn)).await
    }

    async fn advance_clock(&self, seconds: i64) -> StoreResult<ControlState> {
        self.change_controls("UPDATE test_controls SET clock_offset_seconds = clock_offset_seconds + ?1", seconds).await
    }

    async fn reset_clock(&self) -> StoreResult<ControlState> {
        self.change_controls("UPDATE test_controls SET clock_offset_seconds = ?1", 0).await
    }

    async fn set_queue_paused(&self, paused: bool) -> StoreResult<ControlState> {
        self.change_controls("UPDATE test_controls SET queue_paused = ?1", i64::from(paused)).await
    }

    async fn queue_depth(&self, now: Timestamp) -> StoreResult<QueueDepth> {
        self.run(move |conn| {
            let (queued, running, held): (i64, i64, i64) = conn
                .query_row(
                    "SELECT COALESCE(SUM(state = 'queued'), 0),
                            COALESCE(SUM(state = 'running' AND lease_expires_at >= ?1), 0),
                            COALESCE(SUM(state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < ?1)), 0)
                     FROM jobs WHERE state IN ('queued', 'running')",
                    [ms(now)],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .map_err(db_error)?;
            Ok(QueueDepth { queued: queued.max(0) as u64, running: running.max(0) as u64, held: held.max(0) as u64 })
        })
        .await
    }

    async fn claim_step(&self, claim: &Claim, target: StepTarget) -> StoreResult<StepClaim> {
        let claim = claim.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let now = ms(claim.now);
            let org = target.org.map(|org| org.get() as i64);
            let runnable = "(state = 'queued' OR (state = 'running' AND lease_expires_at < ?1)) AND cancel_requested_at IS NULL";
            let candidate: Option<i64> = match target.job {
                Some(job) => {
                    let sql = format!("SELECT id FROM jobs WHERE id = ?2 AND (?3 IS NULL OR org = ?3) AND {runnable}");
                    tx.query_row(&sql, params![now, job.get() as i64, org], |row| row.get(0))
                }
                None => {
                    let sql = format!(
                        "SELECT id FROM jobs WHERE (?2 IS NULL OR org = ?2) AND {runnable} ORDER BY created_at, id LIMIT 1"
                    );
                    tx.query_row(&sql, params![now, org], |row| row.get(0))
                }
            }
            .optional()
            .map_err(db_error)?;
            if let Some(id) = candidate {
                let claimed = crate::jobs::lease_job(tx, id, claim, ", attempts = attempts + 1, error = NULL, run_at = NULL")?;
                return Ok(StepClaim::Claimed(Box::new(claimed)));
            }
            let Some(job) = target.job else { return Ok(StepClaim::Nothing) };
            let found = read_job(&tx, "id = ?1 AND (?2 IS NULL OR org = ?2)", params![job.get() as i64, org])?;
            Ok(found.map_or(StepClaim::Nothing, |job| StepClaim::Refused(Box::new(job))))
        })
        .await
    }

    async fn hold_job(&self, lease: &Lease) -> StoreResult<()> {
        let lease = lease.clone();
        self.write_now(move |conn| {
            conn.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_expires_at = ?1 WHERE id = ?2 AND lease_owner = ?3 AND state = 'running'",
                params![HELD, lease.job.get() as i64, lease.owner],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }
}
