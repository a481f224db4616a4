//! Fault rules of the test controls. A match is counted and decided in one `IMMEDIATE`
//! transaction, so concurrent matches get distinct match numbers and `times` holds.

use async_trait::async_trait;
use bulkwrite_core::faults::{FaultKind, FaultRule};
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::fault_rules::{job_fault_from_text, job_fault_text, rule_from_text, rule_text};
use bulkwrite_store::{FaultStore, JobFaultHit, StoreResult, StoredFault, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use crate::{db_error, instant, ms, SqliteStore};

const COLUMNS: &str = "id, rule, fired, matched, created_at";

fn stored(row: &Row<'_>) -> rusqlite::Result<(i64, String, i64, i64, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn decode((id, rule, fired, matched, created_at): (i64, String, i64, i64, i64)) -> StoreResult<StoredFault> {
    Ok(StoredFault {
        id: id as u64,
        rule: rule_from_text(&rule)?,
        fired: fired.max(0) as u64,
        matched: matched.max(0) as u64,
        created_at: instant(created_at)?,
    })
}

fn select(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<StoredFault>> {
    let mut statement = conn.prepare_cached(sql).map_err(db_error)?;
    let rows = statement.query_map(params, stored).map_err(db_error)?;
    let mut faults = Vec::new();
    for row in rows {
        faults.push(decode(row.map_err(db_error)?)?);
    }
    Ok(faults)
}

/// Counts a match of rule `id` and decides it, inside the caller's transaction.
fn fire(conn: &Connection, id: i64) -> StoreResult<bool> {
    let counted: Option<(String, i64, i64)> = conn
        .query_row(
            "UPDATE fault_rules SET matched = matched + 1 WHERE id = ?1 RETURNING rule, matched, fired",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(db_error)?;
    let Some((text, matched, fired)) = counted else { return Ok(false) };
    if !rule_from_text(&text)?.fires(matched.max(0) as u64, fired.max(0) as u64) {
        return Ok(false);
    }
    conn.execute("UPDATE fault_rules SET fired = fired + 1 WHERE id = ?1", [id]).map_err(db_error)?;
    Ok(true)
}

fn hits(conn: &Connection, job: i64) -> StoreResult<Vec<JobFaultHit>> {
    let mut statement = conn
        .prepare_cached("SELECT fault_id, job_fault, spent FROM fault_job_hits WHERE job_id = ?1 ORDER BY fault_id")
        .map_err(db_error)?;
    let rows = statement
        .query_map([job], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, bool>(2)?)))
        .map_err(db_error)?;
    let mut hits = Vec::new();
    for row in rows {
        let (fault, text, spent) = row.map_err(db_error)?;
        hits.push(JobFaultHit { fault: fault as u64, job: job_fault_from_text(&text)?, spent });
    }
    Ok(hits)
}

#[async_trait]
impl FaultStore for SqliteStore {
    async fn add_fault(&self, id: u64, rule: &FaultRule, created_at: Timestamp) -> StoreResult<()> {
        let text = rule_text(rule)?;
        let (org, kind, times) = (rule.org.map(|o| o.get() as i64), rule.kind().as_str(), rule.times.map(|t| t as i64));
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO fault_rules (id, org, kind, rule, times, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id as i64, org, kind, text, times, ms(created_at)],
            )
            .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn faults(&self, scope: Option<OrgId>) -> StoreResult<Vec<StoredFault>> {
        self.run(move |conn| match scope {
            None => select(conn, &format!("SELECT {COLUMNS} FROM fault_rules ORDER BY id"), []),
            Some(org) => select(
                conn,
                &format!("SELECT {COLUMNS} FROM fault_rules WHERE org = ?1 ORDER BY id"),
                [org.get() as i64],
            ),
        })
        .await
    }

    async fn live_faults(&self, kind: FaultKind) -> StoreResult<Vec<StoredFault>> {
        self.run(move |conn| {
            select(
                conn,
                &format!(
                    "SELECT {COLUMNS} FROM fault_rules WHERE kind = ?1 AND (times IS NULL OR fired < times) ORDER BY id"
                ),
                [kind.as_str()],
            )
        })
        .await
    }

    async fn fire_fault(&self, id: u64) -> StoreResult<bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let fired = fire(&tx, id as i64)?;
            tx.commit().map_err(db_error)?;
            Ok(fired)
        })
        .await
    }

    async fn remove_fault(&self, scope: Option<OrgId>, id: u64) -> StoreResult<bool> {
        self.run(move |conn| {
            let removed = match scope {
                None => conn.execute("DELETE FROM fault_rules WHERE id = ?1", [id as i64]),
                Some(org) => {
                    conn.execute("DELETE FROM fault_rules WHERE id = ?1 AND org = ?2", [id as i64, org.get() as i64])
                }
            };
            Ok(removed.map_err(db_error)? > 0)
        })
        .await
    }

    async fn clear_faults(&self, scope: Option<OrgId>) -> StoreResult<u64> {
        self.run(move |conn| {
            let removed = match scope {
                None => conn.execute("DELETE FROM fault_rules", []),
                Some(org) => conn.execute("DELETE FROM fault_rules WHERE org = ?1", [org.get() as i64]),
            };
            Ok(removed.map_err(db_error)? as u64)
        })
        .await
    }

    async fn job_faults(&self, org: OrgId, job: JobId) -> StoreResult<Vec<JobFaultHit>> {
        let (org, job) = (org.get() as i64, job.get() as i64);
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let first = tx
                .execute("INSERT INTO fault_checked_jobs (job_id) VALUES (?1) ON CONFLICT DO NOTHING", [job])
                .map_err(db_error)?
                > 0;
            if first {
                let candidates = select(
                    &tx,
                    &format!(
                        "SELECT {COLUMNS} FROM fault_rules
                         WHERE kind = 'job' AND (org IS NULL OR org = ?1) AND (times IS NULL OR fired < times)
                         ORDER BY id"
                    ),
                    [org],
                )?;
                for candidate in candidates {
                    let bulkwrite_core::faults::FaultAction::Job(job_fault) = &candidate.rule.action else { continue };
                    if fire(&tx, candidate.id as i64)? {
                        tx.execute(
                            "INSERT INTO fault_job_hits (job_id, fault_id, job_fault) VALUES (?1, ?2, ?3)",
                            params![job, candidate.id as i64, job_fault_text(job_fault)?],
                        )
                        .map_err(db_error)?;
                    }
                }
            }
            let bound = hits(&tx, job)?;
            tx.commit().map_err(db_error)?;
            Ok(bound)
        })
        .await
    }

    async fn spend_job_fault(&self, job: JobId, fault: u64) -> StoreResult<bool> {
        self.run(move |conn| {
            let spent = conn
                .execute(
                    "UPDATE fault_job_hits SET spent = 1 WHERE job_id = ?1 AND fault_id = ?2 AND spent = 0",
                    [job.get() as i64, fault as i64],
                )
                .map_err(db_error)?;
            Ok(spent > 0)
        })
        .await
    }
}
