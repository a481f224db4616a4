//! Leftovers in a staging directory: files of uploads, result zips and blob copies whose writer
//! died (a process killed mid-transfer leaves them; a live one deletes its own on drop).
//!
//! [`sweep`] removes the files of the directory (not below it) that nobody can still be using:
//! at startup every file (the data directory is locked, so no other process writes there), and
//! later only files unmodified for a grace period that this process does not hold open.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Files deleted.
    pub files: u64,
    /// Bytes they held.
    pub bytes: u64,
}

/// Which staged files a sweep may remove.
#[derive(Debug, Clone, Copy)]
pub enum SweepScope {
    /// Every file: nothing is being written (at startup, with the data directory locked).
    Everything,
    /// Files last modified longer ago than this, and not open in this process.
    UnmodifiedFor(Duration),
}

/// Removes the leftover files of `dir` that `scope` allows; a file that vanishes meanwhile or
/// cannot be removed is skipped (the next sweep tries again).
pub fn sweep(dir: &Path, scope: SweepScope) -> std::io::Result<Swept> {
    let open = match scope {
        SweepScope::Everything => HashSet::new(),
        SweepScope::UnmodifiedFor(_) => open_files(),
    };
    let now = SystemTime::now();
    let mut swept = Swept::default();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let Ok(metadata) = entry.metadata() else { continue };
        if !metadata.is_file() {
            continue;
        }
        if let SweepScope::UnmodifiedFor(grace) = scope {
            let age = metadata.modified().ok().and_then(|modified| now.duration_since(modified).ok());
            if age.is_none_or(|age| age < grace) {
                continue;
            }
            let path = entry.path();
            if open.contains(&path) || std::fs::canonicalize(&path).is_ok_and(|real| open.contains(&real)) {
                continue;
            }
        }
        if std::fs::remove_file(entry.path()).is_ok() {
            swept.files += 1;
            swept.bytes += metadata.len();
        }
    }
    Ok(swept)
}

/// The files this process holds open (Linux `/proc/self/fd`; empty elsewhere, where the grace
/// period alone protects a file in use).
fn open_files() -> HashSet<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return HashSet::new() };
    entries.flatten().filter_map(|entry| std::fs::read_link(entry.path()).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path, by: Duration) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - by).unwrap();
    }

    #[test]
    fn old_files_go_recent_and_open_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("upload-old.zip");
        let recent = dir.path().join("upload-recent.zip");
        let held = dir.path().join("result-held.zip");
        for path in [&old, &recent, &held] {
            std::fs::write(path, b"12345").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        age(&old, Duration::from_secs(120));
        age(&held, Duration::from_secs(120));
        let _open = std::fs::File::open(&held).unwrap();

        let swept = sweep(dir.path(), SweepScope::UnmodifiedFor(Duration::from_secs(60))).unwrap();
        assert_eq!(swept, Swept { files: 1, bytes: 5 });
        assert!(!old.exists());
        assert!(recent.exists(), "modified within the grace period");
        assert!(held.exists(), "open in this process");

        let swept = sweep(dir.path(), SweepScope::Everything).unwrap();
        assert_eq!(swept, Swept { files: 2, bytes: 10 });
        assert!(dir.path().join("sub").is_dir(), "directories are left alone");
    }
}
