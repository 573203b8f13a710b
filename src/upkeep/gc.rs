//! `ocimirror gc DIR [--dry-run]`: removes the blobs no image in index.json
//! refers to (an image replaced under its name leaves its old layers), and
//! the partial downloads and temporary files no run is writing.
//!
//! It runs with no pull in the layout (`Layout::for_gc`: pulls hold a
//! shared lock while they write), so a blob a pull has placed but not yet
//! named in index.json is never taken for an orphan. It only unlinks: a
//! blob that is also the blob cache's (a hard link) stays there. When an
//! image's manifest is missing or broken, what it refers to cannot be
//! known, so gc refuses rather than guess (`verify` says what is wrong).

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Broken, blob_files, index_entries, walk};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layout::{Layout, open_nofollow, still_named};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcReport {
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub dir: PathBuf,
    pub dry_run: bool,
    /// Blobs no image refers to: removed (or, with `--dry-run`, to be).
    pub blobs: Vec<Removed>,
    /// Partial downloads and temporary files no run holds.
    pub work_files: Vec<String>,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    pub digest: Digest,
    pub size: u64,
}

pub fn gc(dir: &Path, dry_run: bool) -> Result<GcReport> {
    let (layout, _no_pulls) = Layout::for_gc(dir)?;
    let entries = index_entries(&layout)
        .map_err(|why| Error::Invalid(format!("{why}; gc removes nothing")))?;
    let mut live: HashSet<Digest> = HashSet::new();
    for (d, broken) in walk(&layout, entries) {
        let unknown = match &broken {
            Some(Broken::BadManifest(_) | Broken::TooDeep) => true,
            Some(Broken::Missing) => d.media_type.is_manifest(),
            _ => false,
        };
        if unknown {
            return Err(Error::Invalid(format!(
                "manifest {} cannot be read, so what it refers to is unknown; gc removes nothing \
                 (run `ocimirror verify {}`, then pull the image again)",
                d.digest,
                dir.display()
            )));
        }
        live.insert(d.digest);
    }
    let mut report = GcReport {
        dir: dir.to_path_buf(),
        dry_run,
        blobs: Vec::new(),
        work_files: Vec::new(),
        bytes: 0,
    };
    for f in blob_files(dir) {
        let Some(digest) = f.digest else { continue };
        if live.contains(&digest) || (!dry_run && fs::remove_file(&f.path).is_err()) {
            continue;
        }
        report.bytes += f.size;
        report.blobs.push(Removed { digest, size: f.size });
    }
    for path in unheld_work_files(&layout.work_dir()) {
        if dry_run || fs::remove_file(&path).is_ok() {
            report.work_files.push(path.display().to_string());
        }
    }
    Ok(report)
}

/// Files of `.ocimirror/partial` whose lock nobody holds. (No pull runs
/// now, but a stuck process of another kind might still hold one.)
fn unheld_work_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let Ok(f) = open_nofollow(OpenOptions::new().read(true), p) else { return false };
            f.metadata().is_ok_and(|m| m.is_file()) && f.try_lock().is_ok() && still_named(&f, p)
        })
        .collect();
    out.sort();
    out
}
