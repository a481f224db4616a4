//! The yardstick, measured in the same run: a hand-written binary `COPY` of the very rows
//! an insert job wrote. The records and keys of the first insert are copied out of the bench's
//! database in PostgreSQL's binary format, then copied back in by this process, timed:
//! - into a bare table shaped like `records` (its column defaults, no index, no key);
//! - into fresh tables built like bulkwrite's `records` and `unique_keys` (their indexes, the
//!   unique keys' primary key among them), records and keys in one transaction, which is what a
//!   hand-written loader of the same data into the same schema does.
//!
//! A round of both runs after every insert, while the server is idle, so that jobs and
//! baseline meet the same machine: on a shared machine the speed drifts from minute to minute.

use std::time::Instant;

use anyhow::Context;
use bulkwrite_store_postgres::COPY_MESSAGE_BYTES as PIECE;
use bytes::Bytes;
use futures_util::{SinkExt, TryStreamExt};
use tokio_postgres::Client;

/// The rows the first insert wrote, ready to be copied in again, and the times taken so far.
pub struct Baseline {
    client: Client,
    records: Vec<Bytes>,
    keys: Vec<Bytes>,
    record_count: u64,
    key_count: u64,
    bare: Vec<f64>,
    schema: Vec<f64>,
}

const RECORD_COLUMNS: &str =
    "id, org, module, owner, layout_id, created_by, modified_by, created_at, modified_at, data, parent_id";

const KEY_COLUMNS: &str = "scope, value, record_id";

impl Baseline {
    /// Copies out what the insert tagged `tag` wrote (the bench's emails end in
    /// `@{tag}.example.com`) and makes the tables to copy it into.
    pub async fn prepare(url: &str, tag: &str) -> anyhow::Result<Baseline> {
        let client = bulkwrite_store_postgres::scratch::client(url).await?;
        // The written records, found by their Email keys, with the whole primary key of each
        // (a probe by `id` alone would scan the index), analysed so that the planner sizes them.
        client
            .batch_execute(&format!(
                "CREATE TEMP TABLE baseline_written AS SELECT s.org, s.module, k.record_id AS id
                     FROM unique_keys k JOIN key_scopes s ON s.id = k.scope
                     WHERE s.field = 'Email' AND k.value LIKE '%@{tag}.example.com';
                 ANALYZE baseline_written;"
            ))
            .await?;
        let records = format!(
            "COPY (SELECT {RECORD_COLUMNS} FROM records WHERE (org, module, id) IN (SELECT org, module, id FROM baseline_written)
                 ORDER BY id) TO STDOUT (FORMAT binary)"
        );
        let (records, record_count) = copy_out(&client, &records).await?;
        let keys = format!(
            "COPY (SELECT {KEY_COLUMNS} FROM unique_keys WHERE record_id IN (SELECT id FROM baseline_written))
                 TO STDOUT (FORMAT binary)"
        );
        let (keys, key_count) = copy_out(&client, &keys).await?;
        client
            .batch_execute(
                "CREATE TABLE baseline_bare (LIKE records INCLUDING DEFAULTS);
                 CREATE TABLE baseline_records (LIKE records INCLUDING ALL);
                 CREATE TABLE baseline_keys (LIKE unique_keys INCLUDING ALL);",
            )
            .await?;
        Ok(Baseline { client, records, keys, record_count, key_count, bare: Vec::new(), schema: Vec::new() })
    }

    /// Times one round: into the bare table, then into bulkwrite's tables in one transaction.
    pub async fn round(&mut self) -> anyhow::Result<()> {
        let client = &self.client;
        client.batch_execute("TRUNCATE baseline_bare, baseline_records, baseline_keys").await?;
        let started = Instant::now();
        copy_in(client, &format!("COPY baseline_bare ({RECORD_COLUMNS}) FROM STDIN (FORMAT binary)"), &self.records)
            .await?;
        self.bare.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        client.batch_execute("BEGIN").await?;
        let records = format!("COPY baseline_records ({RECORD_COLUMNS}) FROM STDIN (FORMAT binary)");
        copy_in(client, &records, &self.records).await?;
        let keys = format!("COPY baseline_keys ({KEY_COLUMNS}) FROM STDIN (FORMAT binary)");
        copy_in(client, &keys, &self.keys).await?;
        client.batch_execute("COMMIT").await?;
        self.schema.push(started.elapsed().as_secs_f64() * 1000.0);
        Ok(())
    }

    /// Drops the tables; returns the best times.
    pub async fn finish(self) -> anyhow::Result<Measured> {
        self.client.batch_execute("DROP TABLE baseline_bare, baseline_records, baseline_keys").await?;
        Ok(Measured {
            records: self.record_count,
            keys: self.key_count,
            rounds: self.bare.len(),
            bare_ms: best(self.bare),
            schema_ms: best(self.schema),
        })
    }
}

/// The best of a baseline's rounds, in milliseconds.
pub struct Measured {
    pub records: u64,
    pub keys: u64,
    pub rounds: usize,
    pub bare_ms: f64,
    pub schema_ms: f64,
}

/// The output of a `COPY … TO STDOUT`, in pieces of [`PIECE`] bytes, and how many rows it held.
/// The database sends a message per row; a hand-written loader sends large ones, as the server
/// does, so the baseline sends pieces of the server's size.
async fn copy_out(client: &Client, statement: &str) -> anyhow::Result<(Vec<Bytes>, u64)> {
    let messages: Vec<Bytes> = client.copy_out(statement).await?.try_collect().await?;
    let stream = Bytes::from(messages.concat());
    let rows = count_binary_rows(&stream).context("reading a binary COPY")?;
    anyhow::ensure!(rows > 0, "the insert wrote no rows to copy ({} bytes)", stream.len());
    let pieces = (0..stream.len()).step_by(PIECE).map(|at| stream.slice(at..(at + PIECE).min(stream.len()))).collect();
    Ok((pieces, rows))
}

/// Sends `pieces` (a whole binary `COPY` stream) to `statement`.
async fn copy_in(client: &Client, statement: &str, pieces: &[Bytes]) -> anyhow::Result<u64> {
    let sink = client.copy_in::<_, Bytes>(statement).await?;
    futures_util::pin_mut!(sink);
    for piece in pieces {
        sink.feed(piece.clone()).await?;
    }
    Ok(sink.finish().await?)
}

/// Rows in a binary `COPY` stream: a 19-byte header, then rows of `i16` field counts, each field
/// an `i32` length (-1 for NULL) and its bytes, ended by a count of -1.
fn count_binary_rows(stream: &[u8]) -> Option<u64> {
    let mut at = 19;
    let mut rows = 0;
    loop {
        let fields = i16::from_be_bytes(stream.get(at..at + 2)?.try_into().ok()?);
        at += 2;
        if fields == -1 {
            return Some(rows);
        }
        for _ in 0..fields {
            let len = i32::from_be_bytes(stream.get(at..at + 4)?.try_into().ok()?);
            at += 4 + usize::try_from(len).unwrap_or(0);
        }
        rows += 1;
    }
}

/// The least of `times` (infinity for none).
pub fn best(times: impl IntoIterator<Item = f64>) -> f64 {
    times.into_iter().fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::count_binary_rows;

    #[test]
    fn counts_rows_of_a_binary_copy_stream() {
        let mut stream = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
        for value in [Some(&b"ab"[..]), None] {
            stream.extend(1i16.to_be_bytes());
            match value {
                Some(bytes) => {
                    stream.extend(2i32.to_be_bytes());
                    stream.extend(bytes);
                }
                None => stream.extend((-1i32).to_be_bytes()),
            }
        }
        stream.extend((-1i16).to_be_bytes());
        assert_eq!(count_binary_rows(&stream), Some(2));
        assert_eq!(count_binary_rows(&stream[..stream.len() - 1]), None);
    }
}
