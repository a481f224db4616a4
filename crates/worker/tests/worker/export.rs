//! Bulk Read jobs run by the same worker as write jobs: the export selects by criteria, writes
//! `id` first, pages with `more_records` and a token, and a run killed half-way is resumed
//! after its last committed part with every record exported once, in id order.

use std::io::Read;

use bulkwrite_core::ids::JobId;
use bulkwrite_core::readspec::{parse_read_body, validate_read, ReadContext};
use bulkwrite_core::state::JobState;
use bulkwrite_store::{JobKind, NewReadJob};
use bulkwrite_worker::{RunOutcome, WorkerConfig};
use serde_json::{json, Value};

use super::fixture::*;

/// `rows` leads written by a bulk write job run by the same worker.
async fn with_leads(env: &Env, rows: usize) {
    let (_, job) = env.leads_job(9_100, &leads_csv(rows), false).await;
    let worker = env.worker(config(1000));
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
}

async fn read_job(env: &Env, id: u64, body: Value, per_page: u32) -> JobId {
    let schema = env.store.org_schema(ORG).await.unwrap();
    let body = parse_read_body(body.to_string().as_bytes()).unwrap();
    let spec = validate_read(&body, &ReadContext { schema: &schema, user: ADMIN.get(), per_page }).unwrap();
    let id = JobId::new(id);
    let job =
        NewReadJob { id, org: ORG, created_by: ADMIN, api_version: "v2".into(), spec, created_at: chrono::Utc::now() };
    env.store.create_read_job(job).await.unwrap();
    id
}

/// The export's CSV rows, header first.
async fn exported(env: &Env, job: JobId) -> Vec<Vec<String>> {
    let key = env.job(job).await.result_blob.expect("a result file");
    let blob = env.blobs_local(&key).await;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(blob.path()).unwrap()).unwrap();
    assert_eq!(archive.len(), 1, "one CSV");
    assert_eq!(archive.by_index(0).unwrap().name(), format!("{job}.csv"));
    let mut text = String::new();
    archive.by_index(0).unwrap().read_to_string(&mut text).unwrap();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

fn outcome(env_job: &bulkwrite_store::Job) -> (u64, bool, Option<String>) {
    let outcome = env_job.read.as_ref().and_then(|r| r.outcome.clone()).expect("an outcome");
    (outcome.count, outcome.more_records, outcome.next_page_token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_writes_the_matching_records_id_first_and_pages() {
    let env = Env::new().await;
    with_leads(&env, 30).await;
    let body = json!({"query": {"module": "Leads", "fields": ["Last_Name", "Company", "Owner.last_name", "Created_Time"],
        "criteria": {"group_operator": "or", "group": [
            {"api_name": "Last_Name", "comparator": "ends_with", "value": "5"},
            {"api_name": "Last_Name", "comparator": "equal", "value": "Lead 00002"}]}}});
    let job = read_job(&env, 9_200, body.clone(), 200_000).await;
    assert_eq!(env.job(job).await.kind(), JobKind::Read);
    let worker = env.worker(WorkerConfig { read_part_records: 2, ..config(1000) });
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
    let rows = exported(&env, job).await;
    assert_eq!(rows[0], ["id", "Last_Name", "Company", "Owner.last_name", "Created_Time"]);
    let names: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["Lead 00002", "Lead 00005", "Lead 00015", "Lead 00025"], "matching records in id order");
    assert!(rows[1..].iter().all(|r| r[3] == "Quist"), "the owner's last name through dot notation");
    assert!(rows[1..].iter().all(|r| chrono::DateTime::parse_from_rfc3339(&r[4]).is_ok()), "ISO 8601 times");
    assert!(rows[1..].windows(2).all(|w| w[0][0].parse::<u64>().unwrap() < w[1][0].parse::<u64>().unwrap()));
    assert_eq!(outcome(&env.job(job).await), (4, false, None));

    // Pages of 3: the first says more records follow and where; the token's page has the rest.
    let paged = read_job(&env, 9_201, body.clone(), 3).await;
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((paged, RunOutcome::Completed)));
    let (count, more, token) = outcome(&env.job(paged).await);
    assert_eq!((count, more), (3, true));
    let mut next = body.clone();
    next["query"]["page_token"] = json!(token.expect("a next page token"));
    let second = read_job(&env, 9_202, next, 3).await;
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((second, RunOutcome::Completed)));
    assert_eq!(exported(&env, second).await[1..].iter().map(|r| r[1].as_str()).collect::<Vec<_>>(), ["Lead 00025"]);
    assert_eq!(outcome(&env.job(second).await), (1, false, None));
    // `page` skips whole pages without a token.
    let mut third = body;
    third["query"]["page"] = json!(2);
    let by_page = read_job(&env, 9_203, third, 3).await;
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((by_page, RunOutcome::Completed)));
    assert_eq!(exported(&env, by_page).await.len(), 2, "the header and the fourth record");
}

/// A part larger than one read from the store (1,000 records) is read batch after batch, each
/// after the last id of the one before: every record once, in id order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_read_in_several_batches_has_every_record_once_in_order() {
    let env = Env::new().await;
    with_leads(&env, 2_500).await;
    let job = read_job(&env, 9_210, json!({"query": {"module": "Leads", "fields": ["Last_Name"]}}), 200_000).await;
    let worker = env.worker(config(1000));
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
    let rows = exported(&env, job).await;
    assert_eq!(rows.len(), 1 + 2_500, "a header and every record");
    let ids: Vec<u64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "every record once, in id order");
    assert_eq!(outcome(&env.job(job).await).0, 2_500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_export_is_resumed_after_its_last_part_with_every_record_once() {
    const ROWS: usize = 3000;
    let env = Env::new().await;
    with_leads(&env, ROWS).await;
    let job = read_job(&env, 9_300, json!({"query": {"module": "Leads", "fields": ["Last_Name"]}}), 200_000).await;
    let first = env.worker(WorkerConfig { node_id: "first".into(), read_part_records: 3, ..config(1000) });
    let run = spawn_step(&first);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while env.store.read_parts(ORG, job).await.unwrap().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no part committed");
        tokio::task::yield_now().await;
    }
    // The node dies: its task is gone mid-export, and a restart requeues what it held.
    run.abort();
    let _ = run.await;
    assert_eq!(env.store.requeue_running_jobs().await.unwrap(), 1);
    let parts = env.store.read_parts(ORG, job).await.unwrap();
    assert!(!parts.is_empty() && parts.len() < ROWS / 3, "stopped half-way after {} parts", parts.len());

    let second = env.worker(WorkerConfig { node_id: "second".into(), read_part_records: 500, ..config(1000) });
    assert_eq!(second.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
    let done = env.job(job).await;
    assert_eq!((done.state, done.attempts), (JobState::Succeeded, 2));
    let rows = exported(&env, job).await;
    let mut names: Vec<String> = rows[1..].iter().map(|r| r[1].clone()).collect();
    assert_eq!(names.len(), ROWS, "no record twice");
    names.sort();
    assert_eq!(names, lead_range(1..=ROWS), "and none missed");
    assert!(
        rows[1..].windows(2).all(|w| w[0][0].parse::<u64>().unwrap() < w[1][0].parse::<u64>().unwrap()),
        "id order"
    );
    assert_eq!(outcome(&done), (ROWS as u64, false, None));
    assert!(env.store.read_parts(ORG, job).await.unwrap().is_empty(), "the parts are let go");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_whose_module_went_fails_with_the_reason() {
    let env = Env::new().await;
    let job = read_job(&env, 9_400, json!({"query": {"module": "Leads"}}), 10).await;
    let schema_change: bulkwrite_store::SchemaChange = Box::new(|schema| {
        schema.modules.retain(|m| m.api_name != "Leads");
        Ok(())
    });
    env.store.update_org_schema(ORG, schema_change).await.unwrap().unwrap();
    let worker = env.worker(config(10));
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Failed)));
    let failed = env.job(job).await;
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.error.as_deref(), Some("MODULE_NOT_AVAILABLE: Requested module 'Leads' is not available."));
    assert_eq!(
        failed.read_error_message(),
        json!({"code": "MODULE_NOT_AVAILABLE", "message": "Requested module 'Leads' is not available."}),
        "the job's details show Bulk Read's code and sentence"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_module_exports_as_ics() {
    let env = Env::new().await;
    // A mirrored org's Events module (the standard schema has none): Leads' fields under that name.
    let add_events: bulkwrite_store::SchemaChange = Box::new(|schema| {
        let mut events = schema.module("Leads").cloned().ok_or("no Leads")?;
        events.api_name = "Events".into();
        events.id = "5725767000000099001".into();
        schema.modules.push(events);
        Ok(())
    });
    env.store.update_org_schema(ORG, add_events).await.unwrap().unwrap();
    let mut draft = bulkwrite_core::mapping::RowDraft::new(1, Vec::new());
    draft.values.insert("Last_Name", json!("Standup"));
    draft.values.insert("Event_Title", json!("Standup, daily"));
    let write = bulkwrite_store::RecordWrite {
        module: "Events".into(),
        // The worker names no wire type; the operation is read from its JSON word.
        operation: serde_json::from_value(json!("insert")).unwrap(),
        rows: vec![draft],
        default_owner: ADMIN,
        default_layout: None,
        actor: ADMIN,
        now: chrono::Utc::now(),
        full_name: false,
    };
    let written = env.store.write_records(ORG, write).await.unwrap();
    let event_id = written[0].record_id.expect("the event was written");
    let body = json!({"file_type": "ics", "query": {"module": "Events"}});
    let job = read_job(&env, 9_500, body, 10).await;
    let worker = env.worker(config(10));
    assert_eq!(worker.run_once(&no_shutdown()).await, Some((job, RunOutcome::Completed)));
    let key = env.job(job).await.result_blob.expect("a result file");
    let blob = env.blobs_local(&key).await;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(blob.path()).unwrap()).unwrap();
    let mut text = String::new();
    let mut entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name(), format!("{job}.ics"));
    entry.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{text}");
    assert!(text.ends_with("END:VCALENDAR\r\n"), "{text}");
    assert!(text.contains(&format!("BEGIN:VEVENT\r\nUID:{event_id}\r\n")), "{text}");
    assert!(text.contains("SUMMARY:Standup\\, daily\r\nEND:VEVENT\r\n"), "escaped per RFC 5545: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stepped_export_commits_one_part_per_step() {
    let env = Env::new().await;
    with_leads(&env, 5).await;
    let job = read_job(&env, 9_400, json!({"query": {"module": "Leads", "fields": ["Last_Name"]}}), 200_000).await;
    let controls = std::sync::Arc::new(bulkwrite_store::LiveControls::new(
        std::sync::Arc::new(bulkwrite_core::clock::SystemClock),
        true,
    ));
    let worker = bulkwrite_worker::Worker::new(
        env.context_with(WorkerConfig { read_part_records: 2, ..config(1000) }, controls),
    );
    let any = bulkwrite_store::StepTarget { job: None, org: None };
    for parts in [1, 2] {
        match worker.step(any, &no_shutdown()).await.unwrap() {
            bulkwrite_store::StepOutcome::Stepped(stepped) => assert_eq!(stepped.state, JobState::Running),
            other => panic!("a step: {other:?}"),
        }
        assert_eq!(env.store.read_parts(ORG, job).await.unwrap().len(), parts, "one part a step");
    }
    match worker.step(any, &no_shutdown()).await.unwrap() {
        bulkwrite_store::StepOutcome::Stepped(stepped) => assert_eq!(stepped.state, JobState::Succeeded),
        other => panic!("the last part completes the export: {other:?}"),
    }
    let names: Vec<String> = exported(&env, job).await[1..].iter().map(|r| r[1].clone()).collect();
    assert_eq!(names, lead_range(1..=5), "every record once, in id order");
}
