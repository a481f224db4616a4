//! The conformance suite: what every backend must do, written once. A backend's test binary
//! calls [`conformance_tests!`](crate::conformance_tests) with an async expression that yields a
//! fresh, empty store (a [`Fixture`]); the macro makes one test per case.

use std::sync::Arc;

use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_core::jobspec::{JobSpec, ResourceSpec};
use bulkwrite_core::mapping::{FindKey, RowDraft, UniqueKey};
use bulkwrite_core::schema::standard::standard_schema;
use bulkwrite_wire::{Callback, Operation};
use chrono::{Duration, Utc};
use serde_json::{json, Map};

use crate::token::hash_token;
use crate::*;

/// What a case runs on: the store, alone or with what must last until the case ends (an
/// embedded store's temporary directory, removed when the case drops it).
pub trait Fixture {
    fn store(&self) -> Arc<dyn Store>;
}

impl Fixture for Arc<dyn Store> {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(self)
    }
}

impl<Kept> Fixture for (Arc<dyn Store>, Kept) {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.0)
    }
}

/// Makes one `#[tokio::test]` per conformance case for the store that `$factory` yields.
/// Attributes in brackets before the factory go on every test, e.g.
/// `conformance_tests!([#[cfg_attr(not(pg_tests), ignore = "…")]] factory())` for a backend that
/// needs a server.
#[macro_export]
macro_rules! conformance_tests {
    (@cases $attributes:tt $factory:expr; $($case:ident),* $(,)?) => {
        $( $crate::conformance_tests!(@case $attributes $factory; $case); )*
    };
    (@case [$(#[$attribute:meta])*] $factory:expr; $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attribute])*
        async fn $case() {
            let fixture = $factory.await;
            $crate::conformance::$case($crate::conformance::Fixture::store(&fixture)).await;
            drop(fixture);
        }
    };
    ([$(#[$attribute:meta])*] $factory:expr) => {
        $crate::conformance_tests!(@cases [$(#[$attribute])*] $factory;
            bootstrap_happens_once,
            tokens_resolve_expire_and_stay_unknown,
            reserved_ids_never_overlap,
            uploads_are_scoped_by_org,
            jobs_are_scoped_by_org_and_claimed_in_order,
            job_details_come_with_the_org_and_the_creators_name,
            job_details_give_every_resource_in_the_jobs_order,
            job_details_read_at_once_each_give_their_own_job,
            a_busy_org_waits_while_others_run,
            a_lease_fences_every_write,
            an_expired_lease_is_taken_over,
            a_chunk_must_follow_the_stored_checkpoint,
            chunks_in_flight_together_commit_in_order,
            a_chunk_after_one_that_did_not_commit_is_refused,
            upsert_chunks_in_flight_see_what_the_chunk_before_wrote,
            an_upsert_read_before_another_jobs_write_keeps_that_write,
            released_and_requeued_jobs_run_again,
            a_deferred_job_waits_and_its_budget_runs_out,
            chunks_write_records_results_and_checkpoints,
            duplicates_are_caught_across_chunks,
            a_chunk_meeting_a_taken_key_adds_its_other_rows_once,
            updates_and_upserts_change_records_and_keys,
            an_upsert_of_the_values_a_record_has_still_writes_it,
            an_upsert_by_one_key_moves_the_records_other_key,
            an_upsert_row_may_update_what_its_own_chunk_added,
            completing_queues_one_callback,
            failing_marks_resources_and_queues_the_callback,
            callback_attempts_are_recorded_and_retried,
            a_deferred_callback_waits_without_an_attempt,
            records_page_and_sort,
            lookups_find_records_by_id_key_and_value,
            deleting_records_frees_their_keys,
            grant_codes_redeem_once_and_expire,
            revoking_a_refresh_token_revokes_its_access_tokens,
            orgs_users_and_clients,
            schemas_round_trip,
            ping_answers_and_the_queue_is_counted,
            a_cancelled_queued_job_is_finalised_without_a_slot,
            a_running_job_sees_its_cancel_request,
            a_finished_job_keeps_no_cancel_request,
            a_job_asked_to_stop_is_never_resumed,
            an_expired_lease_of_a_job_asked_to_stop_goes_to_the_finaliser,
            jobs_list_newest_first_filtered_and_paged,
            uploads_expire_unless_a_job_needs_them,
            results_expire_and_their_rows_go,
            sweeps_at_once_expire_each_file_once,
            a_job_and_a_sweep_never_both_win_an_upload,
            read_jobs_share_the_queue_and_keep_their_request,
            read_parts_commit_in_order_under_the_lease,
            a_taken_over_read_job_resumes_after_its_last_part,
            completing_a_read_job_keeps_its_outcome_and_queues_its_callback,
            a_failed_read_job_queues_its_callback,
            an_export_that_stops_early_queues_its_parts_for_the_sweeper,
            read_jobs_are_listed_by_kind_and_module,
            downloads_are_counted_per_user_in_a_sliding_window,
            downloads_counted_at_once_never_pass_the_limit,
            selects_compare_typed_values,
            selects_sort_page_and_count,
            aggregates_group_count_sum_and_order,
            a_related_filter_reaches_the_looked_up_record,
            dry_runs_write_nothing_and_answer_like_the_real_job,
            test_controls_start_at_rest_and_change_atomically,
            a_paused_queue_refuses_the_claims_that_respect_it,
            a_held_job_stays_in_progress_and_is_taken_up_again,
            a_step_claims_the_named_or_the_oldest_runnable_job,
            callbacks_fall_due_by_business_time_and_are_leased_by_lease_time,
            fault_rules_are_kept_per_org_and_removed,
            a_fault_fires_its_times_exactly_under_concurrent_matches,
            a_seeded_fault_fires_the_same_matches_every_run,
            job_faults_bind_once_per_job_and_spend_once,
            an_orgs_credit_setting_is_stored_and_read_with_its_tokens,
            credits_are_charged_until_a_call_would_pass_the_limit,
            credits_come_back_a_day_after_the_minute_they_were_used,
            calls_in_flight_are_held_to_the_concurrency_limits,
            calls_admitted_at_once_never_overspend,
            callback_exchanges_are_kept_and_a_replay_queues_one_more_attempt,
            inbox_deliveries_are_kept_per_org_and_cleared,
            a_reset_removes_the_orgs_state_and_nothing_else,
            a_restored_snapshot_brings_back_exactly_what_it_copied,
            an_undo_deletes_what_the_job_added_restores_what_it_updated_and_keeps_later_changes,
            an_undo_settles_each_record_once_across_chunks_and_leases,
            undo_data_expires_with_the_result_but_not_under_an_undo,
            profiles_are_stored_per_org_and_users_take_one,
            taxes_are_stored_per_org_in_order_and_replaced_by_name
        );
    };
    ($factory:expr) => {
        $crate::conformance_tests!([] $factory);
    };
}

mod aggregate;
mod cancel;
mod control;
mod credits;
mod dry_run;
mod faults;
mod health;
mod in_flight;
mod jobs;
mod org_state;
mod org_state_timing;
mod orgs;
mod profiles;
mod query;
mod reads;
mod records;
mod retention;
mod taxes;
mod undo;
mod upgrade;

pub use aggregate::*;
pub use cancel::*;
pub use control::*;
pub use credits::*;
pub use dry_run::*;
pub use faults::*;
pub use health::*;
pub use in_flight::*;
pub use jobs::*;
pub use org_state::*;
pub use org_state_timing::*;
pub use orgs::*;
pub use profiles::*;
pub use query::*;
pub use reads::*;
pub use records::*;
pub use retention::*;
pub use taxes::*;
pub use undo::*;
pub use upgrade::*;

pub(super) const ORG: OrgId = OrgId::new_const(111_222_333);
pub(super) const OTHER_ORG: OrgId = OrgId::new_const(444_555_666);
pub(super) const ADMIN: UserId = UserId::new_const(5_725_767_000_000_000_101);
pub(super) const OTHER_ADMIN: UserId = UserId::new_const(5_725_767_000_000_000_201);

pub(super) fn org(zgid: OrgId) -> Org {
    Org {
        zgid,
        id: format!("57257670000000{}", zgid.get() % 100_000),
        company_name: format!("Org {zgid}"),
        time_zone: "Asia/Kolkata".into(),
        currency: "USD".into(),
        created_at: Utc::now(),
    }
}

pub(super) fn user(id: UserId, zgid: OrgId) -> User {
    User {
        id,
        org: zgid,
        first_name: "Mara".into(),
        last_name: "Quist".into(),
        email: format!("mara{}@example.com", id.get() % 1000),
        profile: "Administrator".into(),
        role: "CEO".into(),
        active: true,
        created_at: Utc::now(),
    }
}

pub(super) fn token(text: &str, zgid: OrgId, user: UserId, expires_at: Option<Timestamp>) -> NewAccessToken {
    NewAccessToken {
        token_hash: hash_token(text),
        org: zgid,
        user,
        scopes: vec!["ZohoCRM.bulk.ALL".into()],
        expires_at,
        client_id: None,
        refresh_hash: None,
    }
}

pub(super) fn bootstrap_record(zgid: OrgId, user: UserId) -> BootstrapRecord {
    BootstrapRecord {
        org_id: zgid,
        user_id: user,
        user_name: "Mara Quist".into(),
        user_email: "mara@example.com".into(),
        access_token: "1000.first".into(),
        extra: Map::new(),
    }
}

/// An org with its admin, as the server's first start makes it.
pub(super) async fn with_org(store: &Arc<dyn Store>) {
    store
        .bootstrap(
            org(ORG),
            user(ADMIN, ORG),
            standard_schema(),
            token("1000.first", ORG, ADMIN, None),
            bootstrap_record(ORG, ADMIN),
        )
        .await
        .expect("bootstrap");
}

pub(super) fn spec(callback: bool, operation: Operation, find_by: Option<&str>) -> JobSpec {
    JobSpec {
        operation,
        ignore_empty: None,
        character_encoding: None,
        callback: callback.then(|| Callback { url: "https://hooks.example.com/cb".into(), method: "post".into() }),
        resources: vec![ResourceSpec {
            module: "Leads".into(),
            module_id: "1".into(),
            file_id: "5725767000000009001".into(),
            csv_name: "leads.csv".into(),
            file_names: None,
            find_by: find_by.map(str::to_string),
            ignore_empty: None,
            effective_ignore_empty: false,
            mappings: Vec::new(),
            auto_mapped: true,
            header: vec!["Last_Name".into(), "Email".into()],
            echo_columns: vec![0, 1],
            parent_link: None,
            denied_fields: Vec::new(),
        }],
        dry_run: false,
    }
}

pub(super) async fn new_job(store: &Arc<dyn Store>, id: u64, zgid: OrgId, job_spec: JobSpec) -> JobId {
    new_job_at(store, id, zgid, job_spec, Utc::now()).await
}

/// A job created at `created_at`: the cases that order jobs by age give each its own instant
/// rather than waiting for the clock to move.
pub(super) async fn new_job_at(
    store: &Arc<dyn Store>,
    id: u64,
    zgid: OrgId,
    job_spec: JobSpec,
    created_at: Timestamp,
) -> JobId {
    let id = JobId::new(id);
    let created_by = if zgid == ORG { ADMIN } else { OTHER_ADMIN };
    let job = NewJob { id, org: zgid, created_by, api_version: "v2".into(), spec: job_spec, created_at };
    store.create_job(job).await.expect("create job");
    id
}

pub(super) async fn claim(store: &Arc<dyn Store>, owner: &str) -> Option<(Job, Lease)> {
    store.claim_next_job(&Claim::new(owner, Utc::now(), Duration::seconds(30))).await.expect("claim")
}

pub(super) fn row(row_no: u64, name: &str, email: &str) -> RowDraft {
    let mut values = Map::new();
    values.insert("Last_Name".into(), json!(name));
    let mut unique_keys = Vec::new();
    if !email.is_empty() {
        values.insert("Email".into(), json!(email));
        unique_keys.push(UniqueKey { field: "Email".into(), value: email.to_lowercase(), column: "Email".into() });
    }
    RowDraft { values: values.into(), unique_keys, ..RowDraft::new(row_no, vec![name.into(), email.into()]) }
}

/// `draft`, finding the record it updates by its first unique key (the Email of [`row`]).
pub(super) fn found_by_email(mut draft: RowDraft) -> RowDraft {
    let key = draft.unique_keys[0].clone();
    draft.find_key = Some(FindKey::Unique { field: key.field, value: key.value, column: key.column });
    draft
}

/// A chunk that follows the checkpoint `rows_done - rows.len()`.
pub(super) fn chunk(operation: Operation, rows: Vec<RowDraft>, rows_done: u64) -> ChunkWrite {
    ChunkWrite {
        rows_done_before: rows_done.saturating_sub(rows.len() as u64),
        resource: 0,
        module: "Leads".into(),
        operation,
        ignore_empty: false,
        rows,
        rows_done,
        default_owner: ADMIN,
        default_layout: Some("5725767000000002100".into()),
        actor: ADMIN,
        now: Utc::now(),
        full_name: true,
        dry_run: false,
    }
}

pub(super) async fn all_rows(store: &Arc<dyn Store>, job: JobId) -> Vec<bulkwrite_core::result::ResultRow> {
    store.result_rows(ORG, job, 0, 0, 1000).await.expect("result rows")
}
