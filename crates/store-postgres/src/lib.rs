//! The scale-out backend: every store trait, and a blob store, on one PostgreSQL database that
//! several stateless nodes share.
//!
//! Owns: its migrations and SQL, its connection pool, the `LISTEN`/`NOTIFY` wake-ups between
//! nodes ([`PgStore::listen`]) and the blobs kept in the database ([`PgBlobStore`]). Must not:
//! hold a transaction across anything but database calls (no HTTP, no file parsing), or keep
//! state in memory that another node would need: every node must be able to stop at any time.
//! (What it does keep, record ids reserved ahead and the jobs whose inserts met existing keys or
//! whose chunks failed as retryable, are hints whose loss costs unused ids or one slower chunk.)
//!
//! Invariants, besides those of `bulkwrite_store`:
//! - a claim is one transaction with `FOR UPDATE SKIP LOCKED`, so concurrent claimers on any
//!   number of connections never take the same job; when a per-org limit applies, claims also
//!   take a transaction-scoped advisory lock, so two claimers cannot both count the same free
//!   slot;
//! - every job write is fenced (`id`, `org`, `lease_owner`, `state = 'running'`); a fenced
//!   transaction locks the job row (`FOR KEY SHARE`), so a takeover claim skips the job until the
//!   write commits, while lease renewals are not blocked;
//! - a chunk (records, keys, result rows, counters, checkpoint) is one transaction under
//!   `READ COMMITTED`. It reads the records it may update as committed, and writes each only
//!   at the version it read (see `chunk_read::Locking`): one changed meanwhile fails the chunk
//!   as [`StoreError::Unavailable`], and the chunk, retried, and the job's later chunks lock the
//!   records they read (`FOR UPDATE`, in id order), as the records API and dry runs always do.
//!   The unique index on `unique_keys` is the final arbiter between nodes. An insert planned
//!   without looking (see `chunk::Probing`) that meets an existing key rolls back to a savepoint
//!   and is planned again with lookups, in the same transaction. A chunk that did look and still
//!   meets a key (another node inserted it after the lookup) rolls back and surfaces as
//!   [`StoreError::Unavailable`]: nothing was written, and the retried chunk (or the job resumed
//!   from its checkpoint) sees the other node's key and reports the row as `DUPLICATE_DATA`.
//!   Elsewhere a unique violation is a [`StoreError::Conflict`] (a used email, a used job id);
//! - serialization failures, deadlocks, lock timeouts, shutdowns and lost connections are
//!   [`StoreError::Unavailable`];
//! - `requeue_running_jobs` requeues the jobs claimed through this store (this node) and those
//!   whose lease has expired, never jobs another live node holds. SQLite, with one process per
//!   file, requeues every running job instead.
//!
//! Record data is stored as `json`, not `jsonb`: it keeps the document exactly as written (the
//! order of fields included, as the embedded backend does) and is cheaper to insert, while
//! `->`/`->>` still serve lookups by value. A subform row's parent id is copied into the indexed
//! `parent_id` column by the writer (an index on the JSON expression re-parsed every inserted
//! document). Other documents (specs, schemas) are only read whole, so they are `text`.
//! A chunk's records and keys go in with binary `COPY`; updates are one `UPDATE … FROM unnest`.
//! Lookups by many values (keys, ids) unnest the array and probe a unique index per value
//! (`CROSS JOIN LATERAL … LIMIT 1`) instead of `= ANY($n)`: on tables not yet analysed (a new
//! org's first import) the planner takes `org = … AND module = …` for selective, scans every key
//! of the module and filters, which made a chunk O(records); the probes keep it O(rows).
//!
//! Blobs live in PostgreSQL too: several stateless nodes must read the same uploads and result
//! files, and one database is all there is to operate and back up (no shared volume, no object
//! store). See [`PgBlobStore`].

mod aggregate;
mod blobs;
mod callbacks;
mod cancel;
mod changes;
mod chunk;
mod chunk_plan;
mod chunk_read;
mod chunk_write;
mod control;
mod copy;
mod credits;
mod details;
mod dry_run;
mod error;
mod faults;
mod health;
mod ids;
mod inbox;
mod job_row;
mod jobs;
mod key_scopes;
mod listen;
mod migrate;
mod oauth;
mod org_state;
mod orgs;
#[cfg(test)]
mod plan_checks;
mod profiles;
mod query;
mod reads;
mod record_keys;
mod records;
mod results;
mod retention;
#[cfg(feature = "scratch")]
pub mod scratch;
mod statements;
mod statistics;
mod taxes;
mod tls;
mod undo;
mod uploads;

use std::sync::Arc;
use std::time::Duration;

use bulkwrite_store::ids::FIRST_ID;
use bulkwrite_store::{StoreError, StoreResult};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};

pub use blobs::PgBlobStore;
pub use changes::JOB_CHANGES_CHANNEL;
/// The most one `CopyData` message of the store's binary `COPY`s carries (`bulkwrite bench`'s
/// hand-written baseline sends its rows in pieces of the same size).
pub use copy::PIECE as COPY_MESSAGE_BYTES;
pub(crate) use error::{pg_error, pool_error};

/// Connections a node keeps open at most.
const POOL_SIZE: usize = 16;

/// How long a call waits for a free connection before failing as unavailable.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(30);

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The channel that wakes workers when a job becomes claimable.
pub const JOBS_CHANNEL: &str = "bulkwrite_jobs";

/// The channel that wakes callback dispatchers when a delivery is queued.
pub const CALLBACKS_CHANNEL: &str = "bulkwrite_callbacks";

/// The PostgreSQL store. Cheap to clone; clones share the pool and the node identity.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    config: tokio_postgres::Config,
    tls: tls::MakeRustls,
    /// This store's identity among the nodes, recorded with its claims.
    node: String,
    /// Record ids reserved ahead and jobs known to meet existing keys.
    hints: ids::WriteHints,
    /// The key scopes this node has seen.
    scopes: key_scopes::ScopeCache,
    /// Job details reads waiting to be read together.
    details: details::DetailsQueue,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`, with `sslmode` and `sslrootcert`
    /// as libpq reads them; see `tls.rs`) and migrates the database; safe when several nodes start
    /// at once.
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        let tls::ParsedUrl { config, tls } = session_config(url)?;
        let node = new_node_id();
        let mut connect_config = config.clone();
        connect_config.connect_timeout(CONNECT_TIMEOUT);
        // Names the node's sessions, so that another node can end them once this one's lease
        // expired (see `jobs::END_STALE_SESSIONS`).
        connect_config.application_name(format!("bulkwrite-{node}"));
        let manager = Manager::from_config(
            connect_config,
            tls.clone(),
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_FOR_CONNECTION))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let mut conn = pool.get().await.map_err(pool_error)?;
        migrate::migrate(&mut conn, FIRST_ID).await?;
        drop(conn);
        Ok(PgStore {
            inner: Arc::new(Inner {
                pool,
                config,
                tls,
                node,
                hints: ids::WriteHints::default(),
                scopes: key_scopes::ScopeCache::default(),
                details: details::DetailsQueue::default(),
            }),
        })
    }

    /// This node's identity, as recorded with its claims.
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }

    /// `count` consecutive record ids; returns the first. They come from a block this node
    /// reserved ahead (see [`ids::ID_BLOCK`]), so chunks rarely touch the shared counter.
    pub(crate) async fn take_record_ids(&self, count: u64) -> StoreResult<u64> {
        if let Some(first) = self.inner.hints.take_ids(count) {
            return Ok(first);
        }
        let size = count.max(ids::ID_BLOCK);
        let conn = self.conn().await?;
        let first = orgs::reserve_ids(&conn, size).await?;
        Ok(self.inner.hints.refill(first..first + size, count))
    }

    pub(crate) fn hints(&self) -> &ids::WriteHints {
        &self.inner.hints
    }

    pub(crate) fn key_scopes(&self) -> &key_scopes::ScopeCache {
        &self.inner.scopes
    }

    /// A pooled connection.
    pub(crate) async fn conn(&self) -> StoreResult<Object> {
        self.inner.pool.get().await.map_err(pool_error)
    }
}

/// A fresh identity for this store among the nodes: 32 hex digits from the process's random
/// hasher keys, the time and the process id.
fn new_node_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut first = std::collections::hash_map::RandomState::new().build_hasher();
    first.write_u128(nanos);
    first.write_u32(std::process::id());
    let mut second = std::collections::hash_map::RandomState::new().build_hasher();
    second.write_u64(first.finish());
    format!("{:016x}{:016x}", first.finish(), second.finish())
}

/// The connection settings of the store's sessions (pool and `LISTEN`): `url` parsed, with the
/// [`session_settings`].
fn session_config(url: &str) -> StoreResult<tls::ParsedUrl> {
    let mut parsed = tls::parse_url(url)?;
    session_settings(&mut parsed.config);
    Ok(parsed)
}

/// Settings of every session the store opens, sent when it connects, before any `options` the
/// URL gives (which therefore win).
///
/// - `jit=off`: JIT compilation pays off for long analytic queries. A chunk's statements take
///   arrays of up to thousands of values, which the planner prices high enough to compile their
///   expressions: loading LLVM into each new backend and compiling took about 7% of the
///   database's CPU during a 25,000-row upsert, for statements that run in milliseconds.
/// - `idle_in_transaction_session_timeout` and `statement_timeout`: a node that hangs, is paused
///   or loses the network in the middle of a chunk would otherwise keep its transaction open, and
///   the job row locked, until TCP gives up (hours); claims skip locked rows, so nobody could take
///   the job over. The server ends such a session after [`IDLE_IN_TRANSACTION`] idle inside a
///   transaction, or [`STATEMENT_TIMEOUT`] into one statement (a `COPY` the client stopped
///   feeding included); its transaction rolls back and the job can be claimed once its lease
///   has expired. Migrations lift the statement limit for themselves.
/// - `tcp_keepalives_*` on the server's side and keepalives plus a TCP user timeout on ours: a
///   peer that vanished without closing (powered off, partitioned) is noticed within about
///   [`KEEPALIVE_IDLE`] + 3 × [`KEEPALIVE_INTERVAL`] rather than the system's two hours.
fn session_settings(config: &mut tokio_postgres::Config) {
    let given = config.get_options().unwrap_or_default();
    let options = format!(
        "-c jit=off -c idle_in_transaction_session_timeout={} -c statement_timeout={} \
         -c tcp_keepalives_idle={} -c tcp_keepalives_interval={} -c tcp_keepalives_count=3 {given}",
        IDLE_IN_TRANSACTION.as_millis(),
        STATEMENT_TIMEOUT.as_millis(),
        KEEPALIVE_IDLE.as_secs(),
        KEEPALIVE_INTERVAL.as_secs(),
    );
    config.options(options.trim_end());
    config
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(3)
        .tcp_user_timeout(KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * 3);
}

/// How long a session may sit idle inside a transaction before the server ends it.
pub const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(5);
/// How long one statement may run before the server cancels it.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle time of a connection before TCP keepalive probes start, both ways.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
/// Time between keepalive probes (three unanswered end the connection).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

pub(crate) fn json_error(error: serde_json::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

/// A stored id or counter (`BIGINT`) as the unsigned value the model uses.
pub(crate) fn unsigned(value: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

/// An unsigned id as a `BIGINT` parameter; ids are 19 digits, below 2^63.
pub(crate) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SHOW <setting>` on a session configured as the store's are.
    async fn show(url: &str, setting: &str) -> String {
        let tls::ParsedUrl { config, tls } = session_config(url).unwrap();
        let (client, connection) = config.connect(tls).await.unwrap();
        tokio::spawn(connection);
        client.query_one(&format!("SHOW {setting}"), &[]).await.unwrap().get(0)
    }

    /// The test server (the tests that need it are ignored unless build.rs saw the variable).
    fn test_database_url() -> String {
        std::env::var("BULKWRITE_TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .expect("this test needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")
    }

    #[tokio::test]
    #[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
    async fn sessions_run_without_jit_and_bounded_unless_the_url_says_otherwise() {
        let url = test_database_url();
        assert_eq!(show(&url, "jit").await, "off");
        assert_eq!(show(&url, "idle_in_transaction_session_timeout").await, "5s");
        assert_eq!(show(&url, "statement_timeout").await, "10s");
        assert_eq!(show(&url, "tcp_keepalives_idle").await, "10");
        let separator = if url.contains('?') { '&' } else { '?' };
        let asked = format!("{url}{separator}options=-c%20jit%3Don%20-c%20statement_timeout%3D3s");
        assert_eq!(show(&asked, "jit").await, "on", "the URL's own options come last and win");
        assert_eq!(show(&asked, "statement_timeout").await, "3s");
    }

    #[tokio::test]
    #[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
    async fn a_transaction_left_idle_is_ended_by_the_server() {
        let url = test_database_url();
        let separator = if url.contains('?') { '&' } else { '?' };
        let short = format!("{url}{separator}options=-c%20idle_in_transaction_session_timeout%3D300");
        let tls::ParsedUrl { config, tls } = session_config(&short).unwrap();
        let (client, connection) = config.connect(tls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute("BEGIN; SELECT 1").await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !client.is_closed() {
            assert!(std::time::Instant::now() < deadline, "the idle transaction was never ended");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[test]
    fn session_settings_come_before_the_urls_options() {
        let mut config: tokio_postgres::Config = "postgres://u@h/db".parse().unwrap();
        session_settings(&mut config);
        let ours = "-c jit=off -c idle_in_transaction_session_timeout=5000 -c statement_timeout=10000 \
                    -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3";
        assert_eq!(config.get_options(), Some(ours));
        assert_eq!(config.get_keepalives_idle(), KEEPALIVE_IDLE);
        let mut config: tokio_postgres::Config = "postgres://u@h/db?options=-c%20work_mem%3D8MB".parse().unwrap();
        session_settings(&mut config);
        assert_eq!(config.get_options(), Some(format!("{ours} -c work_mem=8MB").as_str()));
    }
}
