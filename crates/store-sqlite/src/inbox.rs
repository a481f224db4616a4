//! The built-in receiver's deliveries and callback replays (test controls).

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::inbox::INBOX_KEEP;
use bulkwrite_store::*;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::{db_error, instant, json_error, ms, SqliteStore};

#[async_trait]
impl InboxStore for SqliteStore {
    async fn add_inbox_delivery(&self, delivery: InboxDelivery) -> StoreResult<()> {
        let headers = serde_json::to_string(&delivery.headers).map_err(json_error)?;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let org = delivery.org.map(|org| org.get() as i64);
            tx.execute(
                "INSERT INTO inbox_deliveries (org, name, job_id, received_at, headers_json, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![org, delivery.name, delivery.job.map(|job| job.get() as i64), ms(delivery.received_at), headers, delivery.body],
            )
            .map_err(db_error)?;
            tx.execute(
                "DELETE FROM inbox_deliveries WHERE name = ?1 AND org IS ?2 AND id <= (
                     SELECT id FROM inbox_deliveries WHERE name = ?1 AND org IS ?2 ORDER BY id DESC LIMIT 1 OFFSET ?3)",
                params![delivery.name, org, i64::from(INBOX_KEEP)],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)
        })
        .await
    }

    async fn inbox_deliveries(&self, name: &str, org: Option<OrgId>) -> StoreResult<Vec<InboxDelivery>> {
        let name = name.to_string();
        self.run(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT org, job_id, received_at, headers_json, body FROM inbox_deliveries
                     WHERE name = ?1 AND (?2 IS NULL OR org = ?2 OR org IS NULL) ORDER BY id",
                )
                .map_err(db_error)?;
            let rows = statement
                .query_map(params![name, org.map(|org| org.get() as i64)], |row| {
                    Ok((
                        row.get::<_, Option<i64>>(0)?,
                        row.get::<_, Option<i64>>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                })
                .map_err(db_error)?;
            let mut deliveries = Vec::new();
            for row in rows {
                let (org, job, at, headers, body) = row.map_err(db_error)?;
                deliveries.push(InboxDelivery {
                    name: name.clone(),
                    org: org.map(|org| OrgId::new(org as u64)),
                    job: job.map(|job| JobId::new(job as u64)),
                    received_at: instant(at)?,
                    headers: serde_json::from_str(&headers).map_err(json_error)?,
                    body,
                });
            }
            Ok(deliveries)
        })
        .await
    }

    async fn clear_inbox(&self, name: &str, org: Option<OrgId>) -> StoreResult<u64> {
        let name = name.to_string();
        self.run(move |conn| {
            let removed = conn
                .execute(
                    "DELETE FROM inbox_deliveries WHERE name = ?1 AND (?2 IS NULL OR org = ?2 OR org IS NULL)",
                    params![name, org.map(|org| org.get() as i64)],
                )
                .map_err(db_error)?;
            Ok(removed as u64)
        })
        .await
    }

    async fn replay_callback(&self, org: OrgId, job: JobId, now: Timestamp) -> StoreResult<ReplayOutcome> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let (job, org) = (job.get() as i64, org.get() as i64);
            let finished: Option<Option<i64>> = tx
                .query_row("SELECT finished_at FROM jobs WHERE id = ?1 AND org = ?2", params![job, org], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(db_error)?;
            match finished {
                None => return Ok(ReplayOutcome::NoJob),
                Some(None) => return Ok(ReplayOutcome::Unfinished),
                Some(Some(_)) => {}
            }
            let callback: Option<(i64, String, i64)> = tx
                .query_row(
                    "SELECT id, state, attempts FROM callbacks WHERE job_id = ?1 AND org = ?2",
                    params![job, org],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(db_error)?;
            let Some((id, state, attempts)) = callback else { return Ok(ReplayOutcome::NoCallback) };
            if state == "pending" {
                tx.execute(
                    "UPDATE callbacks SET next_attempt_at = MIN(next_attempt_at, ?1) WHERE id = ?2",
                    params![ms(now), id],
                )
                .map_err(db_error)?;
            } else {
                tx.execute(
                    "UPDATE callbacks SET state = 'pending', next_attempt_at = ?1, replay_from = attempts,
                     lease_owner = NULL, lease_expires_at = NULL WHERE id = ?2",
                    params![ms(now), id],
                )
                .map_err(db_error)?;
            }
            tx.commit().map_err(db_error)?;
            Ok(ReplayOutcome::Queued { attempt: attempts as u32 + 1 })
        })
        .await
    }
}
