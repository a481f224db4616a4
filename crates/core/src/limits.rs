//! Every bound on what a client can make the server hold or do, in one place: Zoho's published
//! limits (each a setting whose default is Zoho's: zip ≤ 25 MB, 25,000 rows a CSV, 200 columns)
//! and the bounds this server adds so that no file within the upload limit can push memory, disk
//! or time past what configuration says (a zip bomb, a 30 MB cell, a billion tiny rows).
//!
//! Readers enforce these while they stream, never after buffering: the zip's entry count is read
//! from its end record before the central directory is, an entry's bytes are counted as they are
//! inflated, a record's bytes as they are parsed.

/// Zoho: a zip of at most 25 MB.
pub const ZOHO_MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;
/// Zoho: at most 25,000 data rows per CSV.
pub const ZOHO_MAX_ROWS_PER_FILE: u64 = 25_000;
/// Zoho: at most 200 columns per CSV, and 200 field mappings per resource.
pub const ZOHO_MAX_COLUMNS: usize = 200;
/// Zoho's v8 OAS: at most 100 `resource[]` items per job.
pub const ZOHO_MAX_RESOURCES: usize = 100;
/// Zoho's v8 OAS: at most 10 `file_names` per resource.
pub const ZOHO_MAX_FILE_NAMES: usize = 10;
/// Zoho's v8 OAS: each of `file_names` at most 255 characters.
pub const ZOHO_MAX_FILE_NAME_CHARS: usize = 255;
/// Zoho's limitations page: a subform or line-item child CSV holds at most 200 data rows.
pub const ZOHO_MAX_CHILD_ROWS: u64 = 200;

/// The bounds one server enforces. `Default` is Zoho's limits plus this server's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one uploaded zip, as sent (`FILE_TOO_LARGE`).
    pub max_upload_bytes: u64,
    /// Data rows one CSV may hold; later rows are `LIMIT_EXCEEDED` (see `max_overflow_rows`).
    pub max_rows_per_file: u64,
    /// Data rows a subform or line-item child CSV of a parent/child job may hold (also at most
    /// `max_rows_per_file`); later rows are `LIMIT_EXCEEDED` like rows past the file limit.
    pub max_child_rows: u64,
    /// Rows past `max_rows_per_file` still read and listed as `LIMIT_EXCEEDED`; the read stops
    /// after them, so a job's work never depends on how many rows a file claims to hold.
    pub max_overflow_rows: u64,
    /// Columns a CSV header may have; also the field mappings a resource may have.
    pub max_columns: usize,
    /// Entries (files and folders) one zip may hold.
    pub max_zip_entries: u64,
    /// Uncompressed bytes of one CSV entry.
    pub max_entry_bytes: u64,
    /// Uncompressed bytes of all the CSV entries of one zip together.
    pub max_unzipped_bytes: u64,
    /// Bytes of a CSV's header row (field API names are short).
    pub max_header_bytes: u64,
    /// Bytes of one data record (all its cells, decoded to UTF-8).
    pub max_record_bytes: u64,
    /// Cells one data record may have; a row with more is `LIMIT_EXCEEDED`.
    pub max_cells_per_record: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_upload_bytes: ZOHO_MAX_UPLOAD_BYTES,
            max_rows_per_file: ZOHO_MAX_ROWS_PER_FILE,
            max_child_rows: ZOHO_MAX_CHILD_ROWS,
            max_overflow_rows: 1_000,
            max_columns: ZOHO_MAX_COLUMNS,
            max_zip_entries: 100,
            max_entry_bytes: 256 * 1024 * 1024,
            max_unzipped_bytes: 512 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_record_bytes: 1024 * 1024,
            max_cells_per_record: 1_000,
        }
    }
}

impl Limits {
    /// Data rows a job reads from one CSV at most: the row limit and the overflow after it.
    pub fn rows_read_per_file(&self) -> u64 {
        self.max_rows_per_file.saturating_add(self.max_overflow_rows)
    }

    /// The limits of a subform or line-item child CSV: its row limit is the child one (when
    /// lower), so its later rows are `LIMIT_EXCEEDED` naming [`Limits::child_rows`].
    pub fn for_child_csv(&self) -> Limits {
        Limits { max_rows_per_file: self.max_rows_per_file.min(self.max_child_rows), ..*self }
    }
}

/// One bound, named for error details and messages: what it limits, its setting, its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// What is limited, in words (`uncompressed bytes per CSV entry`).
    pub what: &'static str,
    /// The environment variable that sets it (`BULKWRITE_MAX_ENTRY_BYTES`).
    pub setting: &'static str,
    /// Its value in force.
    pub maximum: u64,
}

impl Limits {
    /// The bound on the bytes of one upload.
    pub fn upload_bytes(&self) -> Bound {
        Bound { what: "bytes per upload", setting: "BULKWRITE_MAX_UPLOAD_BYTES", maximum: self.max_upload_bytes }
    }

    /// The bound on the entries of one zip.
    pub fn zip_entries(&self) -> Bound {
        Bound { what: "entries per zip", setting: "BULKWRITE_MAX_ZIP_ENTRIES", maximum: self.max_zip_entries }
    }

    /// The bound on the uncompressed bytes of one CSV entry.
    pub fn entry_bytes(&self) -> Bound {
        Bound {
            what: "uncompressed bytes per CSV entry",
            setting: "BULKWRITE_MAX_ENTRY_BYTES",
            maximum: self.max_entry_bytes,
        }
    }

    /// The bound on the uncompressed bytes of a whole upload.
    pub fn unzipped_bytes(&self) -> Bound {
        Bound {
            what: "uncompressed bytes per upload",
            setting: "BULKWRITE_MAX_UNZIPPED_BYTES",
            maximum: self.max_unzipped_bytes,
        }
    }

    /// The bound on the bytes of a CSV's header row.
    pub fn header_bytes(&self) -> Bound {
        Bound { what: "bytes per header row", setting: "BULKWRITE_MAX_HEADER_BYTES", maximum: self.max_header_bytes }
    }

    /// The bound on the bytes of one CSV record.
    pub fn record_bytes(&self) -> Bound {
        Bound { what: "bytes per record", setting: "BULKWRITE_MAX_RECORD_BYTES", maximum: self.max_record_bytes }
    }

    /// The bound on the cells of one CSV record.
    pub fn cells_per_record(&self) -> Bound {
        Bound {
            what: "cells per record",
            setting: "BULKWRITE_MAX_CELLS_PER_RECORD",
            maximum: u64::try_from(self.max_cells_per_record).unwrap_or(u64::MAX),
        }
    }

    /// The bound on the columns of a CSV.
    pub fn columns(&self) -> Bound {
        Bound {
            what: "columns per CSV",
            setting: "BULKWRITE_MAX_COLUMNS",
            maximum: u64::try_from(self.max_columns).unwrap_or(u64::MAX),
        }
    }

    /// The bound on the data rows of a CSV.
    pub fn rows_per_file(&self) -> Bound {
        Bound { what: "data rows per CSV", setting: "BULKWRITE_MAX_ROWS_PER_FILE", maximum: self.max_rows_per_file }
    }

    /// The bound on the data rows of a subform or line-item child CSV.
    pub fn child_rows(&self) -> Bound {
        Bound {
            what: "data rows per subform or line-item CSV",
            setting: "BULKWRITE_MAX_CHILD_ROWS",
            maximum: self.max_child_rows,
        }
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at most {} {} ({})", self.maximum, self.what, self.setting)
    }
}
