//! The rows a failed or cancelled job never reached, as `UNPROCESSED` result rows: the rest of
//! the CSV after the last committed row, read again from the upload. Bounded like the pipeline's
//! reader: no row past `max_rows_per_file + max_overflow_rows` is listed, whatever the file
//! holds, and rows stream straight into the zip.

use std::io::{BufWriter, Write};
use std::path::Path;

use bulkwrite_core::jobspec::ResourceSpec;
use bulkwrite_core::limits::Limits;
use bulkwrite_core::result::{ErrorsCell, ResultRow, ResultZipWriter, RowStatus};
use bulkwrite_core::zipfile::open_csv;

/// Where a resource's unread rows are and how far they may go.
pub(crate) struct UnreadRows<'a> {
    pub zip_path: &'a Path,
    pub resource: &'a ResourceSpec,
    pub requested_encoding: Option<&'a str>,
    /// The reader's bounds (entry and record bytes), as the pipeline reads the file.
    pub limits: Limits,
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
    let opened =
        open_csv(&mut archive, &rows.resource.csv_name, rows.requested_encoding, &rows.limits, rows.max_columns);
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
        let row = ResultRow {
            row_no,
            echo,
            status: RowStatus::Unprocessed,
            record_id: None,
            errors: ErrorsCell::default(),
            reasons: Vec::new(),
        };
        writer.write_row(&row)?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use super::*;

    fn resource() -> ResourceSpec {
        ResourceSpec {
            module: "Leads".into(),
            module_id: "1".into(),
            file_id: "5725767000000009001".into(),
            csv_name: "leads.csv".into(),
            file_names: None,
            find_by: None,
            ignore_empty: None,
            effective_ignore_empty: false,
            mappings: Vec::new(),
            auto_mapped: true,
            header: vec!["Company".into(), "Last_Name".into(), "Email".into(), "Phone".into()],
            echo_columns: vec![1, 2, 0],
            parent_link: None,
            denied_fields: Vec::new(),
        }
    }

    fn upload(dir: &Path, csv: &str) -> std::path::PathBuf {
        let path = dir.join("upload.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        zip.start_file("leads.csv", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(csv.as_bytes()).unwrap();
        zip.finish().unwrap();
        path
    }

    /// The rows after `after` and up to `last_row`, as the result CSV shows them.
    fn listed(zip_path: &Path, after: u64, last_row: u64) -> (u64, String) {
        let resource = resource();
        let mut writer = ResultZipWriter::new(BufWriter::new(Cursor::new(Vec::new())));
        writer.start_csv("Leads-leads.csv", &resource.echo_headers()).unwrap();
        let rows = UnreadRows {
            zip_path,
            resource: &resource,
            requested_encoding: None,
            limits: Limits::default(),
            max_columns: 200,
            after,
            last_row,
        };
        let written = write_unprocessed(&mut writer, &rows).unwrap();
        let bytes = writer.finish().unwrap().into_inner().unwrap().into_inner();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut text = String::new();
        archive.by_name("Leads-leads.csv").unwrap().read_to_string(&mut text).unwrap();
        (written, text)
    }

    #[test]
    fn rows_after_the_checkpoint_are_listed_unprocessed_with_their_echoed_cells() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "Company,Last_Name,Email,Phone\nA Co,Ann,a@x.co,1\n\nB Co,Bob,b@x.co,2\nC Co,\"Cy, Jr\",c@x.co,3\nD Co,Di\n";
        let path = upload(dir.path(), csv);
        let (written, text) = listed(&path, 1, 100);
        assert_eq!(written, 3);
        assert_eq!(
            text,
            "Last_Name,Email,Company,STATUS,RECORD_ID,ERRORS\r\n\
             Bob,b@x.co,B Co,UNPROCESSED,,\r\n\
             \"Cy, Jr\",c@x.co,C Co,UNPROCESSED,,\r\n\
             Di,,D Co,UNPROCESSED,,\r\n"
        );
    }

    #[test]
    fn no_row_past_the_bound_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("Company,Last_Name,Email,Phone\n");
        for i in 1..=50 {
            csv.push_str(&format!("Co,Name {i},n{i}@x.co,{i}\n"));
        }
        let path = upload(dir.path(), &csv);
        let (written, text) = listed(&path, 10, 25);
        assert_eq!(written, 15);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "Name 11,n11@x.co,Co,UNPROCESSED,,");
        assert_eq!(lines.last().copied(), Some("Name 25,n25@x.co,Co,UNPROCESSED,,"));
        assert_eq!(listed(&path, 50, 1000).0, 0, "nothing after the last row");
    }

    #[test]
    fn an_unreadable_upload_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.zip");
        std::fs::write(&path, b"not a zip").unwrap();
        assert_eq!(listed(&path, 0, 100).0, 0);
        assert_eq!(listed(&dir.path().join("gone.zip"), 0, 100).0, 0);
    }
}
