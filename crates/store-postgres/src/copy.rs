//! Binary `COPY` payloads, encoded in memory and sent in large messages.
//!
//! tokio-postgres's `BinaryCopyInWriter` sends (and flushes) every 4 KiB: for a chunk of 500
//! records that is some 60 socket writes, each waking the database backend, and a task switch
//! through the driver's channel for each. Profiling a 25,000-row job on two cores put those
//! wake-ups at ≈6% of the server's CPU. A chunk's rows are encoded here first and go out in
//! messages of up to [`PIECE`] bytes.

use std::pin::Pin;

use bulkwrite_store::{StoreError, StoreResult};
use bytes::{BufMut, Bytes, BytesMut};
use deadpool_postgres::Transaction;
use futures_util::SinkExt;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::CopyInSink;

/// The most one `CopyData` message carries.
pub const PIECE: usize = 1 << 20;

/// Room for the row that takes a payload past a [`PIECE`].
const SLACK: usize = 16 * 1024;

/// `PGCOPY\n\377\r\n\0`, then no flags and no header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Rows of one binary `COPY`, being encoded.
pub(crate) struct CopyRows {
    fields: i16,
    rows: usize,
    buf: BytesMut,
    done: Vec<Bytes>,
}

impl CopyRows {
    /// A payload of rows of `fields` columns each, expected to take about `bytes`. That much is
    /// reserved up front (at most a [`PIECE`]; it still grows if need be): growing as it filled
    /// copied the buffer, and faulted in fresh pages, three or four times a chunk.
    pub fn with_capacity(fields: i16, bytes: usize) -> CopyRows {
        let mut buf = BytesMut::with_capacity(bytes.min(PIECE) + SLACK);
        buf.put_slice(HEADER);
        CopyRows { fields, rows: 0, buf, done: Vec::new() }
    }

    /// Starts a row; its `fields` values follow.
    pub fn row(&mut self) {
        if self.buf.len() >= PIECE {
            self.done.push(self.buf.split().freeze());
        }
        self.rows += 1;
        self.buf.put_i16(self.fields);
    }

    /// Whether no row was started.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn int8(&mut self, value: i64) {
        self.buf.put_i32(8);
        self.buf.put_i64(value);
    }

    pub fn opt_int8(&mut self, value: Option<i64>) {
        match value {
            Some(value) => self.int8(value),
            None => self.null(),
        }
    }

    /// A `text` value (its binary form is its UTF-8 bytes).
    pub fn text(&mut self, value: &str) -> StoreResult<()> {
        self.buf.put_i32(length(value.len())?);
        self.buf.put_slice(value.as_bytes());
        Ok(())
    }

    pub fn opt_text(&mut self, value: Option<&str>) -> StoreResult<()> {
        match value {
            Some(value) => self.text(value),
            None => {
                self.null();
                Ok(())
            }
        }
    }

    pub fn null(&mut self) {
        self.buf.put_i32(-1);
    }

    /// A `json` value (its binary form is its text).
    pub fn json(&mut self, value: &impl serde::Serialize) -> StoreResult<()> {
        let start = self.buf.len();
        self.buf.put_i32(0);
        serde_json::to_writer(Appender(&mut self.buf), value)
            .map_err(|error| StoreError::Backend(format!("encoding a record: {error}").into()))?;
        self.patch_length(start)
    }

    /// Any other value, through its `ToSql` (timestamps).
    pub fn value(&mut self, value: &(dyn ToSql + Sync), ty: &Type) -> StoreResult<()> {
        let start = self.buf.len();
        self.buf.put_i32(0);
        match value.to_sql_checked(ty, &mut self.buf) {
            Ok(tokio_postgres::types::IsNull::Yes) => {
                self.buf.truncate(start);
                self.null();
                Ok(())
            }
            Ok(tokio_postgres::types::IsNull::No) => self.patch_length(start),
            Err(error) => Err(StoreError::Backend(format!("encoding a {ty} for COPY: {error}").into())),
        }
    }

    fn patch_length(&mut self, start: usize) -> StoreResult<()> {
        let written = length(self.buf.len() - start - 4)?;
        self.buf[start..start + 4].copy_from_slice(&written.to_be_bytes());
        Ok(())
    }

    /// Runs `statement` (a `COPY … FROM STDIN (FORMAT binary)`) with these rows. The driver's
    /// error is returned as is, so callers can tell a unique violation from other failures.
    pub async fn send(self, tx: &Transaction<'_>, statement: &str) -> Result<u64, tokio_postgres::Error> {
        self.start(tx, statement).await?.finish().await
    }

    /// Starts `statement` and hands all the rows to the connection, which writes them while the
    /// caller goes on; [`Sending::finish`] ends the `COPY` and reports. Dropping the `Sending`
    /// instead aborts the `COPY` (and so the transaction).
    pub async fn start(mut self, tx: &Transaction<'_>, statement: &str) -> Result<Sending, tokio_postgres::Error> {
        self.buf.put_i16(-1);
        self.done.push(self.buf.split().freeze());
        // Cached per connection: parsing the `COPY` again would cost a round trip per chunk.
        let statement = tx.prepare_cached(statement).await?;
        let mut sink = Box::pin(tx.copy_in::<_, Bytes>(&statement).await?);
        for piece in self.done {
            sink.feed(piece).await?;
        }
        sink.flush().await?;
        Ok(Sending { sink })
    }
}

/// A `COPY` whose rows are on their way (see [`CopyRows::start`]).
pub(crate) struct Sending {
    sink: Pin<Box<CopyInSink<Bytes>>>,
}

impl Sending {
    /// Ends the `COPY`; returns the rows copied or the database's error.
    pub async fn finish(mut self) -> Result<u64, tokio_postgres::Error> {
        self.sink.as_mut().finish().await
    }
}

/// `io::Write` straight onto the buffer: `bytes`'s own writer goes through `write`, capacity
/// checks and `put_slice` for each of the many small pieces a JSON document is written in.
struct Appender<'a>(&'a mut BytesMut);

impl std::io::Write for Appender<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn length(len: usize) -> StoreResult<i32> {
    i32::try_from(len).map_err(|_| StoreError::Backend(format!("a value of {len} bytes is too large for COPY").into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_binary_copy_format() {
        let mut rows = CopyRows::with_capacity(3, 64);
        rows.row();
        rows.int8(-2);
        rows.text("é").unwrap();
        rows.null();
        rows.buf.put_i16(-1);
        let mut expected = HEADER.to_vec();
        expected.extend([0, 3]);
        expected.extend([0, 0, 0, 8, 255, 255, 255, 255, 255, 255, 255, 254]);
        expected.extend([0, 0, 0, 2, 0xc3, 0xa9]);
        expected.extend([255, 255, 255, 255]);
        expected.extend([255, 255]);
        assert_eq!(&rows.buf[..], &expected[..]);
    }

    #[test]
    fn json_values_carry_their_length() {
        let mut rows = CopyRows::with_capacity(1, 64);
        rows.row();
        rows.json(serde_json::json!({"a": 1}).as_object().unwrap()).unwrap();
        assert_eq!(&rows.buf[HEADER.len() + 2..], b"\0\0\0\x07{\"a\":1}");
    }
}
