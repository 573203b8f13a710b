//! `ocimirror cache` and `cache prune`: what the blob cache holds, and
//! trimming it. Which files go is a pure function (`select`); the rest
//! lists the cache and unlinks. Only names are removed: a blob a layout
//! links to stays there, whole, and a partial file a run is writing (it
//! holds the lock) is never touched.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::layout::{open_nofollow, still_named};

/// A partial download untouched this long is abandoned work: removed by
/// any prune (sooner with `--older-than`).
pub const PARTIAL_MAX_AGE: Duration = Duration::from_secs(86_400);
/// Without `--max-size` or `--older-than`, blobs unused this long go.
pub const DEFAULT_UNUSED: Duration = Duration::from_secs(30 * 86_400);

/// One file of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub size: u64,
    /// Last used (its modification time: linking a blob touches it).
    pub used_ms: u64,
    /// A partial download or a temporary file, not a blob.
    pub partial: bool,
}

/// What `ocimirror cache` shows.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheReport {
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub dir: PathBuf,
    pub blobs: usize,
    pub bytes: u64,
    pub partials: usize,
    pub partial_bytes: u64,
}

/// What `cache prune` did (or, with nothing to do, did not).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub dir: PathBuf,
    pub removed_blobs: usize,
    pub removed_partials: usize,
    pub freed_bytes: u64,
    pub kept_blobs: usize,
    pub kept_bytes: u64,
}

/// Which entries to remove: partials older than `PARTIAL_MAX_AGE` (or
/// `older_than`, if shorter); blobs unused for `older_than`; then, past
/// `max_size`, the least recently used until the rest fits. With neither
/// limit, blobs unused for `DEFAULT_UNUSED` go.
pub fn select(
    entries: &[Entry],
    max_size: Option<u64>,
    older_than: Option<Duration>,
    now_ms: u64,
) -> Vec<usize> {
    let older_than = match (max_size, older_than) {
        (None, None) => Some(DEFAULT_UNUSED),
        (_, o) => o,
    };
    let before = |age: Duration| now_ms.saturating_sub(age.as_millis() as u64);
    let partial_age = older_than.map_or(PARTIAL_MAX_AGE, |o| o.min(PARTIAL_MAX_AGE));
    let mut gone: Vec<bool> = entries
        .iter()
        .map(|e| match e.partial {
            true => e.used_ms < before(partial_age),
            false => older_than.is_some_and(|o| e.used_ms < before(o)),
        })
        .collect();
    if let Some(max) = max_size {
        let mut left: u64 =
            entries.iter().zip(&gone).filter(|(_, g)| !**g).map(|(e, _)| e.size).sum();
        let mut by_use: Vec<usize> = (0..entries.len()).filter(|&i| !gone[i]).collect();
        by_use.sort_by_key(|&i| (entries[i].used_ms, entries[i].path.clone()));
        for i in by_use {
            if left <= max {
                break;
            }
            gone[i] = true;
            left -= entries[i].size;
        }
    }
    (0..entries.len()).filter(|&i| gone[i]).collect()
}

/// Every blob, partial and temporary file of the cache at `root`.
pub fn list(root: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut add = |dir: PathBuf, partial: bool| {
        let Ok(entries) = fs::read_dir(&dir) else { return };
        for e in entries.flatten() {
            let Ok(meta) = fs::symlink_metadata(e.path()) else { continue };
            if !meta.is_file() {
                continue;
            }
            let used_ms = meta.modified().map(crate::units::ms_since_epoch).unwrap_or(0);
            out.push(Entry { path: e.path(), size: meta.len(), used_ms, partial });
        }
    };
    for alg in ["sha256", "sha512"] {
        add(root.join("blobs").join(alg), false);
    }
    add(root.join(".ocimirror/partial"), true);
    out
}

pub fn report(root: &Path) -> CacheReport {
    let entries = list(root);
    let (partials, blobs): (Vec<&Entry>, Vec<&Entry>) = entries.iter().partition(|e| e.partial);
    CacheReport {
        dir: root.to_path_buf(),
        blobs: blobs.len(),
        bytes: blobs.iter().map(|e| e.size).sum(),
        partials: partials.len(),
        partial_bytes: partials.iter().map(|e| e.size).sum(),
    }
}

/// Trims the cache at `root`; see `select`.
pub fn prune(root: &Path, max_size: Option<u64>, older_than: Option<Duration>) -> PruneReport {
    let entries = list(root);
    let chosen = select(&entries, max_size, older_than, crate::units::now_ms());
    let mut r = PruneReport {
        dir: root.to_path_buf(),
        removed_blobs: 0,
        removed_partials: 0,
        freed_bytes: 0,
        kept_blobs: 0,
        kept_bytes: 0,
    };
    for (i, e) in entries.iter().enumerate() {
        let removed = chosen.contains(&i) && remove(e);
        match (removed, e.partial) {
            (true, true) => r.removed_partials += 1,
            (true, false) => r.removed_blobs += 1,
            (false, true) => {}
            (false, false) => {
                r.kept_blobs += 1;
                r.kept_bytes += e.size;
            }
        }
        if removed {
            r.freed_bytes += e.size;
        }
    }
    r
}

/// Unlinks one file; a partial only when no run holds its lock.
fn remove(e: &Entry) -> bool {
    if e.partial {
        let Ok(f) = open_nofollow(OpenOptions::new().read(true), &e.path) else { return false };
        if f.try_lock().is_err() || !still_named(&f, &e.path) {
            return false;
        }
    }
    fs::remove_file(&e.path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400_000;

    fn entry(name: &str, size: u64, days_ago: u64, partial: bool) -> Entry {
        Entry { path: PathBuf::from(name), size, used_ms: 100 * DAY - days_ago * DAY, partial }
    }

    #[test]
    fn prune_selects_the_old_then_the_least_recently_used() {
        let entries = [
            entry("a", 100, 40, false),
            entry("b", 100, 10, false),
            entry("c", 100, 1, false),
            entry("p-old", 50, 2, true),
            entry("p-new", 50, 0, true),
        ];
        let names = |chosen: Vec<usize>| {
            chosen.iter().map(|&i| entries[i].path.display().to_string()).collect::<Vec<_>>()
        };
        let now = 100 * DAY;
        let d = |days: u64| Some(Duration::from_millis(days * DAY));
        // (max size, older than) -> removed
        let table: [(Option<u64>, Option<Duration>, &[&str]); 6] = [
            (None, None, &["a", "p-old"]),
            (None, d(5), &["a", "b", "p-old"]),
            (Some(250), None, &["a", "p-old"]),
            (Some(150), None, &["a", "b", "p-old"]),
            (Some(1000), None, &["p-old"]),
            (Some(0), None, &["a", "b", "c", "p-old", "p-new"]),
        ];
        for (max, older, want) in table {
            assert_eq!(names(select(&entries, max, older, now)), want, "{max:?} {older:?}");
        }
    }

    #[test]
    fn prune_never_removes_a_partial_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join(".ocimirror/partial");
        fs::create_dir_all(&partial).unwrap();
        let (held, free) = (partial.join("sha256-aa"), partial.join("sha256-bb"));
        fs::write(&held, b"x").unwrap();
        fs::write(&free, b"y").unwrap();
        let writer = fs::File::open(&held).unwrap();
        writer.lock().unwrap();
        let r = prune(dir.path(), Some(0), None);
        assert_eq!(r.removed_partials, 1);
        assert!(held.exists() && !free.exists());
    }
}
