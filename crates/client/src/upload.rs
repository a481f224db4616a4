//! What can be uploaded, and zipping a CSV on the client side.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use bulkwrite_wire::upload::UploadedFile;
use bytes::Bytes;
use reqwest::multipart::{Form, Part};
use reqwest::Body;
use serde_json::Value;
use zip::write::SimpleFileOptions;

use crate::error::{Error, Result};

/// The file handed to [`crate::Client::upload`]. Zoho takes only zips holding CSVs; a CSV given
/// here is zipped by the client (one entry, named after the CSV).
#[derive(Debug, Clone)]
pub enum UploadSource {
    /// A zip on disk, streamed from the file.
    ZipFile(PathBuf),
    /// A zip in memory, sent under `file_name`.
    Zip {
        /// The name the upload carries, e.g. `leads.zip`.
        file_name: String,
        /// The zip itself.
        bytes: Bytes,
    },
    /// A CSV on disk, zipped before sending.
    CsvFile(PathBuf),
    /// A CSV in memory, zipped before sending; the entry is named `file_name`.
    Csv {
        /// The CSV's name inside the zip, e.g. `leads.csv` (shows up in job details and in the
        /// result CSV's name).
        file_name: String,
        /// The CSV text.
        bytes: Bytes,
    },
}

impl UploadSource {
    /// A file on disk: a CSV when the name ends in `.csv` (any case), a zip otherwise.
    pub fn path(path: impl Into<PathBuf>) -> UploadSource {
        let path = path.into();
        let is_csv = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv {
            UploadSource::CsvFile(path)
        } else {
            UploadSource::ZipFile(path)
        }
    }

    /// A zip in memory.
    pub fn zip_bytes(file_name: impl Into<String>, bytes: impl Into<Bytes>) -> UploadSource {
        UploadSource::Zip { file_name: file_name.into(), bytes: bytes.into() }
    }

    /// A CSV in memory, to be zipped.
    pub fn csv_bytes(file_name: impl Into<String>, bytes: impl Into<Bytes>) -> UploadSource {
        UploadSource::Csv { file_name: file_name.into(), bytes: bytes.into() }
    }
}

/// An upload ready to be sent, as often as the retry policy asks.
#[derive(Debug)]
pub(crate) struct PreparedUpload {
    file_name: String,
    body: PreparedBody,
}

#[derive(Debug)]
enum PreparedBody {
    Memory(Bytes),
    File { path: PathBuf, len: u64 },
}

fn base_name(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| Error::Invalid(format!("{} has no usable file name", path.display())))
}

fn entry_name(file_name: &str) -> Result<String> {
    let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name).trim();
    if name.is_empty() {
        return Err(Error::Invalid("a CSV needs a file name".into()));
    }
    Ok(name.to_string())
}

/// Zips one CSV read from `csv` into an entry called `entry`.
pub fn zip_csv(entry: &str, csv: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(entry, options).map_err(std::io::Error::other)?;
    std::io::copy(csv, &mut zip)?;
    let cursor = zip.finish().map_err(std::io::Error::other)?;
    Ok(cursor.into_inner())
}

async fn zip_in_background(entry: String, source: CsvInput) -> Result<Bytes> {
    let zipped = tokio::task::spawn_blocking(move || match source {
        CsvInput::Path(path) => zip_csv(&entry, &mut std::fs::File::open(path)?),
        CsvInput::Bytes(bytes) => zip_csv(&entry, &mut bytes.as_ref()),
    })
    .await
    .map_err(|e| Error::Invalid(format!("zipping task failed: {e}")))??;
    Ok(Bytes::from(zipped))
}

enum CsvInput {
    Path(PathBuf),
    Bytes(Bytes),
}

impl PreparedUpload {
    /// Checks files, zips CSVs.
    pub(crate) async fn prepare(source: UploadSource) -> Result<PreparedUpload> {
        match source {
            UploadSource::ZipFile(path) => {
                let len = tokio::fs::metadata(&path).await?.len();
                Ok(PreparedUpload { file_name: base_name(&path)?, body: PreparedBody::File { path, len } })
            }
            UploadSource::Zip { file_name, bytes } => {
                Ok(PreparedUpload { file_name: entry_name(&file_name)?, body: PreparedBody::Memory(bytes) })
            }
            UploadSource::CsvFile(path) => {
                let entry = base_name(&path)?;
                let zipped = zip_in_background(entry.clone(), CsvInput::Path(path)).await?;
                Ok(PreparedUpload { file_name: format!("{entry}.zip"), body: PreparedBody::Memory(zipped) })
            }
            UploadSource::Csv { file_name, bytes } => {
                let entry = entry_name(&file_name)?;
                let zipped = zip_in_background(entry.clone(), CsvInput::Bytes(bytes)).await?;
                Ok(PreparedUpload { file_name: format!("{entry}.zip"), body: PreparedBody::Memory(zipped) })
            }
        }
    }

    /// The multipart form: one part named `file`, `application/zip`.
    pub(crate) fn form(&self) -> Result<Form> {
        let (body, len) = match &self.body {
            PreparedBody::Memory(bytes) => (Body::from(bytes.clone()), bytes.len() as u64),
            PreparedBody::File { path, len } => {
                let file = tokio::fs::File::from_std(std::fs::File::open(path)?);
                (Body::wrap_stream(tokio_util::io::ReaderStream::new(file)), *len)
            }
        };
        let part = Part::stream_with_length(body, len)
            .file_name(self.file_name.clone())
            .mime_str("application/zip")
            .map_err(|e| Error::Invalid(format!("bad mime type: {e}")))?;
        Ok(Form::new().part("file", part))
    }
}

/// Reads `details` of an upload answer; `file_id` may be a string or (v8 SDK style) a number.
pub(crate) fn uploaded_file(value: &Value) -> Result<UploadedFile> {
    let details = value.get("details").unwrap_or(&Value::Null);
    let file_id = match details.get("file_id") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err(Error::Decode("upload answer has no details.file_id".into())),
    };
    let created_time = details.get("created_time").and_then(Value::as_str).unwrap_or_default().to_string();
    Ok(UploadedFile { file_id, created_time })
}

/// Lists the entries of a zip (used by tests and callers that want to check an upload).
pub fn zip_entries(zip: impl Read + Seek) -> std::io::Result<Vec<String>> {
    let archive = zip::ZipArchive::new(zip).map_err(std::io::Error::other)?;
    Ok(archive.file_names().map(str::to_string).collect())
}

/// Writes bytes to a file through a temporary sibling, so readers never see half a file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut staged_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    staged_name.push(".part");
    let staged = path.with_file_name(staged_name);
    let mut file = std::fs::File::create(&staged)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&staged, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn csv_is_zipped_under_its_own_name() {
        let zipped = zip_csv("leads.csv", &mut "Last_Name\nBoyle\n".as_bytes()).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zipped)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut text = String::new();
        archive.by_name("leads.csv").unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "Last_Name\nBoyle\n");
    }

    #[test]
    fn paths_pick_csv_or_zip_by_extension() {
        assert!(matches!(UploadSource::path("a/leads.CSV"), UploadSource::CsvFile(_)));
        assert!(matches!(UploadSource::path("a/leads.zip"), UploadSource::ZipFile(_)));
    }

    #[test]
    fn entry_names_drop_directories() {
        assert_eq!(entry_name("dir/sub/leads.csv").unwrap(), "leads.csv");
        assert!(entry_name(" ").is_err());
    }

    #[test]
    fn uploaded_file_accepts_numeric_ids() {
        let value =
            serde_json::json!({"status":"success","details":{"file_id":4150868000005379001u64,"created_time":"t"}});
        assert_eq!(uploaded_file(&value).unwrap().file_id, "4150868000005379001");
    }
}
