//! The rows a failed or cancelled job never reached, as `UNPROCESSED` result rows: the rest of
//! the CSV after the last committed row, read again from the upload. Bounded like the pipeline's
//! reader: no row past `max_rows_per_file + max_overflow_rows` is listed, whatever the file
//! holds, and rows stream straight into the zip.

use std::io::{BufWriter, Write};
use std::path::Path;

use bulkwrite_core::jobspec::ResourceSpec;
use bulkwrite_core::result::{ResultRow, ResultZipWriter, RowStatus};
use bulkwrite_core::zipfile::open_csv;

/// Where a resource's unread rows are and how far they may go.
pub(crate) struct UnreadRows<'a> {
    pub zip_path: &'a Path,
    pub resource: &'a ResourceSpec,
    pub requested_encoding: Option<&'a str>,
    pub max_columns: usize,
    /// The last data row with a result row (the committed checkpoint).
    pub after: u64,
    /// No row past this one is listed.
    pub last_row: u64,
}

/// Appends an `UNPROCESSED` row (echoed cells, empty `RECORD_ID` and `ERRORS`) for every data row
/// after `rows.after`, up to `rows.last_row`; returns how many. A file that cannot be read (the
/// reason a job failed, often) ends the list where reading stops; only a failed write is an error.
pub(crate) fn write_unprocessed<W: Write + std::io::Seek>(
    writer: &mut ResultZipWriter<BufWriter<W>>,
    rows: &UnreadRows<'_>,
) -> std::io::Result<u64> {
    let Ok(file) = std::fs::File::open(rows.zip_path) else { return Ok(0) };
    let Ok(mut archive) = zip::ZipArchive::new(std::io::BufReader::new(file)) else { return Ok(0) };
    let opened = open_csv(&mut archive, &rows.resource.csv_name, rows.requested_encoding, rows.max_columns);
    let Ok(mut csv) = opened else { return Ok(0) };
    let echo_columns: Vec<usize> = rows.resource.echo_columns.iter().map(|index| *index as usize).collect();
    let mut record = csv::StringRecord::new();
    let mut written = 0;
    loop {
        match csv.read_row(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                tracing::info!(csv = %rows.resource.csv_name, %error, "unprocessed rows end where the file stops reading");
                break;
            }
        }
        let row_no = csv.rows_read();
        if row_no <= rows.after {
            continue;
        }
        if row_no > rows.last_row {
            break;
        }
        let echo = echo_columns.iter().map(|index| record.get(*index).unwrap_or("").to_string()).collect();
        let row = ResultRow { row_no, echo, status: RowStatus::Unprocessed, record_id: None, errors: String::new() };
        writer.write_row(&row)?;
        written += 1;
    }
    Ok(written)
}
