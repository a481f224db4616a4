//! Chunks against other writers, and how fast a chunk goes in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_core::mapping::{FindKey, RowDraft, UniqueKey};
use bulkwrite_core::result::ResultRow;
use bulkwrite_store::undo::{NewUndoJob, UndoChunk, UndoCreation};
use bulkwrite_store::{ChunkWrite, JobStore, Lease, RecordStore, RetentionStore, StoreError, UndoStore};
use bulkwrite_store_postgres::PgStore;
use bulkwrite_wire::Operation;
use chrono::Utc;
use serde_json::{json, Map};

use super::queue::create_job;
use super::{admin, database_url, fresh_pg_store};

pub(super) const ORG: u64 = 111_222_333;

pub(super) fn lead(row_no: u64, email: &str) -> RowDraft {
    let mut values = Map::new();
    values.insert("Last_Name".into(), json!(format!("Last {row_no}")));
    values.insert("First_Name".into(), json!(format!("First {row_no}")));
    values.insert("Email".into(), json!(email));
    values.insert("Company".into(), json!(format!("Company {}", row_no % 977)));
    values.insert("Phone".into(), json!(format!("+1 555 {:07}", row_no)));
    values.insert("Lead_Source".into(), json!("Web Download"));
    values.insert("Annual_Revenue".into(), json!(row_no as f64 * 12.5));
    let unique_keys = vec![UniqueKey { field: "Email".into(), value: email.to_lowercase(), column: "Email".into() }];
    RowDraft {
        values: values.into(),
        unique_keys,
        ..RowDraft::new(row_no, vec![format!("Last {row_no}"), email.to_string()])
    }
}

/// A row that upserts by its Email.
pub(super) fn by_email(row_no: u64, email: &str) -> RowDraft {
    let mut row = lead(row_no, email);
    let key = row.unique_keys[0].clone();
    row.find_key = Some(FindKey::Unique { field: key.field, value: key.value, column: key.column });
    row
}

/// Rows 1 to `rows` that upsert the records of `email(n)`, each setting Phone to `phone(n)`.
fn phones_by_email(rows: u64, email: impl Fn(u64) -> String, phone: impl Fn(u64) -> String) -> Vec<RowDraft> {
    (1..=rows)
        .map(|n| {
            let mut row = by_email(n, &email(n));
            row.values.insert("Phone", json!(phone(n)));
            row
        })
        .collect()
}

/// An upsert chunk of `rows`.
pub(super) fn upsert(rows: Vec<RowDraft>, rows_done: u64) -> ChunkWrite {
    ChunkWrite { operation: Operation::Upsert, ..chunk(rows, rows_done) }
}

pub(super) fn chunk(rows: Vec<RowDraft>, rows_done: u64) -> ChunkWrite {
    ChunkWrite {
        rows_done_before: rows_done.saturating_sub(rows.len() as u64),
        resource: 0,
        module: "Leads".into(),
        operation: Operation::Insert,
        ignore_empty: false,
        rows,
        rows_done,
        default_owner: UserId::new(5_725_767_000_000_000_101),
        default_layout: Some("5725767000000002100".into()),
        actor: UserId::new(5_725_767_000_000_000_101),
        now: Utc::now(),
        full_name: true,
        dry_run: false,
    }
}

pub(super) async fn running_job(store: &PgStore, id: u64) -> Lease {
    create_job(store, id, ORG).await;
    let claim = bulkwrite_store::Claim::new("w1", Utc::now(), chrono::Duration::seconds(60));
    store.claim_next_job(&claim).await.unwrap().expect("claimed").1
}

/// Another node's transaction inserts `email` and has not committed yet.
async fn uncommitted_key(database: &str, email: &str, record: i64) -> tokio_postgres::Client {
    let other = admin(database).await;
    // The key's scope exists (committed), as once any chunk has written an Email.
    other
        .execute(
            "INSERT INTO key_scopes (org, module, field) VALUES ($1, 'Leads', 'Email') ON CONFLICT DO NOTHING",
            &[&(ORG as i64)],
        )
        .await
        .unwrap();
    other.batch_execute("BEGIN").await.unwrap();
    other
        .execute(
            "INSERT INTO unique_keys (scope, value, record_id)
             SELECT id, $2, $3 FROM key_scopes WHERE org = $1 AND module = 'Leads' AND field = 'Email'",
            &[&(ORG as i64), &email, &record],
        )
        .await
        .unwrap();
    other
}

/// Applies `write` in the background, waits until a session of `database` waits on a lock (the
/// other node's key), checks the chunk is still pending, then lets the other node commit;
/// returns what the chunk came to.
async fn race(
    store: &PgStore,
    lease: &Lease,
    other: tokio_postgres::Client,
    write: ChunkWrite,
    database: &str,
) -> Result<(u64, u64), StoreError> {
    let (writer, racing) = (store.clone(), lease.clone());
    let apply = tokio::spawn(async move { writer.apply_chunk(&racing, write).await });
    let watcher = admin(database).await;
    let waiting =
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let deadline = Instant::now() + Duration::from_secs(30);
    while watcher.query_one(waiting, &[]).await.unwrap().get::<_, i64>(0) == 0 {
        assert!(!apply.is_finished(), "the chunk finished without waiting on the other writer's key");
        assert!(Instant::now() < deadline, "the chunk never waited on the other writer's key");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!apply.is_finished(), "the chunk waits on the other writer's key");
    other.batch_execute("COMMIT").await.unwrap();
    apply.await.unwrap().map(|outcome| (outcome.added, outcome.skipped))
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_taken_by_another_node_mid_chunk_is_a_duplicate_or_retryable() {
    let url = database_url();
    let (database, store) = fresh_pg_store(&url).await;
    let org = bulkwrite_core::ids::OrgId::new(ORG);
    let lease = running_job(&store, 5_000).await;

    // An insert that has not met existing keys skips the probes: its key insert waits for the
    // other node, meets the committed key, and the chunk is planned again with probes.
    let other = uncommitted_key(&database, "race@x.co", 1).await;
    let write = chunk(vec![lead(1, "race@x.co"), lead(2, "new@x.co")], 2);
    assert_eq!(race(&store, &lease, other, write, &database).await.unwrap(), (1, 1));
    let rows = store.result_rows(org, lease.job, 0, 0, 10).await.unwrap();
    assert_eq!(rows[0].errors.to_string(), "DUPLICATE_DATA-Email");
    assert_eq!(rows[1].status, bulkwrite_core::result::RowStatus::Added);
    assert_eq!(store.count_records(org, "Leads").await.unwrap(), 1, "nothing of the first attempt is left");

    // The job has met existing keys, so its next chunks probe first. A key that another node
    // inserts after the probes makes the chunk fail as retryable, and nothing of it is kept.
    let other = uncommitted_key(&database, "race2@x.co", 2).await;
    let raced = race(&store, &lease, other, chunk(vec![lead(3, "race2@x.co")], 3), &database).await;
    assert!(matches!(raced, Err(StoreError::Unavailable(_))), "{raced:?}");
    assert!(raced.is_err_and(|e| e.is_retryable()));
    let job = store.get_job(org, lease.job).await.unwrap().unwrap();
    assert_eq!(job.resources[0].rows_done, 2, "nothing of the chunk was kept");

    let retried = store.apply_chunk(&lease, chunk(vec![lead(3, "race2@x.co")], 3)).await.unwrap();
    assert_eq!((retried.added, retried.skipped), (0, 1));
    let rows = store.result_rows(org, lease.job, 0, 2, 10).await.unwrap();
    assert_eq!(rows[0].errors.to_string(), "DUPLICATE_DATA-Email");
}

/// Two nodes write the first keys of a field at once: both make its scope, one row of it stands,
/// and each node's later chunks see the other's keys under it.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_making_a_key_scope_at_once_share_it() {
    let url = database_url();
    let (database, first) = fresh_pg_store(&url).await;
    let second = PgStore::connect(&database).await.unwrap();
    let (one, two) = (running_job(&first, 6_000).await, running_job(&second, 6_001).await);
    let write = |store: &PgStore, lease: &Lease, n: u64| {
        let (store, lease) = (store.clone(), lease.clone());
        tokio::spawn(async move {
            let rows = (1..=50).map(|row| lead(row, &format!("n{n}r{row}@x.co"))).collect();
            store.apply_chunk(&lease, chunk(rows, 50)).await.map(|outcome| outcome.added)
        })
    };
    let (a, b) = (write(&first, &one, 0), write(&second, &two, 1));
    assert_eq!((a.await.unwrap().unwrap(), b.await.unwrap().unwrap()), (50, 50));
    let client = admin(&database).await;
    let scopes = client
        .query_one(
            "SELECT COUNT(*) FROM key_scopes WHERE org = $1 AND module = 'Leads' AND field = 'Email'",
            &[&(ORG as i64)],
        )
        .await
        .unwrap();
    assert_eq!(scopes.get::<_, i64>(0), 1);
    // A key the second node wrote is taken for the first node's job.
    let taken = first.apply_chunk(&one, chunk(vec![lead(51, "n1r1@x.co")], 51)).await;
    let taken = taken.unwrap();
    assert_eq!((taken.added, taken.skipped), (0, 1), "the other node's key, under the same scope");
}

/// `BULKWRITE_TEST_DATABASE_URL=… cargo nextest run -p bulkwrite-store-postgres --run-ignored
/// only --no-capture apply_chunk_timing` (add `--release` for optimised numbers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn apply_chunk_timing() {
    const ROWS: u64 = 25_000;
    const CHUNK: u64 = 500;
    let url = database_url();
    let (_, store) = fresh_pg_store(&url).await;
    let lease = running_job(&store, 6_000).await;
    let inserts = || {
        (1..=ROWS).step_by(CHUNK as usize).map(|start| {
            let end = (start + CHUNK - 1).min(ROWS);
            chunk((start..=end).map(|n| lead(n, &format!("lead{n}@example.com"))).collect(), end)
        })
    };
    time_chunks(&store, &lease, "insert", inserts().collect()).await;
    // The same file into a fresh database, two chunks in flight as the worker applies them.
    let (_, fresh) = fresh_pg_store(&url).await;
    let fresh = std::sync::Arc::new(fresh);
    let fresh_lease = running_job(&fresh, 6_002).await;
    let started = Instant::now();
    let mut order = bulkwrite_store::ChunkOrder::first();
    let mut in_flight = None;
    for write in inserts() {
        let this = order.advance();
        let (store, lease) = (std::sync::Arc::clone(&fresh), fresh_lease.clone());
        let task = tokio::spawn(async move { store.apply_chunk_in_order(&lease, write, this).await.unwrap() });
        if let Some(previous) = in_flight.replace(task) {
            let _: bulkwrite_store::ChunkOutcome = previous.await.unwrap();
        }
    }
    in_flight.expect("chunks").await.unwrap();
    println!("apply_chunk_in_order, insert, two chunks in flight: {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
    // The same rows again, as an upsert found by Email: every row updates its record.
    let mut chunks = Vec::new();
    for start in (1..=ROWS).step_by(CHUNK as usize) {
        let end = (start + CHUNK - 1).min(ROWS);
        let rows = (start..=end).map(|n| by_email(n, &format!("lead{n}@example.com"))).collect();
        chunks.push(upsert(rows, end));
    }
    let upsert_lease = running_job(&store, 6_001).await;
    time_chunks(&store, &upsert_lease, "upsert (all updates)", chunks).await;
}

async fn time_chunks(store: &PgStore, lease: &Lease, what: &str, chunks: Vec<ChunkWrite>) {
    let count = chunks.len();
    let rows: usize = chunks.iter().map(|c| c.rows.len()).sum();
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    for write in chunks {
        let chunk_started = Instant::now();
        store.apply_chunk(lease, write).await.unwrap();
        slowest = slowest.max(chunk_started.elapsed());
    }
    let total = started.elapsed();
    println!(
        "apply_chunk, {what}: {rows} Leads rows in {count} chunks: {:.0} ms in all, {:.1} ms per chunk \
         (slowest {:.1} ms), {:.0} rows/s",
        total.as_secs_f64() * 1000.0,
        total.as_secs_f64() * 1000.0 / count as f64,
        slowest.as_secs_f64() * 1000.0,
        rows as f64 / total.as_secs_f64()
    );
}

/// A database made by version 1 (subform links read from the JSON) is upgraded in place: the
/// parent ids move into `parent_id` and the rows are still found under their parent.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test]
async fn upgrade_from_version_1_keeps_subform_links() {
    let url = database_url();
    let database_url = super::fresh_database(&url).await;
    let client = admin(&database_url).await;
    client.batch_execute(include_str!("../../migrations/0001_init.sql")).await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version) VALUES (1);
             INSERT INTO records (id, org, module, owner, layout_id, created_by, modified_by, created_at, modified_at, data)
             VALUES (501, 111222333, 'Account_Phones', 1, NULL, 1, 1, now(), now(),
                     '{\"Parent_Id\": {\"name\": \"Zylker\", \"id\": \"400\"}, \"Number\": \"1\"}'),
                    (502, 111222333, 'Account_Phones', 1, NULL, 1, 1, now(), now(), '{\"Number\": \"2\"}')",
        )
        .await
        .unwrap();
    let store = PgStore::connect(&database_url).await.expect("upgrade to the current version");
    let org = bulkwrite_core::ids::OrgId::new(ORG);
    let parent = bulkwrite_core::ids::RecordId::new(400);
    let children = bulkwrite_store::RecordStore::child_records(&store, org, "Account_Phones", "Parent_Id", parent);
    let children = children.await.unwrap();
    assert_eq!(children.iter().map(|c| c.id.get()).collect::<Vec<_>>(), [501]);
    let version = client.query_one("SELECT MAX(version) FROM schema_migrations", &[]).await.unwrap();
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap().count();
    assert_eq!(version.get::<_, i32>(0) as usize, migrations, "every migration applied");
}

/// A database made before key scopes (migration 0020) is upgraded in place: its unique keys, and
/// the keys of a snapshot taken then, still find their records, and each record holds its keys
/// beside it (migration 0021), restored ones too.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test]
async fn upgrade_to_key_scopes_keeps_keys_and_snapshot_keys() {
    use bulkwrite_core::ids::{OrgId, RecordId};
    use bulkwrite_store::conformance;

    let url = database_url();
    let database_url = super::fresh_database(&url).await;
    let client = admin(&database_url).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let mut before: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().to_str().unwrap() < "0020")
        .collect();
    before.sort();
    client
        .batch_execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        .await
        .unwrap();
    for (index, path) in before.iter().enumerate() {
        client.batch_execute(&std::fs::read_to_string(path).unwrap()).await.unwrap();
        client.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(index as i32 + 1)]).await.unwrap();
    }
    assert_eq!(before.len(), 17, "the migrations before key scopes (numbers 0011 and 0014 are unused)");
    let (zylker, acme) = (5_725_767_000_000_000_101_i64, 5_725_767_000_000_000_102_i64);
    for (id, name) in [(zylker, "Zylker"), (acme, "Acme")] {
        client
            .execute(
                "INSERT INTO records (id, org, module, owner, created_by, modified_by, created_at, modified_at, data)
                 VALUES ($1, $2, 'Accounts', 1, 1, 1, now(), now(), json_build_object('Account_Name', $3::text))",
                &[&id, &(ORG as i64), &name],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO record_keys (org, module, field, value, record_id) VALUES ($1, 'Accounts', 'Account_Name', $2, $3)",
                &[&(ORG as i64), &name.to_lowercase(), &id],
            )
            .await
            .unwrap();
    }
    // A snapshot taken then: both records and their keys, each row as JSON.
    client
        .batch_execute(&format!(
            "INSERT INTO snapshot_rows (org, snapshot, tbl, row_data)
                 SELECT {ORG}, 'before', 'records', to_json(r) FROM records r WHERE org = {ORG}
                 UNION ALL SELECT {ORG}, 'before', 'record_keys', to_json(k) FROM record_keys k WHERE org = {ORG};
             INSERT INTO snapshots (org, name, created_at, records, jobs, rows) VALUES ({ORG}, 'before', now(), 2, 0, 4);"
        ))
        .await
        .unwrap();

    let store = PgStore::connect(&database_url).await.expect("upgrade to the current version");
    let ids = (RecordId::new(zylker as u64), RecordId::new(acme as u64));
    conformance::keys_written_before_the_upgrade_find_their_records(&store, OrgId::new(ORG), ids).await;
    // The upgrade gave each record its keys (0021), and the snapshot, older than that, restored
    // its records with the keys restored beside them: the two agree.
    drop(super::KeysInStep(database_url));
}

/// A job that adds 10,000 records to a table the planner never measured refreshes its
/// statistics, and its keys', once it completes, on a task of its own (the records list was planned from
/// guesses otherwise: see `statistics.rs`); a small job leaves them to autovacuum.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_job_refreshes_the_planner_statistics() {
    let url = database_url();
    let (database, store) = fresh_pg_store(&url).await;
    let client = admin(&database).await;
    let analyzed_table = |table: &'static str| {
        let client = &client;
        async move {
            let sql = "SELECT c.reltuples::float8, s.analyze_count FROM pg_class c
                       JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = $1::text::regclass";
            let row = client.query_one(sql, &[&table]).await.unwrap();
            (row.get::<_, f64>(0), row.get::<_, i64>(1))
        }
    };
    let analyzed = || analyzed_table("records");
    let run = |id: u64, from: u64, rows: u64| {
        let store = store.clone();
        async move {
            let lease = running_job(&store, id).await;
            store.start_resource(&lease, 0).await.unwrap();
            for start in (from..from + rows).step_by(2_000) {
                let end = (start + 2_000).min(from + rows);
                let drafts = (start..end).map(|n| lead(n - from + 1, &format!("stats{n}@example.com"))).collect();
                let outcome = store.apply_chunk(&lease, chunk(drafts, end - from)).await.unwrap();
                assert_eq!(outcome.added, end - start);
            }
            store.finish_resource(&lease, 0, rows).await.unwrap();
            store.complete_job(&lease, "result", Utc::now()).await.unwrap();
        }
    };
    run(7_001, 0, 500).await;
    assert_eq!(analyzed().await, (-1.0, 0), "500 records leave the statistics to autovacuum");
    assert_eq!(analyzed_table("unique_keys").await, (-1.0, 0), "and their keys'");
    run(7_002, 500, 10_000).await;
    // The refresh runs beside whatever the node does next, once the job has completed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (tuples, count) = loop {
        let (tuples, count) = analyzed().await;
        if count > 0 || std::time::Instant::now() > deadline {
            break (tuples, count);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(count, 1, "one ANALYZE after the job of 10,000 records");
    assert_eq!(tuples, 10_500.0, "the table measured with every record");
    // The keys are analyzed too, before the records: the next upsert probes them.
    assert_eq!(analyzed_table("unique_keys").await, (10_500.0, 1), "the keys measured with every key, once");
    // Every column of the records but their values and keys, which nothing plans by.
    let measured = "SELECT attname::text FROM pg_stats WHERE tablename = 'records' ORDER BY attname";
    let measured: Vec<String> = client.query(measured, &[]).await.unwrap().iter().map(|row| row.get(0)).collect();
    assert!(measured.iter().any(|column| column == "id"), "{measured:?}");
    assert!(!measured.iter().any(|column| column == "data" || column == "keys"), "{measured:?}");
}

/// An upsert chunk that updates more records than one `UPDATE` statement carries (they go out
/// in pipelined parts, each record found at the place its locking read saw it) updates every
/// one of them once, bumps each version once, and keeps one before-image each.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_chunk_larger_than_one_update_part_updates_every_record_once() {
    const ROWS: u64 = 1_234;
    let url = database_url();
    let (database, store) = fresh_pg_store(&url).await;
    let client = admin(&database).await;
    let email = |n: u64| format!("part{n}@example.com");
    let insert = running_job(&store, 8_001).await;
    let added =
        store.apply_chunk(&insert, chunk((1..=ROWS).map(|n| lead(n, &email(n))).collect(), ROWS)).await.unwrap();
    assert_eq!(added.added, ROWS);
    let rows = phones_by_email(ROWS, email, |n| format!("changed {n}"));
    let upsert_job = running_job(&store, 8_002).await;
    let outcome = store.apply_chunk(&upsert_job, upsert(rows, ROWS)).await.unwrap();
    assert_eq!((outcome.added, outcome.updated, outcome.skipped), (0, ROWS, 0));
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE version = 2),
                    count(*) FILTER (WHERE data::json ->> 'Phone' = 'changed ' || substr(data::json ->> 'Email', 5, length(data::json ->> 'Email') - 16))
             FROM records",
            &[],
        )
        .await
        .unwrap();
    let counts: (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(counts, (ROWS as i64, ROWS as i64, ROWS as i64), "every record updated once, with its own row's values");
    let images: i64 = client
        .query_one(
            "SELECT count(DISTINCT e ->> 0) FROM undo_chunk_images c CROSS JOIN LATERAL json_array_elements(c.images_json::json) e
             WHERE c.job_id = 8002 AND (e ->> 1)::int8 = 2",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(images, ROWS as i64, "one before-image per updated record, at the version the update left");
}

/// A job's chunk keeps the before-images of the records it updates as one row; the undo's first
/// chunk moves the job's images into rows of their own (the chunks after it find none to move),
/// and the undo restores every record from them.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_unpacks_the_before_images_its_job_kept_a_chunk_at_a_time() {
    const ROWS: u64 = UPSERTED_ROWS;
    let (database, store) = fresh_pg_store(&database_url()).await;
    let client = admin(&database).await;
    upsert_in_two_chunks(&store).await;
    let images = || images_of_job(&client, 8_302);
    assert_eq!(images().await, (2, 0), "a row a chunk");

    let undo = NewUndoJob {
        id: JobId::new(8_303),
        org: OrgId::new(ORG),
        created_by: UserId::new(5_725_767_000_000_000_101),
        undo_of: JobId::new(8_302),
        created_at: Utc::now(),
    };
    assert_eq!(store.create_undo_job(undo).await.unwrap(), UndoCreation::Created);
    let claim = bulkwrite_store::Claim::new("w1", Utc::now(), chrono::Duration::seconds(60));
    let (_, lease) = store.claim_next_job(&claim).await.unwrap().expect("the undo");
    let original = store.result_rows(OrgId::new(ORG), JobId::new(8_302), 0, 0, 100).await.unwrap();
    let undo_chunk = |rows: &[ResultRow], before: u64, after: u64| UndoChunk {
        undo_of: JobId::new(8_302),
        resource: 0,
        module: "Leads".into(),
        rows: rows.to_vec(),
        rows_done_before: before,
        rows_done: after,
        actor: UserId::new(5_725_767_000_000_000_101),
        now: Utc::now(),
    };
    let restored = store.apply_undo_chunk(&lease, undo_chunk(&original[..5], 0, 5)).await.unwrap();
    assert_eq!(restored.updated, 5);
    assert_eq!(images().await, (0, ROWS as i64), "moved by the undo's first chunk, a row a record");
    let restored = store.apply_undo_chunk(&lease, undo_chunk(&original[5..], 5, ROWS)).await.unwrap();
    assert_eq!(restored.updated, ROWS - 5);
    assert_eq!(images().await, (0, ROWS as i64));
    let changed: i64 = client
        .query_one("SELECT count(*) FROM records WHERE data::json ->> 'Phone' LIKE 'changed %'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(changed, 0, "every record has its Phone back");
}

/// A job's packed before-images go with its result rows when they expire.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_packed_before_images_expire_with_its_result() {
    let (database, store) = fresh_pg_store(&database_url()).await;
    let client = admin(&database).await;
    upsert_in_two_chunks(&store).await;
    assert_eq!(images_of_job(&client, 8_302).await, (2, 0));
    let now = Utc::now();
    let sweep = bulkwrite_store::Expiry { now, older_than: now + chrono::Duration::days(1), limit: 10 };
    assert_eq!(store.expire_results(&sweep).await.unwrap(), 2, "both jobs' results");
    assert_eq!(images_of_job(&client, 8_302).await, (0, 0));
}

/// Rows of [`upsert_in_two_chunks`].
const UPSERTED_ROWS: u64 = 30;

/// Job 8301 inserts [`UPSERTED_ROWS`] Leads; job 8302 upserts each by its Email (a new Phone),
/// in two chunks. Both finish.
async fn upsert_in_two_chunks(store: &PgStore) {
    const ROWS: u64 = UPSERTED_ROWS;
    let email = |n: u64| format!("undo{n}@example.com");
    let insert = running_job(store, 8_301).await;
    store.apply_chunk(&insert, chunk((1..=ROWS).map(|n| lead(n, &email(n))).collect(), ROWS)).await.unwrap();
    finish(store, &insert, ROWS).await;
    let job = running_job(store, 8_302).await;
    let mut first = phones_by_email(ROWS, email, |n| format!("changed {n}"));
    let second = first.split_off(10);
    store.apply_chunk(&job, upsert(first, 10)).await.unwrap();
    store.apply_chunk(&job, upsert(second, ROWS)).await.unwrap();
    finish(store, &job, ROWS).await;
}

/// Job `job`'s before-images: rows of `undo_chunk_images` (a chunk each), of `undo_images` (a
/// record each).
async fn images_of_job(client: &tokio_postgres::Client, job: i64) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM undo_chunk_images WHERE job_id = $1),
                    (SELECT count(*) FROM undo_images WHERE job_id = $1)",
            &[&job],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Ends `lease`'s job after its one resource's `rows`.
async fn finish(store: &PgStore, lease: &Lease, rows: u64) {
    store.finish_resource(lease, 0, rows).await.unwrap();
    store.complete_job(lease, "r", Utc::now()).await.unwrap();
}

/// Records' pages are inserted half full (`fillfactor`), so an upsert writes each record's new
/// version on the record's own page (a heap-only update, with no new index entry): every record
/// is on the page it was inserted on afterwards. On full pages the new versions go to others.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_writes_each_records_new_version_on_its_own_page() {
    const ROWS: u64 = 2_000;
    let (database, store) = fresh_pg_store(&database_url()).await;
    let client = admin(&database).await;
    let email = |n: u64| format!("page{n}@example.com");
    let insert = running_job(&store, 8_101).await;
    store.apply_chunk(&insert, chunk((1..=ROWS).map(|n| lead(n, &email(n))).collect(), ROWS)).await.unwrap();
    let pages = "SELECT id, (ctid::text::point)[0]::int8 FROM records ORDER BY id";
    let before: Vec<(i64, i64)> =
        client.query(pages, &[]).await.unwrap().iter().map(|row| (row.get(0), row.get(1))).collect();
    let rows = phones_by_email(ROWS, email, |n| format!("+44 20 {n:07}"));
    let upsert_job = running_job(&store, 8_102).await;
    let outcome = store.apply_chunk(&upsert_job, upsert(rows, ROWS)).await.unwrap();
    assert_eq!(outcome.updated, ROWS);
    let after: Vec<(i64, i64)> =
        client.query(pages, &[]).await.unwrap().iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(after.len(), ROWS as usize);
    let moved = before.iter().zip(&after).filter(|(before, after)| before != after).count();
    assert_eq!(moved, 0, "records whose new version went to another page");
}

/// An update whose new version stays on the record's page is logged as the bytes between what
/// the new row shares with the old at its start and at its end (migration 0025): the columns
/// every update changes come right after the key, the values last, so an update that leaves
/// the values alone logs a few dozen bytes. With the values in the middle, as they were, or
/// the version after them, every update logged the values whole.
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_keep_what_updates_change_first_and_their_values_last() {
    let (database, _store) = fresh_pg_store(&database_url()).await;
    let client = admin(&database).await;
    let columns: Vec<(String, i16)> = client
        .query(
            "SELECT attname::text, attlen FROM pg_attribute
             WHERE attrelid = 'records'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let at = |name: &str| columns.iter().position(|(column, _)| column == name).unwrap();
    let first_of_varying_width = columns.iter().skip(3).position(|(_, len)| *len < 0).map(|i| i + 3);
    assert_eq!(columns[..3].iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["id", "org", "module"]);
    for changed in ["version", "modified_at", "modified_by"] {
        assert!(Some(at(changed)) < first_of_varying_width, "{changed} before the text columns: {columns:?}");
        assert!(at(changed) < 6, "{changed} right after the key: {columns:?}");
    }
    assert_eq!(at("data"), columns.len() - 1, "the values last: {columns:?}");
}

/// The shared case of a chunk failing after it wrote: on PostgreSQL each chunk commits alone,
/// so the failing one takes nothing else with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn a_chunk_failing_after_it_wrote_takes_only_itself_back() {
    let (database, store) = fresh_pg_store(&database_url()).await;
    admin(&database)
        .await
        .batch_execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN IF NEW.data::json->>'Last_Name' = 'BOOM' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER boom BEFORE INSERT ON records FOR EACH ROW EXECUTE FUNCTION boom();",
        )
        .await
        .unwrap();
    let stored =
        bulkwrite_store::conformance::a_chunk_failing_after_it_wrote_leaves_its_job_to_resume_from_its_checkpoint(
            Arc::new(store),
        )
        .await;
    assert_eq!(stored, 2, "the chunk before the failing one stayed committed");
}
