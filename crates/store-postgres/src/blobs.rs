//! Blobs in PostgreSQL: every node reads the same uploads and result files, with nothing but
//! the database to operate. A blob is rows of 256 KiB chunks (older blobs: 1 MiB; any size
//! reads), written in one transaction, so it
//! appears whole or not at all; readers get a temporary local copy.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bulkwrite_store::{BlobStore, LocalBlob, StoreError, StoreResult};
use futures_util::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::types::ToSql;

use crate::statements::{execute, get};
use crate::{pg_error, PgStore};

/// Bytes per stored chunk. With 1 MiB chunks a 1,000,000-row export (a 93 MiB file) peaked at
/// 126–137 MiB, 25–40 of them gained while the file was stored (most likely the driver's 1 MiB
/// message buffers, freed faster than the allocator returned them: with mimalloc purging at
/// once the peak was 113–116); with 256 KiB chunks it peaks at 74–81 MiB (docs/PERFORMANCE.md).
const CHUNK_BYTES: usize = 256 * 1024;

/// Blobs kept in the database of a [`PgStore`], with a local directory for files being
/// written and for the temporary copies readers get.
#[derive(Clone)]
pub struct PgBlobStore {
    store: PgStore,
    staging: PathBuf,
}

impl PgBlobStore {
    /// Blobs in `store`'s database; `staging` is a local directory (created if missing) for
    /// files being written and for local copies.
    pub fn new(store: &PgStore, staging: &Path) -> std::io::Result<PgBlobStore> {
        std::fs::create_dir_all(staging)?;
        Ok(PgBlobStore { store: store.clone(), staging: staging.to_path_buf() })
    }
}

/// Keys are relative paths of letters, digits and `-_.`, like the directory store's.
fn check_key(key: &str) -> StoreResult<()> {
    let valid = !key.is_empty()
        && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if !valid {
        return Err(StoreError::NotFound(format!("invalid blob key '{key}'")));
    }
    Ok(())
}

#[async_trait]
impl BlobStore for PgBlobStore {
    fn staging_dir(&self) -> &Path {
        &self.staging
    }

    /// Streams the staged file in, [`CHUNK_BYTES`] at a time, replacing any blob of that key in the same
    /// transaction; the staged file is removed once the blob is committed. Up to [`IN_FLIGHT`]
    /// chunks' inserts are sent before the first is answered (pipelined): the database stores one
    /// while the next is read from the file and sent, instead of waiting for it.
    async fn put_file(&self, key: &str, staged: &Path) -> StoreResult<u64> {
        check_key(key)?;
        let file = tokio::fs::File::open(staged).await?;
        let mut conn = self.store.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        // Writers of one key take turns, so a replacement never meets the other's chunks.
        execute(&tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key]).await?;
        execute(&tx, "DELETE FROM blobs WHERE key = $1", &[&key]).await?;
        let insert = tx
            .prepare_cached("INSERT INTO blobs (key, chunk_no, bytes) VALUES ($1, $2, $3)")
            .await
            .map_err(pg_error)?;
        let (sending, insert) = (&tx, &insert);
        let size = pieces(file)
            .map_ok(|(chunk_no, bytes)| async move {
                let params: [&(dyn ToSql + Sync); 3] = [&key, &chunk_no, &bytes.as_slice()];
                sending.execute(insert, &params).await.map_err(pg_error)?;
                Ok(bytes.len() as u64)
            })
            .try_buffered(IN_FLIGHT)
            .try_fold(0u64, |size, stored| async move { Ok::<u64, StoreError>(size + stored) })
            .await?;
        tx.commit().await.map_err(pg_error)?;
        tokio::fs::remove_file(staged).await?;
        Ok(size)
    }

    /// Streams the chunks, in one snapshot, into a temporary file in the staging directory.
    async fn local(&self, key: &str) -> StoreResult<LocalBlob> {
        check_key(key)?;
        let conn = self.store.conn().await?;
        let statement =
            conn.prepare_cached("SELECT bytes FROM blobs WHERE key = $1 ORDER BY chunk_no").await.map_err(pg_error)?;
        let params: [&(dyn ToSql + Sync); 1] = [&key];
        let rows = conn.query_raw(&statement, params).await.map_err(pg_error)?;
        let mut rows = std::pin::pin!(rows);
        let staging = self.staging.clone();
        let named = tokio::task::spawn_blocking(move || tempfile::Builder::new().prefix(".blob-").tempfile_in(staging))
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))??;
        let (file, path) = named.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let mut found = false;
        while let Some(row) = rows.try_next().await.map_err(pg_error)? {
            found = true;
            let bytes: &[u8] = get(&row, 0)?;
            file.write_all(bytes).await?;
        }
        if !found {
            return Err(StoreError::NotFound(format!("blob {key}")));
        }
        file.flush().await?;
        Ok(LocalBlob::temporary(path))
    }

    /// Deletes the chunks in one statement (under the key's advisory lock, so it never meets a
    /// writer of the same key half-way); PostgreSQL reuses their space once vacuumed.
    async fn delete(&self, key: &str) -> StoreResult<()> {
        check_key(key)?;
        let mut conn = self.store.conn().await?;
        let tx = conn.transaction().await.map_err(pg_error)?;
        execute(&tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key]).await?;
        execute(&tx, "DELETE FROM blobs WHERE key = $1", &[&key]).await?;
        tx.commit().await.map_err(pg_error)
    }
}

/// Chunks of a blob's [`put_file`](BlobStore::put_file) sent before the first is answered. Each
/// holds a [`CHUNK_BYTES`] buffer, and the driver a copy of it while it is sent.
const IN_FLIGHT: usize = 4;

/// The file's chunks, numbered from 0, read one after another as they are asked for. An empty
/// file is one empty chunk, so that it still exists.
fn pieces(file: tokio::fs::File) -> impl futures_util::Stream<Item = StoreResult<(i32, Vec<u8>)>> {
    futures_util::stream::try_unfold((file, 0i32, false), |(mut file, chunk_no, ended)| async move {
        if ended {
            return Ok(None);
        }
        let mut buffer = vec![0u8; CHUNK_BYTES];
        let filled = fill(&mut file, &mut buffer).await?;
        if filled == 0 && chunk_no > 0 {
            return Ok(None);
        }
        buffer.truncate(filled);
        Ok(Some(((chunk_no, buffer), (file, chunk_no + 1, filled < CHUNK_BYTES))))
    })
}

/// Reads until `buffer` is full or the file ends; returns the bytes read.
async fn fill(file: &mut tokio::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let read = file.read(&mut buffer[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}
