//! The org's taxes (`GET /crm/{v}/org/taxes`, set through the admin API) and inventory records
//! written with their lines and taxes through the records API, priced and totalled as bulk
//! write prices and totals them.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::Server;

async fn call(server: &Server, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = server.auth(server.http.request(method, server.url(path))).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

async fn set_taxes(server: &Server, taxes: Value) -> Value {
    let path = format!("/orgs/{}/taxes", server.org);
    let (status, answer) = server.admin(Method::PUT, &path, json!({"taxes": taxes})).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn the_taxes_api_lists_the_taxes_the_admin_sets() {
    let server = Server::start(&[]).await;
    let (status, _) = server.get_json("/crm/v2/org/taxes").await;
    assert_eq!(status, 204, "no taxes yet");
    set_taxes(&server, json!([{"name": "Sales Tax", "value": 12.5}, {"name": "Vat", "value": 5}])).await;
    let answer = set_taxes(&server, json!([{"name": "VAT", "value": 7.5}])).await;
    assert_eq!(answer["taxes"].as_array().unwrap().len(), 2, "replaced by name: {answer}");

    let (status, v2) = server.get_json("/crm/v2/org/taxes").await;
    assert_eq!(status, 200, "{v2}");
    let taxes = v2["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 2);
    let vat = taxes[1].clone();
    let id = vat["id"].as_str().unwrap().to_string();
    assert_eq!(
        vat,
        json!({"id": id, "name": "VAT", "display_label": "VAT - 7.5 %", "value": 7.5, "sequence_number": 2})
    );
    assert_eq!(v2["preference"], json!({"auto_populate_tax": false, "modify_tax_rates": true}));
    let (_, v8) = server.get_json("/crm/v8/org/taxes").await;
    assert_eq!(v8["org_taxes"]["taxes"], v2["taxes"], "v5+ wraps them in org_taxes: {v8}");
    let (status, one) = server.get_json(&format!("/crm/v3/org/taxes/{id}")).await;
    assert_eq!((status, &one["taxes"][0]["name"]), (200, &json!("VAT")), "{one}");
    let (status, unknown) = server.get_json("/crm/v3/org/taxes/123").await;
    assert_eq!((status, &unknown["code"]), (400, &json!("INVALID_DATA")), "{unknown}");

    let path = format!("/orgs/{}/taxes", server.org);
    let (status, refused) = server.admin(Method::PUT, &path, json!({"taxes": [{"name": "Bad", "value": 150}]})).await;
    assert_eq!((status, &refused["code"]), (400, &json!("INVALID_DATA")), "{refused}");
    let (status, left) = server.admin_call(Method::DELETE, &format!("/bulkwrite/v1/admin{path}/{id}")).await;
    assert_eq!(status, 200, "{left}");
    assert_eq!(left["taxes"].as_array().unwrap().len(), 1);
    let (status, _) = server.admin_call(Method::DELETE, &format!("/bulkwrite/v1/admin{path}/{id}")).await;
    assert_eq!(status, 404);
}

/// A product `Pump` at 12.5 and `Valve` at 40; answers their ids.
async fn products(server: &Server) -> (String, String) {
    let (status, answer) = call(
        server,
        Method::POST,
        "/crm/v3/Products",
        json!({"data": [{"Product_Name": "Pump", "Unit_Price": 12.5}, {"Product_Name": "Valve", "Unit_Price": 40}]}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let id = |i: usize| answer["data"][i]["details"]["id"].as_str().unwrap().to_string();
    (id(0), id(1))
}

#[tokio::test]
async fn quotes_take_their_lines_and_taxes_through_the_records_api() {
    let server = Server::start(&[]).await;
    set_taxes(&server, json!([{"name": "Sales Tax", "value": 10}, {"name": "Vat", "value": 5}])).await;
    let (pump, valve) = products(&server).await;
    let (status, answer) = call(
        &server,
        Method::POST,
        "/crm/v3/Quotes",
        json!({"data": [
            {
                "Subject": "Pumps for Zylker", "Discount": 4.5, "Adjustment": 1,
                "$line_tax": [{"name": "Vat"}],
                "Quoted_Items": [
                    {"Product_Name": {"id": pump}, "Quantity": 4, "Discount": 5, "Line_Tax": [{"name": "Sales Tax"}]},
                    {"Product_Name": {"id": valve}, "Quantity": 1, "List_Price": 30}
                ]
            },
            {"Subject": "No lines"},
            {"Subject": "Bad product", "Quoted_Items": [{"Product_Name": {"id": pump}, "Quantity": 1}, {"Product_Name": {"id": "111"}, "Quantity": 1}]},
            {"Subject": "Bad tax", "$line_tax": [{"name": "GST"}], "Quoted_Items": [{"Product_Name": {"id": pump}, "Quantity": 1}]},
            {"Subject": "Bad line tax", "Quoted_Items": [{"Product_Name": {"id": pump}, "Quantity": 1, "Line_Tax": [{"name": "GST"}]}]},
            {"Subject": "Zero", "Quoted_Items": [{"Product_Name": {"id": pump}, "Quantity": 0}]}
        ]}),
    )
    .await;
    assert_eq!(status, 207, "{answer}");
    let data = answer["data"].as_array().unwrap();
    assert_eq!(data[0]["code"], "SUCCESS", "{answer}");
    let quote = data[0]["details"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        data[1],
        json!({"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Quoted_Items", "json_path": "$.data[1].Quoted_Items"}, "message": "required field not found", "status": "error"})
    );
    assert_eq!(
        data[2],
        json!({"code": "INVALID_DATA", "details": {"api_name": "Product_Name", "json_path": "$.data[2].Quoted_Items[1].Product_Name"}, "message": "invalid data", "status": "error"})
    );
    assert_eq!(
        data[3],
        json!({"code": "INVALID_DATA", "details": {"api_name": "$line_tax", "json_path": "$.data[3].$line_tax[0].name"}, "message": "invalid data", "status": "error"})
    );
    assert_eq!(data[4]["details"]["json_path"], "$.data[4].Quoted_Items[0].Line_Tax", "{answer}");
    assert_eq!(data[5]["details"]["json_path"], "$.data[5].Quoted_Items[0].Quantity", "{answer}");
    let (_, listed) = server.get_json("/crm/v3/Quotes?fields=Subject").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "refused quotes are not written: {listed}");

    // Line 1: 4 × 12.5 = 50, − 5 = 45, Sales Tax 10 % = 4.5 → 49.5. Line 2: 30 → 30.
    // Sub_Total 79.5; Vat 5 % of (79.5 − 4.5) = 3.75; Grand_Total 79.5 − 4.5 + 3.75 + 1.
    let (status, got) = server.get_json(&format!("/crm/v3/Quotes/{quote}")).await;
    assert_eq!(status, 200, "{got}");
    let record = &got["data"][0];
    assert_eq!(
        (&record["Sub_Total"], &record["Tax"], &record["Grand_Total"]),
        (&json!(79.5), &json!(3.75), &json!(79.75)),
        "{record}"
    );
    let vat_id = record["$line_tax"][0]["id"].clone();
    assert_eq!(record["$line_tax"], json!([{"name": "Vat", "percentage": 5.0, "id": vat_id, "value": 3.75}]));
    let lines = record["Quoted_Items"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!((&lines[0]["Tax"], &lines[0]["Net_Total"]), (&json!(4.5), &json!(49.5)));
    assert_eq!(lines[0]["Line_Tax"][0]["value"], json!(4.5));
    assert_eq!(
        (&lines[1]["List_Price"], &lines[1]["Unit_Price"], &lines[1]["Line_Tax"]),
        (&json!(30.0), &json!(40.0), &json!([]))
    );
    let first_line = lines[0]["id"].as_str().unwrap().to_string();

    // An update that gives lines replaces them: the named one is updated, the other deleted,
    // a new one added; the totals follow.
    let (status, updated) = call(
        &server,
        Method::PUT,
        &format!("/crm/v3/Quotes/{quote}"),
        json!({"data": [{"$line_tax": [], "Quoted_Items": [
            {"id": first_line, "Quantity": 2},
            {"Product_Name": {"id": valve}, "Quantity": 1}
        ]}]}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    let (_, got) = server.get_json(&format!("/crm/v3/Quotes/{quote}")).await;
    let record = &got["data"][0];
    let lines = record["Quoted_Items"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{record}");
    // 2 × 12.5 − 5 = 20, + 10 % = 22; the valve at 40. Sub_Total 62, no record tax; 62 − 4.5 + 1.
    assert_eq!((&lines[0]["id"], &lines[0]["Net_Total"]), (&json!(first_line), &json!(22.0)));
    assert_eq!(lines[1]["Net_Total"], json!(40.0));
    assert_eq!(
        (&record["Sub_Total"], &record["Tax"], &record["Grand_Total"]),
        (&json!(62.0), &json!(0.0), &json!(58.5))
    );
}

#[tokio::test]
async fn v2_writes_product_details_with_its_own_keys() {
    let server = Server::start(&[]).await;
    set_taxes(&server, json!([{"name": "Sales Tax", "value": 10}])).await;
    let (pump, _) = products(&server).await;
    let (status, answer) = call(
        &server,
        Method::POST,
        "/crm/v2/Sales_Orders",
        json!({"data": [{"Subject": "SO-1", "Product_Details": [
            {"product": {"id": pump}, "quantity": 2, "list_price": 10, "line_tax": [{"name": "Sales Tax", "percentage": 20}]}
        ]}]}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let id = answer["data"][0]["details"]["id"].as_str().unwrap();
    let (_, got) = server.get_json(&format!("/crm/v2/Sales_Orders/{id}")).await;
    let record = &got["data"][0];
    let line = &record["Product_Details"][0];
    assert_eq!((&line["quantity"], &line["net_total"]), (&json!(2.0), &json!(24.0)), "{record}");
    assert_eq!(line["line_tax"][0]["percentage"], json!(20.0));
    assert_eq!((&record["Sub_Total"], &record["Grand_Total"]), (&json!(24.0), &json!(24.0)));
    assert_eq!(record["$line_tax"], json!([]));
}

#[tokio::test]
async fn bulkwrite_admin_taxes_sets_what_the_taxes_api_lists() {
    let server = Server::start(&[]).await;
    let set = crate::perms::admin(&server, &["taxes", "set", "--name", "GST", "--value", "18"]);
    let id = set["taxes"][0]["id"].as_str().unwrap().to_string();
    crate::perms::admin(&server, &["taxes", "set", "--name", "Cess", "--value", "1.5"]);
    let listed = crate::perms::admin(&server, &["taxes", "list"]);
    assert_eq!(listed["taxes"].as_array().unwrap().len(), 2, "{listed}");
    let (status, v4) = server.get_json("/crm/v4/org/taxes").await;
    assert_eq!(status, 200, "{v4}");
    assert_eq!((&v4["taxes"][0]["name"], &v4["taxes"][0]["value"]), (&json!("GST"), &json!(18.0)));
    assert_eq!(
        (&v4["taxes"][1]["display_label"], &v4["taxes"][1]["sequence_number"]),
        (&json!("Cess - 1.5 %"), &json!(2))
    );
    let left = crate::perms::admin(&server, &["taxes", "delete", "--id", &id]);
    assert_eq!(
        left["taxes"],
        json!([{"id": left["taxes"][0]["id"], "name": "Cess", "display_label": "Cess - 1.5 %", "value": 1.5, "sequence_number": 1}])
    );
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_bulkwrite"))
        .args(["admin", "--data-dir"])
        .arg(&server.dir)
        .args(["taxes", "set", "--name", "Bad", "--value", "-1"])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "a negative rate is refused");
}

#[tokio::test]
async fn an_upsert_writes_the_lines_of_the_record_it_inserts_or_replaces_them() {
    let server = Server::start(&[]).await;
    let (pump, valve) = products(&server).await;
    let body = |product: &str, quantity: u32| json!({"data": [{"Subject": "INV-1", "Invoiced_Items": [{"Product_Name": {"id": product}, "Quantity": quantity}]}]});
    let (status, inserted) = call(&server, Method::POST, "/crm/v3/Invoices/upsert", body(&pump, 2)).await;
    assert_eq!((status, &inserted["data"][0]["action"]), (201, &json!("insert")), "{inserted}");
    let id = inserted["data"][0]["details"]["id"].as_str().unwrap().to_string();
    let (status, updated) = call(&server, Method::POST, "/crm/v3/Invoices/upsert", body(&valve, 3)).await;
    assert_eq!((status, &updated["data"][0]["action"]), (201, &json!("update")), "{updated}");
    let (_, got) = server.get_json(&format!("/crm/v3/Invoices/{id}")).await;
    let record = &got["data"][0];
    let lines = record["Invoiced_Items"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "the upsert's lines replace the stored ones: {record}");
    assert_eq!((&lines[0]["Product_Name"]["name"], &lines[0]["Net_Total"]), (&json!("Valve"), &json!(120.0)));
    assert_eq!(record["Grand_Total"], json!(120.0));
}
