//! The golden corpus: one folder per rule under `tests/corpus/`, each run against a fresh server.
//!
//! A case folder holds `case.json`:
//!
//! ```json
//! {
//!   "description": "what the case shows",
//!   "version": "v2",                         // path version of the create call (default v2)
//!   "env": {"BULKWRITE_MAX_ROWS_PER_FILE": "3"},
//!   "config": "config.toml",                 // a TOML file of the folder, passed as BULKWRITE_CONFIG
//!   "taxes": [{"name": "Vat", "value": 5}],   // the org's taxes, set through the admin API first
//!   "setup": [{"job": {…}, "files": ["accounts.csv"]}],   // jobs that must complete first, or
//!            {"records": {"module": "Quotes", "version": "v3", "data": [{…}]}}   // a records-API insert (`<id:N>` in it is that id)
//!   "as": {"profile": "Sales", "modules": [{"module": "Leads", "actions": ["create"]}],
//!          "fields": [{"module": "Leads", "field": "Phone", "access": "read_only"}]},
//!                                            // the job (not the setup) is created by a user of a
//!                                            // custom profile (a copy of Standard) denied those
//!   "job": {…},                              // the create body; "{{file_id}}" is the upload's id
//!   "files": ["input.csv"],                  // files of the folder zipped into one upload, by name
//!   "expect": {
//!     "status": 201,                         // HTTP status of the create call
//!     "error": {…},                          // the exact error body, when status is not 201
//!     "job_status": "COMPLETED",
//!     "character_encoding": "UTF-8",
//!     "counts": [[added, updated, skipped, total]],        // per resource
//!     "records": {"module": "Leads", "fields": "Last_Name,Email", "data": [{…}]},
//!     "get": {"module": "Leads", "id": "<id:1>", "version": "v3", "has": {"Lead_Phones": [{…}]}}   // GET one record (v2 unless a version is given): these keys
//!   }
//! }
//! ```
//!
//! and, for jobs that run, `expected_result.csv` (or one `expected_<Module>.csv` per resource):
//! the result CSV exactly, with record ids written `<id:N>`: the N-th distinct id the case has seen
//! (setup results first), so an update can be shown to hit the record a setup job made.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::corpus_caller::{as_caller, restricted_caller};
use crate::harness::{zip_of, Server};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Replaces record ids with `<id:N>` in order of first appearance.
#[derive(Default)]
pub(crate) struct IdNames {
    pub names: HashMap<String, usize>,
}

impl IdNames {
    pub fn name(&mut self, id: &str) -> String {
        let next = self.names.len() + 1;
        let n = *self.names.entry(id.to_string()).or_insert(next);
        format!("<id:{n}>")
    }

    /// A copy of `value` with every known 19-digit record id replaced by its name.
    fn rename(&mut self, value: &Value) -> Value {
        match value {
            Value::String(text) if self.names.contains_key(text) => json!(self.name(text)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.rename(v)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.rename(v))).collect()),
            other => other.clone(),
        }
    }
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

pub(crate) fn with_file_id(body: &Value, file_id: &str) -> Value {
    let text = serde_json::to_string(body).unwrap().replace("{{file_id}}", file_id);
    serde_json::from_str(&text).unwrap()
}

async fn upload(server: &Server, dir: &Path, files: &Value) -> String {
    let names: Vec<String> = files.as_array().expect("files").iter().map(|f| f.as_str().unwrap().to_string()).collect();
    let zip = if names.len() == 1 && names[0].ends_with(".zip") {
        read(dir, &names[0])
    } else {
        let contents: Vec<(String, Vec<u8>)> = names.iter().map(|n| (n.clone(), read(dir, n))).collect();
        let entries: Vec<(&str, &[u8])> = contents.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
        zip_of(&entries)
    };
    let (status, body) = server.upload_raw(zip, "corpus.zip").await;
    assert_eq!(status, 200, "upload: {body}");
    body["details"]["file_id"].as_str().unwrap().to_string()
}

/// Result CSV rows of a finished job, one Vec per resource file, ids renamed.
pub(crate) async fn result_files(server: &Server, job: &Value, ids: &mut IdNames) -> Vec<(String, String)> {
    let url = job["result"]["download_url"].as_str().expect("download_url");
    let response = server.auth(server.http.get(url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
        let mut out = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        for (row_index, record) in reader.records().enumerate() {
            let mut cells: Vec<String> = record.unwrap().iter().map(str::to_string).collect();
            let id_column = cells.len().saturating_sub(2);
            if row_index > 0 && !cells[id_column].is_empty() {
                cells[id_column] = ids.name(&cells[id_column]);
            }
            out.write_record(&cells).unwrap();
        }
        files.push((entry.name().to_string(), String::from_utf8(out.into_inner().unwrap()).unwrap()));
    }
    files
}

async fn run_job(server: &Server, version: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
    let url = server.url(&format!("/crm/bulk/{version}/write"));
    let response = as_caller(server, server.http.post(url), token).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A case's server after its setup jobs, with its input uploaded.
pub(crate) struct Prepared {
    pub server: Server,
    pub dir: PathBuf,
    pub case: Value,
    pub version: String,
    pub ids: IdNames,
    pub file_id: String,
    /// The restricted caller's access token (the case's `as`), else `None` (the admin).
    pub token: Option<String>,
}

/// Runs one case folder.
pub async fn run_case(name: &str) {
    let prepared = prepare(name).await;
    run_real(name, prepared).await;
}

/// Starts a case's server, runs its setup jobs and uploads its input.
pub(crate) async fn prepare(name: &str) -> Prepared {
    let dir = corpus_dir().join(name);
    let case: Value = serde_json::from_slice(&read(&dir, "case.json")).expect("case.json");
    let mut env: Vec<(String, String)> = Vec::new();
    if let Some(vars) = case["env"].as_object() {
        env.extend(vars.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())));
    }
    if let Some(config) = case["config"].as_str() {
        env.push(("BULKWRITE_CONFIG".into(), dir.join(config).display().to_string()));
    }
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start(&env_refs).await;
    let version = case["version"].as_str().unwrap_or("v2").to_string();
    let mut ids = IdNames::default();

    if let Some(taxes) = case.get("taxes") {
        let path = format!("/orgs/{}/taxes", server.org);
        let (status, answer) = server.admin(reqwest::Method::PUT, &path, json!({"taxes": taxes})).await;
        assert_eq!(status, 200, "{name}: taxes: {answer}");
        for tax in answer["taxes"].as_array().unwrap() {
            ids.name(tax["id"].as_str().unwrap());
        }
    }
    for (index, setup) in case["setup"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        if let Some(records) = setup.get("records") {
            insert_records(&server, records, &mut ids).await;
            continue;
        }
        let file_id = upload(&server, &dir, &setup["files"]).await;
        let (status, created) = run_job(&server, "v2", &with_file_id(&setup["job"], &file_id), None).await;
        assert_eq!(status, 201, "{name}: setup {index}: {created}");
        let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
        assert_eq!(job["status"], "COMPLETED", "{name}: setup {index}: {job}");
        result_files(&server, &job, &mut ids).await;
    }

    let token = match case.get("as") {
        Some(spec) => Some(restricted_caller(&server, spec, name).await),
        None => None,
    };
    let file_id = upload(&server, &dir, &case["files"]).await;
    Prepared { server, dir, case, version, ids, file_id, token }
}

/// A setup step through the records API: `<id:N>` in the body is the N-th id seen; the ids it
/// creates are named next.
async fn insert_records(server: &Server, records: &Value, ids: &mut IdNames) {
    let mut text = serde_json::to_string(&records["data"]).unwrap();
    for (id, n) in &ids.names {
        text = text.replace(&format!("<id:{n}>"), id);
    }
    let path = format!("/crm/{}/{}", records["version"].as_str().unwrap_or("v3"), records["module"].as_str().unwrap());
    let body = json!({"data": serde_json::from_str::<Value>(&text).unwrap()});
    let response = server.auth(server.http.post(server.url(&path))).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "records setup: {answer}");
    for record in answer["data"].as_array().unwrap() {
        ids.name(record["details"]["id"].as_str().unwrap());
    }
}

/// Creates the case's job and checks everything it expects; returns the job's result files
/// (ids named), or `None` when the create call is refused as expected.
pub(crate) async fn run_real(name: &str, prepared: Prepared) -> Option<Vec<(String, String)>> {
    let Prepared { server, dir, case, version, mut ids, file_id, token } = prepared;
    let (status, answer) = run_job(&server, &version, &with_file_id(&case["job"], &file_id), token.as_deref()).await;
    let expect = &case["expect"];
    assert_eq!(u64::from(status), expect["status"].as_u64().unwrap_or(201), "{name}: {answer}");
    if status != 201 {
        let expected = &expect["error"];
        assert_eq!(serde_json::to_string(&answer).unwrap(), serde_json::to_string(expected).unwrap(), "{name}");
        return None;
    }
    let job = server.wait_job(answer["details"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], expect["job_status"].as_str().unwrap_or("COMPLETED"), "{name}: {job}");
    if let Some(encoding) = expect["character_encoding"].as_str() {
        assert_eq!(job["character_encoding"], encoding, "{name}");
    }
    if let Some(counts) = expect["counts"].as_array() {
        for (index, expected) in counts.iter().enumerate() {
            let file = &job["resource"][index]["file"];
            let got = json!([file["added_count"], file["updated_count"], file["skipped_count"], file["total_count"]]);
            assert_eq!(&got, expected, "{name}: counts of resource {index} as [added, updated, skipped, total]");
        }
    }
    let files = result_files(&server, &job, &mut ids).await;
    for (index, (entry_name, text)) in files.iter().enumerate() {
        let expected_name =
            if files.len() == 1 { "expected_result.csv".to_string() } else { format!("expected_{index}.csv") };
        let expected = String::from_utf8(read(&dir, &expected_name)).unwrap().replace("\r\n", "\n");
        assert_eq!(text, &expected, "{name}: {entry_name} differs from {expected_name}");
    }
    if let Some(records) = expect.get("records") {
        let module = records["module"].as_str().unwrap();
        let fields = records["fields"].as_str().unwrap();
        let got: Vec<Value> = server
            .all_records(module, fields)
            .await
            .iter()
            .map(|record| {
                let renamed = ids.rename(record);
                let mut object = renamed.as_object().cloned().unwrap_or_default();
                object.remove("id");
                Value::Object(object)
            })
            .collect();
        assert_eq!(Value::Array(got), records["data"], "{name}: stored {module} records");
    }
    if let Some(get) = expect.get("get") {
        let wanted = get["id"].as_str().unwrap();
        let id = ids
            .names
            .iter()
            .find(|(_, n)| format!("<id:{n}>") == wanted)
            .map(|(id, _)| id.clone())
            .expect("a named id");
        let get_version = get["version"].as_str().unwrap_or("v2");
        let (status, body) =
            server.get_json(&format!("/crm/{get_version}/{}/{id}", get["module"].as_str().unwrap())).await;
        assert_eq!(status, 200, "{name}: {body}");
        let record = ids.rename(&body["data"][0]);
        for (key, expected) in get["has"].as_object().unwrap() {
            let mut got = record[key].clone();
            strip_system_fields(&mut got);
            assert_eq!(&got, expected, "{name}: GET {wanted} key {key}");
        }
    }
    Some(files)
}

/// Subform rows carry creation metadata that differs run to run; the corpus compares the rest.
fn strip_system_fields(value: &mut Value) {
    let Some(rows) = value.as_array_mut() else { return };
    for row in rows {
        if let Some(object) = row.as_object_mut() {
            for key in ["id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"] {
                object.remove(key);
            }
        }
    }
}

macro_rules! corpus_cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                run_case(stringify!($case)).await;
            }
        )*

        /// Every case again, as a dry run first and then the real job on the unchanged data.
        mod dry_run_then_real {
            $(
                #[tokio::test]
                async fn $case() {
                    crate::corpus_dry_run::run_case(stringify!($case)).await;
                }
            )*
        }

        #[test]
        fn every_corpus_folder_is_a_test() {
            let listed: Vec<&str> = vec![$(stringify!($case)),*];
            let mut folders: Vec<String> = std::fs::read_dir(corpus_dir())
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
                .filter(|name| !name.starts_with('.') && name != "README.md")
                .collect();
            folders.sort();
            let mut sorted = listed.clone();
            sorted.sort();
            assert_eq!(folders, sorted, "tests/corpus folders and corpus_cases! must list the same cases");
        }
    };
}

corpus_cases!(
    activities_what_id_se_module_who_id,
    auto_mapping_by_header,
    auto_mapping_lookup_headers,
    auto_mapping_lookup_id_header,
    autonumber_field_is_refused,
    blank_lines_and_trailing_empty_line,
    booleans,
    callback_to_metadata_address,
    character_encoding_given,
    child_csv_row_limit_200,
    child_without_parent_column_index,
    coexistence_not_allowed,
    column_index_negative,
    column_index_not_found,
    custom_module_from_config,
    dates_default_and_format,
    datetimes_with_and_without_offset,
    default_value_errors_name_column_or_field,
    default_value_fills_empty_cells,
    delimiter_colon,
    delimiter_pipe,
    delimiter_semicolon,
    duplicates_in_file_and_stored,
    email_phone_website,
    empty_cells_clear_fields_on_update,
    empty_csv_is_not_supported,
    file_name_not_in_zip,
    file_names_limit_exceeded,
    find_by_must_be_unique,
    format_on_a_text_field,
    header_limit_200_is_fine,
    header_limit_exceeded,
    header_only_file,
    ignore_empty_leaves_fields_on_update,
    insert_with_find_by_skips_existing_keys,
    invalid_callback_method,
    invalid_callback_url,
    invalid_field,
    invalid_file_id,
    invalid_format_for_field,
    invalid_operation,
    invalid_resource_type,
    inventory_invoices_update_recomputes_totals,
    inventory_line_item_needs_product_and_quantity,
    inventory_line_item_update_recomputes,
    inventory_line_items_child_csv_row_limit,
    inventory_price_book_discount_on_lines,
    inventory_price_books_pricing_details,
    inventory_purchase_orders_need_a_vendor,
    inventory_quotes_line_items_totals,
    inventory_record_taxes_in_totals,
    inventory_sales_orders_v2_product_details,
    inventory_standalone_line_items,
    inventory_task_related_to_a_quote,
    iso_8859_1,
    layout_column_falls_back_to_default,
    layout_mandatory_field_not_mapped,
    layout_mapped_does_not_enforce_layout_mandatory,
    linking_module_multi_select_lookup,
    linking_module_multi_user_lookup,
    linking_module_only_lookup_fields,
    lookups_ambiguous_non_unique_field,
    lookups_by_id,
    lookups_by_name,
    mandatory_fields_not_mapped,
    missing_required_key_file_id,
    missing_required_key_index,
    missing_required_key_operation,
    module_not_available_notes,
    module_not_available_unknown,
    module_not_available_users,
    multiselect_picklist,
    number_format_on_number_fields,
    number_format_with_decimals_on_an_integer,
    numbers_integer_bigint_decimal_currency_percent,
    owner_by_email,
    owner_by_id,
    parent_child_subform,
    permissions_no_create_is_refused,
    permissions_read_only_and_hidden_fields_skip_rows,
    picklist_new_value_is_added,
    quoted_delimiters_and_newlines,
    ragged_rows,
    read_only_field_is_refused,
    restricted_picklist_refuses,
    row_limit_exceeded,
    standard_module_calls,
    standard_module_campaigns,
    standard_module_cases,
    standard_module_events,
    standard_module_price_books,
    standard_module_products,
    standard_module_solutions,
    standard_module_tasks,
    standard_module_vendors,
    text_and_textarea_lengths,
    two_csvs_for_one_module,
    two_file_names_for_one_module,
    unknown_file_id,
    update_by_email,
    update_by_email_invalid_key,
    update_by_id,
    update_by_id_malformed_id,
    update_unique_collision,
    update_without_find_by,
    upsert_ignore_empty_mandatory_only_for_inserts,
    upsert_inserts_and_updates,
    upsert_without_find_by,
    utf16be_with_bom,
    utf16le_with_bom,
    utf8_with_bom,
    v21_module_object,
    windows_1252,
    zip_without_csv,
);
