//! The store and blob store a node runs on, chosen by the database URL: the embedded SQLite file
//! with a blob directory (one node), or a PostgreSQL database holding records, queue and blobs
//! alike (any number of nodes).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use bulkwrite_store::{BlobStore, DirBlobStore, Store};
use bulkwrite_store_postgres::{PgBlobStore, PgStore};
use bulkwrite_store_sqlite::{SqliteSettings, SqliteStore};
use bulkwrite_worker::Wakeup;

use crate::config::Database;

/// An opened backend.
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    /// Set on PostgreSQL, whose notifications wake this node's worker.
    postgres: Option<PgStore>,
}

impl Backend {
    /// Opens the store and the blobs; `sqlite` tunes the SQLite store.
    pub async fn open(database: &Database, data_dir: &Path, sqlite: SqliteSettings) -> anyhow::Result<Backend> {
        match database {
            Database::Sqlite(path) => {
                let store = SqliteStore::open_with(path, sqlite).await.context("opening the database")?;
                let blobs = DirBlobStore::open(data_dir).context("opening the blob directory")?;
                Ok(Backend { store: Arc::new(store), blobs: Arc::new(blobs), postgres: None })
            }
            Database::Postgres(url) => {
                let store = PgStore::connect(url).await.context("connecting to PostgreSQL")?;
                let staging = data_dir.join("staging");
                let blobs = PgBlobStore::new(&store, &staging)
                    .with_context(|| format!("creating the staging directory {}", staging.display()))?;
                Ok(Backend { store: Arc::new(store.clone()), blobs: Arc::new(blobs), postgres: Some(store) })
            }
        }
    }

    /// Which backend, for logs.
    pub fn name(&self) -> &'static str {
        if self.postgres.is_some() {
            "postgresql"
        } else {
            "sqlite"
        }
    }

    /// On PostgreSQL, rings `wakeup` when any node queues a job or a callback, or announces a
    /// job change (LISTEN/NOTIFY);
    /// the worker's slow poll remains the fallback.
    pub fn listen(&self, wakeup: &Wakeup) -> Option<tokio::task::JoinHandle<()>> {
        let store = self.postgres.as_ref()?;
        Some(store.listen(Arc::clone(&wakeup.jobs), Arc::clone(&wakeup.callbacks), Arc::clone(&wakeup.changes)))
    }
}
