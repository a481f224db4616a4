//! Small helpers over the driver: cached statements run with typed errors, and typed column
//! reads.

use bulkwrite_store::{StoreError, StoreResult};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};
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

/// A row's place in its table (`ctid`), sent and read in PostgreSQL's binary form (a block
/// number and an offset in it), where its text form `(block,offset)` cost a `printf` and a parse
/// on PostgreSQL's side and a string on ours, for every record a chunk updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tid {
    block: u32,
    offset: u16,
}

impl<'a> FromSql<'a> for Tid {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Tid, Box<dyn std::error::Error + Sync + Send>> {
        match raw {
            [b0, b1, b2, b3, o0, o1] => {
                Ok(Tid { block: u32::from_be_bytes([*b0, *b1, *b2, *b3]), offset: u16::from_be_bytes([*o0, *o1]) })
            }
            _ => Err(format!("a tid is 6 bytes, not {}", raw.len()).into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TID
    }
}

impl ToSql for Tid {
    fn to_sql(&self, _: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.block.to_be_bytes());
        out.extend_from_slice(&self.offset.to_be_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TID
    }

    tokio_postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tid_is_its_block_and_offset_big_endian() {
        let raw = [0, 1, 0, 2, 0, 7];
        let tid = Tid::from_sql(&Type::TID, &raw).unwrap();
        assert_eq!(tid, Tid { block: 65_538, offset: 7 });
        let mut out = bytes::BytesMut::new();
        tid.to_sql(&Type::TID, &mut out).unwrap();
        assert_eq!(&out[..], &raw);
        assert!(Tid::from_sql(&Type::TID, &raw[..5]).is_err(), "five bytes are no tid");
        assert!(<Tid as ToSql>::accepts(&Type::TID) && !<Tid as ToSql>::accepts(&Type::TEXT));
    }
}
