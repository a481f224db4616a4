//! For the crate's own tests of how PostgreSQL runs a statement: a store on a fresh database
//! (tables created, never analyzed, as just after a job wrote them), and the rows a statement's
//! scans of a table read there. Rows are counted, not time: a plan that scans a table for a
//! value it looks up shows as many rows read by one scan.

use tokio_postgres::types::ToSql;

use crate::{scratch, PgStore};

/// A store on a new database of the test server, dropped with the [`Fresh`].
pub(crate) struct Fresh {
    pub store: PgStore,
    server: String,
    name: String,
}

impl Fresh {
    pub(crate) async fn new(what: &str) -> Fresh {
        let server = std::env::var("BULKWRITE_TEST_DATABASE_URL").expect("set BULKWRITE_TEST_DATABASE_URL");
        let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        // The tests' naming, so that a database a failed test leaves is dropped later.
        let name = format!("bw_{seconds}_{what}{}", std::process::id());
        let database = scratch::create(&server, &name).await.unwrap();
        let store = PgStore::connect(&database).await.expect("the schema");
        Fresh { store, server, name }
    }

    /// The most rows one scan of `table` read while `sql` ran with `params` (per loop of the
    /// scan, rows its filter removed included; `EXPLAIN (ANALYZE, FORMAT JSON)`). A probe per
    /// lookup reads at most the one row it finds; a plan that scans the table for a lookup, or
    /// reads it whole to join, reads many. (PostgreSQL rounds a scan's rows per loop: a probe
    /// that finds its row half the time reads 0.)
    pub(crate) async fn most_rows_a_scan_read(&self, table: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> u64 {
        let conn = self.store.conn().await.unwrap();
        let explain = format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}");
        let plan: serde_json::Value = conn.query_one(&explain, params).await.unwrap().get(0);
        most_rows(&plan[0]["Plan"], table).unwrap_or_else(|| panic!("no scan of {table}: {plan}"))
    }

    /// Drops the database (the store's connections closed first).
    pub(crate) async fn drop(self) {
        let Fresh { store, server, name } = self;
        std::mem::drop(store);
        scratch::drop(&server, &name).await.unwrap();
    }
}

/// The most rows a scan of `table` at or below the plan node `node` read in one loop; `None`
/// when nothing there scans it.
fn most_rows(node: &serde_json::Value, table: &str) -> Option<u64> {
    let count = |key: &str| node[key].as_u64().unwrap_or(0);
    let own = (node["Relation Name"] == table)
        .then(|| count("Actual Rows") + count("Rows Removed by Filter") + count("Rows Removed by Index Recheck"));
    let below = node["Plans"].as_array().into_iter().flatten().filter_map(|plan| most_rows(plan, table)).max();
    own.into_iter().chain(below).max()
}
