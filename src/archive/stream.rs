//! An archive written while its images are pulled (`pull -o FILE.tar|-`).
//!
//! Each blob goes into the tar as soon as it has its name in the pull's
//! scratch layout (so: verified), while the others still download; the
//! small files, which need every image, go last, with any blob the plan
//! names that was not announced. Written after the pull instead, the
//! archive cost the whole pull again in copying (1.5x a layout pull,
//! measured): now the copy overlaps the downloads. Into a file
//! (`Destination::Placed`), layers are not copied at all: they download
//! straight to their place in the tar (`Regions`), and the writer thread
//! copies only what the layout names (manifests, configs, blobs the cache
//! linked), each entry where `Regions` allotted it.
//!
//! Readers take a tar's entries in any order: docker and podman unpack the
//! whole archive before reading it, and containerd's import collects
//! `index.json` and the blobs as they come. Blobs of an image that failed
//! in a batch may be in the archive, unnamed (readers ignore them).
//!
//! The writing runs on a thread of its own, fed through a channel, so the
//! pull's tasks never wait for the output (a slow `docker load` on the
//! other end of the pipe): what arrives meanwhile waits in the channel as
//! digests and paths, never as bytes.
//!
//! From a pull's scratch layout (`start_from_scratch`), a blob too big to
//! be read back leaves the layout once it is in the archive: `-o -` then
//! needs disk for the blobs in flight rather than for the whole image,
//! and the scratch layout's removal at the end, on the critical path,
//! frees almost nothing (for 500 MiB of layers it took 33 ms of a 0.5 s
//! pull, measured). Only small blobs are read back (manifests by `plan`
//! and the pull, configs by the pull); of every other blob, its presence
//! is what counts (`Streamed`).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread;

use super::regions::Regions;
use super::write::{Output, Tar};
use super::{Rehash, metadata, plan, report};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::Platform;
use crate::layout::{Arrivals, Layout, Placement, Room};
use crate::report::ArchiveReport;

/// Where an archive goes.
pub enum Destination {
    /// An open file, written front to back.
    File(File),
    /// The file at `path` (a `PendingFile`'s), open as `file`: a pull
    /// writes its layers into it directly, each where it will be in the
    /// tar (see `Regions`), rather than copying them in once verified.
    Placed {
        file: File,
        path: PathBuf,
    },
    Stdout,
}

impl Destination {
    /// The output to write. Stdout as a `File` of its own descriptor: std's
    /// `Stdout` is line-buffered (a write at every newline byte of a blob)
    /// and never gets the kernel's copies.
    pub fn open(self) -> Result<File> {
        match self {
            Destination::File(file) | Destination::Placed { file, .. } => Ok(file),
            Destination::Stdout => {
                let out = std::io::stdout()
                    .as_fd()
                    .try_clone_to_owned()
                    .map(File::from)
                    .map_err(|e| Error::io("cannot write to stdout", e))?;
                widen_pipe(&out);
                Ok(out)
            }
        }
    }
}

enum Message {
    Arrived { digest: Digest, size: u64, path: PathBuf },
    Finish { layout: PathBuf, names: Vec<String> },
    Abandon,
}

/// The archive being written. Abandoned (or dropped without `finish`), it
/// never gets the end-of-archive blocks, so a reader sees a truncated tar,
/// never one that looks complete.
pub struct ArchiveStream {
    messages: mpsc::Sender<Message>,
    worker: thread::JoinHandle<Result<ArchiveReport>>,
    /// Where placed layers go (`Destination::Placed`).
    regions: Option<Arc<Regions>>,
}

impl ArchiveStream {
    pub fn start(destination: Destination) -> Result<ArchiveStream> {
        ArchiveStream::starting(destination, false)
    }

    /// `start`, for a layout of the pull's own that nobody else reads:
    /// the blobs that are never read back leave it once in the archive.
    pub fn start_from_scratch(destination: Destination) -> Result<ArchiveStream> {
        ArchiveStream::starting(destination, true)
    }

    fn starting(destination: Destination, scratch: bool) -> Result<ArchiveStream> {
        let (messages, received) = mpsc::channel();
        let (tar, regions) = match destination {
            Destination::Placed { file, path } => {
                let regions = Arc::new(Regions::open(path)?);
                (Tar::in_regions(file, Arc::clone(&regions))?, Some(regions))
            }
            other => (Tar::new(other.open()?), None),
        };
        let placed = regions.clone();
        // Placed layers never were in the layout: nothing to take out.
        let scratch = scratch && regions.is_none();
        let work = move || write(tar, received, placed, scratch);
        let worker = thread::Builder::new()
            .name("archive".into())
            .spawn(work)
            .map_err(|e| Error::Failed(format!("cannot start writing the archive: {e}")))?;
        Ok(ArchiveStream { messages, worker, regions })
    }

    /// What the pull's layout tells of each blob it names, and where its
    /// layers go when the archive takes them directly.
    pub fn arrivals(&self) -> Arrivals {
        let messages = self.messages.clone();
        let arrivals = Arrivals::new(move |digest, size, path| {
            let (digest, path) = (digest.clone(), path.to_path_buf());
            // Gone only when the writer stopped on an error: `finish` says it.
            let _ = messages.send(Message::Arrived { digest, size, path });
        });
        match &self.regions {
            Some(regions) => arrivals.placing(Arc::clone(regions) as _),
            None => arrivals,
        }
    }

    /// Completes the archive of the images `names` in the layout at
    /// `layout`: the blobs not yet in it, then the small files. Blocks
    /// until the archive is written.
    pub fn finish(self, layout: &Path, names: Vec<String>) -> Result<ArchiveReport> {
        // Refused only if the writer stopped: its result says why.
        let _ = self.messages.send(Message::Finish { layout: layout.to_path_buf(), names });
        self.worker
            .join()
            .unwrap_or_else(|_| Err(Error::Failed("writing the archive failed".into())))
    }

    /// Stops the archive short (no image to put in it); returns once
    /// nothing more is written.
    pub fn abandon(self) {
        let _ = self.messages.send(Message::Abandon);
        let _ = self.worker.join();
    }
}

/// The largest blob a layout is asked to read back: a manifest (`plan`,
/// the pull) or a config (the pull reads its platform), both small blobs.
const READ_BACK_MAX: u64 = crate::small_blob::MAX_SMALL_BLOB;

/// The blobs taken out of a scratch layout once in the archive, by digest
/// with their sizes: present, as the archive has them.
#[derive(Default)]
struct Streamed(HashMap<Digest, u64>);

impl Placement for Streamed {
    /// Nothing is placed: every blob went to the layout first.
    fn reserve(&self, _: &Digest, _: u64) -> Result<Option<Room>> {
        Ok(None)
    }

    fn placed(&self, _: &Digest) -> Result<()> {
        Ok(())
    }

    fn holds(&self, digest: &Digest, size: u64) -> bool {
        self.0.get(digest) == Some(&size)
    }
}

/// A pipe's buffer, made 1 MiB (Linux's default is 64 KiB): the reader
/// (`docker load`, `tar`) then wakes once per MiB, not once per 64 KiB.
/// Best effort: not a pipe, or over the system's limit, it stays as it is.
#[cfg(target_os = "linux")]
fn widen_pipe(out: &File) {
    use std::os::fd::AsRawFd as _;
    // SAFETY: fcntl on a descriptor `out` keeps open; no memory is passed.
    unsafe {
        libc::fcntl(out.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

#[cfg(not(target_os = "linux"))]
fn widen_pipe(_out: &File) {}

/// The writer's loop: each blob once, as it arrives, until `Finish`.
/// With `scratch`, a blob that is never read back is removed from the
/// layout once written.
fn write<W: Output>(
    mut tar: Tar<W>,
    messages: mpsc::Receiver<Message>,
    regions: Option<Arc<Regions>>,
    scratch: bool,
) -> Result<ArchiveReport> {
    let mut written: HashSet<Digest> = HashSet::new();
    let mut taken = Streamed::default();
    for message in messages {
        match message {
            Message::Arrived { digest, size, path } => {
                if !written.contains(&digest) {
                    tar.blob(&path, &digest, size, Rehash::No)?;
                    if scratch && size > READ_BACK_MAX && std::fs::remove_file(&path).is_ok() {
                        taken.0.insert(digest.clone(), size);
                    }
                    written.insert(digest);
                }
            }
            Message::Finish { layout, names } => {
                let mut layout = Layout::existing(&layout)?;
                if let Some(regions) = regions {
                    layout = layout.with_placement(regions);
                } else if !taken.0.is_empty() {
                    layout = layout.with_placement(Arc::new(taken));
                }
                return complete(tar, &layout, &names, &written);
            }
            Message::Abandon => break,
        }
    }
    Err(Error::Interrupted)
}

/// What the archive still needs once every image is in `layout` (or its
/// layers placed in the archive): once the rooms of layers never placed
/// are closed up, the blobs not in it yet, then the small files.
fn complete<W: Output>(
    mut tar: Tar<W>,
    layout: &Layout,
    names: &[String],
    written: &HashSet<Digest>,
) -> Result<ArchiveReport> {
    let plan = plan::plan(layout, names, &Platform::host())?;
    tar.close_up()?;
    for (digest, &size) in &plan.blobs {
        if !written.contains(digest) && !layout.placed(digest, size) {
            tar.blob(&layout.blob_path(digest), digest, size, Rehash::No)?;
        }
    }
    tar.metadata(&metadata(&plan)?)?;
    let bytes = tar.finish()?;
    Ok(report(&plan, bytes))
}
