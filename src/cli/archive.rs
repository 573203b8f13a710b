//! Archives as outputs: `export -o FILE|-` and `pull -o FILE.tar|-`.

use std::path::{Path, PathBuf};

use crate::archive::{self, ArchiveStream, Destination, PendingFile};
use crate::error::Error;
use crate::layout::{Arrivals, Layout};
use crate::pull::ImageOutcome;
use crate::report::ArchiveReport;

/// Where an archive goes: a file (`-o FILE.tar`), through a `PendingFile`
/// so that it appears under its name only when complete, or stdout
/// (`-o -`), which then carries nothing else.
pub(super) enum ArchiveTarget {
    File(PathBuf),
    Stdout,
}

impl ArchiveTarget {
    /// The target `-o` names when it is an archive: `-`, or a `.tar` path.
    pub(super) fn of(output: &Path, json: bool) -> Result<Option<ArchiveTarget>, Error> {
        if output.as_os_str() != "-" {
            let tar = output.extension().is_some_and(|e| e == "tar");
            return Ok(tar.then(|| ArchiveTarget::File(output.to_path_buf())));
        }
        if json {
            return Err(Error::Usage(
                "--json cannot be used with -o -: stdout is the archive (the JSON report needs \
                 -o FILE)"
                    .into(),
            ));
        }
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            return Err(Error::Usage(
                "refusing to write an archive to a terminal: redirect stdout or give -o FILE"
                    .into(),
            ));
        }
        Ok(Some(ArchiveTarget::Stdout))
    }

    /// A temporary layout for a pull into this archive: beside the file
    /// (same filesystem), or in the temporary directory for stdout.
    pub(super) fn layout_dir(&self) -> Result<WorkDir, Error> {
        let parent = match self {
            ArchiveTarget::File(path) => match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            },
            ArchiveTarget::Stdout => std::env::temp_dir(),
        };
        let dir = parent.join(format!(".ocimirror-archive-{:016x}", rand::random::<u64>()));
        std::fs::create_dir(&dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        Ok(WorkDir(dir))
    }

    /// Starts the archive a pull streams into: the pull's layout tells
    /// it of each blob as it is verified (`Streaming::arrivals`).
    pub(super) fn stream(&self) -> Result<Streaming, Error> {
        let (destination, pending) = self.destination()?;
        // The pull's layout is `layout_dir`'s, its own and removed after.
        Ok(Streaming { stream: ArchiveStream::start_from_scratch(destination)?, pending })
    }

    /// Where the bytes go, and for a file the `PendingFile` that names it
    /// once complete.
    fn destination(&self) -> Result<(Destination, Option<PendingFile>), Error> {
        Ok(match self {
            ArchiveTarget::Stdout => (Destination::Stdout, None),
            ArchiveTarget::File(path) => {
                let pending = PendingFile::create(path)?;
                let (file, path) = (pending.writer()?, pending.path().to_path_buf());
                (Destination::Placed { file, path }, Some(pending))
            }
        })
    }

    /// The archive of `names` in `layout` (`export`). Written on a blocking
    /// thread, so that a signal is heard meanwhile (`cli::signals`): the
    /// run is dropped then, and with it the `PendingFile`, which removes
    /// the temporary file.
    pub(super) async fn write_layout(
        &self,
        layout: Layout,
        names: Vec<String>,
    ) -> Result<ArchiveReport, Error> {
        let (destination, pending) = self.destination()?;
        let out = destination.open()?;
        let written = blocking(move || archive::write_archive(&layout, &names, out)).await;
        self.commit(pending, written)
    }

    /// The archive written, under its name: errors say which file.
    fn commit(
        &self,
        pending: Option<PendingFile>,
        written: Result<ArchiveReport, Error>,
    ) -> Result<ArchiveReport, Error> {
        let report = written.map_err(|e| match (e, self) {
            // Said with the file's name: a full disk is worth locating.
            (Error::Io { context, cause }, ArchiveTarget::File(path))
                if context == archive::WRITING =>
            {
                Error::io(format!("cannot write {}", path.display()), cause)
            }
            (other, _) => other,
        })?;
        if let Some(pending) = pending {
            pending.commit()?;
        }
        Ok(report)
    }
}

/// An archive being written while a pull runs.
pub(super) struct Streaming {
    stream: ArchiveStream,
    pending: Option<PendingFile>,
}

impl Streaming {
    pub(super) fn arrivals(&self) -> Arrivals {
        self.stream.arrivals()
    }

    /// Completes the archive with the images pulled into `dir`. When none
    /// was, there is no archive: the file is not created, and stdout
    /// gets a truncated tar (what had arrived), never one that looks
    /// complete.
    pub(super) async fn finish(
        self,
        target: &ArchiveTarget,
        dir: &Path,
        outcomes: &[ImageOutcome],
    ) -> Result<(), Error> {
        let names: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                ImageOutcome::Pulled(r) => Some(r.reference.clone()),
                ImageOutcome::Failed { .. } => None,
            })
            .collect();
        let stream = self.stream;
        if names.is_empty() {
            return blocking(move || {
                stream.abandon();
                Ok(())
            })
            .await;
        }
        let dir = dir.to_path_buf();
        let written = blocking(move || stream.finish(&dir, names)).await;
        target.commit(self.pending, written).map(|_| ())
    }
}

/// A temporary directory, removed with everything in it when dropped.
pub(super) struct WorkDir(PathBuf);

impl WorkDir {
    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Failed(format!("the export stopped: {e}")))?
}
