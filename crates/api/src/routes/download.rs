//! `GET {download_url}`: the result zip, streamed, for the job's own org only, as
//! `application/zip` with `Content-Disposition: attachment; filename="<job_id>.zip"`. Once
//! retention expired the result file, the link answers as Zoho's download host does for an
//! expired link: 404 `RESOURCE_NOT_FOUND` with `"x-info": "Link not valid"`.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::StoreError;
use bulkwrite_wire::{ApiError, ErrorCode};
use tokio_util::io::ReaderStream;

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::PathParams;
use crate::response::json_response;
use crate::AppState;

/// What Zoho's download host says of an invalid or expired link (the SDKs' `x-info` value).
const LINK_NOT_VALID: &str = "Link not valid";

pub async fn download_result(
    State(state): State<AppState>,
    PathParams((zgid, job_id, file_name)): PathParams<(String, String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL", "ZohoCRM.bulk.READ"])?;
    let not_found = || ErrorResponse(ApiError::new(ErrorCode::ResourceNotFound));
    if OrgId::parse(&zgid) != Some(auth.0.org) {
        return Err(not_found());
    }
    let id = JobId::parse(&job_id).ok_or_else(not_found)?;
    if file_name != format!("{id}.zip") {
        return Err(not_found());
    }
    // A read job's zip is served by its own path only.
    let job = state.store.get_job(auth.0.org, id).await?.filter(|job| job.read.is_none()).ok_or_else(not_found)?;
    result_zip(&state, &job, id).await
}

/// The job's result zip, streamed as `application/zip` with `Content-Disposition: attachment;
/// filename="<job_id>.zip"` (the SDKs cut the file name out of it), for the bulk write and Bulk
/// Read download paths alike. An expired or swept result answers [`link_not_valid`].
pub(crate) async fn result_zip(state: &AppState, job: &bulkwrite_store::Job, id: JobId) -> ApiResult<Response> {
    let not_found = || ErrorResponse(ApiError::new(ErrorCode::ResourceNotFound));
    if job.result_expired_at.is_some() {
        return Ok(link_not_valid());
    }
    let key = job.result_blob.clone().ok_or_else(not_found)?;
    // The sweeper may delete the blob between the job read above and here: the link has just
    // expired, and answers so.
    let blob = match state.blobs.local(&key).await {
        Ok(blob) => blob,
        Err(StoreError::NotFound(_)) => return Ok(link_not_valid()),
        Err(other) => return Err(other.into()),
    };
    let file = match tokio::fs::File::open(blob.path()).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(link_not_valid()),
        Err(error) => return Err(ErrorResponse::from(StoreError::Io(error))),
    };
    let length = file.metadata().await.map_err(|e| ErrorResponse::from(StoreError::Io(e)))?.len();
    let stream = ReaderStream::with_capacity(file, 64 * 1024);
    let body = Body::from_stream(futures_util::StreamExt::map(stream, move |chunk| {
        // Keeps a temporary local copy (remote blob stores) alive until the body is sent.
        let _keep = &blob;
        chunk
    }));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    let disposition = format!("attachment; filename=\"{id}.zip\"");
    headers.insert(CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|_| not_found())?);
    Ok(response)
}

/// The expired link's answer: `RESOURCE_NOT_FOUND` from the wire table (404, a code every SDK
/// knows), with Zoho's download-host words as the message and as `x-info`.
pub(crate) fn link_not_valid() -> Response {
    let error = ApiError::with_message(ErrorCode::ResourceNotFound, LINK_NOT_VALID);
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::NOT_FOUND);
    let mut body = serde_json::Map::new();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(error.to_body()) {
        body = fields;
    }
    body.insert("x-info".to_string(), LINK_NOT_VALID.into());
    json_response(status, &body)
}
