//! The user's cache directory (`$XDG_CACHE_HOME/ocimirror`, else
//! `~/.cache/ocimirror`; `--cache-dir` and `$OCIMIRROR_CACHE_DIR` move it):
//! host memory in `hosts.json`, and the shared blob cache in `blobs/`
//! (`--cache DIR` moves it alone, `--no-cache` turns it off).
//!
//! `CacheSettings` is what the command line decided; it opens what a
//! command needs: a session seeded from memory, the merge of what the run
//! learned, the blob cache.

mod blobs;
pub mod prune;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use blobs::{BlobCache, Linked};

use crate::config::Config;
use crate::error::Result;
use crate::fetch::Session;
use crate::memory::{Memory, MemoryFile};

/// Where the cache is, and how a run uses it.
#[derive(Clone, Debug, Default)]
pub struct CacheSettings {
    /// The cache directory: `None` when no home directory can be found.
    pub dir: Option<PathBuf>,
    /// The blob cache's directory; `None` with `--no-cache`.
    pub blobs: Option<PathBuf>,
    /// `--fresh`: this run starts from no memory (what it learns is kept).
    pub fresh: bool,
    /// `--verify-cache`: re-hash a cached blob before linking it.
    pub verify: bool,
}

/// `$XDG_CACHE_HOME/ocimirror` (`~/.cache/ocimirror`) on Linux.
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "ocimirror").map(|d| d.cache_dir().to_path_buf())
}

impl CacheSettings {
    /// From the flags: `dir` (`--cache-dir`), `blobs` (`--cache`),
    /// `--no-cache`, `--fresh`, `--verify-cache`.
    pub fn new(
        dir: Option<PathBuf>,
        blobs: Option<PathBuf>,
        no_cache: bool,
        fresh: bool,
        verify: bool,
    ) -> CacheSettings {
        let dir = dir.or_else(default_dir);
        let blobs = match no_cache {
            true => None,
            false => blobs.or_else(|| dir.as_ref().map(|d| d.join("blobs"))),
        };
        CacheSettings { dir, blobs, fresh, verify }
    }

    /// The host memory's file, when there is a cache directory.
    pub fn memory_file(&self) -> Option<MemoryFile> {
        self.dir.as_deref().map(MemoryFile::new)
    }

    /// What earlier runs remembered (nothing with `--fresh`).
    pub fn memory(&self) -> Memory {
        match (&self.memory_file(), self.fresh) {
            (Some(file), false) => file.read(),
            _ => Memory::default(),
        }
    }

    /// A session that starts from host memory.
    pub fn session(&self, config: Config) -> Arc<Session> {
        Arc::new(Session::with_memory(config, self.memory()))
    }

    /// Merges what the run observed into the memory. A failure to write
    /// it is a warning, never the run's failure.
    pub fn remember(&self, session: &Session) {
        let Some(file) = self.memory_file() else { return };
        let seen = session.observations();
        if seen.is_empty() {
            return;
        }
        let ttls = session.config.memory;
        let merged = file.update(|memory| {
            for (host, observation, at) in &seen {
                memory.observe(host, observation, &ttls, *at);
            }
        });
        if let Err(e) = merged {
            tracing::warn!("host memory not saved: {e}");
        }
    }

    /// The blob cache, opened (and created) when it is on.
    pub fn blob_cache(&self) -> Result<Option<BlobCache>> {
        self.blobs.as_deref().map(|dir| BlobCache::open(dir, self.verify)).transpose()
    }

    /// The blob cache's directory, for messages.
    pub fn blobs_dir(&self) -> Option<&Path> {
        self.blobs.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_decide_where_the_cache_is() {
        let d = |s: &str| Some(PathBuf::from(s));
        // (--cache-dir, --cache, --no-cache) -> (memory dir, blobs dir)
        let table = [
            (d("/c"), None, false, d("/c"), d("/c/blobs")),
            (d("/c"), d("/b"), false, d("/c"), d("/b")),
            (d("/c"), d("/b"), true, d("/c"), None),
            (d("/c"), None, true, d("/c"), None),
        ];
        for (dir, blobs, no_cache, want_dir, want_blobs) in table {
            let s = CacheSettings::new(dir.clone(), blobs.clone(), no_cache, false, false);
            assert_eq!((s.dir, s.blobs), (want_dir, want_blobs), "{dir:?} {blobs:?} {no_cache}");
        }
    }
}
