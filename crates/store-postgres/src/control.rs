//! The test controls' shared state (one row of `test_controls`, read by every node), the
//! queue's depth, and the claim and hold of a stepped job.

use async_trait::async_trait;
use bulkwrite_store::*;

use crate::job_row::{read_job, JOB_COLUMNS};
use crate::statements::{execute, get, query_one, query_opt};
use crate::{signed, unsigned, PgStore};

/// Takes the named job, or the oldest runnable one, for a step: queued, or running with an
/// ended lease (held), not asked to stop; whatever the pause, the per-org limit or a backoff.
const CLAIM_STEP: &str = "WITH candidate AS (
         SELECT j.id FROM jobs j
         WHERE ($2::bigint IS NULL OR j.id = $2) AND ($3::bigint IS NULL OR j.org = $3)
           AND (j.state = 'queued' OR (j.state = 'running' AND j.lease_expires_at < $1))
           AND j.cancel_requested_at IS NULL
         ORDER BY j.created_at, j.id
         LIMIT 1
         FOR UPDATE SKIP LOCKED
     )
     UPDATE jobs SET state = 'running', lease_owner = $4, lease_node = $5, lease_expires_at = $6,
                     attempts = attempts + 1, error = NULL, run_at = NULL
     FROM candidate WHERE jobs.id = candidate.id
     RETURNING jobs.id, jobs.org, jobs.created_by, jobs.api_version, jobs.spec_json, jobs.state, jobs.attempts,
               jobs.character_encoding, jobs.result_blob, jobs.error, jobs.created_at, jobs.finished_at,
               jobs.cancel_requested_at, jobs.cancelled_by, jobs.result_expired_at, jobs.read_json, jobs.undo_of";

const STATE: &str = "SELECT clock_offset_seconds, queue_paused FROM test_controls";

fn state_of(row: &tokio_postgres::Row) -> StoreResult<ControlState> {
    Ok(ControlState { clock_offset_seconds: get(row, 0)?, queue_paused: get(row, 1)? })
}

impl PgStore {
    /// Runs `change` on the control row (it returns the row's two columns).
    async fn change_controls(
        &self,
        change: &str,
        value: &(dyn tokio_postgres::types::ToSql + Sync),
    ) -> StoreResult<ControlState> {
        let conn = self.conn().await?;
        let row = query_one(&conn, change, &[value]).await?;
        state_of(&row)
    }
}

#[async_trait]
impl ControlStore for PgStore {
    async fn control_state(&self) -> StoreResult<ControlState> {
        let conn = self.conn().await?;
        match query_opt(&conn, STATE, &[]).await? {
            Some(row) => state_of(&row),
            None => Ok(ControlState::default()),
        }
    }

    async fn advance_clock(&self, seconds: i64) -> StoreResult<ControlState> {
        self.change_controls(
            "UPDATE test_controls SET clock_offset_seconds = clock_offset_seconds + $1 RETURNING clock_offset_seconds, queue_paused",
            &seconds,
        )
        .await
    }

    async fn reset_clock(&self) -> StoreResult<ControlState> {
        self.change_controls(
            "UPDATE test_controls SET clock_offset_seconds = $1 RETURNING clock_offset_seconds, queue_paused",
            &0i64,
        )
        .await
    }

    async fn set_queue_paused(&self, paused: bool) -> StoreResult<ControlState> {
        self.change_controls(
            "UPDATE test_controls SET queue_paused = $1 RETURNING clock_offset_seconds, queue_paused",
            &paused,
        )
        .await
    }

    async fn queue_depth(&self, now: Timestamp) -> StoreResult<QueueDepth> {
        let conn = self.conn().await?;
        let row = query_one(
            &conn,
            "SELECT count(*) FILTER (WHERE state = 'queued'),
                    count(*) FILTER (WHERE state = 'running' AND lease_expires_at >= $1),
                    count(*) FILTER (WHERE state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < $1))
             FROM jobs WHERE state IN ('queued', 'running')",
            &[&now],
        )
        .await?;
        Ok(QueueDepth {
            queued: unsigned(get(&row, 0)?, "count")?,
            running: unsigned(get(&row, 1)?, "count")?,
            held: unsigned(get(&row, 2)?, "count")?,
        })
    }

    async fn claim_step(&self, claim: &Claim, target: StepTarget) -> StoreResult<StepClaim> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(crate::pg_error)?;
        let job = target.job.map(|job| signed(job.get()));
        let org = target.org.map(|org| signed(org.get()));
        let until = claim.now + claim.lease_for;
        let claimed =
            query_opt(&tx, CLAIM_STEP, &[&claim.now, &job, &org, &claim.owner, &self.inner.node, &until]).await?;
        if let Some(row) = claimed {
            let job = read_job(&tx, &row).await?;
            tx.commit().await.map_err(crate::pg_error)?;
            let lease = Lease { job: job.id, org: job.org, owner: claim.owner.clone() };
            return Ok(StepClaim::Claimed(Box::new((job, lease))));
        }
        let Some(job) = job else {
            tx.commit().await.map_err(crate::pg_error)?;
            return Ok(StepClaim::Nothing);
        };
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND ($2::bigint IS NULL OR org = $2)");
        let found = match query_opt(&tx, &sql, &[&job, &org]).await? {
            Some(row) => StepClaim::Refused(Box::new(read_job(&tx, &row).await?)),
            None => StepClaim::Nothing,
        };
        tx.commit().await.map_err(crate::pg_error)?;
        Ok(found)
    }

    async fn hold_job(&self, lease: &Lease) -> StoreResult<()> {
        let conn = self.conn().await?;
        execute(
            &conn,
            "UPDATE jobs SET lease_owner = NULL, lease_node = NULL, lease_expires_at = 'epoch'
             WHERE id = $1 AND org = $2 AND lease_owner = $3 AND state = 'running'",
            &[&signed(lease.job.get()), &signed(lease.org.get()), &lease.owner],
        )
        .await?;
        Ok(())
    }
}
