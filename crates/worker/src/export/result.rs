//! The export's result zip: one entry (`<job id>.csv`, or `.ics`) made of the header, then each
//! committed part streamed from its blob in order, so memory stays flat whatever the size.

use std::fs::File;
use std::io::{BufWriter, Write};

use bulkwrite_core::readspec::FileType;
use bulkwrite_store::{Job, LocalBlob, StoreError};
use zip::write::SimpleFileOptions;

use crate::WorkerContext;

/// The start and end of an ICS file around its events.
const ICS_START: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bulkwrite//Bulk Read//EN\r\n";
const ICS_END: &str = "END:VCALENDAR\r\n";

/// Writes the zip from `header` and the parts (in order) and stores it; returns its blob key.
pub(crate) async fn write_result_zip(
    ctx: &WorkerContext,
    job: &Job,
    file_type: FileType,
    header: Vec<u8>,
    parts: Vec<LocalBlob>,
) -> Result<String, StoreError> {
    let staged = tempfile::Builder::new().prefix("read-").suffix(".zip").tempfile_in(ctx.blobs.staging_dir())?;
    let (file, path) = staged.into_parts();
    let entry = format!("{}.{}", job.id, file_type.as_str());
    tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
        let mut zip = zip::ZipWriter::new(BufWriter::new(file));
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(true);
        zip.start_file(entry, options).map_err(std::io::Error::other)?;
        match file_type {
            FileType::Csv => zip.write_all(&header)?,
            FileType::Ics => zip.write_all(ICS_START.as_bytes())?,
        }
        for part in &parts {
            let mut source = File::open(part.path())?;
            std::io::copy(&mut source, &mut zip)?;
        }
        if file_type == FileType::Ics {
            zip.write_all(ICS_END.as_bytes())?;
        }
        let buffered = zip.finish().map_err(std::io::Error::other)?;
        buffered.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    })
    .await
    .map_err(|e| StoreError::Backend(Box::new(e)))??;
    let key = format!("results/{}/{}.zip", job.org, job.id);
    let kept = path.keep().map_err(|e| StoreError::Io(e.error))?;
    let stored = ctx.blobs.put_file(&key, &kept).await;
    if stored.is_err() {
        let _ = std::fs::remove_file(&kept);
    }
    stored?;
    Ok(key)
}

/// Stores one part's bytes as a blob under `key`.
pub(crate) async fn store_part(ctx: &WorkerContext, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
    let staged = tempfile::Builder::new().prefix("part-").suffix(".csv").tempfile_in(ctx.blobs.staging_dir())?;
    let (file, path) = staged.into_parts();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut writer = BufWriter::new(file);
        writer.write_all(&bytes)?;
        writer.into_inner().map_err(|e| e.into_error())?.sync_all()
    })
    .await
    .map_err(|e| StoreError::Backend(Box::new(e)))??;
    let kept = path.keep().map_err(|e| StoreError::Io(e.error))?;
    let stored = ctx.blobs.put_file(key, &kept).await;
    if stored.is_err() {
        let _ = std::fs::remove_file(&kept);
    }
    stored.map(|_| ())
}
