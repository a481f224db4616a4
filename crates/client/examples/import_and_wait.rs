//! Import a CSV end to end: upload (zipped by the client), create an insert job that maps the
//! CSV header to fields, wait with progress, download the result and summarise it.
//!
//! ```sh
//! cargo run -p bulkwrite-client --example import_and_wait -- leads.csv Leads
//! cargo run -p bulkwrite-client --example import_and_wait      # a small generated CSV
//! ```
//!
//! Settings come from `BULKWRITE_SERVER`, `BULKWRITE_TOKEN`, `BULKWRITE_ORG` or
//! `bulkwrite-data/bootstrap.json`. The result zip is written to `<job id>.zip`.

mod common;

use std::time::Duration;

use bulkwrite_client::{
    ApiVersion, BulkWriteJob, Client, Credentials, Endpoints, RowStatus, UploadSource, WaitOptions,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = common::settings();
    let mut args = std::env::args().skip(1);
    let source = match args.next() {
        Some(path) => UploadSource::path(path),
        None => UploadSource::csv_bytes(
            "demo-leads.csv",
            "Last_Name,Company,Email\n\
             Boyle,Acme,boyle@example.com\n\
             Quist,Acme,quist@example.com\n\
             ,Acme,nameless@example.com\n",
        ),
    };
    let module = args.next().unwrap_or_else(|| "Leads".to_string());

    let client = Client::builder(Endpoints::bulkwrite(&settings.server), Credentials::access_token(&settings.token))
        .version(ApiVersion::V2_1)
        .build()?;
    let org = match settings.org {
        Some(org) => org,
        None => client.org().await?.zgid,
    };

    let file = client.upload(&org, source).await?;
    println!("uploaded file {}", file.file_id);
    // No field mappings: the server maps each header to the field of that API name.
    let created = client.submit(&BulkWriteJob::insert(&module, &file.file_id)).await?;
    println!("created job {} as {}", created.id, created.created_by.name);

    let options = WaitOptions::default()
        .delays(Duration::from_millis(250), Duration::from_secs(5))
        .timeout(Duration::from_secs(600))
        .on_progress(|p| {
            println!(
                "  {:<12} added {:>6}  updated {:>6}  skipped {:>6}  total {:>6}",
                p.status, p.added, p.updated, p.skipped, p.total
            );
        });
    let details = client.wait_for_job(&created.id, options).await?;
    if details.result.is_none() {
        println!("job ended {} without a result file", details.status);
        std::process::exit(1);
    }

    let result = client.download_result(&details).await?;
    let path = format!("{}.zip", details.id);
    result.write_to(&path)?;
    println!(
        "job {}: {} added, {} updated, {} skipped; result in {path}",
        details.status,
        result.count(&RowStatus::Added),
        result.count(&RowStatus::Updated),
        result.count(&RowStatus::Skipped)
    );
    for csv in &result.files {
        for (number, row) in csv.rows.iter().enumerate().filter(|(_, r)| !r.errors.is_empty()) {
            let errors: Vec<String> =
                row.errors.iter().map(|e| format!("{} ({})", e.code, e.columns.join(", "))).collect();
            println!("  {} row {}: {}", csv.name, number + 1, errors.join("; "));
        }
    }
    Ok(())
}
