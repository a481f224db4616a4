//! Reset and snapshots of an org (see `bulkwrite_store::org_state`). [`STATE_TABLES`] is the one
//! list of the tables that hold an org's state. Rows are copied whole (`to_json` of the row,
//! read back with `json_populate_record`), so a column added by a later migration is copied
//! without a change here; `json`, not `jsonb`, keeps record documents exactly as written.

use async_trait::async_trait;
use bulkwrite_core::ids::OrgId;
use bulkwrite_store::*;
use deadpool_postgres::Transaction;

use crate::jobs::notify;
use crate::statements::{execute, get, get_u64, query, query_opt};
use crate::{pg_error, signed, PgStore, CALLBACKS_CHANNEL, JOBS_CHANNEL};

/// The rows of the org's jobs' own tables (`$1` is the org).
const JOB_ROWS: &str = "job_id IN (SELECT id FROM jobs WHERE org = $1)";
/// The rows of the org (`$1`).
const ORG_ROWS: &str = "org = $1";

/// A table holding org state: its name, which rows are the org's (`$1`: the org), and which of
/// those a reset keeps (`$2`: the hash of the caller's access token).
struct StateTable {
    name: &'static str,
    rows: &'static str,
    kept: Option<&'static str>,
}

const fn table(name: &'static str, rows: &'static str) -> StateTable {
    StateTable { name, rows, kept: None }
}

/// Every table of org state, children before their parents: a reset deletes in this order, so
/// the parents a predicate reads still hold the org's rows.
const STATE_TABLES: &[StateTable] = &[
    table("job_resources", JOB_ROWS),
    table("job_results", JOB_ROWS),
    table("job_row_reasons", JOB_ROWS),
    table("job_uploads", JOB_ROWS),
    table("read_parts", JOB_ROWS),
    table("dry_run_keys", JOB_ROWS),
    table("dry_run_records", JOB_ROWS),
    table("fault_checked_jobs", JOB_ROWS),
    table("fault_job_hits", JOB_ROWS),
    table("undo_images", JOB_ROWS),
    table("undo_chunk_images", JOB_ROWS),
    table("undo_settled", JOB_ROWS),
    table("callback_attempts", "callback_id IN (SELECT id FROM callbacks WHERE org = $1)"),
    table("callbacks", ORG_ROWS),
    table("jobs", ORG_ROWS),
    // The org's keys are those of its scopes (the keys' primary key starts with the scope). Key
    // scopes are not org state: never deleted, so the scope ids a snapshot's keys name stay
    // theirs.
    table("unique_keys", "scope IN (SELECT id FROM key_scopes WHERE org = $1)"),
    table("records", ORG_ROWS),
    table("uploads", ORG_ROWS),
    table("inbox_deliveries", ORG_ROWS),
    table("fault_rules", ORG_ROWS),
    table("api_credit_minutes", ORG_ROWS),
    table("read_downloads", ORG_ROWS),
    table("grant_codes", ORG_ROWS),
    StateTable {
        name: "refresh_tokens",
        rows: ORG_ROWS,
        kept: Some("token_hash IN (SELECT refresh_hash FROM access_tokens WHERE token_hash = $2)"),
    },
    StateTable { name: "access_tokens", rows: ORG_ROWS, kept: Some("token_hash = $2") },
];

/// A snapshot taken before records held their keys (migration 0021) restores its records
/// without them: each one's `keys` is made again from the keys restored with it (`$1`: the org).
const KEYS_OF_OLDER_SNAPSHOTS: &str = "UPDATE records r SET keys = k.keys
     FROM (
         SELECT u.record_id,
                json_agg(json_build_array(s.field, u.value) ORDER BY s.field COLLATE \"C\", u.value COLLATE \"C\")::text AS keys
         FROM key_scopes s JOIN unique_keys u ON u.scope = s.id
         WHERE s.org = $1
         GROUP BY u.record_id
     ) AS k
     WHERE r.id = k.record_id AND r.org = $1 AND r.keys IS NULL";

/// The blob keys the org's live rows name (`$1`: the org), as column `key_`.
const BLOB_KEYS: &str = "SELECT blob_key AS key_ FROM uploads WHERE org = $1 AND expired_at IS NULL
     UNION SELECT result_blob FROM jobs WHERE org = $1 AND result_blob IS NOT NULL AND result_expired_at IS NULL
     UNION SELECT blob_key FROM read_parts WHERE job_id IN (SELECT id FROM jobs WHERE org = $1)";

/// Deletes the org's state, keeping `keep`'s token; queues the blobs no snapshot names. Locks
/// the org's jobs first, so a chunk in flight commits before (and its rows go too) or fails
/// after (its job is gone).
async fn reset(tx: &Transaction<'_>, org: i64, keep: &Keep) -> StoreResult<ResetSummary> {
    tx.execute("SELECT id FROM jobs WHERE org = $1 ORDER BY id FOR UPDATE", &[&org]).await.map_err(pg_error)?;
    tx.execute(
        &format!(
            "INSERT INTO expired_blobs (key, queued_at)
             SELECT key_, now() FROM ({BLOB_KEYS}) live WHERE key_ NOT IN (SELECT key FROM snapshot_blobs)
             ON CONFLICT DO NOTHING"
        ),
        &[&org],
    )
    .await
    .map_err(pg_error)?;
    let mut summary = ResetSummary::default();
    for table in STATE_TABLES {
        let deleted = match (table.kept, &keep.token_hash) {
            (Some(kept), Some(hash)) => {
                let sql = format!("DELETE FROM {} WHERE {} AND NOT ({kept})", table.name, table.rows);
                tx.execute(&sql, &[&org, hash]).await
            }
            _ => tx.execute(&format!("DELETE FROM {} WHERE {}", table.name, table.rows), &[&org]).await,
        }
        .map_err(pg_error)?;
        summary.rows += deleted;
        match table.name {
            "records" => summary.records = deleted,
            "jobs" => summary.jobs = deleted,
            _ => {}
        }
    }
    Ok(summary)
}

async fn snapshot_info(tx: &Transaction<'_>, org: i64, name: &str) -> StoreResult<Option<SnapshotInfo>> {
    let row = query_opt(
        tx,
        "SELECT name, created_at, records, jobs, rows FROM snapshots WHERE org = $1 AND name = $2",
        &[&org, &name],
    )
    .await?;
    row.map(|row| info(&row)).transpose()
}

fn info(row: &tokio_postgres::Row) -> StoreResult<SnapshotInfo> {
    Ok(SnapshotInfo {
        name: get(row, 0)?,
        created_time: get(row, 1)?,
        records: get_u64(row, 2)?,
        jobs: get_u64(row, 3)?,
        rows: get_u64(row, 4)?,
    })
}

#[async_trait]
impl OrgStateStore for PgStore {
    async fn reset_org(&self, org: OrgId, keep: &Keep) -> StoreResult<ResetSummary> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let summary = reset(&tx, signed(org.get()), keep).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(summary)
    }

    async fn create_snapshot(&self, org: OrgId, name: &str, now: Timestamp) -> StoreResult<SnapshotInfo> {
        let org = signed(org.get());
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        // Taken under the snapshot's row lock: a concurrent take of the same name waits, then
        // meets the row and is refused.
        let inserted = execute(
            &tx,
            "INSERT INTO snapshots (org, name, created_at, records, jobs, rows) VALUES ($1, $2, $3, 0, 0, 0)
             ON CONFLICT DO NOTHING",
            &[&org, &name, &now],
        )
        .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("snapshot '{name}' exists")));
        }
        let (mut records, mut jobs, mut rows) = (0u64, 0u64, 0u64);
        for table in STATE_TABLES {
            let sql = format!(
                "INSERT INTO snapshot_rows (org, snapshot, tbl, row_data)
                 SELECT $1, $2, '{table}', to_json(t) FROM {table} t WHERE {rows}",
                table = table.name,
                rows = table.rows,
            );
            let copied = tx.execute(&sql, &[&org, &name]).await.map_err(pg_error)?;
            rows += copied;
            match table.name {
                "records" => records = copied,
                "jobs" => jobs = copied,
                _ => {}
            }
        }
        let sql = format!(
            "INSERT INTO snapshot_blobs (org, snapshot, key) SELECT $1, $2, key_ FROM ({BLOB_KEYS}) live
             ON CONFLICT DO NOTHING"
        );
        tx.execute(&sql, &[&org, &name]).await.map_err(pg_error)?;
        let counts = [records, jobs, rows].map(signed);
        execute(
            &tx,
            "UPDATE snapshots SET records = $3, jobs = $4, rows = $5 WHERE org = $1 AND name = $2",
            &[&org, &name, &counts[0], &counts[1], &counts[2]],
        )
        .await?;
        let info =
            snapshot_info(&tx, org, name).await?.ok_or_else(|| StoreError::Corrupt("snapshot vanished".into()))?;
        tx.commit().await.map_err(pg_error)?;
        Ok(info)
    }

    async fn snapshots(&self, org: OrgId) -> StoreResult<Vec<SnapshotInfo>> {
        let conn = self.conn().await?;
        let rows = query(
            &conn,
            "SELECT name, created_at, records, jobs, rows FROM snapshots WHERE org = $1 ORDER BY created_at, name",
            &[&signed(org.get())],
        )
        .await?;
        rows.iter().map(info).collect()
    }

    async fn restore_snapshot(&self, org: OrgId, name: &str, keep: &Keep) -> StoreResult<Option<SnapshotInfo>> {
        let org = signed(org.get());
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        // The snapshot's row lock keeps a concurrent delete of it out until this commits.
        let found =
            query_opt(&tx, "SELECT 1 FROM snapshots WHERE org = $1 AND name = $2 FOR SHARE", &[&org, &name]).await?;
        if found.is_none() {
            return Ok(None);
        }
        let info = snapshot_info(&tx, org, name).await?;
        reset(&tx, org, keep).await?;
        for table in STATE_TABLES {
            let sql = format!(
                "INSERT INTO {table} SELECT r.* FROM snapshot_rows s
                 CROSS JOIN LATERAL json_populate_record(NULL::{table}, s.row_data) r
                 WHERE s.org = $1 AND s.snapshot = $2 AND s.tbl = '{table}'
                 ON CONFLICT DO NOTHING",
                table = table.name,
            );
            tx.execute(&sql, &[&org, &name]).await.map_err(pg_error)?;
        }
        execute(&tx, KEYS_OF_OLDER_SNAPSHOTS, &[&org]).await?;
        // Restored queued jobs and pending callbacks are due: wake every node.
        notify(&tx, JOBS_CHANNEL).await?;
        notify(&tx, CALLBACKS_CHANNEL).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(info)
    }

    async fn delete_snapshot(&self, org: OrgId, name: &str) -> StoreResult<bool> {
        let org = signed(org.get());
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let found =
            query_opt(&tx, "SELECT 1 FROM snapshots WHERE org = $1 AND name = $2 FOR UPDATE", &[&org, &name]).await?;
        if found.is_none() {
            return Ok(false);
        }
        let sql = format!(
            "INSERT INTO expired_blobs (key, queued_at)
             SELECT key, now() FROM snapshot_blobs mine WHERE org = $1 AND snapshot = $2
             AND NOT EXISTS (SELECT 1 FROM snapshot_blobs other
                             WHERE other.key = mine.key AND NOT (other.org = $1 AND other.snapshot = $2))
             AND key NOT IN ({BLOB_KEYS})
             ON CONFLICT DO NOTHING"
        );
        tx.execute(&sql, &[&org, &name]).await.map_err(pg_error)?;
        for table in ["snapshot_rows", "snapshot_blobs"] {
            let sql = format!("DELETE FROM {table} WHERE org = $1 AND snapshot = $2");
            tx.execute(&sql, &[&org, &name]).await.map_err(pg_error)?;
        }
        execute(&tx, "DELETE FROM snapshots WHERE org = $1 AND name = $2", &[&org, &name]).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(true)
    }
}
