//! The OCI image layout on disk (image-spec `image-layout.md`): `oci-layout`,
//! `index.json` and `blobs/<alg>/<hex>`.
//!
//! Invariants, whatever happens to the process:
//! - a file under `blobs/` always hashes to its name: blobs are written to
//!   `.ocimirror/partial/` and renamed into place only after their size and
//!   digest are verified and the data is on disk;
//! - `index.json` always parses and names only complete images: it is
//!   replaced atomically, after every blob of the image is in place, under
//!   a lock that serialises concurrent writers (no lost updates).
//!
//! Partial downloads keep their name (the digest) so a later run resumes
//! them; an exclusive lock on the partial file keeps two processes from
//! writing the same blob at once.
//!
//! Layouts live in shared CI caches, and blob digests are predictable: no
//! symbolic link is followed inside the layout's own directories and files
//! (`blobs/`, `.ocimirror/`). Our files are opened with `O_NOFOLLOW`, a
//! partial file is reused only when it is a regular file of ours with one
//! name, and a link or stranger planted in its place is removed, never
//! written through. Nothing is written outside the layout.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_spec::image::{Descriptor as OciDescriptor, ImageIndex, MediaType};

use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};

mod placed;
mod ranged;
mod writer;
use placed::Place;
pub use placed::{Placement, Room, WRITING_ARCHIVE};
pub use ranged::{Claim, RangedWriter, Segment, Written};
pub(crate) use writer::start_writeback;
pub use writer::{Begin, BlobWriter};
use writer::{Resumed, commit, resume};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// Where the image came from, for `ocimirror ls`.
pub const SOURCE: &str = "io.ocimirror.source";
pub const TRUST: &str = "io.ocimirror.trust";
/// Blobs fetched per endpoint, as a JSON object (`{"https://...": 3}`).
pub const BLOB_SOURCES: &str = "io.ocimirror.blob-sources";
/// With `pull --format oci`: the Docker manifest's digest as served.
pub const CONVERTED_FROM: &str = "io.ocimirror.converted-from";

/// Data is written to disk in chunks of at least this size (fewer
/// syscalls); a blob being downloaded buffers up to one.
pub const WRITE_CHUNK: usize = 256 << 10;
/// A temporary file this old and unlocked is left over from a run that
/// died (see `remove_stale_temp_files`).
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(60);
/// After this many bytes of a download, the kernel is asked to start
/// writing them to disk (see `start_writeback`).
pub(crate) const WRITEBACK_EVERY: u64 = 8 << 20;

#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
    /// A shared lock on `.ocimirror/gc.lock` while a writer has the layout
    /// open: `gc` takes it exclusively, so it never removes a blob a pull
    /// has placed and not yet named in index.json.
    _writing: Option<Arc<File>>,
    /// Whether what is written is made durable (fsync). Not for a scratch
    /// layout that is read once and removed (`open_scratch`).
    durable: bool,
    /// Told of each blob as it gets its name (see `Arrivals`).
    arrivals: Option<Arrivals>,
}

/// The archive a scratch layout feeds. Told of every blob that gets its
/// name in the layout, with the blob's digest, size and path: how a pull
/// into an archive streams each blob into the tar as soon as it is
/// verified, while the others still download. Called on the thread that
/// named the blob, so it must not block (a channel send). With a
/// `Placement` (an archive file), layers skip the layout and are written
/// into the archive directly (`begin_placed`).
#[derive(Clone)]
pub struct Arrivals {
    tell: Arc<Tell>,
    placement: Option<Arc<dyn Placement>>,
}

/// What `Arrivals` calls: digest, size, path.
type Tell = dyn Fn(&Digest, u64, &Path) + Send + Sync;

impl Arrivals {
    pub fn new(tell: impl Fn(&Digest, u64, &Path) + Send + Sync + 'static) -> Arrivals {
        Arrivals { tell: Arc::new(tell), placement: None }
    }

    /// These arrivals, with layers written straight into `placement`.
    pub fn placing(self, placement: Arc<dyn Placement>) -> Arrivals {
        Arrivals { placement: Some(placement), ..self }
    }

    /// Where layers go instead of the layout, if anywhere.
    pub fn placement(&self) -> Option<&Arc<dyn Placement>> {
        self.placement.as_ref()
    }

    /// The blob at `path` has its name.
    pub fn tell(&self, digest: &Digest, size: u64, path: &Path) {
        (self.tell)(digest, size, path);
    }
}

impl std::fmt::Debug for Arrivals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Arrivals")
    }
}

/// Tells `arrivals`, if any, that the blob at `path` has its name.
fn arrived(arrivals: &Option<Arrivals>, digest: &Digest, size: u64, path: &Path) {
    if let Some(arrivals) = arrivals {
        arrivals.tell(digest, size, path);
    }
}

/// How long opening a layout waits for a `gc` to finish, and `gc` for
/// pulls to finish, before refusing.
const GC_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |e| Error::io(context, e)
}

/// Writes `bytes` to `path` atomically: a temporary file, synced, then
/// renamed over it. The rename itself becomes durable with the next
/// `sync_dir` of the parent (see `add_image`).
pub(crate) fn write_atomic(path: &Path, tmp_dir: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(path, tmp_dir, bytes, true)
}

/// `write_atomic`, synced or not (a scratch layout's files need not be).
fn write_atomic_as(path: &Path, tmp_dir: &Path, bytes: &[u8], durable: bool) -> Result<()> {
    // A random name, created exclusively: no other writer (another thread,
    // or a process in another PID namespace sharing the layout) can have
    // it. Locked until the rename, so `remove_stale_temp_files` leaves it.
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = tmp_dir.join(format!("{name}.{:016x}.tmp", rand::random::<u64>()));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io(format!("cannot create {}", tmp.display())))?;
    f.lock().map_err(io(format!("cannot lock {}", tmp.display())))?;
    f.write_all(bytes)
        .and_then(|_| if durable { f.sync_all() } else { Ok(()) })
        .map_err(io(format!("cannot write {}", tmp.display())))?;
    fs::rename(&tmp, path).map_err(io(format!("cannot replace {}", path.display())))?;
    Ok(())
}

/// The layout versions this code reads and writes: image-spec 1.0's.
const KNOWN_LAYOUT_VERSION: &str = "1.0.0";

/// An `oci-layout` file must declare a version we know: a layout of another
/// version may lay out its files otherwise, and writing into it as 1.0.0
/// could damage it.
fn check_marker(marker: &Path, bytes: &[u8]) -> Result<()> {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    match v.get("imageLayoutVersion").and_then(|v| v.as_str()) {
        Some(KNOWN_LAYOUT_VERSION) => Ok(()),
        Some(other) => Err(Error::Usage(format!(
            "{} declares imageLayoutVersion {:?}; ocimirror reads and writes {KNOWN_LAYOUT_VERSION} \
             only: choose another directory",
            marker.display(),
            crate::text::shown(other)
        ))),
        None => Err(Error::Usage(format!(
            "{} exists but is not an OCI layout marker; choose another output directory",
            marker.display()
        ))),
    }
}

/// Makes a rename durable. Best effort: not every filesystem supports it.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Layout {
    /// A layout that is written once, read once and removed (a pull into
    /// an archive): nothing in it is synced to disk, and `arrivals` is told
    /// of each blob named in it. Every invariant but durability holds as
    /// for `open`.
    pub fn open_scratch(root: &Path, arrivals: Option<Arrivals>) -> Result<Layout> {
        Ok(Layout { durable: false, arrivals, ..Layout::open(root)? })
    }

    /// Opens the layout at `root`, creating it (and `oci-layout`) if needed.
    pub fn open(root: &Path) -> Result<Layout> {
        let mut layout =
            Layout { root: root.to_path_buf(), _writing: None, durable: true, arrivals: None };
        fs::create_dir_all(root).map_err(io(format!("cannot create {}", root.display())))?;
        // One level at a time, each checked before the next is made in it:
        // a link at `.ocimirror` must not get a `partial/` made through it.
        for dir in ["blobs", "blobs/sha256", ".ocimirror", ".ocimirror/partial"] {
            own_dir(&root.join(dir))?;
        }
        layout._writing = Some(Arc::new(layout.gc_lock(false)?));
        let marker = root.join("oci-layout");
        match fs::read(&marker) {
            Ok(bytes) => check_marker(&marker, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomic(&marker, &layout.partial_dir(), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
            }
            Err(e) => return Err(Error::io(format!("cannot read {}", marker.display()), e)),
        }
        layout.remove_stale_temp_files();
        Ok(layout)
    }

    /// Removes `*.tmp` files (from `write_atomic`) whose writer is gone: a
    /// run killed between writing one and renaming it. A lock, not a pid,
    /// says so: pids mean nothing across containers sharing a layout.
    /// Partial blob downloads are kept: they are resumed.
    fn remove_stale_temp_files(&self) {
        let Ok(entries) = fs::read_dir(self.partial_dir()) else { return };
        let old = std::time::SystemTime::now() - STALE_TEMP_AGE;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "tmp") {
                continue;
            }
            // Unlocked and old: its writer is gone. (A writer locks its file
            // right after creating it; the age covers that moment.)
            // Read-only is enough for the lock, and works on another
            // user's file (removing it needs only the directory).
            let Ok(f) = open_nofollow(OpenOptions::new().read(true), &path) else { continue };
            let stale = f.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < old)
                && f.try_lock().is_ok()
                && still_named(&f, &path);
            if stale {
                let _ = fs::remove_file(&path);
            }
        }
    }

    /// An existing layout, for reading only (nothing is created).
    pub fn existing(root: &Path) -> Result<Layout> {
        if !root.exists() {
            return Err(Error::Usage(format!(
                "{} does not exist; give the directory of an OCI layout (pull writes ./oci-layout \
                 unless told -o DIR)",
                root.display()
            )));
        }
        let marker = root.join("oci-layout");
        match fs::read(&marker) {
            Ok(bytes) => check_marker(&marker, &bytes)?,
            Err(_) => {
                return Err(Error::Usage(format!(
                    "{} is not an OCI layout (it has no oci-layout file)",
                    root.display()
                )));
            }
        }
        Ok(Layout { root: root.to_path_buf(), _writing: None, durable: true, arrivals: None })
    }

    /// An existing layout for `gc`, with no writer in it: the returned
    /// lock keeps pulls out until it is dropped.
    pub fn for_gc(root: &Path) -> Result<(Layout, File)> {
        let layout = Layout::existing(root)?;
        // A layout another tool wrote has none: its lock goes there.
        own_dir(&root.join(".ocimirror"))?;
        let lock = layout.gc_lock(true)?;
        Ok((layout, lock))
    }

    /// `.ocimirror/gc.lock`, locked shared (writers) or exclusively (`gc`),
    /// waiting at most `GC_LOCK_WAIT` for the other side.
    fn gc_lock(&self, exclusive: bool) -> Result<File> {
        let path = self.root.join(".ocimirror/gc.lock");
        let lock = open_own_lock(&path)?;
        let deadline = std::time::Instant::now() + GC_LOCK_WAIT;
        loop {
            let got = if exclusive { lock.try_lock() } else { lock.try_lock_shared() };
            match got {
                Ok(()) => return Ok(lock),
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    let who = if exclusive { "a pull is writing into" } else { "gc is cleaning" };
                    return Err(Error::Failed(format!(
                        "{who} {} and has not finished after {GC_LOCK_WAIT:?}; try again later",
                        self.root.display()
                    )));
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(Error::io(format!("cannot lock {}", path.display()), e));
                }
            }
        }
    }

    /// Our own working directory (partial downloads, temporary files).
    pub fn work_dir(&self) -> PathBuf {
        self.partial_dir()
    }

    /// Refuses to make a layout of a directory that holds other things:
    /// pulling into `-o ~/Documents` by mistake would put `blobs/` and
    /// `index.json` among the user's files. A layout, a directory holding
    /// only a layout's names (what a killed first pull leaves), an empty
    /// or a missing one is fine; `--force` skips this. A link is left for
    /// `open` to refuse.
    pub fn refuse_foreign_directory(root: &Path) -> Result<()> {
        let is_dir = fs::symlink_metadata(root).is_ok_and(|m| m.is_dir());
        let Some(entries) = is_dir.then(|| fs::read_dir(root).ok()).flatten() else {
            return Ok(());
        };
        let ours = |name: &std::ffi::OsStr| {
            let name = name.to_string_lossy();
            matches!(name.as_ref(), "oci-layout" | "blobs" | ".ocimirror")
                || name.starts_with("index.json")
        };
        if root.join("oci-layout").exists() || entries.flatten().all(|e| ours(&e.file_name())) {
            return Ok(());
        }
        Err(Error::Usage(format!(
            "{} is a directory that holds other files and no OCI layout; pull into a new or empty \
             directory, or pass --force to make it a layout",
            root.display()
        )))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Our own working files: partial downloads, locks, temporary files.
    fn partial_dir(&self) -> PathBuf {
        self.root.join(".ocimirror/partial")
    }

    /// Where a blob's download lives until it is verified; named by digest
    /// so that a later run finds and resumes it.
    fn partial_path(&self, digest: &Digest) -> PathBuf {
        self.partial_dir().join(format!("{}-{}", digest.algorithm().name(), digest.hex()))
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(digest.algorithm().name()).join(digest.hex())
    }

    /// Is the blob already here, with the right size? Blobs only get their
    /// final name after verification, so name and size are enough. A link
    /// in its place is no blob (a download replaces it).
    pub fn has_blob(&self, digest: &Digest, size: u64) -> bool {
        fs::symlink_metadata(self.blob_path(digest)).is_ok_and(|m| m.is_file() && m.len() == size)
            || self.placed(digest, size)
    }

    /// Is the blob in the archive this layout feeds (see `Placement`)?
    pub fn placed(&self, digest: &Digest, size: u64) -> bool {
        self.placement().is_some_and(|p| p.holds(digest, size))
    }

    /// This layout, read with the archive its layers went to: a blob
    /// placed there counts as present.
    pub fn with_placement(self, placement: Arc<dyn Placement>) -> Layout {
        let arrivals = Arrivals::new(|_, _, _| {}).placing(placement);
        Layout { arrivals: Some(arrivals), ..self }
    }

    /// Where this layout's layers go instead of its files, if anywhere.
    fn placement(&self) -> Option<&Arc<dyn Placement>> {
        self.arrivals.as_ref().and_then(Arrivals::placement)
    }

    /// A blob, open for reading (to stream it rather than hold it).
    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let p = self.blob_path(digest);
        open_nofollow(OpenOptions::new().read(true), &p)
            .map_err(io(format!("cannot open {}", p.display())))
    }

    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let p = self.blob_path(digest);
        fs::read(&p).map_err(io(format!("cannot read {}", p.display())))
    }

    /// Stores small, already verified content (manifests) under its digest.
    pub fn put_verified(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        if self.has_blob(digest, bytes.len() as u64) {
            return Ok(());
        }
        let dir = self.root.join("blobs").join(digest.algorithm().name());
        own_dir(&dir)?;
        let path = self.blob_path(digest);
        write_atomic_as(&path, &self.partial_dir(), bytes, self.durable)?;
        arrived(&self.arrivals, digest, bytes.len() as u64, &path);
        Ok(())
    }

    /// Starts (or resumes) writing a blob, unless another process is
    /// writing it right now (`wait_for` then waits for it) or it arrived
    /// meanwhile.
    pub fn begin(&self, digest: &Digest, size: u64) -> Result<Begin> {
        self.begin_with(digest, size, false)
    }

    /// `begin`, for a blob that may go straight into the archive this
    /// layout feeds (see `Placement`): a layer, which nothing reads back
    /// from the layout (a config is read: it is begun with `begin`).
    pub fn begin_placed(&self, digest: &Digest, size: u64) -> Result<Begin> {
        self.begin_with(digest, size, true)
    }

    fn begin_with(&self, digest: &Digest, size: u64, may_place: bool) -> Result<Begin> {
        let partial = self.partial_path(digest);
        let Some(mut file) = open_partial(&partial)? else { return Ok(Begin::Busy) };
        // Between our open and our lock, the holder may have renamed the file
        // into blobs/ or removed it (Ctrl-C): then we hold a lock on a file
        // that no longer has this name, and writing it would be lost. Look
        // again (`Busy` makes the caller retry).
        if !still_named(&file, &partial) {
            return Ok(Begin::Busy);
        }
        if self.has_blob(digest, size) {
            // Another process finished it between our check and our lock.
            let _ = fs::remove_file(&partial);
            return Ok(Begin::Present);
        }
        if let Some(placement) = self.placement().filter(|_| may_place)
            && let Some(room) = placement.reserve(digest, size)?
        {
            let _ = fs::remove_file(ranged::segments_path(&partial));
            let mut into = room.file;
            into.seek(SeekFrom::Start(room.base)).map_err(io("cannot seek in the archive"))?;
            let (base, placement, _writing) = (room.base, Arc::clone(placement), room.writing);
            let place = Place { base, placement, _lock: Arc::new(file), _writing };
            let fresh = Resumed { have: 0, hasher: Hasher::new(digest.algorithm()), kept: vec![] };
            return Ok(Begin::Writer(self.writer(digest, size, into, partial, fresh, Some(place))));
        }
        let resumed = resume(&mut file, &partial, digest, size)?;
        Ok(Begin::Writer(self.writer(digest, size, file, partial, resumed, None)))
    }

    /// A writer of blob `digest` into `file`, continuing from `resumed`.
    fn writer(
        &self,
        digest: &Digest,
        size: u64,
        file: File,
        partial: PathBuf,
        resumed: Resumed,
        place: Option<Place>,
    ) -> BlobWriter {
        BlobWriter {
            durable: self.durable,
            arrivals: self.arrivals.clone(),
            file: Arc::new(file),
            partial,
            target: self.blob_path(digest),
            digest: digest.clone(),
            size,
            written: resumed.have,
            hasher: resumed.hasher,
            buf: Vec::new(),
            buffered: 0,
            not_written_back: 0,
            broken: false,
            sealed: false,
            kept: resumed.kept,
            place,
        }
    }

    /// Blocks until whoever holds the lock on this blob's partial file lets
    /// go (another process downloading it), for as long as that process
    /// makes progress: a holder whose file has not grown for `stall` is
    /// stuck (or a stranger holds the lock), and waiting on is refused.
    pub fn wait_for(&self, digest: &Digest, stall: std::time::Duration) -> Result<()> {
        let partial = self.partial_path(digest);
        let Ok(f) = open_nofollow(OpenOptions::new().read(true), &partial) else { return Ok(()) };
        let size = || f.metadata().map(|m| m.len()).unwrap_or(0);
        let (mut seen, mut grew) = (size(), std::time::Instant::now());
        tracing::info!("waiting for another pull writing {}", partial.display());
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(()),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => {
                    return Err(Error::io(format!("cannot lock {}", partial.display()), e));
                }
            }
            let now = size();
            if now != seen {
                (seen, grew) = (now, std::time::Instant::now());
            } else if grew.elapsed() >= stall {
                return Err(Error::Failed(format!(
                    "another process holds {} and has written nothing to it for {stall:?}; \
                     if no other pull is running, remove the file",
                    partial.display()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Holds the index lock while `f` runs: one writer at a time, across
    /// processes.
    fn with_index_lock<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let path = self.root.join(".ocimirror/index.lock");
        let lock = open_own_lock(&path)?;
        lock.lock().map_err(io(format!("cannot lock {}", path.display())))?;
        let result = f();
        drop(lock);
        result
    }

    /// The layout's `index.json` (an empty index when there is none yet).
    pub fn read_index(&self) -> Result<ImageIndex> {
        let path = self.root.join("index.json");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Invalid(format!(
                    "{} is not a valid image index ({e}); it is left as it is",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(empty_index()),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    /// Adds an image to `index.json` under `name`, replacing any entry with
    /// the same name (never duplicating it). Call only once every blob the
    /// descriptor reaches is in place.
    pub fn add_image(&self, name: &str, descriptor: OciDescriptor) -> Result<()> {
        self.with_index_lock(|| {
            let mut index = self.read_index()?;
            let named = |d: &OciDescriptor| {
                d.annotations().as_ref().and_then(|a| a.get(REF_NAME)).map(String::as_str)
                    == Some(name)
            };
            let mut entries: Vec<OciDescriptor> =
                index.manifests().iter().filter(|d| !named(d)).cloned().collect();
            entries.push(descriptor);
            index.set_manifests(entries);
            let bytes = serde_json::to_vec(&index)
                .map_err(|e| Error::Failed(format!("cannot encode index.json: {e}")))?;
            // Blob renames need no fsync of their directory one by one: a
            // rename lost to a power cut only means a blob to fetch again.
            // What matters is that index.json never names a blob whose
            // rename was lost, so the blob directories are synced (once per
            // image) before index.json is replaced, and the root after.
            // `blobs/` too: on a new layout its own entries are new.
            if self.durable {
                sync_dir(&self.root.join("blobs"));
                for alg in ["sha256", "sha512"] {
                    sync_dir(&self.root.join("blobs").join(alg));
                }
            }
            write_atomic_as(
                &self.root.join("index.json"),
                &self.partial_dir(),
                &bytes,
                self.durable,
            )?;
            if self.durable {
                sync_dir(&self.root);
            }
            Ok(())
        })
    }
}

impl Layout {
    /// Gives a blob verified elsewhere (the blob cache, `from`, open as
    /// `file`) its name here by hard link, so both are one file on disk.
    /// Linked under a temporary name first, checked to be the very file that
    /// was verified (not one swapped in at `from` meanwhile), then renamed
    /// into place: `blobs/` only ever gets a verified file. False when it
    /// cannot be linked (another filesystem, a filesystem without links):
    /// the caller copies.
    pub fn link_verified(&self, digest: &Digest, from: &Path, file: &File) -> Result<bool> {
        let target = self.blob_path(digest);
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
            real_dir(dir)?;
        }
        let tmp =
            self.partial_dir().join(format!("{}.{:016x}.tmp", digest.hex(), rand::random::<u64>()));
        if let Err(e) = fs::hard_link(from, &tmp) {
            tracing::debug!("cannot link {} here ({e}); copying", from.display());
            return Ok(false);
        }
        if !still_named(file, &tmp) {
            let _ = fs::remove_file(&tmp);
            return Ok(false);
        }
        match fs::rename(&tmp, &target) {
            Ok(()) => {
                let size =
                    file.metadata().map_err(io(format!("cannot read {}", from.display())))?;
                arrived(&self.arrivals, digest, size.len(), &target);
                Ok(true)
            }
            // Gone meanwhile (another run's cleanup of old temporary files:
            // the link shares the cached blob's times): copy instead.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(Error::io(format!("cannot move a blob to {}", target.display()), e))
            }
        }
    }

    /// Removes a partial download (Ctrl-C: leave no temporary files), but
    /// only under its lock: once this process let go of it, another pull
    /// into the layout may have taken it over, and removing the file it is
    /// writing would make its final rename fail. Our own downloads that are
    /// still stopping (a write or an fsync on another thread) hold the lock
    /// too, so the lock is retried until `deadline` before the file is left
    /// alone.
    pub fn discard_partial(&self, digest: &Digest, deadline: std::time::Instant) {
        let partial = self.partial_path(digest);
        let Ok(f) = open_nofollow(OpenOptions::new().read(true), &partial) else { return };
        loop {
            match f.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
        if still_named(&f, &partial) {
            let _ = fs::remove_file(&partial);
            let _ = fs::remove_file(ranged::segments_path(&partial));
        }
    }
}

/// Is `file` (open) still the file at `path`?
pub(crate) fn still_named(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// Opens one of the layout's own files without following a symbolic link
/// at its name (`O_NOFOLLOW`: a link fails with `ELOOP`).
pub(crate) fn open_nofollow(options: &mut OpenOptions, path: &Path) -> std::io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Makes one of the layout's own directories (its parent must exist), or
/// finds it there, a real one (`real_dir`).
fn own_dir(dir: &Path) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => real_dir(dir),
        Err(e) => Err(Error::io(format!("cannot create {}", dir.display()), e)),
    }
}

/// A directory of the layout's own (`blobs/sha256`, `.ocimirror/partial`)
/// must be a directory, not a link to one elsewhere: what is written into
/// it would land outside the layout.
pub(crate) fn real_dir(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::Failed(format!(
            "{} is not a plain directory (a symbolic link?); ocimirror writes only inside the \
             layout: remove it, or use another output directory",
            dir.display()
        ))),
        Err(e) => Err(Error::io(format!("cannot inspect {}", dir.display()), e)),
    }
}

/// A partial file fit to resume: a regular file, with this one name, and
/// ours (a file of another user's, or a hard link, could be written
/// through to somewhere else). Anything else is removed and replaced.
fn fit_to_resume(file: &File) -> bool {
    let Ok(m) = file.metadata() else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        let me = unsafe { libc::geteuid() };
        m.is_file() && m.nlink() == 1 && m.uid() == me
    }
    #[cfg(not(unix))]
    {
        m.is_file()
    }
}

/// Opens and locks a blob's partial file, creating it if needed; `None`
/// when another process holds its lock. A symbolic link, a hard link or a
/// stranger's file planted at its name is removed (only its name: nothing
/// is written through it) and a new file created in its place.
fn open_partial(partial: &Path) -> Result<Option<File>> {
    let cannot = |verb: &str| io(format!("cannot {verb} {}", partial.display()));
    for _ in 0..3 {
        let opened = open_nofollow(
            OpenOptions::new().read(true).write(true).create(true).truncate(false),
            partial,
        );
        let file = match opened {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(ELOOP) => {
                remove_planted(partial, "a symbolic link")?;
                continue;
            }
            Err(e) => return Err(cannot("open")(e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Ok(None),
            Err(fs::TryLockError::Error(e)) => return Err(cannot("lock")(e)),
        }
        if fit_to_resume(&file) {
            return Ok(Some(file));
        }
        remove_planted(partial, "a file that is not a plain file of ours")?;
    }
    Err(Error::Failed(format!(
        "{} keeps being replaced by a link or another user's file; refusing to write it",
        partial.display()
    )))
}

#[cfg(unix)]
const ELOOP: i32 = libc::ELOOP;
#[cfg(not(unix))]
const ELOOP: i32 = -1;

fn remove_planted(path: &Path, what: &str) -> Result<()> {
    tracing::warn!(
        "{} was {what}; removed it (ocimirror never writes through links in its own files)",
        path.display()
    );
    fs::remove_file(path).map_err(io(format!("cannot remove {}", path.display())))
}

/// The index lock file, created if needed, never through a link.
pub(crate) fn open_own_lock(path: &Path) -> Result<File> {
    let open = || open_nofollow(OpenOptions::new().create(true).truncate(false).write(true), path);
    match open() {
        Err(e) if e.raw_os_error() == Some(ELOOP) => {
            remove_planted(path, "a symbolic link")?;
            open().map_err(io(format!("cannot open {}", path.display())))
        }
        other => other.map_err(io(format!("cannot open {}", path.display()))),
    }
}

fn empty_index() -> ImageIndex {
    let mut index = ImageIndex::default();
    index.set_schema_version(2);
    index.set_media_type(Some(MediaType::ImageIndex));
    index.set_manifests(Vec::new());
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn desc(name: &str, digest: &Digest) -> OciDescriptor {
        let mut d = OciDescriptor::new(
            MediaType::ImageManifest,
            2,
            digest.to_string().parse::<oci_spec::image::Digest>().unwrap(),
        );
        d.set_annotations(Some([(REF_NAME.to_string(), name.to_string())].into()));
        d
    }

    fn writer(layout: &Layout, d: &Digest, size: u64) -> BlobWriter {
        match layout.begin(d, size).unwrap() {
            Begin::Writer(w) => w,
            _ => panic!("expected a writer"),
        }
    }

    #[tokio::test]
    async fn writes_verifies_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let data = vec![7u8; 3 * WRITE_CHUNK + 5];
        let d = Digest::sha256(&data);
        let mut w = writer(&layout, &d, data.len() as u64);
        // A second writer of the same blob is told to wait.
        assert!(matches!(layout.begin(&d, data.len() as u64).unwrap(), Begin::Busy));
        w.write(Bytes::copy_from_slice(&data[..WRITE_CHUNK + 1])).unwrap();
        w.flush().unwrap();
        drop(w); // as if the process died
        assert!(!layout.has_blob(&d, data.len() as u64));
        let mut w = writer(&layout, &d, data.len() as u64);
        assert_eq!(w.offset(), WRITE_CHUNK as u64 + 1);
        w.write(Bytes::copy_from_slice(&data[WRITE_CHUNK + 1..])).unwrap();
        w.finish().await.unwrap();
        drop(w);
        assert!(layout.has_blob(&d, data.len() as u64));
        assert_eq!(layout.read_blob(&d).unwrap(), data);
        assert!(matches!(layout.begin(&d, data.len() as u64).unwrap(), Begin::Present));
    }

    #[tokio::test]
    async fn a_sealed_blob_is_verified_and_on_disk_but_named_only_by_finish() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let data = vec![3u8; WRITE_CHUNK / 2];
        let d = Digest::sha256(&data);
        let mut w = writer(&layout, &d, data.len() as u64);
        w.write(Bytes::copy_from_slice(&data)).unwrap();
        w.seal().await.unwrap();
        let partial = layout.partial_path(&d);
        assert_eq!(partial.metadata().unwrap().len(), data.len() as u64, "the buffer is written");
        assert!(!layout.has_blob(&d, data.len() as u64), "not named yet");
        drop(w); // stopped while it waited: the next writer finds it complete
        let mut w = writer(&layout, &d, data.len() as u64);
        assert!(w.complete());
        w.seal().await.unwrap();
        w.finish().await.unwrap();
        assert_eq!(layout.read_blob(&d).unwrap(), data);

        // Wrong bytes: sealing fails and drops them, as `finish` would.
        let other = Digest::sha256(b"something else");
        let mut w = writer(&layout, &other, data.len() as u64);
        w.write(Bytes::copy_from_slice(&data)).unwrap();
        assert!(matches!(w.seal().await, Err(Error::Invalid(_))));
        assert_eq!(w.offset(), 0);
        assert!(!layout.has_blob(&other, data.len() as u64));
    }

    #[tokio::test]
    async fn writes_hash_in_order_across_chunks_and_resume() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let data: Vec<u8> = (0..3 * WRITE_CHUNK + 5).map(|i| (i * 7 % 251) as u8).collect();
        let d = Digest::sha256(&data);
        let mut w = writer(&layout, &d, data.len() as u64);
        // Odd-sized pieces, so buffers fill across piece boundaries.
        let cut = 2 * WRITE_CHUNK + 3;
        for piece in data[..cut].chunks(1000) {
            w.write(Bytes::copy_from_slice(piece)).unwrap();
        }
        // More than WRITE_CHUNK was buffered at some point: some bytes are
        // on disk already, the rest only after the flush.
        assert!(layout.partial_path(&d).metadata().unwrap().len() >= WRITE_CHUNK as u64);
        w.flush().unwrap();
        drop(w); // as if the process died
        let mut w = writer(&layout, &d, data.len() as u64);
        assert_eq!(w.offset(), cut as u64);
        for piece in data[cut..].chunks(4096) {
            w.write(Bytes::copy_from_slice(piece)).unwrap();
        }
        w.finish().await.unwrap();
        drop(w);
        assert_eq!(layout.read_blob(&d).unwrap(), data);

        // Wrong bytes never get the name, and are not kept for resuming.
        let e = Digest::sha256(&data[1..]);
        let mut w = writer(&layout, &e, data.len() as u64 - 1);
        for piece in data[..data.len() - 1].chunks(1000) {
            w.write(Bytes::copy_from_slice(piece)).unwrap();
        }
        assert!(w.finish().await.is_err());
        drop(w);
        assert!(!layout.blob_path(&e).exists());
        assert!(
            matches!(layout.begin(&e, data.len() as u64 - 1).unwrap(), Begin::Writer(w) if w.offset() == 0)
        );
    }

    #[tokio::test]
    async fn refuses_wrong_bytes_and_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let d = Digest::sha256(b"right");
        let mut w = writer(&layout, &d, 5);
        w.write(Bytes::copy_from_slice(b"wrong")).unwrap();
        assert!(w.finish().await.is_err());
        drop(w);
        assert!(!layout.blob_path(&d).exists());
        let mut w = writer(&layout, &d, 5);
        assert_eq!(w.offset(), 0, "bad bytes are not resumed");
        assert!(w.write(Bytes::copy_from_slice(b"right!")).is_err(), "longer than the descriptor");
        drop(w);
        let mut w = writer(&layout, &d, 5);
        w.write(Bytes::copy_from_slice(b"rig")).unwrap();
        assert!(w.finish().await.is_err(), "shorter than the descriptor");
    }

    #[tokio::test]
    async fn discarding_leaves_a_partial_someone_else_is_writing() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let data = b"abcdef";
        let d = Digest::sha256(data);
        let mut w = writer(&layout, &d, data.len() as u64);
        w.write(Bytes::copy_from_slice(&data[..3])).unwrap();
        w.flush().unwrap();
        // An interrupted pull cleaning up while another holds the lock.
        let soon = std::time::Instant::now() + std::time::Duration::from_millis(50);
        layout.discard_partial(&d, soon);
        w.write(Bytes::copy_from_slice(&data[3..])).unwrap();
        w.finish().await.expect("the writer's file was left alone");
        drop(w);
        assert!(layout.has_blob(&d, data.len() as u64));
        // Unlocked, it is removed.
        let e = Digest::sha256(b"other");
        let mut w = writer(&layout, &e, 5);
        w.write(Bytes::copy_from_slice(b"ot")).unwrap();
        w.flush().unwrap();
        drop(w);
        layout.discard_partial(&e, std::time::Instant::now());
        assert!(matches!(layout.begin(&e, 5).unwrap(), Begin::Writer(w) if w.offset() == 0));
    }

    #[test]
    fn temp_files_of_dead_processes_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let partial = dir.path().join(".ocimirror/partial");
        let file = |name: &str, age: u64| {
            let path = partial.join(name);
            let f = File::create(&path).unwrap();
            let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
            f.set_modified(when).unwrap();
            path
        };
        let dead = file("index.json.00000000000000aa.tmp", 3600);
        let young = file("index.json.00000000000000bb.tmp", 0);
        let held = file("index.json.00000000000000cc.tmp", 3600);
        let writer = OpenOptions::new().write(true).open(&held).unwrap();
        writer.lock().unwrap();
        let download = file(&format!("sha256-{}", Digest::sha256(b"x").hex()), 3600);
        drop(layout);
        Layout::open(dir.path()).unwrap();
        assert!(!dead.exists(), "old and unlocked: its writer is gone");
        assert!(young.exists(), "a writer may be about to lock it");
        assert!(held.exists(), "its writer holds the lock");
        assert!(download.exists(), "partial downloads are resumed, not removed");
    }

    #[test]
    fn index_entries_are_replaced_not_duplicated() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let (a, b) = (Digest::sha256(b"a"), Digest::sha256(b"b"));
        layout.add_image("x/y:1", desc("x/y:1", &a)).unwrap();
        layout.add_image("x/z:1", desc("x/z:1", &a)).unwrap();
        layout.add_image("x/y:1", desc("x/y:1", &b)).unwrap();
        let index = layout.read_index().unwrap();
        assert_eq!(index.manifests().len(), 2);
        assert_eq!(index.manifests()[1].digest().to_string(), b.to_string());
        std::fs::write(dir.path().join("index.json"), b"{broken").unwrap();
        assert!(layout.add_image("x/y:1", desc("x/y:1", &a)).is_err());
        assert_eq!(std::fs::read(dir.path().join("index.json")).unwrap(), b"{broken");
    }

    #[test]
    fn concurrent_index_updates_lose_no_entry() {
        // Each thread opens the layout itself, like separate processes (the
        // index lock is per open file). Without the lock, updates that read
        // index.json while another is being written drop entries.
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let root = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    let layout = Layout::open(&root).unwrap();
                    for i in 0..15 {
                        let name = format!("t{t}/image:{i}");
                        layout
                            .add_image(&name, desc(&name, &Digest::sha256(name.as_bytes())))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let index = Layout::open(dir.path()).unwrap().read_index().unwrap();
        assert_eq!(index.manifests().len(), 6 * 15);
    }
}
