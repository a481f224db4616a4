//! The composition root: resolves configuration, opens the backend, bootstraps the first org,
//! serves the API and runs the worker and the callback dispatcher until a signal stops them.
//! It installs the log subscriber (text or JSON) and the Prometheus recorder (`telemetry`), and
//! serves through a listener that answers hyper's own refusals in Zoho's shape, with a header
//! timeout and a connection limit (`http`), and sweeps the staging directory (`staging`).
//!
//! Shutdown order on SIGINT/SIGTERM: stop accepting connections and finish in-flight requests;
//! the worker stops claiming, checkpoints the chunk in hand and releases its job; then exit.

mod backend;
mod bootstrap;
pub mod config;
mod http;
mod staging;
mod telemetry;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use bulkwrite_api::{ApiConfig, AppParts, AppState};
use bulkwrite_store::ids::IdAllocator;
use bulkwrite_worker::{
    watch_controls, CallbackConfig, CallbackDispatcher, ControlDriver, Sweeper, Wakeup, Worker, WorkerConfig,
    WorkerContext,
};
use tokio::sync::watch;

use crate::backend::Backend;

pub use config::{Config, LogFormat, ServeArgs};
pub use telemetry::init_tracing;

/// How long shutdown waits for the worker to checkpoint before exiting anyway.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Holds the data directory for this process; SQLite must not be shared by two servers.
fn lock_data_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.try_lock().map_err(|_| anyhow::anyhow!("{} is in use by another bulkwrite process", dir.display()))?;
    Ok(file)
}

/// Opens the store of a data directory (or the PostgreSQL database a URL names) for
/// administration, with the org of its first start. The server may be running: SQLite serialises
/// the writers, and PostgreSQL is shared by design.
pub async fn open_admin(
    data_dir: &Path,
    database_url: Option<&str>,
) -> anyhow::Result<(bulkwrite_api::admin::Admin, Option<bulkwrite_store::BootstrapRecord>)> {
    let database = config::database(database_url, data_dir)?;
    if let config::Database::Sqlite(path) = &database {
        if !path.exists() {
            anyhow::bail!(
                "{} has no bulkwrite database; start the server once with --data-dir {}",
                data_dir.display(),
                data_dir.display()
            );
        }
    }
    let store = Backend::open(&database, data_dir, bulkwrite_store_sqlite::SqliteSettings::default()).await?.store;
    let record = store.bootstrap_record().await?;
    let base_url = std::fs::read(data_dir.join("bootstrap.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|value| value["base_url"].as_str().map(str::to_string))
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_string());
    let ids = Arc::new(IdAllocator::new(Arc::clone(&store) as Arc<dyn bulkwrite_store::IdStore>));
    // Tokens minted here expire on the data's business time: a clock the test controls moved
    // stays moved (a store without them has no offset).
    let clock = bulkwrite_core::clock::OffsetClock::system();
    clock.set_offset_seconds(store.control_state().await?.clock_offset_seconds);
    let admin = bulkwrite_api::admin::Admin {
        store,
        ids,
        api_domain: base_url,
        access_lifetime: chrono::Duration::hours(1),
        clock: Arc::new(clock),
    };
    Ok((admin, record))
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
    let _lock = lock_data_dir(&config.data_dir)?;
    let mut backend = Backend::open(&config.database, &config.data_dir, config.sqlite).await?;
    if let Some(switch) = &config.fault_disk_full_switch {
        tracing::warn!(switch = %switch.display(), "fault seam on: blob writes fail as on a full disk while the switch file exists");
        backend.blobs =
            Arc::new(bulkwrite_store::fault::DiskFullSwitch::new(Arc::clone(&backend.blobs), switch.clone()));
    }
    let (store, blobs) = (Arc::clone(&backend.store), Arc::clone(&backend.blobs));
    staging::sweep_at_startup(blobs.staging_dir().to_path_buf()).await;
    // SQLite: every running job was this node's. PostgreSQL: only jobs whose lease has expired
    // (another node's live job is left alone).
    let requeued = store.requeue_running_jobs().await?;
    if requeued > 0 {
        tracing::info!(requeued, "jobs interrupted by the last stop are queued again");
    }
    let ids = Arc::new(IdAllocator::new(Arc::clone(&store) as Arc<dyn bulkwrite_store::IdStore>));
    let bootstrapped = bootstrap::bootstrap(store.as_ref(), &ids, &config).await?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr()?;
    let base_url = config.public_url.clone().unwrap_or_else(|| default_base_url(local));
    bootstrap::write_bootstrap_file(&config.data_dir, &bootstrapped.record, &base_url)?;
    announce(&base_url, &bootstrapped, &config.data_dir);

    let wakeup = Arc::new(Wakeup::default());
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let controls = test_controls(store.as_ref(), config.test_controls).await?;
    let worker_ctx = WorkerContext {
        store: Arc::clone(&store),
        blobs: Arc::clone(&blobs),
        config: Arc::new(worker_config(&config, &base_url)),
        wakeup: Arc::clone(&wakeup),
        controls: Arc::clone(&controls),
    };
    let listener_task = backend.listen(&wakeup);
    let mut background = Vec::new();
    if controls.enabled() {
        // Every node, whatever its role, keeps its clock and pause in step with the store.
        let watched =
            watch_controls(Arc::clone(&store), Arc::clone(&controls), Arc::clone(&wakeup), shutdown_rx.clone());
        background.push(tokio::spawn(watched));
    }
    let driver: Option<Arc<dyn bulkwrite_store::QueueDriver>> = controls.enabled().then(|| {
        let sweeper =
            Sweeper::new(Arc::clone(&store), Arc::clone(&blobs), config.retention).with_controls(Arc::clone(&controls));
        Arc::new(ControlDriver::new(worker_ctx.clone(), sweeper, shutdown_rx.clone()))
            as Arc<dyn bulkwrite_store::QueueDriver>
    });
    let sweeper = staging::spawn_periodic(blobs.staging_dir().to_path_buf(), config.staging_grace, shutdown_rx.clone());
    if config.role.runs_jobs() {
        // Every node that runs jobs sweeps; the store makes concurrent sweeps safe.
        let sweeper =
            Sweeper::new(Arc::clone(&store), Arc::clone(&blobs), config.retention).with_controls(Arc::clone(&controls));
        let shutdown = shutdown_rx.clone();
        background.push(tokio::spawn(async move { sweeper.run(shutdown).await }));
        let worker = Worker::new(worker_ctx.clone());
        let dispatcher = CallbackDispatcher::new(worker_ctx).context("building the callback client")?;
        let shutdown = shutdown_rx.clone();
        background.push(tokio::spawn(async move { worker.run(shutdown).await }));
        let shutdown = shutdown_rx.clone();
        background.push(tokio::spawn(async move { dispatcher.run(shutdown).await }));
    }
    tracing::info!(backend = backend.name(), role = ?config.role, "node started");

    let admin_key = config
        .admin_key
        .clone()
        .or_else(|| bootstrapped.record.extra.get("admin_key").and_then(|k| k.as_str()).map(str::to_string));
    let api_config = api_config(&config, &base_url, admin_key.as_deref());
    let hsts = api_config.hsts;
    let state = AppState::from(AppParts {
        store,
        blobs,
        ids,
        config: Arc::new(api_config),
        job_queued: Arc::clone(&wakeup.jobs),
        metrics: telemetry::install_metrics(),
        clock: controls.clock(),
        events: bulkwrite_api::events::EventStreams::new(Arc::clone(&wakeup.changes), config.max_event_streams),
        controls,
        driver,
        principals: bulkwrite_api::PrincipalCache::new(config.token_cache),
    });
    let app = if config.role.serves_api() { bulkwrite_api::router(state) } else { bulkwrite_api::health_router(state) };
    // Without TCP_NODELAY, small last segments of an answer wait for the peer's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // Requests hyper refuses before routing get Zoho-shaped answers too.
    let listener = bulkwrite_api::refusal::ZohoRefusals::new(listener, hsts);
    let limits = http::HttpLimits {
        header_timeout: config.http_header_timeout,
        max_connections: config.max_connections,
        body_idle_timeout: config.http_body_idle,
    };
    // Events streams end when the signal comes, or they would hold the graceful shutdown up.
    let changes = Arc::clone(&wakeup.changes);
    let stopping = async move {
        shutdown_signal().await;
        changes.close();
    };
    http::serve(listener, app, limits, stopping).await;

    tracing::info!("stopping: the worker checkpoints and releases its job");
    let _ = shutdown_tx.send(true);
    let stopped = tokio::time::timeout(SHUTDOWN_GRACE, async {
        for task in background {
            let _ = task.await;
        }
    })
    .await;
    if let Some(task) = listener_task {
        task.abort();
    }
    sweeper.abort();
    if stopped.is_err() {
        tracing::warn!("the worker did not stop in time; its job's lease will expire");
    }
    Ok(())
}

/// The node's test controls: with the switch on, business time and the pause as the store has
/// them (a watcher keeps them in step); off, the system's time and no pause, whatever the store
/// holds (said once, if it holds anything).
async fn test_controls(
    store: &dyn bulkwrite_store::Store,
    enabled: bool,
) -> anyhow::Result<Arc<bulkwrite_store::LiveControls>> {
    let controls = Arc::new(bulkwrite_store::LiveControls::new(Arc::new(bulkwrite_core::clock::SystemClock), enabled));
    let stored = store.control_state().await.context("reading the test controls")?;
    if enabled {
        controls.apply(stored);
        tracing::warn!(
            offset_seconds = stored.clock_offset_seconds,
            paused = stored.queue_paused,
            "test controls on: they answer under /bulkwrite/v1/; never in production"
        );
    } else if stored != bulkwrite_store::ControlState::default() {
        tracing::warn!(
            offset_seconds = stored.clock_offset_seconds,
            paused = stored.queue_paused,
            "the store holds a clock offset or pause of the test controls; they are off, so it is ignored"
        );
    }
    Ok(controls)
}

fn default_base_url(local: std::net::SocketAddr) -> String {
    if local.ip().is_unspecified() {
        return format!("http://127.0.0.1:{}", local.port());
    }
    format!("http://{local}")
}

fn announce(base_url: &str, bootstrapped: &bootstrap::Bootstrapped, data_dir: &Path) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "bulkwrite listening on {base_url}");
    if bootstrapped.created {
        let record = &bootstrapped.record;
        let _ = writeln!(out, "created org {} with admin {} ({})", record.org_id, record.user_name, record.user_id);
        let _ = writeln!(out, "access token: {}", record.access_token);
    }
    let _ = writeln!(out, "bootstrap values: {}", data_dir.join("bootstrap.json").display());
    let _ = out.flush();
}

fn worker_config(config: &Config, base_url: &str) -> WorkerConfig {
    WorkerConfig {
        node_id: format!("{}-{}", hostname(), std::process::id()),
        lease_duration: config.lease,
        chunk_rows: config.chunk_rows,
        insert_chunk_rows: config.insert_chunk_rows,
        chunk_bytes: config.chunk_bytes,
        limits: config.limits,
        idle_poll: std::time::Duration::from_secs(1),
        cancel_poll: bulkwrite_worker::CANCEL_POLL,
        max_running_per_org: config.max_running_per_org,
        public_url: base_url.to_string(),
        callbacks: CallbackConfig {
            policy: config.callback_policy.clone(),
            timeout: config.callback_timeout,
            max_attempts: config.callback_attempts,
            retry_base: config.callback_retry,
            concurrency: config.callback_concurrency,
        },
        transient: bulkwrite_worker::TransientConfig {
            base: config.transient_retry,
            cap: config.transient_retry_cap,
            budget: config.transient_budget,
        },
        read_part_records: config.read_part_records,
        test_controls: config.test_controls,
    }
}

fn api_config(config: &Config, base_url: &str, admin_key: Option<&str>) -> ApiConfig {
    ApiConfig {
        public_url: base_url.to_string(),
        limits: config.limits,
        callback_policy: config.callback_policy.clone(),
        hsts: base_url.starts_with("https://"),
        oauth_error_status: config.oauth_error_status,
        admin_key: admin_key.map(str::to_string),
        access_token_seconds: config.access_token_seconds,
        result_retention: config.retention.results,
        read_page_records: config.read_page_records,
        read_downloads_per_minute: config.read_downloads_per_minute,
        test_controls: config.test_controls,
        api_credits: config.api_credits,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "node".to_string())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
