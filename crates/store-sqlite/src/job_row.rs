//! A job read back from its row (with its resources), and the lease check on that row.

use bulkwrite_core::ids::{JobId, OrgId, UserId};
use bulkwrite_core::state::{JobState, ResourceState};
use bulkwrite_store::*;
use rusqlite::{params, Connection, OptionalExtension};

use crate::{db_error, instant, json_error};

pub(crate) const JOB_COLUMNS: &str =
    "id, org, created_by, api_version, spec_json, state, attempts, character_encoding, result_blob, error, created_at, finished_at, \
     cancel_requested_at, cancelled_by, result_expired_at, read_json, undo_of";

pub(crate) fn read_job(conn: &Connection, where_clause: &str, args: impl rusqlite::Params) -> StoreResult<Option<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {where_clause}");
    type Raw = (
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
    let raw: Option<Raw> = conn
        .query_row(&sql, args, |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
                row.get(8)?,
                row.get(9)?,
                row.get(10)?,
                row.get(11)?,
                row.get(12)?,
                row.get(13)?,
                row.get(14)?,
                row.get(15)?,
                row.get(16)?,
            ))
        })
        .optional()
        .map_err(db_error)?;
    let Some((
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
    )) = raw
    else {
        return Ok(None);
    };
    let state = JobState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("job state {state}")))?;
    let resources = read_resources(conn, id)?;
    let cancel = match (cancel_at, cancel_by) {
        (Some(at), Some(by)) => Some(CancelRequest { by: UserId::new(by as u64), at: instant(at)? }),
        _ => None,
    };
    Ok(Some(Job {
        id: JobId::new(id as u64),
        org: OrgId::new(org as u64),
        created_by: UserId::new(created_by as u64),
        api_version,
        spec: serde_json::from_str(&spec).map_err(json_error)?,
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
    }))
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
