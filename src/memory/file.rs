//! `hosts.json` in the cache directory: read at the start of a run, and
//! merged at its end under `hosts.lock` (read, merge, atomic replace), so
//! that many runs at once lose no one's lesson. As in the layout, nothing
//! is followed through a symbolic link, the file is bounded when read, and
//! a file that does not parse is treated as empty (and then replaced):
//! memory is an optimisation, never a reason for a run to fail.

use std::fs::{self, File, OpenOptions};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Memory;
use crate::error::{Error, Result};
use crate::layout::{open_nofollow, open_own_lock, real_dir, sync_dir, write_atomic};

/// The most bytes of `hosts.json` read (`MAX_HOSTS` hosts with a few
/// facts each take well under this).
const MAX_FILE: u64 = 1 << 20;
/// How long a run waits for another's merge before giving up on its own
/// (the merge takes a millisecond; a holder this slow is stuck).
const LOCK_WAIT: Duration = Duration::from_secs(5);

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    #[serde(flatten)]
    memory: Memory,
}

use serde::{Deserialize, Serialize};

/// The memory's file in one cache directory.
#[derive(Clone, Debug)]
pub struct MemoryFile {
    dir: PathBuf,
}

impl MemoryFile {
    pub fn new(dir: &Path) -> MemoryFile {
        MemoryFile { dir: dir.to_path_buf() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("hosts.json")
    }

    /// What earlier runs left; empty when there is nothing (or nothing usable).
    pub fn read(&self) -> Memory {
        let path = self.path();
        let Ok(file) = open_nofollow(OpenOptions::new().read(true), &path) else {
            return Memory::default();
        };
        match read_bounded(file) {
            Some(bytes) => match serde_json::from_slice::<OnDisk>(&bytes) {
                Ok(d) if d.version == 1 => d.memory,
                Ok(_) | Err(_) => {
                    tracing::debug!(
                        "{}: not a memory file of this version; ignored",
                        path.display()
                    );
                    Memory::default()
                }
            },
            None => Memory::default(),
        }
    }

    /// Reads, changes and replaces the file, under its lock.
    pub fn update<T>(&self, change: impl FnOnce(&mut Memory) -> T) -> Result<T> {
        fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io(format!("cannot create {}", self.dir.display()), e))?;
        real_dir(&self.dir)?;
        let lock = open_own_lock(&self.dir.join("hosts.lock"))?;
        lock_within(&lock, LOCK_WAIT).map_err(|why| {
            Error::Failed(format!("{}: {why}", self.dir.join("hosts.lock").display()))
        })?;
        let mut memory = self.read();
        let out = change(&mut memory);
        memory.tidy(crate::units::now_ms());
        let bytes = serde_json::to_vec_pretty(&OnDisk { version: 1, memory })
            .map_err(|e| Error::Failed(format!("cannot encode the host memory: {e}")))?;
        write_atomic(&self.path(), &self.dir, &bytes)?;
        sync_dir(&self.dir);
        drop(lock);
        Ok(out)
    }
}

fn read_bounded(file: File) -> Option<Vec<u8>> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Takes an exclusive lock, waiting at most `wait`.
pub(crate) fn lock_within(file: &File, wait: Duration) -> Result<(), String> {
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(format!("still locked by another process after {wait:?}"));
            }
            Err(fs::TryLockError::Error(e)) => return Err(format!("cannot lock: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FactKind, Observation, Ttls};
    use super::*;

    #[test]
    fn concurrent_merges_lose_no_host_and_junk_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = MemoryFile::new(dir.path());
        assert_eq!(file.read(), Memory::default(), "no file yet");
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let file = file.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let seen = Observation::Learned {
                            kind: FactKind::RejectsNs,
                            why: "x".into(),
                            wait: None,
                        };
                        let now = crate::units::now_ms();
                        file.update(|m| {
                            m.observe(&format!("http://t{t}-{i}"), &seen, &Ttls::default(), now)
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(file.read().hosts.len(), 60);
        std::fs::write(file.path(), b"{not json").unwrap();
        assert_eq!(file.read(), Memory::default());
        file.update(|_| ()).unwrap();
        assert_eq!(file.read(), Memory::default(), "replaced by a good file");
        // A link planted at its name is not read through.
        std::fs::remove_file(file.path()).unwrap();
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, br#"{"version":1,"hosts":{"http://x":[]}}"#).unwrap();
        std::os::unix::fs::symlink(&elsewhere, file.path()).unwrap();
        assert_eq!(file.read(), Memory::default());
    }
}
