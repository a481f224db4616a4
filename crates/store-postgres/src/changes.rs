//! Job-change announcements between nodes: a `NOTIFY` on [`JOB_CHANGES_CHANNEL`] whose payload
//! is the job id; every node's listener (`listen`) rings its own
//! [`bulkwrite_store::changes::JobChanges`] with it, which wakes that node's events streams.

use bulkwrite_core::ids::JobId;
use bulkwrite_store::changes::JobChanges;
use bulkwrite_store::StoreResult;

use crate::statements::query_one;
use crate::PgStore;

/// The channel that carries "this job changed" between nodes; the payload is the job id.
pub const JOB_CHANGES_CHANNEL: &str = "bulkwrite_job_changes";

/// Sends the announcement on a pooled connection (outside any transaction: the change it
/// announces has committed).
pub(crate) async fn announce(store: &PgStore, job: JobId) -> StoreResult<()> {
    let conn = store.conn().await?;
    query_one(&conn, "SELECT pg_notify($1, $2)", &[&JOB_CHANGES_CHANNEL, &job.to_string()]).await.map(|_| ())
}

/// What a notification's payload rings: the job it names, or any job when it names none we
/// can read.
pub(crate) fn ring(changes: &JobChanges, payload: &str) {
    match JobId::parse(payload) {
        Some(job) => changes.job_changed(job),
        None => changes.any_changed(),
    }
}
