//! The blocking half of the pipeline: opens the CSV inside the zip, skips what a checkpoint says
//! is done, maps rows and hands chunks to the async half through a small bounded channel, so
//! memory stays flat however long the file is.
//!
//! What a file can make a job do is bounded by [`Limits`], never by what the file holds: rows
//! past `max_rows_per_file` (`max_child_rows` for a subform or line-item child CSV) are
//! `LIMIT_EXCEEDED`, and after `max_overflow_rows` of those the read
//! stops (the job completes; rows after the cut are neither read nor listed). A row with more
//! than `max_cells_per_record` cells is `LIMIT_EXCEEDED`; a record longer than
//! `max_record_bytes`, or an entry inflating past `max_entry_bytes`, fails the job naming the
//! bound. A chunk closes at `chunk_rows` rows or `chunk_bytes` bytes of records, whichever first.

use std::path::PathBuf;

use bulkwrite_core::limits::Limits;
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
    pub limits: Limits,
    /// Data rows already applied.
    pub skip_rows: u64,
    pub chunk_rows: usize,
    pub chunk_bytes: usize,
    /// Column named by `LIMIT_EXCEEDED` for rows past the limit.
    pub limit_column: String,
    /// A subform or line-item child CSV: its rows are bounded by `max_child_rows`.
    pub child: bool,
    pub mapper: RowMapper,
    /// An insert's rows: their values are frozen into the text the insert writes as each row
    /// is mapped, by this `Full_Name` rule (see `bulkwrite_core::plan::freeze_for_insert`).
    pub freeze_values: Option<bool>,
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
    let encoding = plan.requested_encoding.as_deref();
    let mut rows = open_csv(&mut archive, &plan.csv_name, encoding, &plan.limits, plan.max_columns)
        .map_err(|e| format!("{} cannot be read: {e}", plan.csv_name))?;
    if sender.blocking_send(ReaderMessage::Encoding(rows.encoding_name().to_string())).is_err() {
        return Ok(());
    }
    // The store gives the rows back once written, to be freed where they were made.
    let freeing = bulkwrite_store::freeing::FreeingThread::start();
    let mut record = csv::StringRecord::new();
    let mut chunk = Vec::with_capacity(plan.chunk_rows);
    let mut chunk_bytes = 0usize;
    let last_row = row_limits(plan).rows_read_per_file();
    while rows.rows_read() < last_row {
        let more = rows.read_row(&mut record).map_err(|e| format!("{} cannot be read: {e}", plan.csv_name))?;
        if !more {
            break;
        }
        let row_no = rows.rows_read();
        if row_no <= plan.skip_rows {
            continue;
        }
        chunk_bytes += record.as_byte_record().as_slice().len();
        let mut row = map_row(plan, row_no, &record);
        // Not rows skipped already, nor rows whose lookups will set values.
        if let Some(full_name) = plan.freeze_values.filter(|_| row.errors.is_empty() && row.lookups.is_empty()) {
            bulkwrite_core::plan::freeze_for_insert(&mut row.values, full_name);
        }
        chunk.push(row);
        if chunk.len() >= plan.chunk_rows || chunk_bytes >= plan.chunk_bytes {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(plan.chunk_rows));
            chunk_bytes = 0;
            freeing.free_returned();
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

/// The limits rows are read under: a child CSV's row limit is the child one.
fn row_limits(plan: &ReadPlan) -> Limits {
    if plan.child {
        plan.limits.for_child_csv()
    } else {
        plan.limits
    }
}

fn map_row(plan: &ReadPlan, row_no: u64, record: &csv::StringRecord) -> RowDraft {
    let limits = &plan.limits;
    let over = if row_no > row_limits(plan).max_rows_per_file {
        Some(if plan.child && limits.max_child_rows < limits.max_rows_per_file {
            limits.child_rows()
        } else {
            limits.rows_per_file()
        })
    } else if record.len() > limits.max_cells_per_record {
        Some(limits.cells_per_record())
    } else {
        None
    };
    let Some(bound) = over else {
        return plan.mapper.map_row(row_no, record);
    };
    // Not mapped at all: a row past a bound costs nothing but its result row.
    let mut draft = plan.mapper.unmapped_row(row_no, record);
    draft.errors =
        vec![RowError::new(RowErrorCode::LimitExceeded, plan.limit_column.clone()).because(bound.to_string())];
    draft
}
