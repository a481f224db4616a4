//! A store, a blob directory, an org with its admin, uploads made from CSV text, jobs made from
//! create-job bodies, and readers for the result zip.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bulkwrite_core::ids::{FileId, JobId, OrgId, UserId};
use bulkwrite_core::jobspec::{parse_body, validate, ValidationContext};
use bulkwrite_core::limits::Limits;
use bulkwrite_core::schema::standard::standard_schema;
use bulkwrite_core::zipfile::inspect_zip;
use bulkwrite_store::token::hash_token;
use bulkwrite_store::{
    BlobStore, BootstrapRecord, DirBlobStore, Job, NewAccessToken, NewJob, Org, Store, Upload, User,
};
use bulkwrite_store_sqlite::SqliteStore;
use bulkwrite_worker::{RunOutcome, Wakeup, Worker, WorkerConfig, WorkerContext};
use chrono::Utc;
use tokio::sync::watch;

pub const ORG: OrgId = OrgId::new_const(111_222_333);
pub const ADMIN: UserId = UserId::new_const(5_725_767_000_000_000_101);

/// One test's world: a fresh SQLite database and blob directory with one org.
pub struct Env {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<DirBlobStore>,
    _dir: tempfile::TempDir,
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("bulkwrite.db")).await.expect("open sqlite");
        let blobs = DirBlobStore::open(dir.path()).expect("blob dir");
        let store: Arc<dyn Store> = Arc::new(store);
        let org = Org {
            zgid: ORG,
            id: "5725767000000011222".into(),
            company_name: "Quist Ltd".into(),
            time_zone: "Asia/Kolkata".into(),
            currency: "USD".into(),
            created_at: Utc::now(),
        };
        let admin = User {
            id: ADMIN,
            org: ORG,
            first_name: "Mara".into(),
            last_name: "Quist".into(),
            email: "mara@example.com".into(),
            profile: "Administrator".into(),
            role: "CEO".into(),
            active: true,
            created_at: Utc::now(),
        };
        let token = NewAccessToken {
            token_hash: hash_token("1000.worker"),
            org: ORG,
            user: ADMIN,
            scopes: vec!["ZohoCRM.bulk.ALL".into()],
            expires_at: None,
            client_id: None,
            refresh_hash: None,
        };
        let record = BootstrapRecord {
            org_id: ORG,
            user_id: ADMIN,
            user_name: "Mara Quist".into(),
            user_email: "mara@example.com".into(),
            access_token: "1000.worker".into(),
            extra: serde_json::Map::new(),
        };
        store.bootstrap(org, admin, standard_schema(), token, record).await.expect("bootstrap");
        Env { store, blobs: Arc::new(blobs), _dir: dir }
    }

    /// A worker over this store with `config`.
    pub fn worker(&self, config: WorkerConfig) -> Arc<Worker> {
        Arc::new(Worker::new(self.context(config)))
    }

    pub fn context(&self, config: WorkerConfig) -> WorkerContext {
        self.context_with(config, Arc::new(bulkwrite_store::LiveControls::off()))
    }

    /// [`Env::context`] with the node's test controls.
    pub fn context_with(&self, config: WorkerConfig, controls: Arc<bulkwrite_store::LiveControls>) -> WorkerContext {
        WorkerContext {
            store: Arc::clone(&self.store),
            blobs: Arc::clone(&self.blobs) as Arc<dyn BlobStore>,
            config: Arc::new(config),
            wakeup: Arc::new(Wakeup::default()),
            controls,
        }
    }

    /// Stores `zip` as upload `file_id`, its entries read as the upload route reads them.
    pub async fn upload(&self, file_id: u64, zip: &[u8]) -> FileId {
        let file_id = FileId::new(file_id);
        let entries = inspect_zip(Cursor::new(zip), &Limits::default()).expect("a readable zip");
        let staged = self.blobs.staging_dir().join(format!("{file_id}.zip"));
        std::fs::write(&staged, zip).expect("staging the upload");
        let blob_key = format!("uploads/{ORG}/{file_id}.zip");
        let size = self.blobs.put_file(&blob_key, &staged).await.expect("storing the upload");
        let upload = Upload {
            file_id,
            org: ORG,
            user: ADMIN,
            blob_key,
            file_name: "leads.zip".into(),
            size,
            entries,
            created_at: Utc::now(),
            expired_at: None,
        };
        self.store.insert_upload(upload).await.expect("insert upload");
        file_id
    }

    /// Where the upload's blob lives on disk.
    pub async fn upload_path(&self, file_id: FileId) -> std::path::PathBuf {
        let upload = self.store.get_upload(ORG, file_id).await.unwrap().unwrap();
        self.blobs.local(&upload.blob_key).await.unwrap().path().to_path_buf()
    }

    /// Queues a job from a create-job body, checked by core's parser and validator.
    pub async fn create_job(&self, id: u64, body: serde_json::Value) -> JobId {
        self.create_job_at(id, body, Utc::now()).await
    }

    /// [`Env::create_job`] with the job's creation time given (the queue's order).
    pub async fn create_job_at(&self, id: u64, body: serde_json::Value, created_at: chrono::DateTime<Utc>) -> JobId {
        let request = parse_body(body.to_string().as_bytes()).expect("a valid body");
        let schema = self.store.org_schema(ORG).await.unwrap();
        let mut files = HashMap::new();
        for resource in &request.resource {
            let upload = self.store.get_upload(ORG, FileId::parse(&resource.file_id).unwrap()).await.unwrap().unwrap();
            files.insert(resource.file_id.clone(), upload.entries);
        }
        let expired = HashSet::new();
        let ctx =
            ValidationContext { schema: &schema, files: &files, expired_files: &expired, limits: Limits::default() };
        let spec = validate(&request, &ctx).expect("the body validates");
        let id = JobId::new(id);
        let job = NewJob { id, org: ORG, created_by: ADMIN, api_version: "v2".into(), spec, created_at };
        self.store.create_job(job).await.expect("create job");
        id
    }

    /// Uploads `csv` as `leads.csv` and queues an insert of it into Leads.
    pub async fn leads_job(&self, id: u64, csv: &str, callback: bool) -> (FileId, JobId) {
        self.leads_job_at(id, csv, callback, Utc::now()).await
    }

    /// [`Env::leads_job`] created at `created_at`.
    pub async fn leads_job_at(
        &self,
        id: u64,
        csv: &str,
        callback: bool,
        created_at: chrono::DateTime<Utc>,
    ) -> (FileId, JobId) {
        let file_id = self.upload(id + 9_000_000, &zip_of(&[("leads.csv", csv.as_bytes())])).await;
        let mut body = serde_json::json!({
            "operation": "insert",
            "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id.to_string()}]
        });
        if callback {
            body["callback"] = serde_json::json!({"url": "https://hooks.example.com/cb", "method": "post"});
        }
        (file_id, self.create_job_at(id, body, created_at).await)
    }

    pub async fn job(&self, id: JobId) -> Job {
        self.store.get_job(ORG, id).await.unwrap().expect("the job exists")
    }

    /// Polls the job until `ready` holds, for at most ten seconds.
    pub async fn wait_for(&self, id: JobId, what: &str, ready: impl Fn(&Job) -> bool) -> Job {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let job = self.job(id).await;
            if ready(&job) {
                return job;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {job:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A local copy of a blob.
    pub async fn blobs_local(&self, key: &str) -> bulkwrite_store::LocalBlob {
        self.blobs.local(key).await.expect("the blob exists")
    }

    /// The rows of the job's result CSV (header first), read from the result zip.
    pub async fn result_csv(&self, id: JobId) -> Vec<Vec<String>> {
        let job = self.job(id).await;
        let key = job.result_blob.expect("the job has a result file");
        let blob = self.blobs.local(&key).await.expect("the result blob exists");
        let mut archive = zip::ZipArchive::new(std::fs::File::open(blob.path()).unwrap()).expect("a zip");
        assert_eq!(archive.len(), 1, "one CSV per resource");
        let mut text = String::new();
        archive.by_index(0).unwrap().read_to_string(&mut text).unwrap();
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
        reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
    }

    /// Lead names of the org's records, sorted (every page read).
    pub async fn lead_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for page in 1.. {
            let query = bulkwrite_store::RecordQuery {
                page,
                per_page: 200,
                sort_by: bulkwrite_store::RecordSort::Id,
                descending: false,
                ids: None,
                offset: None,
            };
            let found = self.store.list_records(ORG, "Leads", &query).await.unwrap();
            names.extend(found.records.iter().map(|r| r.values["Last_Name"].as_str().unwrap_or_default().to_string()));
            if !found.more_records {
                break;
            }
        }
        names.sort();
        names
    }
}

/// A zip of the given entries.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// `Last_Name,Company` and `rows` leads named `Lead 00001`… No column is a unique key, so a
/// row applied twice would make a second record.
pub fn leads_csv(rows: usize) -> String {
    let mut csv = String::from("Last_Name,Company\n");
    for n in 1..=rows {
        csv.push_str(&format!("Lead {n:05},Acme {n}\n"));
    }
    csv
}

/// The names `Lead 00001` … `Lead {rows}`.
pub fn lead_range(rows: std::ops::RangeInclusive<usize>) -> Vec<String> {
    rows.map(|n| format!("Lead {n:05}")).collect()
}

/// A config with small chunks and a short lease.
pub fn config(chunk_rows: usize) -> WorkerConfig {
    WorkerConfig {
        node_id: "test".into(),
        chunk_rows,
        insert_chunk_rows: chunk_rows,
        lease_duration: Duration::from_secs(30),
        ..WorkerConfig::default()
    }
}

/// A shutdown signal that never fires.
pub fn no_shutdown() -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    std::mem::forget(sender);
    receiver
}

/// Runs one step of `worker` in its own task (as the worker loop would).
pub fn spawn_step(worker: &Arc<Worker>) -> tokio::task::JoinHandle<Option<(JobId, RunOutcome)>> {
    let worker = Arc::clone(worker);
    tokio::spawn(async move { worker.run_once(&no_shutdown()).await })
}

/// Result rows (without the header) by status column.
pub fn statuses(rows: &[Vec<String>]) -> Vec<&str> {
    let status = rows[0].iter().position(|c| c == "STATUS").expect("a STATUS column");
    rows[1..].iter().map(|r| r[status].as_str()).collect()
}
