//! Classifying PostgreSQL errors where they happen: retryable, conflict, or a backend failure.

use bulkwrite_store::StoreError;
use tokio_postgres::error::SqlState;

/// Classifies a driver error: lost connections, serialization failures, deadlocks, lock
/// timeouts and shutdowns are retryable; unique violations are conflicts.
pub(crate) fn pg_error(error: tokio_postgres::Error) -> StoreError {
    if is_unique_violation(&error) {
        let message = match error.as_db_error() {
            Some(db) => match db.detail() {
                Some(detail) => format!("{} ({detail})", db.message()),
                None => db.message().to_string(),
            },
            None => error.to_string(),
        };
        return StoreError::Conflict(message);
    }
    if is_transient(&error) {
        return StoreError::Unavailable(Box::new(error));
    }
    StoreError::Backend(Box::new(error))
}

/// Classifies an error of a record write (a chunk, the records API): a unique violation there
/// means another node wrote the same key after this write looked, so the whole write rolled back
/// and is retryable; planned again, it sees the other node's key.
pub(crate) fn write_error(error: tokio_postgres::Error) -> StoreError {
    if is_unique_violation(&error) {
        return StoreError::Unavailable(Box::new(error));
    }
    pg_error(error)
}

pub(crate) fn is_unique_violation(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn is_transient(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    let Some(code) = error.code() else {
        // No server error: the connection itself failed (I/O, timeout).
        return error.as_db_error().is_none() && std::error::Error::source(error).is_some_and(is_io);
    };
    let transient = [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::QUERY_CANCELED,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
    ];
    // Class 08: connection exceptions.
    transient.contains(code) || code.code().starts_with("08")
}

fn is_io(error: &(dyn std::error::Error + 'static)) -> bool {
    error.is::<std::io::Error>()
}

/// Classifies a pool error: timeouts and a closed pool are retryable.
pub(crate) fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    match error {
        PoolError::Backend(error) => pg_error(error),
        PoolError::Timeout(_) | PoolError::Closed => StoreError::Unavailable(Box::new(error)),
        other => StoreError::Backend(Box::new(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeouts_are_retryable() {
        let error = deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Wait);
        assert!(pool_error(error).is_retryable());
        assert!(!pool_error(deadpool_postgres::PoolError::NoRuntimeSpecified).is_retryable());
    }
}
