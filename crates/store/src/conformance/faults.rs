//! Conformance cases of [`FaultStore`]: rules kept per org, firings counted exactly once across
//! concurrent matches, seeded shares that fire the same matches, job faults bound once.

use std::sync::Arc;

use bulkwrite_core::faults::{Chance, FaultKind, FaultRule};
use bulkwrite_wire::faults::{JobFault, NewFault};
use chrono::Utc;
use serde_json::json;

use super::*;

fn rule(value: serde_json::Value) -> FaultRule {
    let request: NewFault = serde_json::from_value(value).expect("a rule request");
    FaultRule::parse(&request, 5).expect("a valid rule")
}

pub async fn fault_rules_are_kept_per_org_and_removed(store: Arc<dyn Store>) {
    let now = Utc::now();
    let everywhere = rule(json!({"method": "POST", "path": "/crm/bulk/*/write", "status": 429, "times": 2}));
    let mine = rule(json!({"org": ORG.to_string(), "latency_ms": 5}));
    let theirs = rule(json!({"org": OTHER_ORG.to_string(), "job": {"fail_at_row": 3}}));
    let callback = rule(json!({"org": ORG.to_string(), "callback": {"status": 500}, "probability": 0.5}));
    store.add_fault(30_001, &everywhere, now).await.unwrap();
    store.add_fault(30_002, &mine, now).await.unwrap();
    store.add_fault(30_003, &theirs, now).await.unwrap();
    store.add_fault(30_004, &callback, now).await.unwrap();
    let again = store.add_fault(30_001, &mine, now).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again:?}");

    let all = store.faults(None).await.unwrap();
    assert_eq!(all.iter().map(|f| f.id).collect::<Vec<_>>(), vec![30_001, 30_002, 30_003, 30_004]);
    assert_eq!(all[0].rule, everywhere, "a rule reads back as it was added");
    assert_eq!(all[3].rule.chance, Some(Chance { probability: 0.5, seed: 5 }), "the seed chosen is kept");
    assert_eq!((all[0].fired, all[0].matched), (0, 0));
    assert_eq!((all[0].created_at - now).num_seconds(), 0);
    let ours: Vec<u64> = store.faults(Some(ORG)).await.unwrap().iter().map(|f| f.id).collect();
    assert_eq!(ours, vec![30_002, 30_004], "an org's view holds its own rules only");

    let http: Vec<u64> = store.live_faults(FaultKind::Http).await.unwrap().iter().map(|f| f.id).collect();
    assert_eq!(http, vec![30_001, 30_002], "HTTP rules of every org");
    let jobs: Vec<u64> = store.live_faults(FaultKind::Job).await.unwrap().iter().map(|f| f.id).collect();
    assert_eq!(jobs, vec![30_003]);

    assert!(!store.remove_fault(Some(ORG), 30_003).await.unwrap(), "another org's rule is out of reach");
    assert!(store.remove_fault(Some(OTHER_ORG), 30_003).await.unwrap());
    assert!(!store.remove_fault(None, 30_003).await.unwrap(), "gone");
    assert_eq!(store.clear_faults(Some(ORG)).await.unwrap(), 2, "the org's two rules");
    assert_eq!(store.faults(None).await.unwrap().len(), 1, "the rule of every org stays");
    assert_eq!(store.clear_faults(None).await.unwrap(), 1);
    assert!(store.faults(None).await.unwrap().is_empty());
    assert!(!store.fire_fault(30_001).await.unwrap(), "a removed rule never fires");
}

pub async fn a_fault_fires_its_times_exactly_under_concurrent_matches(store: Arc<dyn Store>) {
    store.add_fault(31_001, &rule(json!({"status": 429, "times": 3})), Utc::now()).await.unwrap();
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let store = Arc::clone(&store);
        racers.spawn(async move { store.fire_fault(31_001).await.unwrap() });
    }
    let mut fired = 0;
    while let Some(result) = racers.join_next().await {
        fired += usize::from(result.unwrap());
    }
    assert_eq!(fired, 3, "twelve matches at once, three firings");
    let listed = &store.faults(None).await.unwrap()[0];
    assert_eq!((listed.fired, listed.matched), (3, 12));
    assert!(store.live_faults(FaultKind::Http).await.unwrap().is_empty(), "a used-up rule is not live");
    assert!(!store.fire_fault(31_001).await.unwrap());

    store.add_fault(31_002, &rule(json!({"status": 500})), Utc::now()).await.unwrap();
    for _ in 0..5 {
        assert!(store.fire_fault(31_002).await.unwrap(), "without times or probability every match fires");
    }
}

pub async fn a_seeded_fault_fires_the_same_matches_every_run(store: Arc<dyn Store>) {
    let chance = Chance { probability: 0.3, seed: 7 };
    let expected: Vec<bool> = (1..=40).map(|k| chance.fires(k)).collect();
    for id in [32_001, 32_002] {
        store.add_fault(id, &rule(json!({"status": 500, "probability": 0.3, "seed": 7})), Utc::now()).await.unwrap();
        let mut got = Vec::new();
        for _ in 0..40 {
            got.push(store.fire_fault(id).await.unwrap());
        }
        assert_eq!(got, expected, "rule {id} fires on the matches the seed draws");
    }
    store
        .add_fault(32_003, &rule(json!({"status": 500, "probability": 0.3, "seed": 7, "times": 2})), Utc::now())
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..40 {
        got.push(store.fire_fault(32_003).await.unwrap());
    }
    let first_two: Vec<usize> = expected.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).take(2).collect();
    let fired: Vec<usize> = got.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect();
    assert_eq!(fired, first_two, "times caps the drawn matches");
}

pub async fn job_faults_bind_once_per_job_and_spend_once(store: Arc<dyn Store>) {
    let now = Utc::now();
    store.add_fault(33_001, &rule(json!({"job": {"fail_chunk_once": true}, "times": 1})), now).await.unwrap();
    store.add_fault(33_002, &rule(json!({"org": ORG.to_string(), "job": {"slow_ms": 10}})), now).await.unwrap();
    store
        .add_fault(33_003, &rule(json!({"org": OTHER_ORG.to_string(), "job": {"fail_at_row": 1}})), now)
        .await
        .unwrap();
    store.add_fault(33_004, &rule(json!({"status": 500})), now).await.unwrap();
    let first = JobId::new(5_725_767_000_000_900_001);
    let hits = store.job_faults(ORG, first).await.unwrap();
    let chunk_once = JobFault { fail_chunk_once: true, ..JobFault::default() };
    let slow = JobFault { slow_ms: Some(10), ..JobFault::default() };
    assert_eq!(
        hits,
        vec![
            JobFaultHit { fault: 33_001, job: chunk_once.clone(), spent: false },
            JobFaultHit { fault: 33_002, job: slow.clone(), spent: false },
        ],
        "the org's job rules and those of every org, not another org's, not HTTP rules"
    );
    assert_eq!(store.job_faults(ORG, first).await.unwrap(), hits, "a resumed run sees the same hits");
    let listed = store.faults(None).await.unwrap();
    assert_eq!(listed.iter().map(|f| f.fired).collect::<Vec<_>>(), vec![1, 1, 0, 0], "asking again fires nothing");

    let second = JobId::new(5_725_767_000_000_900_002);
    let hits = store.job_faults(ORG, second).await.unwrap();
    assert_eq!(hits, vec![JobFaultHit { fault: 33_002, job: slow, spent: false }], "times 1: one job only");

    assert!(store.spend_job_fault(first, 33_001).await.unwrap());
    assert!(!store.spend_job_fault(first, 33_001).await.unwrap(), "spent once");
    assert!(!store.spend_job_fault(second, 33_001).await.unwrap(), "no such hit");
    assert!(store.job_faults(ORG, first).await.unwrap()[0].spent);
    store.clear_faults(None).await.unwrap();
    assert_eq!(store.job_faults(ORG, first).await.unwrap().len(), 2, "a bound hit outlives its rule");
}
