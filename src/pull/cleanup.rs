//! Ctrl-C: the partial files of downloads this process started and did not
//! finish are removed (a killed process leaves them, and the next run
//! resumes them).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::digest::Digest;
use crate::layout::Layout;

/// The layout, the digests being written into it, and whether cleanup
/// has begun (then no new download may start).
#[derive(Default)]
struct Unfinished {
    layout: Option<Layout>,
    digests: HashSet<Digest>,
    stopped: bool,
}

/// Digests this process started writing, so Ctrl-C can remove them.
#[derive(Default, Clone)]
pub struct Cleanup(Arc<Mutex<Unfinished>>);

impl Cleanup {
    /// Records a download about to write `d`; false once cleanup has begun
    /// (the caller must then remove what it opened itself).
    pub(super) fn note(&self, layout: &Layout, d: &Digest) -> bool {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if g.stopped {
            return false;
        }
        g.layout.get_or_insert_with(|| layout.clone());
        g.digests.insert(d.clone());
        true
    }

    pub(super) fn done(&self, d: &Digest) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).digests.remove(d);
    }

    /// Removes the partial files of downloads that never finished.
    pub fn run(&self) {
        // Taken out, so downloads still stopping on other threads are not
        // held up on the lock (and new ones see `stopped`).
        let (layout, digests) = {
            let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
            g.stopped = true;
            (g.layout.take(), std::mem::take(&mut g.digests))
        };
        let Some(layout) = layout else { return };
        // Time for this process's downloads, aborted but maybe in the
        // middle of a write or an fsync on another thread, to stop and let
        // go of the files' locks.
        let deadline = Instant::now() + std::time::Duration::from_secs(1);
        for d in digests {
            layout.discard_partial(&d, deadline);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_cleanup_has_run_no_download_may_start() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let cleanup = Cleanup::default();
        let (a, b) = (Digest::sha256(b"a"), Digest::sha256(b"b"));
        assert!(cleanup.note(&layout, &a));
        // A download of `a` that stopped (its writer dropped) left a file.
        drop(layout.begin(&a, 1).unwrap());
        let partial = dir.path().join(format!(".ocimirror/partial/sha256-{}", a.hex()));
        assert!(partial.exists());
        cleanup.run();
        assert!(!partial.exists(), "cleanup removes what was noted");
        assert!(!cleanup.note(&layout, &b), "a download starting now must clean up itself");
    }
}
