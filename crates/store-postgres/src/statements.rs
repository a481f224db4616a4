//! Small helpers over the driver: cached statements run with typed errors, and typed column
//! reads.

use bulkwrite_store::{StoreError, StoreResult};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::Row;

use crate::{pg_error, unsigned};

/// Statement parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Runs a cached statement and returns its rows.
pub(crate) async fn query<C: GenericClient>(client: &C, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
    client.query(&statement, params).await.map_err(pg_error)
}

/// Runs a cached statement that returns at most one row.
pub(crate) async fn query_opt<C: GenericClient>(client: &C, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
    let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
    client.query_opt(&statement, params).await.map_err(pg_error)
}

/// Runs a cached statement that returns exactly one row.
pub(crate) async fn query_one<C: GenericClient>(client: &C, sql: &str, params: Params<'_>) -> StoreResult<Row> {
    let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
    client.query_one(&statement, params).await.map_err(pg_error)
}

/// Runs a cached statement; returns the rows it changed.
pub(crate) async fn execute<C: GenericClient>(client: &C, sql: &str, params: Params<'_>) -> StoreResult<u64> {
    let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
    client.execute(&statement, params).await.map_err(pg_error)
}

/// Column `index` of `row`; a value of the wrong type or a NULL where none belongs is corrupt.
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> StoreResult<T> {
    row.try_get(index).map_err(|e| StoreError::Corrupt(format!("column {index}: {e}")))
}

/// An unsigned id or counter stored as `BIGINT`.
pub(crate) fn get_u64(row: &Row, index: usize) -> StoreResult<u64> {
    unsigned(get::<i64>(row, index)?, "stored number")
}

/// An unsigned count stored as `INTEGER`.
pub(crate) fn get_u32(row: &Row, index: usize) -> StoreResult<u32> {
    let value: i32 = get(row, index)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("stored count {value}")))
}

/// A record's values: the JSON object text of its `data` column (see migration 0023).
pub(crate) fn get_data(row: &Row, index: usize) -> StoreResult<serde_json::Map<String, serde_json::Value>> {
    serde_json::from_str(get::<&str>(row, index)?).map_err(|e| StoreError::Corrupt(format!("record data: {e}")))
}
