//! Schema migrations: applied in order at connect, in one transaction, recorded in
//! `schema_migrations`. A transaction-scoped advisory lock makes nodes that start together take
//! turns: the first migrates, the others find nothing left to do.

use bulkwrite_store::StoreResult;
use deadpool_postgres::Object;

use crate::{pg_error, signed};

/// The migrations, in order; a migration's version is its position, from 1.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_cheaper_writes.sql"),
    include_str!("../migrations/0003_cheaper_indexes.sql"),
    include_str!("../migrations/0004_cancel.sql"),
    include_str!("../migrations/0005_retention.sql"),
    include_str!("../migrations/0006_faults.sql"),
    include_str!("../migrations/0007_read_jobs.sql"),
    include_str!("../migrations/0008_row_reasons.sql"),
    include_str!("../migrations/0009_dry_run.sql"),
    include_str!("../migrations/0010_read_downloads.sql"),
    include_str!("../migrations/0012_test_controls.sql"),
    include_str!("../migrations/0013_fault_rules.sql"),
    include_str!("../migrations/0015_credits.sql"),
    include_str!("../migrations/0016_undo.sql"),
    include_str!("../migrations/0017_inbox.sql"),
    include_str!("../migrations/0018_perms.sql"),
    include_str!("../migrations/0019_taxes.sql"),
    include_str!("../migrations/0020_key_scopes.sql"),
    include_str!("../migrations/0021_record_keys.sql"),
    include_str!("../migrations/0022_records_fillfactor.sql"),
    include_str!("../migrations/0023_records_data_text.sql"),
    include_str!("../migrations/0024_records_statistics.sql"),
    include_str!("../migrations/0025_records_column_order.sql"),
    include_str!("../migrations/0026_undo_chunk_images.sql"),
];

/// The advisory lock key of migrations (`bulkwrite` in ASCII, as an integer).
const MIGRATION_LOCK: i64 = 0x6275_6c6b_7772_6974;

pub(crate) async fn migrate(conn: &mut Object, first_id: u64) -> StoreResult<()> {
    let tx = conn.transaction().await.map_err(pg_error)?;
    // A migration may rebuild large indexes, and may wait for another node's: no statement limit.
    tx.batch_execute("SET LOCAL statement_timeout = 0").await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg_error)?;
    let row = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await.map_err(pg_error)?;
    let current: i32 = row.get(0);
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        if version <= current {
            continue;
        }
        tx.batch_execute(sql).await.map_err(pg_error)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version]).await.map_err(pg_error)?;
    }
    tx.execute(
        "INSERT INTO id_sequence (singleton, next_id) VALUES (TRUE, $1) ON CONFLICT (singleton) DO NOTHING",
        &[&signed(first_id)],
    )
    .await
    .map_err(pg_error)?;
    tx.commit().await.map_err(pg_error)
}
