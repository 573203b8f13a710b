//! Progress bars on a terminal, nothing in a pipe: the pull's observer.
//! Bars go to stderr so stdout stays clean for results and JSON.

use std::collections::HashMap;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::digest::Digest;
use crate::pull::Observer;

pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<Digest, ProgressBar>>,
}

impl Bars {
    /// Bars when stderr is a terminal; `None` otherwise (nothing to draw).
    pub fn on_terminal() -> Option<Bars> {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal().then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)),
            bars: Mutex::default(),
        })
    }

    fn bar(&self, digest: &Digest) -> Option<ProgressBar> {
        self.bars.lock().unwrap_or_else(|e| e.into_inner()).get(digest).cloned()
    }
}

impl Observer for Bars {
    fn blob_started(&self, digest: &Digest, size: u64, offset: u64) {
        let bar = self.multi.add(ProgressBar::new(size));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>14} [{bar:30}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(digest.hex()[..12].to_string());
        bar.set_position(offset);
        self.bars.lock().unwrap_or_else(|e| e.into_inner()).insert(digest.clone(), bar);
    }

    fn blob_progress(&self, digest: &Digest, offset: u64) {
        if let Some(bar) = self.bar(digest) {
            bar.set_position(offset);
        }
    }

    fn blob_finished(&self, digest: &Digest) {
        let bar = self.bars.lock().unwrap_or_else(|e| e.into_inner()).remove(digest);
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
}
