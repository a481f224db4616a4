//! Writes a job's result zip from its stored result rows, page by page, then stores it as a blob.

use std::io::BufWriter;

use bulkwrite_core::result::{result_csv_name, ResultZipWriter};
use bulkwrite_store::{Job, StoreError};

use crate::WorkerContext;

/// Result rows read per page.
const PAGE: u32 = 2000;

/// Writes the result zip of `job` and returns its blob key.
pub(crate) async fn write_result_file(ctx: &WorkerContext, job: &Job) -> Result<String, StoreError> {
    let staged = tempfile::Builder::new().prefix("result-").suffix(".zip").tempfile_in(ctx.blobs.staging_dir())?;
    let (file, path) = staged.into_parts();
    let store = std::sync::Arc::clone(&ctx.store);
    let job_owned = job.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
        let mut writer = ResultZipWriter::new(BufWriter::new(file));
        for (index, resource) in job_owned.spec.resources.iter().enumerate() {
            writer.start_csv(&result_csv_name(&resource.module, &resource.csv_name), &resource.echo_headers())?;
            let mut after = 0;
            loop {
                let rows = handle.block_on(store.result_rows(job_owned.org, job_owned.id, index, after, PAGE))?;
                for row in &rows {
                    writer.write_row(row)?;
                }
                match rows.last() {
                    Some(last) if rows.len() == PAGE as usize => after = last.row_no,
                    _ => break,
                }
            }
        }
        let buffered = writer.finish()?;
        buffered.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    })
    .await
    .map_err(|e| StoreError::Backend(Box::new(e)))??;
    let key = format!("results/{}/{}.zip", job.org, job.id);
    let kept = path.keep().map_err(|e| StoreError::Io(e.error))?;
    let stored = ctx.blobs.put_file(&key, &kept).await;
    if stored.is_err() {
        let _ = std::fs::remove_file(&kept);
    }
    stored?;
    Ok(key)
}
