//! Maps a Leads CSV (`gen_leads.py`'s columns) as an insert job's reader does, plans each chunk
//! as an insert into an empty module, and writes each new record's JSON and the chunk's result
//! rows, on one thread, with nothing else running: the per-row work of the runtime's threads,
//! timed without the noise of a whole job (docs/PERFORMANCE.md).
//!
//! ```sh
//! python3 ../shared/perf/gen_leads.py 100000 target/floor/leads_100k.csv --seed 42
//! cargo run --release -p bulkwrite-core --example map_rows -- target/floor/leads_100k.csv
//! ```
//!
//! Prints the best of 15 passes. Compare two builds in turn, on the same file.

use std::time::Instant;

use bulkwrite_core::ids::{RecordId, UserId};
use bulkwrite_core::jobspec::ResourceSpec;
use bulkwrite_core::mapping::{RowMapper, UserDirectory, UserEntry};
use bulkwrite_core::plan::{decide, ExistingState, PlanInput};
use bulkwrite_core::schema::standard::standard_schema;
use bulkwrite_core::schema::CustomFieldSpec;
use bulkwrite_wire::{FieldMapping, Operation};

/// The server's allocator (`bulkwrite-cli`'s), which the row values' cost depends on.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PASSES: usize = 15;
const CHUNK_ROWS: usize = 2_000;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: map_rows FILE.csv (Leads columns by API name, as gen_leads.py writes them)");
        std::process::exit(2);
    };
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let header: Vec<String> = reader.headers().expect("a header").iter().map(String::from).collect();
    let records: Vec<csv::StringRecord> = reader.records().map(|record| record.expect("a CSV row")).collect();
    let mappings = header
        .iter()
        .enumerate()
        .map(|(index, name)| FieldMapping {
            api_name: name.clone(),
            index: Some(index as u32),
            // As `bulkwrite bench` maps it.
            format: (name == "Date_3").then(|| "yyyy/MM/dd".to_string()),
            ..FieldMapping::default()
        })
        .collect();
    let resource = ResourceSpec {
        module: "Leads".into(),
        module_id: "1".into(),
        file_id: "1".into(),
        csv_name: path.clone(),
        file_names: None,
        find_by: None,
        ignore_empty: None,
        effective_ignore_empty: false,
        echo_columns: vec![0, 1, 2],
        parent_link: None,
        denied_fields: Vec::new(),
        mappings,
        auto_mapped: false,
        header: header.clone(),
    };
    // Every owner the file names is a user of the org.
    let owner_column = header.iter().position(|name| name == "Owner");
    let mut owners: Vec<u64> = records
        .iter()
        .filter_map(|record| owner_column.and_then(|at| record.get(at)).and_then(|id| id.parse().ok()))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    let users = owners.into_iter().map(|id| UserEntry {
        id: UserId::new(id),
        full_name: format!("User {id}"),
        email: format!("{id}@example.com"),
    });
    // The date field every new org gets (the server's default custom fields).
    let mut schema = standard_schema();
    let date_3 = serde_json::json!({"module": "Leads", "api_name": "Date_3", "data_type": "date"});
    let date_3: CustomFieldSpec = serde_json::from_value(date_3).expect("a custom field");
    schema.apply_custom_field(&date_3, "9000000000001".into()).expect("Date_3 on Leads");
    let leads = schema.module("Leads").expect("the Leads module");
    let mapper = RowMapper::new(&resource, leads, Operation::Insert, chrono_tz::UTC, UserDirectory::new(users));

    let mut best = f64::MAX;
    let (mut bytes, mut failed) = (0, 0);
    for _ in 0..PASSES {
        let started = Instant::now();
        let mut json = Vec::with_capacity(records.len() * 400);
        failed = 0;
        for (chunk_no, chunk) in records.chunks(CHUNK_ROWS).enumerate() {
            let first = chunk_no * CHUNK_ROWS;
            let rows: Vec<_> =
                chunk.iter().enumerate().map(|(at, record)| mapper.map_row((first + at + 1) as u64, record)).collect();
            let input = PlanInput {
                operation: Operation::Insert,
                rows,
                default_owner: UserId::new(1),
                default_layout: None,
                full_name: true,
            };
            let mut ids = (1..).map(RecordId::new);
            let decisions = decide(&input, &ExistingState::default(), &mut ids);
            for record in decisions.inserted(&input) {
                serde_json::to_writer(&mut json, &record.values).expect("JSON into memory");
            }
            let results = decisions.results(&input.rows);
            failed += results.iter().filter(|row| !row.errors.is_empty()).count();
            drop((results, input));
        }
        bytes = json.len();
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "{} rows mapped, planned and written as JSON ({bytes} bytes, {failed} rows with errors): best of {PASSES} {:.1} ms, {:.2} µs a row",
        records.len(),
        best * 1e3,
        best * 1e6 / records.len().max(1) as f64
    );
}
