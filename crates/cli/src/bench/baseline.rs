//! The yardstick, measured in the same run: a hand-written binary `COPY` of the very rows
//! an insert job wrote. The records and keys of the first insert are copied out of the bench's
//! database in PostgreSQL's binary format, then copied back in by this process, timed:
//! - into a bare table shaped like `records` (no index, no key);
//! - into fresh tables built like bulkwrite's `records` and `record_keys` (their indexes, the
//!   unique keys' primary key among them), records and keys in one transaction, which is what a
//!   hand-written loader of the same data into the same schema does.
//!
//! Timing both here, beside the jobs, keeps the ratio honest on a shared machine whose speed
//! drifts from one hour to the next.

use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use futures_util::{SinkExt, TryStreamExt};
use tokio_postgres::Client;

/// What a hand-written `COPY` of the first insert's rows took, in milliseconds (best of the rounds).
pub struct Baseline {
    pub records: u64,
    pub keys: u64,
    pub bare_ms: f64,
    pub schema_ms: f64,
}

const RECORD_COLUMNS: &str =
    "id, org, module, owner, layout_id, created_by, modified_by, created_at, modified_at, data, parent_id";

/// Copies out what the insert tagged `tag` wrote and times copying it back in, `rounds` times.
pub async fn measure(url: &str, tag: &str, rounds: usize) -> anyhow::Result<Baseline> {
    let client = bulkwrite_store_postgres::scratch::client(url).await?;
    // The tag is the bench's own (`run0`); the bench's emails end in `@{tag}.example.com`.
    let like = format!("%@{tag}.example.com");
    let (records, record_count) = copy_out(
        &client,
        &format!(
            "COPY (SELECT {RECORD_COLUMNS} FROM records WHERE id IN
                 (SELECT record_id FROM record_keys WHERE field = 'Email' AND value LIKE '{like}') ORDER BY id)
             TO STDOUT (FORMAT binary)"
        ),
    )
    .await?;
    let (keys, key_count) = copy_out(
        &client,
        &format!(
            "COPY (SELECT org, module, field, value, record_id FROM record_keys
                 WHERE record_id IN (SELECT record_id FROM record_keys WHERE field = 'Email' AND value LIKE '{like}'))
             TO STDOUT (FORMAT binary)"
        ),
    )
    .await?;
    client
        .batch_execute(
            "CREATE TABLE baseline_bare (LIKE records);
             CREATE TABLE baseline_records (LIKE records INCLUDING ALL);
             CREATE TABLE baseline_keys (LIKE record_keys INCLUDING ALL);",
        )
        .await?;
    let mut bare = Vec::new();
    let mut schema = Vec::new();
    for _ in 0..rounds.max(1) {
        client.batch_execute("TRUNCATE baseline_bare, baseline_records, baseline_keys").await?;
        let started = Instant::now();
        copy_in(&client, &format!("COPY baseline_bare ({RECORD_COLUMNS}) FROM STDIN (FORMAT binary)"), &records).await?;
        bare.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        client.batch_execute("BEGIN").await?;
        copy_in(&client, &format!("COPY baseline_records ({RECORD_COLUMNS}) FROM STDIN (FORMAT binary)"), &records)
            .await?;
        copy_in(&client, "COPY baseline_keys (org, module, field, value, record_id) FROM STDIN (FORMAT binary)", &keys)
            .await?;
        client.batch_execute("COMMIT").await?;
        schema.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    client.batch_execute("DROP TABLE baseline_bare, baseline_records, baseline_keys").await?;
    Ok(Baseline { records: record_count, keys: key_count, bare_ms: best(&bare), schema_ms: best(&schema) })
}

/// The output of a `COPY … TO STDOUT`, and how many rows it held.
async fn copy_out(client: &Client, statement: &str) -> anyhow::Result<(Vec<Bytes>, u64)> {
    let pieces: Vec<Bytes> = client.copy_out(statement).await?.try_collect().await?;
    let bytes: usize = pieces.iter().map(Bytes::len).sum();
    let rows = count_binary_rows(&pieces.concat()).context("reading a binary COPY")?;
    anyhow::ensure!(rows > 0, "the insert wrote no rows to copy ({bytes} bytes)");
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

fn best(times: &[f64]) -> f64 {
    times.iter().copied().fold(f64::INFINITY, f64::min)
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
