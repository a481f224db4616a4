//! Records.

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, RecordId, UserId};
use bulkwrite_core::lookup::{normalize_value, LookupBy, LookupHit, LookupQuery};
use bulkwrite_core::query::aggregate::{Aggregate, Cell};
use bulkwrite_core::query::{Filter, Select};
use bulkwrite_store::*;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde_json::Value;

use crate::{db_error, instant, json_error, SqliteStore};

const RECORD_COLUMNS: &str = "id, module, owner, layout_id, created_by, modified_by, created_at, modified_at, data";

#[async_trait]
impl RecordStore for SqliteStore {
    async fn get_record(&self, org: OrgId, module: &str, id: RecordId) -> StoreResult<Option<StoredRecord>> {
        let module = module.to_string();
        self.run(move |conn| {
            let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1 AND org = ?2 AND module = ?3");
            conn.query_row(&sql, params![id.get() as i64, org.get() as i64, module], read_record)
                .optional()
                .map_err(db_error)?
                .transpose()
        })
        .await
    }

    async fn list_records(&self, org: OrgId, module: &str, query: &RecordQuery) -> StoreResult<RecordPage> {
        let module = module.to_string();
        let query = query.clone();
        self.run(move |conn| {
            let column = match query.sort_by {
                RecordSort::Id => "id",
                RecordSort::CreatedTime => "created_at",
                RecordSort::ModifiedTime => "modified_at",
            };
            let direction = if query.descending { "DESC" } else { "ASC" };
            let mut args: Vec<rusqlite::types::Value> = vec![(org.get() as i64).into(), module.into()];
            let mut filter = String::new();
            if let Some(ids) = &query.ids {
                let marks: Vec<String> = (0..ids.len()).map(|i| format!("?{}", i + 3)).collect();
                filter =
                    format!(" AND id IN ({})", if marks.is_empty() { "NULL".to_string() } else { marks.join(", ") });
                args.extend(ids.iter().map(|id| rusqlite::types::Value::from(id.get() as i64)));
            }
            let offset = query.skip() as i64;
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE org = ?1 AND module = ?2{filter}
                 ORDER BY {column} {direction}, id {direction} LIMIT {} OFFSET {offset}",
                i64::from(query.per_page) + 1
            );
            let mut statement = conn.prepare(&sql).map_err(db_error)?;
            let rows = statement.query_map(params_from_iter(args), read_record).map_err(db_error)?;
            let mut records = Vec::new();
            for row in rows {
                records.push(row.map_err(db_error)??);
            }
            let more_records = records.len() > query.per_page as usize;
            records.truncate(query.per_page as usize);
            Ok(RecordPage { records, more_records })
        })
        .await
    }

    async fn count_records(&self, org: OrgId, module: &str) -> StoreResult<u64> {
        let module = module.to_string();
        self.run(move |conn| {
            let count: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM records WHERE org = ?1 AND module = ?2",
                    params![org.get() as i64, module],
                    |row| row.get(0),
                )
                .map_err(db_error)?;
            Ok(count as u64)
        })
        .await
    }

    async fn select_records(&self, org: OrgId, module: &str, select: &Select) -> StoreResult<Vec<StoredRecord>> {
        let mut sql = crate::query::Sql::new(org.get() as i64, module);
        sql.text = format!("SELECT {RECORD_COLUMNS} FROM records WHERE org = ?1 AND module = ?2");
        crate::query::select_tail(&mut sql, select);
        self.run(move |conn| {
            let mut statement = conn.prepare(&sql.text).map_err(db_error)?;
            let rows = statement.query_map(params_from_iter(sql.args), read_record).map_err(db_error)?;
            let mut records = Vec::new();
            for row in rows {
                records.push(row.map_err(db_error)??);
            }
            Ok(records)
        })
        .await
    }

    async fn count_matching(&self, org: OrgId, module: &str, filter: &Filter) -> StoreResult<u64> {
        let mut sql = crate::query::Sql::new(org.get() as i64, module);
        let condition = crate::query::filter(&mut sql, filter);
        sql.text = format!("SELECT COUNT(*) FROM records WHERE org = ?1 AND module = ?2 AND {condition}");
        self.run(move |conn| {
            let count: i64 =
                conn.query_row(&sql.text, params_from_iter(sql.args), |row| row.get(0)).map_err(db_error)?;
            Ok(count as u64)
        })
        .await
    }

    async fn aggregate_records(&self, org: OrgId, module: &str, aggregate: &Aggregate) -> StoreResult<Vec<Vec<Cell>>> {
        let (sql, kinds) = crate::aggregate::statement(org.get() as i64, module, aggregate);
        self.run(move |conn| {
            let mut statement = conn.prepare(&sql.text).map_err(db_error)?;
            let rows = statement
                .query_map(params_from_iter(sql.args), |row| {
                    let mut cells = Vec::with_capacity(kinds.len());
                    for (index, kind) in kinds.iter().enumerate() {
                        cells.push(crate::aggregate::cell(row.get::<_, SqlValue>(index)?, *kind));
                    }
                    Ok(cells)
                })
                .map_err(db_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
        })
        .await
    }

    async fn write_records(
        &self,
        org: OrgId,
        write: RecordWrite,
    ) -> StoreResult<Vec<bulkwrite_core::result::ResultRow>> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_error)?;
            let plan = crate::chunk::plan_and_write(&tx, org.get() as i64, write, None)?;
            tx.commit().map_err(db_error)?;
            Ok(plan.results)
        })
        .await
    }

    async fn delete_records(&self, org: OrgId, module: &str, ids: &[RecordId]) -> StoreResult<Vec<RecordId>> {
        let module = module.to_string();
        let ids = ids.to_vec();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_error)?;
            let mut deleted = Vec::new();
            for id in ids {
                let gone = tx
                    .execute(
                        "DELETE FROM records WHERE id = ?1 AND org = ?2 AND module = ?3",
                        params![id.get() as i64, org.get() as i64, module],
                    )
                    .map_err(db_error)?;
                if gone > 0 {
                    crate::key_slots::delete_of_record(&tx, id.get() as i64)?;
                    deleted.push(id);
                }
            }
            tx.commit().map_err(db_error)?;
            Ok(deleted)
        })
        .await
    }

    async fn find_records(&self, org: OrgId, query: &LookupQuery) -> StoreResult<Vec<(String, LookupHit)>> {
        let query = query.clone();
        self.run(move |conn| find_records(conn, org.get() as i64, &query)).await
    }

    async fn child_records(
        &self,
        org: OrgId,
        module: &str,
        link_field: &str,
        parent: RecordId,
    ) -> StoreResult<Vec<StoredRecord>> {
        let module = module.to_string();
        let link_field = link_field.to_string();
        self.run(move |conn| child_records(conn, org.get() as i64, &module, &link_field, parent)).await
    }
}

fn read_record(row: &Row<'_>) -> rusqlite::Result<StoreResult<StoredRecord>> {
    let data: String = row.get(8)?;
    let created: i64 = row.get(6)?;
    let modified: i64 = row.get(7)?;
    let id = RecordId::new(row.get::<_, i64>(0)? as u64);
    let module: String = row.get(1)?;
    let owner = UserId::new(row.get::<_, i64>(2)? as u64);
    let layout_id: Option<String> = row.get(3)?;
    let created_by = UserId::new(row.get::<_, i64>(4)? as u64);
    let modified_by = UserId::new(row.get::<_, i64>(5)? as u64);
    Ok((|| {
        Ok(StoredRecord {
            id,
            module,
            owner,
            layout_id,
            created_by,
            modified_by,
            created_at: instant(created)?,
            modified_at: instant(modified)?,
            values: serde_json::from_str(&data).map_err(json_error)?,
        })
    })())
}

/// `$.Field` for a field API name (API names are letters, digits and `_`, so no quoting is needed).
fn json_path(field: &str) -> StoreResult<String> {
    if !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || field.is_empty() {
        return Err(StoreError::NotFound(format!("field {field}")));
    }
    Ok(format!("$.{field}"))
}

/// A stored value as text for lookup matching: strings as they are, lookups by their name.
fn value_text(value: &SqlValue) -> Option<String> {
    match value {
        SqlValue::Text(text) if text.starts_with('{') => {
            let object: Value = serde_json::from_str(text).ok()?;
            object.get("name").and_then(Value::as_str).map(str::to_string)
        }
        SqlValue::Text(text) => Some(text.clone()),
        SqlValue::Integer(number) => Some(number.to_string()),
        SqlValue::Real(number) => Some(number.to_string()),
        SqlValue::Null | SqlValue::Blob(_) => None,
    }
}

pub(crate) fn find_records(conn: &Connection, org: i64, query: &LookupQuery) -> StoreResult<Vec<(String, LookupHit)>> {
    let display = json_path(if query.display_field.is_empty() { "id" } else { &query.display_field })?;
    let mut hits = Vec::new();
    let hit = |id: i64, name: Option<String>| LookupHit { id: RecordId::new(id as u64), name };
    match query.by {
        LookupBy::Id => {
            let ids: Vec<u64> = query.values.iter().filter_map(|v| RecordId::parse(v)).map(RecordId::get).collect();
            let ids_json = serde_json::to_string(&ids).map_err(json_error)?;
            let mut statement = conn
                .prepare_cached(
                    "SELECT id, json_extract(data, ?4) FROM records
                     WHERE org = ?1 AND module = ?2 AND id IN (SELECT value FROM json_each(?3))",
                )
                .map_err(db_error)?;
            let rows = statement
                .query_map(params![org, query.module, ids_json, display], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, SqlValue>(1)?))
                })
                .map_err(db_error)?;
            for row in rows {
                let (id, name) = row.map_err(db_error)?;
                hits.push((id.to_string(), hit(id, value_text(&name))));
            }
        }
        LookupBy::UniqueKey => {
            let values: Vec<&str> = query.values.iter().map(String::as_str).collect();
            let values_json = crate::key_slots::homes_json(&values)?;
            let sql = format!(
                "SELECT u.value, r.id, json_extract(r.data, ?5) FROM json_each(?4) j {}
                 JOIN records r ON r.id = u.record_id",
                crate::key_slots::held("(SELECT id FROM key_scopes WHERE org = ?1 AND module = ?2 AND field = ?3)")
            );
            let mut statement = conn.prepare_cached(&sql).map_err(db_error)?;
            let rows = statement
                .query_map(params![org, query.module, query.field, values_json, display], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, SqlValue>(2)?))
                })
                .map_err(db_error)?;
            for row in rows {
                let (value, id, name) = row.map_err(db_error)?;
                hits.push((value, hit(id, value_text(&name))));
            }
        }
        LookupBy::Value => {
            let wanted: std::collections::HashSet<&str> = query.values.iter().map(String::as_str).collect();
            let mut statement = conn
                .prepare_cached("SELECT id, json_extract(data, ?3), json_extract(data, ?4) FROM records WHERE org = ?1 AND module = ?2")
                .map_err(db_error)?;
            let field = json_path(&query.field)?;
            let rows = statement
                .query_map(params![org, query.module, field, display], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, SqlValue>(1)?, row.get::<_, SqlValue>(2)?))
                })
                .map_err(db_error)?;
            for row in rows {
                let (id, value, name) = row.map_err(db_error)?;
                let Some(text) = value_text(&value) else { continue };
                let normalized = normalize_value(&text);
                if wanted.contains(normalized.as_str()) {
                    hits.push((normalized, hit(id, value_text(&name))));
                }
            }
        }
    }
    Ok(hits)
}

pub(crate) fn child_records(
    conn: &Connection,
    org: i64,
    module: &str,
    link_field: &str,
    parent: RecordId,
) -> StoreResult<Vec<StoredRecord>> {
    let path = format!("{}.id", json_path(link_field)?);
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM records WHERE org = ?1 AND module = ?2 AND json_extract(data, ?3) = ?4 ORDER BY id"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(db_error)?;
    let rows = statement.query_map(params![org, module, path, parent.to_string()], read_record).map_err(db_error)?;
    let mut records = Vec::new();
    for row in rows {
        records.push(row.map_err(db_error)??);
    }
    Ok(records)
}
