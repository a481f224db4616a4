//! Records.

use async_trait::async_trait;
use bulkwrite_core::ids::{OrgId, RecordId, UserId};
use bulkwrite_store::*;
use rusqlite::{params, params_from_iter, OptionalExtension, Row};

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
            let offset = (query.page.saturating_sub(1) as i64) * query.per_page as i64;
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE org = ?1 AND module = ?2{filter}
                 ORDER BY {column} {direction}, id {direction} LIMIT {} OFFSET {offset}",
                query.per_page as i64 + 1
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
