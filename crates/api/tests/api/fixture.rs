//! A router over a fresh SQLite store and blob directory with one org, its tokens, and helpers to
//! send requests and check error answers whole.

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use bulkwrite_api::{ApiConfig, AppParts, AppState};
use bulkwrite_core::clock::ManualClock;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::schema::standard::standard_schema;
use bulkwrite_store::ids::IdAllocator;
use bulkwrite_store::token::hash_token;
use bulkwrite_store::{BootstrapRecord, DirBlobStore, IdStore, NewAccessToken, Org, Store, User};
use bulkwrite_store_sqlite::SqliteStore;
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

pub const ORG: OrgId = OrgId::new_const(111_222_333);
pub const OTHER_ORG: OrgId = OrgId::new_const(444_555_666);
pub const ADMIN: UserId = UserId::new_const(5_725_767_000_000_000_101);
pub const OTHER_ADMIN: UserId = UserId::new_const(5_725_767_000_000_000_201);

/// Every scope the server grants.
pub const FULL: &str = "1000.full";
/// Only `ZohoCRM.users.READ`.
pub const NARROW: &str = "1000.narrow";
/// Bulk and files, but no module scope.
pub const BULK_ONLY: &str = "1000.bulkonly";
/// Past its expiry.
pub const EXPIRED: &str = "1000.expired";
/// A token of the other org.
pub const OTHER: &str = "1000.other";
/// The admin key configured for `/bulkwrite/v1/admin/`.
pub const ADMIN_KEY: &str = "admin-key-0123456789";

/// The headers Zoho's recorded answers carry, which every answer of ours carries too.
pub const RECORDED_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "SAMEORIGIN"),
    ("referrer-policy", "strict-origin"),
    ("x-xss-protection", "1; mode=block"),
    ("cache-control", "no-cache"),
    ("pragma", "no-cache"),
    ("expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
    ("vary", "accept-encoding"),
];

/// One test's server, without a socket.
pub struct Api {
    pub router: Router,
    pub store: Arc<dyn Store>,
    /// The data directory: `blobs/` and `staging/` below it.
    pub dir: PathBuf,
    /// The router's clock: stands still until a test moves it.
    pub clock: Arc<ManualClock>,
    /// The router's events streams: a test rings their changes as a worker would.
    pub events: bulkwrite_api::events::EventStreams,
    _temp: tempfile::TempDir,
}

/// Events streams open at once in these tests.
pub const MAX_EVENT_STREAMS: usize = 2;

/// An answer, its body read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes));
        })
    }
}

fn org(zgid: OrgId, id: &str) -> Org {
    Org {
        zgid,
        id: id.into(),
        company_name: format!("Org {zgid}"),
        time_zone: "Asia/Kolkata".into(),
        currency: "USD".into(),
        created_at: Utc::now(),
    }
}

fn user(id: UserId, zgid: OrgId, email: &str) -> User {
    User {
        id,
        org: zgid,
        first_name: "Mara".into(),
        last_name: "Quist".into(),
        email: email.into(),
        profile: "Administrator".into(),
        role: "CEO".into(),
        active: true,
        created_at: Utc::now(),
    }
}

fn token(text: &str, zgid: OrgId, user: UserId, scopes: &[&str], expired: bool) -> NewAccessToken {
    NewAccessToken {
        token_hash: hash_token(text),
        org: zgid,
        user,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: expired.then(|| Utc::now() - chrono::Duration::hours(1)),
        client_id: None,
        refresh_hash: None,
    }
}

impl Api {
    pub async fn new() -> Api {
        Api::with_config(ApiConfig::default()).await
    }

    pub async fn with_config(config: ApiConfig) -> Api {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_path_buf();
        let sqlite = Arc::new(SqliteStore::open(&dir.join("bulkwrite.db")).await.expect("open sqlite"));
        let store: Arc<dyn Store> = sqlite.clone();
        let record = BootstrapRecord {
            org_id: ORG,
            user_id: ADMIN,
            user_name: "Mara Quist".into(),
            user_email: "mara@example.com".into(),
            access_token: FULL.into(),
            extra: serde_json::Map::new(),
        };
        let full = token(FULL, ORG, ADMIN, bulkwrite_api::ALL_SCOPES, false);
        let admin = user(ADMIN, ORG, "mara@example.com");
        store.bootstrap(org(ORG, "5725767000000011222"), admin, standard_schema(), full, record).await.unwrap();
        let other_admin = user(OTHER_ADMIN, OTHER_ORG, "other@example.com");
        store.create_org(org(OTHER_ORG, "5725767000000044555"), other_admin, standard_schema()).await.unwrap();
        for (text, zgid, by, scopes, expired) in [
            (NARROW, ORG, ADMIN, &["ZohoCRM.users.READ"][..], false),
            (BULK_ONLY, ORG, ADMIN, &["ZohoCRM.bulk.ALL", "ZohoFiles.files.ALL"][..], false),
            (EXPIRED, ORG, ADMIN, bulkwrite_api::ALL_SCOPES, true),
            (OTHER, OTHER_ORG, OTHER_ADMIN, bulkwrite_api::ALL_SCOPES, false),
        ] {
            store.insert_access_token(token(text, zgid, by, scopes, expired)).await.unwrap();
        }
        let blobs = Arc::new(DirBlobStore::open(&dir).expect("blob dir"));
        let ids = Arc::new(IdAllocator::new(sqlite as Arc<dyn IdStore>));
        let config = ApiConfig { admin_key: Some(ADMIN_KEY.into()), ..config };
        let clock = Arc::new(ManualClock::starting_now());
        let controls = Arc::new(bulkwrite_store::LiveControls::new(clock.clone(), config.test_controls));
        let changes = Arc::new(bulkwrite_store::changes::JobChanges::default());
        let mut events = bulkwrite_api::events::EventStreams::new(changes, MAX_EVENT_STREAMS);
        // No fallback re-reads: a stream moves only when a change is rung, as the tests do.
        events.fallback_poll = std::time::Duration::from_secs(3600);
        let state = AppState::from(AppParts {
            store: Arc::clone(&store),
            blobs,
            ids,
            config: Arc::new(config),
            job_queued: Arc::new(tokio::sync::Notify::new()),
            metrics: None,
            clock: controls.clock(),
            events: events.clone(),
            controls,
            driver: None,
            principals: bulkwrite_api::PrincipalCache::new(bulkwrite_api::DEFAULT_TOKEN_CACHE),
        });
        Api { router: bulkwrite_api::router(state), store, dir, clock, events, _temp: temp }
    }

    /// Sends one request through the whole router, layers included.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.expect("the router answers");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("the body is read").to_bytes().to_vec();
        Answer { status: parts.status, headers: parts.headers, bytes }
    }

    /// `method path` with `Zoho-oauthtoken <token>` (none when `token` is empty) and a body.
    pub async fn call(&self, method: &str, path: &str, token: &str, body: Body) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if !token.is_empty() {
            request = request.header("authorization", format!("Zoho-oauthtoken {token}"));
        }
        self.send(request.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call("GET", path, token, Body::empty()).await
    }

    /// `POST /crm/bulk/v2/write` with a JSON body.
    pub async fn create_job(&self, token: &str, body: &Value) -> Answer {
        let request = Request::post("/crm/bulk/v2/write")
            .header("authorization", format!("Zoho-oauthtoken {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    /// `POST /crm/v2/upload` of `bytes` as the `file` part, with the headers Zoho requires.
    pub async fn upload(&self, bytes: &[u8]) -> Answer {
        let headers = [("feature", "bulk-write"), ("X-CRM-ORG", "111222333")];
        self.upload_with(FULL, &headers, "file", bytes).await
    }

    pub async fn upload_with(&self, token: &str, headers: &[(&str, &str)], part: &str, bytes: &[u8]) -> Answer {
        let boundary = "----bulkwrite-test-boundary";
        let mut body = Vec::new();
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{part}\"; filename=\"leads.zip\"\r\n").as_bytes(),
        );
        body.extend_from_slice(b"Content-Type: application/zip\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut request = Request::post("/crm/v2/upload")
            .header("authorization", format!("Zoho-oauthtoken {token}"))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .header("content-length", body.len());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Uploads a zip of one CSV and returns its file id.
    pub async fn upload_csv(&self, name: &str, csv: &str) -> String {
        let answer = self.upload(&zip_of(&[(name, csv.as_bytes())])).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.bytes));
        answer.json()["details"]["file_id"].as_str().unwrap().to_string()
    }
}

/// Checks a whole error answer: status, `{status, code, message, details}` in that order, JSON
/// content type and the recorded headers.
#[track_caller]
pub fn assert_error(answer: &Answer, status: u16, code: &str, message: &str, details: Value) {
    let body = answer.json();
    assert_eq!(answer.status.as_u16(), status, "status of {body}");
    let keys: Vec<&str> = body.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["status", "code", "message", "details"], "the envelope's keys in order: {body}");
    assert_eq!(body, json!({"status": "error", "code": code, "message": message, "details": details}));
    assert_eq!(answer.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
    assert_recorded_headers(answer);
}

#[track_caller]
pub fn assert_recorded_headers(answer: &Answer) {
    for (name, value) in RECORDED_HEADERS {
        assert_eq!(answer.headers.get(*name).and_then(|v| v.to_str().ok()), Some(*value), "header {name}");
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

pub const LEADS_CSV: &str = "Last_Name,Company,Email\nQuist,Acme,q@example.com\n";

/// An insert of one Leads resource from `file_id`.
pub fn insert_body(file_id: &str) -> Value {
    json!({"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id}]})
}
