//! The uploaded zip: which CSVs it holds and their header rows, read within [`Limits`].
//!
//! An upload is inspected before it is accepted: the entry count is read from the zip's end
//! record before the central directory is loaded (the directory of a 25 MB zip could otherwise
//! describe half a million entries), each CSV's declared size and the total are checked, and the
//! header row is read within its byte bound. A job reads an entry through [`open_csv`], which
//! counts the bytes actually inflated, so a zip that understates its sizes is stopped too.

use std::io::{self, Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

use crate::csvread::{BoundExceeded, CsvBounds, CsvError, CsvRows};
use crate::limits::{Bound, Limits};

/// A CSV inside an uploaded zip, as seen at upload time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvEntry {
    /// The entry's path inside the zip.
    pub name: String,
    /// Header cells (empty when the CSV could not be read). A header over the column limit keeps
    /// one cell more than the limit, so job creation can name the limit without the upload
    /// storing the whole header.
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
    /// The file is not a zip archive (or its directory is broken).
    #[error("not a zip archive: {0}")]
    NotAZip(#[source] zip::result::ZipError),
    /// The zip is readable but holds more than a bound allows.
    #[error("the zip holds more than allowed: {0}")]
    TooLarge(Bound),
    /// A CSV's header row is longer than its bound.
    #[error("the header row of {name} is too long: {bound}")]
    HeaderTooLong {
        /// The CSV's entry name.
        name: String,
        /// The bound it broke.
        bound: Bound,
    },
    /// Reading the file failed.
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

/// Lists the CSV entries of a zip with their header rows, refusing a zip over `limits`.
pub fn inspect_zip(mut file: impl Read + Seek, limits: &Limits) -> Result<Vec<CsvEntry>, ZipError> {
    if let Some(count) = declared_entries(&mut file)? {
        if count > limits.max_zip_entries {
            return Err(ZipError::TooLarge(limits.zip_entries()));
        }
    }
    file.seek(SeekFrom::Start(0))?;
    let mut archive = zip::ZipArchive::new(file).map_err(ZipError::NotAZip)?;
    if u64::try_from(archive.len()).unwrap_or(u64::MAX) > limits.max_zip_entries {
        return Err(ZipError::TooLarge(limits.zip_entries()));
    }
    let mut entries = Vec::new();
    let mut unzipped: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(ZipError::NotAZip)?;
        if entry.is_dir() || !is_csv_name(entry.name()) {
            continue;
        }
        if entry.size() > limits.max_entry_bytes {
            return Err(ZipError::TooLarge(limits.entry_bytes()));
        }
        unzipped = unzipped.saturating_add(entry.size());
        if unzipped > limits.max_unzipped_bytes {
            return Err(ZipError::TooLarge(limits.unzipped_bytes()));
        }
        let name = entry.name().to_string();
        entries.push(inspect_csv(name, entry, limits)?);
    }
    Ok(entries)
}

/// Reads one CSV's header; any column count is read (within the header's byte bound) so that
/// job creation can name the column limit.
fn inspect_csv(name: String, entry: impl Read, limits: &Limits) -> Result<CsvEntry, ZipError> {
    let bounds = CsvBounds::new(limits).with_max_columns(usize::MAX);
    let reader = BoundedEntry::new(entry, limits.entry_bytes());
    match CsvRows::open_bounded(reader, None, bounds) {
        Ok(rows) => {
            let mut header = rows.header().to_vec();
            header.truncate(limits.max_columns.saturating_add(1));
            Ok(CsvEntry { name, header, encoding: rows.encoding_name().to_string(), problem: None })
        }
        Err(CsvError::TooLarge { row: None, bound }) if bound == limits.header_bytes() => {
            Err(ZipError::HeaderTooLong { name, bound })
        }
        Err(CsvError::TooLarge { bound, .. }) => Err(ZipError::TooLarge(bound)),
        Err(error) => {
            Ok(CsvEntry { name, header: Vec::new(), encoding: String::new(), problem: Some(error.to_string()) })
        }
    }
}

/// The entry count a zip's end record declares (the zip64 one when present); `None` when no end
/// record is found (the zip reader then refuses the file).
fn declared_entries(file: &mut (impl Read + Seek)) -> io::Result<Option<u64>> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const LOCATOR: &[u8] = b"PK\x06\x07";
    const EOCD64: &[u8] = b"PK\x06\x06";
    let length = file.seek(SeekFrom::End(0))?;
    // The end record is 22 bytes plus a comment of at most 65,535.
    let tail_length = length.min(22 + 65_535 + 20);
    file.seek(SeekFrom::Start(length - tail_length))?;
    let mut tail = Vec::with_capacity(usize::try_from(tail_length).unwrap_or(0));
    file.by_ref().take(tail_length).read_to_end(&mut tail)?;
    let Some(at) = (0..tail.len().saturating_sub(21)).rev().find(|&at| tail.get(at..at + 4) == Some(EOCD)) else {
        return Ok(None);
    };
    let small = u64::from(u16::from_le_bytes([tail[at + 10], tail[at + 11]]));
    let Some(locator) = at.checked_sub(20).filter(|&l| tail.get(l..l + 4) == Some(LOCATOR)) else {
        return Ok(Some(small));
    };
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&tail[locator + 8..locator + 16]);
    let offset = u64::from_le_bytes(offset);
    if offset.saturating_add(56) > length {
        return Ok(Some(small));
    }
    let mut record = [0u8; 56];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut record)?;
    if &record[..4] != EOCD64 {
        return Ok(Some(small));
    }
    let mut total = [0u8; 8];
    total.copy_from_slice(&record[32..40]);
    Ok(Some(u64::from_le_bytes(total).max(small)))
}

/// A zip entry's bytes, refused past `bound` as they are inflated, whatever the zip declared.
pub struct BoundedEntry<R> {
    inner: R,
    bound: Bound,
    read: u64,
}

impl<R: Read> BoundedEntry<R> {
    /// Reads `inner`, failing once more than `bound` bytes came out of it.
    pub fn new(inner: R, bound: Bound) -> Self {
        BoundedEntry { inner, bound, read: 0 }
    }
}

impl<R: Read> Read for BoundedEntry<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.bound.maximum.saturating_sub(self.read);
        if left == 0 && !buf.is_empty() {
            // At the bound: one byte more tells an entry of exactly the bound from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(BoundExceeded(self.bound).into_io()),
            };
        }
        let allowed = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        let read = self.inner.read(&mut buf[..allowed])?;
        self.read = self.read.saturating_add(u64::try_from(read).unwrap_or(u64::MAX));
        Ok(read)
    }
}

/// Opens one CSV of the zip for streaming, within `limits` (and `max_columns` header columns).
pub fn open_csv<'a, R: Read + Seek>(
    archive: &'a mut zip::ZipArchive<R>,
    name: &str,
    requested_encoding: Option<&str>,
    limits: &Limits,
    max_columns: usize,
) -> Result<CsvRows<BoundedEntry<zip::read::ZipFile<'a, R>>>, OpenCsvError> {
    let entry = archive.by_name(name).map_err(OpenCsvError::Zip)?;
    let bounds = CsvBounds::new(limits).with_max_columns(max_columns);
    CsvRows::open_bounded(BoundedEntry::new(entry, limits.entry_bytes()), requested_encoding, bounds)
        .map_err(OpenCsvError::Csv)
}

/// Why a CSV of a zip could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenCsvError {
    /// The entry is missing or cannot be inflated.
    #[error("the zip entry cannot be read: {0}")]
    Zip(#[source] zip::result::ZipError),
    /// The entry is not a readable CSV (encoding, header, bounds).
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
        let entries = inspect_zip(Cursor::new(bytes), &Limits::default()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, "leads.csv");
        assert_eq!(entries[0].header, ["Last_Name", "Email"]);
        assert_eq!(entries[0].encoding, "UTF-8");
    }

    #[test]
    fn refuses_what_is_not_a_zip() {
        assert!(!looks_like_zip(b"Last_Name\nSmith\n"));
        assert!(matches!(
            inspect_zip(Cursor::new(b"Last_Name\n".to_vec()), &Limits::default()),
            Err(ZipError::NotAZip(_))
        ));
    }

    #[test]
    fn an_empty_csv_is_listed_with_its_problem() {
        let entries = inspect_zip(Cursor::new(zip_of(&[("empty.csv", b"")])), &Limits::default()).unwrap();
        assert!(entries[0].problem.is_some());
    }

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn too_many_entries_are_refused_before_the_directory_is_read() {
        let names: Vec<String> = (0..101).map(|i| format!("f{i}.txt")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), b"x".as_slice())).collect();
        let bytes = zip_of(&files);
        assert_eq!(declared_entries(&mut Cursor::new(&bytes)).unwrap(), Some(101));
        let refused = inspect_zip(Cursor::new(bytes), &limits());
        assert!(matches!(refused, Err(ZipError::TooLarge(bound)) if bound.setting == "BULKWRITE_MAX_ZIP_ENTRIES"));
    }

    #[test]
    fn declared_sizes_over_the_bounds_are_refused() {
        let big = vec![b'a'; 5000];
        let small = Limits { max_entry_bytes: 4000, max_unzipped_bytes: 5500, ..limits() };
        let one = zip_of(&[("a.csv", &big)]);
        let refused = inspect_zip(Cursor::new(one), &small);
        assert!(matches!(refused, Err(ZipError::TooLarge(bound)) if bound.setting == "BULKWRITE_MAX_ENTRY_BYTES"));
        let three = zip_of(&[("a.csv", &big[..3000]), ("b.csv", &big[..3000]), ("c.txt", &big)]);
        let refused = inspect_zip(Cursor::new(three), &small);
        assert!(matches!(refused, Err(ZipError::TooLarge(bound)) if bound.setting == "BULKWRITE_MAX_UNZIPPED_BYTES"));
    }

    #[test]
    fn a_long_header_is_refused_and_a_wide_one_kept_short() {
        let long = format!("{}\n1\n", "x".repeat(100_000));
        let refused = inspect_zip(Cursor::new(zip_of(&[("a.csv", long.as_bytes())])), &limits());
        assert!(matches!(refused, Err(ZipError::HeaderTooLong { ref name, .. }) if name == "a.csv"), "{refused:?}");
        let wide: Vec<String> = (0..5000).map(|i| format!("c{i}")).collect();
        let wide = format!("{}\n", wide.join(","));
        let entries = inspect_zip(Cursor::new(zip_of(&[("w.csv", wide.as_bytes())])), &limits()).unwrap();
        assert_eq!(entries[0].header.len(), 201);
        assert!(entries[0].problem.is_none());
    }

    /// A zip whose directory understates its entry's size as `declared` bytes.
    fn understated(content: &[u8], declared: u32) -> Vec<u8> {
        let mut bytes = zip_of(&[("lie.csv", content)]);
        let at = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[at + 24..at + 28].copy_from_slice(&declared.to_le_bytes());
        bytes[22..26].copy_from_slice(&declared.to_le_bytes());
        bytes
    }

    #[test]
    fn an_understated_entry_is_stopped_as_it_is_inflated() {
        let content = format!("a,b\n{}", "1,2\n".repeat(50_000));
        let small = Limits { max_entry_bytes: 100_000, ..limits() };
        let bytes = understated(content.as_bytes(), 10);
        let entries = inspect_zip(Cursor::new(bytes.clone()), &small).unwrap();
        assert_eq!(entries[0].header, ["a", "b"]);
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut rows = open_csv(&mut archive, "lie.csv", None, &small, 200).unwrap();
        let mut row = csv::StringRecord::new();
        let error = loop {
            match rows.read_row(&mut row) {
                Ok(true) => continue,
                Ok(false) => panic!("read past the entry bound"),
                Err(error) => break error,
            }
        };
        assert!(matches!(error, CsvError::TooLarge { bound, .. } if bound.setting == "BULKWRITE_MAX_ENTRY_BYTES"));
        assert!(rows.rows_read() < 25_000, "{}", rows.rows_read());
    }

    #[test]
    fn an_entry_of_exactly_the_bound_is_read_whole() {
        let content = b"a\n1\n2\n";
        let exact = Limits { max_entry_bytes: content.len() as u64, ..limits() };
        let mut archive = zip::ZipArchive::new(Cursor::new(zip_of(&[("e.csv", content)]))).unwrap();
        let mut rows = open_csv(&mut archive, "e.csv", None, &exact, 200).unwrap();
        let mut row = csv::StringRecord::new();
        while rows.read_row(&mut row).unwrap() {}
        assert_eq!(rows.rows_read(), 2);
    }
}
