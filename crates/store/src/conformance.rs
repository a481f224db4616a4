//! The conformance suite: what every backend must do, written once. A backend's test binary
//! calls [`conformance_tests!`](crate::conformance_tests) with an async expression that yields a
//! fresh, empty store; the macro makes one test per case.

use std::sync::Arc;

use bulkwrite_core::ids::{FileId, JobId, OrgId, RecordId, UserId};
use bulkwrite_core::jobspec::{JobSpec, ResourceSpec};
use bulkwrite_core::mapping::{FindKey, RowDraft, UniqueKey};
use bulkwrite_core::result::RowStatus;
use bulkwrite_core::schema::standard::standard_schema;
use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_wire::{Callback, Operation};
use chrono::{Duration, Utc};
use serde_json::{json, Map};

use crate::token::hash_token;
use crate::*;

/// Makes one `#[tokio::test]` per conformance case for the store that `$factory` yields.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            bootstrap_happens_once,
            tokens_resolve_expire_and_stay_unknown,
            reserved_ids_never_overlap,
            uploads_are_scoped_by_org,
            jobs_are_scoped_by_org_and_claimed_in_order,
            a_lease_fences_every_write,
            an_expired_lease_is_taken_over,
            released_and_requeued_jobs_run_again,
            chunks_write_records_results_and_checkpoints,
            duplicates_are_caught_across_chunks,
            updates_and_upserts_change_records_and_keys,
            completing_queues_one_callback,
            failing_marks_resources_and_queues_the_callback,
            callback_attempts_are_recorded_and_retried,
            records_page_and_sort,
            lookups_find_records_by_id_key_and_value,
            grant_codes_redeem_once_and_expire,
            revoking_a_refresh_token_revokes_its_access_tokens,
            orgs_users_and_clients,
            schemas_round_trip
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $factory.await;
                $crate::conformance::$case(store).await;
            }
        )*
    };
}

const ORG: OrgId = OrgId::new_const(111_222_333);
const OTHER_ORG: OrgId = OrgId::new_const(444_555_666);
const ADMIN: UserId = UserId::new_const(5_725_767_000_000_000_101);
const OTHER_ADMIN: UserId = UserId::new_const(5_725_767_000_000_000_201);

fn org(zgid: OrgId) -> Org {
    Org {
        zgid,
        id: format!("57257670000000{}", zgid.get() % 100_000),
        company_name: format!("Org {zgid}"),
        time_zone: "Asia/Kolkata".into(),
        currency: "USD".into(),
        created_at: Utc::now(),
    }
}

fn user(id: UserId, zgid: OrgId) -> User {
    User {
        id,
        org: zgid,
        first_name: "Mara".into(),
        last_name: "Quist".into(),
        email: format!("mara{}@example.com", id.get() % 1000),
        profile: "Administrator".into(),
        role: "CEO".into(),
        active: true,
        created_at: Utc::now(),
    }
}

fn token(text: &str, zgid: OrgId, user: UserId, expires_at: Option<Timestamp>) -> NewAccessToken {
    NewAccessToken {
        token_hash: hash_token(text),
        org: zgid,
        user,
        scopes: vec!["ZohoCRM.bulk.ALL".into()],
        expires_at,
        client_id: None,
        refresh_hash: None,
    }
}

fn bootstrap_record(zgid: OrgId, user: UserId) -> BootstrapRecord {
    BootstrapRecord {
        org_id: zgid,
        user_id: user,
        user_name: "Mara Quist".into(),
        user_email: "mara@example.com".into(),
        access_token: "1000.first".into(),
        extra: Map::new(),
    }
}

/// An org with its admin, as the server's first start makes it.
async fn with_org(store: &Arc<dyn Store>) {
    store
        .bootstrap(
            org(ORG),
            user(ADMIN, ORG),
            standard_schema(),
            token("1000.first", ORG, ADMIN, None),
            bootstrap_record(ORG, ADMIN),
        )
        .await
        .expect("bootstrap");
}

fn spec(callback: bool, operation: Operation, find_by: Option<&str>) -> JobSpec {
    JobSpec {
        operation,
        ignore_empty: None,
        character_encoding: None,
        callback: callback.then(|| Callback { url: "https://hooks.example.com/cb".into(), method: "post".into() }),
        resources: vec![ResourceSpec {
            module: "Leads".into(),
            module_id: "1".into(),
            file_id: "5725767000000009001".into(),
            csv_name: "leads.csv".into(),
            file_names: None,
            find_by: find_by.map(str::to_string),
            ignore_empty: None,
            effective_ignore_empty: false,
            mappings: Vec::new(),
            auto_mapped: true,
            header: vec!["Last_Name".into(), "Email".into()],
            echo_columns: vec![0, 1],
            parent_link: None,
        }],
    }
}

async fn new_job(store: &Arc<dyn Store>, id: u64, zgid: OrgId, job_spec: JobSpec) -> JobId {
    let id = JobId::new(id);
    let created_by = if zgid == ORG { ADMIN } else { OTHER_ADMIN };
    let job = NewJob { id, org: zgid, created_by, api_version: "v2".into(), spec: job_spec, created_at: Utc::now() };
    store.create_job(job).await.expect("create job");
    id
}

async fn claim(store: &Arc<dyn Store>, owner: &str) -> Option<(Job, Lease)> {
    store.claim_next_job(owner, Utc::now(), Duration::seconds(30)).await.expect("claim")
}

fn row(row_no: u64, name: &str, email: &str) -> RowDraft {
    let mut values = Map::new();
    values.insert("Last_Name".into(), json!(name));
    let mut unique_keys = Vec::new();
    if !email.is_empty() {
        values.insert("Email".into(), json!(email));
        unique_keys.push(UniqueKey { field: "Email".into(), value: email.to_lowercase(), column: "Email".into() });
    }
    RowDraft {
        row_no,
        echo: vec![name.into(), email.into()],
        values,
        owner: None,
        layout_id: None,
        errors: Vec::new(),
        missing_for_insert: Vec::new(),
        unique_keys,
        find_key: None,
        lookups: Vec::new(),
        new_picklist_values: Vec::new(),
    }
}

fn chunk(operation: Operation, rows: Vec<RowDraft>, rows_done: u64) -> ChunkWrite {
    ChunkWrite {
        resource: 0,
        module: "Leads".into(),
        operation,
        ignore_empty: false,
        rows,
        rows_done,
        default_owner: ADMIN,
        default_layout: Some("5725767000000002100".into()),
        actor: ADMIN,
        now: Utc::now(),
        full_name: true,
    }
}

async fn all_rows(store: &Arc<dyn Store>, job: JobId) -> Vec<bulkwrite_core::result::ResultRow> {
    store.result_rows(ORG, job, 0, 0, 1000).await.expect("result rows")
}

pub async fn bootstrap_happens_once(store: Arc<dyn Store>) {
    assert_eq!(store.bootstrap_record().await.unwrap(), None);
    with_org(&store).await;
    let mut second = bootstrap_record(OTHER_ORG, OTHER_ADMIN);
    second.access_token = "1000.second".into();
    let kept = store
        .bootstrap(
            org(OTHER_ORG),
            user(OTHER_ADMIN, OTHER_ORG),
            standard_schema(),
            token("1000.second", OTHER_ORG, OTHER_ADMIN, None),
            second,
        )
        .await
        .unwrap();
    assert_eq!(kept.org_id, ORG, "the first bootstrap wins");
    assert_eq!(store.bootstrap_record().await.unwrap().unwrap().access_token, "1000.first");
    assert!(store.get_org(OTHER_ORG).await.unwrap().is_none());
    let stored = store.get_org(ORG).await.unwrap().unwrap();
    assert_eq!(stored.time_zone, "Asia/Kolkata");
    assert_eq!(store.users(ORG).await.unwrap().len(), 1);
    assert_eq!(store.get_user(ORG, ADMIN).await.unwrap().unwrap().full_name(), "Mara Quist");
    assert!(store.get_user(OTHER_ORG, ADMIN).await.unwrap().is_none());
}

pub async fn tokens_resolve_expire_and_stay_unknown(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = Utc::now();
    store.insert_access_token(token("1000.short", ORG, ADMIN, Some(now + Duration::seconds(60)))).await.unwrap();
    match store.lookup_token(&hash_token("1000.first"), now).await.unwrap() {
        TokenLookup::Valid(principal) => {
            assert_eq!((principal.org, principal.user), (ORG, ADMIN));
            assert_eq!(principal.scopes, ["ZohoCRM.bulk.ALL"]);
        }
        other => panic!("bootstrap token: {other:?}"),
    }
    assert!(matches!(store.lookup_token(&hash_token("1000.short"), now).await.unwrap(), TokenLookup::Valid(_)));
    let later = now + Duration::seconds(61);
    assert_eq!(store.lookup_token(&hash_token("1000.short"), later).await.unwrap(), TokenLookup::Expired);
    assert_eq!(store.lookup_token(&hash_token("1000.nope"), now).await.unwrap(), TokenLookup::Unknown);
}

pub async fn reserved_ids_never_overlap(store: Arc<dyn Store>) {
    let a = store.reserve_ids(10).await.unwrap();
    let b = store.reserve_ids(5).await.unwrap();
    assert!(b >= a + 10, "{a} then {b}");
    assert_eq!(a.to_string().len(), 19);
}

pub async fn uploads_are_scoped_by_org(store: Arc<dyn Store>) {
    with_org(&store).await;
    let upload = Upload {
        file_id: FileId::new(5_725_767_000_000_009_001),
        org: ORG,
        user: ADMIN,
        blob_key: "uploads/x.zip".into(),
        file_name: "leads.zip".into(),
        size: 42,
        entries: Vec::new(),
        created_at: Utc::now(),
    };
    store.insert_upload(upload.clone()).await.unwrap();
    let found = store.get_upload(ORG, upload.file_id).await.unwrap().unwrap();
    assert_eq!(found.blob_key, "uploads/x.zip");
    assert_eq!(found.size, 42);
    assert!(store.get_upload(OTHER_ORG, upload.file_id).await.unwrap().is_none());
}

pub async fn jobs_are_scoped_by_org_and_claimed_in_order(store: Arc<dyn Store>) {
    with_org(&store).await;
    let first = new_job(&store, 1001, ORG, spec(false, Operation::Insert, None)).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = new_job(&store, 1000, ORG, spec(false, Operation::Insert, None)).await;
    let stored = store.get_job(ORG, first).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Queued);
    assert_eq!(stored.resources, [ResourceProgress::pending()]);
    assert!(store.get_job(OTHER_ORG, first).await.unwrap().is_none());
    let (claimed, _) = claim(&store, "w1").await.unwrap();
    assert_eq!(claimed.id, first, "oldest first");
    assert_eq!(claimed.state, JobState::Running);
    assert_eq!(claimed.attempts, 1);
    let (claimed, _) = claim(&store, "w2").await.unwrap();
    assert_eq!(claimed.id, second);
    assert!(claim(&store, "w3").await.is_none());
}

pub async fn a_lease_fences_every_write(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 2000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let stale = Lease { owner: "someone-else".into(), ..lease.clone() };
    let lost = |result: StoreResult<()>| matches!(result, Err(StoreError::LeaseLost));
    assert!(lost(store.renew_lease(&stale, Utc::now()).await));
    assert!(lost(store.start_resource(&stale, 0).await));
    assert!(lost(store.set_character_encoding(&stale, "UTF-8").await));
    assert!(matches!(
        store.apply_chunk(&stale, chunk(Operation::Insert, vec![row(1, "A", "")], 1)).await,
        Err(StoreError::LeaseLost)
    ));
    assert!(lost(store.complete_job(&stale, "results/x.zip", Utc::now()).await));
    assert!(all_rows(&store, job).await.is_empty(), "nothing was written");
    store.renew_lease(&lease, Utc::now() + Duration::seconds(30)).await.unwrap();
    store.complete_job(&lease, "results/x.zip", Utc::now()).await.unwrap();
    assert!(lost(store.renew_lease(&lease, Utc::now()).await), "a finished job holds no lease");
}

pub async fn an_expired_lease_is_taken_over(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 3000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, old) = store.claim_next_job("dead", Utc::now(), Duration::milliseconds(1)).await.unwrap().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (taken, new) = claim(&store, "alive").await.expect("expired lease is claimable");
    assert_eq!(taken.id, job);
    assert_eq!(taken.attempts, 2);
    assert!(matches!(
        store.apply_chunk(&old, chunk(Operation::Insert, vec![row(1, "A", "")], 1)).await,
        Err(StoreError::LeaseLost)
    ));
    store.apply_chunk(&new, chunk(Operation::Insert, vec![row(1, "A", "")], 1)).await.unwrap();
}

pub async fn released_and_requeued_jobs_run_again(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 4000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.release_job(&lease).await.unwrap();
    assert_eq!(store.get_job(ORG, job).await.unwrap().unwrap().state, JobState::Queued);
    let (_, _running) = claim(&store, "w2").await.unwrap();
    assert_eq!(store.requeue_running_jobs().await.unwrap(), 1);
    let (again, _) = claim(&store, "w3").await.unwrap();
    assert_eq!(again.id, job);
    assert_eq!(again.attempts, 3);
}

pub async fn chunks_write_records_results_and_checkpoints(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 5000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    store.set_character_encoding(&lease, "UTF-8").await.unwrap();
    let mut bad = row(2, "", "b@x.co");
    bad.errors.push(bulkwrite_core::result::RowError::new(
        bulkwrite_core::result::RowErrorCode::MandatoryNotFound,
        "Last_Name",
    ));
    let outcome =
        store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "A", "a@x.co"), bad], 2)).await.unwrap();
    assert_eq!(outcome, ChunkOutcome { added: 1, updated: 0, skipped: 1 });
    let stored = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!(stored.character_encoding.as_deref(), Some("UTF-8"));
    assert_eq!(
        stored.resources[0],
        ResourceProgress { state: ResourceState::Running, rows_done: 2, added: 1, updated: 0, skipped: 1 }
    );
    let rows = all_rows(&store, job).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].status, RowStatus::Added);
    assert_eq!(rows[1].errors, "MANDATORY_NOT_FOUND-Last_Name");
    let record_id = rows[0].record_id.unwrap();
    let record = store.get_record(ORG, "Leads", record_id).await.unwrap().unwrap();
    assert_eq!(record.values["Email"], "a@x.co");
    assert_eq!(record.owner, ADMIN);
    assert_eq!(record.layout_id.as_deref(), Some("5725767000000002100"));
    assert!(store.get_record(OTHER_ORG, "Leads", record_id).await.unwrap().is_none());
    assert!(store.get_record(ORG, "Contacts", record_id).await.unwrap().is_none());
    assert_eq!(store.result_rows(ORG, job, 0, 1, 10).await.unwrap().len(), 1, "paging after a row number");
    assert!(store.result_rows(OTHER_ORG, job, 0, 0, 10).await.is_err());
    store.finish_resource(&lease, 0).await.unwrap();
    assert_eq!(store.get_job(ORG, job).await.unwrap().unwrap().resources[0].state, ResourceState::Done);
}

pub async fn duplicates_are_caught_across_chunks(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 6000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "A", "dup@x.co")], 1)).await.unwrap();
    let outcome = store
        .apply_chunk(&lease, chunk(Operation::Insert, vec![row(2, "B", "DUP@x.co"), row(3, "C", "dup@x.co")], 3))
        .await
        .unwrap();
    assert_eq!(outcome.skipped, 2);
    let rows = all_rows(&store, job).await;
    assert_eq!(rows[1].errors, "DUPLICATE_DATA-Email");
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 1);
}

pub async fn updates_and_upserts_change_records_and_keys(store: Arc<dyn Store>) {
    with_org(&store).await;
    let seed_job = new_job(&store, 7000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.apply_chunk(&lease, chunk(Operation::Insert, vec![row(1, "Old", "old@x.co")], 1)).await.unwrap();
    let id = all_rows(&store, seed_job).await[0].record_id.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();

    let upsert_job = new_job(&store, 7001, ORG, spec(false, Operation::Upsert, Some("Email"))).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let find = |mut r: RowDraft| {
        let key = r.unique_keys[0].clone();
        r.find_key = Some(FindKey::Unique { field: key.field, value: key.value, column: key.column });
        r
    };
    let outcome = store
        .apply_chunk(
            &lease,
            chunk(Operation::Upsert, vec![find(row(1, "New", "old@x.co")), find(row(2, "Fresh", "new@x.co"))], 2),
        )
        .await
        .unwrap();
    assert_eq!((outcome.added, outcome.updated), (1, 1));
    let rows = store.result_rows(ORG, upsert_job, 0, 0, 10).await.unwrap();
    assert_eq!(rows[0].record_id, Some(id));
    assert_eq!(rows[0].status, RowStatus::Updated);
    assert_eq!(store.get_record(ORG, "Leads", id).await.unwrap().unwrap().values["Last_Name"], "New");

    // Moving the unique value: the old key is free again, the new one is taken.
    let mut moved = row(3, "Moved", "moved@x.co");
    moved.find_key = Some(FindKey::Id { id, column: "id".into() });
    store
        .apply_chunk(
            &lease,
            chunk(
                Operation::Upsert,
                vec![moved, find(row(4, "Reuse", "old@x.co")), find(row(5, "Dup", "moved@x.co"))],
                5,
            ),
        )
        .await
        .unwrap();
    let rows = store.result_rows(ORG, upsert_job, 0, 2, 10).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.status).collect::<Vec<_>>(),
        [RowStatus::Updated, RowStatus::Added, RowStatus::Updated]
    );
    assert_eq!(rows[2].record_id, Some(id), "found by its new key");
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 3);
    assert_eq!(store.get_record(ORG, "Leads", id).await.unwrap().unwrap().values["Last_Name"], "Dup");
}

pub async fn completing_queues_one_callback(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 8000, ORG, spec(true, Operation::Insert, None)).await;
    let silent = new_job(&store, 8001, ORG, spec(false, Operation::Insert, None)).await;
    for _ in 0..2 {
        let (_, lease) = claim(&store, "w1").await.unwrap();
        store.complete_job(&lease, "results/x.zip", Utc::now()).await.unwrap();
    }
    let stored = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Succeeded);
    assert_eq!(stored.result_blob.as_deref(), Some("results/x.zip"));
    assert!(stored.finished_at.is_some());
    let due = store.claim_due_callbacks("d1", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].job, due[0].attempts), (job, 0));
    assert!(store.claim_due_callbacks("d2", Utc::now(), Duration::seconds(30), 10).await.unwrap().is_empty(), "leased");
    assert!(store.callback_report(ORG, silent).await.unwrap().is_none());
    assert!(store.callback_report(OTHER_ORG, job).await.unwrap().is_none());
}

pub async fn failing_marks_resources_and_queues_the_callback(store: Arc<dyn Store>) {
    with_org(&store).await;
    let mut two = spec(true, Operation::Insert, None);
    two.resources.push(two.resources[0].clone());
    let job = new_job(&store, 9000, ORG, two).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.start_resource(&lease, 0).await.unwrap();
    store.fail_job(&lease, "the file cannot be read", None, Utc::now()).await.unwrap();
    let stored = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Failed);
    assert_eq!(stored.error.as_deref(), Some("the file cannot be read"));
    assert_eq!(
        stored.resources.iter().map(|r| r.state).collect::<Vec<_>>(),
        [ResourceState::Failed, ResourceState::Skipped]
    );
    assert_eq!(store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap().len(), 1);
}

pub async fn callback_attempts_are_recorded_and_retried(store: Arc<dyn Store>) {
    with_org(&store).await;
    let job = new_job(&store, 10_000, ORG, spec(true, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    store.complete_job(&lease, "r", Utc::now()).await.unwrap();
    let due = store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    let now = Utc::now();
    let failed = CallbackAttempt { attempt: 1, at: now, status: Some(503), error: Some("busy".into()), duration_ms: 3 };
    store
        .record_callback_attempt(&due[0], failed, DeliveryOutcome::RetryAt(now + Duration::milliseconds(50)))
        .await
        .unwrap();
    assert!(store.claim_due_callbacks("d", now, Duration::seconds(30), 10).await.unwrap().is_empty(), "not due yet");
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    let again = store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    assert_eq!(again[0].attempts, 1);
    let ok = CallbackAttempt { attempt: 2, at: Utc::now(), status: Some(200), error: None, duration_ms: 2 };
    store.record_callback_attempt(&again[0], ok, DeliveryOutcome::Delivered).await.unwrap();
    let report = store.callback_report(ORG, job).await.unwrap().unwrap();
    assert_eq!(report.state, "delivered");
    assert_eq!(report.attempts.iter().map(|a| a.status).collect::<Vec<_>>(), [Some(503), Some(200)]);
    assert!(store
        .claim_due_callbacks("d", Utc::now() + Duration::hours(1), Duration::seconds(30), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn records_page_and_sort(store: Arc<dyn Store>) {
    with_org(&store).await;
    new_job(&store, 11_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let rows = (1..=5).map(|n| row(n, &format!("N{n}"), "")).collect();
    store.apply_chunk(&lease, chunk(Operation::Insert, rows, 5)).await.unwrap();
    let query =
        |page, per_page, descending| RecordQuery { page, per_page, sort_by: RecordSort::Id, descending, ids: None, offset: None };
    let first = store.list_records(ORG, "Leads", &query(1, 2, false)).await.unwrap();
    assert_eq!(first.records.len(), 2);
    assert!(first.more_records);
    let last = store.list_records(ORG, "Leads", &query(3, 2, false)).await.unwrap();
    assert_eq!(last.records.len(), 1);
    assert!(!last.more_records);
    let from_offset = store.list_records(ORG, "Leads", &RecordQuery { offset: Some(3), ..query(1, 10, false) }).await.unwrap();
    assert_eq!(from_offset.records[0].values["Last_Name"], "N4", "an offset overrides the page");
    let newest = store.list_records(ORG, "Leads", &query(1, 1, true)).await.unwrap();
    assert_eq!(newest.records[0].values["Last_Name"], "N5");
    let ids = vec![first.records[1].id, RecordId::new(1)];
    let picked =
        store.list_records(ORG, "Leads", &RecordQuery { ids: Some(ids), ..query(1, 10, false) }).await.unwrap();
    assert_eq!(picked.records.len(), 1);
    assert!(store.list_records(OTHER_ORG, "Leads", &query(1, 10, false)).await.unwrap().records.is_empty());
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 5);
}

pub async fn lookups_find_records_by_id_key_and_value(store: Arc<dyn Store>) {
    use bulkwrite_core::lookup::{LookupBy, LookupQuery};
    with_org(&store).await;
    new_job(&store, 12_000, ORG, spec(false, Operation::Insert, None)).await;
    let (_, lease) = claim(&store, "w1").await.unwrap();
    let account = |row_no: u64, name: &str, site: &str| {
        let mut draft = row(row_no, name, "");
        draft.values.clear();
        draft.values.insert("Account_Name".into(), json!(name));
        draft.values.insert("Account_Site".into(), json!(site));
        draft.unique_keys =
            vec![UniqueKey { field: "Account_Name".into(), value: name.to_lowercase(), column: "Name".into() }];
        draft
    };
    let mut accounts = chunk(
        Operation::Insert,
        vec![account(1, "Zylker", "Paris"), account(2, "Acme", "paris "), account(3, "Initech", "Oslo")],
        3,
    );
    accounts.module = "Accounts".into();
    store.apply_chunk(&lease, accounts).await.unwrap();
    let query = |field: &str, by, values: &[&str]| LookupQuery {
        module: "Accounts".into(),
        field: field.into(),
        by,
        values: values.iter().map(|v| v.to_string()).collect(),
        display_field: "Account_Name".into(),
    };
    let mut by_key =
        store.find_records(ORG, &query("Account_Name", LookupBy::UniqueKey, &["zylker", "nobody"])).await.unwrap();
    assert_eq!(by_key.len(), 1);
    let (value, zylker) = by_key.remove(0);
    assert_eq!((value.as_str(), zylker.name.as_deref()), ("zylker", Some("Zylker")));
    let by_id = store.find_records(ORG, &query("id", LookupBy::Id, &[&zylker.id.to_string(), "1"])).await.unwrap();
    assert_eq!(by_id, [(zylker.id.to_string(), zylker.clone())]);
    let by_value = store.find_records(ORG, &query("Account_Site", LookupBy::Value, &["paris"])).await.unwrap();
    assert_eq!(by_value.len(), 2, "both Paris accounts: ambiguity is the caller's to report");
    assert!(store
        .find_records(OTHER_ORG, &query("Account_Name", LookupBy::UniqueKey, &["zylker"]))
        .await
        .unwrap()
        .is_empty());

    let phone = |row_no: u64, parent: RecordId, number: &str| {
        let mut draft = row(row_no, number, "");
        draft.values.clear();
        draft.values.insert("Parent_Id".into(), json!({"name": "Zylker", "id": parent.to_string()}));
        draft.values.insert("Number".into(), json!(number));
        draft
    };
    let mut phones = chunk(
        Operation::Insert,
        vec![phone(4, zylker.id, "1"), phone(5, zylker.id, "2"), phone(6, RecordId::new(1), "3")],
        6,
    );
    phones.module = "Account_Phones".into();
    store.apply_chunk(&lease, phones).await.unwrap();
    let children = store.child_records(ORG, "Account_Phones", "Parent_Id", zylker.id).await.unwrap();
    assert_eq!(children.iter().map(|c| c.values["Number"].clone()).collect::<Vec<_>>(), [json!("1"), json!("2")]);
    assert!(store.child_records(OTHER_ORG, "Account_Phones", "Parent_Id", zylker.id).await.unwrap().is_empty());
}

fn client(id: &str, zgid: OrgId, user: UserId) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        org: zgid,
        user,
        secret_hash: hash_token("secret"),
        name: "Self Client".into(),
        kind: ClientKind::SelfClient,
        redirect_uris: vec!["https://app.example.com/cb".into()],
        created_at: Utc::now(),
    }
}

pub async fn grant_codes_redeem_once_and_expire(store: Arc<dyn Store>) {
    with_org(&store).await;
    store.create_client(client("1000.SELF", ORG, ADMIN)).await.unwrap();
    let now = Utc::now();
    let grant = |code: &str, expires_at| GrantCode {
        code_hash: hash_token(code),
        client_id: "1000.SELF".into(),
        org: ORG,
        user: ADMIN,
        scopes: vec!["ZohoCRM.bulk.ALL".into(), "ZohoFiles.files.ALL".into()],
        redirect_uri: None,
        expires_at,
    };
    store.insert_grant(grant("1000.code", now + Duration::minutes(3))).await.unwrap();
    store.insert_grant(grant("1000.old", now - Duration::seconds(1))).await.unwrap();
    let redeemed = store.redeem_grant(&hash_token("1000.code"), now).await.unwrap().expect("a fresh code");
    assert_eq!(redeemed.scopes, ["ZohoCRM.bulk.ALL", "ZohoFiles.files.ALL"]);
    assert_eq!((redeemed.org, redeemed.user), (ORG, ADMIN));
    assert!(store.redeem_grant(&hash_token("1000.code"), now).await.unwrap().is_none(), "one use only");
    assert!(store.redeem_grant(&hash_token("1000.old"), now).await.unwrap().is_none(), "expired");
    assert!(store.redeem_grant(&hash_token("1000.none"), now).await.unwrap().is_none());
}

pub async fn revoking_a_refresh_token_revokes_its_access_tokens(store: Arc<dyn Store>) {
    with_org(&store).await;
    let refresh = RefreshToken {
        token_hash: hash_token("1000.refresh"),
        client_id: "1000.SELF".into(),
        org: ORG,
        user: ADMIN,
        scopes: vec!["ZohoCRM.bulk.ALL".into()],
        created_at: Utc::now(),
    };
    store.insert_refresh_token(refresh).await.unwrap();
    let mut minted = token("1000.minted", ORG, ADMIN, Some(Utc::now() + Duration::hours(1)));
    minted.refresh_hash = Some(hash_token("1000.refresh"));
    minted.client_id = Some("1000.SELF".into());
    store.insert_access_token(minted).await.unwrap();
    store.insert_access_token(token("1000.other", ORG, ADMIN, None)).await.unwrap();
    assert_eq!(
        store.get_refresh_token(&hash_token("1000.refresh")).await.unwrap().unwrap().scopes,
        ["ZohoCRM.bulk.ALL"]
    );
    assert_eq!(store.revoke_token(&hash_token("1000.refresh")).await.unwrap(), Revoked::Refresh);
    assert!(store.get_refresh_token(&hash_token("1000.refresh")).await.unwrap().is_none());
    assert_eq!(store.lookup_token(&hash_token("1000.minted"), Utc::now()).await.unwrap(), TokenLookup::Unknown);
    assert!(matches!(store.lookup_token(&hash_token("1000.other"), Utc::now()).await.unwrap(), TokenLookup::Valid(_)));
    assert_eq!(store.revoke_token(&hash_token("1000.other")).await.unwrap(), Revoked::Access);
    assert_eq!(store.revoke_token(&hash_token("1000.other")).await.unwrap(), Revoked::Unknown);
}

pub async fn orgs_users_and_clients(store: Arc<dyn Store>) {
    with_org(&store).await;
    store.create_org(org(OTHER_ORG), user(OTHER_ADMIN, OTHER_ORG), standard_schema()).await.unwrap();
    let zgids: Vec<OrgId> = store.orgs().await.unwrap().iter().map(|o| o.zgid).collect();
    assert_eq!(zgids, [ORG, OTHER_ORG]);
    let mut second = user(UserId::new(5_725_767_000_000_000_102), ORG);
    second.email = "second@example.com".into();
    store.create_user(second.clone()).await.unwrap();
    let mut clash = user(UserId::new(5_725_767_000_000_000_103), ORG);
    clash.email = "SECOND@example.com".into();
    assert!(matches!(store.create_user(clash).await, Err(StoreError::Conflict(_))), "emails are unique per org");
    assert_eq!(store.users(ORG).await.unwrap().len(), 2);
    store.set_password_hash(ORG, second.id, Some("hash".into())).await.unwrap();
    let (found, hash) = store.user_by_email(ORG, "Second@Example.com").await.unwrap().unwrap();
    assert_eq!((found.id, hash.as_deref()), (second.id, Some("hash")));
    assert!(store.user_by_email(OTHER_ORG, "second@example.com").await.unwrap().is_none());
    store.create_client(client("1000.A", ORG, ADMIN)).await.unwrap();
    store.create_client(client("1000.B", OTHER_ORG, OTHER_ADMIN)).await.unwrap();
    let mine = store.clients(ORG).await.unwrap();
    assert_eq!(mine.iter().map(|c| c.client_id.as_str()).collect::<Vec<_>>(), ["1000.A"]);
    let got = store.get_client("1000.B").await.unwrap().unwrap();
    assert_eq!((got.org, got.kind, got.redirect_uris.len()), (OTHER_ORG, ClientKind::SelfClient, 1));
}

pub async fn schemas_round_trip(store: Arc<dyn Store>) {
    with_org(&store).await;
    let mut schema = store.org_schema(ORG).await.unwrap();
    assert_eq!(schema, standard_schema());
    let podcast = vec!["Podcast".to_string()];
    store.add_picklist_values(ORG, "Leads", "Lead_Source", &podcast).await.unwrap();
    store.add_picklist_values(ORG, "Leads", "Lead_Source", &podcast).await.unwrap();
    let grown = store.org_schema(ORG).await.unwrap();
    let values = &grown.module("Leads").unwrap().field("Lead_Source").unwrap().pick_list_values;
    assert_eq!(values.iter().filter(|v| *v == "Podcast").count(), 1);
    let refused = store.update_org_schema(ORG, Box::new(|schema| {
        schema.modules.clear();
        Err("no".to_string())
    }));
    assert_eq!(refused.await.unwrap(), Err("no".to_string()));
    assert!(!store.org_schema(ORG).await.unwrap().modules.is_empty(), "a refused change leaves the schema");
    let changed = store.update_org_schema(ORG, Box::new(|schema| {
        schema.modules.retain(|m| m.api_name != "Deals");
        Ok(())
    }));
    assert!(changed.await.unwrap().unwrap().module("Deals").is_none());
    assert!(store.org_schema(ORG).await.unwrap().module("Deals").is_none());
    schema.modules.retain(|m| m.api_name == "Leads");
    store.save_org_schema(ORG, &schema).await.unwrap();
    assert_eq!(store.org_schema(ORG).await.unwrap().modules.len(), 1);
    assert!(store.save_org_schema(OTHER_ORG, &schema).await.is_err());
}
