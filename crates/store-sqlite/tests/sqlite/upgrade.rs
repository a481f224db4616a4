//! Databases made by earlier versions are upgraded in place: an upload that a job queued before
//! retention still needs is kept, an unused old one expires; unique keys (and the keys of org
//! snapshots) written before key scopes still hold their records.

use bulkwrite_core::ids::{FileId, OrgId, RecordId};
use bulkwrite_store::{conformance, Expiry, RetentionStore, UploadStore};
use bulkwrite_store_sqlite::SqliteStore;
use chrono::{Duration, Utc};

const ORG: i64 = 111_222_333;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_of_jobs_queued_before_the_upgrade_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulkwrite.sqlite");
    let old = (Utc::now() - Duration::days(30)).timestamp_millis();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../migrations/0001_init.sql")).unwrap();
        conn.execute_batch(include_str!("../../migrations/0002_oauth.sql")).unwrap();
        conn.execute_batch(
            "INSERT INTO id_sequence (singleton, next_id) VALUES (1, 5725767000000100000); PRAGMA user_version = 2;",
        )
        .unwrap();
        for file_id in [5_725_767_000_000_000_001_i64, 5_725_767_000_000_000_002] {
            conn.execute(
                "INSERT INTO uploads (file_id, org, user_id, blob_key, file_name, size, entries_json, created_at)
                 VALUES (?1, ?2, 1, 'uploads/x.zip', 'x.zip', 1, '[]', ?3)",
                rusqlite::params![file_id, ORG, old],
            )
            .unwrap();
        }
        let spec = r#"{"resources": [{"file_id": "5725767000000000001"}]}"#;
        conn.execute(
            "INSERT INTO jobs (id, org, created_by, api_version, spec_json, state, created_at)
             VALUES (5725767000000000009, ?1, 1, 'v2', ?2, 'queued', ?3)",
            rusqlite::params![ORG, spec, old],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).await.expect("upgrade");
    let now = Utc::now();
    let expiry = Expiry { now, older_than: now - Duration::days(7), limit: 10 };
    assert_eq!(store.expire_uploads(&expiry).await.unwrap(), 1, "only the upload no job needs");
    let org = bulkwrite_core::ids::OrgId::new(ORG as u64);
    let kept = store.get_upload(org, FileId::new(5_725_767_000_000_000_001)).await.unwrap().unwrap();
    assert_eq!(kept.expired_at, None, "the queued job's upload stays");
    let gone = store.get_upload(org, FileId::new(5_725_767_000_000_000_002)).await.unwrap().unwrap();
    assert!(gone.expired_at.is_some());
}

/// The migrations before key scopes (0019), in order, as a database of that time applied them.
fn before_key_scopes() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().to_str().unwrap() < "0019")
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 16, "the migrations before key scopes (numbers 0010 and 0013 are unused)");
    paths.iter().map(|path| std::fs::read_to_string(path).unwrap()).collect()
}

/// A `json_object(...)` of every column of `table`, as a snapshot stored its rows.
fn row_json(conn: &rusqlite::Connection, table: &str) -> String {
    let mut statement = conn.prepare(&format!("PRAGMA table_info({table})")).unwrap();
    let names: Vec<String> = statement.query_map([], |row| row.get(1)).unwrap().map(Result::unwrap).collect();
    let pairs: Vec<String> = names.iter().map(|name| format!("'{name}', \"{name}\"")).collect();
    format!("json_object({})", pairs.join(", "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_snapshot_keys_from_before_key_scopes_still_find_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulkwrite.sqlite");
    let (zylker, acme) = (5_725_767_000_000_000_101_i64, 5_725_767_000_000_000_102_i64);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let before = before_key_scopes();
        for sql in &before {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO id_sequence (singleton, next_id) VALUES (1, 5725767000000100000);
             PRAGMA user_version = {};",
            before.len()
        ))
        .unwrap();
        for (id, name) in [(zylker, "Zylker"), (acme, "Acme")] {
            conn.execute(
                "INSERT INTO records (id, org, module, owner, created_by, modified_by, created_at, modified_at, data)
                 VALUES (?1, ?2, 'Accounts', 1, 1, 1, 0, 0, json_object('Account_Name', ?3))",
                rusqlite::params![id, ORG, name],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO record_keys (org, module, field, value, record_id) VALUES (?1, 'Accounts', 'Account_Name', ?2, ?3)",
                rusqlite::params![ORG, name.to_lowercase(), id],
            )
            .unwrap();
        }
        // A snapshot taken then: both records and their keys, as rows of JSON.
        for table in ["records", "record_keys"] {
            conn.execute(
                &format!(
                    "INSERT INTO snapshot_rows (org, snapshot, tbl, row_json)
                     SELECT ?1, 'before', '{table}', {} FROM {table} WHERE org = ?1",
                    row_json(&conn, table)
                ),
                [ORG],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO snapshots (org, name, created_at, records, jobs, rows) VALUES (?1, 'before', 0, 2, 0, 4)",
            [ORG],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).await.expect("upgrade");
    let ids = (RecordId::new(zylker as u64), RecordId::new(acme as u64));
    conformance::keys_written_before_the_upgrade_find_their_records(&store, OrgId::new(ORG as u64), ids).await;
}
