//! Writing the tar: the small files first, then the directories and every
//! blob, streamed from the layout.
//!
//! The `tar` crate writes the headers (checksums, GNU long names for sha512
//! paths over 100 bytes); what goes into each header is fixed here, so the
//! same layout gives the same bytes: mtime 0, owner 0:0 with no names,
//! mode 0644 (0755 for directories), entries in a fixed order.
//!
//! Memory stays flat whatever the image size: a blob goes from its file to
//! the output through fixed buffers (`WRITE_CHUNK` on each side, and the
//! copy's own 8 KiB), never whole. Each blob is hashed as it is copied and
//! must end exactly at its descriptor's size: it was verified when it got
//! its name, but a file changed since (a disk error, a hand edit) must not
//! go out as a valid archive.
//!
//! After an error the output is poisoned: nothing more reaches it, not
//! even the two zero blocks that end a tar, so a reader of a cut stream
//! (`-o -`) sees a truncated archive, never one that looks complete.

use std::collections::BTreeMap;
use std::io::{self, BufReader, BufWriter, Read, Write};

use super::docker::blob_path;
use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};
use crate::layout::{Layout, WRITE_CHUNK};

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;
/// What a write error says (the caller knows where the output goes).
pub(crate) const WRITING: &str = "cannot write the archive";

/// The small files, encoded already.
pub(super) struct Metadata {
    pub index: Vec<u8>,
    pub manifest: Vec<u8>,
    pub repositories: Option<Vec<u8>>,
}

/// Writes the archive to `out`; returns how many bytes it is.
pub(super) fn write(
    layout: &Layout,
    blobs: &BTreeMap<Digest, u64>,
    metadata: &Metadata,
    out: impl Write,
) -> Result<u64> {
    let mut sink = Sink {
        out: BufWriter::with_capacity(WRITE_CHUNK, Counter { out, count: 0 }),
        poisoned: false,
    };
    let mut tar = tar::Builder::new(&mut sink);
    let written = entries(&mut tar, layout, blobs, metadata);
    if written.is_err() {
        // Before the builder's drop adds the end-of-archive blocks.
        tar.get_mut().poisoned = true;
    }
    drop(tar);
    written?;
    sink.out.flush().map_err(|e| Error::io(WRITING, e))?;
    Ok(sink.out.get_ref().count)
}

/// Every entry, in order: metadata first (small: a reader that stops early
/// still learns what the archive is), then `blobs/`, then the blobs by
/// digest.
fn entries<W: Write>(
    tar: &mut tar::Builder<W>,
    layout: &Layout,
    blobs: &BTreeMap<Digest, u64>,
    metadata: &Metadata,
) -> Result<()> {
    small_file(tar, "oci-layout", OCI_LAYOUT)?;
    small_file(tar, "index.json", &metadata.index)?;
    small_file(tar, "manifest.json", &metadata.manifest)?;
    if let Some(repositories) = &metadata.repositories {
        small_file(tar, "repositories", repositories)?;
    }
    directory(tar, "blobs/")?;
    let mut algorithms: Vec<&str> = blobs.keys().map(|d| d.algorithm().name()).collect();
    algorithms.dedup();
    for algorithm in algorithms {
        directory(tar, &format!("blobs/{algorithm}/"))?;
    }
    for (digest, &size) in blobs {
        blob(tar, layout, digest, size)?;
    }
    tar.finish().map_err(|e| Error::io(WRITING, e))
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

fn small_file<W: Write>(tar: &mut tar::Builder<W>, path: &str, bytes: &[u8]) -> Result<()> {
    let mut h = header(tar::EntryType::Regular, FILE_MODE, bytes.len() as u64);
    tar.append_data(&mut h, path, bytes).map_err(|e| Error::io(WRITING, e))
}

fn directory<W: Write>(tar: &mut tar::Builder<W>, path: &str) -> Result<()> {
    let mut h = header(tar::EntryType::Directory, DIR_MODE, 0);
    tar.append_data(&mut h, path, io::empty()).map_err(|e| Error::io(WRITING, e))
}

/// Streams one blob from the layout into the archive, checked as it goes.
fn blob<W: Write>(
    tar: &mut tar::Builder<W>,
    layout: &Layout,
    digest: &Digest,
    size: u64,
) -> Result<()> {
    let path = layout.blob_path(digest);
    let file = layout.open_blob(digest)?;
    let len =
        file.metadata().map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if len.len() != size {
        return Err(wrong_size(digest, size, len.len()));
    }
    let mut reader = Checked {
        file: BufReader::with_capacity(WRITE_CHUNK, file),
        digest,
        left: size,
        size,
        hasher: Some(Hasher::new(digest.algorithm())),
        problem: None,
    };
    let mut h = header(tar::EntryType::Regular, FILE_MODE, size);
    let copied = tar.append_data(&mut h, blob_path(digest), &mut reader);
    // The reader's own failure says more than the io::Error it returned.
    if let Some(problem) = reader.problem.take() {
        return Err(problem);
    }
    copied.map_err(|e| Error::io(WRITING, e))
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
