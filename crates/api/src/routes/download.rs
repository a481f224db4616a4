//! `GET {download_url}`: the result zip, streamed, for the job's own org only (spec §5).

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_wire::{ApiError, ErrorCode};
use tokio_util::io::ReaderStream;

use crate::auth::Auth;
use crate::error::{ApiResult, Failure};
use crate::paths::ZPath;
use crate::AppState;

pub async fn download_result(
    State(state): State<AppState>,
    ZPath((zgid, job_id, file_name)): ZPath<(String, String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL", "ZohoCRM.bulk.READ"])?;
    let not_found = || Failure(ApiError::new(ErrorCode::ResourceNotFound));
    if OrgId::parse(&zgid) != Some(auth.0.org) {
        return Err(not_found());
    }
    let id = JobId::parse(&job_id).ok_or_else(not_found)?;
    if file_name != format!("{id}.zip") {
        return Err(not_found());
    }
    let job = state.store.get_job(auth.0.org, id).await?.ok_or_else(not_found)?;
    let key = job.result_blob.ok_or_else(not_found)?;
    let blob = state.blobs.local(&key).await?;
    let file =
        tokio::fs::File::open(blob.path()).await.map_err(|e| Failure::from(bulkwrite_store::StoreError::Io(e)))?;
    let length = file.metadata().await.map_err(|e| Failure::from(bulkwrite_store::StoreError::Io(e)))?.len();
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
