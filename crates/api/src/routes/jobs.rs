//! `POST /crm/bulk/{v}/write` and `GET /crm/bulk/{v}/write/{job_id}`: create a bulk write
//! job and read its details, in Zoho's shapes for the path's version.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bulkwrite_core::callback_url::{own_inbox, refused};
use bulkwrite_core::ids::{FileId, JobId};
use bulkwrite_core::jobspec::{parse_body, validate, JobSpec, ValidationContext};
use bulkwrite_core::schema::OrgSchema;
use bulkwrite_core::version::ApiVersion;
use bulkwrite_core::zipfile::CsvEntry;
use bulkwrite_store::{NewJob, StoreError};
use bulkwrite_wire::{ApiError, CreateJobRequest, CreatedJob, ErrorCode, Operation, SuccessBody, UserRef};

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorResponse};
use crate::paths::{version, PathParams};
use crate::response::json_response;
use crate::AppState;

/// How long job creation waits for DNS before accepting a callback host it cannot resolve yet.
const CALLBACK_DNS_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) const BULK_WRITE_SCOPES: &[&str] = &["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL"];

/// `POST /crm/bulk/{v}/write`: validates the request and queues the job.
pub async fn create_job(
    State(state): State<AppState>,
    PathParams(path_version): PathParams<String>,
    auth: Auth,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    create(&state, api_version, &auth, body, false).await
}

/// `POST /bulkwrite/v1/dry-runs?version=v2.1`: Zoho's create body, validated and answered
/// exactly like `POST /crm/bulk/{v}/write`, queued as a dry run: the job runs every check and
/// writes no records (see README, "Dry runs"). `version` (default `v8`) is the path version the
/// real job would be created through; it decides the callback's shape.
pub async fn create_dry_run(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let Query(params) = query.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::InvalidUrlPattern)))?;
    let api_version = match params.get("version") {
        Some(text) => version(text)?,
        None => ApiVersion::V8,
    };
    create(&state, api_version, &auth, body, true).await
}

async fn create(
    state: &AppState,
    api_version: ApiVersion,
    auth: &Auth,
    body: Result<Bytes, BytesRejection>,
    dry_run: bool,
) -> ApiResult<Response> {
    auth.require(BULK_WRITE_SCOPES)?;
    let body = body.map_err(|_| ErrorResponse(ApiError::new(ErrorCode::RequestBodyNotSupported)))?;
    let request = parse_body(&body)?;
    refuse_without_permission(state, auth, &request).await?;
    let org = auth.0.org;
    let mut spec = check_request(state, auth, &request).await?.spec?;
    spec.dry_run = dry_run;
    for resource in &request.resource {
        let module = resource.module.api_name().to_ascii_lowercase();
        auth.require(&[
            "ZohoCRM.modules.ALL",
            &format!("ZohoCRM.modules.{module}.CREATE"),
            &format!("ZohoCRM.modules.{module}.ALL"),
        ])?;
    }
    let id = JobId::new(state.ids.next_id().await?);
    let job = NewJob {
        id,
        org,
        created_by: auth.0.user,
        api_version: api_version.as_str().to_string(),
        spec,
        created_at: state.clock.now(),
    };
    match state.store.create_job(job).await {
        Ok(()) => crate::observe::record_job_created(),
        // Retention expired the upload after it was checked above: the same answer as then.
        Err(StoreError::Expired(_)) => return Err(ErrorResponse(ApiError::new(ErrorCode::FileNotFound))),
        Err(other) => return Err(other.into()),
    }
    state.job_queued.notify_one();
    state.events.announce(state.store.as_ref(), id).await;
    let name = creator_name(state, auth).await?;
    let details = CreatedJob { id: id.to_string(), created_by: UserRef { id: auth.0.user.to_string(), name } };
    Ok(json_response(StatusCode::CREATED, &SuccessBody::new("SUCCESS", "success", details)))
}

pub async fn get_job(
    State(state): State<AppState>,
    PathParams((path_version, job_id)): PathParams<(String, String)>,
    auth: Auth,
) -> ApiResult<Response> {
    let api_version = version(&path_version)?;
    auth.require(&["ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL", "ZohoCRM.bulk.READ"])?;
    let not_found = || ErrorResponse(ApiError::new(ErrorCode::ResourceNotFound));
    let id = JobId::parse(&job_id).ok_or_else(not_found)?;
    // A read job is no bulk write job (it has its own path), nor is an undo (ours: /bulkwrite/v1/jobs/{id}).
    // One store read: the job with its org and its creator's name.
    let found = state
        .store
        .get_job_details(auth.0.org, id)
        .await?
        .filter(|found| found.job.kind() == bulkwrite_store::JobKind::Write)
        .ok_or_else(not_found)?;
    let creator = found.creator_name.unwrap_or_default();
    let details = found.job.details(&found.org, creator, &state.config.public_url, api_version);
    Ok(json_response(StatusCode::OK, &details))
}

/// What checking a create body found: the org's schema, the CSV entries of the uploads it
/// names, and the validated job or the refusal a create call would answer with.
pub(crate) struct CheckedRequest {
    /// The org's schema, as validated against (every field: a field the caller's profile
    /// makes read-only or hides may be mapped; its rows fail, see `access::mark_denied`).
    pub schema: OrgSchema,
    /// The caller's profile's permissions.
    pub perms: bulkwrite_core::perms::ProfilePerms,
    /// The CSV entries of the org's uploads the body names, by `file_id`.
    pub files: HashMap<String, Vec<CsvEntry>>,
    /// The job, or why a create call would refuse it (the first failure, in Zoho's order).
    pub spec: Result<JobSpec, ApiError>,
}

/// Checks a parsed create body as a create call does (the callback URL, then the org's schema
/// and uploads; then notes the mapped fields the caller's profile may not edit); only a storage
/// failure is an error here.
pub(crate) async fn check_request(
    state: &AppState,
    auth: &Auth,
    request: &CreateJobRequest,
) -> Result<CheckedRequest, ErrorResponse> {
    let schema = state.store.org_schema(auth.0.org).await?;
    let perms = crate::metadata::access::user_perms(state.store.as_ref(), auth.0.org, auth.0.user).await?;
    let (files, expired_files) = uploaded_files(state, auth, request).await?;
    if let Some(callback) = &request.callback {
        if let Err(ErrorResponse(refusal)) = check_callback(state, &callback.url).await {
            return Ok(CheckedRequest { schema, perms, files, spec: Err(refusal) });
        }
    }
    let ctx = ValidationContext {
        schema: &schema,
        files: &files,
        expired_files: &expired_files,
        limits: state.config.limits,
    };
    let spec = validate(request, &ctx).map(|mut spec| {
        crate::metadata::access::mark_denied(&mut spec, &perms);
        spec
    });
    Ok(CheckedRequest { schema, perms, files, spec })
}

/// Refuses callback URLs that are not safe to call; a host that does not resolve yet is fine.
/// With the test controls on, the server's own inbox (`{public_url}/bulkwrite/v1/inbox/{name}`)
/// is a target without an allow-list entry: the dispatcher stores such deliveries itself.
pub(crate) async fn check_callback(state: &AppState, url: &str) -> Result<(), ErrorResponse> {
    if state.config.test_controls && own_inbox(url, &state.config.public_url).is_some() {
        return Ok(());
    }
    let policy = &state.config.callback_policy;
    let target = policy.check_url(url)?;
    if target.literal.is_some() || target.host_allowed {
        return Ok(());
    }
    let lookup =
        tokio::time::timeout(CALLBACK_DNS_TIMEOUT, tokio::net::lookup_host((target.host.as_str(), target.port))).await;
    let Ok(Ok(addresses)) = lookup else {
        return Ok(());
    };
    for address in addresses {
        if !policy.address_allowed(&target, address.ip()) {
            return Err(refused(url).into());
        }
    }
    Ok(())
}

/// What validation needs of the uploads the request names.
type NamedUploads = (HashMap<String, Vec<CsvEntry>>, HashSet<String>);

/// The CSV entries of the org's uploads that the request names, and the ids of those that
/// retention expired.
async fn uploaded_files(
    state: &AppState,
    auth: &Auth,
    request: &CreateJobRequest,
) -> Result<NamedUploads, ErrorResponse> {
    let mut files = HashMap::new();
    let mut expired = HashSet::new();
    for resource in &request.resource {
        let Some(file_id) = FileId::parse(&resource.file_id) else {
            continue;
        };
        if files.contains_key(&resource.file_id) {
            continue;
        }
        match state.store.get_upload(auth.0.org, file_id).await? {
            Some(upload) if upload.expired_at.is_some() => {
                expired.insert(resource.file_id.clone());
            }
            Some(upload) => {
                files.insert(resource.file_id.clone(), upload.entries);
            }
            None => {}
        }
    }
    Ok((files, expired))
}

async fn creator_name(state: &AppState, auth: &Auth) -> Result<String, ErrorResponse> {
    let user = state.store.get_user(auth.0.org, auth.0.user).await?;
    Ok(user.map(|u| u.full_name()).unwrap_or_default())
}

/// Zoho's `NO_PERMISSION` when the caller's profile may not create (insert), edit (update) or
/// both (upsert) in a resource's module.
async fn refuse_without_permission(state: &AppState, auth: &Auth, request: &CreateJobRequest) -> ApiResult<()> {
    use bulkwrite_core::perms::ModuleAction;
    let perms = crate::metadata::access::user_perms(state.store.as_ref(), auth.0.org, auth.0.user).await?;
    let needed: &[ModuleAction] = match request.operation {
        Operation::Insert => &[ModuleAction::Create],
        Operation::Update => &[ModuleAction::Edit],
        Operation::Upsert => &[ModuleAction::Create, ModuleAction::Edit],
    };
    for resource in &request.resource {
        let module = resource.module.api_name();
        if let Some(action) = needed.iter().find(|action| !perms.allows(module, **action)) {
            return Err(ErrorResponse(crate::metadata::access::no_permission(*action, module)));
        }
    }
    Ok(())
}
