//! Callback deliveries: the outbox rows and every attempt.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::*;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::{db_error, instant, ms, SqliteStore};

#[async_trait]
impl CallbackStore for SqliteStore {
    async fn claim_callbacks(&self, claim: &CallbackClaim) -> StoreResult<Vec<CallbackDelivery>> {
        let CallbackClaim { owner, due_at, now, lease_for, limit } = claim.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let mut due = Vec::new();
            {
                let mut statement = tx
                    .prepare_cached(
                        "SELECT id, job_id, org, url, attempts, replay_from FROM callbacks
                         WHERE state = 'pending' AND next_attempt_at <= ?1 AND (lease_expires_at IS NULL OR lease_expires_at < ?3)
                         ORDER BY next_attempt_at, id LIMIT ?2",
                    )
                    .map_err(db_error)?;
                let rows = statement
                    .query_map(params![ms(due_at), i64::from(limit), ms(now)], |row| {
                        Ok(CallbackDelivery {
                            id: row.get::<_, i64>(0)? as u64,
                            job: JobId::new(row.get::<_, i64>(1)? as u64),
                            org: OrgId::new(row.get::<_, i64>(2)? as u64),
                            url: row.get(3)?,
                            attempts: row.get::<_, i64>(4)? as u32,
                            replay_from: row.get::<_, i64>(5)? as u32,
                        })
                    })
                    .map_err(db_error)?;
                for row in rows {
                    due.push(row.map_err(db_error)?);
                }
            }
            for delivery in &due {
                tx.execute(
                    "UPDATE callbacks SET lease_owner = ?1, lease_expires_at = ?2 WHERE id = ?3",
                    params![owner, ms(now + lease_for), delivery.id as i64],
                )
                .map_err(db_error)?;
            }
            tx.commit().map_err(db_error)?;
            Ok(due)
        })
        .await
    }

    async fn defer_callback(&self, delivery: &CallbackDelivery, owner: &str, until: Timestamp) -> StoreResult<()> {
        let (id, owner) = (delivery.id as i64, owner.to_string());
        self.run(move |conn| {
            conn.execute(
                "UPDATE callbacks SET next_attempt_at = ?1, lease_owner = NULL, lease_expires_at = NULL
                 WHERE id = ?2 AND state = 'pending' AND lease_owner = ?3",
                params![ms(until), id, owner],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn record_callback_attempt(
        &self,
        delivery: &CallbackDelivery,
        attempt: CallbackAttempt,
        outcome: DeliveryOutcome,
    ) -> StoreResult<()> {
        let id = delivery.id as i64;
        let exchange = CallbackExchange::encode(&attempt);
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            tx.execute(
                "INSERT OR REPLACE INTO callback_attempts (callback_id, attempt, at, status, error, duration_ms, exchange_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, i64::from(attempt.attempt), ms(attempt.at), attempt.status.map(i64::from), attempt.error, attempt.duration_ms as i64, exchange],
            )
            .map_err(db_error)?;
            let (state, next) = match outcome {
                DeliveryOutcome::Delivered => ("delivered", ms(attempt.at)),
                DeliveryOutcome::RetryAt(at) => ("pending", ms(at)),
                DeliveryOutcome::GaveUp => ("failed", ms(attempt.at)),
            };
            tx.execute(
                "UPDATE callbacks SET state = ?1, attempts = ?2, next_attempt_at = ?3, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?4",
                params![state, i64::from(attempt.attempt), next, id],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)
        })
        .await
    }

    async fn callback_report(&self, org: OrgId, job: JobId) -> StoreResult<Option<CallbackReport>> {
        self.run(move |conn| {
            let found: Option<(i64, String, String)> = conn
                .query_row(
                    "SELECT id, url, state FROM callbacks WHERE job_id = ?1 AND org = ?2",
                    params![job.get() as i64, org.get() as i64],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(db_error)?;
            let Some((id, url, state)) = found else { return Ok(None) };
            let mut statement = conn
                .prepare_cached("SELECT attempt, at, status, error, duration_ms, exchange_json FROM callback_attempts WHERE callback_id = ?1 ORDER BY attempt")
                .map_err(db_error)?;
            let rows = statement
                .query_map([id], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, Option<i64>>(2)?, row.get::<_, Option<String>>(3)?, row.get::<_, i64>(4)?, row.get::<_, Option<String>>(5)?))
                })
                .map_err(db_error)?;
            let mut attempts = Vec::new();
            for row in rows {
                let (attempt, at, status, error, duration, exchange) = row.map_err(db_error)?;
                let exchange = CallbackExchange::decode(exchange.as_deref());
                attempts.push(CallbackAttempt {
                    attempt: attempt as u32,
                    at: instant(at)?,
                    status: status.map(|s| s as u16),
                    error,
                    duration_ms: duration as u64,
                    request: exchange.request,
                    response: exchange.response,
                });
            }
            Ok(Some(CallbackReport { url, state, attempts }))
        })
        .await
    }
}
