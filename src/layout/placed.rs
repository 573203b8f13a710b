//! Blobs written straight into an archive (`pull -o FILE.tar`) rather
//! than into the scratch layout's partial files.
//!
//! A pull into an archive used to write each blob twice: into the scratch
//! layout, then, once verified, copied into the tar. On loopback that copy
//! cost as much as the pull itself on 2 cores (1.5x a layout pull,
//! measured). A `Placement` (the archive file) gives each blob its room in
//! the tar before the first byte arrives; the download writes there, is
//! hashed as it goes as ever, and the tar entry is only made valid (its
//! header written) once the digest checks out. What the room held before
//! that never reads as a blob: an archive with a room that was never
//! placed has it closed up before it is finished (see `archive::regions`).
//!
//! The partial file is still created and locked, empty: it keeps two
//! writers of one blob apart exactly as in any layout, and Ctrl-C's
//! cleanup finds it where it always does. A placed download does not
//! resume from an earlier attempt's bytes: the archive is new every run.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use crate::digest::Digest;
use crate::error::{Error, Result};

/// What a failed write of a placed blob says: the archive could not be
/// written (a full disk), not the partial file, which stays empty.
pub const WRITING_ARCHIVE: &str = "cannot write the archive";

/// `e`, said of the archive when the blob is placed (see `WRITING_ARCHIVE`).
pub(super) fn of_archive(place: Option<&Place>, e: Error) -> Error {
    match (place, e) {
        (Some(_), Error::Io { cause, .. }) => Error::io(WRITING_ARCHIVE, cause),
        (_, e) => e,
    }
}

/// A file that takes blobs' bytes directly (an archive being written).
pub trait Placement: Send + Sync {
    /// Room for blob `digest` of `size` bytes: a handle of its own on the
    /// file (so writers never share an offset) and where the blob's first
    /// byte goes. A digest asked for again (a download tried once more)
    /// gets the same room. `None`: the blob goes to its partial file, as
    /// in any layout.
    fn reserve(&self, digest: &Digest, size: u64) -> Result<Option<Room>>;
    /// The bytes in `digest`'s room are verified: the blob is in the file.
    fn placed(&self, digest: &Digest) -> Result<()>;
    /// Is `digest` in the file, with `size` bytes?
    fn holds(&self, digest: &Digest, size: u64) -> bool;
}

/// Where one blob's bytes go in a `Placement`'s file.
pub struct Room {
    pub file: File,
    /// The offset of the blob's first byte.
    pub base: u64,
    /// Held by the writer until it is dropped: the placement can tell
    /// when nobody writes into its file any more.
    pub writing: Arc<()>,
}

/// A writer's placed blob: where its bytes start, whom to tell when they
/// are verified, and the locked partial file that keeps other writers of
/// the blob out while this one lives.
#[derive(Clone)]
pub(super) struct Place {
    pub base: u64,
    pub placement: Arc<dyn Placement>,
    /// Held, never read: dropping it lets go of the lock.
    pub _lock: Arc<File>,
    /// Held, never read: see `Room::writing`.
    pub _writing: Arc<()>,
}

/// Where a writer's blob starts in its file: at the room's base in an
/// archive, else at 0 (its partial file).
pub(super) fn base(place: Option<&Place>) -> u64 {
    place.map_or(0, |p| p.base)
}

/// Whether a writer starts writeback as it goes: into a durable layout,
/// or into an archive (synced once complete); not into a scratch layout's
/// files, which are removed unread by the disk.
pub(super) fn writes_back(durable: bool, place: Option<&Place>) -> bool {
    durable || place.is_some()
}

/// Drops what a writer wrote: a partial file is emptied; a placed blob's
/// room is simply written over from its start.
pub(super) fn empty(file: &File, partial: &Path, place: Option<&Place>) -> Result<()> {
    match place {
        Some(_) => Ok(()),
        None => file
            .set_len(0)
            .map_err(|e| Error::io(format!("cannot truncate {}", partial.display()), e)),
    }
}

impl Place {
    /// The blob is verified: the placement makes it part of the file, then
    /// its (empty) partial file goes. In that order: a writer that finds
    /// the partial file gone already sees the blob as present.
    pub fn name(&self, digest: &Digest, partial: &Path) -> Result<()> {
        self.placement.placed(digest)?;
        let _ = std::fs::remove_file(super::ranged::segments_path(partial));
        match std::fs::remove_file(partial) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("cannot remove {}", partial.display()), e)),
        }
    }
}
