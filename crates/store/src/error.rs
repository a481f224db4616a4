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

    /// The cause named for people: "disk full", "database busy or unreachable", or the error
    /// itself. What the database or the connection said is [`StoreError::last_said`].
    pub fn named_cause(&self) -> String {
        if self.is_disk_full() {
            return "disk full".to_string();
        }
        if self.is_retryable() {
            return "database busy or unreachable".to_string();
        }
        self.with_causes().to_string()
    }

    /// The error with every cause under it, for logs: `storage backend failed: db error: ERROR:
    /// relation "records" does not exist`, where the error alone says `storage backend failed`.
    /// (A job's reason, which an org's users read, names the cause instead: [`Self::named_cause`].)
    pub fn with_causes(&self) -> WithCauses<'_> {
        WithCauses(self)
    }

    /// The innermost error's message: what the database or the system said last (a statement
    /// timeout, a deadlock, a refused connection, no space left), under the store's own words.
    pub fn last_said(&self) -> String {
        let mut innermost: &(dyn std::error::Error + 'static) = self;
        while let Some(cause) = innermost.source() {
            innermost = cause;
        }
        innermost.to_string()
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

/// A [`StoreError`] shown with its causes (see [`StoreError::with_causes`]).
pub struct WithCauses<'a>(&'a StoreError);

impl std::fmt::Display for WithCauses<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(self.0);
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// What every store call returns.
pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::StoreError;

    /// A driver's error over the database's own message, as `tokio-postgres` gives them.
    #[derive(Debug, thiserror::Error)]
    #[error("db error")]
    struct Driver(#[source] std::io::Error);

    #[test]
    fn a_retryable_failure_is_named_and_says_what_the_database_said_last() {
        let said = std::io::Error::other("ERROR: canceling statement due to statement timeout");
        let error = StoreError::Unavailable(Box::new(Driver(said)));
        assert_eq!(error.named_cause(), "database busy or unreachable");
        assert_eq!(error.last_said(), "ERROR: canceling statement due to statement timeout");
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        assert_eq!(StoreError::Unavailable(Box::new(refused)).last_said(), "Connection refused");
        assert_eq!(
            error.with_causes().to_string(),
            "the database is busy or unreachable: db error: ERROR: canceling statement due to statement timeout"
        );
        let permanent = StoreError::Corrupt("column 3".into());
        assert_eq!(permanent.named_cause(), "stored data is corrupt: column 3");
        assert_eq!(permanent.last_said(), "stored data is corrupt: column 3");
    }
}
