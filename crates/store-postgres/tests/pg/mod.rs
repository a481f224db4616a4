//! Fresh databases for tests, and the PostgreSQL-only cases.

mod blobs;
mod chunks;
mod details;
mod in_flight;
mod queue;
mod retention;
mod tls;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bulkwrite_store::Store;
use bulkwrite_store_postgres::{scratch, PgStore};

/// Test databases are named `bw_<unix seconds>_<random>`; those older than this are dropped.
const STALE_AFTER_SECS: u64 = 3600;

/// The test server's URL. The tests that call this are ignored unless the build saw
/// `BULKWRITE_TEST_DATABASE_URL` (the `pg_tests` cfg that build.rs sets); one run anyway
/// without it fails rather than passing untested.
pub fn database_url() -> String {
    std::env::var("BULKWRITE_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .expect("this test needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")
}

/// A store on a new, empty database, for the shared conformance cases: when the case ends
/// (without a failure of its own), every record's `keys` must be the keys `unique_keys` gives it,
/// and every key's record must exist (see [`KeysInStep`]).
pub async fn checked_store(url: String) -> (Arc<dyn Store>, KeysInStep) {
    let (database_url, store) = fresh_pg_store(&url).await;
    (Arc::new(store), KeysInStep(database_url))
}

/// Checks, when dropped, that the database's records and unique keys agree (migration 0021 keeps
/// a record's keys beside it: every write that changes one changes the other).
pub struct KeysInStep(String);

/// Records whose `keys` are not the keys `unique_keys` gives them, and keys whose record is gone.
const KEYS_OUT_OF_STEP: &str = "SELECT
     (SELECT count(*) FROM records r WHERE r.keys::jsonb IS DISTINCT FROM (
          SELECT jsonb_agg(jsonb_build_array(s.field, u.value) ORDER BY s.field COLLATE \"C\", u.value COLLATE \"C\")
          FROM unique_keys u JOIN key_scopes s ON s.id = u.scope WHERE u.record_id = r.id)),
     (SELECT count(*) FROM unique_keys u WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = u.record_id))";

impl Drop for KeysInStep {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let url = self.0.clone();
        let counts = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let row = admin(&url).await.query_one(KEYS_OUT_OF_STEP, &[]).await.expect("check the keys");
                (row.get::<_, i64>(0), row.get::<_, i64>(1))
            })
        })
        .join()
        .expect("the keys' check");
        assert_eq!(counts, (0, 0), "records whose keys differ from unique_keys', and keys without a record");
    }
}

/// A store on a new, empty database.
pub async fn fresh_store(url: String) -> Arc<dyn Store> {
    Arc::new(fresh_pg_store(&url).await.1)
}

/// A new database's URL and a store on it.
pub async fn fresh_pg_store(url: &str) -> (String, PgStore) {
    let database_url = fresh_database(url).await;
    let store = PgStore::connect(&database_url).await.expect("connect and migrate");
    (database_url, store)
}

/// Creates a database on the server of `url`; returns its URL.
pub async fn fresh_database(url: &str) -> String {
    let client = admin(url).await;
    drop_stale_databases(&client).await;
    let row = client.query_one("SELECT replace(gen_random_uuid()::text, '-', '')", &[]).await.expect("random name");
    let random: String = row.get(0);
    let name = format!("bw_{}_{}", unix_seconds(), &random[..16]);
    scratch::create(url, &name).await.expect("create test database")
}

/// A plain connection (for SQL that no store method runs).
pub async fn admin(url: &str) -> tokio_postgres::Client {
    scratch::client(url).await.expect("connect to the test server")
}

async fn drop_stale_databases(client: &tokio_postgres::Client) {
    let Ok(rows) = client.query("SELECT datname FROM pg_database WHERE datname LIKE 'bw\\_%'", &[]).await else {
        return;
    };
    let now = unix_seconds();
    for row in rows {
        let name: String = row.get(0);
        let created = name.split('_').nth(1).and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| secs + STALE_AFTER_SECS < now) {
            // Another test process may be dropping it too: errors are fine.
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_migrate_once() {
    let url = database_url();
    let database = fresh_database(&url).await;
    let mut starts = Vec::new();
    for _ in 0..4 {
        let database = database.clone();
        starts.push(tokio::spawn(async move { PgStore::connect(&database).await.map(|_| ()) }));
    }
    for start in starts {
        start.await.unwrap().expect("every node starts");
    }
    let client = admin(&database).await;
    let row = client.query_one("SELECT COUNT(*), MAX(version) FROM schema_migrations", &[]).await.unwrap();
    let (count, version): (i64, i32) = (row.get(0), row.get(1));
    assert_eq!(count, i64::from(version), "each migration applied once");
    let row = client.query_one("SELECT next_id FROM id_sequence", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0) as u64, bulkwrite_store::ids::FIRST_ID);
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_sessions_are_found_by_their_name_and_no_others() {
    let url = database_url();
    let (database, store) = fresh_pg_store(&url).await;
    let other = admin(&database).await;
    let other_pid: i32 = other.query_one("SELECT pg_backend_pid()", &[]).await.expect("own pid").get(0);
    let pids = scratch::node_session_pids(&database).await.expect("list sessions");
    assert!(!pids.is_empty(), "the store's pooled session after migrating");
    assert!(!pids.contains(&other_pid.unsigned_abs()), "a session not of a node: {pids:?}");
    drop(store);
}
