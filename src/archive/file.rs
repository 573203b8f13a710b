//! An archive file that appears under its name only when complete: it is
//! written to a temporary file beside it (same directory, so the rename is
//! atomic), synced, then renamed over the name. Dropped before `commit`
//! (an error, Ctrl-C), the temporary file is removed; a killed process
//! leaves only a hidden `.NAME.<random>.tmp`, which the next export to the
//! same name removes once it is a minute old and no writer holds its lock.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// A temporary file this old and unlocked was left by a killed export.
const STALE_AGE: Duration = Duration::from_secs(60);

pub struct PendingFile {
    file: File,
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl PendingFile {
    /// Starts writing `target`: creates the temporary file beside it.
    pub fn create(target: &Path) -> Result<PendingFile> {
        let Some(name) = target.file_name().and_then(|n| n.to_str()) else {
            return Err(Error::Usage(format!("{} is not a file name", target.display())));
        };
        if target.is_dir() {
            return Err(Error::Usage(format!(
                "{} is a directory; give the archive's file name",
                target.display()
            )));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        remove_stale(&dir, name);
        let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
        // Created exclusively under a random name: no other writer has it.
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io(format!("cannot create {}", tmp.display()), e))?;
        // Held until the rename, so `remove_stale` of another export leaves it.
        file.lock().map_err(|e| Error::io(format!("cannot lock {}", tmp.display()), e))?;
        Ok(PendingFile { file, tmp, target: target.to_path_buf(), committed: false })
    }

    /// A handle to write the archive through (on another thread, say).
    pub fn writer(&self) -> Result<File> {
        self.file
            .try_clone()
            .map_err(|e| Error::io(format!("cannot open {}", self.tmp.display()), e))
    }

    /// The temporary file, where the archive is written until `commit`.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Makes the archive durable, then gives it its name.
    pub fn commit(mut self) -> Result<()> {
        let what = |verb: &str| format!("cannot {verb} {}", self.tmp.display());
        self.file.sync_all().map_err(|e| Error::io(what("sync"), e))?;
        fs::rename(&self.tmp, &self.target).map_err(|e| {
            let to = self.target.display();
            Error::io(format!("cannot rename {} to {to}", self.tmp.display()), e)
        })?;
        self.committed = true;
        if let Some(dir) = self.target.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            // Best effort: makes the rename itself durable.
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Removes `.NAME.<16 hex>.tmp` files in `dir` that a killed export left:
/// over a minute old and unlocked (a writer holds its lock to the end).
fn remove_stale(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let old = SystemTime::now() - STALE_AGE;
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(random) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        if random.len() != 16 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let path = entry.path();
        let Ok(f) = File::open(&path) else { continue };
        let stale =
            f.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < old) && f.try_lock().is_ok();
        if stale {
            let _ = fs::remove_file(&path);
        }
    }
}
