//! The dry-run promise on the whole golden corpus. For every case, a dry run of the case's job
//! (`POST /bulkwrite/v1/dry-runs`, same body, same version) and then the real job on the
//! unchanged data: the same create answer (refusals included), the same final status, and
//! result files with the same echoed cells, `STATUS` and `ERRORS` row for row. `RECORD_ID` is
//! the real job's for every row that updates a record stored before, and empty for a row whose
//! record the file itself would create. The dry run changes no stored record, and the jobs API
//! marks it `dry_run`. The real job is then checked against the case's expectations as usual.

use serde_json::Value;

use crate::corpus::{prepare, result_files, run_real, with_file_id};
use crate::corpus_caller::as_caller;
use crate::harness::Server;

/// Runs one case folder as a dry run, then for real.
pub async fn run_case(name: &str) {
    let mut prepared = prepare(name).await;
    let body = with_file_id(&prepared.case["job"], &prepared.file_id);
    let expect = prepared.case["expect"].clone();
    let server = &prepared.server;
    let url = server.url(&format!("/bulkwrite/v1/dry-runs?version={}", prepared.version));
    let request = as_caller(server, server.http.post(url), prepared.token.as_deref());
    let response = request.json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(u64::from(status), expect["status"].as_u64().unwrap_or(201), "{name}: dry run: {answer}");
    if status != 201 {
        let (got, expected) =
            (serde_json::to_string(&answer).unwrap(), serde_json::to_string(&expect["error"]).unwrap());
        assert_eq!(got, expected, "{name}: a dry run is refused like the job");
        run_real(name, prepared).await;
        return;
    }
    let before = stored(server, &body).await;
    let id = answer["details"]["id"].as_str().unwrap().to_string();
    let dry = server.wait_job(&id).await;
    assert_eq!(dry["status"], expect["job_status"].as_str().unwrap_or("COMPLETED"), "{name}: dry run: {dry}");
    let (_, state) = server.get_json(&format!("/bulkwrite/v1/jobs/{id}")).await;
    assert_eq!(state["dry_run"], true, "{name}: {state}");
    let (_, listed) = server.get_json("/bulkwrite/v1/jobs").await;
    let entry = listed["jobs"].as_array().unwrap().iter().find(|job| job["id"] == id.as_str()).cloned();
    assert_eq!(entry.map(|job| job["dry_run"].clone()), Some(Value::Bool(true)), "{name}: {listed}");
    let known_before = prepared.ids.names.len();
    let dry_files = result_files(server, &dry, &mut prepared.ids).await;
    assert_eq!(stored(server, &body).await, before, "{name}: the dry run changed stored records");
    let real_files = run_real(name, prepared).await.expect("the real job was created");
    assert_eq!(dry_files.len(), real_files.len(), "{name}: result files");
    for ((dry_name, dry_text), (real_name, real_text)) in dry_files.iter().zip(&real_files) {
        assert_eq!(dry_name, real_name, "{name}");
        let (dry_rows, real_rows) = (rows(dry_text), rows(real_text));
        assert_eq!(dry_rows.len(), real_rows.len(), "{name}: {dry_name}: rows");
        for (index, (dry_row, real_row)) in dry_rows.iter().zip(&real_rows).enumerate().skip(1) {
            let id_column = dry_row.len() - 2;
            let without_id = |row: &[String]| [&row[..id_column], &row[id_column + 1..]].concat();
            assert_eq!(without_id(dry_row), without_id(real_row), "{name}: {dry_name} row {index}: STATUS and ERRORS");
            let (dry_id, real_id) = (&dry_row[id_column], &real_row[id_column]);
            if dry_id.is_empty() {
                assert!(
                    !existed(real_id, known_before),
                    "{name}: row {index}: the dry run hid stored record {real_id}"
                );
            } else {
                assert_eq!(dry_id, real_id, "{name}: {dry_name} row {index}: RECORD_ID of an update");
            }
        }
    }
}

/// Whether a named id (`<id:N>`) names a record stored before the case's job.
fn existed(named: &str, known_before: usize) -> bool {
    let number = named.trim_start_matches("<id:").trim_end_matches('>');
    number.parse::<usize>().is_ok_and(|n| n <= known_before)
}

fn rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    reader.records().map(|record| record.unwrap().iter().map(str::to_string).collect()).collect()
}

/// Every record of the job's modules with its last change, to show a dry run changed nothing.
async fn stored(server: &Server, body: &Value) -> Vec<Value> {
    let mut all = Vec::new();
    for resource in body["resource"].as_array().into_iter().flatten() {
        let module = &resource["module"];
        let name = module.as_str().or_else(|| module["api_name"].as_str()).unwrap_or_default();
        all.extend(server.all_records(name, "Modified_Time").await);
    }
    all
}
