//! The uploaded zip: which CSVs it holds and their header rows.

use std::io::{Read, Seek};

use serde::{Deserialize, Serialize};

use crate::csvread::{CsvError, CsvRows};

/// Header cells are read up to this many, so a file over the column limit can be named as such.
const HEADER_READ_LIMIT: usize = 100_000;

/// A CSV inside an uploaded zip, as seen at upload time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvEntry {
    /// The entry's path inside the zip.
    pub name: String,
    /// Header cells (empty when the CSV could not be read).
    pub header: Vec<String>,
    /// Detected encoding, as reported in `character_encoding`.
    pub encoding: String,
    /// Why the CSV cannot be used, if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Why a file is not a usable zip.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("not a zip archive: {0}")]
    NotAZip(#[source] zip::result::ZipError),
    #[error("reading the zip failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Whether the bytes start like a zip (local file header, or an empty archive).
pub fn looks_like_zip(prefix: &[u8]) -> bool {
    prefix.starts_with(b"PK\x03\x04") || prefix.starts_with(b"PK\x05\x06")
}

fn is_csv_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".csv") && !lower.starts_with("__macosx/") && !lower.ends_with('/')
}

/// Lists the CSV entries of a zip with their header rows.
pub fn inspect_zip(file: impl Read + Seek) -> Result<Vec<CsvEntry>, ZipError> {
    let mut archive = zip::ZipArchive::new(file).map_err(ZipError::NotAZip)?;
    let mut entries = Vec::new();
    for index in 0..archive.len() {
        let entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(error) => return Err(ZipError::NotAZip(error)),
        };
        if entry.is_dir() || !is_csv_name(entry.name()) {
            continue;
        }
        let name = entry.name().to_string();
        let csv_entry = match CsvRows::open(entry, None, HEADER_READ_LIMIT) {
            Ok(rows) => CsvEntry {
                name,
                header: rows.header().to_vec(),
                encoding: rows.encoding_name().to_string(),
                problem: None,
            },
            Err(error) => {
                CsvEntry { name, header: Vec::new(), encoding: String::new(), problem: Some(error.to_string()) }
            }
        };
        entries.push(csv_entry);
    }
    Ok(entries)
}

/// Opens one CSV of the zip for streaming.
pub fn open_csv<'a, R: Read + Seek>(
    archive: &'a mut zip::ZipArchive<R>,
    name: &str,
    requested_encoding: Option<&str>,
    max_columns: usize,
) -> Result<CsvRows<zip::read::ZipFile<'a, R>>, OpenCsvError> {
    let entry = archive.by_name(name).map_err(OpenCsvError::Zip)?;
    CsvRows::open(entry, requested_encoding, max_columns).map_err(OpenCsvError::Csv)
}

/// Why a CSV of a zip could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenCsvError {
    #[error("the zip entry cannot be read: {0}")]
    Zip(#[source] zip::result::ZipError),
    #[error(transparent)]
    Csv(CsvError),
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    /// Builds a zip holding the given `(name, content)` entries.
    pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in entries {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn lists_csv_entries_with_headers() {
        let bytes = zip_of(&[
            ("leads.csv", b"Last_Name,Email\nSmith,a@b.co\n"),
            ("__MACOSX/._leads.csv", b"junk"),
            ("notes.txt", b"hello"),
        ]);
        let entries = inspect_zip(Cursor::new(bytes)).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, "leads.csv");
        assert_eq!(entries[0].header, ["Last_Name", "Email"]);
        assert_eq!(entries[0].encoding, "UTF-8");
    }

    #[test]
    fn refuses_what_is_not_a_zip() {
        assert!(!looks_like_zip(b"Last_Name\nSmith\n"));
        assert!(matches!(inspect_zip(Cursor::new(b"Last_Name\n".to_vec())), Err(ZipError::NotAZip(_))));
    }

    #[test]
    fn an_empty_csv_is_listed_with_its_problem() {
        let entries = inspect_zip(Cursor::new(zip_of(&[("empty.csv", b"")]))).unwrap();
        assert!(entries[0].problem.is_some());
    }
}
