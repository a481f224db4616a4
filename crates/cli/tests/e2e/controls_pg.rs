//! The test controls' time and stepping across two nodes on one PostgreSQL database (issue 19):
//! one pause and one clock for both. Paused through one node, neither claims a job created
//! through the other; each node steps it one chunk, taking up the job the other held; the clock
//! moved through one node expires a token on the other without being asked there. Run when
//! BULKWRITE_TEST_DATABASE_URL names a PostgreSQL server.

use std::time::{Duration, Instant};

use crate::controls::{controls, mint_token, token_works, SWITCH};
use crate::multinode::{fresh_database, node};
use crate::stepping::{leads, zoho_counts};

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
async fn two_nodes_share_one_pause_one_clock_and_step_each_others_held_job() {
    let database = fresh_database().await;
    let settings = [SWITCH, ("BULKWRITE_CHUNK_ROWS", "2")];
    let a = node(&database, "all", &settings).await;
    let b = node(&database, "all", &settings).await;
    let (on_a, on_b) = (controls(&a), controls(&b));

    on_a.pause_queue().await.expect("paused through A");
    assert!(on_b.queue().await.unwrap().paused, "B sees A's pause");
    let id = b.insert_job(&leads(5), None).await;
    // Both nodes' workers poll and are woken by the new job; for longer than both their
    // polls, neither claims it.
    let watch_until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < watch_until {
        assert_eq!(zoho_counts(&a.job(&id).await).0, "ADDED", "paused: no node claims the job");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let queue = on_a.queue().await.unwrap();
    assert_eq!((queue.queued, queue.running, queue.held), (1, 0, 0));

    let first = on_b.step_queue(None).await.expect("B steps");
    assert_eq!(first.rest["resources"][0]["rows_done"], 2);
    assert_eq!(zoho_counts(&a.job(&id).await), ("IN PROGRESS".into(), Some(2), Some(2)), "A shows B's chunk");
    let second = on_a.step_queue(Some(&id)).await.expect("A takes up the job B held");
    assert_eq!(second.rest["resources"][0]["rows_done"], 4);
    assert_eq!(zoho_counts(&b.job(&id).await), ("IN PROGRESS".into(), Some(4), Some(4)));

    // The clock moved through A: B refuses an hour's token without being asked for its clock.
    let hour_token = mint_token(&b, "ZohoCRM.bulk.ALL").await;
    assert!(token_works(&b, &hour_token).await);
    let moved = on_a.advance_clock("2h").await.expect("moved through A");
    let deadline = Instant::now() + Duration::from_secs(10);
    while token_works(&b, &hour_token).await {
        assert!(Instant::now() < deadline, "B never took up the clock A moved");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(on_b.clock().await.unwrap().offset_seconds, moved.offset_seconds);

    on_b.resume_queue().await.expect("resumed through B");
    let done = a.wait_job(&id).await;
    assert_eq!(zoho_counts(&done), ("COMPLETED".into(), Some(5), Some(5)), "{done}");
    let (_, count) = a.get_json("/crm/v2.1/Leads/actions/count").await;
    assert_eq!(count["count"], 5, "every row once, whichever node ran it");
}
