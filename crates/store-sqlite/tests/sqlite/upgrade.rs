//! A database made before retention is upgraded in place: an upload that a job queued then
//! still needs is kept, an unused old one expires.

use bulkwrite_core::ids::FileId;
use bulkwrite_store::{Expiry, RetentionStore, UploadStore};
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
