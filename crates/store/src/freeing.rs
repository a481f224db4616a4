//! Values a backend is done with, freed on the thread that made them.
//!
//! A job's rows are made on its reader's thread (read, mapped) and written on the store's. Freed
//! on any other thread, each of their allocations goes back to the reader's heap the slow way
//! (mimalloc pushes it atomically onto its page's list of frees from other threads, and the
//! reader's heap collects those later), and a 1,000,000-row insert frees some 30 million of
//! them. So a reader, while it runs, takes values back ([`FreeingThread`]) and frees them
//! between its chunks, and a backend hands them over with [`give_back`]. When no reader runs, or
//! enough values already wait, the backend frees them its own way.

use std::sync::{Mutex, MutexGuard};

/// Values that wait for a reader at most; past them a backend frees its values itself.
pub const MOST_WAITING: usize = 8;

static RETURNED: Mutex<Returned> = Mutex::new(Returned { readers: 0, values: Vec::new() });

struct Returned {
    /// Threads that take values back now.
    readers: usize,
    values: Vec<Box<dyn Send>>,
}

fn returned() -> MutexGuard<'static, Returned> {
    RETURNED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Hands `value` to a running reader to free; gives it back when no reader runs or
/// [`MOST_WAITING`] values already wait.
pub fn give_back<T: Send + 'static>(value: T) -> Result<(), T> {
    let mut returned = returned();
    if returned.readers == 0 || returned.values.len() >= MOST_WAITING {
        return Err(value);
    }
    returned.values.push(Box::new(value));
    Ok(())
}

/// A thread that frees what backends give back, from [`FreeingThread::start`] until it is
/// dropped (which frees what is left).
pub struct FreeingThread(());

impl FreeingThread {
    /// Makes this thread one that takes values back.
    pub fn start() -> FreeingThread {
        returned().readers += 1;
        FreeingThread(())
    }

    /// Frees what waits (outside the lock).
    pub fn free_returned(&self) {
        let values = std::mem::take(&mut returned().values);
        drop(values);
    }
}

impl Drop for FreeingThread {
    fn drop(&mut self) {
        let values = {
            let mut returned = returned();
            returned.readers -= 1;
            std::mem::take(&mut returned.values)
        };
        drop(values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread::{self, ThreadId};

    /// Tells where it was dropped.
    struct Tracked(mpsc::Sender<ThreadId>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            let _ = self.0.send(thread::current().id());
        }
    }

    // One test: the queue is the process's.
    #[test]
    fn values_go_back_to_a_running_reader_and_are_freed_on_its_thread() {
        let (dropped, drops) = mpsc::channel();
        let given = give_back(Tracked(dropped.clone()));
        assert!(given.is_err(), "no reader runs: the backend keeps the value");
        drop(given);
        assert_eq!(drops.recv().unwrap(), thread::current().id());

        let (started, reader_started) = mpsc::channel();
        let (go, free_now) = mpsc::channel::<()>();
        let reader = thread::spawn(move || {
            let freeing = FreeingThread::start();
            started.send(()).unwrap();
            free_now.recv().unwrap();
            freeing.free_returned();
            free_now.recv().unwrap();
            drop(freeing);
            thread::current().id()
        });
        reader_started.recv().unwrap();
        for _ in 0..MOST_WAITING {
            assert!(give_back(Tracked(dropped.clone())).is_ok());
        }
        assert!(give_back(Tracked(dropped.clone())).is_err(), "past MOST_WAITING the backend frees");
        assert_eq!(drops.recv().unwrap(), thread::current().id());
        go.send(()).unwrap();
        let freed_first: Vec<ThreadId> = (0..MOST_WAITING).map(|_| drops.recv().unwrap()).collect();
        assert!(give_back(Tracked(dropped.clone())).is_ok());
        go.send(()).unwrap();
        let reader = reader.join().unwrap();
        assert!(freed_first.iter().all(|id| *id == reader), "freed on the reader's thread");
        assert_eq!(drops.recv().unwrap(), reader, "what is left is freed as the reader stops");
        assert!(give_back(()).is_err(), "no reader runs again");
    }
}
