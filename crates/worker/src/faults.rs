//! The job and callback seams of the fault rules (the test controls, `--test-controls`): what a
//! rule asks of a job happens at its chunks, what it asks of a callback at the send. With the
//! switch off nothing here reads the store.
//!
//! Job faults are decided once per job, when it first runs ([`FaultStore::job_faults`] binds the
//! rules that fire to it), so a resumed run, on any node, sees the same faults:
//! - `slow_ms`: each chunk waits that long before it is applied;
//! - `fail_at_row: N`: the chunk that reaches row N of a resource applies rows up to N, commits,
//!   and the job fails; rows after N are `UNPROCESSED` in its result file;
//! - `fail_chunk_once`: the first chunk to commit is followed by a transient failure, as when
//!   the connection drops before the commit is acknowledged; the job waits out its backoff and
//!   resumes after its checkpoint, so every row is applied once (spent once, across nodes).
//!
//! Callback faults are decided per attempt: the attempt is answered with the rule's status, or
//! times out after the callback timeout, without reaching the receiver; retries then follow the
//! callback policy as for a real answer.

use std::time::Duration;

use bulkwrite_core::faults::{CallbackFault, FaultAction, FaultKind};
use bulkwrite_core::ids::OrgId;
use bulkwrite_core::mapping::RowDraft;
use bulkwrite_store::{Job, JobFaultHit, StoreError};

use crate::pipeline::{with_retries, Stop};
use crate::WorkerContext;

/// The job faults that hit one job.
#[derive(Debug, Default)]
pub(crate) struct JobFaults {
    hits: Vec<JobFaultHit>,
}

/// Where a `fail_at_row` fault cuts a chunk.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Cut {
    /// The checkpoint the cut chunk commits (row N).
    pub rows_done: u64,
    /// Why the job fails after it.
    pub reason: String,
}

impl JobFaults {
    /// The faults of `job`: bound on its first run (write jobs only), read back on later ones.
    pub(crate) async fn of(ctx: &WorkerContext, job: &Job) -> Result<JobFaults, Stop> {
        if !ctx.config.test_controls || job.kind() != bulkwrite_store::JobKind::Write {
            return Ok(JobFaults::default());
        }
        let hits = with_retries(|| ctx.store.job_faults(job.org, job.id)).await?;
        for hit in &hits {
            tracing::info!(fault = hit.fault, spent = hit.spent, "job fault hits the job");
        }
        Ok(JobFaults { hits })
    }

    /// Waits as long as the `slow_ms` faults ask, before a chunk is applied.
    pub(crate) async fn slow_down(&self) {
        let ms: u64 = self.hits.iter().filter_map(|hit| hit.job.slow_ms).sum();
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    /// Cuts a chunk (its rows and the checkpoint after them) at the first `fail_at_row` when the
    /// chunk reaches that row: rows after it are dropped, and the job must fail once the rest
    /// commits (also when no row follows).
    pub(crate) fn cut(&self, rows: &mut Vec<RowDraft>, rows_done: u64) -> Option<Cut> {
        let (fault, row) = self
            .hits
            .iter()
            .filter_map(|hit| hit.job.fail_at_row.map(|row| (hit.fault, row)))
            .min_by_key(|(_, row)| *row)?;
        if rows_done < row {
            return None;
        }
        rows.retain(|draft| draft.row_no <= row);
        Some(Cut { rows_done: row, reason: format!("fault {fault}: the job fails at row {row} (test controls)") })
    }

    /// After a chunk committed: fails the run transiently once, if a `fail_chunk_once` fault
    /// hit the job and this is the first time (on any node) it strikes.
    pub(crate) async fn after_commit(&self, ctx: &WorkerContext, job: &Job) -> Result<(), Stop> {
        for hit in self.hits.iter().filter(|hit| hit.job.fail_chunk_once && !hit.spent) {
            if with_retries(|| ctx.store.spend_job_fault(job.id, hit.fault)).await? {
                tracing::warn!(fault = hit.fault, "fault: a committed chunk fails transiently (test controls)");
                let cause = format!("fault {}: the chunk's commit was not acknowledged (test controls)", hit.fault);
                return Err(Stop::Transient(StoreError::Unavailable(cause.into())));
            }
        }
        Ok(())
    }
}

/// The callback fault that fires on an attempt to deliver `org`'s callback, if one does.
pub(crate) async fn callback_fault(ctx: &WorkerContext, org: OrgId) -> Option<(u64, CallbackFault)> {
    if !ctx.config.test_controls {
        return None;
    }
    let rules = match ctx.store.live_faults(FaultKind::Callback).await {
        Ok(rules) => rules,
        Err(error) => {
            tracing::warn!(error = %error.with_causes(), "reading the callback fault rules failed; the attempt goes on unfaulted");
            return None;
        }
    };
    for rule in rules {
        let FaultAction::Callback(fault) = rule.rule.action else { continue };
        if !rule.rule.applies_to(Some(org)) {
            continue;
        }
        match ctx.store.fire_fault(rule.id).await {
            Ok(true) => return Some((rule.id, fault)),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(fault = rule.id, error = %error.with_causes(), "firing a callback fault rule failed; it is skipped");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use bulkwrite_core::faults::JobFault;

    use super::*;

    fn rows(range: std::ops::RangeInclusive<u64>) -> Vec<RowDraft> {
        range.map(|row_no| RowDraft::new(row_no, Vec::new())).collect()
    }

    fn faults(jobs: &[(u64, JobFault)]) -> JobFaults {
        JobFaults {
            hits: jobs
                .iter()
                .map(|(fault, job)| JobFaultHit { fault: *fault, job: job.clone(), spent: false })
                .collect(),
        }
    }

    #[test]
    fn a_fail_at_row_fault_cuts_the_chunk_that_reaches_the_row() {
        let at = |row| JobFault { fail_at_row: Some(row), ..JobFault::default() };
        let faults = faults(&[(7, at(5)), (8, at(9))]);
        let mut before = rows(1..=4);
        assert_eq!(faults.cut(&mut before, 4), None, "a chunk that ends before the row is whole");
        assert_eq!(before.len(), 4);
        let mut reaching = rows(5..=8);
        let cut = faults.cut(&mut reaching, 8).expect("cut");
        assert_eq!(cut.rows_done, 5, "the lowest row of the faults");
        assert!(cut.reason.starts_with("fault 7:"), "{}", cut.reason);
        assert_eq!(reaching.iter().map(|r| r.row_no).collect::<Vec<_>>(), vec![5]);
        let mut at_the_row = rows(1..=5);
        assert_eq!(
            faults.cut(&mut at_the_row, 5).map(|c| c.rows_done),
            Some(5),
            "a chunk ending at the row fails the job"
        );
        assert_eq!(at_the_row.len(), 5, "after applying its rows");
        let mut past = rows(6..=8);
        assert_eq!(faults.cut(&mut past, 8).map(|c| c.rows_done), Some(5));
        assert!(past.is_empty(), "nothing of a chunk after the row is applied");
        assert_eq!(JobFaults::default().cut(&mut rows(1..=3), 3), None);
    }
}
