//! API credits and concurrency slots (see `bulkwrite_store::credits`), shared by every node.
//!
//! Admitting a call is one transaction that first takes a transaction-scoped advisory lock on
//! the org (`hashtextextended('api-credits/<org>', 0)`): under `READ COMMITTED` two nodes would
//! otherwise both count the same last credits or the same free slot. Calls of different orgs
//! never wait for each other.

use async_trait::async_trait;
use bulkwrite_core::credits::Refusal;
use bulkwrite_core::ids::OrgId;
use bulkwrite_store::credits::{first_counted_minute, minute_of, release_time, AppCalls};
use bulkwrite_store::*;
use deadpool_postgres::GenericClient;

use crate::statements::{execute, get, query, query_one, query_opt};
use crate::{pg_error, signed, unsigned, PgStore};

/// Credits of the org's window at `now`, and its oldest counted minute.
async fn window<C: GenericClient>(client: &C, org: i64, now: Timestamp) -> StoreResult<(u64, Option<i64>)> {
    let row = query_one(
        client,
        "SELECT COALESCE(SUM(credits), 0)::BIGINT, MIN(minute) FROM api_credit_minutes WHERE org = $1 AND minute >= $2",
        &[&org, &first_counted_minute(now)],
    )
    .await?;
    Ok((unsigned(get(&row, 0)?, "credits used")?, get(&row, 1)?))
}

/// Admits or refuses a call inside the caller's transaction (which holds the org's lock).
async fn admit<C: GenericClient>(client: &C, call: &CallRequest) -> StoreResult<CallAdmission> {
    let org = signed(call.org.get());
    execute(
        client,
        "DELETE FROM api_credit_minutes WHERE org = $1 AND minute < $2",
        &[&org, &first_counted_minute(call.now)],
    )
    .await?;
    execute(client, "DELETE FROM api_calls WHERE org = $1 AND expires_at <= $2", &[&org, &call.now]).await?;
    let (used, _) = window(client, org, call.now).await?;
    let row = query_one(
        client,
        "SELECT count(*), count(*) FILTER (WHERE complex) FROM api_calls WHERE org = $1 AND app = $2",
        &[&org, &call.app],
    )
    .await?;
    let (calls, complex): (i64, i64) = (get(&row, 0)?, get(&row, 1)?);
    let refusal = if calls >= i64::from(call.concurrency) {
        Some(Refusal::Concurrency)
    } else if call.complex && complex >= i64::from(call.sub_concurrency) {
        Some(Refusal::SubConcurrency)
    } else if used.saturating_add(call.cost) > call.credit_limit {
        Some(Refusal::Credits)
    } else {
        None
    };
    if let Some(refusal) = refusal {
        return Ok(CallAdmission::Refused { refusal, used });
    }
    execute(
        client,
        "INSERT INTO api_credit_minutes (org, minute, credits) VALUES ($1, $2, $3)
         ON CONFLICT (org, minute) DO UPDATE SET credits = api_credit_minutes.credits + excluded.credits",
        &[&org, &minute_of(call.now), &signed(call.cost)],
    )
    .await?;
    let expires_at = call.now + call.slot_lease;
    let row = query_one(
        client,
        "INSERT INTO api_calls (org, app, complex, expires_at) VALUES ($1, $2, $3, $4) RETURNING id",
        &[&org, &call.app, &call.complex, &expires_at],
    )
    .await?;
    Ok(CallAdmission::Admitted { slot: CallSlot(get(&row, 0)?), used: used.saturating_add(call.cost) })
}

#[async_trait]
impl CreditStore for PgStore {
    async fn org_credits(&self, org: OrgId) -> StoreResult<OrgCredits> {
        let conn = self.conn().await?;
        let row = query_opt(
            &conn,
            "SELECT metered, edition, users, addon_credits FROM org_credits WHERE org = $1",
            &[&signed(org.get())],
        )
        .await?;
        let Some(row) = row else { return Ok(OrgCredits::Inherit) };
        let edition: Option<String> = get(&row, 1)?;
        OrgCredits::from_stored(Some(get(&row, 0)?), edition.as_deref(), get(&row, 2)?, get(&row, 3)?)
    }

    async fn set_org_credits(&self, org: OrgId, setting: OrgCredits) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let zgid = signed(org.get());
        if query_opt(&tx, "SELECT zgid FROM orgs WHERE zgid = $1", &[&zgid]).await?.is_none() {
            return Err(StoreError::NotFound(format!("org {org}")));
        }
        match setting.to_stored() {
            None => {
                execute(&tx, "DELETE FROM org_credits WHERE org = $1", &[&zgid]).await?;
            }
            Some((metered, edition, users, addon)) => {
                execute(
                    &tx,
                    "INSERT INTO org_credits (org, metered, edition, users, addon_credits) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (org) DO UPDATE SET metered = excluded.metered, edition = excluded.edition,
                         users = excluded.users, addon_credits = excluded.addon_credits",
                    &[&zgid, &metered, &edition, &users, &addon],
                )
                .await?;
            }
        }
        tx.commit().await.map_err(pg_error)
    }

    async fn begin_call(&self, call: &CallRequest) -> StoreResult<CallAdmission> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let key = format!("api-credits/{}", call.org);
        execute(&tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key]).await?;
        let admission = admit(&tx, call).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(admission)
    }

    async fn end_call(&self, slot: CallSlot) -> StoreResult<()> {
        let conn = self.conn().await?;
        execute(&conn, "DELETE FROM api_calls WHERE id = $1", &[&slot.0]).await?;
        Ok(())
    }

    async fn credit_usage(&self, org: OrgId, now: Timestamp) -> StoreResult<CreditUsage> {
        let conn = self.conn().await?;
        let zgid = signed(org.get());
        let (used, oldest) = window(&conn, zgid, now).await?;
        let rows = query(
            &conn,
            "SELECT app, count(*), count(*) FILTER (WHERE complex) FROM api_calls
             WHERE org = $1 AND expires_at > $2 GROUP BY app ORDER BY app",
            &[&zgid, &now],
        )
        .await?;
        let mut in_flight = Vec::with_capacity(rows.len());
        for row in &rows {
            let (calls, complex): (i64, i64) = (get(row, 1)?, get(row, 2)?);
            in_flight.push(AppCalls {
                app: get(row, 0)?,
                calls: u32::try_from(calls).unwrap_or(u32::MAX),
                complex: u32::try_from(complex).unwrap_or(u32::MAX),
            });
        }
        Ok(CreditUsage { used, next_release: oldest.map(release_time), in_flight })
    }
}
