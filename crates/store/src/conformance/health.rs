//! Conformance cases of [`HealthStore`]: the ping and the queue's figures.

use std::sync::Arc;

use bulkwrite_wire::Operation;
use chrono::{Duration, Utc};

use super::*;

pub async fn ping_answers_and_the_queue_is_counted(store: Arc<dyn Store>) {
    store.ping().await.expect("a fresh store answers");
    assert_eq!(store.queue_stats().await.unwrap(), QueueStats::default(), "an empty queue");

    with_org(&store).await;
    let before = Utc::now() - Duration::seconds(1);
    let first = new_job(&store, 14_000, ORG, spec(false, Operation::Insert, None)).await;
    let _second = new_job(&store, 14_001, ORG, spec(false, Operation::Insert, None)).await;
    let after = Utc::now() + Duration::seconds(1);
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.running), (2, 0));
    let oldest = stats.oldest_queued_at.expect("two jobs wait");
    assert!(oldest >= before && oldest <= after, "{oldest} is the first job's creation time");

    let (job, lease) = claim(&store, "w1").await.expect("a job to claim");
    assert_eq!(job.id, first);
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.queued, stats.running), (1, 1), "the claimed job runs, the other waits");

    store.complete_job(&lease, "result", Utc::now()).await.unwrap();
    let (_, lease) = claim(&store, "w2").await.expect("the second job");
    store.fail_job(&lease, "broken", None, Utc::now()).await.unwrap();
    assert_eq!(store.queue_stats().await.unwrap(), QueueStats::default(), "finished jobs are not in the queue");
    store.ping().await.expect("still answers");
}
