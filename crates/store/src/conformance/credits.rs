//! API credits and concurrency slots: charged and refused atomically, per org and app, in a
//! window that rolls with the clock the caller passes.

use std::sync::Arc;

use bulkwrite_core::credits::{CreditPlan, Edition, Refusal};
use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::credits::{AppCalls, SELF_APP};
use crate::token::hash_token;

/// A call of `app` in `ORG` costing `cost` of a 1,000-credit window, two slots (one complex).
fn call(app: &str, cost: u64, complex: bool, now: Timestamp) -> CallRequest {
    CallRequest {
        org: ORG,
        app: app.into(),
        cost,
        complex,
        credit_limit: 1_000,
        concurrency: 2,
        sub_concurrency: 1,
        now,
        slot_lease: Duration::minutes(5),
    }
}

fn admitted(admission: CallAdmission) -> (CallSlot, u64) {
    match admission {
        CallAdmission::Admitted { slot, used } => (slot, used),
        refused @ CallAdmission::Refused { .. } => panic!("expected the call admitted: {refused:?}"),
    }
}

fn refused(admission: CallAdmission) -> (Refusal, u64) {
    match admission {
        CallAdmission::Refused { refusal, used } => (refusal, used),
        admitted @ CallAdmission::Admitted { .. } => panic!("expected the call refused: {admitted:?}"),
    }
}

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 30).unwrap()
}

pub async fn an_orgs_credit_setting_is_stored_and_read_with_its_tokens(store: Arc<dyn Store>) {
    with_org(&store).await;
    let mut minted = token("1000.app", ORG, ADMIN, None);
    minted.client_id = Some("1000.CLIENT".into());
    store.insert_access_token(minted).await.unwrap();
    let principal = |text: &'static str| {
        let store = Arc::clone(&store);
        async move {
            match store.lookup_token(&hash_token(text), Utc::now()).await.unwrap() {
                TokenLookup::Valid(principal) => principal,
                other => panic!("{text}: {other:?}"),
            }
        }
    };
    assert_eq!(store.org_credits(ORG).await.unwrap(), OrgCredits::Inherit);
    let first = principal("1000.first").await;
    assert_eq!((first.credits, first.client_id), (OrgCredits::Inherit, None));
    assert_eq!(principal("1000.app").await.client_id.as_deref(), Some("1000.CLIENT"));

    let plan = CreditPlan { edition: Edition::Enterprise, users: 20, addon_credits: 5_000 };
    store.set_org_credits(ORG, OrgCredits::Plan(plan)).await.unwrap();
    assert_eq!(store.org_credits(ORG).await.unwrap(), OrgCredits::Plan(plan));
    assert_eq!(principal("1000.first").await.credits, OrgCredits::Plan(plan), "the token carries the org's plan");
    store.set_org_credits(ORG, OrgCredits::Off).await.unwrap();
    assert_eq!(principal("1000.app").await.credits, OrgCredits::Off);
    store.set_org_credits(ORG, OrgCredits::Inherit).await.unwrap();
    assert_eq!(store.org_credits(ORG).await.unwrap(), OrgCredits::Inherit);
    assert_eq!(principal("1000.first").await.credits, OrgCredits::Inherit);
    assert!(matches!(store.set_org_credits(OTHER_ORG, OrgCredits::Off).await, Err(StoreError::NotFound(_))));
}

pub async fn credits_are_charged_until_a_call_would_pass_the_limit(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = start();
    let (first, used) = admitted(store.begin_call(&call(SELF_APP, 400, false, now)).await.unwrap());
    assert_eq!(used, 400);
    store.end_call(first).await.unwrap();
    let (second, used) = admitted(store.begin_call(&call(SELF_APP, 500, false, now)).await.unwrap());
    assert_eq!(used, 900);
    store.end_call(second).await.unwrap();
    assert_eq!(refused(store.begin_call(&call(SELF_APP, 101, false, now)).await.unwrap()), (Refusal::Credits, 900));
    let (last, used) = admitted(store.begin_call(&call(SELF_APP, 100, false, now)).await.unwrap());
    assert_eq!(used, 1_000, "a call that fits exactly is admitted");
    store.end_call(last).await.unwrap();
    assert_eq!(refused(store.begin_call(&call(SELF_APP, 1, false, now)).await.unwrap()), (Refusal::Credits, 1_000));
    let usage = store.credit_usage(ORG, now).await.unwrap();
    assert_eq!((usage.used, usage.in_flight.len()), (1_000, 0), "refused calls cost nothing and hold nothing");
    let other = CallRequest { org: OTHER_ORG, ..call(SELF_APP, 1_000, false, now) };
    admitted(store.begin_call(&other).await.unwrap());
    assert_eq!(store.credit_usage(ORG, now).await.unwrap().used, 1_000, "each org has its own window");
}

pub async fn credits_come_back_a_day_after_the_minute_they_were_used(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = start();
    let (slot, _) = admitted(store.begin_call(&call(SELF_APP, 600, false, now)).await.unwrap());
    store.end_call(slot).await.unwrap();
    let later = now + Duration::hours(6);
    let (slot, _) = admitted(store.begin_call(&call(SELF_APP, 400, false, later)).await.unwrap());
    store.end_call(slot).await.unwrap();
    let usage = store.credit_usage(ORG, later).await.unwrap();
    let release = usage.next_release.expect("credits are counted");
    assert_eq!((usage.used, release), (1_000, Utc.with_ymd_and_hms(2026, 12, 2, 9, 1, 0).unwrap()));

    let a_day_on = now + Duration::hours(24);
    assert_eq!(refused(store.begin_call(&call(SELF_APP, 1, false, a_day_on)).await.unwrap()).0, Refusal::Credits);
    let (slot, used) = admitted(store.begin_call(&call(SELF_APP, 600, false, release)).await.unwrap());
    assert_eq!(used, 1_000, "the first 600 came back; the later 400 still count");
    store.end_call(slot).await.unwrap();
    let usage = store.credit_usage(ORG, release).await.unwrap();
    assert_eq!(usage.next_release, Some(Utc.with_ymd_and_hms(2026, 12, 2, 15, 1, 0).unwrap()));
    let much_later = release + Duration::days(2);
    let usage = store.credit_usage(ORG, much_later).await.unwrap();
    assert_eq!((usage.used, usage.next_release), (0, None));
}

pub async fn calls_in_flight_are_held_to_the_concurrency_limits(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = start();
    let (complex, _) = admitted(store.begin_call(&call("1000.A", 1, true, now)).await.unwrap());
    assert_eq!(refused(store.begin_call(&call("1000.A", 1, true, now)).await.unwrap()).0, Refusal::SubConcurrency);
    let (plain, _) = admitted(store.begin_call(&call("1000.A", 1, false, now)).await.unwrap());
    assert_eq!(refused(store.begin_call(&call("1000.A", 1, false, now)).await.unwrap()).0, Refusal::Concurrency);
    let (other_app, _) = admitted(store.begin_call(&call("1000.B", 1, true, now)).await.unwrap());
    let usage = store.credit_usage(ORG, now).await.unwrap();
    assert_eq!(
        usage.in_flight,
        [
            AppCalls { app: "1000.A".into(), calls: 2, complex: 1 },
            AppCalls { app: "1000.B".into(), calls: 1, complex: 1 }
        ]
    );
    assert_eq!(usage.used, 3, "refused calls are not charged");

    store.end_call(complex).await.unwrap();
    store.end_call(complex).await.unwrap();
    let (again, _) = admitted(store.begin_call(&call("1000.A", 1, true, now)).await.unwrap());
    store.end_call(again).await.unwrap();
    store.end_call(plain).await.unwrap();
    store.end_call(other_app).await.unwrap();
    assert!(store.credit_usage(ORG, now).await.unwrap().in_flight.is_empty());

    // A slot its node never ended lapses with its lease.
    admitted(store.begin_call(&call("1000.A", 1, false, now)).await.unwrap());
    admitted(store.begin_call(&call("1000.A", 1, false, now)).await.unwrap());
    let soon = now + Duration::minutes(1);
    assert_eq!(refused(store.begin_call(&call("1000.A", 1, false, soon)).await.unwrap()).0, Refusal::Concurrency);
    let lapsed = now + Duration::minutes(5);
    assert!(store.credit_usage(ORG, lapsed).await.unwrap().in_flight.is_empty());
    admitted(store.begin_call(&call("1000.A", 1, false, lapsed)).await.unwrap());
}

pub async fn calls_admitted_at_once_never_overspend(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = start();
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let request = CallRequest { concurrency: 100, sub_concurrency: 100, ..call(SELF_APP, 100, false, now) };
            store.begin_call(&request).await.unwrap()
        }));
    }
    let mut admitted_calls = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), CallAdmission::Admitted { .. }) {
            admitted_calls += 1;
        }
    }
    assert_eq!(admitted_calls, 10, "exactly the window's 1,000 credits were spent");
    assert_eq!(store.credit_usage(ORG, now).await.unwrap().used, 1_000);
}
