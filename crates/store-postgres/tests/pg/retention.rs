//! Retention on PostgreSQL: a database made before retention is upgraded in place, keeping the
//! uploads of jobs queued then.

use bulkwrite_core::ids::{FileId, OrgId};
use bulkwrite_store::{Expiry, RetentionStore, UploadStore};
use bulkwrite_store_postgres::PgStore;
use chrono::{Duration, Utc};

use super::{admin, database_url};

const ORG: i64 = 111_222_333;

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test]
async fn uploads_of_jobs_queued_before_the_upgrade_are_kept() {
    let url = database_url();
    let database_url = super::fresh_database(&url).await;
    let client = admin(&database_url).await;
    client.batch_execute(include_str!("../../migrations/0001_init.sql")).await.unwrap();
    client.batch_execute(include_str!("../../migrations/0002_cheaper_writes.sql")).await.unwrap();
    client.batch_execute(include_str!("../../migrations/0003_cheaper_indexes.sql")).await.unwrap();
    let old = Utc::now() - Duration::days(30);
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version) VALUES (1), (2), (3);",
        )
        .await
        .unwrap();
    for file_id in [5_725_767_000_000_000_001_i64, 5_725_767_000_000_000_002] {
        client
            .execute(
                "INSERT INTO uploads (file_id, org, user_id, blob_key, file_name, size, entries_json, created_at)
                 VALUES ($1, $2, 1, 'uploads/x.zip', 'x.zip', 1, '[]', $3)",
                &[&file_id, &ORG, &old],
            )
            .await
            .unwrap();
    }
    client
        .execute(
            "INSERT INTO jobs (id, org, created_by, api_version, spec_json, state, created_at)
             VALUES (5725767000000000009, $1, 1, 'v2', $2, 'queued', $3)",
            &[&ORG, &r#"{"resources": [{"file_id": "5725767000000000001"}, {"file_id": "not an id"}]}"#, &old],
        )
        .await
        .unwrap();
    let store = PgStore::connect(&database_url).await.expect("upgrade to the current version");
    let now = Utc::now();
    let expiry = Expiry { now, older_than: now - Duration::days(7), limit: 10 };
    assert_eq!(store.expire_uploads(&expiry).await.unwrap(), 1, "only the upload no job needs");
    let org = OrgId::new(ORG as u64);
    let kept = store.get_upload(org, FileId::new(5_725_767_000_000_000_001)).await.unwrap().unwrap();
    assert_eq!(kept.expired_at, None, "the queued job's upload stays");
    let gone = store.get_upload(org, FileId::new(5_725_767_000_000_000_002)).await.unwrap().unwrap();
    assert!(gone.expired_at.is_some());
}
