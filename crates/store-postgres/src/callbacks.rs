//! Callback deliveries: the outbox rows and every attempt.

use async_trait::async_trait;
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::*;

use crate::statements::{execute, get, get_u32, get_u64, query, query_opt};
use crate::{pg_error, signed, PgStore};

#[async_trait]
impl CallbackStore for PgStore {
    /// Leases due deliveries in one statement; `SKIP LOCKED` lets dispatchers on several nodes
    /// claim at once without waiting on each other or taking the same delivery.
    async fn claim_callbacks(&self, claim: &CallbackClaim) -> StoreResult<Vec<CallbackDelivery>> {
        let conn = self.conn().await?;
        let CallbackClaim { owner, due_at, now, lease_for, limit } = claim;
        let until = *now + *lease_for;
        let rows = query(
            &conn,
            "UPDATE callbacks SET lease_owner = $1, lease_expires_at = $2
             WHERE id IN (
                 SELECT id FROM callbacks
                 WHERE state = 'pending' AND next_attempt_at <= $3 AND (lease_expires_at IS NULL OR lease_expires_at < $5)
                 ORDER BY next_attempt_at, id
                 LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, job_id, org, url, attempts, next_attempt_at, replay_from",
            &[owner, &until, due_at, &i64::from(*limit), now],
        )
        .await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in &rows {
            let next_attempt_at: Timestamp = get(row, 5)?;
            let delivery = CallbackDelivery {
                id: get_u64(row, 0)?,
                job: JobId::new(get_u64(row, 1)?),
                org: OrgId::new(get_u64(row, 2)?),
                url: get(row, 3)?,
                attempts: get_u32(row, 4)?,
                replay_from: get_u32(row, 6)?,
            };
            due.push((next_attempt_at, delivery));
        }
        due.sort_by_key(|(at, delivery)| (*at, delivery.id));
        Ok(due.into_iter().map(|(_, delivery)| delivery).collect())
    }

    async fn defer_callback(&self, delivery: &CallbackDelivery, owner: &str, until: Timestamp) -> StoreResult<()> {
        let conn = self.conn().await?;
        execute(
            &conn,
            "UPDATE callbacks SET next_attempt_at = $1, lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $2 AND state = 'pending' AND lease_owner = $3",
            &[&until, &signed(delivery.id), &owner],
        )
        .await?;
        Ok(())
    }

    async fn record_callback_attempt(
        &self,
        delivery: &CallbackDelivery,
        attempt: CallbackAttempt,
        outcome: DeliveryOutcome,
    ) -> StoreResult<()> {
        let id = signed(delivery.id);
        let number = i32::try_from(attempt.attempt).unwrap_or(i32::MAX);
        let status = attempt.status.map(i32::from);
        let exchange = CallbackExchange::encode(&attempt);
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        execute(
            &tx,
            "INSERT INTO callback_attempts (callback_id, attempt, at, status, error, duration_ms, exchange_json)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (callback_id, attempt) DO UPDATE
             SET at = EXCLUDED.at, status = EXCLUDED.status, error = EXCLUDED.error, duration_ms = EXCLUDED.duration_ms,
                 exchange_json = EXCLUDED.exchange_json",
            &[&id, &number, &attempt.at, &status, &attempt.error, &signed(attempt.duration_ms), &exchange],
        )
        .await?;
        let (state, next) = match outcome {
            DeliveryOutcome::Delivered => ("delivered", attempt.at),
            DeliveryOutcome::RetryAt(at) => ("pending", at),
            DeliveryOutcome::GaveUp => ("failed", attempt.at),
        };
        execute(
            &tx,
            "UPDATE callbacks SET state = $1, attempts = $2, next_attempt_at = $3, lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $4",
            &[&state, &number, &next, &id],
        )
        .await?;
        tx.commit().await.map_err(pg_error)
    }

    async fn callback_report(&self, org: OrgId, job: JobId) -> StoreResult<Option<CallbackReport>> {
        let conn = self.conn().await?;
        let found = query_opt(
            &conn,
            "SELECT id, url, state FROM callbacks WHERE job_id = $1 AND org = $2",
            &[&signed(job.get()), &signed(org.get())],
        )
        .await?;
        let Some(found) = found else { return Ok(None) };
        let id: i64 = get(&found, 0)?;
        let rows = query(
            &conn,
            "SELECT attempt, at, status, error, duration_ms, exchange_json FROM callback_attempts WHERE callback_id = $1 ORDER BY attempt",
            &[&id],
        )
        .await?;
        let mut attempts = Vec::with_capacity(rows.len());
        for row in &rows {
            let status: Option<i32> = get(row, 2)?;
            let status = status
                .map(|s| u16::try_from(s).map_err(|_| StoreError::Corrupt(format!("callback status {s}"))))
                .transpose()?;
            let exchange: Option<String> = get(row, 5)?;
            let exchange = CallbackExchange::decode(exchange.as_deref());
            attempts.push(CallbackAttempt {
                attempt: get_u32(row, 0)?,
                at: get(row, 1)?,
                status,
                error: get(row, 3)?,
                duration_ms: get_u64(row, 4)?,
                request: exchange.request,
                response: exchange.response,
            });
        }
        Ok(Some(CallbackReport { url: get(&found, 1)?, state: get(&found, 2)?, attempts }))
    }
}
