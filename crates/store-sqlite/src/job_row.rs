//! A job read back from its row (with its resources), and the lease check on that row.

use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension};

use crate::orgs::{org_of, raw_org, ORG_COLUMNS};
use crate::{db_error, instant, json_error};

pub(crate) const JOB_COLUMNS: &str =
    "id, org, created_by, api_version, spec_json, state, attempts, character_encoding, result_blob, error, created_at, finished_at, \
     cancel_requested_at, cancelled_by, result_expired_at, read_json, undo_of";

pub(crate) fn read_job(conn: &Connection, where_clause: &str, args: impl rusqlite::Params) -> StoreResult<Option<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {where_clause}");
    let mut statement = conn.prepare_cached(&sql).map_err(db_error)?;
    let raw = statement.query_row(args, |row| raw_job(row, 0)).optional().map_err(db_error)?;
    drop(statement);
    raw.map(|raw| build_job(conn, raw)).transpose()
}

/// The org's job with its org and its creator's name, in one statement (cached on the
/// connection: the job details answer runs it on every call), and the job's resources.
pub(crate) fn read_job_details(conn: &Connection, org: i64, job: i64) -> StoreResult<Option<JobWithOrg>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let prefixed = |columns: &str, table: &str| -> String {
            columns.split(',').map(|column| format!("{table}.{}", column.trim())).collect::<Vec<_>>().join(", ")
        };
        format!(
            "SELECT {}, {}, u.first_name, u.last_name
             FROM jobs j JOIN orgs o ON o.zgid = j.org
             LEFT JOIN users u ON u.org = j.org AND u.id = j.created_by
             WHERE j.id = ?1 AND j.org = ?2",
            prefixed(JOB_COLUMNS, "j"),
            prefixed(ORG_COLUMNS, "o"),
        )
    });
    let mut statement = conn.prepare_cached(&SQL).map_err(db_error)?;
    let found = statement
        .query_row(params![job, org], |row| {
            let job = raw_job(row, 0)?;
            let org = raw_org(row, 17)?;
            let creator: (Option<String>, Option<String>) = (row.get(23)?, row.get(24)?);
            Ok((job, org, creator))
        })
        .optional()
        .map_err(db_error)?;
    drop(statement);
    let Some((raw, org, creator)) = found else {
        return Ok(None);
    };
    let org = org_of(org)?;
    let creator_name = match creator {
        (Some(first), Some(last)) => Some(full_name(&first, &last)),
        _ => None,
    };
    Ok(Some(JobWithOrg { job: build_job(conn, raw)?, org, creator_name }))
}

/// A job row's [`JOB_COLUMNS`], as read, from column `at` on.
type RawJob = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn raw_job(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RawJob> {
    Ok((
        row.get(at)?,
        row.get(at + 1)?,
        row.get(at + 2)?,
        row.get(at + 3)?,
        row.get(at + 4)?,
        row.get(at + 5)?,
        row.get(at + 6)?,
        row.get(at + 7)?,
        row.get(at + 8)?,
        row.get(at + 9)?,
        row.get(at + 10)?,
        row.get(at + 11)?,
        row.get(at + 12)?,
        row.get(at + 13)?,
        row.get(at + 14)?,
        row.get(at + 15)?,
        row.get(at + 16)?,
    ))
}

/// The job of a row read by [`raw_job`], with its resources.
fn build_job(conn: &Connection, raw: RawJob) -> StoreResult<Job> {
    let (
        id,
        org,
        created_by,
        api_version,
        spec,
        state,
        attempts,
        encoding,
        result_blob,
        error,
        created,
        finished,
        cancel_at,
        cancel_by,
        result_expired,
        read_json,
        undo_of,
    ) = raw;
    let state = JobState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("job state {state}")))?;
    let resources = read_resources(conn, id)?;
    let cancel = match (cancel_at, cancel_by) {
        (Some(at), Some(by)) => Some(CancelRequest { by: UserId::new(by as u64), at: instant(at)? }),
        _ => None,
    };
    Ok(Job {
        id: JobId::new(id as u64),
        org: OrgId::new(org as u64),
        created_by: UserId::new(created_by as u64),
        api_version,
        spec: bulkwrite_store::spec_text::parse_spec(&spec)?,
        state,
        attempts: attempts as u32,
        character_encoding: encoding,
        resources,
        result_blob,
        error,
        created_at: instant(created)?,
        finished_at: finished.map(instant).transpose()?,
        cancel,
        result_expired_at: result_expired.map(instant).transpose()?,
        read: read_json.map(|text| serde_json::from_str(&text).map_err(json_error)).transpose()?,
        undo_of: undo_of.map(|id| JobId::new(id as u64)),
    })
}

fn read_resources(conn: &Connection, job: i64) -> StoreResult<Vec<ResourceProgress>> {
    let mut statement = conn
        .prepare_cached(
            "SELECT state, rows_done, added, updated, skipped FROM job_resources WHERE job_id = ?1 ORDER BY idx",
        )
        .map_err(db_error)?;
    let rows = statement
        .query_map(params![job], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
            ))
        })
        .map_err(db_error)?;
    let mut resources = Vec::new();
    for row in rows {
        let (state, rows_done, added, updated, skipped) = row.map_err(db_error)?;
        let state =
            ResourceState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("resource state {state}")))?;
        resources.push(ResourceProgress {
            state,
            rows_done: rows_done as u64,
            added: added as u64,
            updated: updated as u64,
            skipped: skipped as u64,
        });
    }
    Ok(resources)
}

/// Fails with `LeaseLost` unless `lease` still holds its running job.
pub(crate) fn check_lease(conn: &Connection, lease: &Lease) -> StoreResult<()> {
    let holder: Option<Option<String>> = conn
        .query_row(
            "SELECT lease_owner FROM jobs WHERE id = ?1 AND org = ?2 AND state = 'running'",
            params![lease.job.get() as i64, lease.org.get() as i64],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error)?;
    match holder {
        Some(Some(owner)) if owner == lease.owner => Ok(()),
        _ => Err(StoreError::LeaseLost),
    }
}
