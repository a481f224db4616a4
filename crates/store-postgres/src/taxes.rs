//! The org's taxes (see `bulkwrite_store::taxes`).

use async_trait::async_trait;
use bulkwrite_core::ids::OrgId;
use bulkwrite_core::inventory::tax::OrgTax;
use bulkwrite_store::*;
use tokio_postgres::Row;

use crate::statements::{execute, get, query, query_opt};
use crate::{pg_error, signed, PgStore};

const SELECT: &str = "SELECT id, name, value, sequence_number FROM org_taxes WHERE org = $1 ORDER BY sequence_number";

fn tax(row: &Row) -> StoreResult<OrgTax> {
    Ok(OrgTax {
        id: get::<i64>(row, 0)? as u64,
        name: get(row, 1)?,
        value: get(row, 2)?,
        sequence_number: get::<i32>(row, 3)? as u32,
    })
}

#[async_trait]
impl TaxStore for PgStore {
    async fn org_taxes(&self, org: OrgId) -> StoreResult<Vec<OrgTax>> {
        let conn = self.conn().await?;
        query(&conn, SELECT, &[&signed(org.get())]).await?.iter().map(tax).collect()
    }

    async fn put_tax(&self, org: OrgId, new_id: u64, name: &str, value: f64) -> StoreResult<OrgTax> {
        let name = name.trim().to_string();
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let zgid = signed(org.get());
        crate::orgs::lock_org(&tx, org).await?;
        let updated = execute(
            &tx,
            "UPDATE org_taxes SET name = $2, value = $3 WHERE org = $1 AND lower(name) = lower($2)",
            &[&zgid, &name, &value],
        )
        .await?;
        if updated == 0 {
            execute(
                &tx,
                "INSERT INTO org_taxes (org, id, name, value, sequence_number) VALUES ($1, $2, $3, $4, \
                 (SELECT COALESCE(MAX(sequence_number), 0) + 1 FROM org_taxes WHERE org = $1))",
                &[&zgid, &signed(new_id), &name, &value],
            )
            .await?;
        }
        let rows = query(&tx, SELECT, &[&zgid]).await?;
        let mut stored = None;
        for row in &rows {
            let candidate = tax(row)?;
            if candidate.name.eq_ignore_ascii_case(&name) {
                stored = Some(candidate);
            }
        }
        let stored = stored.ok_or_else(|| StoreError::Corrupt(format!("tax '{name}' not stored")))?;
        tx.commit().await.map_err(pg_error)?;
        Ok(stored)
    }

    async fn delete_tax(&self, org: OrgId, id: u64) -> StoreResult<bool> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let zgid = signed(org.get());
        let Some(row) = query_opt(
            &tx,
            "DELETE FROM org_taxes WHERE org = $1 AND id = $2 RETURNING sequence_number",
            &[&zgid, &signed(id)],
        )
        .await?
        else {
            return Ok(false);
        };
        let place: i32 = get(&row, 0)?;
        execute(
            &tx,
            "UPDATE org_taxes SET sequence_number = sequence_number - 1 WHERE org = $1 AND sequence_number > $2",
            &[&zgid, &place],
        )
        .await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(true)
    }
}
