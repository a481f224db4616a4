//! The built-in receiver's deliveries and callback replays (test controls).

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::inbox::INBOX_KEEP;
use bulkwrite_store::*;

use crate::jobs::notify;
use crate::statements::{execute, get, get_u32, query, query_opt};
use crate::{json_error, pg_error, signed, unsigned, PgStore, CALLBACKS_CHANNEL};

#[async_trait]
impl InboxStore for PgStore {
    async fn add_inbox_delivery(&self, delivery: InboxDelivery) -> StoreResult<()> {
        let headers = serde_json::to_string(&delivery.headers).map_err(json_error)?;
        let org = delivery.org.map(|org| signed(org.get()));
        let job = delivery.job.map(|job| signed(job.get()));
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        execute(
            &tx,
            "INSERT INTO inbox_deliveries (org, name, job_id, received_at, headers_json, body) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&org, &delivery.name, &job, &delivery.received_at, &headers, &delivery.body],
        )
        .await?;
        execute(
            &tx,
            "DELETE FROM inbox_deliveries WHERE name = $1 AND org IS NOT DISTINCT FROM $2 AND id <= (
                 SELECT id FROM inbox_deliveries WHERE name = $1 AND org IS NOT DISTINCT FROM $2
                 ORDER BY id DESC LIMIT 1 OFFSET $3)",
            &[&delivery.name, &org, &i64::from(INBOX_KEEP)],
        )
        .await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn inbox_deliveries(&self, name: &str, org: Option<OrgId>) -> StoreResult<Vec<InboxDelivery>> {
        let conn = self.conn().await?;
        let org = org.map(|org| signed(org.get()));
        let rows = query(
            &conn,
            "SELECT org, job_id, received_at, headers_json, body FROM inbox_deliveries
             WHERE name = $1 AND ($2::BIGINT IS NULL OR org = $2 OR org IS NULL) ORDER BY id",
            &[&name, &org],
        )
        .await?;
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in &rows {
            let org: Option<i64> = get(row, 0)?;
            let job: Option<i64> = get(row, 1)?;
            let headers: String = get(row, 3)?;
            deliveries.push(InboxDelivery {
                name: name.to_string(),
                org: org.map(|org| unsigned(org, "org").map(OrgId::new)).transpose()?,
                job: job.map(|job| unsigned(job, "job").map(JobId::new)).transpose()?,
                received_at: get(row, 2)?,
                headers: serde_json::from_str(&headers).map_err(json_error)?,
                body: get(row, 4)?,
            });
        }
        Ok(deliveries)
    }

    async fn clear_inbox(&self, name: &str, org: Option<OrgId>) -> StoreResult<u64> {
        let conn = self.conn().await?;
        let org = org.map(|org| signed(org.get()));
        execute(
            &conn,
            "DELETE FROM inbox_deliveries WHERE name = $1 AND ($2::BIGINT IS NULL OR org = $2 OR org IS NULL)",
            &[&name, &org],
        )
        .await
    }

    async fn replay_callback(&self, org: OrgId, job: JobId, now: Timestamp) -> StoreResult<ReplayOutcome> {
        let (job, org) = (signed(job.get()), signed(org.get()));
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let Some(found) =
            query_opt(&tx, "SELECT finished_at FROM jobs WHERE id = $1 AND org = $2", &[&job, &org]).await?
        else {
            return Ok(ReplayOutcome::NoJob);
        };
        let finished: Option<Timestamp> = get(&found, 0)?;
        if finished.is_none() {
            return Ok(ReplayOutcome::Unfinished);
        }
        let Some(callback) = query_opt(
            &tx,
            "SELECT id, state, attempts FROM callbacks WHERE job_id = $1 AND org = $2 FOR UPDATE",
            &[&job, &org],
        )
        .await?
        else {
            return Ok(ReplayOutcome::NoCallback);
        };
        let id: i64 = get(&callback, 0)?;
        let state: String = get(&callback, 1)?;
        let attempts = get_u32(&callback, 2)?;
        if state == "pending" {
            execute(
                &tx,
                "UPDATE callbacks SET next_attempt_at = LEAST(next_attempt_at, $1) WHERE id = $2",
                &[&now, &id],
            )
            .await?;
        } else {
            execute(
                &tx,
                "UPDATE callbacks SET state = 'pending', next_attempt_at = $1, replay_from = attempts,
                 lease_owner = NULL, lease_expires_at = NULL WHERE id = $2",
                &[&now, &id],
            )
            .await?;
        }
        notify(&tx, CALLBACKS_CHANNEL).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(ReplayOutcome::Queued { attempt: attempts + 1 })
    }
}
