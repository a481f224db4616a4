//! Result rows and the result file: `STATUS`, `RECORD_ID`, `ERRORS` after three echoed columns.

use std::io::{Seek, Write};

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

use crate::ids::RecordId;

/// Row-level error codes, as the result file's `ERRORS` column writes them; never request errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowErrorCode {
    /// A mandatory field is empty (after `default_value`).
    MandatoryNotFound,
    /// A value does not fit its field (type, length, picklist, date or number pattern).
    InvalidData,
    /// A unique value is held by another record or an earlier row of the file.
    DuplicateData,
    /// The record waits in an approval process.
    NotApproved,
    /// The record is locked.
    BlockedRecord,
    /// Anything else that prevents the row.
    CannotProcess,
    /// The row is past the file's row limit.
    LimitExceeded,
    /// The record to update, a lookup's target or a child's parent does not exist.
    ResourceNotFound,
}

impl RowErrorCode {
    /// The code as the `ERRORS` cell writes it (`MANDATORY_NOT_FOUND`).
    pub fn as_str(self) -> &'static str {
        match self {
            RowErrorCode::MandatoryNotFound => "MANDATORY_NOT_FOUND",
            RowErrorCode::InvalidData => "INVALID_DATA",
            RowErrorCode::DuplicateData => "DUPLICATE_DATA",
            RowErrorCode::NotApproved => "NOT_APPROVED",
            RowErrorCode::BlockedRecord => "BLOCKED_RECORD",
            RowErrorCode::CannotProcess => "CANNOT_PROCESS",
            RowErrorCode::LimitExceeded => "LIMIT_EXCEEDED",
            RowErrorCode::ResourceNotFound => "RESOURCE_NOT_FOUND",
        }
    }

    /// The code a word names, or `None`.
    pub fn parse(text: &str) -> Option<RowErrorCode> {
        const ALL: [RowErrorCode; 8] = [
            RowErrorCode::MandatoryNotFound,
            RowErrorCode::InvalidData,
            RowErrorCode::DuplicateData,
            RowErrorCode::NotApproved,
            RowErrorCode::BlockedRecord,
            RowErrorCode::CannotProcess,
            RowErrorCode::LimitExceeded,
            RowErrorCode::ResourceNotFound,
        ];
        ALL.into_iter().find(|code| code.as_str() == text)
    }
}

/// One failed column of a row: the code and the CSV header of the column (or the field's API
/// name when the value came from a `default_value` without a column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// Which rule failed.
    pub code: RowErrorCode,
    /// The CSV header of the column (or the field's API name for a column-less default).
    pub column: String,
    /// Plain-words reason, for logs and `lint`; never written to the result file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl RowError {
    /// An error with no reason attached.
    pub fn new(code: RowErrorCode, column: impl Into<String>) -> RowError {
        RowError { code, column: column.into(), reason: String::new() }
    }

    /// The same error with a plain-words reason (for logs and `lint`).
    pub fn because(mut self, reason: impl Into<String>) -> RowError {
        self.reason = reason.into();
        self
    }
}

/// Writes the `ERRORS` cell: `CODE-col[,col…]` groups joined by `:`, codes in order of first
/// appearance, each column once.
pub fn format_errors(errors: &[RowError]) -> String {
    let mut groups: Vec<(RowErrorCode, Vec<&str>)> = Vec::new();
    for error in errors {
        let position = groups.iter().position(|(code, _)| *code == error.code);
        let columns = match position {
            Some(index) => &mut groups[index].1,
            None => {
                groups.push((error.code, Vec::new()));
                &mut groups.last_mut().expect("just pushed").1
            }
        };
        if !columns.contains(&error.column.as_str()) {
            columns.push(&error.column);
        }
    }
    let mut out = String::new();
    for (index, (code, columns)) in groups.iter().enumerate() {
        if index > 0 {
            out.push(':');
        }
        out.push_str(code.as_str());
        out.push('-');
        out.push_str(&columns.join(","));
    }
    out
}

/// Parses an `ERRORS` cell back into `(code, columns)` groups (used by clients and tests).
pub fn parse_errors(cell: &str) -> Vec<(String, Vec<String>)> {
    let mut groups = Vec::new();
    if cell.is_empty() {
        return groups;
    }
    for group in cell.split(':') {
        let (code, columns) = group.split_once('-').unwrap_or((group, ""));
        let columns = columns.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect();
        groups.push((code.to_string(), columns));
    }
    groups
}

/// The `STATUS` of a result row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowStatus {
    /// The row created a record.
    Added,
    /// The row updated a record.
    Updated,
    /// The row was skipped; `ERRORS` says why.
    Skipped,
    /// The job stopped before it reached the row.
    Unprocessed,
}

impl RowStatus {
    /// The status as the `STATUS` cell writes it (`ADDED`).
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Added => "ADDED",
            RowStatus::Updated => "UPDATED",
            RowStatus::Skipped => "SKIPPED",
            RowStatus::Unprocessed => "UNPROCESSED",
        }
    }

    /// The status a word names, or `None`.
    pub fn parse(text: &str) -> Option<RowStatus> {
        match text {
            "ADDED" => Some(RowStatus::Added),
            "UPDATED" => Some(RowStatus::Updated),
            "SKIPPED" => Some(RowStatus::Skipped),
            "UNPROCESSED" => Some(RowStatus::Unprocessed),
            _ => None,
        }
    }
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
    /// The `ERRORS` cell, already formatted.
    pub errors: String,
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
        push_csv_cell(line, &row.errors);
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
fn push_csv_cell(out: &mut Vec<u8>, cell: &str) {
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

    fn err(code: RowErrorCode, column: &str) -> RowError {
        RowError::new(code, column)
    }

    #[test]
    fn errors_cell_groups_codes_in_order_of_appearance() {
        let cases: Vec<(Vec<RowError>, &str)> = vec![
            (vec![], ""),
            (vec![err(RowErrorCode::MandatoryNotFound, "Company")], "MANDATORY_NOT_FOUND-Company"),
            (
                vec![
                    err(RowErrorCode::MandatoryNotFound, "Company"),
                    err(RowErrorCode::MandatoryNotFound, "Last_Name"),
                    err(RowErrorCode::DuplicateData, "Email"),
                ],
                "MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email",
            ),
            (
                vec![
                    err(RowErrorCode::InvalidData, "Date"),
                    err(RowErrorCode::DuplicateData, "Email"),
                    err(RowErrorCode::InvalidData, "Mobile"),
                    err(RowErrorCode::InvalidData, "Date"),
                ],
                "INVALID_DATA-Date,Mobile:DUPLICATE_DATA-Email",
            ),
        ];
        for (errors, expected) in cases {
            assert_eq!(format_errors(&errors), expected);
        }
    }

    #[test]
    fn errors_cell_parses_back() {
        let groups = parse_errors("MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email");
        assert_eq!(
            groups,
            vec![
                ("MANDATORY_NOT_FOUND".to_string(), vec!["Company".to_string(), "Last_Name".to_string()]),
                ("DUPLICATE_DATA".to_string(), vec!["Email".to_string()]),
            ]
        );
        assert!(parse_errors("").is_empty());
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
                errors: String::new(),
            })
            .unwrap();
        writer
            .write_row(&ResultRow {
                row_no: 2,
                echo: vec![String::new(), "say \"hi\"".into()],
                status: RowStatus::Skipped,
                record_id: None,
                errors: "MANDATORY_NOT_FOUND-Last_Name".into(),
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
                "INVALID_DATA-Email:DUPLICATE_DATA-Email".into()
            } else {
                String::new()
            },
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
                let wanted = [&want.echo[0], &want.echo[1], want.status.as_str(), &id, &want.errors];
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
