//! Streaming CSV reading: encoding and delimiter detection, RFC 4180 rows.
//!
//! [`CsvRows`] wraps any [`Read`] (a zip entry, a file, a byte slice) and yields data rows one at
//! a time. Memory stays bounded: a fixed sniff window (64 KiB raw + 64 KiB decoded), fixed decode
//! buffers, and one record at a time: the header row and each data record (with the blank lines
//! before it) may be at most [`CsvBounds`] bytes, counted as they are parsed, so neither a 30 MB
//! cell nor a line of a billion commas grows the parser's buffers past them.

mod decode;
mod sniff;
#[cfg(test)]
mod tests;

use std::io::{self, Chain, Cursor, Read};

use csv::StringRecord;

use crate::limits::{Bound, Limits};
use decode::{detect, lookup_label, read_prefix, DecodeReader, SNIFF_BYTES};
use sniff::{csv_builder, is_blank_header_cell, is_blank_row, sniff_delimiter};

/// What one CSV reader may read: header columns, header bytes, record bytes (decoded UTF-8,
/// including the blank lines skipped before a row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvBounds {
    /// Columns the header may have ([`CsvError::TooManyColumns`] beyond).
    pub max_columns: usize,
    /// Bytes of the header row and the blank lines before it.
    pub header: Bound,
    /// Bytes of one data record and the blank lines before it.
    pub record: Bound,
}

impl CsvBounds {
    /// The bounds of `limits`.
    pub fn new(limits: &Limits) -> CsvBounds {
        CsvBounds { max_columns: limits.max_columns, header: limits.header_bytes(), record: limits.record_bytes() }
    }

    /// The same bounds with another column limit.
    pub fn with_max_columns(self, max_columns: usize) -> CsvBounds {
        CsvBounds { max_columns, ..self }
    }
}

impl Default for CsvBounds {
    fn default() -> CsvBounds {
        CsvBounds::new(&Limits::default())
    }
}

/// An I/O error's payload when a reader passed one of its bounds; [`CsvError::TooLarge`] names
/// it. Also raised by readers below the CSV (a zip entry's uncompressed bytes).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the file holds more than the limit allows: {0}")]
pub struct BoundExceeded(pub Bound);

impl BoundExceeded {
    /// The I/O error that carries it.
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The bound an I/O error reports, if it is one of these.
    pub fn of_io(error: &io::Error) -> Option<Bound> {
        error.get_ref().and_then(|inner| inner.downcast_ref::<BoundExceeded>()).map(|exceeded| exceeded.0)
    }
}

/// Decoded bytes examined to find the delimiter of the header line.
const SNIFF_TEXT_BYTES: usize = 64 * 1024;

/// Why a CSV cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// `character_encoding` names no encoding we know.
    #[error("'{0}' is not a character encoding this server knows")]
    UnknownEncoding(String),
    /// The file has no header row (empty, or only blank lines).
    #[error("the CSV file has no header row")]
    NoHeader,
    /// The header has more columns than allowed.
    #[error("the CSV header has {found} columns; at most {limit} are allowed")]
    TooManyColumns {
        /// Columns in the header row.
        found: usize,
        /// The allowed maximum.
        limit: usize,
    },
    /// A bound was reached while reading (the header, data row `row`, or the file's bytes).
    #[error("the CSV {} holds more than allowed: {bound}", place(*row))]
    TooLarge {
        /// The data row being read (1-based); `None` for the header.
        row: Option<u64>,
        /// The bound reached.
        bound: Bound,
    },
    /// Reading failed (I/O error from the underlying reader or malformed CSV), with 1-based data
    /// row number if known.
    #[error("the CSV cannot be read{}: {source}", at_row(*row))]
    Read {
        /// The data row being read (1-based, blank rows not counted); `None` for the header.
        row: Option<u64>,
        /// What went wrong.
        #[source]
        source: csv::Error,
    },
    /// Reading the start of the file (to detect its encoding and delimiter) failed.
    #[error("the CSV file cannot be read: {0}")]
    Io(#[from] io::Error),
}

fn at_row(row: Option<u64>) -> String {
    row.map(|row| format!(" at data row {row}")).unwrap_or_default()
}

fn place(row: Option<u64>) -> String {
    row.map(|row| format!("data row {row}")).unwrap_or_else(|| "header row".to_string())
}

/// The error of a failed read of the sniff window: [`CsvError::TooLarge`] when a bound stopped it.
fn prefix_error(error: io::Error) -> CsvError {
    match BoundExceeded::of_io(&error) {
        Some(bound) => CsvError::TooLarge { row: None, bound },
        None => CsvError::Io(error),
    }
}

/// The error of a failed read: [`CsvError::TooLarge`] when a bound stopped it.
fn read_error(row: Option<u64>, source: csv::Error) -> CsvError {
    if let csv::ErrorKind::Io(io) = source.kind() {
        if let Some(bound) = BoundExceeded::of_io(io) {
            return CsvError::TooLarge { row, bound };
        }
    }
    CsvError::Read { row, source }
}

/// The decoded byte stream the CSV parser reads: decoded sniff window, then the rest.
type Source<R> = RecordBudget<Chain<Cursor<Vec<u8>>, DecodeReader<Chain<Cursor<Vec<u8>>, R>>>>;

/// Data rows of one CSV file, read as a stream.
pub struct CsvRows<R: Read> {
    reader: csv::Reader<Source<R>>,
    encoding_name: String,
    delimiter: u8,
    header: Vec<String>,
    rows_read: u64,
}

impl<R: Read> CsvRows<R> {
    /// Sniffs the encoding (unless `requested_encoding` is given) and the delimiter, and reads the
    /// header row.
    ///
    /// A requested encoding is looked up like an HTML `charset` label (case-insensitive, trimmed;
    /// `UTF8`, `latin1`, `cp1252`, `ISO-8859-1`, `UTF-16` … are known); a blank one counts as not
    /// given. A byte order mark at the start of the data always wins over the requested encoding
    /// and is removed.
    pub fn open(reader: R, requested_encoding: Option<&str>, max_columns: usize) -> Result<CsvRows<R>, CsvError> {
        Self::open_bounded(reader, requested_encoding, CsvBounds::default().with_max_columns(max_columns))
    }

    /// [`CsvRows::open`] with explicit bounds.
    pub fn open_bounded(
        mut reader: R,
        requested_encoding: Option<&str>,
        bounds: CsvBounds,
    ) -> Result<CsvRows<R>, CsvError> {
        let requested = requested_encoding.filter(|label| !label.trim().is_empty());
        let chosen = requested.map(resolve_label).transpose()?;
        let raw = read_prefix(&mut reader, SNIFF_BYTES).map_err(prefix_error)?;
        let (encoding, encoding_name) = match chosen {
            Some(chosen) => chosen,
            None => {
                let (encoding, name) = detect(&raw, raw.len() < SNIFF_BYTES);
                (encoding, name.to_string())
            }
        };
        let (encoding, bom_len) = encoding_rs::Encoding::for_bom(&raw).unwrap_or((encoding, 0));
        let mut raw = Cursor::new(raw);
        raw.set_position(u64::try_from(bom_len).unwrap_or(0));
        let mut decoded = DecodeReader::new(raw.chain(reader), encoding);
        let text = read_prefix(&mut decoded, SNIFF_TEXT_BYTES).map_err(prefix_error)?;
        let delimiter = sniff_delimiter(&text);
        let source = RecordBudget::new(Cursor::new(text).chain(decoded), bounds.header);
        let mut rows = CsvRows {
            reader: csv_builder(delimiter).from_reader(source),
            encoding_name,
            delimiter,
            header: Vec::new(),
            rows_read: 0,
        };
        rows.read_header(bounds.max_columns)?;
        rows.reader.get_mut().set_bound(bounds.record);
        Ok(rows)
    }

    /// The encoding name reported back to clients as `character_encoding`: the requested label as
    /// the client wrote it when given; otherwise one of "UTF-8", "UTF-16LE", "UTF-16BE",
    /// "windows-1252", "ISO-8859-1".
    pub fn encoding_name(&self) -> &str {
        &self.encoding_name
    }

    /// The detected delimiter: one of `b','` `b';'` `b':'` `b'|'`.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Header cells, BOM removed, surrounding whitespace trimmed.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Reads the next data row into `row`; `Ok(false)` at the end.
    ///
    /// Skips blank lines and rows whose every cell is empty or whitespace. Rows may have more or
    /// fewer cells than the header (ragged rows are returned as they are; the caller reports
    /// them). After an error the stream position is unspecified: stop reading.
    pub fn read_row(&mut self, row: &mut StringRecord) -> Result<bool, CsvError> {
        // One allowance for the row and the blank lines before it: a flood of blank lines ends
        // the read like an overlong row does.
        self.reader.get_mut().renew();
        loop {
            match self.reader.read_record(row) {
                Ok(false) => return Ok(false),
                Ok(true) if is_blank_row(row) => continue,
                Ok(true) => {
                    self.rows_read += 1;
                    return Ok(true);
                }
                Err(source) => return Err(read_error(Some(self.rows_read.saturating_add(1)), source)),
            }
        }
    }

    /// Number of data rows returned so far (the 1-based number of the last row returned).
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Reads the first non-blank record as the header.
    fn read_header(&mut self, max_columns: usize) -> Result<(), CsvError> {
        let mut record = StringRecord::new();
        self.reader.get_mut().renew();
        loop {
            match self.reader.read_record(&mut record) {
                Ok(false) => return Err(CsvError::NoHeader),
                Ok(true) if record.iter().all(is_blank_header_cell) => continue,
                Ok(true) => break,
                Err(source) => return Err(read_error(None, source)),
            }
        }
        if record.len() > max_columns {
            return Err(CsvError::TooManyColumns { found: record.len(), limit: max_columns });
        }
        self.header = record.iter().map(clean_header_cell).collect();
        Ok(())
    }
}

impl<R: Read> std::fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows")
            .field("encoding_name", &self.encoding_name)
            .field("delimiter", &char::from(self.delimiter))
            .field("header", &self.header)
            .field("rows_read", &self.rows_read)
            .finish_non_exhaustive()
    }
}

/// Whether `character_encoding` names an encoding this reader knows (a blank one counts as not
/// given, so it is known too).
pub fn is_known_encoding(label: &str) -> bool {
    label.trim().is_empty() || lookup_label(label).is_some()
}

/// The encoding for a requested label, reported under the label as written.
fn resolve_label(label: &str) -> Result<(&'static encoding_rs::Encoding, String), CsvError> {
    lookup_label(label)
        .map(|encoding| (encoding, label.to_string()))
        .ok_or_else(|| CsvError::UnknownEncoding(label.to_string()))
}

fn clean_header_cell(cell: &str) -> String {
    cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').to_string()
}

/// Caps the bytes pulled from `inner` between two [`RecordBudget::renew`] calls (one record), so
/// a runaway field cannot grow the parser's record buffer without limit.
struct RecordBudget<R> {
    inner: R,
    bound: Bound,
    left: u64,
}

impl<R: Read> RecordBudget<R> {
    fn new(inner: R, bound: Bound) -> Self {
        RecordBudget { inner, bound, left: bound.maximum }
    }

    /// Starts a new record's allowance.
    fn renew(&mut self) {
        self.left = self.bound.maximum;
    }

    /// Changes the bound from the next [`RecordBudget::renew`] on.
    fn set_bound(&mut self, bound: Bound) {
        self.bound = bound;
    }
}

impl<R: Read> Read for RecordBudget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            return Err(BoundExceeded(self.bound).into_io());
        }
        let allowed = usize::try_from(self.left).map_or(buf.len(), |left| left.min(buf.len()));
        let read = self.inner.read(buf.get_mut(..allowed).unwrap_or_default())?;
        self.left = self.left.saturating_sub(u64::try_from(read).unwrap_or(u64::MAX));
        Ok(read)
    }
}
