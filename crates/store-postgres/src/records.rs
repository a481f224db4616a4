//! Records: reads, listings, lookups, subform rows, and writes outside jobs.

use std::collections::HashSet;

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, RecordId, UserId};
use bulkwrite_core::lookup::{normalize_value, LookupBy, LookupHit, LookupQuery};
use bulkwrite_core::query::aggregate::{Aggregate, Cell};
use bulkwrite_core::query::{Filter, Select};
use bulkwrite_core::result::ResultRow;
use bulkwrite_store::*;
use serde_json::Value;
use tokio_postgres::Row;

use crate::chunk::{plan_and_write, reserve_for, How};
use crate::error::write_error;
use crate::key_scopes;
use crate::statements::{execute, get, get_data, get_u64, query, query_one, query_opt};
use crate::{pg_error, signed, PgStore};

/// Locks the records `($3)` of one module, each found by its primary key.
const LOCK_BY_ID: &str = "SELECT r.id FROM unnest($3::int8[]) AS u (id)
     CROSS JOIN LATERAL (SELECT id FROM records WHERE org = $1 AND module = $2 AND id = u.id FOR UPDATE) AS r";

const RECORD_COLUMNS: &str = "id, module, owner, layout_id, created_by, modified_by, created_at, modified_at, data";

#[async_trait]
impl RecordStore for PgStore {
    async fn get_record(&self, org: OrgId, module: &str, id: RecordId) -> StoreResult<Option<StoredRecord>> {
        let conn = self.conn().await?;
        let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = $1 AND org = $2 AND module = $3");
        let row = query_opt(&conn, &sql, &[&signed(id.get()), &signed(org.get()), &module]).await?;
        row.map(|row| read_record(&row)).transpose()
    }

    async fn list_records(&self, org: OrgId, module: &str, query_spec: &RecordQuery) -> StoreResult<RecordPage> {
        let column = match query_spec.sort_by {
            RecordSort::Id => "id",
            RecordSort::CreatedTime => "created_at",
            RecordSort::ModifiedTime => "modified_at",
        };
        let direction = if query_spec.descending { "DESC" } else { "ASC" };
        // Picked records are probed one id at a time (see `chunk`), then sorted and paged.
        let source = if query_spec.ids.is_some() {
            "(SELECT r.* FROM unnest($5::int8[]) AS u (id)
              CROSS JOIN LATERAL (SELECT * FROM records WHERE id = u.id AND org = $1 AND module = $2 LIMIT 1) AS r) AS picked"
        } else {
            "records"
        };
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM {source} WHERE org = $1 AND module = $2
             ORDER BY {column} {direction}, id {direction} LIMIT $3 OFFSET $4"
        );
        let limit = i64::from(query_spec.per_page) + 1;
        let offset = i64::try_from(query_spec.skip()).unwrap_or(i64::MAX);
        let org = signed(org.get());
        let mut ids: Vec<i64> = query_spec.ids.iter().flatten().map(|id| signed(id.get())).collect();
        ids.sort_unstable();
        ids.dedup();
        let conn = self.conn().await?;
        let rows = if query_spec.ids.is_some() {
            query(&conn, &sql, &[&org, &module, &limit, &offset, &ids]).await?
        } else {
            query(&conn, &sql, &[&org, &module, &limit, &offset]).await?
        };
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            records.push(read_record(row)?);
        }
        let more_records = records.len() > query_spec.per_page as usize;
        records.truncate(query_spec.per_page as usize);
        Ok(RecordPage { records, more_records })
    }

    async fn count_records(&self, org: OrgId, module: &str) -> StoreResult<u64> {
        let conn = self.conn().await?;
        let row = query_one(
            &conn,
            "SELECT COUNT(*) FROM records WHERE org = $1 AND module = $2",
            &[&signed(org.get()), &module],
        )
        .await?;
        get_u64(&row, 0)
    }

    async fn select_records(&self, org: OrgId, module: &str, select: &Select) -> StoreResult<Vec<StoredRecord>> {
        let mut sql = crate::query::Sql::new(signed(org.get()), module);
        sql.text = format!("SELECT {RECORD_COLUMNS} FROM records WHERE org = $1 AND module = $2");
        crate::query::select_tail(&mut sql, select);
        let conn = self.conn().await?;
        // Not a cached statement: each query's shape is its own.
        let rows = conn.query(sql.text.as_str(), &sql.params()).await.map_err(pg_error)?;
        rows.iter().map(read_record).collect()
    }

    async fn aggregate_records(&self, org: OrgId, module: &str, aggregate: &Aggregate) -> StoreResult<Vec<Vec<Cell>>> {
        let (sql, kinds) = crate::aggregate::statement(signed(org.get()), module, aggregate);
        let conn = self.conn().await?;
        // Not a cached statement: each query's shape is its own.
        let rows = conn.query(sql.text.as_str(), &sql.params()).await.map_err(pg_error)?;
        rows.iter().map(|row| crate::aggregate::cells(row, &kinds)).collect()
    }

    async fn count_matching(&self, org: OrgId, module: &str, filter: &Filter) -> StoreResult<u64> {
        let mut sql = crate::query::Sql::new(signed(org.get()), module);
        let condition = crate::query::filter(&mut sql, filter);
        sql.text = format!("SELECT COUNT(*) FROM records WHERE org = $1 AND module = $2 AND {condition}");
        let conn = self.conn().await?;
        let row = conn.query_one(sql.text.as_str(), &sql.params()).await.map_err(pg_error)?;
        get_u64(&row, 0)
    }

    async fn find_records(&self, org: OrgId, query_spec: &LookupQuery) -> StoreResult<Vec<(String, LookupHit)>> {
        let conn = self.conn().await?;
        let org = signed(org.get());
        let display = field_name(if query_spec.display_field.is_empty() { "id" } else { &query_spec.display_field })?;
        let module = query_spec.module.as_str();
        let hit = |id: u64, name: Option<&Value>| LookupHit { id: RecordId::new(id), name: name.and_then(value_text) };
        let mut hits = Vec::new();
        match query_spec.by {
            LookupBy::Id => {
                let ids: Vec<i64> =
                    query_spec.values.iter().filter_map(|v| RecordId::parse(v)).map(|id| signed(id.get())).collect();
                let rows = query(
                    &conn,
                    "SELECT r.id, r.name FROM unnest($3::int8[]) AS u (id)
                     CROSS JOIN LATERAL (
                         SELECT id, data::json -> $4 AS name FROM records WHERE id = u.id AND org = $1 AND module = $2 LIMIT 1
                     ) AS r",
                    &[&org, &module, &ids, &display],
                )
                .await?;
                for row in &rows {
                    let id = get_u64(row, 0)?;
                    let name: Option<Value> = get(row, 1)?;
                    hits.push((id.to_string(), hit(id, name.as_ref())));
                }
            }
            LookupBy::UniqueKey => {
                let rows = query(
                    &conn,
                    "SELECT v.value, r.id, r.data::json -> $5 FROM unnest($4::text[]) AS v (value)
                     CROSS JOIN LATERAL (
                         SELECT record_id FROM unique_keys
                         WHERE scope = (SELECT id FROM key_scopes WHERE org = $1 AND module = $2 AND field = $3)
                           AND value = v.value LIMIT 1
                     ) AS k
                     CROSS JOIN LATERAL (
                         SELECT id, data FROM records WHERE org = $1 AND module = $2 AND id = k.record_id LIMIT 1
                     ) AS r",
                    &[&org, &module, &query_spec.field, &query_spec.values, &display],
                )
                .await?;
                for row in &rows {
                    let name: Option<Value> = get(row, 2)?;
                    hits.push((get(row, 0)?, hit(get_u64(row, 1)?, name.as_ref())));
                }
            }
            LookupBy::Value => {
                // Values compare after `normalize_value` (Unicode trim and lower case), done here
                // rather than in SQL so both backends match exactly the same records.
                let field = field_name(&query_spec.field)?;
                let wanted: HashSet<&str> = query_spec.values.iter().map(String::as_str).collect();
                let rows = query(
                    &conn,
                    "SELECT id, data::json -> $3, data::json -> $4 FROM records WHERE org = $1 AND module = $2",
                    &[&org, &module, &field, &display],
                )
                .await?;
                for row in &rows {
                    let value: Option<Value> = get(row, 1)?;
                    let Some(text) = value.as_ref().and_then(value_text) else { continue };
                    let normalized = normalize_value(&text);
                    if wanted.contains(normalized.as_str()) {
                        let name: Option<Value> = get(row, 2)?;
                        hits.push((normalized, hit(get_u64(row, 0)?, name.as_ref())));
                    }
                }
            }
        }
        Ok(hits)
    }

    async fn write_records(&self, org: OrgId, write: RecordWrite) -> StoreResult<Vec<ResultRow>> {
        let first_id = reserve_for(self, &write).await?;
        let mut conn = self.conn().await?;
        let org = signed(org.get());
        let fields = key_scopes::fields_of(&write.rows);
        let scopes = self.key_scopes().scopes(&conn, org, &write.module, &fields).await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        let written =
            plan_and_write(&tx, org, write, first_id, &scopes, How::alone(), &mut ChunkOrder::first()).await?;
        tx.commit().await.map_err(write_error)?;
        Ok(written.plan.results)
    }

    async fn delete_records(&self, org: OrgId, module: &str, ids: &[RecordId]) -> StoreResult<Vec<RecordId>> {
        let wanted: Vec<i64> = ids.iter().map(|id| signed(id.get())).collect();
        let org = signed(org.get());
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        // Locked first, then deleted by row address, which the lock keeps still: every step is
        // a probe of the primary key (see `crate::chunk` on `= ANY` beside the org and module).
        execute(&tx, LOCK_BY_ID, &[&org, &module, &wanted]).await?;
        let rows = query(
            &tx,
            "DELETE FROM records WHERE ctid = ANY(ARRAY(
                 SELECT r.ctid FROM unnest($3::int8[]) AS u (id)
                 CROSS JOIN LATERAL (SELECT ctid FROM records WHERE org = $1 AND module = $2 AND id = u.id LIMIT 1) AS r
             )) RETURNING id, keys",
            &[&org, &module, &wanted],
        )
        .await?;
        let mut gone = HashSet::with_capacity(rows.len());
        let mut held = Vec::with_capacity(rows.len());
        for row in &rows {
            let id = get_u64(row, 0)?;
            gone.insert(id);
            held.push((signed(id), get::<Option<String>>(row, 1)?));
        }
        // The records' keys go with them, found by the keys each one held.
        crate::record_keys::free(&tx, (org, module), &held).await?;
        tx.commit().await.map_err(pg_error)?;
        // The ids that existed, in the order asked, each once.
        let mut deleted = Vec::with_capacity(gone.len());
        for id in ids {
            if gone.remove(&id.get()) {
                deleted.push(*id);
            }
        }
        Ok(deleted)
    }

    async fn child_records(
        &self,
        org: OrgId,
        module: &str,
        link_field: &str,
        parent: RecordId,
    ) -> StoreResult<Vec<StoredRecord>> {
        let link_field = field_name(link_field)?;
        let conn = self.conn().await?;
        let org = signed(org.get());
        let rows = if link_field == "Parent_Id" {
            // Subform rows: the writer keeps the parent's id in the indexed `parent_id` column.
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE org = $1 AND module = $2 AND parent_id = $3 ORDER BY id"
            );
            query(&conn, &sql, &[&org, &module, &signed(parent.get())]).await?
        } else {
            // The field name is letters, digits and `_`, so it can be written into the statement.
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM records
                 WHERE org = $1 AND module = $2 AND (data::json -> '{link_field}') ->> 'id' = $3 ORDER BY id"
            );
            query(&conn, &sql, &[&org, &module, &parent.to_string()]).await?
        };
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            records.push(read_record(row)?);
        }
        Ok(records)
    }
}

fn read_record(row: &Row) -> StoreResult<StoredRecord> {
    let values = get_data(row, 8)?;
    Ok(StoredRecord {
        id: RecordId::new(get_u64(row, 0)?),
        module: get(row, 1)?,
        owner: UserId::new(get_u64(row, 2)?),
        layout_id: get(row, 3)?,
        created_by: UserId::new(get_u64(row, 4)?),
        modified_by: UserId::new(get_u64(row, 5)?),
        created_at: get(row, 6)?,
        modified_at: get(row, 7)?,
        values,
    })
}

/// A field API name (letters, digits and `_`), refused otherwise like the embedded backend.
fn field_name(field: &str) -> StoreResult<&str> {
    if field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::NotFound(format!("field {field}")));
    }
    Ok(field)
}

/// A stored value as text for lookup matching: strings as they are, lookups by their name,
/// numbers and booleans as SQLite's `json_extract` shows them.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Object(object) => object.get("name").and_then(Value::as_str).map(str::to_string),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(if *flag { "1" } else { "0" }.to_string()),
        Value::Null | Value::Array(_) => None,
    }
}
