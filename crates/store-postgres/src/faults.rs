//! Fault rules of the test controls, shared by every node. A match is counted under the rule
//! row's lock (`UPDATE … RETURNING`) and decided in the same transaction, so matches on any
//! number of nodes get distinct match numbers and a rule with `times` fires that many times in
//! all. Rules are locked in id order wherever several are, so two deciders never deadlock.

use async_trait::async_trait;
use bulkwrite_core::faults::{FaultAction, FaultKind, FaultRule};
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::fault_rules::{job_fault_from_text, job_fault_text, rule_from_text, rule_text};
use bulkwrite_store::{FaultStore, JobFaultHit, StoreResult, StoredFault, Timestamp};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use crate::statements::{execute, get, get_u64, query, query_opt};
use crate::{pg_error, signed, PgStore};

const COLUMNS: &str = "id, rule, fired, matched, created_at";

fn decode(row: &Row) -> StoreResult<StoredFault> {
    Ok(StoredFault {
        id: get_u64(row, 0)?,
        rule: rule_from_text(&get::<String>(row, 1)?)?,
        fired: get_u64(row, 2)?,
        matched: get_u64(row, 3)?,
        created_at: get(row, 4)?,
    })
}

fn decode_all(rows: &[Row]) -> StoreResult<Vec<StoredFault>> {
    rows.iter().map(decode).collect()
}

/// Counts a match of rule `id` and decides it, inside the caller's transaction.
async fn fire<C: GenericClient>(client: &C, id: i64) -> StoreResult<bool> {
    let counted = query_opt(
        client,
        "UPDATE fault_rules SET matched = matched + 1 WHERE id = $1 RETURNING rule, matched, fired",
        &[&id],
    )
    .await?;
    let Some(row) = counted else { return Ok(false) };
    let rule = rule_from_text(&get::<String>(&row, 0)?)?;
    if !rule.fires(get_u64(&row, 1)?, get_u64(&row, 2)?) {
        return Ok(false);
    }
    execute(client, "UPDATE fault_rules SET fired = fired + 1 WHERE id = $1", &[&id]).await?;
    Ok(true)
}

#[async_trait]
impl FaultStore for PgStore {
    async fn add_fault(&self, id: u64, rule: &FaultRule, created_at: Timestamp) -> StoreResult<()> {
        let conn = self.conn().await?;
        let org = rule.org.map(|org| signed(org.get()));
        let times = rule.times.map(signed);
        execute(
            &conn,
            "INSERT INTO fault_rules (id, org, kind, rule, times, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&signed(id), &org, &rule.kind().as_str(), &rule_text(rule)?, &times, &created_at],
        )
        .await?;
        Ok(())
    }

    async fn faults(&self, scope: Option<OrgId>) -> StoreResult<Vec<StoredFault>> {
        let conn = self.conn().await?;
        let rows = match scope {
            None => query(&conn, &format!("SELECT {COLUMNS} FROM fault_rules ORDER BY id"), &[]).await?,
            Some(org) => {
                let sql = format!("SELECT {COLUMNS} FROM fault_rules WHERE org = $1 ORDER BY id");
                query(&conn, &sql, &[&signed(org.get())]).await?
            }
        };
        decode_all(&rows)
    }

    async fn live_faults(&self, kind: FaultKind) -> StoreResult<Vec<StoredFault>> {
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM fault_rules WHERE kind = $1 AND (times IS NULL OR fired < times) ORDER BY id"
        );
        let rows = query(&conn, &sql, &[&kind.as_str()]).await?;
        decode_all(&rows)
    }

    async fn fire_fault(&self, id: u64) -> StoreResult<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let fired = fire(&tx, signed(id)).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(fired)
    }

    async fn remove_fault(&self, scope: Option<OrgId>, id: u64) -> StoreResult<bool> {
        let conn = self.conn().await?;
        let removed = match scope {
            None => execute(&conn, "DELETE FROM fault_rules WHERE id = $1", &[&signed(id)]).await?,
            Some(org) => {
                execute(&conn, "DELETE FROM fault_rules WHERE id = $1 AND org = $2", &[&signed(id), &signed(org.get())])
                    .await?
            }
        };
        Ok(removed > 0)
    }

    async fn clear_faults(&self, scope: Option<OrgId>) -> StoreResult<u64> {
        let conn = self.conn().await?;
        match scope {
            None => execute(&conn, "DELETE FROM fault_rules", &[]).await,
            Some(org) => execute(&conn, "DELETE FROM fault_rules WHERE org = $1", &[&signed(org.get())]).await,
        }
    }

    async fn job_faults(&self, org: OrgId, job: JobId) -> StoreResult<Vec<JobFaultHit>> {
        let (org, job) = (signed(org.get()), signed(job.get()));
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        // A second caller for the job waits here for the first's commit, then finds the row.
        let first = execute(&tx, "INSERT INTO fault_checked_jobs (job_id) VALUES ($1) ON CONFLICT DO NOTHING", &[&job])
            .await?
            > 0;
        if first {
            let sql = format!(
                "SELECT {COLUMNS} FROM fault_rules
                 WHERE kind = 'job' AND (org IS NULL OR org = $1) AND (times IS NULL OR fired < times)
                 ORDER BY id"
            );
            let candidates = decode_all(&query(&tx, &sql, &[&org]).await?)?;
            for candidate in candidates {
                let FaultAction::Job(job_fault) = &candidate.rule.action else { continue };
                if fire(&tx, signed(candidate.id)).await? {
                    execute(
                        &tx,
                        "INSERT INTO fault_job_hits (job_id, fault_id, job_fault) VALUES ($1, $2, $3)",
                        &[&job, &signed(candidate.id), &job_fault_text(job_fault)?],
                    )
                    .await?;
                }
            }
        }
        let rows = query(
            &tx,
            "SELECT fault_id, job_fault, spent FROM fault_job_hits WHERE job_id = $1 ORDER BY fault_id",
            &[&job],
        )
        .await?;
        let mut hits = Vec::with_capacity(rows.len());
        for row in &rows {
            hits.push(JobFaultHit {
                fault: get_u64(row, 0)?,
                job: job_fault_from_text(&get::<String>(row, 1)?)?,
                spent: get(row, 2)?,
            });
        }
        tx.commit().await.map_err(pg_error)?;
        Ok(hits)
    }

    async fn spend_job_fault(&self, job: JobId, fault: u64) -> StoreResult<bool> {
        let conn = self.conn().await?;
        let spent = execute(
            &conn,
            "UPDATE fault_job_hits SET spent = TRUE WHERE job_id = $1 AND fault_id = $2 AND NOT spent",
            &[&signed(job.get()), &signed(fault)],
        )
        .await?;
        Ok(spent > 0)
    }
}
