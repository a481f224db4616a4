//! API credits and concurrency slots (see `bulkwrite_store::credits`). Admissions are immediate
//! transactions: SQLite's one writer serialises them.

use async_trait::async_trait;
use bulkwrite_core::credits::Refusal;
use bulkwrite_core::ids::OrgId;
use bulkwrite_store::credits::{first_counted_minute, minute_of, release_time, AppCalls};
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::{db_error, ms, SqliteStore};

/// Credits of the org's window at `now`, and its oldest counted minute.
fn window(conn: &Connection, org: i64, now: Timestamp) -> StoreResult<(u64, Option<i64>)> {
    let (used, oldest): (i64, Option<i64>) = conn
        .query_row(
            "SELECT COALESCE(SUM(credits), 0), MIN(minute) FROM api_credit_minutes WHERE org = ?1 AND minute >= ?2",
            params![org, first_counted_minute(now)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(db_error)?;
    Ok((u64::try_from(used).unwrap_or(0), oldest))
}

/// Admits or refuses a call inside the caller's transaction.
fn admit(conn: &Connection, call: &CallRequest) -> StoreResult<CallAdmission> {
    let org = call.org.get() as i64;
    let now = ms(call.now);
    conn.execute(
        "DELETE FROM api_credit_minutes WHERE org = ?1 AND minute < ?2",
        params![org, first_counted_minute(call.now)],
    )
    .map_err(db_error)?;
    conn.execute("DELETE FROM api_calls WHERE org = ?1 AND expires_at <= ?2", params![org, now]).map_err(db_error)?;
    let (used, _) = window(conn, org, call.now)?;
    let (calls, complex): (i64, i64) = conn
        .query_row(
            "SELECT count(*), COALESCE(SUM(complex), 0) FROM api_calls WHERE org = ?1 AND app = ?2",
            params![org, call.app],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(db_error)?;
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
    let cost = i64::try_from(call.cost).unwrap_or(i64::MAX);
    conn.execute(
        "INSERT INTO api_credit_minutes (org, minute, credits) VALUES (?1, ?2, ?3)
         ON CONFLICT (org, minute) DO UPDATE SET credits = credits + excluded.credits",
        params![org, minute_of(call.now), cost],
    )
    .map_err(db_error)?;
    let expires_at = ms(call.now + call.slot_lease);
    conn.execute(
        "INSERT INTO api_calls (org, app, complex, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![org, call.app, call.complex, expires_at],
    )
    .map_err(db_error)?;
    Ok(CallAdmission::Admitted { slot: CallSlot(conn.last_insert_rowid()), used: used.saturating_add(call.cost) })
}

#[async_trait]
impl CreditStore for SqliteStore {
    async fn org_credits(&self, org: OrgId) -> StoreResult<OrgCredits> {
        self.run(move |conn| {
            let row: Option<(bool, Option<String>, Option<i64>, Option<i64>)> = conn
                .query_row(
                    "SELECT metered, edition, users, addon_credits FROM org_credits WHERE org = ?1",
                    [org.get() as i64],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .optional()
                .map_err(db_error)?;
            match row {
                None => Ok(OrgCredits::Inherit),
                Some((metered, edition, users, addon)) => {
                    OrgCredits::from_stored(Some(metered), edition.as_deref(), users, addon)
                }
            }
        })
        .await
    }

    async fn set_org_credits(&self, org: OrgId, setting: OrgCredits) -> StoreResult<()> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let zgid = org.get() as i64;
            let exists: Option<i64> =
                tx.query_row("SELECT zgid FROM orgs WHERE zgid = ?1", [zgid], |row| row.get(0)).optional().map_err(db_error)?;
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("org {org}")));
            }
            match setting.to_stored() {
                None => {
                    tx.execute("DELETE FROM org_credits WHERE org = ?1", [zgid]).map_err(db_error)?;
                }
                Some((metered, edition, users, addon)) => {
                    tx.execute(
                        "INSERT INTO org_credits (org, metered, edition, users, addon_credits) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (org) DO UPDATE SET metered = excluded.metered, edition = excluded.edition,
                             users = excluded.users, addon_credits = excluded.addon_credits",
                        params![zgid, metered, edition, users, addon],
                    )
                    .map_err(db_error)?;
                }
            }
            tx.commit().map_err(db_error)
        })
        .await
    }

    async fn begin_call(&self, call: &CallRequest) -> StoreResult<CallAdmission> {
        let call = call.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let admission = admit(&tx, &call)?;
            tx.commit().map_err(db_error)?;
            Ok(admission)
        })
        .await
    }

    async fn end_call(&self, slot: CallSlot) -> StoreResult<()> {
        self.run(move |conn| {
            conn.execute("DELETE FROM api_calls WHERE id = ?1", [slot.0]).map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn credit_usage(&self, org: OrgId, now: Timestamp) -> StoreResult<CreditUsage> {
        self.run(move |conn| {
            let zgid = org.get() as i64;
            let (used, oldest) = window(conn, zgid, now)?;
            let mut statement = conn
                .prepare(
                    "SELECT app, count(*), COALESCE(SUM(complex), 0) FROM api_calls
                     WHERE org = ?1 AND expires_at > ?2 GROUP BY app ORDER BY app",
                )
                .map_err(db_error)?;
            let rows = statement
                .query_map(params![zgid, ms(now)], |row| {
                    let (app, calls, complex): (String, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
                    Ok(AppCalls {
                        app,
                        calls: u32::try_from(calls).unwrap_or(u32::MAX),
                        complex: u32::try_from(complex).unwrap_or(u32::MAX),
                    })
                })
                .map_err(db_error)?;
            let mut in_flight = Vec::new();
            for row in rows {
                in_flight.push(row.map_err(db_error)?);
            }
            Ok(CreditUsage { used, next_release: oldest.map(release_time), in_flight })
        })
        .await
    }
}
