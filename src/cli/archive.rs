//! Archives as outputs: `export -o FILE|-` and `pull -o FILE.tar|-`.

use std::path::{Path, PathBuf};

use crate::archive::{self, PendingFile};
use crate::error::Error;
use crate::layout::Layout;
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

    /// Writes the images pulled into `dir` as the archive; an image that
    /// cannot be written fails the whole archive.
    pub(super) async fn write(
        &self,
        dir: &Path,
        outcomes: &mut [ImageOutcome],
    ) -> Result<(), Error> {
        let names: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                ImageOutcome::Pulled(r) => Some(r.reference.clone()),
                ImageOutcome::Failed { .. } => None,
            })
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        self.write_layout(Layout::existing(dir)?, names).await.map(|_| ())
    }

    /// The archive of `names` in `layout`. Written on a blocking thread, so
    /// that Ctrl-C is heard meanwhile; the `PendingFile` is dropped then,
    /// which removes the temporary file.
    pub(super) async fn write_layout(
        &self,
        layout: Layout,
        names: Vec<String>,
    ) -> Result<ArchiveReport, Error> {
        // Listened for before the temporary file exists: until Ctrl-C has a
        // handler, it kills the process, which would leave the file behind.
        let mut interrupted = Box::pin(tokio::signal::ctrl_c());
        std::future::poll_fn(|cx| {
            let _ = interrupted.as_mut().poll(cx);
            std::task::Poll::Ready(())
        })
        .await;
        let path = match self {
            ArchiveTarget::Stdout => {
                let write = blocking(move || {
                    archive::write_archive(&layout, &names, std::io::stdout().lock())
                });
                return tokio::select! {
                    r = write => r,
                    _ = &mut interrupted => Err(Error::Interrupted),
                };
            }
            ArchiveTarget::File(path) => path,
        };
        let pending = PendingFile::create(path)?;
        let file = pending.writer()?;
        let write = blocking(move || archive::write_archive(&layout, &names, file));
        let written = tokio::select! {
            r = write => r,
            _ = &mut interrupted => return Err(Error::Interrupted),
        };
        let report = written.map_err(|e| match e {
            // Said with the file's name: a full disk is worth locating.
            Error::Io { context, cause } if context == archive::WRITING => {
                Error::io(format!("cannot write {}", path.display()), cause)
            }
            other => other,
        })?;
        pending.commit()?;
        Ok(report)
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
