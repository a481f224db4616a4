//! Store errors, classified where they happen: permanent or retryable.

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The job is no longer running under the caller's lease: it expired and another worker
    /// claimed the job, or the lease was released, deferred or the job finished. Every write
    /// fenced by a [`Lease`](crate::Lease) fails so and changes nothing; the caller must stop
    /// working on the job at once, without writing to it again.
    #[error("the job's lease is no longer held by this worker")]
    LeaseLost,
    /// A uniqueness rule refused the write (for example a `file_id` already used by a job).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The thing named does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The thing named existed but retention expired it: its content is gone for good.
    #[error("expired: {0}")]
    Expired(String),
    /// Stored data could not be read back (a bug or a corrupted database).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A transient failure (database busy, connection lost): retry with backoff.
    #[error("the database is busy or unreachable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Any other backend failure.
    #[error("storage backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Reading or writing a blob failed.
    #[error("blob storage failed")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// Whether the failure is a full disk (ENOSPC, or SQLite's "database or disk is full")
    /// anywhere in its chain of causes.
    pub fn is_disk_full(&self) -> bool {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(error) = cause {
            if let Some(io) = error.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(28) {
                    return true;
                }
            }
            let text = error.to_string();
            if text.contains("database or disk is full") || text.contains("No space left on device") {
                return true;
            }
            cause = error.source();
        }
        false
    }

    /// The cause named for people: "disk full", "database unreachable", or the error itself.
    pub fn named_cause(&self) -> String {
        if self.is_disk_full() {
            return "disk full".to_string();
        }
        if self.is_retryable() {
            return "database unreachable".to_string();
        }
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            text.push_str(": ");
            text.push_str(&error.to_string());
            cause = error.source();
        }
        text
    }

    /// A chunk, or a resource's finish, did not follow the resource's stored checkpoint
    /// (`expected`): a chunk before it was never committed, or it was applied already. The write
    /// is refused; the job resumes from the stored checkpoint.
    pub fn checkpoint_moved(resource: usize, expected: u64) -> StoreError {
        StoreError::Conflict(format!(
            "resource {resource} is no longer at checkpoint {expected}; the job resumes from its stored checkpoint"
        ))
    }
}

/// What every store call returns.
pub type StoreResult<T> = Result<T, StoreError>;
