//! Conformance cases of the callback inbox ([`InboxStore`]) and of reset and snapshots
//! ([`OrgStateStore`]): kept per org, replays queued once, a reset that touches one org only,
//! and a restore that brings back exactly what was copied.

use std::collections::BTreeMap;
use std::sync::Arc;

use bulkwrite_core::ids::RecordId;
use chrono::{Duration, Utc};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(name, value)| ((*name).to_string(), (*value).to_string())).collect()
}

/// A finished job of `zgid` with a callback (when asked) and one record written, `Boyle`.
async fn finished_job(store: &Arc<dyn Store>, id: u64, zgid: OrgId, callback: bool) -> (JobId, RecordId) {
    let job = new_job(store, id, zgid, spec(callback, Operation::Insert, None)).await;
    let (_, lease) = store
        .claim_next_job(&Claim::new("w", Utc::now(), Duration::seconds(30)))
        .await
        .unwrap()
        .expect("the job is claimed");
    assert_eq!(lease.job, job);
    store.start_resource(&lease, 0).await.unwrap();
    let mut write = chunk(Operation::Insert, vec![row(1, "Boyle", &format!("boyle{id}@x.co"))], 1);
    if zgid != ORG {
        write.default_owner = OTHER_ADMIN;
        write.actor = OTHER_ADMIN;
    }
    let outcome = store.apply_chunk(&lease, write).await.unwrap();
    let record = outcome.results[0].record_id.expect("added");
    store.finish_resource(&lease, 0, 1).await.unwrap();
    store.complete_job(&lease, &format!("results/{zgid}/{id}.zip"), Utc::now()).await.unwrap();
    (job, record)
}

pub async fn callback_exchanges_are_kept_and_a_replay_queues_one_more_attempt(store: Arc<dyn Store>) {
    with_org(&store).await;
    let (job, _) = finished_job(&store, 40_000, ORG, true).await;
    let due = store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    assert_eq!((due.len(), due[0].replay_from), (1, 0));
    let now = Utc::now();
    let request = CallbackRequest {
        url: "https://hooks.example.com/cb".into(),
        method: "POST".into(),
        headers: headers(&[("content-type", "application/json")]),
        body: "{\"id\":\"40000\"}".into(),
        time: now,
        replay: false,
    };
    let response = CallbackResponse {
        status: 200,
        headers: headers(&[("x-seen", "yes")]),
        body: "ok".into(),
        truncated: false,
        time: now,
    };
    let attempt = CallbackAttempt {
        attempt: 1,
        at: now,
        status: Some(200),
        error: None,
        duration_ms: 4,
        request: Some(request.clone()),
        response: Some(response.clone()),
    };
    store.record_callback_attempt(&due[0], attempt, DeliveryOutcome::Delivered).await.unwrap();
    let report = store.callback_report(ORG, job).await.unwrap().unwrap();
    assert_eq!(report.attempts[0].request.as_ref(), Some(&request), "the request reads back as sent");
    assert_eq!(report.attempts[0].response.as_ref(), Some(&response));

    assert_eq!(store.replay_callback(OTHER_ORG, job, now).await.unwrap(), ReplayOutcome::NoJob);
    assert_eq!(store.replay_callback(ORG, JobId::new(1), now).await.unwrap(), ReplayOutcome::NoJob);
    assert_eq!(store.replay_callback(ORG, job, now).await.unwrap(), ReplayOutcome::Queued { attempt: 2 });
    assert_eq!(
        store.replay_callback(ORG, job, now).await.unwrap(),
        ReplayOutcome::Queued { attempt: 2 },
        "asked twice before it went, one attempt is queued"
    );
    let again = store.claim_due_callbacks("d", Utc::now(), Duration::seconds(30), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].attempts, again[0].replay_from), (1, 1), "the retry budget counts from the replay");
    assert_eq!(store.callback_report(ORG, job).await.unwrap().unwrap().state, "pending");

    let (quiet, _) = finished_job(&store, 40_001, ORG, false).await;
    assert_eq!(store.replay_callback(ORG, quiet, now).await.unwrap(), ReplayOutcome::NoCallback);
    let unfinished = new_job(&store, 40_002, ORG, spec(true, Operation::Insert, None)).await;
    assert_eq!(store.replay_callback(ORG, unfinished, now).await.unwrap(), ReplayOutcome::Unfinished);
}

pub async fn inbox_deliveries_are_kept_per_org_and_cleared(store: Arc<dyn Store>) {
    with_org(&store).await;
    // Whole milliseconds: what both backends keep of an instant.
    let at = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    let delivery = |org: Option<OrgId>, body: &str| InboxDelivery {
        name: "hooks".into(),
        org,
        job: org.map(|_| JobId::new(7)),
        received_at: at,
        headers: headers(&[("content-type", "application/json")]),
        body: body.into(),
    };
    store.add_inbox_delivery(delivery(Some(ORG), "mine")).await.unwrap();
    store.add_inbox_delivery(delivery(Some(OTHER_ORG), "theirs")).await.unwrap();
    store.add_inbox_delivery(delivery(None, "anyone's")).await.unwrap();
    let mut elsewhere = delivery(Some(ORG), "other inbox");
    elsewhere.name = "other".into();
    store.add_inbox_delivery(elsewhere).await.unwrap();

    let bodies = |list: Vec<InboxDelivery>| list.into_iter().map(|d| d.body).collect::<Vec<_>>();
    assert_eq!(bodies(store.inbox_deliveries("hooks", Some(ORG)).await.unwrap()), ["mine", "anyone's"]);
    assert_eq!(bodies(store.inbox_deliveries("hooks", None).await.unwrap()), ["mine", "theirs", "anyone's"]);
    let first = &store.inbox_deliveries("hooks", Some(ORG)).await.unwrap()[0];
    assert_eq!(first, &delivery(Some(ORG), "mine"), "a delivery reads back as stored");
    assert_eq!(store.clear_inbox("hooks", Some(ORG)).await.unwrap(), 2);
    assert_eq!(bodies(store.inbox_deliveries("hooks", None).await.unwrap()), ["theirs"]);
    assert_eq!(bodies(store.inbox_deliveries("other", Some(ORG)).await.unwrap()), ["other inbox"]);
}

pub async fn a_reset_removes_the_orgs_state_and_nothing_else(store: Arc<dyn Store>) {
    with_org(&store).await;
    store.create_org(org(OTHER_ORG), user(OTHER_ADMIN, OTHER_ORG), standard_schema()).await.unwrap();
    store.insert_access_token(token("1000.second", ORG, ADMIN, None)).await.unwrap();
    store.insert_access_token(token("1000.theirs", OTHER_ORG, OTHER_ADMIN, None)).await.unwrap();
    let (job, record) = finished_job(&store, 41_000, ORG, true).await;
    let (their_job, their_record) = finished_job(&store, 41_001, OTHER_ORG, true).await;
    let inbox = |org| InboxDelivery {
        name: "hooks".into(),
        org: Some(org),
        job: None,
        received_at: Utc::now(),
        headers: BTreeMap::new(),
        body: String::new(),
    };
    store.add_inbox_delivery(inbox(ORG)).await.unwrap();
    store.add_inbox_delivery(inbox(OTHER_ORG)).await.unwrap();

    let keep = Keep { token_hash: Some(hash_token("1000.first")) };
    let summary = store.reset_org(ORG, &keep).await.unwrap();
    assert_eq!((summary.records, summary.jobs), (1, 1));
    assert!(summary.rows > 5, "{summary:?}");
    assert!(store.get_record(ORG, "Leads", record).await.unwrap().is_none());
    assert!(store.get_job(ORG, job).await.unwrap().is_none());
    assert!(store.callback_report(ORG, job).await.unwrap().is_none());
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 0);
    assert!(store.inbox_deliveries("hooks", Some(ORG)).await.unwrap().is_empty());
    let now = Utc::now();
    assert!(matches!(store.lookup_token(&hash_token("1000.first"), now).await.unwrap(), TokenLookup::Valid(_)));
    assert!(matches!(store.lookup_token(&hash_token("1000.second"), now).await.unwrap(), TokenLookup::Unknown));
    assert_eq!(store.users(ORG).await.unwrap().len(), 1, "users are metadata and stay");
    assert!(store.org_schema(ORG).await.unwrap().module("Leads").is_some(), "the schema stays");
    assert_eq!(store.expired_blobs(10).await.unwrap(), [format!("results/{ORG}/41000.zip")], "its blob is queued");

    // The other org is untouched.
    assert!(store.get_record(OTHER_ORG, "Leads", their_record).await.unwrap().is_some());
    assert!(store.get_job(OTHER_ORG, their_job).await.unwrap().is_some());
    assert!(store.callback_report(OTHER_ORG, their_job).await.unwrap().is_some());
    assert_eq!(store.inbox_deliveries("hooks", Some(OTHER_ORG)).await.unwrap().len(), 1);
    assert!(matches!(store.lookup_token(&hash_token("1000.theirs"), now).await.unwrap(), TokenLookup::Valid(_)));

    // A new record of the reset org takes its unique key again.
    finished_job(&store, 41_000 + 2, ORG, false).await;
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 1);
}

pub async fn a_restored_snapshot_brings_back_exactly_what_it_copied(store: Arc<dyn Store>) {
    with_org(&store).await;
    store.create_org(org(OTHER_ORG), user(OTHER_ADMIN, OTHER_ORG), standard_schema()).await.unwrap();
    let (job, record) = finished_job(&store, 42_000, ORG, true).await;
    let stored_record = store.get_record(ORG, "Leads", record).await.unwrap().unwrap();
    let stored_job = store.get_job(ORG, job).await.unwrap().unwrap();
    let stored_rows = all_rows(&store, job).await;
    let now = Utc::now();
    let info = store.create_snapshot(ORG, "clean", now).await.unwrap();
    assert_eq!((info.name.as_str(), info.records, info.jobs), ("clean", 1, 1));
    assert!(info.rows > info.records + info.jobs);
    let taken = store.create_snapshot(ORG, "clean", now).await.unwrap_err();
    assert!(matches!(taken, StoreError::Conflict(_)), "{taken:?}");
    assert!(store.snapshots(OTHER_ORG).await.unwrap().is_empty(), "snapshots are per org");

    // Change the org: another job and record, then a reset (the snapshot keeps its blob).
    let (later_job, later_record) = finished_job(&store, 42_001, ORG, false).await;
    store.reset_org(ORG, &Keep::default()).await.unwrap();
    assert_eq!(
        store.expired_blobs(10).await.unwrap(),
        [format!("results/{ORG}/42001.zip")],
        "a blob the snapshot names is not deleted"
    );
    let (their_job, _) = finished_job(&store, 42_002, OTHER_ORG, false).await;

    let restored = store.restore_snapshot(ORG, "clean", &Keep::default()).await.unwrap().unwrap();
    assert_eq!(restored, info);
    assert_eq!(store.get_record(ORG, "Leads", record).await.unwrap().as_ref(), Some(&stored_record));
    assert!(store.get_record(ORG, "Leads", later_record).await.unwrap().is_none());
    assert!(store.get_job(ORG, later_job).await.unwrap().is_none());
    let job_now = store.get_job(ORG, job).await.unwrap().unwrap();
    assert_eq!((job_now.state, job_now.resources.clone()), (stored_job.state, stored_job.resources.clone()));
    assert_eq!(all_rows(&store, job).await, stored_rows, "result rows come back");
    assert_eq!(store.callback_report(ORG, job).await.unwrap().unwrap().state, "pending");
    assert!(matches!(store.lookup_token(&hash_token("1000.first"), Utc::now()).await.unwrap(), TokenLookup::Valid(_)));
    assert!(store.get_job(OTHER_ORG, their_job).await.unwrap().is_some(), "another org's state stays");
    // Restoring twice is the same state again (the snapshot stays).
    store.restore_snapshot(ORG, "clean", &Keep::default()).await.unwrap().unwrap();
    assert_eq!(store.count_records(ORG, "Leads").await.unwrap(), 1);

    assert!(store.restore_snapshot(ORG, "missing", &Keep::default()).await.unwrap().is_none());
    assert_eq!(store.snapshots(ORG).await.unwrap().iter().map(|s| s.name.clone()).collect::<Vec<_>>(), ["clean"]);
    store.reset_org(ORG, &Keep::default()).await.unwrap();
    assert!(store.delete_snapshot(ORG, "clean").await.unwrap());
    assert!(!store.delete_snapshot(ORG, "clean").await.unwrap());
    let mut queued = store.expired_blobs(10).await.unwrap();
    queued.sort();
    assert_eq!(
        queued,
        [format!("results/{ORG}/42000.zip"), format!("results/{ORG}/42001.zip")],
        "once no snapshot names it, the blob goes"
    );
    assert!(store.snapshots(ORG).await.unwrap().is_empty());
}
