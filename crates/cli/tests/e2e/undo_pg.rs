//! Undo on PostgreSQL (issue 19), across two nodes on one database: an insert and an update
//! undone through one node and run by whichever claims them, a record changed through the other
//! node after the job left alone with a `CONFLICT` row. Run when BULKWRITE_TEST_DATABASE_URL
//! names a PostgreSQL server.

use reqwest::Method;
use serde_json::json;

use crate::multinode::{fresh_database, node};
use crate::undo::{call, leads, run_job, undo_and_wait, undo_rows};

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn undo_on_postgres_deletes_restores_and_keeps_later_changes() {
    let database = fresh_database().await;
    let a = node(&database, "all", &[("BULKWRITE_CHUNK_ROWS", "2")]).await;
    let b = node(&database, "all", &[("BULKWRITE_CHUNK_ROWS", "2")]).await;

    let inserted = run_job(&a, "insert", &leads(5)).await;
    let (_, rows) = a.result_rows(&inserted).await;
    let ids: Vec<String> = rows[1..].iter().map(|row| row[4].clone()).collect();
    let renamed = "Last_Name,Company,Email\nRenamed 1,Initech,undo1@example.com\nRenamed 2,Initech,undo2@example.com\n";
    let updated = run_job(&a, "update", renamed).await;
    assert_eq!(updated["resource"][0]["file"]["updated_count"], 2, "{updated}");
    // Through the other node, after the update: the second record changes again.
    let path = format!("/crm/v2/Leads/{}", ids[1]);
    let (status, answer) = call(&b, Method::PUT, &path, json!({"data": [{"Company": "Later"}]})).await;
    assert_eq!(status, 200, "{answer}");

    let undone = undo_and_wait(&b, updated["id"].as_str().unwrap()).await;
    assert_eq!(undone["undo"], json!({"deleted": 0, "restored": 1, "conflicts": 1}), "{undone}");
    let seen = undo_rows(&b, &undone).await;
    assert_eq!((seen[0].0.as_str(), seen[0].1.as_str()), (ids[0].as_str(), "RESTORED"));
    assert_eq!((seen[1].0.as_str(), seen[1].1.as_str()), (ids[1].as_str(), "CONFLICT"));
    assert!(seen[1].2.contains("was changed at"), "{seen:?}");
    let (_, first) = a.get_json(&format!("/crm/v2/Leads/{}", ids[0])).await;
    assert_eq!(
        (first["data"][0]["Last_Name"].as_str(), first["data"][0]["Company"].as_str()),
        (Some("Undo 1"), Some("Acme"))
    );
    let (_, second) = a.get_json(&format!("/crm/v2/Leads/{}", ids[1])).await;
    assert_eq!(
        (second["data"][0]["Last_Name"].as_str(), second["data"][0]["Company"].as_str()),
        (Some("Renamed 2"), Some("Later"))
    );

    // A fresh insert undone through B: its records are deleted, whichever node runs the undo.
    let more = run_job(
        &b,
        "insert",
        "Last_Name,Company,Email\nExtra 1,Acme,extra1@example.com\nExtra 2,Acme,extra2@example.com\n",
    )
    .await;
    let undone = undo_and_wait(&a, more["id"].as_str().unwrap()).await;
    assert_eq!(undone["undo"], json!({"deleted": 2, "restored": 0, "conflicts": 0}), "{undone}");
    assert_eq!(a.all_records("Leads", "Email").await.len(), 5);
    let (status, refused) = crate::undo::undo(&b, more["id"].as_str().unwrap()).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("INVALID_REQUEST")), "{refused}");
}
