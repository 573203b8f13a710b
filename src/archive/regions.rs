//! The space of an archive file that a pull writes layers straight into
//! (`pull -o FILE.tar`; see `layout::Placement`), handed out front to back.
//!
//! Every entry of the tar gets its allocation here: the writer thread's own
//! (directories, blobs it copies, the small files) and a room for each
//! placed layer, asked for when its download starts, the header block
//! first and then its bytes padded to the next block. A room's header is
//! written only once its blob is verified; until then the room is not part
//! of the archive. Rooms of blobs that never verified (an image of a batch
//! that failed) are closed up before the small files go in (`close_up`):
//! the entries after them move down, so the finished tar has no gap and no
//! bytes no header names.
//!
//! Only sha256 blobs are placed: their path fits the tar header (a sha512
//! path needs a GNU long-name entry), so every room is one block plus the
//! blob.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::write::{BLOCK, blob_header, padded};
use crate::digest::{Algorithm, Digest};
use crate::error::{Error, Result};
use crate::layout::{Placement, Room};

/// Bytes moved at a time while closing up.
const MOVE_CHUNK: usize = 1 << 20;
/// How long closing up waits for downloads that were stopped (an image
/// given up aborts its downloads: their tasks end soon, not at once).
const WRITERS_GONE: Duration = Duration::from_secs(10);
/// The furthest a file offset goes (`off_t`): no allocation ends beyond.
const MAX_END: u64 = i64::MAX as u64;
/// The furthest a room ends. Sizes come from manifests a server wrote:
/// layers that claim 2^63 bytes must neither wrap the next offset onto
/// entries already written nor push the writer's own entries past what a
/// filesystem holds (ext4: 16 TiB). Beyond this a blob gets no room and
/// goes to its partial file, as in any layout; no real image comes near.
const ROOMS_END: u64 = 4 << 40;

pub(super) struct Regions {
    /// The archive file, opened anew for each room (an offset of its own).
    path: PathBuf,
    /// For headers, closing up and the final length.
    file: File,
    space: Mutex<Space>,
}

#[derive(Default)]
struct Space {
    /// Where the next allocation starts.
    end: u64,
    /// In file order.
    allocations: Vec<Allocation>,
    /// Rooms, by blob: the index of their allocation.
    rooms: HashMap<Digest, usize>,
    /// One per room handed out, alive while its writer is.
    writers: Vec<Weak<()>>,
}

struct Allocation {
    start: u64,
    len: u64,
    /// A room's blob and size; `None` for the writer thread's own entries.
    blob: Option<(Digest, u64)>,
    /// In the archive: the writer's entries at once, rooms once placed.
    live: bool,
}

impl Regions {
    /// The space of the (empty) archive file at `path`.
    pub(super) fn open(path: PathBuf) -> Result<Regions> {
        let file = open(&path)?;
        Ok(Regions { path, file, space: Mutex::new(Space::default()) })
    }

    fn space(&self) -> MutexGuard<'_, Space> {
        self.space.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `len` bytes for an entry the writer thread writes at once.
    pub(super) fn allocate(&self, len: u64) -> Result<u64> {
        (self.space().allocate(len, None, true, MAX_END))
            .ok_or_else(|| Error::Failed(format!("the archive cannot grow by {len} bytes")))
    }

    /// Where the archive ends so far.
    pub(super) fn end(&self) -> u64 {
        self.space().end
    }

    /// Moves every entry after a room that was never placed down over it,
    /// so that the archive has no gap; what is allocated afterwards goes
    /// at the new end. Waits first until no writer of a room is left: a
    /// download still stopping must not write over what moved.
    pub(super) fn close_up(&self) -> Result<()> {
        let deadline = Instant::now() + WRITERS_GONE;
        while self.space().writers.iter().any(|w| w.strong_count() > 0) {
            if Instant::now() >= deadline {
                return Err(Error::Failed(format!(
                    "a download into the archive did not stop within {WRITERS_GONE:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut space = self.space();
        let mut cursor = 0;
        for a in &mut space.allocations {
            if !a.live {
                continue;
            }
            if a.start != cursor {
                move_down(&self.file, a.start, a.len, cursor)
                    .map_err(|e| Error::io(super::WRITING, e))?;
                a.start = cursor;
            }
            cursor += a.len;
        }
        space.allocations.retain(|a| a.live);
        space.rooms = (space.allocations.iter().enumerate())
            .filter_map(|(i, a)| a.blob.as_ref().map(|(d, _)| (d.clone(), i)))
            .collect();
        space.end = cursor;
        Ok(())
    }

    /// Cuts the file at the archive's end (a room closed up at the end
    /// leaves bytes beyond it), for the writer thread once it has finished.
    pub(super) fn truncate(&self) -> Result<u64> {
        let end = self.end();
        self.file.set_len(end).map_err(|e| Error::io(super::WRITING, e))?;
        Ok(end)
    }
}

impl Space {
    /// `len` bytes at the end, unless the end would pass `limit`.
    fn allocate(
        &mut self,
        len: u64,
        blob: Option<(Digest, u64)>,
        live: bool,
        limit: u64,
    ) -> Option<u64> {
        let start = self.end;
        self.end = start.checked_add(len).filter(|&end| end <= limit)?;
        self.allocations.push(Allocation { start, len, blob, live });
        Some(start)
    }
}

impl Placement for Regions {
    fn reserve(&self, digest: &Digest, size: u64) -> Result<Option<Room>> {
        if digest.algorithm() != Algorithm::Sha256 {
            return Ok(None);
        }
        let writing = Arc::new(());
        let start = {
            let mut space = self.space();
            space.writers.retain(|w| w.strong_count() > 0);
            space.writers.push(Arc::downgrade(&writing));
            match space.rooms.get(digest) {
                Some(&i) if space.allocations[i].blob.as_ref().is_some_and(|b| b.1 == size) => {
                    space.allocations[i].start
                }
                // Another size for the same digest: a descriptor that lies.
                Some(_) => return Ok(None),
                None => {
                    let i = space.allocations.len();
                    let len = padded(size).checked_add(BLOCK);
                    let blob = Some((digest.clone(), size));
                    // Too big to have a room: the blob goes to its partial
                    // file, as in any layout (and fails there on its own).
                    let room = len.and_then(|len| space.allocate(len, blob, false, ROOMS_END));
                    let Some(start) = room else {
                        return Ok(None);
                    };
                    space.rooms.insert(digest.clone(), i);
                    start
                }
            }
        };
        let file = open(&self.path)?;
        Ok(Some(Room { file, base: start + BLOCK, writing }))
    }

    fn placed(&self, digest: &Digest) -> Result<()> {
        let mut space = self.space();
        let Some(&i) = space.rooms.get(digest) else {
            return Err(Error::Failed(format!("blob {digest} has no room in the archive")));
        };
        let a = &mut space.allocations[i];
        let size = a.blob.as_ref().map_or(0, |b| b.1);
        let header = blob_header(digest, size)?;
        self.file.write_all_at(&header, a.start).map_err(|e| Error::io(super::WRITING, e))?;
        a.live = true;
        Ok(())
    }

    fn holds(&self, digest: &Digest, size: u64) -> bool {
        let space = self.space();
        space.rooms.get(digest).is_some_and(|&i| {
            let a = &space.allocations[i];
            a.live && a.blob.as_ref().is_some_and(|b| b.1 == size)
        })
    }
}

/// The archive file, for reading (a ranged download reads back what it
/// wrote; closing up reads what it moves) and writing.
fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))
}

/// Moves `[from, from + len)` of `file` to `to`, which is lower: chunk by
/// chunk from the front, so no chunk is overwritten before it is read.
fn move_down(file: &File, from: u64, len: u64, to: u64) -> std::io::Result<()> {
    debug_assert!(to < from);
    let mut buf = vec![0u8; MOVE_CHUNK];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(MOVE_CHUNK as u64) as usize;
        file.read_exact_at(&mut buf[..n], from + done)?;
        file.write_all_at(&buf[..n], to + done)?;
        done += n as u64;
    }
    Ok(())
}
