//! `POST /crm/{v}/upload` (Zoho's upload file API): the zip streams to a staging file, is checked,
//! and is moved into the blob store whole; it is never held in memory. The checks read within the
//! server's [`Limits`]: the bytes sent, the zip's entry count, each CSV's uncompressed size and the
//! total, and each header row's length; each refusal names its bound in `details`.

use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bulkwrite_core::ids::{FileId, OrgId};
use bulkwrite_core::job_details::format_time;
use bulkwrite_core::limits::{Bound, Limits};
use bulkwrite_core::zipfile::{inspect_zip, looks_like_zip, CsvEntry, ZipError};
use bulkwrite_store::Upload;
use bulkwrite_wire::upload::{UploadedFile, UPLOAD_SUCCESS_CODE, UPLOAD_SUCCESS_MESSAGE};
use bulkwrite_wire::{ApiError, ErrorCode, SuccessBody};
use tokio::io::AsyncWriteExt;

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::{version, PathParams};
use crate::response::json_response;
use crate::routes::upload_guard::{guard, Tripped, MAX_PART_HEAD_BYTES};
use crate::AppState;

/// Bytes beyond the upload limit still read (and dropped) from a refused request.
const DRAIN_MARGIN: u64 = 1024 * 1024;

/// Reads and drops what is left of a request body, up to `limit` bytes.
async fn drain(body: Body, limit: u64) {
    let mut stream = body.into_data_stream();
    let mut read: u64 = 0;
    while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut stream).await {
        read += chunk.len() as u64;
        if read > limit {
            return;
        }
    }
}

/// Reads and drops the rest of a multipart body after a refused part, up to about `limit` bytes.
async fn drain_multipart(multipart: &mut Multipart, limit: u64) {
    let mut read: u64 = 0;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            read += chunk.len() as u64;
            if read > limit.saturating_add(DRAIN_MARGIN) {
                return;
            }
        }
    }
}

/// The header sentence of Zoho's upload gateway.
const HEADERS_MESSAGE: &str = "check if headers [feature, X-CRM-ORG] are present and valid";

pub async fn upload_file(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    request: Request,
) -> ApiResult<Response> {
    let (mut parts, body) = request.into_parts();
    let max = state.config.limits.max_upload_bytes;
    // Answering before the body is read makes clients that are still sending it fail with a
    // broken pipe instead of reading the error, so refused uploads are drained first.
    let checked = async {
        version(&path_version)?;
        let auth = Auth::from_request_parts(&mut parts, &state).await?;
        auth.require(&["ZohoFiles.files.ALL", "ZohoFiles.files.CREATE"])?;
        check_headers(&parts.headers, auth.0.org)?;
        Ok::<Auth, ErrorResponse>(auth)
    }
    .await;
    let auth = match checked {
        Ok(auth) => auth,
        Err(failure) => {
            drain(body, max.saturating_add(DRAIN_MARGIN)).await;
            return Err(failure);
        }
    };
    let declared =
        parts.headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max.saturating_add(DRAIN_MARGIN)) {
        return Err(too_large(state.config.limits.upload_bytes()));
    }
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    let (body, tripped) = guard(body, content_type.as_deref(), max.saturating_add(DRAIN_MARGIN));
    let multipart = Multipart::from_request(Request::from_parts(parts, body), &state).await;
    let mut multipart = multipart.map_err(|_| missing_file())?;
    let outcome = store_upload(&state, &auth, &mut multipart, max).await;
    match (outcome, tripped.get()) {
        (Err(_), Some(Tripped::TooLarge)) => Err(too_large(state.config.limits.upload_bytes())),
        (Err(_), Some(Tripped::PartHeadTooLong)) => {
            Err(ApiError::with_message(ErrorCode::LimitExceeded, "the headers of a form-data part are too long")
                .detail("limit", "bytes per form-data part's headers")
                .detail("maximum", MAX_PART_HEAD_BYTES)
                .into())
        }
        (Err(failure), None) => {
            drain_multipart(&mut multipart, max).await;
            Err(failure)
        }
        (Ok(response), _) => Ok(response),
    }
}

/// Streams the `file` part into the blob store and records the upload.
async fn store_upload(state: &AppState, auth: &Auth, multipart: &mut Multipart, max: u64) -> ApiResult<Response> {
    let created_at = state.clock.now();
    let time_zone = org_time_zone(state, auth.0.org).await?;
    let created_time = format_time(created_at, time_zone);
    loop {
        let field = multipart.next_field().await.map_err(|_| missing_file())?;
        let Some(field) = field else {
            return Err(missing_file());
        };
        if field.name() != Some("file") {
            continue;
        }
        let file_name = field.file_name().unwrap_or("upload.zip").to_string();
        let staged = stage(state, field, max).await?;
        if !looks_like_zip(&staged.prefix) {
            return Err(invalid_format(&created_time));
        }
        let entries = match inspect(staged.path.to_path_buf(), state.config.limits).await {
            Ok(entries) => entries,
            Err(InspectError::Refused(failure)) => return Err(failure),
            Err(InspectError::NotAZip) => return Err(invalid_format(&created_time)),
        };
        let file_id = FileId::new(state.ids.next_id().await?);
        let blob_key = format!("uploads/{}/{file_id}.zip", auth.0.org);
        let kept = staged.path.keep().map_err(|e| ErrorResponse::from(bulkwrite_store::StoreError::Io(e.error)))?;
        let stored = state.blobs.put_file(&blob_key, &kept).await;
        if stored.is_err() {
            let _ = std::fs::remove_file(&kept);
        }
        let size = stored?;
        let upload = Upload {
            file_id,
            org: auth.0.org,
            user: auth.0.user,
            blob_key,
            file_name,
            size,
            entries,
            created_at,
            expired_at: None,
        };
        state.store.insert_upload(upload).await?;
        crate::observe::record_upload(size);
        let body = SuccessBody::new(
            UPLOAD_SUCCESS_CODE,
            UPLOAD_SUCCESS_MESSAGE,
            UploadedFile { file_id: file_id.to_string(), created_time },
        );
        return Ok(json_response(StatusCode::OK, &body));
    }
}

fn check_headers(headers: &HeaderMap, org: OrgId) -> Result<(), ErrorResponse> {
    let feature = headers.get("feature").and_then(|v| v.to_str().ok()).map(str::trim);
    let crm_org = headers.get("x-crm-org").and_then(|v| v.to_str().ok()).map(str::trim);
    let (Some(feature), Some(crm_org)) = (feature, crm_org) else {
        let missing = if feature.is_none() { "feature" } else { "X-CRM-ORG" };
        return Err(ApiError::with_message(ErrorCode::MandatoryNotFound, HEADERS_MESSAGE)
            .detail("api_name", missing)
            .into());
    };
    if !feature.eq_ignore_ascii_case("bulk-write") {
        return Err(ApiError::new(ErrorCode::NotSupportedFeature).detail("api_name", "feature").into());
    }
    if OrgId::parse(crm_org) != Some(org) {
        return Err(ApiError::with_message(ErrorCode::InvalidData, HEADERS_MESSAGE)
            .detail("api_name", "X-CRM-ORG")
            .into());
    }
    Ok(())
}

fn missing_file() -> ErrorResponse {
    ApiError::with_message(ErrorCode::MandatoryNotFound, "the form-data part file is missing")
        .detail("api_name", "file")
        .into()
}

/// `FILE_TOO_LARGE` naming the bound that was passed.
fn too_large(bound: Bound) -> ErrorResponse {
    with_bound(ApiError::new(ErrorCode::FileTooLarge), bound)
}

/// A refusal's `details` name the bound: what it limits, its value and its setting.
fn with_bound(error: ApiError, bound: Bound) -> ErrorResponse {
    error.detail("limit", bound.what).detail("maximum", bound.maximum).detail("setting", bound.setting).into()
}

fn invalid_format(created_time: &str) -> ErrorResponse {
    ApiError::new(ErrorCode::InvalidFileFormat).detail("created_time", created_time).into()
}

async fn org_time_zone(state: &AppState, org: OrgId) -> Result<chrono_tz::Tz, ErrorResponse> {
    let org = state.store.get_org(org).await?;
    Ok(org.and_then(|o| o.time_zone.parse().ok()).unwrap_or(chrono_tz::UTC))
}

struct Staged {
    path: tempfile::TempPath,
    /// The first bytes, to recognise a zip.
    prefix: Vec<u8>,
}

/// Streams a part to a staging file, refusing it once it passes `max` bytes.
async fn stage(state: &AppState, mut field: Field<'_>, max: u64) -> Result<Staged, ErrorResponse> {
    let io = |e: std::io::Error| ErrorResponse::from(bulkwrite_store::StoreError::Io(e));
    let temp =
        tempfile::Builder::new().prefix("upload-").suffix(".zip").tempfile_in(state.blobs.staging_dir()).map_err(io)?;
    let (file, path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut written: u64 = 0;
    let mut prefix = Vec::with_capacity(4);
    while let Some(chunk) = field.chunk().await.map_err(|_| missing_file())? {
        written += chunk.len() as u64;
        if written > max {
            return Err(too_large(state.config.limits.upload_bytes()));
        }
        if prefix.len() < 4 {
            let take = (4 - prefix.len()).min(chunk.len());
            prefix.extend_from_slice(&chunk[..take]);
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    drop(file);
    Ok(Staged { path, prefix })
}

/// Why a staged upload is refused.
enum InspectError {
    NotAZip,
    /// A bound was passed: the answer names it.
    Refused(ErrorResponse),
}

/// The CSV entries of a staged zip, read within `limits`.
async fn inspect(path: std::path::PathBuf, limits: Limits) -> Result<Vec<CsvEntry>, InspectError> {
    let inspected = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(path)?;
        inspect_zip(std::io::BufReader::new(file), &limits)
    })
    .await;
    match inspected {
        Ok(Ok(entries)) => Ok(entries),
        Ok(Err(ZipError::TooLarge(bound))) if bound.setting == limits.zip_entries().setting => {
            let error = ApiError::with_message(ErrorCode::LimitExceeded, "the zip holds too many files");
            Err(InspectError::Refused(with_bound(error, bound)))
        }
        Ok(Err(ZipError::TooLarge(bound))) => Err(InspectError::Refused(too_large(bound))),
        Ok(Err(ZipError::HeaderTooLong { name, bound })) => {
            let error =
                ApiError::with_message(ErrorCode::HeaderLimitExceeded, format!("the header row of {name} is too long"));
            Err(InspectError::Refused(with_bound(error, bound)))
        }
        Ok(Err(ZipError::NotAZip(_) | ZipError::Io(_))) | Err(_) => Err(InspectError::NotAZip),
    }
}
