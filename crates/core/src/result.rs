//! Result rows and the result file: `STATUS`, `RECORD_ID`, `ERRORS` after three echoed columns.

use std::io::{Seek, Write};

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

use crate::ids::RecordId;

pub use bulkwrite_wire::rows::{ErrorGroup, ErrorsCell, ReportError, RowErrorCode, RowStatus};

/// One failed column of a row: the code, the CSV header of the column (or the field's API
/// name when the value came from a `default_value` without a column), the field and the cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// Which rule failed.
    pub code: RowErrorCode,
    /// The CSV header of the column (or the field's API name for a column-less default).
    pub column: String,
    /// The field's API name, when the error is about one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// The offending cell as read.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Plain-words reason, for the report, logs and `lint`; never written to the result file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl RowError {
    /// An error with no reason attached.
    pub fn new(code: RowErrorCode, column: impl Into<String>) -> RowError {
        RowError { code, column: column.into(), field: String::new(), value: String::new(), reason: String::new() }
    }

    /// The same error with a plain-words reason.
    #[must_use]
    pub fn because(mut self, reason: impl Into<String>) -> RowError {
        self.reason = reason.into();
        self
    }

    /// The same error naming the field it is about and the offending cell.
    #[must_use]
    pub fn on(mut self, field: impl Into<String>, value: impl Into<String>) -> RowError {
        self.field = field.into();
        self.value = value.into();
        self
    }

    /// The error as the full report gives it: the reason, or the code's sentence when none.
    pub fn to_report(&self) -> ReportError {
        ReportError {
            code: self.code,
            column: self.column.clone(),
            field: self.field.clone(),
            value: self.value.clone(),
            message: if self.reason.is_empty() { self.code.sentence().to_string() } else { self.reason.clone() },
        }
    }
}

/// The `ERRORS` cell of `errors`: `CODE-col[,col…]` groups joined by `:`, codes in order of first
/// appearance, each column once.
pub fn errors_cell(errors: &[RowError]) -> ErrorsCell {
    ErrorsCell::from_pairs(errors.iter().map(|error| (error.code, error.column.as_str())))
}

/// One row of a result file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultRow {
    /// 1-based data row number in the input file.
    pub row_no: u64,
    /// The echoed input cells (up to three).
    pub echo: Vec<String>,
    /// What happened to the row.
    pub status: RowStatus,
    /// The record it created or updated.
    pub record_id: Option<RecordId>,
    /// The `ERRORS` cell.
    pub errors: ErrorsCell,
    /// Every error of the row with its field, cell and sentence (kept for the full report;
    /// empty when read back from the result rows alone).
    pub reasons: Vec<ReportError>,
}

/// The columns appended after the echoed ones.
pub const RESULT_COLUMNS: [&str; 3] = ["STATUS", "RECORD_ID", "ERRORS"];

/// The name of the CSV inside the result zip: `{Module}-{uploaded CSV name}`, where the name is
/// only what follows the last `/` or `\`, with no drive letter and no control characters, so a
/// hostile entry name (`..\..\win.csv`, `C:\Windows\z.csv`) cannot become a path on unzip.
pub fn result_csv_name(module: &str, input_csv_name: &str) -> String {
    format!("{module}-{}", file_base_name(input_csv_name))
}

/// The last component of an entry path (after `/` or `\`), without a drive prefix (`C:`) or
/// control characters.
pub fn file_base_name(path: &str) -> String {
    let last = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let without_drive = match last.as_bytes() {
        [letter, b':', ..] if letter.is_ascii_alphabetic() => &last[2..],
        _ => last,
    };
    without_drive.chars().filter(|c| !c.is_control()).collect()
}

/// Streams result CSVs into a zip, one entry per resource, rows written as they come.
///
/// Lines are encoded into a buffer and reach the zip in pieces of about [`PIECE`] bytes: the
/// deflate stream and its checksum cost per call, and a line is only some 60 bytes.
pub struct ResultZipWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    in_entry: bool,
    /// Encoded lines not yet handed to the zip.
    lines: Vec<u8>,
}

/// Bytes of encoded lines handed to the zip at once.
const PIECE: usize = 64 * 1024;

impl<W: Write + Seek> ResultZipWriter<W> {
    /// A writer that writes the zip into `out`.
    pub fn new(out: W) -> ResultZipWriter<W> {
        ResultZipWriter { zip: zip::ZipWriter::new(out), in_entry: false, lines: Vec::with_capacity(PIECE + 1024) }
    }

    /// Starts one result CSV with its header row.
    pub fn start_csv(&mut self, name: &str, echo_headers: &[String]) -> std::io::Result<()> {
        self.flush_lines()?;
        // Level 1: result files are small; speed matters more than the last few percent of size.
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(false);
        self.zip.start_file(name, options).map_err(std::io::Error::other)?;
        self.in_entry = true;
        for (index, header) in echo_headers.iter().map(String::as_str).chain(RESULT_COLUMNS).enumerate() {
            if index > 0 {
                self.lines.push(b',');
            }
            push_csv_cell(&mut self.lines, header);
        }
        self.lines.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Starts a CSV with exactly these `headers` (an undo's result, which has no echoed cells);
    /// its rows are written with [`ResultZipWriter::write_cells`].
    pub fn start_plain_csv(&mut self, name: &str, headers: &[&str]) -> std::io::Result<()> {
        self.start_csv(name, &[])?;
        // `start_csv` flushed the entry before, then buffered the usual header line: replace it.
        self.lines.clear();
        for (index, header) in headers.iter().enumerate() {
            if index > 0 {
                self.lines.push(b',');
            }
            push_csv_cell(&mut self.lines, header);
        }
        self.lines.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Appends one row of plain cells to the current CSV.
    pub fn write_cells(&mut self, cells: &[&str]) -> std::io::Result<()> {
        for (index, cell) in cells.iter().enumerate() {
            if index > 0 {
                self.lines.push(b',');
            }
            push_csv_cell(&mut self.lines, cell);
        }
        self.lines.extend_from_slice(b"\r\n");
        if self.lines.len() >= PIECE {
            self.flush_lines()?;
        }
        Ok(())
    }

    /// Appends one row to the current CSV.
    pub fn write_row(&mut self, row: &ResultRow) -> std::io::Result<()> {
        let line = &mut self.lines;
        for cell in &row.echo {
            push_csv_cell(line, cell);
            line.push(b',');
        }
        line.extend_from_slice(row.status.as_str().as_bytes());
        line.push(b',');
        if let Some(id) = row.record_id {
            // Digits only: never quoted.
            write!(line, "{id}")?;
        }
        line.push(b',');
        if !row.errors.is_empty() {
            push_csv_cell(line, &row.errors.to_string());
        }
        line.extend_from_slice(b"\r\n");
        if self.lines.len() >= PIECE {
            self.flush_lines()?;
        }
        Ok(())
    }

    /// Writes the central directory and returns the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.flush_lines()?;
        self.zip.finish().map_err(std::io::Error::other)
    }

    fn flush_lines(&mut self) -> std::io::Result<()> {
        if !self.lines.is_empty() {
            self.zip.write_all(&self.lines)?;
            self.lines.clear();
        }
        Ok(())
    }
}

/// One CSV cell, quoted when it holds a separator, a quote, a line break, or edge spaces.
pub fn push_csv_cell(out: &mut Vec<u8>, cell: &str) {
    let bytes = cell.as_bytes();
    let special = bytes.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    let needs_quotes = special || bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ');
    if !needs_quotes {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    for piece in cell.split_inclusive('"') {
        out.extend_from_slice(piece.as_bytes());
        if piece.ends_with('"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cell_of_row_errors_groups_codes_and_reports_sentences() {
        let errors = [
            RowError::new(RowErrorCode::InvalidData, "Date").on("Date_3", "2021/13/01").because("not a date"),
            RowError::new(RowErrorCode::DuplicateData, "Email"),
            RowError::new(RowErrorCode::InvalidData, "Mobile"),
        ];
        assert_eq!(errors_cell(&errors).to_string(), "INVALID_DATA-Date,Mobile:DUPLICATE_DATA-Email");
        let report = errors[0].to_report();
        assert_eq!(
            (report.field.as_str(), report.value.as_str(), report.message.as_str()),
            ("Date_3", "2021/13/01", "not a date")
        );
        assert_eq!(errors[1].to_report().message, RowErrorCode::DuplicateData.sentence());
    }

    #[test]
    fn result_zip_holds_one_csv_with_quoted_cells() {
        let mut writer = ResultZipWriter::new(std::io::Cursor::new(Vec::new()));
        writer.start_csv("Leads-leads.csv", &["Last_Name".to_string(), "Email".to_string()]).unwrap();
        writer
            .write_row(&ResultRow {
                row_no: 1,
                echo: vec!["Smith, Jr.".into(), "a@b.co".into()],
                status: RowStatus::Added,
                record_id: Some(RecordId::new(5725767000000001001)),
                errors: ErrorsCell::default(),
                reasons: Vec::new(),
            })
            .unwrap();
        writer
            .write_row(&ResultRow {
                row_no: 2,
                echo: vec![String::new(), "say \"hi\"".into()],
                status: RowStatus::Skipped,
                record_id: None,
                errors: ErrorsCell::parse("MANDATORY_NOT_FOUND-Last_Name").unwrap(),
                reasons: Vec::new(),
            })
            .unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("Leads-leads.csv").unwrap(), &mut text).unwrap();
        assert_eq!(
            text,
            "Last_Name,Email,STATUS,RECORD_ID,ERRORS\r\n\"Smith, Jr.\",a@b.co,ADDED,5725767000000001001,\r\n,\"say \"\"hi\"\"\",SKIPPED,,MANDATORY_NOT_FOUND-Last_Name\r\n"
        );
    }

    #[test]
    fn result_zip_keeps_every_row_past_the_line_buffer_and_across_csvs() {
        let cells = ["plain", " edge space", "line\nbreak", "a \"quote\"", "trailing ", "", "comma,here"];
        let row = |row_no: u64| ResultRow {
            row_no,
            echo: vec![cells[row_no as usize % cells.len()].to_string(), format!("row {row_no}")],
            status: if row_no.is_multiple_of(3) { RowStatus::Skipped } else { RowStatus::Added },
            record_id: (!row_no.is_multiple_of(3)).then(|| RecordId::new(5725767000000000000 + row_no)),
            errors: if row_no.is_multiple_of(3) {
                ErrorsCell::parse("INVALID_DATA-Email:DUPLICATE_DATA-Email").unwrap()
            } else {
                ErrorsCell::default()
            },
            reasons: Vec::new(),
        };
        let mut writer = ResultZipWriter::new(std::io::Cursor::new(Vec::new()));
        let headers = ["Last_Name".to_string(), "Note, quoted".to_string()];
        writer.start_csv("Leads-a.csv", &headers).unwrap();
        let first: Vec<ResultRow> = (1..=5000).map(row).collect();
        for written in &first {
            writer.write_row(written).unwrap();
        }
        writer.start_csv("Contacts-b.csv", &headers).unwrap();
        writer.write_row(&row(7)).unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        for (name, expected) in [("Leads-a.csv", first), ("Contacts-b.csv", vec![row(7)])] {
            let mut reader = csv::Reader::from_reader(archive.by_name(name).unwrap());
            let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
            assert_eq!(header, ["Last_Name", "Note, quoted", "STATUS", "RECORD_ID", "ERRORS"]);
            let read: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            assert_eq!(read.len(), expected.len(), "{name}");
            for (got, want) in read.iter().zip(&expected) {
                let id = want.record_id.map(|id| id.to_string()).unwrap_or_default();
                let errors = want.errors.to_string();
                let wanted = [&want.echo[0], &want.echo[1], want.status.as_str(), &id, &errors];
                assert_eq!(got.iter().collect::<Vec<_>>(), wanted, "{name} row {}", want.row_no);
            }
        }
    }

    #[test]
    fn result_csv_name_uses_the_base_name() {
        assert_eq!(result_csv_name("Leads", "leads.csv"), "Leads-leads.csv");
        assert_eq!(result_csv_name("Leads", "dir/leads.csv"), "Leads-leads.csv");
        assert_eq!(result_csv_name("Leads", "..\\..\\..\\win.csv"), "Leads-win.csv");
        assert_eq!(result_csv_name("Leads", "C:\\Windows\\z.csv"), "Leads-z.csv");
        assert_eq!(result_csv_name("Leads", "C:z.csv"), "Leads-z.csv");
        assert_eq!(result_csv_name("Leads", "a/b\\c\u{0}\n\r\u{1b}d.csv"), "Leads-cd.csv");
    }
}
