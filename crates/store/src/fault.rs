//! A fault seam for tests of a full disk: [`DiskFullSwitch`] wraps a blob store and fails every
//! write with "no space left on device" while a switch file exists, so an end-to-end test can
//! fill the disk and free it again without a small file system.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use crate::blob::{BlobStore, LocalBlob};
use crate::error::{StoreError, StoreResult};

/// A blob store whose writes fail as on a full disk while `switch` exists.
pub struct DiskFullSwitch {
    inner: Arc<dyn BlobStore>,
    switch: PathBuf,
}

impl DiskFullSwitch {
    /// Wraps `inner`; writes fail while the file `switch` exists.
    pub fn new(inner: Arc<dyn BlobStore>, switch: PathBuf) -> DiskFullSwitch {
        DiskFullSwitch { inner, switch }
    }
}

#[async_trait]
impl BlobStore for DiskFullSwitch {
    fn staging_dir(&self) -> &Path {
        self.inner.staging_dir()
    }

    async fn put_file(&self, key: &str, staged: &Path) -> StoreResult<u64> {
        if tokio::fs::try_exists(&self.switch).await.unwrap_or(false) {
            return Err(StoreError::Io(std::io::Error::from_raw_os_error(28)));
        }
        self.inner.put_file(key, staged).await
    }

    async fn local(&self, key: &str) -> StoreResult<LocalBlob> {
        self.inner.local(key).await
    }

    /// Deleting frees space, so a full disk never stops it.
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner.delete(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::DirBlobStore;

    #[tokio::test]
    async fn writes_fail_as_disk_full_while_the_switch_exists() {
        let dir = tempfile::tempdir().unwrap();
        let switch = dir.path().join("full");
        let blobs = DiskFullSwitch::new(Arc::new(DirBlobStore::open(dir.path()).unwrap()), switch.clone());
        let staged = blobs.staging_dir().join("a");
        std::fs::write(&staged, b"abc").unwrap();
        std::fs::write(&switch, b"").unwrap();
        let error = blobs.put_file("k/a", &staged).await.unwrap_err();
        assert!(error.is_disk_full(), "{error:?}");
        assert_eq!(error.named_cause(), "disk full");
        std::fs::remove_file(&switch).unwrap();
        assert_eq!(blobs.put_file("k/a", &staged).await.unwrap(), 3);
    }
}
