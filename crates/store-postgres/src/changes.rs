//! Job-change announcements between nodes: a `NOTIFY` on [`JOB_CHANGES_CHANNEL`] whose payload
//! is the job id (`cancel:` before it when the job was asked to stop); every node's listener
//! (`listen`) rings its own [`bulkwrite_store::changes::JobChanges`] with it, which wakes that
//! node's events streams and, for a cancel, the run of that job.

use bulkwrite_core::ids::JobId;
use bulkwrite_store::changes::JobChanges;
use bulkwrite_store::StoreResult;

use crate::statements::query_one;
use crate::PgStore;

/// The channel that carries "this job changed" between nodes; the payload is the job id.
pub const JOB_CHANGES_CHANNEL: &str = "bulkwrite_job_changes";

/// Before the job id in the payload of a cancel request. A node that does not know it reads
/// the payload as no job id, and wakes every follower instead.
pub(crate) const CANCEL_PREFIX: &str = "cancel:";

/// Sends the announcement on a pooled connection (outside any transaction: the change it
/// announces has committed).
pub(crate) async fn announce(store: &PgStore, payload: &str) -> StoreResult<()> {
    let conn = store.conn().await?;
    query_one(&conn, "SELECT pg_notify($1, $2)", &[&JOB_CHANGES_CHANNEL, &payload]).await.map(|_| ())
}

/// What a notification's payload rings: the job it names, asked to stop or changed, or any
/// job when it names none we can read.
pub(crate) fn ring(changes: &JobChanges, payload: &str) {
    let (cancel, id) = match payload.strip_prefix(CANCEL_PREFIX) {
        Some(id) => (true, id),
        None => (false, payload),
    };
    match JobId::parse(id) {
        Some(job) if cancel => changes.cancel_requested(job),
        Some(job) => changes.job_changed(job),
        None => changes.any_changed(),
    }
}
