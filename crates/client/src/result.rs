//! The result zip of a finished job: one CSV per resource, each row echoing up to three input
//! cells followed by `STATUS`, `RECORD_ID` and `ERRORS`.

use std::io::{Cursor, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// The three columns Zoho appends to every result CSV.
pub const RESULT_COLUMNS: [&str; 3] = ["STATUS", "RECORD_ID", "ERRORS"];

/// A downloaded result file: the zip as received and its CSVs parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultFile {
    /// The zip exactly as downloaded.
    pub zip_bytes: Vec<u8>,
    /// The CSVs inside, in zip order (named `{Module}-{uploaded CSV name}`).
    pub files: Vec<ResultCsv>,
}

/// One result CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultCsv {
    /// The entry name, e.g. `Leads-leads.csv`.
    pub name: String,
    /// The whole header row, echoed columns then `STATUS`, `RECORD_ID`, `ERRORS`.
    pub header: Vec<String>,
    /// One row per input data row, in input order.
    pub rows: Vec<ResultRow>,
}

/// One row of a result CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// The echoed input cells (the first three mapped columns).
    pub echo: Vec<String>,
    /// What happened to the row.
    pub status: RowStatus,
    /// The created or updated record; `None` when the row was not applied.
    pub record_id: Option<String>,
    /// Why the row was not applied (empty on success).
    pub errors: Vec<RowError>,
}

pub use bulkwrite_wire::rows::RowStatus;

/// One `CODE-column[,column…]` group of an `ERRORS` cell, its code typed (the wire table's).
pub type RowError = bulkwrite_wire::rows::ErrorGroup;

/// Parses an `ERRORS` cell: groups `CODE-col[,col…]` joined by `:`, e.g.
/// `MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email`. Codes are upper-case words
/// without `-`, so the first `-` of a group ends the code.
///
/// # Errors
/// [`Error::Decode`] when a code is not a row error code of the wire table.
pub fn parse_errors(cell: &str) -> Result<Vec<RowError>> {
    bulkwrite_wire::rows::ErrorsCell::parse(cell)
        .map(|cell| cell.groups)
        .map_err(|e| Error::Decode(format!("ERRORS cell {cell:?}: {e}")))
}

/// Reads a `STATUS` cell (surrounding spaces and case ignored).
fn parse_status(cell: &str) -> Result<RowStatus> {
    RowStatus::parse(&cell.trim().to_ascii_uppercase()).map_err(|e| Error::Decode(format!("STATUS cell: {e}")))
}

impl ResultFile {
    /// Parses a result zip. Every `.csv` entry must end with the columns `STATUS`,
    /// `RECORD_ID`, `ERRORS`.
    pub fn parse(zip_bytes: Vec<u8>) -> Result<ResultFile> {
        let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes.as_slice()))
            .map_err(|e| Error::Decode(format!("result is not a zip: {e}")))?;
        let mut files = Vec::new();
        for index in 0..archive.len() {
            let mut entry =
                archive.by_index(index).map_err(|e| Error::Decode(format!("result zip entry {index}: {e}")))?;
            if entry.is_dir() {
                continue;
            }
            let name = entry.name().to_string();
            let mut text = Vec::new();
            entry.read_to_end(&mut text).map_err(|e| Error::Decode(format!("reading {name}: {e}")))?;
            files.push(ResultCsv::parse(name, &text)?);
        }
        Ok(ResultFile { zip_bytes, files })
    }

    /// Writes the zip to `path` (through a temporary sibling, then renamed).
    pub fn write_to(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::upload::write_atomically(path.as_ref(), &self.zip_bytes)?;
        Ok(())
    }

    /// All rows of all CSVs.
    pub fn rows(&self) -> impl Iterator<Item = &ResultRow> {
        self.files.iter().flat_map(|f| f.rows.iter())
    }

    /// How many rows have `status`.
    pub fn count(&self, status: &RowStatus) -> usize {
        self.rows().filter(|r| &r.status == status).count()
    }
}

impl ResultCsv {
    /// Parses one result CSV (UTF-8, a leading BOM tolerated).
    pub fn parse(name: String, text: &[u8]) -> Result<ResultCsv> {
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text);
        let mut records = reader.records();
        let header: Vec<String> = match records.next() {
            Some(record) => {
                record.map_err(|e| Error::Decode(format!("{name}: {e}")))?.iter().map(str::to_string).collect()
            }
            None => return Err(Error::Decode(format!("{name}: empty result CSV"))),
        };
        let echo_len =
            header.len().checked_sub(3).filter(|&n| header[n..].iter().map(String::as_str).eq(RESULT_COLUMNS));
        let Some(echo_len) = echo_len else {
            return Err(Error::Decode(format!("{name}: header does not end with STATUS,RECORD_ID,ERRORS: {header:?}")));
        };
        let mut rows = Vec::new();
        for record in records {
            let record = record.map_err(|e| Error::Decode(format!("{name}: {e}")))?;
            if record.iter().all(str::is_empty) {
                continue;
            }
            let cell = |i: usize| record.get(i).unwrap_or("").to_string();
            let record_id = cell(echo_len + 1);
            rows.push(ResultRow {
                echo: (0..echo_len).map(cell).collect(),
                status: parse_status(&cell(echo_len)).map_err(|e| Error::Decode(format!("{name}: {e}")))?,
                record_id: (!record_id.trim().is_empty()).then(|| record_id.trim().to_string()),
                // An unquoted ERRORS cell with commas spills into extra cells: join them back.
                errors: parse_errors(&record.iter().skip(echo_len + 2).collect::<Vec<_>>().join(","))?,
            });
        }
        Ok(ResultCsv { name, header, rows })
    }
}

#[cfg(test)]
mod tests {
    use bulkwrite_wire::rows::RowErrorCode;

    use super::*;

    #[test]
    fn errors_cell_splits_into_typed_codes_and_columns() {
        assert_eq!(
            parse_errors("MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email").unwrap(),
            vec![
                RowError { code: RowErrorCode::MandatoryNotFound, columns: vec!["Company".into(), "Last_Name".into()] },
                RowError { code: RowErrorCode::DuplicateData, columns: vec!["Email".into()] },
            ]
        );
        assert!(parse_errors("").unwrap().is_empty());
        assert_eq!(
            parse_errors("CANNOT_PROCESS").unwrap(),
            vec![RowError { code: RowErrorCode::CannotProcess, columns: vec![] }]
        );
        assert_eq!(parse_errors("INVALID_DATA-Mobile-2").unwrap()[0].columns, vec!["Mobile-2".to_string()]);
        assert!(matches!(parse_errors("NOT_A_CODE-Email"), Err(Error::Decode(_))));
    }

    #[test]
    fn csv_rows_are_read_after_the_echo_columns() {
        let text = b"\xEF\xBB\xBFLast_Name,Owner,Date_3,STATUS,RECORD_ID,ERRORS\r\nBoyle,1,2021/05/13,ADDED,5725767000000101001,\r\n\"Qu,ist\",1,2021/13/01,SKIPPED,,INVALID_DATA-Date_3\r\n";
        let csv = ResultCsv::parse("Leads-leads.csv".into(), text).unwrap();
        assert_eq!(csv.header[0], "Last_Name");
        assert_eq!(csv.rows.len(), 2);
        assert_eq!(csv.rows[0].status, RowStatus::Added);
        assert_eq!(csv.rows[0].record_id.as_deref(), Some("5725767000000101001"));
        assert_eq!(csv.rows[1].echo, vec!["Qu,ist", "1", "2021/13/01"]);
        assert_eq!(csv.rows[1].errors[0].code, RowErrorCode::InvalidData);
        assert!(csv.rows[1].record_id.is_none());
    }

    #[test]
    fn unquoted_errors_cells_are_joined_back() {
        let text = b"Last_Name,STATUS,RECORD_ID,ERRORS\n,SKIPPED,,MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email\n";
        let csv = ResultCsv::parse("x.csv".into(), text).unwrap();
        assert_eq!(csv.rows[0].errors[0].columns, vec!["Company", "Last_Name"]);
        assert_eq!(csv.rows[0].errors[1].code, RowErrorCode::DuplicateData);
    }

    #[test]
    fn a_header_without_the_result_columns_is_refused() {
        assert!(matches!(ResultCsv::parse("x.csv".into(), b"a,b\n1,2\n"), Err(Error::Decode(_))));
    }

    #[test]
    fn status_words_are_read_case_blind_and_unknown_ones_refused() {
        assert_eq!(parse_status(" added ").unwrap(), RowStatus::Added);
        assert!(matches!(parse_status("FAILED"), Err(Error::Decode(_))));
        let text = b"Last_Name,STATUS,RECORD_ID,ERRORS\nA,LOST,,\n";
        assert!(matches!(ResultCsv::parse("x.csv".into(), text), Err(Error::Decode(_))));
    }
}
