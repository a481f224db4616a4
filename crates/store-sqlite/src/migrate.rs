//! Schema migrations, applied in order at open; the applied version lives in `PRAGMA user_version`.

use bulkwrite_store::StoreResult;
use rusqlite::Connection;

pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_oauth.sql"),
    include_str!("../migrations/0003_cancel.sql"),
    include_str!("../migrations/0004_retention.sql"),
    include_str!("../migrations/0005_faults.sql"),
    include_str!("../migrations/0006_read_jobs.sql"),
    include_str!("../migrations/0007_row_reasons.sql"),
    include_str!("../migrations/0008_dry_run.sql"),
    include_str!("../migrations/0009_read_downloads.sql"),
    include_str!("../migrations/0011_test_controls.sql"),
    include_str!("../migrations/0012_fault_rules.sql"),
    include_str!("../migrations/0014_credits.sql"),
    include_str!("../migrations/0015_undo.sql"),
    include_str!("../migrations/0016_inbox.sql"),
    include_str!("../migrations/0017_perms.sql"),
    include_str!("../migrations/0018_taxes.sql"),
    include_str!("../migrations/0019_key_scopes.sql"),
    include_str!("../migrations/0020_key_slots.sql"),
];

/// The migration whose keys get their slots in Rust once its statements have run.
pub(crate) const KEY_SLOTS: usize = 17;

pub(crate) fn migrate(conn: &mut Connection, first_id: u64) -> StoreResult<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(crate::db_error)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction().map_err(crate::db_error)?;
        tx.execute_batch(sql).map_err(crate::db_error)?;
        if index == 0 {
            tx.execute("INSERT INTO id_sequence (singleton, next_id) VALUES (1, ?1)", [first_id as i64])
                .map_err(crate::db_error)?;
        }
        if index == KEY_SLOTS {
            crate::key_slots::migrate(&tx)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1)).map_err(crate::db_error)?;
        tx.commit().map_err(crate::db_error)?;
    }
    Ok(())
}
