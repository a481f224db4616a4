//! `bulkwrite bench --export`: after the inserts, every Leads record is exported with Bulk Read
//! (one page holding them all) and timed from the create call to the zip on disk, with the
//! server's peak memory; beside it, the same rows written by hand in the same run: one `SELECT`
//! ordered by id, streamed, each record's fields as CSV cells, deflated into a zip (level 1, as
//! the server writes it) — the yardstick of issue 17 (within 2×).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::TryStreamExt;
use serde_json::{json, Value};

// Both exports write `id`, then the columns of the generated file.
use super::GENERATED_COLUMNS;

/// What one export took.
pub struct Exported {
    pub records: u64,
    pub millis: f64,
    pub zip_bytes: u64,
}

/// Runs a Bulk Read of every Leads record (these `fields` of each) over HTTP and downloads the
/// zip to `out`.
pub async fn bulk_read(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    fields: &[&str],
    out: &Path,
) -> anyhow::Result<Exported> {
    let auth = format!("Zoho-oauthtoken {token}");
    let started = Instant::now();
    let body = json!({"query": {"module": "Leads", "fields": fields}});
    let created: Value = http
        .post(format!("{base}/crm/bulk/v2/read"))
        .header("Authorization", &auth)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    let id = created["data"][0]["details"]["id"]
        .as_str()
        .with_context(|| format!("create read job: {created}"))?
        .to_string();
    let job = loop {
        let details: Value = http
            .get(format!("{base}/crm/bulk/v2/read/{id}"))
            .header("Authorization", &auth)
            .send()
            .await?
            .json()
            .await?;
        let job = details["data"][0].clone();
        match job["state"].as_str() {
            Some("COMPLETED") => break job,
            Some("FAILURE") => bail!("the read job failed: {job}"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let mut response =
        http.get(format!("{base}/crm/bulk/v2/read/{id}/result")).header("Authorization", &auth).send().await?;
    if !response.status().is_success() {
        bail!("download answered {}", response.status());
    }
    let mut file = BufWriter::new(std::fs::File::create(out)?);
    let mut zip_bytes = 0u64;
    while let Some(chunk) = response.chunk().await? {
        file.write_all(&chunk)?;
        zip_bytes += chunk.len() as u64;
    }
    file.flush()?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    Ok(Exported { records: job["result"]["count"].as_u64().unwrap_or(0), millis, zip_bytes })
}

/// A stored value as a CSV cell (as the export writes it: lookups as ids, lists joined by `;`).
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(object)) => {
            object.get("id").map(|id| id.as_str().map(str::to_string).unwrap_or(id.to_string())).unwrap_or_default()
        }
        Some(Value::Array(items)) => items.iter().map(|item| cell(Some(item))).collect::<Vec<_>>().join(";"),
        Some(other) => other.to_string(),
    }
}

/// Writes `(id, owner, data)` rows as the CSV entry of a zip at `out`, through one CSV writer.
struct ZipCsv {
    csv: csv::Writer<zip::ZipWriter<BufWriter<std::fs::File>>>,
    line: Vec<String>,
    records: u64,
}

impl ZipCsv {
    fn create(out: &Path) -> anyhow::Result<ZipCsv> {
        let mut zip = zip::ZipWriter::new(BufWriter::new(std::fs::File::create(out)?));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(true);
        zip.start_file("export.csv", options)?;
        let mut csv = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(zip);
        csv.write_record(std::iter::once("id").chain(GENERATED_COLUMNS.iter().copied()))?;
        Ok(ZipCsv { csv, line: Vec::with_capacity(GENERATED_COLUMNS.len() + 1), records: 0 })
    }

    fn row(&mut self, id: i64, owner: i64, data: &str) -> anyhow::Result<()> {
        let values: serde_json::Map<String, Value> = serde_json::from_str(data)?;
        self.line.clear();
        self.line.push(id.to_string());
        for field in GENERATED_COLUMNS {
            self.line.push(if *field == "Owner" { owner.to_string() } else { cell(values.get(*field)) });
        }
        self.csv.write_record(&self.line)?;
        self.records += 1;
        Ok(())
    }

    fn finish(self) -> anyhow::Result<u64> {
        let zip = self.csv.into_inner().map_err(|e| anyhow::anyhow!("{}", e.error()))?;
        zip.finish()?.flush()?;
        Ok(self.records)
    }
}

/// The hand-written export of the same records from the server's SQLite file.
pub fn by_hand_sqlite(db: &Path, org: i64, out: &Path) -> anyhow::Result<Exported> {
    let started = Instant::now();
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut statement =
        conn.prepare("SELECT id, owner, data FROM records WHERE org = ?1 AND module = 'Leads' ORDER BY id")?;
    let mut rows = statement.query([org])?;
    let mut zip = ZipCsv::create(out)?;
    while let Some(row) = rows.next()? {
        let data: String = row.get(2)?;
        zip.row(row.get(0)?, row.get(1)?, &data)?;
    }
    let records = zip.finish()?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    Ok(Exported { records, millis, zip_bytes: std::fs::metadata(out)?.len() })
}

/// The hand-written export of the same records from the server's PostgreSQL database, streamed.
pub async fn by_hand_postgres(url: &str, org: i64, out: &Path) -> anyhow::Result<Exported> {
    let started = Instant::now();
    let client = bulkwrite_store_postgres::scratch::client(url).await?;
    let sql = "SELECT id, owner, data::text FROM records WHERE org = $1 AND module = 'Leads' ORDER BY id";
    let rows = client.query_raw(sql, [&org]).await?;
    futures_util::pin_mut!(rows);
    let mut zip = ZipCsv::create(out)?;
    while let Some(row) = rows.try_next().await? {
        let data: String = row.get(2);
        zip.row(row.get(0), row.get(1), &data)?;
    }
    let records = zip.finish()?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    Ok(Exported { records, millis, zip_bytes: std::fs::metadata(out)?.len() })
}

/// The Bulk Read export, then the hand-written one of the same rows, reported side by side.
pub async fn compare(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    org: &str,
    data_dir: &Path,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    let org: i64 = org.parse().context("the org id")?;
    let scratch = tempfile::tempdir()?;
    let read = bulk_read(http, base, token, GENERATED_COLUMNS, &scratch.path().join("bulk-read.zip")).await?;
    let by_hand = match database_url {
        Some(url) => by_hand_postgres(url, org, &scratch.path().join("by-hand.zip")).await?,
        None => by_hand_sqlite(&data_dir.join("bulkwrite.sqlite"), org, &scratch.path().join("by-hand.zip"))?,
    };
    if read.records != by_hand.records {
        bail!("the export holds {} records, the hand-written one {}", read.records, by_hand.records);
    }
    out!(
        "  export  {:>9} records: Bulk Read {:.0} ms ({:.1} MiB zip), by hand SELECT → CSV → zip {:.0} ms ({:.1} MiB): {:.2}×",
        read.records,
        read.millis,
        read.zip_bytes as f64 / 1_048_576.0,
        by_hand.millis,
        by_hand.zip_bytes as f64 / 1_048_576.0,
        read.millis / by_hand.millis.max(1.0)
    );
    Ok(())
}
