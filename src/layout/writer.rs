//! Writing one blob into a layout: to its partial file, hashed as the
//! bytes arrive, verified, then renamed into `blobs/` (or, placed in an
//! archive, told to its `Placement`). `layout/ranged.rs` continues a
//! writer on several connections at once.

use std::fs::{self, File};
use std::io::{IoSlice, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::placed::{self, Place};
use super::{
    Arrivals, RangedWriter, Segment, WRITE_CHUNK, WRITEBACK_EVERY, arrived, io, own_dir, ranged,
};
use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};

// Made once per blob and matched at once: boxing the writer would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Begin {
    Writer(BlobWriter),
    /// Another process holds the lock on this blob's partial file.
    Busy,
    /// The blob is already in place.
    Present,
}

/// What an earlier run left of a blob's download in `partial` (open, and
/// locked, as `file`): the prefix to continue from, hashed, and the
/// segments a ranged download kept beyond it. Leaves `file` at the
/// prefix's end.
pub(super) fn resume(
    file: &mut File,
    partial: &Path,
    digest: &Digest,
    size: u64,
) -> Result<Resumed> {
    // A download in segments left a file with holes: only its first
    // segment is a prefix (the others are kept for a ranged writer).
    let mut hasher = Hasher::new(digest.algorithm());
    let kept = ranged::kept_segments(partial);
    let len = file.metadata().map_err(io(format!("cannot read {}", partial.display())))?.len();
    let mut have = match kept.iter().find(|s| s.start == 0) {
        Some(first) if !kept.is_empty() => first.done.min(len),
        _ if !kept.is_empty() => 0,
        _ => len,
    };
    if len > size {
        file.set_len(0).map_err(io(format!("cannot truncate {}", partial.display())))?;
        let _ = fs::remove_file(ranged::segments_path(partial));
        have = 0;
    } else if have > 0 {
        let mut buf = vec![0u8; WRITE_CHUNK];
        let mut left = have;
        file.seek(SeekFrom::Start(0)).map_err(io(format!("cannot read {}", partial.display())))?;
        while left > 0 {
            let n = file
                .read(&mut buf[..(left.min(WRITE_CHUNK as u64) as usize)])
                .map_err(io(format!("cannot read {}", partial.display())))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
    }
    file.seek(SeekFrom::Start(have)).map_err(io(format!("cannot seek {}", partial.display())))?;
    let kept = kept.into_iter().filter(|s| s.start > 0 && len <= size).collect();
    Ok(Resumed { have, hasher, kept })
}

/// Where a writer starts: `have` bytes, hashed by `hasher`, and the
/// segments beyond them kept from an earlier ranged download.
pub(super) struct Resumed {
    pub have: u64,
    pub hasher: Hasher,
    pub kept: Vec<Segment>,
}

/// A blob being written: hashed and counted as it goes, renamed into place
/// only when complete and correct.
///
/// Hashing and writing happen on the caller's thread, as the bytes arrive:
/// each blob downloads in its own task (see `pull`), so the runtime spreads
/// blobs over the cores, and the bytes are hashed and written while still
/// in that core's cache. Handing every buffer to a blocking thread instead
/// cost a wake-up and a cache miss per buffer: ~20% of the CPU of a large
/// pull, measured.
pub struct BlobWriter {
    /// Synced before it is named (see `Layout::durable`).
    pub(super) durable: bool,
    /// Told once it is named (see `Arrivals`).
    pub(super) arrivals: Option<Arrivals>,
    /// Shared with the blocking thread that syncs and renames it.
    pub(super) file: Arc<File>,
    pub(super) partial: PathBuf,
    pub(super) target: PathBuf,
    pub(super) digest: Digest,
    pub(super) size: u64,
    pub(super) written: u64,
    pub(super) hasher: Hasher,
    /// The received chunks not yet written, as the HTTP client handed them
    /// over: kept, not copied, and written with one `writev`.
    pub(super) buf: Vec<Bytes>,
    /// Their total length.
    pub(super) buffered: usize,
    /// Bytes written since writeback was last started.
    pub(super) not_written_back: u64,
    /// A write failed: the file may hold part of a buffer the hash covers
    /// in full, so nothing more may be written or completed.
    pub(super) broken: bool,
    /// Verified and synced, not yet named (see `seal`).
    pub(super) sealed: bool,
    /// Segments beyond the prefix that an earlier ranged download left
    /// (see `into_ranged`).
    pub(super) kept: Vec<Segment>,
    /// Set when the bytes go into an archive, not the partial file: `file`
    /// is then the archive's (see `Placement`).
    pub(super) place: Option<Place>,
}

impl BlobWriter {
    /// How many bytes are already here (from a previous run or attempt).
    pub fn offset(&self) -> u64 {
        self.written
    }

    /// Drops everything written so far (the server ignored our Range, or
    /// sent bad bytes).
    pub fn restart(&mut self) -> Result<()> {
        self.clear_buffer();
        placed::empty(&self.file, &self.partial, self.place.as_ref())?;
        let start = placed::base(self.place.as_ref());
        let what = format!("cannot seek {}", self.partial.display());
        (&*self.file).seek(SeekFrom::Start(start)).map_err(io(what))?;
        self.hasher = Hasher::new(self.digest.algorithm());
        self.written = 0;
        self.broken = false;
        self.sealed = false;
        self.kept.clear();
        let _ = fs::remove_file(ranged::segments_path(&self.partial));
        Ok(())
    }

    /// Appends bytes. More bytes than the descriptor's size is an error:
    /// the size is part of the contract. Bytes are buffered up to
    /// `WRITE_CHUNK`, then hashed and written.
    pub fn write(&mut self, bytes: Bytes) -> Result<()> {
        self.check_intact()?;
        if self.written + bytes.len() as u64 > self.size {
            return Err(Error::Invalid(format!(
                "blob {} is longer than its descriptor's {} bytes",
                self.digest, self.size
            )));
        }
        self.written += bytes.len() as u64;
        self.buffered += bytes.len();
        self.buf.push(bytes);
        if self.buffered >= WRITE_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn check_intact(&self) -> Result<()> {
        match self.broken {
            false => Ok(()),
            true => Err(Error::Failed(format!(
                "blob {}: an earlier write to {} failed",
                self.digest,
                self.partial.display()
            ))),
        }
    }

    fn clear_buffer(&mut self) {
        self.buf.clear();
        self.buffered = 0;
    }

    /// Hashes the buffered bytes and writes them to the partial file (so a
    /// later run can resume). Hashing as the bytes go to disk keeps the hash
    /// covering exactly what the file holds, in one pass. After an error
    /// the writer is done for (every later call fails): the file may hold
    /// only part of the buffer while the hash covers all of it. The next
    /// `begin` hashes what the file really holds.
    pub fn flush(&mut self) -> Result<()> {
        self.check_intact()?;
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = hash_and_write(&mut self.hasher, &self.file, &self.partial, &self.buf)
            .map_err(|e| placed::of_archive(self.place.as_ref(), e));
        self.not_written_back += self.buffered as u64;
        self.clear_buffer();
        self.broken = result.is_err();
        result?;
        // A scratch layout's files are never synced: started to disk, they
        // cost the disk bandwidth of a copy about to be deleted.
        let writes_back = placed::writes_back(self.durable, self.place.as_ref());
        if writes_back && self.not_written_back >= WRITEBACK_EVERY {
            self.not_written_back = 0;
            start_writeback(&self.file);
        }
        Ok(())
    }

    /// Is every byte of the blob here?
    pub fn complete(&self) -> bool {
        self.written == self.size
    }

    /// This download, continued on several connections at once: what is
    /// written so far (and hashed) is its first segment, and the segments
    /// an earlier ranged run left are kept.
    pub fn into_ranged(mut self) -> Result<RangedWriter> {
        self.flush()?;
        let hasher = std::mem::replace(&mut self.hasher, Hasher::new(self.digest.algorithm()));
        Ok(RangedWriter::continuing(&mut self, hasher))
    }

    /// Verifies size and digest, syncs, and renames the blob into place
    /// (a placed blob: tells its placement instead, see `Placement`); on a
    /// digest mismatch the partial data is discarded. The fsync and
    /// the rename happen on a blocking thread, so one blob's fsync does not
    /// hold up the downloads of the others (and concurrent fsyncs share
    /// journal commits).
    pub async fn finish(&mut self) -> Result<()> {
        if !self.sealed {
            self.flush()?;
            self.verify()?;
        }
        if let Some(place) = &self.place {
            return place.name(&self.digest, &self.partial);
        }
        let _ = fs::remove_file(ranged::segments_path(&self.partial));
        let file = Arc::clone(&self.file);
        let (partial, target) = (self.partial.clone(), self.target.clone());
        let durable = self.durable && !self.sealed;
        tokio::task::spawn_blocking(move || commit(&file, &partial, &target, durable))
            .await
            .map_err(|e| Error::Failed(format!("storing blob {}: {e}", self.digest)))??;
        arrived(&self.arrivals, &self.digest, self.size, &self.target);
        Ok(())
    }

    /// What `finish` does before the rename: writes out what is buffered,
    /// verifies size and digest (a mismatch drops the data), and syncs. For
    /// a blob that must wait before it is named: the wait then holds no
    /// buffer, and `finish` only renames.
    pub async fn seal(&mut self) -> Result<()> {
        if self.sealed {
            return Ok(());
        }
        self.flush()?;
        self.verify()?;
        if self.durable {
            let file = Arc::clone(&self.file);
            let what = format!("cannot sync {}", self.partial.display());
            tokio::task::spawn_blocking(move || file.sync_all().map_err(io(what)))
                .await
                .map_err(|e| Error::Failed(format!("storing blob {}: {e}", self.digest)))??;
        }
        self.sealed = true;
        Ok(())
    }

    /// Every byte is here and hashes to the digest; else the data is dropped.
    fn verify(&mut self) -> Result<()> {
        if self.written != self.size {
            return Err(Error::Invalid(format!(
                "blob {} ended after {} of {} bytes",
                self.digest, self.written, self.size
            )));
        }
        let got =
            std::mem::replace(&mut self.hasher, Hasher::new(self.digest.algorithm())).finish();
        if got != self.digest {
            let _ = self.restart();
            return Err(Error::Invalid(format!(
                "blob {} has the wrong content (it hashes to {got})",
                self.digest
            )));
        }
        Ok(())
    }
}

/// Hashes the chunks and appends them to the partial file at `path`.
fn hash_and_write(hasher: &mut Hasher, file: &File, path: &Path, chunks: &[Bytes]) -> Result<()> {
    for chunk in chunks {
        hasher.update(chunk);
    }
    write_all_vectored(file, chunks).map_err(io(format!(
        "cannot write {} (what it holds is kept: the next pull resumes from there)",
        path.display()
    )))
}

/// `write_all` for several buffers: `writev` until every byte is written
/// (std's `write_all_vectored` is not stable yet).
fn write_all_vectored(mut file: &File, chunks: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice> = chunks.iter().map(|c| IoSlice::new(c)).collect();
    let mut rest = &mut slices[..];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Asks the kernel to start writing the file's dirty pages to disk now,
/// without waiting for it (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`).
/// Not a durability step: `commit` still fsyncs before the rename. But the
/// kernel would otherwise leave a whole blob in the page cache until that
/// fsync, which then had to write all of it while the pull waited (~0.2 s
/// for a 500 MiB image here); started early, the writing overlaps the
/// download and the fsync finds little left to do. Best effort: errors
/// (a filesystem without it) are ignored.
#[cfg(target_os = "linux")]
pub(crate) fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd as _;
    // SAFETY: a system call on a descriptor that `file` keeps open for its
    // duration; no memory is shared. Offset 0, length 0: the whole file.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn start_writeback(_file: &File) {}

/// Makes a verified partial file durable, then gives it its name: fsync,
/// then rename into `blobs/` (the directory is synced before index.json
/// names the blob, in `add_image`).
pub(super) fn commit(file: &File, partial: &Path, target: &Path, durable: bool) -> Result<()> {
    if durable {
        file.sync_all().map_err(io(format!("cannot sync {}", partial.display())))?;
    }
    if let Some(dir) = target.parent() {
        own_dir(dir)?;
    }
    fs::rename(partial, target).map_err(io(format!("cannot move a blob to {}", target.display())))
}
