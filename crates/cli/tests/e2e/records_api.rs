//! The records API writes the same records bulk jobs write, with Zoho's per-record answers.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Server;

async fn call(server: &Server, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = server.auth(server.http.request(method, server.url(path))).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

#[tokio::test]
async fn insert_update_upsert_delete_and_count() {
    let server = Server::start(&[]).await;
    let (status, inserted) = call(
        &server,
        Method::POST,
        "/crm/v2/Leads",
        json!({"data": [
            {"Last_Name": "Boyle", "Company": "Zylker", "Email": "pat@zylker.com", "No_of_Employees": 12},
            {"Last_Name": "Twin", "Company": "Zylker", "Email": "PAT@zylker.com"},
            {"Company": "Nameless"},
            {"Last_Name": "Bad", "Company": "X", "Email": "not-an-email"}
        ]}),
    )
    .await;
    assert_eq!(status, 207, "{inserted}");
    let data = inserted["data"].as_array().unwrap();
    assert_eq!(data[0]["code"], "SUCCESS");
    assert_eq!(data[0]["message"], "record added");
    assert_eq!(data[0]["details"]["Created_By"], json!({"name": server.user_name, "id": server.user}));
    let id = data[0]["details"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        data[1],
        json!({"code": "DUPLICATE_DATA", "details": {"api_name": "Email", "json_path": "$.data[1].Email"}, "message": "duplicate data", "status": "error"})
    );
    assert_eq!(
        data[2],
        json!({"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name", "json_path": "$.data[2].Last_Name"}, "message": "required field not found", "status": "error"})
    );
    assert_eq!(data[3]["code"], "INVALID_DATA");
    assert_eq!(data[3]["details"]["api_name"], "Email");

    let (status, updated) = call(
        &server,
        Method::PUT,
        &format!("/crm/v2/Leads/{id}"),
        json!({"data": [{"Phone": "555 0100", "No_of_Employees": null}]}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"][0]["message"], "record updated");
    let (_, record) = server.get_json(&format!("/crm/v2/Leads/{id}")).await;
    let lead = &record["data"][0];
    assert_eq!(
        (lead["Phone"].as_str(), lead["Company"].as_str(), &lead["No_of_Employees"]),
        (Some("555 0100"), Some("Zylker"), &Value::Null)
    );

    let (status, missing) =
        call(&server, Method::PUT, "/crm/v2/Leads", json!({"data": [{"id": "5725767000000999999", "Phone": "1"}]}))
            .await;
    assert_eq!(status, 400);
    assert_eq!(missing["data"][0]["code"], "INVALID_DATA");

    let (status, upserted) = call(
        &server,
        Method::POST,
        "/crm/v2/Leads/upsert",
        json!({"data": [{"Email": "pat@zylker.com", "Last_Name": "Boyle-Quist"}, {"Email": "new@zylker.com", "Last_Name": "New", "Company": "Z"}], "duplicate_check_fields": ["Email"]}),
    )
    .await;
    assert_eq!(status, 201, "{upserted}");
    assert_eq!(upserted["data"][0]["action"], "update");
    assert_eq!(upserted["data"][0]["details"]["id"], json!(id));
    assert_eq!(upserted["data"][1]["action"], "insert");

    let (_, count) = server.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(count, json!({"count": 2}));
    assert_eq!(server.get_json("/crm/v2/Leads/actions/count").await.0, 404, "count exists from v2.1 on");

    let (status, deleted) = call(&server, Method::DELETE, &format!("/crm/v2/Leads?ids={id},123"), Value::Null).await;
    assert_eq!(status, 207);
    assert_eq!(
        deleted["data"][0],
        json!({"code": "SUCCESS", "details": {"id": id}, "message": "record deleted", "status": "success"})
    );
    assert_eq!(deleted["data"][1]["message"], "record not deleted");
    assert_eq!(server.get_json(&format!("/crm/v2/Leads/{id}")).await.0, 204);
    let (status, reinserted) = call(
        &server,
        Method::POST,
        "/crm/v2/Leads",
        json!({"data": [{"Last_Name": "Again", "Company": "Z", "Email": "pat@zylker.com"}]}),
    )
    .await;
    assert_eq!(status, 201, "a deleted record frees its unique values: {reinserted}");

    let (status, error) = call(&server, Method::POST, "/crm/v2/Leads", json!({"nope": []})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("MANDATORY_NOT_FOUND")));
    let too_many: Vec<Value> = (0..101).map(|i| json!({"Last_Name": format!("L{i}"), "Company": "C"})).collect();
    let (status, error) = call(&server, Method::POST, "/crm/v2/Leads", json!({"data": too_many})).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("LIMIT_EXCEEDED")));
}

#[tokio::test]
async fn bulk_jobs_and_the_records_api_share_records() {
    let server = Server::start(&[]).await;
    let (_, inserted) =
        call(&server, Method::POST, "/crm/v2/Accounts", json!({"data": [{"Account_Name": "Zylker"}]})).await;
    let account = inserted["data"][0]["details"]["id"].as_str().unwrap().to_string();
    let csv = format!("Last_Name,Email,Account\nQuist,mara@zylker.com,Zylker\nBoyle,pat@zylker.com,{account}\n");
    let file_id = server.upload_csv("contacts.csv", &csv).await;
    let body = json!({
        "operation": "upsert",
        "resource": [{
            "type": "data", "module": "Contacts", "file_id": file_id, "find_by": "Email",
            "field_mappings": [
                {"api_name": "Last_Name", "index": 0},
                {"api_name": "Email", "index": 1},
                {"api_name": "Account_Name", "index": 2, "find_by": "Account_Name"}
            ]
        }]
    });
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    let (_, rows) = server.result_rows(&job).await;
    assert_eq!(rows[1][3], "ADDED", "{rows:?}");
    assert_eq!(rows[2][3], "SKIPPED", "the account name column does not hold an id: {rows:?}");
    assert_eq!(rows[2][5], "RESOURCE_NOT_FOUND-Account");
    let contact = rows[1][4].clone();
    let (_, record) = server.get_json(&format!("/crm/v2/Contacts/{contact}")).await;
    assert_eq!(record["data"][0]["Account_Name"], json!({"name": "Zylker", "id": account}));
    let (status, _) = call(
        &server,
        Method::POST,
        "/crm/v2/Contacts",
        json!({"data": [{"Last_Name": "Dup", "Email": "MARA@zylker.com"}]}),
    )
    .await;
    assert_eq!(status, 400, "the bulk job's unique key holds for the records API too");
}

#[tokio::test]
async fn listings_page_with_page_tokens() {
    let server = Server::start(&[]).await;
    for batch in 0..3 {
        let rows: Vec<Value> =
            (0..100).map(|i| json!({"Last_Name": format!("L{batch}-{i:03}"), "Company": "C"})).collect();
        let (status, _) = call(&server, Method::POST, "/crm/v2/Leads", json!({"data": rows})).await;
        assert_eq!(status, 201);
    }
    let (status, first) = server.get_json("/crm/v3/Leads?fields=Last_Name&per_page=200").await;
    assert_eq!(status, 200);
    assert_eq!(first["info"]["more_records"], true);
    let token = first["info"]["next_page_token"].as_str().expect("a next page token").to_string();
    assert!(first["info"]["page_token_expiry"].is_string());
    let (_, second) = server.get_json(&format!("/crm/v3/Leads?fields=Last_Name&per_page=200&page_token={token}")).await;
    assert_eq!(second["data"].as_array().unwrap().len(), 100);
    assert_eq!(second["data"][0]["Last_Name"], "L2-000", "the token continues where the first page ended");
    assert_eq!(second["info"]["more_records"], false);
    assert!(second["info"].get("next_page_token").is_none());
    let (status, error) = server.get_json("/crm/v3/Leads?fields=Last_Name&per_page=200&page=11").await;
    assert_eq!((status, error["code"].as_str()), (400, Some("DISCRETE_PAGINATION_LIMIT_EXCEEDED")));
    let (status, error) = server.get_json("/crm/v3/Leads?fields=Last_Name&page_token=zz").await;
    assert_eq!((status, error["code"].as_str()), (400, Some("INVALID_DATA")));
}

/// Runs a bulk job (v8) to completion.
async fn bulk(server: &Server, zip: Vec<u8>, resources: Value) {
    let (status, uploaded) = server.upload_raw(zip, "upload.zip").await;
    assert_eq!(status, 200, "{uploaded}");
    let file_id = uploaded["details"]["file_id"].as_str().unwrap();
    let text = serde_json::to_string(&resources).unwrap().replace("{{file_id}}", file_id);
    let body = json!({"operation": "insert", "resource": serde_json::from_str::<Value>(&text).unwrap()});
    let (status, created) = call(server, Method::POST, "/crm/bulk/v8/write", body).await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
}

#[tokio::test]
async fn inventory_totals_and_line_items_read_back_in_every_version() {
    inventory_read_back(&Server::start(&[]).await).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn inventory_totals_and_line_items_on_postgres() {
    let database = crate::multinode::fresh_database().await;
    inventory_read_back(&crate::multinode::node(&database, "all", &[]).await).await;
}

/// Products, then a quote with two lines (v8); the totals and lines read back in v8 and v2.
async fn inventory_read_back(server: &Server) {
    let products = crate::harness::zip_of(&[("products.csv", b"Product_Name,Unit_Price\nPump,12.5\n")]);
    bulk(server, products, json!([{"type": "data", "module": {"api_name": "Products"}, "file_id": "{{file_id}}"}]))
        .await;
    let quotes: &[u8] = b"Key,Subject,Adjustment\nQ-1,Pumps,-2\n";
    let items: &[u8] = b"Key,Product,Qty,Discount\nQ-1,Pump,4,5\nQ-1,Pump,1,\n";
    let zip = crate::harness::zip_of(&[("quotes.csv", quotes), ("items.csv", items)]);
    bulk(
        server,
        zip,
        json!([
            {"type": "data", "module": {"api_name": "Quotes"}, "file_id": "{{file_id}}", "file_names": ["quotes.csv"],
             "field_mappings": [{"api_name": "Subject", "index": 1}, {"api_name": "Adjustment", "index": 2}]},
            {"type": "data", "module": {"api_name": "Quoted_Items"}, "file_id": "{{file_id}}", "file_names": ["items.csv"],
             "field_mappings": [
                {"api_name": "Parent_Id", "index": 0, "parent_column_index": 0},
                {"api_name": "Product_Name", "index": 1, "find_by": "Product_Name"},
                {"api_name": "Quantity", "index": 2},
                {"api_name": "Discount", "index": 3}
             ]}
        ]),
    )
    .await;
    // Lines: 4 × 12.5 − 5 = 45 and 1 × 12.5 = 12.5; Sub_Total 57.5; Grand_Total 57.5 − 2 = 55.5.
    let (status, listed) = server.get_json("/crm/v8/Quotes?fields=Subject,Sub_Total,Tax,Adjustment,Grand_Total").await;
    assert_eq!(status, 200, "{listed}");
    let row = &listed["data"][0];
    let quote = row["id"].as_str().unwrap();
    assert_eq!(
        (&row["Subject"], &row["Sub_Total"], &row["Tax"], &row["Adjustment"], &row["Grand_Total"]),
        (&json!("Pumps"), &json!(57.5), &json!(0.0), &json!(-2.0), &json!(55.5))
    );
    let (_, v8) = server.get_json(&format!("/crm/v8/Quotes/{quote}")).await;
    let lines = v8["data"][0]["Quoted_Items"].as_array().expect("Quoted_Items in v8").clone();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["Product_Name"]["name"], "Pump");
    assert_eq!((&lines[0]["Total"], &lines[0]["Net_Total"]), (&json!(50.0), &json!(45.0)));
    assert_eq!(lines[1]["List_Price"], json!(12.5));
    assert_eq!(v8["data"][0]["Grand_Total"], json!(55.5));
    let (_, v2) = server.get_json(&format!("/crm/v2/Quotes/{quote}")).await;
    let record = &v2["data"][0];
    assert!(record.get("Quoted_Items").is_none(), "{record}");
    let details = record["Product_Details"].as_array().expect("Product_Details in v2");
    assert_eq!(details[0]["product"]["name"], "Pump");
    assert_eq!(
        (&details[0]["quantity"], &details[0]["list_price"], &details[0]["total_after_discount"]),
        (&json!(4.0), &json!(12.5), &json!(45.0))
    );
    assert_eq!(record["Sub_Total"], json!(57.5));
}
