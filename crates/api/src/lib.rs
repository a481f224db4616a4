//! The HTTP API: Zoho's paths with Zoho's shapes, errors and statuses, plus `/healthz`,
//! `/readyz` and `/metrics`, and the browser dashboard at `/bulkwrite/ui/` ([`ui`]).
//!
//! Owns: routing, extractors (auth, paths, bodies) whose rejections are Zoho-shaped, the mapping
//! of errors through the wire table, the request id and the HTTP metrics ([`observe`]), and the
//! Zoho-shaped answers to requests hyper refuses before routing ([`refusal`]), the fault
//! rules of the test controls with their HTTP layer ([`faults`]), and the metering of
//! Zoho's API credits and concurrency limits ([`credits`]). Must not: depend
//! on a database driver, so no SQL can creep into a handler; handlers call the store traits and
//! core's rules. Storage failures answer 500 `INTERNAL_ERROR` with no internal text; the cause is
//! logged once, on the request's span (its request id).

pub mod admin;
mod auth;
mod coql;
pub mod credits;
mod error;
pub mod events;
pub mod faults;
mod metadata;
pub mod oauth;
pub mod observe;
mod paths;
pub mod reads;
mod record_render;
pub mod refusal;
mod response;
mod routes;
pub mod ui;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use bulkwrite_core::callback_url::CallbackPolicy;
use bulkwrite_core::clock::Clock;
use bulkwrite_core::limits::Limits;
use bulkwrite_store::ids::IdAllocator;
use bulkwrite_store::{BlobStore, LiveControls, QueueDriver, Store};
use tokio::sync::Notify;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;

pub use auth::{scope_covers, PrincipalCache, ALL_SCOPES, DEFAULT_TOKEN_CACHE, TEST_CONTROLS_SCOPE};

/// API settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base of absolute URLs we hand out (`result.download_url`).
    pub public_url: String,
    /// Every bound on client input: upload size, zip entries, uncompressed bytes, header, columns.
    pub limits: Limits,
    /// Which callback URLs a job may name (checked at creation).
    pub callback_policy: CallbackPolicy,
    /// Send `Strict-Transport-Security` (when served over TLS).
    pub hsts: bool,
    /// HTTP status of token-endpoint errors: 200 as Zoho sends them, or 400 as RFC 6749 says.
    pub oauth_error_status: u16,
    /// The credential of `/bulkwrite/v1/admin/`; admin routes refuse everything without one.
    pub admin_key: Option<String>,
    /// Lifetime of minted access tokens in seconds (Zoho: 3600).
    pub access_token_seconds: u64,
    /// How long a finished job's result file is kept (shown as `result_expires_at` in our
    /// own job view; the sweeper does the expiring).
    pub result_retention: std::time::Duration,
    /// Records a Bulk Read page holds (Zoho: 200,000); tests lower it to page small exports.
    pub read_page_records: u32,
    /// Bulk Read downloads one user may start in a minute (Zoho: 10); a setting so a
    /// self-hosted deployment can raise it.
    pub read_downloads_per_minute: u32,
    /// Whether the test controls answer (`--test-controls`); off, their paths are Zoho's 404.
    pub test_controls: bool,
    /// The plan that meters every org without one of its own (`--api-credits`); `None`: only
    /// orgs given a plan are metered (see [`credits`]).
    pub api_credits: Option<bulkwrite_core::credits::CreditPlan>,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            public_url: "http://127.0.0.1:8080".to_string(),
            limits: Limits::default(),
            callback_policy: CallbackPolicy::default(),
            hsts: false,
            oauth_error_status: 200,
            admin_key: None,
            access_token_seconds: 3600,
            result_retention: std::time::Duration::from_secs(7 * 24 * 3600),
            read_page_records: bulkwrite_wire::read::RECORDS_PER_PAGE,
            read_downloads_per_minute: reads::limit::DOWNLOADS_PER_MINUTE,
            test_controls: false,
            api_credits: None,
        }
    }
}

/// What handlers share: one `Arc`, so that the clone axum makes for every layer and extractor
/// of every request is one counter increment (cloning each of the parts' own `Arc`s was a tenth
/// of the server's time on a stream of job polls, docs/PERFORMANCE.md).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct AppParts {
    /// Orgs, users, tokens, uploads, jobs and records.
    pub store: Arc<dyn Store>,
    /// Upload and result zips.
    pub blobs: Arc<dyn BlobStore>,
    /// Where new ids come from.
    pub ids: Arc<IdAllocator>,
    /// The API's settings.
    pub config: Arc<ApiConfig>,
    /// Woken when a job is queued.
    pub job_queued: Arc<Notify>,
    /// Renders `/metrics`; `None` when no recorder is installed (the page is then empty).
    pub metrics: Option<Arc<dyn observe::MetricsExporter>>,
    /// The time handlers read: token and grant expiry, page tokens, creation times.
    pub clock: Arc<dyn Clock>,
    /// The node's job changes and the cap on events streams (`/bulkwrite/v1/jobs/{id}/events`).
    pub events: events::EventStreams,
    /// The node's test controls (`--test-controls`): business time, which `clock` must be, and
    /// the pause as this node last saw it.
    pub controls: Arc<LiveControls>,
    /// Runs a step of the queue and follows clock moves on this node's worker; `None` where no
    /// worker is wired (the stepping controls then refuse).
    pub driver: Option<Arc<dyn QueueDriver>>,
    /// Recently seen tokens' principals (`--token-cache-ms`; see [`PrincipalCache`]).
    pub principals: PrincipalCache,
}

/// The HTTP surface of a worker-only node: `/healthz`, `/readyz` and `/metrics`, everything else
/// `INVALID_URL_PATTERN`.
pub fn health_router(state: AppState) -> Router {
    let hsts = state.config.hsts;
    let router = Router::new()
        .route("/healthz", get(routes::health::health))
        .route("/readyz", get(routes::observe::ready))
        .route("/metrics", get(routes::observe::get_metrics))
        .fallback(routes::fallback::not_found)
        .method_not_allowed_fallback(routes::fallback::method_not_allowed);
    with_common_layers(router, hsts).with_state(state)
}

/// What every answer passes through, innermost first: errors without a JSON body get Zoho's,
/// the answer is counted by route, compressed, given the recorded headers, and (outermost) the
/// request gets its id and span.
fn with_common_layers(router: Router<AppState>, hsts: bool) -> Router<AppState> {
    let compress_when = DefaultPredicate::new().and(NotForContentType::new("application/zip"));
    router
        .layer(axum::middleware::from_fn(observe::zoho_shaped_errors))
        .layer(axum::middleware::from_fn(observe::count_requests))
        .layer(CompressionLayer::new().gzip(true).compress_when(compress_when))
        .layer(axum::middleware::from_fn(move |request, next| response::recorded_headers(hsts, request, next)))
        .layer(axum::middleware::from_fn(observe::request_context))
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let hsts = state.config.hsts;
    let router = Router::new()
        .route("/healthz", get(routes::health::health))
        .route("/readyz", get(routes::observe::ready))
        .route("/metrics", get(routes::observe::get_metrics))
        .route("/oauth/v2/token", post(routes::oauth::issue_token))
        .route("/oauth/v2/token/revoke", post(routes::oauth::revoke_token))
        .route("/oauth/v2/auth", get(routes::oauth::authorize_page).post(routes::oauth::authorize_decision))
        .route("/crm/{version}/upload", post(routes::upload::upload_file).layer(DefaultBodyLimit::disable()))
        .route("/crm/bulk/{version}/write", post(routes::jobs::create_job))
        .route("/crm/bulk/{version}/write/{job_id}", get(routes::jobs::get_job))
        .route("/v2/crm/{zgid}/bulk-write/{job_id}/{file_name}", get(routes::download::download_result))
        .route("/crm/bulk/{version}/read", post(routes::reads::create_read_job))
        .route("/crm/bulk/{version}/read/{job_id}", get(routes::reads::get_read_job))
        .route("/crm/bulk/{version}/read/{job_id}/result", get(routes::reads::download_read_result))
        .route("/crm/{version}/settings/custom_views", get(routes::reads::get_custom_views))
        .route("/crm/{version}/org", get(routes::metadata::get_org))
        .route("/crm/{version}/users", get(routes::metadata::get_users))
        .route("/crm/{version}/users/{user_id}", get(routes::metadata::get_user))
        .route("/crm/{version}/settings/modules", get(routes::metadata::get_modules))
        .route("/crm/{version}/settings/modules/{api_name}", get(routes::metadata::get_module))
        .route("/crm/{version}/settings/fields", get(routes::metadata::get_fields))
        .route("/crm/{version}/settings/fields/{field_id}", get(routes::metadata::get_field))
        .route("/crm/{version}/coql", post(routes::coql::coql))
        .route("/crm/{version}/settings/layouts", get(routes::metadata::get_layouts))
        .route("/crm/{version}/settings/profiles", get(routes::profiles::get_profiles))
        .route("/crm/{version}/settings/profiles/{profile_id}", get(routes::profiles::get_profile))
        .route("/crm/{version}/settings/roles", get(routes::profiles::get_roles))
        .route("/crm/{version}/org/taxes", get(routes::taxes::get_taxes))
        .route("/crm/{version}/org/taxes/{tax_id}", get(routes::taxes::get_tax))
        .route(
            "/crm/{version}/{module}",
            get(routes::records_read::list_records)
                .post(routes::records_write::insert_records)
                .put(routes::records_write::update_records)
                .delete(routes::records_write::delete_records),
        )
        .route("/crm/{version}/{module}/upsert", post(routes::records_write::upsert_records))
        .route("/crm/{version}/{module}/search", get(routes::search::search_records))
        .route("/crm/{version}/{module}/actions/count", get(routes::records_write::count_records))
        .route(
            "/crm/{version}/{module}/{record_id}",
            get(routes::records_read::get_record)
                .put(routes::records_write::update_record)
                .delete(routes::records_write::delete_record),
        )
        .route("/bulkwrite/v1/dry-runs", post(routes::jobs::create_dry_run))
        .route("/bulkwrite/v1/jobs", get(routes::job_control::list_jobs))
        .route("/bulkwrite/v1/events", get(routes::org_events::org_events))
        .route("/bulkwrite/v1/lint", post(routes::lint::lint_job))
        .route("/bulkwrite/v1/jobs/{job_id}", get(routes::extensions::get_job_state))
        .route("/bulkwrite/v1/jobs/{job_id}/events", get(routes::events::job_events))
        .route("/bulkwrite/v1/jobs/{job_id}/cancel", post(routes::job_control::cancel_job))
        .route("/bulkwrite/v1/jobs/{job_id}/undo", post(routes::undo::undo_job))
        .route("/bulkwrite/v1/jobs/{job_id}/callback", get(routes::extensions::get_callback_report))
        .route("/bulkwrite/v1/jobs/{job_id}/report", get(routes::report::get_report))
        .route(
            "/bulkwrite/v1/clock",
            get(routes::test_controls::clock::get_clock).post(routes::test_controls::clock::move_clock),
        )
        .route("/bulkwrite/v1/queue", get(routes::test_controls::queue::get_queue))
        .route("/bulkwrite/v1/queue/pause", post(routes::test_controls::queue::pause_queue))
        .route("/bulkwrite/v1/queue/resume", post(routes::test_controls::queue::resume_queue))
        .route("/bulkwrite/v1/queue/step", post(routes::test_controls::queue::step_queue))
        .route(
            "/bulkwrite/v1/faults",
            post(routes::test_controls::faults::add_fault)
                .get(routes::test_controls::faults::list_faults)
                .delete(routes::test_controls::faults::clear_faults),
        )
        .route("/bulkwrite/v1/faults/{fault_id}", delete(routes::test_controls::faults::remove_fault))
        .route("/bulkwrite/v1/jobs/{job_id}/callback/replay", post(routes::test_controls::inbox::replay_callback))
        .route(
            "/bulkwrite/v1/inbox/{name}",
            post(routes::test_controls::inbox::post_inbox)
                .get(routes::test_controls::inbox::get_inbox)
                .delete(routes::test_controls::inbox::clear_inbox),
        )
        .route("/bulkwrite/v1/orgs/{org}/reset", post(routes::test_controls::org_state::reset_org))
        .route(
            "/bulkwrite/v1/orgs/{org}/snapshots",
            post(routes::test_controls::org_state::create_snapshot)
                .get(routes::test_controls::org_state::list_snapshots),
        )
        .route("/bulkwrite/v1/orgs/{org}/snapshots/{name}", delete(routes::test_controls::org_state::delete_snapshot))
        .route(
            "/bulkwrite/v1/orgs/{org}/snapshots/{name}/restore",
            post(routes::test_controls::org_state::restore_snapshot),
        )
        .route("/bulkwrite/v1/admin/orgs", get(routes::admin::list_orgs).post(routes::admin::create_org))
        .route("/bulkwrite/v1/admin/orgs/{org}/users", post(routes::admin::create_user))
        .route("/bulkwrite/v1/admin/orgs/{org}/users/{user}/password", put(routes::admin::set_password))
        .route("/bulkwrite/v1/admin/orgs/{org}/clients", post(routes::admin::create_client))
        .route("/bulkwrite/v1/admin/orgs/{org}/tokens", post(routes::admin::create_token))
        .route("/bulkwrite/v1/admin/orgs/{org}/grants", post(routes::admin::create_grant))
        .route("/bulkwrite/v1/admin/orgs/{org}/modules", post(routes::admin::add_module))
        .route("/bulkwrite/v1/admin/orgs/{org}/fields", post(routes::admin::add_field))
        .route("/bulkwrite/v1/admin/orgs/{org}/layouts", post(routes::admin::add_layout))
        .route("/bulkwrite/v1/admin/orgs/{org}/schema", put(routes::admin::mirror_schema))
        .route(
            "/bulkwrite/v1/admin/orgs/{org}/profiles",
            get(routes::admin::profiles::list)
                .post(routes::admin::profiles::create)
                .put(routes::admin::profiles::mirror),
        )
        .route(
            "/bulkwrite/v1/admin/orgs/{org}/profiles/{profile}/modules/{module}",
            put(routes::admin::profiles::module),
        )
        .route(
            "/bulkwrite/v1/admin/orgs/{org}/profiles/{profile}/fields/{module}/{field}",
            put(routes::admin::profiles::field),
        )
        .route("/bulkwrite/v1/admin/orgs/{org}/users/{user}/profile", put(routes::admin::profiles::assign))
        .route(
            "/bulkwrite/v1/admin/orgs/{org}/taxes",
            get(routes::admin_taxes::list_taxes).put(routes::admin_taxes::put_taxes),
        )
        .route("/bulkwrite/v1/admin/orgs/{org}/taxes/{tax_id}", delete(routes::admin_taxes::delete_tax))
        .route(
            "/bulkwrite/v1/orgs/{org}/credits",
            get(routes::credits::get_credits).put(routes::credits::put_credits).delete(routes::credits::delete_credits),
        )
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), credits::meter))
        .merge(ui::routes())
        .fallback(routes::fallback::not_found)
        .method_not_allowed_fallback(routes::fallback::method_not_allowed)
        // Innermost: a faulted answer still gets the request id, the recorded headers and a count.
        .layer(axum::middleware::from_fn_with_state(state.clone(), faults::inject::http_faults))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::forget_principals_after_changes));
    with_common_layers(router, hsts).with_state(state)
}
