//! Blobs (uploaded zips, result zips) behind a small trait. A blob appears whole or not at all:
//! it is written to a staging file, synced, then renamed into place.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::error::{StoreError, StoreResult};

/// A blob readable as a local file for as long as this value lives.
#[derive(Debug)]
pub struct LocalBlob {
    path: PathBuf,
    /// A temporary copy (remote stores) that is deleted on drop.
    _temporary: Option<tempfile::TempPath>,
}

impl LocalBlob {
    /// A blob that is a file of the store itself.
    pub fn in_place(path: PathBuf) -> LocalBlob {
        LocalBlob { path, _temporary: None }
    }

    /// A temporary local copy of a remote blob, deleted when dropped.
    pub fn temporary(path: tempfile::TempPath) -> LocalBlob {
        LocalBlob { path: path.to_path_buf(), _temporary: Some(path) }
    }

    /// Where the blob's bytes are on the local disk.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Where blobs live.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// A directory for files being written; files here can be handed to [`BlobStore::put_file`].
    fn staging_dir(&self) -> &Path;
    /// Moves a complete staged file into the store under `key`; returns its size.
    async fn put_file(&self, key: &str, staged: &Path) -> StoreResult<u64>;
    /// A local readable copy of the blob.
    async fn local(&self, key: &str) -> StoreResult<LocalBlob>;
    /// Deletes the blob and frees its space. A blob that is not there is no error, so two
    /// sweepers deleting the same key, or a sweep repeated after a crash, both succeed. A local
    /// copy handed out before stays readable until it is dropped.
    async fn delete(&self, key: &str) -> StoreResult<()>;
}

/// Blobs as files under one directory: the embedded default.
#[derive(Debug, Clone)]
pub struct DirBlobStore {
    root: PathBuf,
    staging: PathBuf,
}

impl DirBlobStore {
    /// Uses `root/blobs` for blobs and `root/staging` for files being written.
    pub fn open(root: &Path) -> std::io::Result<DirBlobStore> {
        let blobs = root.join("blobs");
        let staging = root.join("staging");
        std::fs::create_dir_all(&blobs)?;
        std::fs::create_dir_all(&staging)?;
        Ok(DirBlobStore { root: blobs, staging })
    }

    fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        let valid = !key.is_empty()
            && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
        if !valid {
            return Err(StoreError::NotFound(format!("invalid blob key '{key}'")));
        }
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl BlobStore for DirBlobStore {
    fn staging_dir(&self) -> &Path {
        &self.staging
    }

    async fn put_file(&self, key: &str, staged: &Path) -> StoreResult<u64> {
        let target = self.path_of(key)?;
        let staged = staged.to_path_buf();
        let size = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            let file = std::fs::File::open(&staged)?;
            file.sync_all()?;
            let size = file.metadata()?.len();
            let parent = target.parent().ok_or_else(|| std::io::Error::other("blob key has no parent"))?;
            std::fs::create_dir_all(parent)?;
            std::fs::rename(&staged, &target)?;
            std::fs::File::open(parent)?.sync_all()?;
            Ok(size)
        })
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))??;
        Ok(size)
    }

    async fn local(&self, key: &str) -> StoreResult<LocalBlob> {
        let path = self.path_of(key)?;
        if !tokio::fs::try_exists(&path).await? {
            return Err(StoreError::NotFound(format!("blob {key}")));
        }
        Ok(LocalBlob { path, _temporary: None })
    }

    /// Unlinks the file; a reader that opened it before keeps reading it (POSIX), and the
    /// space returns when the last reader closes it.
    async fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StoreError::Io(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deleted_blob_is_gone_and_deleting_again_is_no_error() {
        let root = tempfile::tempdir().unwrap();
        let blobs = DirBlobStore::open(root.path()).unwrap();
        let staged = blobs.staging_dir().join("upload");
        std::fs::write(&staged, b"PK zip bytes").unwrap();
        blobs.put_file("uploads/1/2.zip", &staged).await.unwrap();
        let reader = blobs.local("uploads/1/2.zip").await.unwrap();
        let open = std::fs::File::open(reader.path()).unwrap();
        blobs.delete("uploads/1/2.zip").await.unwrap();
        assert!(!root.path().join("blobs/uploads/1/2.zip").exists(), "the file is unlinked");
        assert!(matches!(blobs.local("uploads/1/2.zip").await, Err(StoreError::NotFound(_))));
        blobs.delete("uploads/1/2.zip").await.unwrap();
        let mut still = String::new();
        std::io::Read::read_to_string(&mut &open, &mut still).unwrap();
        assert_eq!(still, "PK zip bytes", "a reader that opened it before reads on");
        assert!(blobs.delete("../outside").await.is_err(), "keys stay inside the store");
    }
}
