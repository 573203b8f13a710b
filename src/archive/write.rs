//! Writing the tar, entry by entry (`Tar`): for `export`, the small files
//! first, then every blob in digest order (`write`); for a pull, each blob
//! as it arrives and the small files last (`stream`).
//!
//! The `tar` crate writes the headers (checksums, GNU long names for sha512
//! paths over 100 bytes); what goes into each header is fixed here, so the
//! same layout gives the same bytes: mtime 0, owner 0:0 with no names,
//! mode 0644 (0755 for directories), entries in a fixed order.
//!
//! Memory stays flat whatever the image size: a blob goes from its file to
//! the output through fixed buffers (`WRITE_CHUNK` on each side, and the
//! copy's own 8 KiB), or inside the kernel, never whole. Each blob must end
//! exactly at its descriptor's size; an export hashes it again as it is
//! copied: it was verified when it got its name, but a file changed since
//! (a disk error, a hand edit) must not go out as a valid archive. A pull
//! does not: its blobs were verified moments ago, in its own scratch
//! layout.
//!
//! Written beside layers placed in the file directly (`in_regions`), each
//! entry goes where `Regions` allotted it rather than after the one
//! before, and must fill exactly that space (checked).
//!
//! After an error the output is poisoned: nothing more reaches it, not
//! even the two zero blocks that end a tar, so a reader of a cut stream
//! (`-o -`) sees a truncated archive, never one that looks complete.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek as _, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use super::docker::blob_path;
use super::regions::Regions;
use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};
use crate::layout::{Layout, WRITE_CHUNK, WRITEBACK_EVERY, open_nofollow};

/// Tar's block: every entry starts on one.
pub(super) const BLOCK: u64 = 512;

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;
/// What a write error says (the caller knows where the output goes).
/// The same words as a layer's failed write into it (`pull -o FILE.tar`).
pub(crate) const WRITING: &str = crate::layout::WRITING_ARCHIVE;

/// The small files, encoded already.
pub(super) struct Metadata {
    pub index: Vec<u8>,
    pub manifest: Vec<u8>,
    pub repositories: Option<Vec<u8>>,
}

/// Where an archive goes. A blob that needs no hashing on its way goes
/// from its file to the output inside the kernel: std's `io::copy` uses
/// `copy_file_range` into a file and `splice` into a pipe for these types,
/// so the bytes never pass through this process (half the CPU of a
/// `pull -o -` on loopback went into copying them, measured).
pub trait Output: Write {
    fn copy_from(&mut self, blob: &mut io::Take<File>) -> io::Result<u64> {
        io::copy(blob, self)
    }
    /// Asks for what was written to start going to disk (a file).
    fn start_writeback(&mut self) {}
    /// Moves to byte `at` (a file: see `Regions`).
    fn seek_to(&mut self, _at: u64) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

impl Output for File {
    fn copy_from(&mut self, blob: &mut io::Take<File>) -> io::Result<u64> {
        io::copy(blob, self)
    }
    fn start_writeback(&mut self) {
        crate::layout::start_writeback(self);
    }
    fn seek_to(&mut self, at: u64) -> io::Result<()> {
        self.seek(SeekFrom::Start(at)).map(|_| ())
    }
}

impl Output for Vec<u8> {}

impl Output for io::Sink {}

impl<W: Output + ?Sized> Output for &mut W {
    fn copy_from(&mut self, blob: &mut io::Take<File>) -> io::Result<u64> {
        (**self).copy_from(blob)
    }
    fn start_writeback(&mut self) {
        (**self).start_writeback();
    }
    fn seek_to(&mut self, at: u64) -> io::Result<()> {
        (**self).seek_to(at)
    }
}

/// Writes the archive of a layout to `out`, in a fixed order: metadata
/// first (small: a reader that stops early still learns what the archive
/// is), then the blobs by digest. Returns how many bytes it is.
pub(super) fn write(
    layout: &Layout,
    blobs: &BTreeMap<Digest, u64>,
    metadata: &Metadata,
    out: impl Output,
) -> Result<u64> {
    let mut tar = Tar::new(out);
    tar.metadata(metadata)?;
    for (digest, &size) in blobs {
        tar.blob(&layout.blob_path(digest), digest, size, super::Rehash::Yes)?;
    }
    tar.finish()
}

/// A tar being written, entry by entry. Dropped before `finish`, the
/// output is poisoned: the end-of-archive blocks never go out.
pub(super) struct Tar<W: Output> {
    tar: tar::Builder<Sink<W>>,
    /// The directories already in it (`blobs/`, `blobs/<algorithm>/`).
    directories: BTreeSet<String>,
    /// Set when layers are placed in the file directly: every entry is
    /// written where `Regions` allocated it, not after the one before.
    regions: Option<Arc<Regions>>,
    /// Where the entry being written must end (see `at`).
    entry_end: u64,
}

impl<W: Output> Tar<W> {
    pub(super) fn new(out: W) -> Tar<W> {
        let sink = Sink {
            out: BufWriter::with_capacity(WRITE_CHUNK, Counter { out, count: 0 }),
            poisoned: false,
            since_writeback: 0,
        };
        let tar = tar::Builder::new(sink);
        Tar { tar, directories: BTreeSet::new(), regions: None, entry_end: 0 }
    }

    /// A tar whose entries go where `regions` allocates them, beside the
    /// layers placed there. Its directories go in first: before any room.
    pub(super) fn in_regions(out: W, regions: Arc<Regions>) -> Result<Tar<W>> {
        let mut tar = Tar::new(out);
        tar.regions = Some(regions);
        tar.directory("blobs/".into())?;
        tar.directory("blobs/sha256/".into())?;
        Ok(tar)
    }

    /// With regions: moves the output to the `len` bytes allocated for the
    /// next entry (`entry_end` says where the entry must end). Without, the
    /// entry follows the one before.
    fn at(&mut self, len: u64) -> Result<()> {
        let Some(regions) = &self.regions else { return Ok(()) };
        let start = regions.allocate(len)?;
        let sink = self.tar.get_mut();
        sink.flush().map_err(|e| Error::io(WRITING, e))?;
        let counter = sink.out.get_mut();
        counter.out.seek_to(start).map_err(|e| Error::io(WRITING, e))?;
        counter.count = start;
        self.entry_end = start + len;
        Ok(())
    }

    /// With regions: the entry just written filled its allocation exactly.
    fn filled(&mut self) -> Result<()> {
        if self.regions.is_none() {
            return Ok(());
        }
        let sink = self.tar.get_mut();
        sink.flush().map_err(|e| Error::io(WRITING, e))?;
        match sink.out.get_ref().count == self.entry_end {
            true => Ok(()),
            false => self.check(Err(Error::Failed(
                "an archive entry did not fill the space allotted to it".into(),
            ))),
        }
    }

    /// With regions: closes up the rooms of layers that were never placed
    /// (see `Regions::close_up`). Call once every download has stopped.
    pub(super) fn close_up(&mut self) -> Result<()> {
        let Some(regions) = &self.regions else { return Ok(()) };
        self.tar.get_mut().flush().map_err(|e| Error::io(WRITING, e))?;
        let closed = regions.close_up();
        self.check(closed)
    }

    /// `oci-layout`, `index.json`, `manifest.json` and `repositories`.
    pub(super) fn metadata(&mut self, metadata: &Metadata) -> Result<()> {
        self.small_file("oci-layout", OCI_LAYOUT)?;
        self.small_file("index.json", &metadata.index)?;
        self.small_file("manifest.json", &metadata.manifest)?;
        if let Some(repositories) = &metadata.repositories {
            self.small_file("repositories", repositories)?;
        }
        Ok(())
    }

    /// Appends the end-of-archive blocks; returns the archive's size.
    pub(super) fn finish(mut self) -> Result<u64> {
        self.at(2 * BLOCK)?;
        self.tar.finish().map_err(|e| Error::io(WRITING, e))?;
        self.filled()?;
        let sink = self.tar.get_mut();
        sink.out.flush().map_err(|e| Error::io(WRITING, e))?;
        match &self.regions {
            Some(regions) => regions.truncate(),
            None => Ok(sink.out.get_ref().count),
        }
    }

    fn small_file(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        self.at(header_len(path) + padded(bytes.len() as u64))?;
        let mut h = header(tar::EntryType::Regular, FILE_MODE, bytes.len() as u64);
        let written = self.tar.append_data(&mut h, path, bytes);
        self.check(written.map_err(|e| Error::io(WRITING, e)))?;
        self.filled()
    }

    fn directory(&mut self, path: String) -> Result<()> {
        if self.directories.contains(&path) {
            return Ok(());
        }
        self.at(header_len(&path))?;
        let mut h = header(tar::EntryType::Directory, DIR_MODE, 0);
        let written = self.tar.append_data(&mut h, &path, io::empty());
        self.check(written.map_err(|e| Error::io(WRITING, e)))?;
        self.filled()?;
        self.directories.insert(path);
        Ok(())
    }

    /// Streams the blob at `path` into the archive (after its directories,
    /// the first time), checked as it goes: it must be exactly `size`
    /// bytes, and hash to `digest` unless `rehash` says it was verified
    /// moments ago.
    pub(super) fn blob(
        &mut self,
        path: &Path,
        digest: &Digest,
        size: u64,
        rehash: super::Rehash,
    ) -> Result<()> {
        self.directory("blobs/".into())?;
        self.directory(format!("blobs/{}/", digest.algorithm().name()))?;
        let file = open_nofollow(OpenOptions::new().read(true), path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        let len =
            file.metadata().map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if len.len() != size {
            return self.check(Err(wrong_size(digest, size, len.len())));
        }
        let mut h = header(tar::EntryType::Regular, FILE_MODE, size);
        let name = blob_path(digest);
        // A path tar's header holds (sha512's does not: a GNU long name).
        let fits = h.set_path(&name).is_ok();
        self.at(header_len(&name) + padded(size))?;
        let copied = match rehash {
            super::Rehash::No if fits => self.in_kernel(&mut h, file, digest, size),
            _ => self.through_buffers(&mut h, file, digest, size, rehash),
        };
        self.check(copied)?;
        self.filled()?;
        let sink = self.tar.get_mut();
        sink.since_writeback += size;
        if sink.since_writeback >= WRITEBACK_EVERY {
            sink.since_writeback = 0;
            let _ = sink.out.flush();
            sink.out.get_mut().out.start_writeback();
        }
        Ok(())
    }

    /// The header, then the blob from its file to the output in the kernel
    /// (see `Output`), then the padding to the next block.
    fn in_kernel(
        &mut self,
        h: &mut tar::Header,
        file: File,
        digest: &Digest,
        size: u64,
    ) -> Result<()> {
        h.set_cksum();
        let sink = self.tar.get_mut();
        sink.write_all(h.as_bytes())
            .and_then(|_| sink.flush())
            .map_err(|e| Error::io(WRITING, e))?;
        let counter = sink.out.get_mut();
        let copied = counter.out.copy_from(&mut file.take(size));
        let copied = copied.map_err(|e| Error::io(WRITING, e))?;
        counter.count += copied;
        if copied != size {
            return Err(wrong_size(digest, size, copied));
        }
        let padding = (BLOCK - size % BLOCK) % BLOCK;
        sink.write_all(&[0; BLOCK as usize][..padding as usize]).map_err(|e| Error::io(WRITING, e))
    }

    /// The blob read through buffers, hashed if `rehash` says so.
    fn through_buffers(
        &mut self,
        h: &mut tar::Header,
        file: File,
        digest: &Digest,
        size: u64,
        rehash: super::Rehash,
    ) -> Result<()> {
        let mut reader = Checked {
            file: BufReader::with_capacity(WRITE_CHUNK, file),
            digest,
            left: size,
            size,
            hasher: (rehash == super::Rehash::Yes).then(|| Hasher::new(digest.algorithm())),
            problem: None,
        };
        let copied = self.tar.append_data(h, blob_path(digest), &mut reader);
        // The reader's own failure says more than the io::Error it returned.
        if let Some(problem) = reader.problem.take() {
            return Err(problem);
        }
        copied.map_err(|e| Error::io(WRITING, e))
    }

    /// After an error nothing more reaches the output.
    fn check(&mut self, result: Result<()>) -> Result<()> {
        if result.is_err() {
            self.tar.get_mut().poisoned = true;
        }
        result
    }
}

impl<W: Output> Drop for Tar<W> {
    fn drop(&mut self) {
        // Before the builder's own drop adds the end-of-archive blocks
        // (after `finish`, nothing is written any more anyway).
        self.tar.get_mut().poisoned = true;
    }
}

/// `size` rounded up to whole blocks (saturating: a size a server made up
/// near 2^64 is refused by whoever allots space for it).
pub(super) fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK).saturating_mul(BLOCK)
}

/// The blocks before an entry's data: its header, and before it a GNU
/// long-name entry (the path and a NUL, in blocks) for a path over the
/// header's 100 bytes, as the `tar` crate writes it.
fn header_len(path: &str) -> u64 {
    match path.len() {
        0..=100 => BLOCK,
        n => 2 * BLOCK + padded(n as u64 + 1),
    }
}

/// The header of blob `digest`'s entry, as `Tar::blob` writes it, for a
/// layer written into the archive directly (see `Regions`).
pub(super) fn blob_header(digest: &Digest, size: u64) -> Result<[u8; BLOCK as usize]> {
    let mut h = header(tar::EntryType::Regular, FILE_MODE, size);
    h.set_path(blob_path(digest))
        .map_err(|e| Error::Failed(format!("blob {digest}: no tar header for it ({e})")))?;
    h.set_cksum();
    Ok(*h.as_bytes())
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn wrong_size(digest: &Digest, expected: u64, got: u64) -> Error {
    Error::Invalid(format!(
        "blob {digest} in the layout has {got} bytes but its descriptor says {expected}: \
         the layout was changed outside ocimirror; nothing was exported"
    ))
}

/// A blob's bytes, exactly `size` of them, hashed on the way: at the end
/// the file must end and the hash match, or the read fails.
struct Checked<'a, R> {
    file: R,
    digest: &'a Digest,
    left: u64,
    size: u64,
    /// Taken when the last byte is read and the hash checked.
    hasher: Option<Hasher>,
    /// Why a read failed, for the caller (the tar copy sees only io::Error).
    problem: Option<Error>,
}

impl<R: Read> Checked<'_, R> {
    fn fail(&mut self, problem: Error) -> io::Error {
        self.problem = Some(problem);
        io::Error::new(io::ErrorKind::InvalidData, "the blob failed its check")
    }

    /// At the descriptor's size: nothing may follow, and the bytes must
    /// hash to the digest.
    fn check_end(&mut self) -> io::Result<()> {
        let Some(hasher) = self.hasher.take() else { return Ok(()) };
        let mut probe = [0u8; 1];
        let more = self
            .file
            .read(&mut probe)
            .map_err(|e| self.fail(Error::io("cannot read a blob", e)))?;
        if more > 0 {
            return Err(self.fail(Error::Invalid(format!(
                "blob {} in the layout is longer than its descriptor's {} bytes",
                self.digest, self.size
            ))));
        }
        let got = hasher.finish();
        if &got != self.digest {
            return Err(self.fail(Error::Invalid(format!(
                "blob {} in the layout has the wrong content (it hashes to {got}): \
                 the layout is damaged; pull the image again",
                self.digest
            ))));
        }
        Ok(())
    }
}

impl<R: Read> Read for Checked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            self.check_end()?;
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = match self.file.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                return Err(self.fail(Error::io(format!("cannot read blob {}", self.digest), e)));
            }
        };
        if n == 0 {
            let (digest, size, got) = (self.digest, self.size, self.size - self.left);
            return Err(self.fail(wrong_size(digest, size, got)));
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The output: buffered, counted, and closed for good after an error.
struct Sink<W: Write> {
    out: BufWriter<Counter<W>>,
    poisoned: bool,
    /// Blob bytes written since writeback was last started.
    since_writeback: u64,
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(io::Error::other("the archive was abandoned"));
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.poisoned {
            return Err(io::Error::other("the archive was abandoned"));
        }
        self.out.flush()
    }
}

/// Counts what reached the output.
struct Counter<W> {
    out: W,
    count: u64,
}

impl<W: Write> Write for Counter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
