//! Parent/child jobs: before a child resource runs, its parent rows' keys (the parent CSV's
//! `parent_column_index` cells) are joined with the parent's result rows, giving each key the
//! record it became. Derived from stored state, so a resumed job rebuilds it the same way.

use std::collections::HashMap;

use bulkwrite_core::ids::{FileId, RecordId};
use bulkwrite_core::jobspec::{ParentLink, ResourceSpec};
use bulkwrite_core::mapping::{ParentKey, ParentKeys};
use bulkwrite_core::zipfile::open_csv;
use bulkwrite_store::{Job, StoreError};

use crate::WorkerContext;

/// Result rows read per page.
const PAGE: u32 = 5000;

/// The parent keys of a child resource.
pub(crate) async fn load_parent_keys(
    ctx: &WorkerContext,
    job: &Job,
    parent: &ResourceSpec,
    link: &ParentLink,
) -> Result<ParentKeys, StoreError> {
    let mut records: HashMap<u64, RecordId> = HashMap::new();
    let mut after = 0;
    loop {
        let rows = ctx.store.result_rows(job.org, job.id, 0, after, PAGE).await?;
        for row in &rows {
            if let Some(id) = row.record_id {
                records.insert(row.row_no, id);
            }
        }
        match rows.last() {
            Some(last) if rows.len() == PAGE as usize => after = last.row_no,
            _ => break,
        }
    }
    let file_id = FileId::parse(&parent.file_id).ok_or_else(|| StoreError::NotFound("the parent file".into()))?;
    let upload =
        ctx.store.get_upload(job.org, file_id).await?.ok_or_else(|| StoreError::NotFound(format!("file {file_id}")))?;
    let blob = ctx.blobs.local(&upload.blob_key).await?;
    let path = blob.path().to_path_buf();
    let csv_name = parent.csv_name.clone();
    let encoding = job.spec.character_encoding.clone();
    let column = link.parent_column_index as usize;
    let limits = ctx.config.limits;
    let max_columns = limits.max_columns.max(parent.header.len());
    let keys = tokio::task::spawn_blocking(move || -> Result<ParentKeys, StoreError> {
        let file = std::fs::File::open(&path)?;
        let mut archive =
            zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut rows = open_csv(&mut archive, &csv_name, encoding.as_deref(), &limits, max_columns)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut record = csv::StringRecord::new();
        let mut seen: HashMap<String, (u32, Option<RecordId>)> = HashMap::new();
        while rows.rows_read() < limits.rows_read_per_file()
            && rows.read_row(&mut record).map_err(|e| StoreError::Corrupt(e.to_string()))?
        {
            let key = record.get(column).map(str::trim).unwrap_or("");
            if key.is_empty() {
                continue;
            }
            let entry = seen.entry(key.to_string()).or_insert((0, None));
            entry.0 += 1;
            entry.1 = records.get(&rows.rows_read()).copied();
        }
        let mut keys = ParentKeys::with_capacity(seen.len());
        for (key, (count, record)) in seen {
            match (count, record) {
                (1, Some(id)) => keys.insert(key, ParentKey::Record(id)),
                (1, None) => None,
                _ => keys.insert(key, ParentKey::Ambiguous),
            };
        }
        Ok(keys)
    })
    .await
    .map_err(|e| StoreError::Backend(Box::new(e)))??;
    Ok(keys)
}
