//! The blocking half of the pipeline: opens the CSV inside the zip, skips what a checkpoint says
//! is done, maps rows and hands chunks to the async half through a small bounded channel, so
//! memory stays flat however long the file is.

use std::path::PathBuf;

use bulkwrite_core::mapping::{RowDraft, RowMapper};
use bulkwrite_core::result::{RowError, RowErrorCode};
use bulkwrite_core::zipfile::open_csv;
use tokio::sync::mpsc;

/// What the reader sends.
pub(crate) enum ReaderMessage {
    /// The encoding the CSV is read with (sent once, first).
    Encoding(String),
    /// Mapped rows and the checkpoint after them.
    Chunk { rows: Vec<RowDraft>, rows_done: u64 },
    /// The file cannot be read: the job fails with this reason.
    Failed(String),
}

/// Everything the reader needs, owned, so it can move to a blocking thread.
pub(crate) struct ReadPlan {
    pub zip_path: PathBuf,
    pub csv_name: String,
    pub requested_encoding: Option<String>,
    pub max_columns: usize,
    /// Data rows already applied.
    pub skip_rows: u64,
    pub chunk_rows: usize,
    pub max_rows: u64,
    /// Column named by `LIMIT_EXCEEDED` for rows past the limit.
    pub limit_column: String,
    pub mapper: RowMapper,
}

/// Reads and maps the whole CSV, sending chunks until the receiver goes away.
pub(crate) fn read_chunks(plan: ReadPlan, sender: mpsc::Sender<ReaderMessage>) {
    if let Err(reason) = read(&plan, &sender) {
        let _ = sender.blocking_send(ReaderMessage::Failed(reason));
    }
}

fn read(plan: &ReadPlan, sender: &mpsc::Sender<ReaderMessage>) -> Result<(), String> {
    let file = std::fs::File::open(&plan.zip_path).map_err(|e| format!("the uploaded file cannot be opened: {e}"))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| format!("the uploaded file is not a readable zip: {e}"))?;
    let mut rows = open_csv(&mut archive, &plan.csv_name, plan.requested_encoding.as_deref(), plan.max_columns)
        .map_err(|e| format!("{} cannot be read: {e}", plan.csv_name))?;
    if sender.blocking_send(ReaderMessage::Encoding(rows.encoding_name().to_string())).is_err() {
        return Ok(());
    }
    let mut record = csv::StringRecord::new();
    let mut chunk = Vec::with_capacity(plan.chunk_rows);
    loop {
        let more = rows.read_row(&mut record).map_err(|e| format!("{} cannot be read: {e}", plan.csv_name))?;
        if !more {
            break;
        }
        let row_no = rows.rows_read();
        if row_no <= plan.skip_rows {
            continue;
        }
        chunk.push(map_row(plan, row_no, &record));
        if chunk.len() >= plan.chunk_rows {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(plan.chunk_rows));
            if sender.blocking_send(ReaderMessage::Chunk { rows: full, rows_done: row_no }).is_err() {
                return Ok(());
            }
        }
    }
    if !chunk.is_empty() {
        let rows_done = rows.rows_read();
        let _ = sender.blocking_send(ReaderMessage::Chunk { rows: chunk, rows_done });
    }
    Ok(())
}

fn map_row(plan: &ReadPlan, row_no: u64, record: &csv::StringRecord) -> RowDraft {
    let mut draft = plan.mapper.map_row(row_no, record);
    if row_no > plan.max_rows {
        let reason = format!("a file may hold {} data rows", plan.max_rows);
        draft.errors = vec![RowError::new(RowErrorCode::LimitExceeded, plan.limit_column.clone()).because(reason)];
        draft.missing_for_insert.clear();
        draft.unique_keys.clear();
        draft.lookups.clear();
        draft.find_key = None;
    }
    draft
}
