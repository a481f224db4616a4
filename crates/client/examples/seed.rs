//! The seed program in Rust: upload a small CSV, then send the seed's exact create-job body
//! (`POST /crm/bulk/v2/write`) and print the JSON answer and status code as the seed does.
//!
//! ```sh
//! cargo run --release -p bulkwrite-cli -- serve     # in another terminal
//! cargo run -p bulkwrite-client --example seed      # reads bulkwrite-data/bootstrap.json
//! BULKWRITE_SERVER=http://127.0.0.1:8080 BULKWRITE_TOKEN=1000.… BULKWRITE_ORG=535167919 \
//!   cargo run -p bulkwrite-client --example seed
//! ```

mod common;

use bulkwrite_client::wire::{ErrorBody, SuccessBody};
use bulkwrite_client::{ApiVersion, BulkWriteJob, Client, Credentials, Endpoints, Error, UploadSource};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = common::settings();
    let client = Client::builder(Endpoints::bulkwrite(&settings.server), Credentials::access_token(&settings.token))
        .version(ApiVersion::V2)
        .build()?;
    let org = match settings.org {
        Some(org) => org,
        None => client.org().await?.zgid,
    };

    // The five columns the seed maps: Last_Name 0, Owner 1, Date_3 2 (yyyy/MM/dd), Mobile 3, Layout 4.
    let owner = settings.user_id.unwrap_or_default();
    let csv = format!(
        "Last_Name,Owner,Date_3,Mobile,Layout\n\
         Boyle,{owner},2021/05/13,+91 98450 00001,Standard\n\
         Quist,{owner},2021/13/01,555 0100,Standard\n"
    );
    let file = client.upload(&org, UploadSource::csv_bytes("leads.csv", csv)).await?;
    eprintln!("uploaded leads.csv as file {}", file.file_id);

    let job = BulkWriteJob::insert("Leads", &file.file_id)
        .ignore_empty(true)
        .callback("https://www.zoho.com/in/crm/")
        .map("Last_Name", 0)
        .map("Owner", 1)
        .map_with("Date_3", 2, |m| m.format("yyyy/MM/dd"))
        .map("Mobile", 3)
        .map("Layout", 4);

    match client.submit(&job).await {
        Ok(created) => {
            let body = SuccessBody::new("SUCCESS", "success", created);
            println!("Response Body:");
            println!("{}", serde_json::to_string_pretty(&body)?);
            println!("Response Status Code = 201");
            Ok(())
        }
        Err(Error::Api { http_status, code, message, details }) => {
            let body = ErrorBody { status: "error".into(), code, message, details };
            println!("Response Body:");
            println!("{}", serde_json::to_string_pretty(&body)?);
            println!("Response Status Code = {http_status}");
            println!("Failed.");
            std::process::exit(1);
        }
        Err(other) => Err(other.into()),
    }
}
