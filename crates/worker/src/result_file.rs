//! A job's result zip. A job that runs from its first row writes it as its chunks commit
//! ([`ResultStream`], on a thread of its own), so finishing costs only the zip's last bytes; a
//! resumed job, or one whose stream failed, writes it from the stored result rows, page by page
//! ([`write_result_file`]). Either way the zip is then stored as a blob.
//!
//! A job that ends `FAILED` (cancelled or not) gets [`write_partial_result_file`]: the rows it
//! committed keep their result rows, and the rows it never reached follow as `UNPROCESSED`.

use std::fs::File;
use std::io::BufWriter;

use bulkwrite_core::result::{result_csv_name, ResultRow, ResultZipWriter};
use bulkwrite_core::state::ResourceState;
use bulkwrite_store::{Job, LocalBlob, StoreError};
use tempfile::TempPath;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::unprocessed::{write_unprocessed, UnreadRows};
use crate::WorkerContext;

/// Result rows read per page.
const PAGE: u32 = 2000;
/// Chunks' result rows queued for the stream's thread.
const QUEUED: usize = 4;

/// What the stream's thread writes next.
enum Piece {
    Csv { name: String, echo_headers: Vec<String> },
    Rows(Vec<ResultRow>),
}

/// The result zip of a job that runs from its first row, written as its chunks commit.
pub(crate) struct ResultStream {
    sender: mpsc::Sender<Piece>,
    writer: JoinHandle<Result<TempPath, StoreError>>,
}

impl ResultStream {
    pub(crate) fn start(ctx: &WorkerContext) -> Result<ResultStream, StoreError> {
        let (file, path) = staged_file(ctx)?;
        let (sender, mut receiver) = mpsc::channel(QUEUED);
        let writer = tokio::task::spawn_blocking(move || -> Result<TempPath, StoreError> {
            let mut zip = ResultZipWriter::new(BufWriter::new(file));
            while let Some(piece) = receiver.blocking_recv() {
                match piece {
                    Piece::Csv { name, echo_headers } => zip.start_csv(&name, &echo_headers)?,
                    Piece::Rows(rows) => {
                        for row in &rows {
                            zip.write_row(&shown(row))?;
                        }
                    }
                }
            }
            finish_zip(zip)?;
            Ok(path)
        });
        Ok(ResultStream { sender, writer })
    }

    /// Starts the result CSV of resource `index`.
    pub(crate) async fn start_csv(&self, job: &Job, index: usize) {
        let resource = &job.spec.resources[index];
        let name = result_csv_name(&resource.module, &resource.csv_name);
        // A closed channel means the thread failed; `finish` reports it.
        let _ = self.sender.send(Piece::Csv { name, echo_headers: resource.echo_headers() }).await;
    }

    /// Appends a committed chunk's result rows.
    pub(crate) async fn rows(&self, rows: Vec<ResultRow>) {
        let _ = self.sender.send(Piece::Rows(rows)).await;
    }

    /// Completes the zip and stores it; returns its blob key.
    pub(crate) async fn finish(self, ctx: &WorkerContext, job: &Job) -> Result<String, StoreError> {
        drop(self.sender);
        let path = self.writer.await.map_err(|e| StoreError::Backend(Box::new(e)))??;
        store_result(ctx, job, path).await
    }
}

/// Writes the result zip of `job` from its stored result rows and returns its blob key.
pub(crate) async fn write_result_file(ctx: &WorkerContext, job: &Job) -> Result<String, StoreError> {
    write_zip(ctx, job, Vec::new()).await
}

/// Writes the result zip of a job that stops before its end: its stored result rows, then an
/// `UNPROCESSED` row for each data row it never reached (resource by resource).
pub(crate) async fn write_partial_result_file(ctx: &WorkerContext, job: &Job) -> Result<String, StoreError> {
    // The claimed copy's progress is stale; the stored one says which resources are done.
    let current = ctx.store.get_job(job.org, job.id).await.ok().flatten().unwrap_or_else(|| job.clone());
    let mut unread = Vec::with_capacity(current.spec.resources.len());
    for (index, resource) in current.spec.resources.iter().enumerate() {
        let done = current.resources.get(index).is_some_and(|p| p.state == ResourceState::Done);
        unread.push(if done { None } else { upload_of(ctx, &current, resource).await });
    }
    write_zip(ctx, &current, unread).await
}

/// The upload a resource reads, on local disk; `None` when it is gone (no rows can be listed).
async fn upload_of(
    ctx: &WorkerContext,
    job: &Job,
    resource: &bulkwrite_core::jobspec::ResourceSpec,
) -> Option<LocalBlob> {
    let file_id = bulkwrite_core::ids::FileId::parse(&resource.file_id)?;
    let upload = ctx.store.get_upload(job.org, file_id).await.ok().flatten()?;
    ctx.blobs
        .local(&upload.blob_key)
        .await
        .inspect_err(|error| tracing::warn!(job = %job.id, error = %error.with_causes(), "the upload is gone; no UNPROCESSED rows"))
        .ok()
}

/// The zip of stored result rows, each resource followed by its unread rows when `unread`
/// holds its upload.
async fn write_zip(ctx: &WorkerContext, job: &Job, unread: Vec<Option<LocalBlob>>) -> Result<String, StoreError> {
    let (file, path) = staged_file(ctx)?;
    let limits = ctx.config.limits;
    let last_row = limits.rows_read_per_file();
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
                    writer.write_row(&shown(row))?;
                }
                if let Some(last) = rows.last() {
                    after = last.row_no;
                }
                if rows.len() < PAGE as usize {
                    break;
                }
            }
            if let Some(Some(blob)) = unread.get(index) {
                let rows = UnreadRows {
                    zip_path: blob.path(),
                    resource,
                    requested_encoding: job_owned.spec.character_encoding.as_deref(),
                    limits,
                    max_columns: limits.max_columns.max(resource.header.len()),
                    after,
                    last_row,
                };
                let listed = write_unprocessed(&mut writer, &rows)?;
                tracing::info!(job = %job_owned.id, resource = index, unprocessed = listed, "unprocessed rows listed");
            }
        }
        finish_zip(writer)
    })
    .await
    .map_err(|e| StoreError::Backend(Box::new(e)))??;
    store_result(ctx, job, path).await
}

/// A result row as the result file shows it: a dry run's provisional id (a record the run would
/// create) is not shown, since the real job's id cannot be known before it runs. Real jobs never
/// have one.
fn shown(row: &ResultRow) -> std::borrow::Cow<'_, ResultRow> {
    match row.record_id {
        Some(id) if bulkwrite_store::dry_run::is_provisional(id) => {
            std::borrow::Cow::Owned(ResultRow { record_id: None, ..row.clone() })
        }
        _ => std::borrow::Cow::Borrowed(row),
    }
}

pub(crate) fn staged_file(ctx: &WorkerContext) -> Result<(File, TempPath), StoreError> {
    let staged = tempfile::Builder::new().prefix("result-").suffix(".zip").tempfile_in(ctx.blobs.staging_dir())?;
    Ok(staged.into_parts())
}

pub(crate) fn finish_zip(zip: ResultZipWriter<BufWriter<File>>) -> Result<(), StoreError> {
    let buffered = zip.finish()?;
    buffered.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

pub(crate) async fn store_result(ctx: &WorkerContext, job: &Job, path: TempPath) -> Result<String, StoreError> {
    let key = format!("results/{}/{}.zip", job.org, job.id);
    let kept = path.keep().map_err(|e| StoreError::Io(e.error))?;
    let stored = ctx.blobs.put_file(&key, &kept).await;
    if stored.is_err() {
        let _ = std::fs::remove_file(&kept);
    }
    stored?;
    Ok(key)
}
