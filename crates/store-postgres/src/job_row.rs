//! A job read back from its row (with its resources), and the lease fence on that row.

use std::collections::HashMap;

use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_store::*;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use crate::statements::{get, get_u32, get_u64, query, query_opt};
use crate::{json_error, signed, unsigned};

/// The job columns [`read_job`] expects, in order.
pub(crate) const JOB_COLUMNS: &str = "id, org, created_by, api_version, spec_json, state, attempts, \
     character_encoding, result_blob, error, created_at, finished_at, cancel_requested_at, cancelled_by, result_expired_at, read_json, undo_of";

/// A job from a row of [`JOB_COLUMNS`], with its resources read by a second query.
pub(crate) async fn read_job<C: GenericClient>(client: &C, row: &Row) -> StoreResult<Job> {
    let id = get_u64(row, 0)?;
    job_from_row(row, read_resources(client, id).await?)
}

/// A job from a row of [`JOB_COLUMNS`] and its resources.
fn job_from_row(row: &Row, resources: Vec<ResourceProgress>) -> StoreResult<Job> {
    let id = get_u64(row, 0)?;
    let state: String = get(row, 5)?;
    let state = JobState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("job state {state}")))?;
    let spec: String = get(row, 4)?;
    let cancel_at: Option<Timestamp> = get(row, 12)?;
    let cancel_by: Option<i64> = get(row, 13)?;
    let cancel = match (cancel_at, cancel_by) {
        (Some(at), Some(by)) => Some(CancelRequest { by: UserId::new(unsigned(by, "cancelled_by")?), at }),
        _ => None,
    };
    Ok(Job {
        id: JobId::new(id),
        org: OrgId::new(get_u64(row, 1)?),
        created_by: UserId::new(get_u64(row, 2)?),
        api_version: get(row, 3)?,
        spec: bulkwrite_store::spec_text::parse_spec(&spec)?,
        state,
        attempts: get_u32(row, 6)?,
        character_encoding: get(row, 7)?,
        resources,
        result_blob: get(row, 8)?,
        error: get(row, 9)?,
        created_at: get(row, 10)?,
        finished_at: get(row, 11)?,
        cancel,
        result_expired_at: get(row, 14)?,
        read: read_spec(get(row, 15)?)?,
        undo_of: get::<Option<i64>>(row, 16)?.map(|id| JobId::new(id as u64)),
    })
}

/// The jobs of `ids` with their orgs and their creators' names, and their resources, in one
/// statement (`details.rs` runs it for the job details reads waiting together): a row for each
/// resource, the job's columns repeated on each (a job without resources gives one row, its
/// resource columns null). Each job comes with its org's id, for the caller to check against
/// the org that asks, and on its own: one job that cannot be read fails only its own reads.
///
/// The resources come as rows, in no order, and are put in order here: aggregated into arrays
/// in the statement (`array_agg(… ORDER BY idx)`, one sort for each column), they took about a
/// fifth of PostgreSQL's time for the statement (pgbench of both forms, docs/PERFORMANCE.md).
pub(crate) async fn read_jobs_details<C: GenericClient>(
    client: &C,
    ids: &[i64],
) -> StoreResult<HashMap<u64, JobDetails>> {
    // One job (a lone poll) is looked up by `= $1`: PostgreSQL plans that statement once and
    // keeps the plan. By `= ANY($1)` it plans every run afresh (its plan for an array of any
    // length costs more than one for the array given), which under load many reads share.
    static ONE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| details_sql("j.id = $1"));
    static MANY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| details_sql("j.id = ANY($1)"));
    let rows = match ids {
        [id] => query(client, &ONE, &[id]).await?,
        _ => query(client, &MANY, &[&ids]).await?,
    };
    let mut by_job: HashMap<u64, Vec<&Row>> = HashMap::with_capacity(ids.len());
    for row in &rows {
        by_job.entry(get_u64(row, 0)?).or_default().push(row);
    }
    by_job
        .into_iter()
        .map(|(id, rows)| {
            Ok((id, JobDetails { org: OrgId::new(get_u64(rows[0], 1)?), read: details_from_rows(&rows) }))
        })
        .collect()
}

/// A job's details as [`read_jobs_details`] read them: its org's id, and the job with its org
/// and its creator's name, or why they could not be read.
pub(crate) struct JobDetails {
    pub(crate) org: OrgId,
    pub(crate) read: StoreResult<JobWithOrg>,
}

/// The statement of [`read_jobs_details`] for the jobs that `condition` picks.
fn details_sql(condition: &str) -> String {
    let prefixed = |columns: &str, table: &str| -> String {
        columns.split(',').map(|column| format!("{table}.{}", column.trim())).collect::<Vec<_>>().join(", ")
    };
    format!(
        "SELECT {}, {}, u.first_name, u.last_name, r.idx, {}
         FROM jobs j JOIN orgs o ON o.zgid = j.org
         LEFT JOIN users u ON u.org = j.org AND u.id = j.created_by
         LEFT JOIN job_resources r ON r.job_id = j.id
         WHERE {condition}",
        prefixed(JOB_COLUMNS, "j"),
        prefixed(crate::orgs::ORG_COLUMNS, "o"),
        prefixed(RESOURCE_COLUMNS, "r"),
    )
}

/// A job's details from its rows of [`read_jobs_details`] (at least one).
fn details_from_rows(rows: &[&Row]) -> StoreResult<JobWithOrg> {
    let row = rows[0];
    let org = crate::orgs::read_org_at(row, JOB_COLUMN_COUNT)?;
    let first: Option<String> = get(row, JOB_COLUMN_COUNT + 6)?;
    let last: Option<String> = get(row, JOB_COLUMN_COUNT + 7)?;
    let creator_name = match (first, last) {
        (Some(first), Some(last)) => Some(full_name(&first, &last)),
        _ => None,
    };
    let at = JOB_COLUMN_COUNT + 8;
    let mut resources = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(index) = get::<Option<i32>>(row, at)? else { continue };
        resources.push((index, resource_at(row, at + 1)?));
    }
    resources.sort_unstable_by_key(|(index, _)| *index);
    let resources = resources.into_iter().map(|(_, resource)| resource).collect();
    Ok(JobWithOrg { job: job_from_row(row, resources)?, org, creator_name })
}

/// How many columns [`JOB_COLUMNS`] names.
const JOB_COLUMN_COUNT: usize = 17;

/// A read job's request and outcome from `read_json` (`None` for a write job).
fn read_spec(json: Option<String>) -> StoreResult<Option<bulkwrite_store::ReadJob>> {
    json.map(|text| serde_json::from_str(&text).map_err(json_error)).transpose()
}

/// A resource's columns, in the order [`read_resources`] reads them.
const RESOURCE_COLUMNS: &str = "state, rows_done, added, updated, skipped";

async fn read_resources<C: GenericClient>(client: &C, job: u64) -> StoreResult<Vec<ResourceProgress>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("SELECT {RESOURCE_COLUMNS} FROM job_resources WHERE job_id = $1 ORDER BY idx")
    });
    let rows = query(client, &SQL, &[&signed(job)]).await?;
    rows.iter().map(|row| resource_at(row, 0)).collect()
}

/// A resource's progress from the [`RESOURCE_COLUMNS`] of `row` from column `at` on.
fn resource_at(row: &Row, at: usize) -> StoreResult<ResourceProgress> {
    let state: String = get(row, at)?;
    Ok(ResourceProgress {
        state: parse_resource_state(&state)?,
        rows_done: get_u64(row, at + 1)?,
        added: get_u64(row, at + 2)?,
        updated: get_u64(row, at + 3)?,
        skipped: get_u64(row, at + 4)?,
    })
}

fn parse_resource_state(state: &str) -> StoreResult<ResourceState> {
    ResourceState::parse(state).ok_or_else(|| StoreError::Corrupt(format!("resource state {state}")))
}

/// Fails with `LeaseLost` unless `lease` still holds its running job. Inside a transaction the
/// job row stays locked (`FOR KEY SHARE`) until commit, so no claim can take the job over in
/// the middle of the write, while lease renewals go on.
pub(crate) async fn fence<C: GenericClient>(client: &C, lease: &Lease) -> StoreResult<()> {
    let held = query_opt(
        client,
        "SELECT 1 FROM jobs WHERE id = $1 AND org = $2 AND lease_owner = $3 AND state = 'running' FOR KEY SHARE",
        &[&signed(lease.job.get()), &signed(lease.org.get()), &lease.owner],
    )
    .await?;
    match held {
        Some(_) => Ok(()),
        None => Err(StoreError::LeaseLost),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_column_count_matches_the_columns() {
        assert_eq!(super::JOB_COLUMNS.split(',').count(), super::JOB_COLUMN_COUNT);
    }
}
