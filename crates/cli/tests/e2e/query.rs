//! Reading an import back the way Zoho users do, over HTTP through the binary: records search
//! (`criteria`, `email`, `word`) and COQL, on SQLite and (when BULKWRITE_TEST_DATABASE_URL is
//! set) PostgreSQL.

use serde_json::{json, Value};

use crate::harness::Server;

const CSV: &str = "Last_Name,Company,Email,No_of_Employees\n\
                   Ng,Acme,ng@acme.example,9\n\
                   Quist,Acme,quist@acme.example,10\n\
                   Olsen,Acme (EU),olsen@acme.example,100\n\
                   Abe,Zylker,abe@zylker.example,\n";

async fn import(server: &Server) {
    let file_id = server.upload_csv("leads.csv", CSV).await;
    let body = json!({"operation": "insert", "resource": [{"type": "data", "module": "Leads", "file_id": file_id}]});
    let (status, created) = server.create_job(&body).await;
    assert_eq!(status, 201, "{created}");
    let job = server.wait_job(created["details"]["id"].as_str().unwrap()).await;
    assert_eq!(job["resource"][0]["file"]["added_count"], 4, "{job}");
}

async fn coql(server: &Server, query: &str) -> (u16, Value) {
    let response = server
        .auth(server.http.post(server.url("/crm/v2/coql")))
        .json(&json!({ "select_query": query }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

fn names(body: &Value) -> Vec<&str> {
    body["data"].as_array().unwrap().iter().map(|r| r["Last_Name"].as_str().unwrap()).collect()
}

async fn read_back(server: &Server) {
    import(server).await;
    let (status, found) = server.get_json("/crm/v2/Leads/search?email=QUIST@acme.example").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(names(&found), ["Quist"]);
    assert_eq!(found["data"][0]["Company"], "Acme");
    let criteria = "((Company:equals:Acme%20%5C(EU%5C))or(No_of_Employees:between:5,9))";
    let (status, found) = server.get_json(&format!("/crm/v2/Leads/search?criteria={criteria}")).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(names(&found), ["Ng", "Olsen"]);
    let (_, found) = server.get_json("/crm/v2/Leads/search?word=zylker").await;
    assert_eq!(names(&found), ["Abe"]);
    let (status, _) = server.get_json("/crm/v2/Leads/search?criteria=(Last_Name:equals:Nobody)").await;
    assert_eq!(status, 204);
    let (status, refused) = server.get_json("/crm/v2/Leads/search").await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("EXPECTED_PARAM_MISSING")));

    let (status, body) = coql(
        server,
        "select Last_Name, Email, No_of_Employees from Leads where No_of_Employees >= 10 or No_of_Employees is null \
         order by No_of_Employees desc limit 2",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["Olsen", "Quist"], "numbers sort as numbers, empty last");
    assert_eq!(body["data"][1]["No_of_Employees"], 10);
    assert_eq!(body["info"], json!({"count": 2, "more_records": true}));
    let (_, body) = coql(server, "select Last_Name from Leads where Email like '%@acme.example' limit 1, 5").await;
    assert_eq!(names(&body), ["Quist", "Olsen"]);
    let (status, refused) = coql(server, "select Last_Name from Leads where Last_Name = ").await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("SYNTAX_ERROR")));
}

#[tokio::test]
async fn an_import_reads_back_through_search_and_coql_on_sqlite() {
    let server = Server::start(&[]).await;
    read_back(&server).await;
    // The same reads through the CLI.
    let work = crate::cli::Workspace::new();
    let (status, found) = work.json(&server, &["records", "search", "Leads", "--email", "ng@acme.example"]);
    assert_eq!(status, 0, "{found}");
    assert_eq!(names(&found), ["Ng"]);
    let criteria = "((Company:equals:Acme \\(EU\\))or(No_of_Employees:equals:10))";
    let (_, found) = work.json(&server, &["records", "search", "Leads", "--criteria", criteria]);
    assert_eq!(names(&found), ["Quist", "Olsen"], "{found}");
    let query = "select Last_Name from Leads where Company = 'Zylker'";
    let (status, found) = work.json(&server, &["records", "coql", query]);
    assert_eq!((status, names(&found)), (0, vec!["Abe"]), "{found}");
    assert_eq!(found["info"], json!({"count": 1, "more_records": false}));
    let text = crate::cli::stdout(&work.run(&server, &["records", "coql", query]));
    assert!(text.lines().any(|l| l.starts_with("Last_Name") && l.ends_with("Abe")), "{text}");
    let (status, refused) = work.json(&server, &["records", "coql", "select from"]);
    assert_eq!((status, refused["error"]["code"].as_str()), (1, Some("SYNTAX_ERROR")), "{refused}");
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn an_import_reads_back_through_search_and_coql_on_postgres() {
    let database = crate::multinode::fresh_database().await;
    let server = crate::multinode::node(&database, "all", &[]).await;
    read_back(&server).await;
}
