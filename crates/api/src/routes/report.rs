//! `GET /bulkwrite/v1/jobs/{job_id}/report?format=csv|jsonl&resource=N`: every input row of a
//! resource with all its original columns, then its `STATUS`, `RECORD_ID` and each error with its
//! column, field, cell and a sentence.
//!
//! Streamed with flat memory: the uploaded file (kept until retention expires it) is re-read
//! on a blocking thread beside the stored result rows, which an async task pages out of the
//! store a few hundred at a time; both hand over through channels of two items, and the body
//! goes out in pieces of about 64 KiB. The reasons are the ones stored when the job ran.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bulkwrite_core::ids::{FileId, JobId};
use bulkwrite_core::limits::Limits;
use bulkwrite_core::result::{push_csv_cell, ReportError, ResultRow};
use bulkwrite_core::zipfile::open_csv;
use bulkwrite_wire::rows::{error_sentence, ReportLine, REPORT_COLUMNS};
use bulkwrite_wire::{ApiError, ErrorCode};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::AppState;

/// Result rows read from the store at once.
const PAGE: u32 = 500;
/// Bytes of report handed to the body at once.
const PIECE: usize = 64 * 1024;

/// The two shapes of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Jsonl,
}

/// `GET /bulkwrite/v1/jobs/{job_id}/report`.
pub async fn get_report(
    State(state): State<AppState>,
    PathParams(job_id): PathParams<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    auth: Auth,
) -> ApiResult<Response> {
    auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL", "ZohoCRM.bulk.READ"])?;
    let not_found = || ErrorResponse(ApiError::new(ErrorCode::ResourceNotFound));
    let Query(params) = query.map_err(|_| invalid_param("the query string", "query"))?;
    let format = match params.get("format").map(String::as_str) {
        None | Some("csv") => Format::Csv,
        Some("jsonl") => Format::Jsonl,
        Some(_) => return Err(invalid_param("format must be csv or jsonl", "format")),
    };
    let id = JobId::parse(&job_id).ok_or_else(not_found)?;
    let job = state.store.get_job(auth.0.org, id).await?.ok_or_else(not_found)?;
    if job.kind() == bulkwrite_store::JobKind::Undo {
        let message = "an undo job has no full report: its result file gives every record's reason";
        return Err(ErrorResponse(ApiError::with_message(ErrorCode::InvalidRequest, message)));
    }
    let index = match params.get("resource") {
        None => 0,
        Some(text) => {
            text.parse::<usize>().map_err(|_| invalid_param("resource must be a resource index", "resource"))?
        }
    };
    let resource =
        job.spec.resources.get(index).ok_or_else(|| invalid_param("the job has no such resource", "resource"))?;
    let upload_gone = || {
        ErrorResponse(ApiError::with_message(
            ErrorCode::ResourceNotFound,
            "the uploaded file of this job has expired; the report re-reads it and cannot be made",
        ))
    };
    let file_id = FileId::parse(&resource.file_id).ok_or_else(upload_gone)?;
    let upload = state.store.get_upload(auth.0.org, file_id).await?.ok_or_else(upload_gone)?;
    if upload.expired_at.is_some() {
        return Err(upload_gone());
    }
    let blob = match state.blobs.local(&upload.blob_key).await {
        Ok(blob) => blob,
        Err(bulkwrite_store::StoreError::NotFound(_)) => return Err(upload_gone()),
        Err(other) => return Err(other.into()),
    };
    let source = Source {
        csv_name: resource.csv_name.clone(),
        encoding: job.character_encoding.clone().or_else(|| job.spec.character_encoding.clone()),
        header: resource.header.clone(),
        limits: state.config.limits,
        format,
    };
    let (page_tx, page_rx) = mpsc::channel::<Result<Vec<ResultRow>, String>>(2);
    let (out_tx, out_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let store = state.store.clone();
    let org = auth.0.org;
    tokio::spawn(async move {
        let mut after = 0;
        loop {
            let page = match store.result_rows(org, id, index, after, PAGE).await {
                Ok(page) => page,
                Err(error) => {
                    // The body is cut short with an error: the client sees a failed transfer,
                    // never a report that looks whole.
                    tracing::warn!(job = %id, error = %error.with_causes(), "report: reading result rows failed");
                    let _ = page_tx.send(Err(error.to_string())).await;
                    return;
                }
            };
            let Some(last) = page.last() else { return };
            after = last.row_no;
            if page_tx.send(Ok(page)).await.is_err() {
                return;
            }
        }
    });
    tokio::task::spawn_blocking(move || {
        let path = blob.path().to_path_buf();
        if let Err(error) = write_report(&path, &source, page_rx, &out_tx) {
            let _ = out_tx.blocking_send(Err(error));
        }
        drop(blob);
    });
    let stream = tokio_stream_of(out_rx);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::OK;
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Jsonl => ("application/x-ndjson", "jsonl"),
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"{id}-report.{extension}\"");
    headers.insert(CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|_| not_found())?);
    Ok(response)
}

/// A parameter the report cannot take: `INVALID_DATA` naming it.
fn invalid_param(message: &str, param: &str) -> ErrorResponse {
    let mut error = ApiError::with_message(ErrorCode::InvalidData, message);
    error.details.insert("param_name".into(), param.into());
    ErrorResponse(error)
}

/// The receiving half as a stream of body pieces.
fn tokio_stream_of(
    mut receiver: mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// What the blocking half needs to re-read the upload.
struct Source {
    csv_name: String,
    encoding: Option<String>,
    header: Vec<String>,
    limits: Limits,
    format: Format,
}

/// Re-reads the CSV beside the pages of result rows and sends the report in pieces.
fn write_report(
    path: &std::path::Path,
    source: &Source,
    mut pages: mpsc::Receiver<Result<Vec<ResultRow>, String>>,
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> std::io::Result<()> {
    let file = std::fs::File::open(path)?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(std::io::Error::other)?;
    let max_columns = source.limits.max_columns.max(source.header.len());
    let mut rows = open_csv(&mut archive, &source.csv_name, source.encoding.as_deref(), &source.limits, max_columns)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut buffer = Vec::with_capacity(PIECE + 4096);
    if source.format == Format::Csv {
        for (index, header) in source.header.iter().map(String::as_str).chain(REPORT_COLUMNS).enumerate() {
            if index > 0 {
                buffer.push(b',');
            }
            push_csv_cell(&mut buffer, header);
        }
        buffer.extend_from_slice(b"\r\n");
    }
    let mut record = csv::StringRecord::new();
    while let Some(page) = pages.blocking_recv() {
        for row in page.map_err(std::io::Error::other)? {
            // Advance the file to the row the result names (rows are in input order).
            while rows.rows_read() < row.row_no {
                let more = rows.read_row(&mut record).map_err(|e| std::io::Error::other(e.to_string()))?;
                if !more {
                    send(out, buffer);
                    return Ok(());
                }
            }
            let cells: Vec<&str> = (0..source.header.len()).map(|i| record.get(i).unwrap_or("")).collect();
            match source.format {
                Format::Csv => csv_line(&mut buffer, &cells, &row, &source.header),
                Format::Jsonl => jsonl_line(&mut buffer, &cells, &row, &source.header)?,
            }
            if buffer.len() >= PIECE {
                let full = std::mem::replace(&mut buffer, Vec::with_capacity(PIECE + 4096));
                if out.blocking_send(Ok(Bytes::from(full))).is_err() {
                    return Ok(());
                }
            }
        }
    }
    send(out, buffer);
    Ok(())
}

/// Hands the last piece to the body (a client that went away is no error).
fn send(out: &mpsc::Sender<Result<Bytes, std::io::Error>>, buffer: Vec<u8>) {
    if !buffer.is_empty() {
        let _ = out.blocking_send(Ok(Bytes::from(buffer)));
    }
}

/// The row's errors: as stored when the job ran, or, for chunks stored before reasons were
/// kept, from its `ERRORS` cell with each code's sentence and the column's cell.
fn reasons_of(row: &ResultRow, cells: &[&str], header: &[String]) -> Vec<ReportError> {
    let cell_of =
        |column: &str| header.iter().position(|h| h == column).map(|i| cells[i].to_string()).unwrap_or_default();
    if !row.reasons.is_empty() || row.errors.is_empty() {
        // A reason kept without its cell (a key found taken, say) shows the row's own cell.
        let mut reasons = row.reasons.clone();
        for reason in reasons.iter_mut().filter(|reason| reason.value.is_empty()) {
            reason.value = cell_of(&reason.column);
        }
        return reasons;
    }
    let mut reasons = Vec::new();
    for group in &row.errors.groups {
        for column in &group.columns {
            let value = cell_of(column);
            reasons.push(ReportError {
                code: group.code,
                column: column.clone(),
                field: String::new(),
                value,
                message: group.code.sentence().to_string(),
            });
        }
    }
    reasons
}

/// The row's record id as the report shows it: a dry run's provisional id (a record the run
/// would create) is not shown, as in its result file.
fn shown_id(row: &ResultRow) -> Option<bulkwrite_core::ids::RecordId> {
    row.record_id.filter(|id| !bulkwrite_store::dry_run::is_provisional(*id))
}

fn csv_line(buffer: &mut Vec<u8>, cells: &[&str], row: &ResultRow, header: &[String]) {
    for cell in cells {
        push_csv_cell(buffer, cell);
        buffer.push(b',');
    }
    buffer.extend_from_slice(row.status.as_str().as_bytes());
    buffer.push(b',');
    if let Some(id) = shown_id(row) {
        buffer.extend_from_slice(id.to_string().as_bytes());
    }
    buffer.push(b',');
    if !row.errors.is_empty() {
        push_csv_cell(buffer, &row.errors.to_string());
    }
    buffer.push(b',');
    let sentences: Vec<String> = reasons_of(row, cells, header).iter().map(error_sentence).collect();
    push_csv_cell(buffer, &sentences.join("\n"));
    buffer.extend_from_slice(b"\r\n");
}

fn jsonl_line(buffer: &mut Vec<u8>, cells: &[&str], row: &ResultRow, header: &[String]) -> std::io::Result<()> {
    let mut values = Map::with_capacity(header.len());
    for (name, cell) in header.iter().zip(cells) {
        values.insert(name.clone(), Value::String((*cell).to_string()));
    }
    let line = ReportLine {
        row: row.row_no,
        status: row.status,
        record_id: shown_id(row).map(|id| id.to_string()),
        values,
        errors: reasons_of(row, cells, header),
    };
    serde_json::to_writer(&mut *buffer, &line).map_err(std::io::Error::other)?;
    buffer.push(b'\n');
    Ok(())
}
