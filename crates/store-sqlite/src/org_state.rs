//! Reset and snapshots of an org (see `bulkwrite_store::org_state`). [`STATE_TABLES`] is the one
//! list of the tables that hold an org's state; columns are read from the schema at run time,
//! so a column added by a later migration is copied without a change here.

use async_trait::async_trait;
use bulkwrite_core::ids::OrgId;
use bulkwrite_store::*;
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use crate::{db_error, instant, ms, SqliteStore};

/// The rows of the org's jobs' own tables (`?1` is the org).
const JOB_ROWS: &str = "job_id IN (SELECT id FROM jobs WHERE org = ?1)";
/// The rows of the org (`?1`).
const ORG_ROWS: &str = "org = ?1";
/// The rows of the org's key scopes (`?1`).
const ORG_SCOPES: &str = "scope IN (SELECT id FROM key_scopes WHERE org = ?1)";

/// A table holding org state: its name, which rows are the org's (`?1`: the org), and which of
/// those a reset keeps (`?2`: the hash of the caller's access token).
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
    table("undo_settled", JOB_ROWS),
    table("callback_attempts", "callback_id IN (SELECT id FROM callbacks WHERE org = ?1)"),
    table("callbacks", ORG_ROWS),
    table("jobs", ORG_ROWS),
    table("unique_keys", ORG_SCOPES),
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
        kept: Some("token_hash IN (SELECT refresh_hash FROM access_tokens WHERE token_hash = ?2)"),
    },
    StateTable { name: "access_tokens", rows: ORG_ROWS, kept: Some("token_hash = ?2") },
];

/// The blob keys the org's live rows name (`?1`: the org), as column `key_`.
const BLOB_KEYS: &str = "SELECT blob_key AS key_ FROM uploads WHERE org = ?1 AND expired_at IS NULL
     UNION SELECT result_blob FROM jobs WHERE org = ?1 AND result_blob IS NOT NULL AND result_expired_at IS NULL
     UNION SELECT blob_key FROM read_parts WHERE job_id IN (SELECT id FROM jobs WHERE org = ?1)";

/// The columns of `table`, quoted.
fn columns(tx: &Transaction<'_>, table: &str) -> StoreResult<Vec<String>> {
    let mut statement = tx.prepare_cached(&format!("PRAGMA table_info(\"{table}\")")).map_err(db_error)?;
    let names = statement.query_map([], |row| row.get::<_, String>(1)).map_err(db_error)?;
    names.map(|name| name.map_err(db_error)).collect()
}

/// Deletes the org's state, keeping `keep`'s token; queues the blobs no snapshot names.
fn reset(tx: &Transaction<'_>, org: i64, keep: &Keep) -> StoreResult<ResetSummary> {
    tx.execute(
        &format!(
            "INSERT OR IGNORE INTO expired_blobs (key, queued_at)
             SELECT key_, ?2 FROM ({BLOB_KEYS}) WHERE key_ NOT IN (SELECT key FROM snapshot_blobs)"
        ),
        params![org, ms(chrono::Utc::now())],
    )
    .map_err(db_error)?;
    // The slots of the org's keys: an index of `unique_keys`, rebuilt from it at a restore.
    tx.execute(&format!("DELETE FROM key_slots WHERE {ORG_SCOPES}"), [org]).map_err(db_error)?;
    let mut summary = ResetSummary::default();
    for table in STATE_TABLES {
        let deleted = match (table.kept, &keep.token_hash) {
            (Some(kept), Some(hash)) => tx.execute(
                &format!("DELETE FROM {} WHERE {} AND NOT ({kept})", table.name, table.rows),
                params![org, hash],
            ),
            _ => tx.execute(&format!("DELETE FROM {} WHERE {}", table.name, table.rows), params![org]),
        }
        .map_err(db_error)? as u64;
        summary.rows += deleted;
        match table.name {
            "records" => summary.records = deleted,
            "jobs" => summary.jobs = deleted,
            _ => {}
        }
    }
    Ok(summary)
}

fn snapshot_info(tx: &Transaction<'_>, org: i64, name: &str) -> StoreResult<Option<SnapshotInfo>> {
    tx.query_row(
        "SELECT name, created_at, records, jobs, rows FROM snapshots WHERE org = ?1 AND name = ?2",
        params![org, name],
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
            ))
        },
    )
    .optional()
    .map_err(db_error)?
    .map(info)
    .transpose()
}

fn info((name, at, records, jobs, rows): (String, i64, i64, i64, i64)) -> StoreResult<SnapshotInfo> {
    Ok(SnapshotInfo { name, created_time: instant(at)?, records: records as u64, jobs: jobs as u64, rows: rows as u64 })
}

#[async_trait]
impl OrgStateStore for SqliteStore {
    async fn reset_org(&self, org: OrgId, keep: &Keep) -> StoreResult<ResetSummary> {
        let keep = keep.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let summary = reset(&tx, org.get() as i64, &keep)?;
            tx.commit().map_err(db_error)?;
            Ok(summary)
        })
        .await
    }

    async fn create_snapshot(&self, org: OrgId, name: &str, now: Timestamp) -> StoreResult<SnapshotInfo> {
        let name = name.to_string();
        self.run(move |conn| {
            let org = org.get() as i64;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            if snapshot_info(&tx, org, &name)?.is_some() {
                return Err(StoreError::Conflict(format!("snapshot '{name}' exists")));
            }
            let (mut records, mut jobs, mut rows) = (0, 0, 0);
            for table in STATE_TABLES {
                let pairs: Vec<String> =
                    columns(&tx, table.name)?.iter().map(|column| format!("'{column}', \"{column}\"")).collect();
                let copied = tx
                    .execute(
                        &format!(
                            "INSERT INTO snapshot_rows (org, snapshot, tbl, row_json)
                             SELECT ?1, ?2, '{table}', json_object({pairs}) FROM {table} WHERE {rows}",
                            table = table.name,
                            pairs = pairs.join(", "),
                            rows = table.rows,
                        ),
                        params![org, name],
                    )
                    .map_err(db_error)? as i64;
                rows += copied;
                match table.name {
                    "records" => records = copied,
                    "jobs" => jobs = copied,
                    _ => {}
                }
            }
            tx.execute(
                &format!(
                    "INSERT OR IGNORE INTO snapshot_blobs (org, snapshot, key) SELECT ?1, ?2, key_ FROM ({BLOB_KEYS})"
                ),
                params![org, name],
            )
            .map_err(db_error)?;
            tx.execute(
                "INSERT INTO snapshots (org, name, created_at, records, jobs, rows) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![org, name, ms(now), records, jobs, rows],
            )
            .map_err(db_error)?;
            let info =
                snapshot_info(&tx, org, &name)?.ok_or_else(|| StoreError::Corrupt("snapshot vanished".into()))?;
            tx.commit().map_err(db_error)?;
            Ok(info)
        })
        .await
    }

    async fn snapshots(&self, org: OrgId) -> StoreResult<Vec<SnapshotInfo>> {
        self.run(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT name, created_at, records, jobs, rows FROM snapshots WHERE org = ?1 ORDER BY created_at, name",
                )
                .map_err(db_error)?;
            let rows = statement
                .query_map([org.get() as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
                })
                .map_err(db_error)?;
            rows.map(|row| info(row.map_err(db_error)?)).collect()
        })
        .await
    }

    async fn restore_snapshot(&self, org: OrgId, name: &str, keep: &Keep) -> StoreResult<Option<SnapshotInfo>> {
        let (name, keep) = (name.to_string(), keep.clone());
        self.run(move |conn| {
            let org = org.get() as i64;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let Some(info) = snapshot_info(&tx, org, &name)? else { return Ok(None) };
            reset(&tx, org, &keep)?;
            for table in STATE_TABLES {
                let columns = columns(&tx, table.name)?;
                let names: Vec<String> = columns.iter().map(|column| format!("\"{column}\"")).collect();
                let values: Vec<String> =
                    columns.iter().map(|column| format!("json_extract(row_json, '$.\"{column}\"')")).collect();
                tx.execute(
                    &format!(
                        "INSERT OR IGNORE INTO {table} ({names}) SELECT {values} FROM snapshot_rows
                         WHERE org = ?1 AND snapshot = ?2 AND tbl = '{table}'",
                        table = table.name,
                        names = names.join(", "),
                        values = values.join(", "),
                    ),
                    params![org, name],
                )
                .map_err(db_error)?;
            }
            tx.execute(
                &format!("INSERT INTO key_slots (scope, slot, record_id) SELECT scope, slot, record_id FROM unique_keys WHERE {ORG_SCOPES}"),
                [org],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(Some(info))
        })
        .await
    }

    async fn delete_snapshot(&self, org: OrgId, name: &str) -> StoreResult<bool> {
        let name = name.to_string();
        self.run(move |conn| {
            let org = org.get() as i64;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            if snapshot_info(&tx, org, &name)?.is_none() {
                return Ok(false);
            }
            tx.execute(
                &format!(
                    "INSERT OR IGNORE INTO expired_blobs (key, queued_at)
                     SELECT key, ?3 FROM snapshot_blobs mine WHERE org = ?1 AND snapshot = ?2
                     AND NOT EXISTS (SELECT 1 FROM snapshot_blobs other
                                     WHERE other.key = mine.key AND NOT (other.org = ?1 AND other.snapshot = ?2))
                     AND key NOT IN ({BLOB_KEYS})"
                ),
                params![org, name, ms(chrono::Utc::now())],
            )
            .map_err(db_error)?;
            for table in ["snapshot_rows", "snapshot_blobs"] {
                tx.execute(&format!("DELETE FROM {table} WHERE org = ?1 AND snapshot = ?2"), params![org, name])
                    .map_err(db_error)?;
            }
            tx.execute("DELETE FROM snapshots WHERE org = ?1 AND name = ?2", params![org, name]).map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(true)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::STATE_TABLES;

    /// Tables with an `org` or `job_id` column that are not org state: metadata (users,
    /// profiles, the org's taxes, the key scopes whose ids a snapshot's keys name), the
    /// snapshots themselves, and the live concurrency slots (they lapse on their own).
    const NOT_STATE: &[&str] = &[
        "orgs",
        "users",
        "profiles",
        "oauth_clients",
        "org_credits",
        "org_taxes",
        "api_calls",
        "snapshots",
        "snapshot_rows",
        "snapshot_blobs",
        "key_scopes",
    ];

    /// A table a later migration adds with an org's or a job's rows must be listed in
    /// `STATE_TABLES` (or here, saying why it is not state), or reset and snapshots would miss it.
    #[tokio::test]
    async fn every_table_of_an_org_or_a_job_is_state_or_said_not_to_be() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("bulkwrite.sqlite")).await.unwrap();
        let tables = store
            .run(|conn| {
                let mut statement = conn
                    .prepare(
                        "SELECT DISTINCT m.name FROM sqlite_master m, pragma_table_info(m.name) c
                         WHERE m.type = 'table' AND c.name IN ('org', 'job_id') ORDER BY m.name",
                    )
                    .map_err(crate::db_error)?;
                let names = statement.query_map([], |row| row.get::<_, String>(0)).map_err(crate::db_error)?;
                names.map(|name| name.map_err(crate::db_error)).collect::<Result<Vec<String>, _>>()
            })
            .await
            .unwrap();
        let listed: Vec<&str> = STATE_TABLES.iter().map(|table| table.name).collect();
        let missing: Vec<&String> =
            tables.iter().filter(|t| !listed.contains(&t.as_str()) && !NOT_STATE.contains(&t.as_str())).collect();
        assert!(missing.is_empty(), "tables neither in STATE_TABLES nor NOT_STATE: {missing:?}");
        assert!(listed
            .iter()
            .all(|t| tables.iter().any(|found| found == t) || *t == "callback_attempts" || *t == "unique_keys"));
    }
}
