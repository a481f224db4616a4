//! The org's taxes (see `bulkwrite_store::taxes`).

use async_trait::async_trait;
use bulkwrite_core::ids::OrgId;
use bulkwrite_core::inventory::tax::OrgTax;
use bulkwrite_store::*;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::{db_error, SqliteStore};

fn read_taxes(conn: &rusqlite::Connection, org: i64) -> StoreResult<Vec<OrgTax>> {
    let mut statement = conn
        .prepare("SELECT id, name, value, sequence_number FROM org_taxes WHERE org = ?1 ORDER BY sequence_number")
        .map_err(db_error)?;
    let rows = statement
        .query_map([org], |row| {
            Ok(OrgTax {
                id: row.get::<_, i64>(0)? as u64,
                name: row.get(1)?,
                value: row.get(2)?,
                sequence_number: row.get::<_, i64>(3)? as u32,
            })
        })
        .map_err(db_error)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
}

#[async_trait]
impl TaxStore for SqliteStore {
    async fn org_taxes(&self, org: OrgId) -> StoreResult<Vec<OrgTax>> {
        self.run(move |conn| read_taxes(conn, org.get() as i64)).await
    }

    async fn put_tax(&self, org: OrgId, new_id: u64, name: &str, value: f64) -> StoreResult<OrgTax> {
        let name = name.trim().to_string();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let zgid = org.get() as i64;
            let exists: Option<i64> = tx
                .query_row("SELECT zgid FROM orgs WHERE zgid = ?1", [zgid], |row| row.get(0))
                .optional()
                .map_err(db_error)?;
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("org {org}")));
            }
            let updated = tx
                .execute(
                    "UPDATE org_taxes SET name = ?2, value = ?3 WHERE org = ?1 AND lower(name) = lower(?2)",
                    params![zgid, name, value],
                )
                .map_err(db_error)?;
            if updated == 0 {
                tx.execute(
                    "INSERT INTO org_taxes (org, id, name, value, sequence_number) VALUES (?1, ?2, ?3, ?4, \
                     (SELECT COALESCE(MAX(sequence_number), 0) + 1 FROM org_taxes WHERE org = ?1))",
                    params![zgid, new_id as i64, name, value],
                )
                .map_err(db_error)?;
            }
            let stored = read_taxes(&tx, zgid)?
                .into_iter()
                .find(|t| t.name.eq_ignore_ascii_case(&name))
                .ok_or_else(|| StoreError::Corrupt(format!("tax '{name}' not stored")))?;
            tx.commit().map_err(db_error)?;
            Ok(stored)
        })
        .await
    }

    async fn delete_tax(&self, org: OrgId, id: u64) -> StoreResult<bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_error)?;
            let zgid = org.get() as i64;
            let place: Option<i64> = tx
                .query_row(
                    "DELETE FROM org_taxes WHERE org = ?1 AND id = ?2 RETURNING sequence_number",
                    params![zgid, id as i64],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)?;
            let Some(place) = place else { return Ok(false) };
            tx.execute(
                "UPDATE org_taxes SET sequence_number = sequence_number - 1 WHERE org = ?1 AND sequence_number > ?2",
                params![zgid, place],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)?;
            Ok(true)
        })
        .await
    }
}
