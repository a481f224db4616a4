//! The `bulkwrite` client commands run as a user runs them, against the real server: import
//! (auto and explicit mappings, upsert, a split file), jobs, result, records, lint, profiles,
//! `--json` and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::harness::{Server, TOKEN};

/// A scratch directory with its own `HOME` (so no real profiles file is read).
pub(crate) struct Workspace {
    pub(crate) dir: PathBuf,
}

/// Removed when the test passes; kept (and its path printed) when it fails.
impl Drop for Workspace {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("BULKWRITE_KEEP_TEST_DIRS").is_some() {
            eprintln!("kept the workspace {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Workspace {
    pub(crate) fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        std::fs::create_dir_all(dir.join("home")).unwrap();
        Workspace { dir }
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(crate) fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// `bulkwrite ARGS` with no connection settings but those given in `env`.
    pub(crate) fn run_with(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bulkwrite"));
        command.args(args).current_dir(&self.dir).env("HOME", self.dir.join("home"));
        for key in ["BULKWRITE_SERVER", "BULKWRITE_TOKEN", "BULKWRITE_ORG", "BULKWRITE_PROFILE", "BULKWRITE_PROFILES"] {
            command.env_remove(key);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("run bulkwrite")
    }

    /// `bulkwrite ARGS` against `server` through the environment, as a script would.
    pub(crate) fn run(&self, server: &Server, args: &[&str]) -> Output {
        self.run_with(&[("BULKWRITE_SERVER", &server.base), ("BULKWRITE_TOKEN", TOKEN)], args)
    }

    /// `bulkwrite --json ARGS`: the exit code and the JSON document on stdout.
    pub(crate) fn json(&self, server: &Server, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let output = self.run(server, &all);
        (code(&output), parse(&output))
    }
}

pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn parse(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", stdout(output), stderr(output)))
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

const LEADS: &str = "Last_Name,Email,Company,Lead_Status\n\
Smith,smith@example.com,Acme,Contacted\n\
Jones,not-an-email,Beta,Contacted\n\
,empty@example.com,Gamma,\n\
Brown,smith@example.com,Delta,Contacted\n\
Green,green@example.com,Epsilon,Contacted\n";

#[tokio::test]
async fn import_writes_the_result_beside_the_input_and_summarises_it() {
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    work.write("leads.csv", LEADS);
    let output = work.run(&server, &["import", "leads.csv", "--module", "Leads"]);
    assert_eq!(code(&output), 2, "a skipped row makes the exit status 2: {}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("imported 5 rows of leads.csv into Leads (job "), "{text}");
    for line in
        ["added                            2", "skipped                          3", "DUPLICATE_DATA                 1"]
    {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains('\x1b') && !stderr(&output).contains('\r'), "no colour or progress off a terminal");
    let rows = csv_rows(&work.read("leads.result.csv"));
    assert_eq!(rows[0], ["Last_Name", "Email", "Company", "STATUS", "RECORD_ID", "ERRORS"]);
    let statuses: Vec<(&str, &str)> = rows[1..].iter().map(|r| (r[3].as_str(), r[5].as_str())).collect();
    assert_eq!(
        statuses,
        [
            ("ADDED", ""),
            ("SKIPPED", "INVALID_DATA-Email"),
            ("SKIPPED", "MANDATORY_NOT_FOUND-Last_Name"),
            ("SKIPPED", "DUPLICATE_DATA-Email"),
            ("ADDED", "")
        ]
    );
    let records = server.all_records("Leads", "Last_Name,Email").await;
    assert_eq!(records.len(), 2);
    let smith = records.iter().find(|r| r["Email"] == "smith@example.com").expect("Smith stored");
    assert_eq!(smith["id"].as_str(), Some(rows[1][4].as_str()));
}

#[tokio::test]
async fn a_file_over_the_row_limit_becomes_several_jobs_joined_in_input_order() {
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    let mut csv = String::from("Last_Name,Email,Company\n");
    for i in 1..=8 {
        let email = if i == 5 { "bad".to_string() } else { format!("p{i}@split.example") };
        csv.push_str(&format!("Name {i},{email},Co {i}\n"));
    }
    work.write("split.csv", &csv);
    let (status, summary) = work.json(&server, &["import", "split.csv", "--module", "Leads", "--max-rows", "3"]);
    assert_eq!(status, 2);
    assert_eq!(summary["jobs"].as_array().unwrap().len(), 3, "{summary}");
    assert_eq!(
        (summary["rows"].as_u64(), summary["added"].as_u64(), summary["skipped"].as_u64()),
        (Some(8), Some(7), Some(1))
    );
    assert_eq!(summary["errors"], json!({"INVALID_DATA": 1}));
    let rows = csv_rows(&work.read("split.result.csv"));
    assert_eq!(rows.len(), 9, "one header, then every input row once");
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name 6", "Name 7", "Name 8"]);
    assert_eq!(rows[5][3], "SKIPPED");
    for job in summary["jobs"].as_array().unwrap() {
        let details = server.job(job.as_str().unwrap()).await;
        assert_eq!(details["status"], "COMPLETED");
        assert!(details["resource"][0]["file"]["total_count"].as_u64().unwrap() <= 3, "{details}");
    }
    assert_eq!(server.all_records("Leads", "Email").await.len(), 7);
}

#[tokio::test]
async fn upsert_with_explicit_mappings_updates_and_inserts() {
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    work.write("first.csv", "Last_Name,Email,Company\nOld,keep@example.com,Acme\n");
    assert_eq!(code(&work.run(&server, &["import", "first.csv", "--module", "Leads"])), 0);
    work.write(
        "second.csv",
        "mail;surname;org;born\nkeep@example.com;New;Acme;2024/03/01\nfresh@example.com;Fresh;Beta;2024/12/31\n",
    );
    let map = "Email=mail,Last_Name=1,Company=org,Date_3=born:yyyy/MM/dd";
    let args = [
        "import",
        "second.csv",
        "--module",
        "Leads",
        "--operation",
        "upsert",
        "--find-by",
        "Email",
        "--map",
        map,
        "-o",
        "out/up.csv",
    ];
    std::fs::create_dir_all(work.dir.join("out")).unwrap();
    let (status, summary) = work.json(&server, &args);
    assert_eq!(status, 0, "{summary}");
    assert_eq!((summary["added"].as_u64(), summary["updated"].as_u64()), (Some(1), Some(1)));
    let rows = csv_rows(&work.read("out/up.csv"));
    assert_eq!(rows[1][3], "UPDATED");
    assert_eq!(rows[2][3], "ADDED");
    let kept = server.all_records("Leads", "Last_Name,Email,Date_3").await;
    let kept = kept.iter().find(|r| r["Email"] == "keep@example.com").unwrap();
    assert_eq!((kept["Last_Name"].as_str(), kept["Date_3"].as_str()), (Some("New"), Some("2024-03-01")));
}

#[tokio::test]
async fn jobs_result_and_records_commands_read_what_the_import_did() {
    let server = Server::start(&[("BULKWRITE_CALLBACK_ALLOW", "127.0.0.1")]).await;
    let work = Workspace::new();
    work.write("leads.csv", LEADS);
    let callback = "http://127.0.0.1:9/hook";
    let (_, summary) = work.json(&server, &["import", "leads.csv", "--module", "Leads", "--callback", callback]);
    let job = summary["jobs"][0].as_str().unwrap().to_string();

    let (status, details) = work.json(&server, &["jobs", "show", &job]);
    assert_eq!(status, 2, "skipped rows: exit 2");
    assert_eq!(details, server.job(&job).await, "--json prints the job details as the API gives them");
    assert_eq!(details["callback"]["url"], callback);
    let shown = work.run(&server, &["jobs", "wait", &job]);
    let text = stdout(&shown);
    assert!(text.starts_with(&format!("job {job}  COMPLETED  insert")), "{text}");
    assert!(text.contains("rows        5  added        2  updated        0  skipped        3"), "{text}");

    let output = work.run(&server, &["result", &job, "-o", "result.csv"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "wrote result.csv (5 rows: added 2, updated 0, skipped 3)");
    let (_, served) = server.result_rows(&details).await;
    assert_eq!(csv_rows(&work.read("result.csv")), served);
    assert_eq!(code(&work.run(&server, &["result", &job])), 0);
    let zip = std::fs::read(work.dir.join(format!("{job}.zip"))).unwrap();
    assert!(zip.starts_with(b"PK\x03\x04"));

    let record_id = &csv_rows(&work.read("leads.result.csv"))[1][4];
    let (status, record) = work.json(&server, &["records", "get", "Leads", record_id]);
    assert_eq!(status, 0);
    assert_eq!((record["Last_Name"].as_str(), record["id"].as_str()), (Some("Smith"), Some(record_id.as_str())));
    let text = stdout(&work.run(&server, &["records", "get", "Leads", record_id]));
    assert!(text.lines().any(|l| l.starts_with("Email") && l.ends_with("smith@example.com")), "{text}");
    let missing = work.run(&server, &["records", "get", "Leads", "1234567"]);
    assert_eq!(code(&missing), 1);
    assert!(stderr(&missing).contains("no Leads record has id 1234567"), "{}", stderr(&missing));

    let (status, error) = work.json(&server, &["jobs", "show", "999"]);
    assert_eq!(status, 1);
    assert_eq!(error["error"]["code"], "RESOURCE_NOT_FOUND", "{error}");
    assert_eq!(error["error"]["http_status"], 404);
}

/// What lint says about each row is what the import then does with it.
#[tokio::test]
async fn lint_predicts_the_import_and_writes_nothing() {
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    let csv = "Last_Name,Company,Email,Date_3,No_of_Employees,Owner\n\
A,Co,a@lint.example,2024-01-31,12,admin@bulkwrite.local\n\
B,Co,b@lint.example,2024-13-01,12,admin@bulkwrite.local\n\
,Co,c@lint.example,2024-01-31,many,admin@bulkwrite.local\n\
D,,a@lint.example,2024-01-31,3,nobody@lint.example\n\
E,Co,e@lint.example,,,admin@bulkwrite.local\n";
    work.write("check.csv", csv);
    let map = "Last_Name=0,Company=1,Email=2,Date_3=3:yyyy-MM-dd,No_of_Employees=4,Owner=5@email";
    let (status, report) = work.json(&server, &["lint", "check.csv", "--module", "Leads", "--map", map]);
    assert_eq!(status, 2, "{report}");
    assert_eq!((report["rows"].as_u64(), report["rows_with_errors"].as_u64()), (Some(5), Some(3)), "{report}");
    assert!(server.all_records("Leads", "Email").await.is_empty(), "lint writes nothing");
    let mut predicted: Vec<(u64, String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_u64().unwrap(), p["code"].as_str().unwrap().into(), p["column"].as_str().unwrap().into()))
        .collect();
    predicted.sort();
    assert!(report["problems"].as_array().unwrap().iter().all(|p| !p["message"].as_str().unwrap().is_empty()));

    let (_, summary) = work.json(&server, &["import", "check.csv", "--module", "Leads", "--map", map]);
    let rows = csv_rows(&work.read("check.result.csv"));
    let mut actual: Vec<(u64, String, String)> = Vec::new();
    for (index, row) in rows[1..].iter().enumerate() {
        for group in row[5].split(':').filter(|g| !g.is_empty()) {
            let (code, columns) = group.split_once('-').unwrap();
            for column in columns.split(',') {
                actual.push((index as u64 + 1, code.to_string(), column.to_string()));
            }
        }
    }
    actual.sort();
    assert_eq!(predicted, actual, "import summary: {summary}");

    let text = stdout(&work.run(&server, &["lint", "check.csv", "--module", "Leads", "--map", map]));
    assert!(text.starts_with("✗ check.csv → Leads (insert): 5 rows, "), "{text}");
    assert!(
        text.contains("row 2, column \"Date_3\": INVALID_DATA: '2024-13-01' does not match the format 'yyyy-MM-dd'"),
        "{text}"
    );
    assert!(
        text.contains("row 4, column \"Owner\": INVALID_DATA: 'nobody@lint.example' is not an active user of the org"),
        "{text}"
    );
    assert!(
        text.contains("row 4, column \"Email\": DUPLICATE_DATA: Email must be unique, and row 1 already has"),
        "{text}"
    );
}

/// `bulkwrite … | head`: when the reader closes the pipe, the command ends quietly with the status a
/// shell reports for SIGPIPE (141), without a panic on stderr, as Unix tools end.
#[tokio::test]
async fn a_reader_closing_the_pipe_ends_the_command_quietly() {
    use std::io::BufRead;
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    let mut csv = String::from("Last_Name,Company,Email\n");
    for i in 0..5000 {
        csv.push_str(&format!("L{i},,lead{i}@pipe.example\n"));
    }
    work.write("many.csv", &csv);
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .args(["lint", "many.csv", "--module", "Leads", "--max-problems", "100000"])
        .current_dir(&work.dir)
        .env("HOME", work.dir.join("home"))
        .env("BULKWRITE_SERVER", &server.base)
        .env("BULKWRITE_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn bulkwrite");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(!first.is_empty(), "the command wrote a first line");
    // The reader is gone: the rest of the 5,000 problem lines (far more than a pipe holds) meet a closed pipe.
    let output = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `bulkwrite export | head`: the CSV on stdout meets a closed pipe and the command ends with 141 too.
#[tokio::test]
async fn an_export_to_a_closed_pipe_ends_quietly() {
    use std::io::BufRead;
    let server = Server::start(&[]).await;
    crate::bulk_read::import_leads(&server, 6000).await;
    let work = Workspace::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .args(["export", "--module", "Leads", "--fields", "Last_Name,Email", "--poll", "0.05"])
        .current_dir(&work.dir)
        .env("HOME", work.dir.join("home"))
        .env("BULKWRITE_SERVER", &server.base)
        .env("BULKWRITE_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn bulkwrite");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert_eq!(first.trim_end(), "id,Last_Name,Email");
    // 6,000 rows are far more than a pipe holds: the rest meets a closed pipe.
    let output = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
}

#[tokio::test]
async fn lint_explains_a_job_the_server_would_refuse_and_passes_a_clean_file() {
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    work.write("typo.csv", "Last_Name,Emial,Company\nA,a@x.example,Co\n");
    let output = work.run(&server, &["lint", "typo.csv", "--module", "Leads"]);
    assert_eq!(code(&output), 2);
    let text = stdout(&output);
    assert!(text.contains("the job would be refused"), "{text}");
    assert!(text.contains("INVALID_FIELD: the header names 'Emial', which is not a field API name of Leads"), "{text}");
    let (_, report) = work.json(&server, &["lint", "typo.csv", "--module", "Leads", "--map", "Last_Name=0"]);
    assert_eq!(report["problems"][0]["code"], "MANDATORY_FIELDS_NOT_MAPPED", "{report}");
    assert!(report["problems"][0]["message"].as_str().unwrap().contains("Leads requires Company"), "{report}");
    let (_, report) = work.json(
        &server,
        &["lint", "typo.csv", "--module", "Leads", "--operation", "update", "--map", "Last_Name=0,Company=2"],
    );
    assert_eq!(report["problems"][0]["code"], "MANDATORY_NOT_FOUND", "{report}");

    work.write("clean.csv", "Last_Name,Email,Company\nA,a@x.example,Co\nB,b@x.example,Co\n");
    let output = work.run(&server, &["lint", "clean.csv", "--module", "Leads"]);
    assert_eq!(code(&output), 0, "{}", stdout(&output));
    assert_eq!(
        stdout(&output).lines().next(),
        Some("✓ clean.csv → Leads (insert): 2 rows, 0 errors in 0 rows, 0 warnings")
    );
    let mut big = String::from("Last_Name,Company\n");
    for i in 0..25_001 {
        big.push_str(&format!("N{i},Co\n"));
    }
    work.write("big.csv", &big);
    let (status, report) = work.json(&server, &["lint", "big.csv", "--module", "Leads"]);
    assert_eq!(status, 0, "a warning alone passes: {report}");
    assert_eq!(report["problems"][0]["code"], "LIMIT_EXCEEDED");
    assert!(report["problems"][0]["message"].as_str().unwrap().contains("splits the file into 2 jobs"), "{report}");
}

fn profiles(work: &Workspace, body: &str) -> PathBuf {
    let path = work.dir.join("home/.config/bulkwrite/profiles.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, body).unwrap();
    path
}

#[tokio::test]
async fn profiles_environment_and_flags_choose_the_connection() {
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    work.write("one.csv", "Last_Name,Company\nA,Co\n");
    profiles(
        &work,
        &format!(
            "default = \"local\"\n\n[profiles.local]\nserver = \"{}\"\ntoken = \"{TOKEN}\"\norg = \"{}\"\n\n\
             [profiles.refresh]\nserver = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nrefresh_token = \"{}\"\n",
            server.base,
            server.org,
            server.base,
            server.boot("client_id"),
            server.boot("client_secret"),
            server.boot("refresh_token"),
        ),
    );
    let by_default = work.run_with(&[], &["import", "one.csv", "--module", "Leads"]);
    assert_eq!(code(&by_default), 0, "the default profile: {}", stderr(&by_default));
    let refreshed = work.run_with(&[], &["--json", "import", "one.csv", "--module", "Leads", "--profile", "refresh"]);
    assert_eq!(code(&refreshed), 0, "a refresh-token profile: {}", stderr(&refreshed));
    let env_wins =
        work.run_with(&[("BULKWRITE_TOKEN", "1000.wrong.wrong")], &["import", "one.csv", "--module", "Leads"]);
    assert_eq!(code(&env_wins), 1);
    assert!(stderr(&env_wins).contains("INVALID_TOKEN (HTTP 401)"), "{}", stderr(&env_wins));
    let flag_wins = work.run_with(
        &[("BULKWRITE_TOKEN", "1000.wrong.wrong")],
        &["import", "one.csv", "--module", "Leads", "--token", TOKEN],
    );
    assert_eq!(code(&flag_wins), 0, "{}", stderr(&flag_wins));
    let unknown = work.run_with(&[], &["jobs", "show", "1", "--profile", "nope"]);
    assert_eq!(code(&unknown), 1);
    assert!(stderr(&unknown).contains("no profile 'nope'"), "{}", stderr(&unknown));
    assert_eq!(server.all_records("Leads", "Last_Name").await.len(), 3);
}

#[tokio::test]
async fn without_any_settings_the_cli_says_what_it_needs_or_uses_the_local_server() {
    let server = Server::start(&[]).await;
    let work = Workspace::new();
    let output = work.run_with(&[], &["jobs", "show", "1"]);
    assert_eq!(code(&output), 1);
    assert!(stderr(&output).contains("no server: give --server URL (or BULKWRITE_SERVER)"), "{}", stderr(&output));
    let local = work.dir.join("bulkwrite-data");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::copy(server.dir.join("bootstrap.json"), local.join("bootstrap.json")).unwrap();
    work.write("one.csv", "Last_Name,Company\nA,Co\n");
    let output = work.run_with(&[], &["import", "one.csv", "--module", "Leads"]);
    assert_eq!(code(&output), 0, "./bulkwrite-data/bootstrap.json names the local server: {}", stderr(&output));
    assert!(!Path::new(&work.dir.join("home/.config")).exists());
}

/// `bulkwrite bench` on a small file: it starts its own server, learns of each job's end from
/// the job's callback, and reports both operations.
#[test]
#[cfg(feature = "bench")]
fn bench_runs_a_small_round_trip_end_to_end() {
    let work = Workspace::new();
    let output = work.run_with(&[], &["bench", "--rows", "200", "--runs", "1"]);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}{}", stderr(&output));
    assert!(text.starts_with("bulkwrite bench on SQLite: 1 run(s) per size, rows [200]"), "{text}");
    for operation in ["insert", "upsert"] {
        let line = text.lines().find(|line| line.starts_with(operation)).unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains("     200 rows  total best") && line.contains("server job"), "{line}");
    }
    assert!(text.contains("server peak RSS over all runs of this size:"), "{text}");
}

/// `bulkwrite bench` on PostgreSQL also times a hand-written binary `COPY` of the rows the first
/// insert wrote (170 of 200 rows are valid: every 20th row is broken three ways), beside the job.
#[test]
#[cfg(feature = "bench")]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
fn bench_on_postgresql_measures_the_copy_baseline_of_the_rows_it_wrote() {
    let url = crate::multinode::database_url();
    let work = Workspace::new();
    let args = ["bench", "--rows", "200", "--runs", "1", "--upsert", "false", "--database-url", url.as_str()];
    let output = work.run_with(&[], &args);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}{}", stderr(&output));
    assert!(text.contains("hand-written binary COPY of the first insert's 170 records and 170 keys, best of 1 (one after each insert):"), "{text}");
    for target in ["into a bare table", "into bulkwrite's tables"] {
        let line = text.lines().find(|line| line.contains(target)).unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains(" ms; best server job ") && line.ends_with('x'), "{line}");
    }
}
