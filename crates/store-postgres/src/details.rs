//! Job details read together. A client polls a job's details (`GET …/write/{id}`) again and
//! again, and on PostgreSQL each read was one statement of its own: a round trip, a bind and an
//! executor for a lookup by primary key, about 150 µs of PostgreSQL's CPU beside 150 µs of the
//! node's under load (docs/PERFORMANCE.md).
//!
//! Here a node keeps at most [`READERS`] such statements in flight. A read that comes while they
//! all are waits in [`DetailsQueue`], and the next statement reads every job waiting (up to
//! [`MOST`], `WHERE j.id = ANY($1)`), each job once however many wait for it. A read never joins
//! a statement already sent: what it returns was read after the call began, as before.
//!
//! A read that finds a reader free becomes the reader: it runs the statement itself, on the
//! request's task, so that a lone poll costs what it did. Once its own answer is in, it hands what still waits
//! to a reader task of its own. A reader that goes away with reads in hand (its client hung
//! up, and the request was dropped) drops their answers: each of them then asks again.

use std::collections::HashMap;
use std::sync::Mutex;

use bulkwrite_core::ids::{JobId, OrgId};
use bulkwrite_store::{JobWithOrg, StoreError, StoreResult};
use tokio::sync::oneshot;

use crate::job_row::JobDetails;
use crate::PgStore;

/// Job-details statements a node keeps in flight at once.
const READERS: usize = 2;

/// The most jobs one statement reads.
const MOST: usize = 64;

/// What a waiting read gets back.
type Answer = StoreResult<Option<JobWithOrg>>;

/// The reads waiting for a statement, and how many readers run.
#[derive(Default)]
pub(crate) struct DetailsQueue {
    state: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    readers: usize,
}

struct Waiting {
    org: OrgId,
    job: JobId,
    reply: oneshot::Sender<Answer>,
}

impl DetailsQueue {
    /// Queues a read; true when the caller must start a reader for it.
    fn push(&self, waiting: Waiting) -> bool {
        let mut queue = lock(&self.state);
        queue.waiting.push(waiting);
        let start = queue.readers < READERS;
        if start {
            queue.readers += 1;
        }
        start
    }

    /// Whether a reader that stops now must leave a reader task: it may (`may_hand_over`) and
    /// reads wait. Otherwise it stops counting.
    fn hand_over(&self, may_hand_over: bool) -> bool {
        let mut queue = lock(&self.state);
        if may_hand_over && !queue.waiting.is_empty() {
            return true;
        }
        queue.readers -= 1;
        false
    }

    /// A reader stops counting.
    fn stop_reader(&self) {
        lock(&self.state).readers -= 1;
    }

    /// The next reads for a reader to take, oldest first; none when the reader must stop.
    fn take(&self) -> Option<Vec<Waiting>> {
        let mut queue = lock(&self.state);
        if queue.waiting.is_empty() {
            queue.readers -= 1;
            return None;
        }
        let count = queue.waiting.len().min(MOST);
        Some(queue.waiting.drain(..count).collect())
    }
}

fn lock(state: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    // The lock is held for a push or a drain, neither of which panics.
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PgStore {
    /// The org's job with its org and its creator's name, read with the others waiting.
    pub(crate) async fn read_details(&self, org: OrgId, job: JobId) -> Answer {
        loop {
            let (reply, mut answer) = oneshot::channel();
            let read = if self.inner.details.push(Waiting { org, job, reply }) {
                Reader::read_until(self.clone(), &mut answer).await
            } else {
                None
            };
            if let Some(read) = read {
                return read;
            }
            if let Ok(read) = answer.await {
                return read;
            }
            // The reader that held this read went away before it answered: ask again.
        }
    }

    /// Reads the jobs of `batch` in one statement and answers each read.
    async fn read_batch(&self, batch: Vec<Waiting>) {
        let mut ids: Vec<i64> = batch.iter().map(|waiting| crate::signed(waiting.job.get())).collect();
        ids.sort_unstable();
        ids.dedup();
        let read = match self.conn().await {
            Ok(conn) => crate::job_row::read_jobs_details(&conn, &ids).await,
            Err(error) => Err(error),
        };
        answer(batch, read);
    }
}

/// One of the [`READERS`]: counted in the queue from [`DetailsQueue::push`] until it finds
/// nothing waiting ([`DetailsQueue::take`]) or is dropped.
struct Reader {
    store: PgStore,
    /// Whether `take` found nothing and so stopped counting this reader.
    stopped: bool,
    /// Whether it runs on a request's task (and so leaves a task of its own to the reads that
    /// wait when it stops).
    on_request: bool,
}

impl Reader {
    /// Reads what waits on the request's task, a statement at a time, until `answer` holds the
    /// request's own read (then returned) or nothing waits. `None` when another reader has the
    /// request's read, or when the read's answer was dropped (its reader went away).
    async fn read_until(store: PgStore, answer: &mut oneshot::Receiver<Answer>) -> Option<Answer> {
        let mut reader = Reader { store, stopped: false, on_request: true };
        loop {
            let Some(batch) = reader.store.inner.details.take() else {
                reader.stopped = true;
                return None;
            };
            reader.store.read_batch(batch).await;
            match answer.try_recv() {
                Ok(read) => return Some(read),
                Err(oneshot::error::TryRecvError::Empty) => {}
                Err(oneshot::error::TryRecvError::Closed) => return None,
            }
        }
    }

    /// Reads on a task of its own until nothing waits.
    async fn read_all(store: PgStore) {
        let mut reader = Reader { store, stopped: false, on_request: false };
        while let Some(batch) = reader.store.inner.details.take() {
            reader.store.read_batch(batch).await;
        }
        reader.stopped = true;
    }
}

impl Drop for Reader {
    /// A request's reader that stops while reads wait (its own answer is in, or the request was
    /// dropped) leaves them a reader task. A reader task stopped early (the runtime is stopping)
    /// only stops counting: the next read to come then becomes a reader.
    fn drop(&mut self) {
        let queue = &self.store.inner.details;
        if self.stopped || !queue.hand_over(self.on_request) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(Reader::read_all(self.store.clone()))),
            Err(_) => queue.stop_reader(),
        }
    }
}

/// Gives each waiting read its job, if the job is its org's, or the failure to read it.
fn answer(batch: Vec<Waiting>, read: StoreResult<HashMap<u64, JobDetails>>) {
    for waiting in batch {
        let answer = match &read {
            Ok(jobs) => match jobs.get(&waiting.job.get()).filter(|found| found.org == waiting.org) {
                None => Ok(None),
                Some(JobDetails { read: Ok(found), .. }) => Ok(Some(found.clone())),
                Some(JobDetails { read: Err(error), .. }) => Err(again(error)),
            },
            Err(error) => Err(again(error)),
        };
        // The request may have gone away; nothing then waits for the answer.
        let _ = waiting.reply.send(answer);
    }
}

/// The same failure for another waiting read (a source error is kept as its message).
fn again(error: &StoreError) -> StoreError {
    let source = |source: &(dyn std::error::Error + Send + Sync)| -> Box<dyn std::error::Error + Send + Sync> {
        source.to_string().into()
    };
    match error {
        StoreError::LeaseLost => StoreError::LeaseLost,
        StoreError::Conflict(text) => StoreError::Conflict(text.clone()),
        StoreError::NotFound(text) => StoreError::NotFound(text.clone()),
        StoreError::Expired(text) => StoreError::Expired(text.clone()),
        StoreError::Corrupt(text) => StoreError::Corrupt(text.clone()),
        StoreError::Unavailable(inner) => StoreError::Unavailable(source(inner.as_ref())),
        StoreError::Backend(inner) => StoreError::Backend(source(inner.as_ref())),
        StoreError::Io(inner) => StoreError::Io(std::io::Error::new(inner.kind(), inner.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_given_again_with_its_kind_and_message() {
        let error = StoreError::Unavailable("connection reset".into());
        let again = again(&error);
        assert!(matches!(again, StoreError::Unavailable(_)), "{again:?}");
        assert_eq!(std::error::Error::source(&again).map(ToString::to_string).as_deref(), Some("connection reset"));
        assert!(matches!(super::again(&StoreError::Corrupt("x".into())), StoreError::Corrupt(text) if text == "x"));
    }
}
