//! One blob written by several connections at once, each into its own
//! segment of the partial file (`Range` requests, for links that cap each
//! connection well below their capacity).
//!
//! The blob is still hashed once, in order: a *frontier* walks from byte 0,
//! and bytes that arrive at the frontier are hashed from memory as they
//! are written. Bytes that arrive ahead of it (another segment's) go to the
//! file only, and are read back, from the page cache, when the frontier
//! reaches them. Holding them in memory instead would cost a segment's
//! worth per connection; reading them back costs a memory copy.
//!
//! Segments cover `[0, size)` in order. One starts as the whole blob; a
//! segment with much left is split in two, the second half going to a new
//! connection; a connection whose response goes on past its segment may
//! take the next one if nobody has. Which segments are done is kept beside
//! the partial file (`<partial>.segments`), so a killed run resumes with
//! every byte it had, not just the first segment's.

use std::fs::File;
use std::io::IoSlice;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Arrivals, Place, WRITEBACK_EVERY, arrived, commit, io, start_writeback};
use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};

/// Split points are rounded down to this: page-aligned writes, and no
/// segment smaller than a write buffer.
const ALIGN: u64 = 64 << 10;
/// Bytes read back at a time when the frontier catches up.
const READ_BACK: usize = 256 << 10;

/// A part of the blob: `[start, end)`, of which `done` bytes from `start`
/// are written. `start` names it (it never moves; `end` moves down when the
/// segment is split, up when it takes the next one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub start: u64,
    pub end: u64,
    pub done: u64,
    /// A connection is writing it (not kept across runs).
    #[serde(skip)]
    pub taken: bool,
}

impl Segment {
    fn next_byte(&self) -> u64 {
        self.start + self.done
    }

    fn left(&self) -> u64 {
        self.end - self.next_byte()
    }
}

/// A segment handed to a connection: ask from `from`, stop at `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The segment's name (its start).
    pub start: u64,
    pub from: u64,
    pub end: u64,
}

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// Bytes taken: fewer than given when the segment ends before them.
    pub accepted: u64,
    /// The segment is complete.
    pub segment_done: bool,
}

struct State {
    hasher: Hasher,
    /// `[0, frontier)` is hashed.
    frontier: u64,
    segments: Vec<Segment>,
    /// Bytes written since writeback was last started (see
    /// `start_writeback`: the final fsync then finds little left to do).
    not_written_back: u64,
}

pub struct RangedWriter {
    durable: bool,
    arrivals: Option<Arrivals>,
    file: Arc<File>,
    partial: PathBuf,
    target: PathBuf,
    digest: Digest,
    size: u64,
    state: Mutex<State>,
    /// Set when the bytes go into an archive: `file` is the archive's, and
    /// the blob's byte 0 is at `place.base` in it (see `Placement`).
    place: Option<Place>,
}

/// Where the segments of `partial` are kept.
pub(super) fn segments_path(partial: &Path) -> PathBuf {
    let mut name = partial.as_os_str().to_owned();
    name.push(".segments");
    PathBuf::from(name)
}

impl RangedWriter {
    /// The sequential writer `w`, continued: `[0, w.written)` is in its
    /// file and hashed by `hasher` (its state), and the segments an
    /// earlier run kept beyond that are on disk already.
    pub(super) fn continuing(w: &mut super::BlobWriter, hasher: Hasher) -> RangedWriter {
        let segments = cover(w.size, w.written, std::mem::take(&mut w.kept));
        let state = State { hasher, frontier: w.written, segments, not_written_back: 0 };
        RangedWriter {
            durable: w.durable,
            arrivals: w.arrivals.clone(),
            file: Arc::clone(&w.file),
            partial: w.partial.clone(),
            target: w.target.clone(),
            digest: w.digest.clone(),
            size: w.size,
            state: Mutex::new(state),
            place: w.place.clone(),
        }
    }

    /// Where the blob's byte 0 is in `file`.
    fn base(&self) -> u64 {
        super::placed::base(self.place.as_ref())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes written so far, in every segment.
    pub fn written(&self) -> u64 {
        self.state().segments.iter().map(|s| s.done).sum()
    }

    /// What the segment with the most still to come has left.
    pub fn most_left(&self) -> u64 {
        self.state().segments.iter().map(Segment::left).max().unwrap_or(0)
    }

    /// Every byte is written and hashed.
    pub fn complete(&self) -> bool {
        self.state().frontier == self.size
    }

    /// A segment for a connection: one nobody is writing, else the second
    /// half of the one with the most left, when that is at least
    /// `2 * min_split`.
    pub fn claim(&self, min_split: u64) -> Option<Claim> {
        let mut st = self.state();
        if let Some(s) = st.segments.iter_mut().find(|s| !s.taken && s.left() > 0) {
            s.taken = true;
            return Some(Claim { start: s.start, from: s.next_byte(), end: s.end });
        }
        let (i, s) = st.segments.iter().enumerate().max_by_key(|(_, s)| s.left())?;
        let cut = (s.next_byte() + s.left() / 2) / ALIGN * ALIGN;
        if s.left() < 2 * min_split.max(ALIGN) || cut <= s.next_byte() {
            return None;
        }
        let new = Segment { start: cut, end: s.end, done: 0, taken: true };
        st.segments[i].end = cut;
        st.segments.insert(i + 1, new);
        Some(Claim { start: cut, from: cut, end: new.end })
    }

    /// The connection on segment `start` stopped: the segment is free
    /// for another (what it wrote is kept).
    pub fn release(&self, start: u64) {
        if let Some(s) = self.state().segments.iter_mut().find(|s| s.start == start) {
            s.taken = false;
        }
    }

    /// Segment `start` is complete and its connection's response goes on:
    /// may it take the next segment? Yes when nobody is writing it and
    /// nothing of it is written; the two are then one. Returns the new end.
    pub fn extend(&self, start: u64) -> Option<u64> {
        let mut st = self.state();
        let i = st.segments.iter().position(|s| s.start == start)?;
        let next = *st.segments.get(i + 1)?;
        if next.taken || next.done > 0 || st.segments[i].left() > 0 {
            return None;
        }
        st.segments[i].end = next.end;
        st.segments.remove(i + 1);
        Some(next.end)
    }

    /// Writes `chunks` at the end of segment `start`'s written bytes (what
    /// goes past the segment's end is not taken), hashing what lands on the
    /// frontier.
    pub fn write(&self, start: u64, chunks: &[Bytes]) -> Result<Written> {
        let mut st = self.state();
        let i =
            st.segments.iter().position(|s| s.start == start).ok_or_else(|| {
                Error::Failed(format!("blob {}: no segment at {start}", self.digest))
            })?;
        let seg = st.segments[i];
        let offered: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        let accepted = offered.min(seg.left());
        let taken = clamp(chunks, accepted);
        let at = seg.next_byte();
        write_all_at(&self.file, &taken, self.base() + at)
            .map_err(io(format!(
                "cannot write {} (what it holds is kept: the next pull resumes from there)",
                self.partial.display()
            )))
            .map_err(|e| super::placed::of_archive(self.place.as_ref(), e))?;
        st.segments[i].done += accepted;
        st.not_written_back += accepted;
        let writes_back = super::placed::writes_back(self.durable, self.place.as_ref());
        if writes_back && st.not_written_back >= WRITEBACK_EVERY {
            st.not_written_back = 0;
            start_writeback(&self.file);
        }
        if at == st.frontier {
            for c in &taken {
                st.hasher.update(c);
            }
            st.frontier += accepted;
        }
        self.catch_up(&mut st)?;
        Ok(Written { accepted, segment_done: st.segments[i].left() == 0 })
    }

    /// Moves the frontier over bytes already on disk: the segments ahead of
    /// it that were written before it got there, read back and hashed.
    fn catch_up(&self, st: &mut State) -> Result<()> {
        let mut buf = Vec::new();
        loop {
            let Some(s) =
                st.segments.iter().find(|s| s.start <= st.frontier && st.frontier < s.end)
            else {
                return Ok(());
            };
            let upto = s.next_byte();
            if upto <= st.frontier {
                return Ok(());
            }
            buf.resize(READ_BACK.min((upto - st.frontier) as usize), 0);
            read_exact_at(&self.file, &mut buf, self.base() + st.frontier)
                .map_err(io(format!("cannot read {}", self.partial.display())))?;
            st.hasher.update(&buf);
            st.frontier += buf.len() as u64;
        }
    }

    /// Drops every byte (bad content): one segment, nothing written.
    pub fn restart(&self) -> Result<()> {
        let mut st = self.state();
        super::placed::empty(&self.file, &self.partial, self.place.as_ref())?;
        st.hasher = Hasher::new(self.digest.algorithm());
        st.frontier = 0;
        st.segments = vec![Segment { start: 0, end: self.size, done: 0, taken: false }];
        Ok(())
    }

    /// Keeps which segments are done beside the partial file, for a run
    /// that resumes after this one is killed. Not synced: it only has to
    /// outlive this process, like the data in the page cache it describes;
    /// after a power cut, whatever is wrong fails the digest and is fetched
    /// again.
    pub fn save(&self) {
        if self.place.is_some() {
            // An archive is new every run: nothing resumes from it.
            return;
        }
        let segments: Vec<Segment> = self.state().segments.clone();
        let Ok(text) = serde_json::to_vec(&segments) else { return };
        let path = segments_path(&self.partial);
        let tmp = path.with_extension(format!("{:016x}.tmp", rand::random::<u64>()));
        if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// Verifies the digest, syncs and renames the blob into place (on a
    /// blocking thread, as `BlobWriter::finish`); on a mismatch every byte
    /// is dropped.
    pub async fn finish(&self) -> Result<()> {
        let got = {
            let mut st = self.state();
            if st.frontier != self.size {
                return Err(Error::Invalid(format!(
                    "blob {} ended after {} of {} bytes",
                    self.digest, st.frontier, self.size
                )));
            }
            std::mem::replace(&mut st.hasher, Hasher::new(self.digest.algorithm())).finish()
        };
        if got != self.digest {
            let _ = self.restart();
            return Err(Error::Invalid(format!(
                "blob {} has the wrong content (it hashes to {got})",
                self.digest
            )));
        }
        if let Some(place) = &self.place {
            return place.name(&self.digest, &self.partial);
        }
        let _ = std::fs::remove_file(segments_path(&self.partial));
        let file = Arc::clone(&self.file);
        let (partial, target, durable) = (self.partial.clone(), self.target.clone(), self.durable);
        tokio::task::spawn_blocking(move || commit(&file, &partial, &target, durable))
            .await
            .map_err(|e| Error::Failed(format!("storing blob {}: {e}", self.digest)))??;
        arrived(&self.arrivals, &self.digest, self.size, &self.target);
        Ok(())
    }
}

/// Segments covering `[0, size)`: the first from 0 with `written` bytes,
/// the `kept` ones beyond it as they were (those that overlap another or
/// fall outside are dropped: their bytes are fetched again), and empty ones
/// for the gaps.
fn cover(size: u64, written: u64, mut kept: Vec<Segment>) -> Vec<Segment> {
    kept.retain(|k| k.start >= written && k.start > 0 && k.end <= size && k.done > 0);
    kept.sort_by_key(|k| k.start);
    let mut segments = vec![Segment { start: 0, end: size, done: written, taken: false }];
    let mut cursor = written;
    for k in kept {
        if k.start < cursor {
            continue;
        }
        let last = segments.last_mut().expect("one segment at least");
        last.end = k.start;
        segments.push(Segment { taken: false, ..k });
        cursor = k.end;
        if k.end < size {
            segments.push(Segment { start: k.end, end: size, done: 0, taken: false });
        }
    }
    segments.retain(|s| s.end > s.start);
    segments
}

/// The first `n` bytes of `chunks`.
fn clamp(chunks: &[Bytes], mut n: u64) -> Vec<Bytes> {
    let mut out = Vec::new();
    for c in chunks {
        if n == 0 {
            break;
        }
        let take = (c.len() as u64).min(n) as usize;
        out.push(c.slice(..take));
        n -= take as u64;
    }
    out
}

/// The segments an earlier run kept for `partial`, if it left any.
pub(super) fn kept_segments(partial: &Path) -> Vec<Segment> {
    std::fs::read(segments_path(partial))
        .ok()
        .and_then(|text| serde_json::from_slice::<Vec<Segment>>(&text).ok())
        .map(|segments| {
            segments.into_iter().filter(|s| s.done > 0 && s.start + s.done <= s.end).collect()
        })
        .unwrap_or_default()
}

#[cfg(unix)]
fn write_all_at(file: &File, chunks: &[Bytes], mut at: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let mut slices: Vec<IoSlice> = chunks.iter().map(|c| IoSlice::new(c)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let count = rest.len().min(1024) as libc::c_int;
        // SAFETY: IoSlice is ABI-compatible with iovec on unix; the slices
        // and the descriptor outlive the call.
        let n = unsafe {
            libc::pwritev(file.as_raw_fd(), rest.as_ptr().cast(), count, at as libc::off_t)
        };
        match n {
            n if n > 0 => {
                at += n as u64;
                IoSlice::advance_slices(&mut rest, n as usize);
            }
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn write_all_at(file: &File, chunks: &[Bytes], mut at: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = file;
    for c in chunks {
        f.seek(SeekFrom::Start(at))?;
        f.write_all(c)?;
        at += c.len() as u64;
    }
    Ok(())
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Begin, Layout};

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn ranged(layout: &Layout, d: &Digest, size: u64) -> RangedWriter {
        match layout.begin(d, size).unwrap() {
            Begin::Writer(w) => w.into_ranged().unwrap(),
            _ => panic!("expected a writer"),
        }
    }

    /// Writes `bytes[from..end]` into segment `start`, in pieces of `piece`.
    fn fill(w: &RangedWriter, bytes: &[u8], c: Claim, piece: usize) {
        for chunk in bytes[c.from as usize..c.end as usize].chunks(piece) {
            w.write(c.start, &[Bytes::copy_from_slice(chunk)]).unwrap();
        }
    }

    #[tokio::test]
    async fn segments_written_out_of_order_hash_as_one_blob() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let bytes = data(40 * ALIGN as usize + 123);
        let d = Digest::sha256(&bytes);
        let w = ranged(&layout, &d, bytes.len() as u64);
        let first = w.claim(ALIGN).unwrap();
        assert_eq!((first.start, first.from, first.end), (0, 0, bytes.len() as u64));
        // Split three times: the second half of whatever has the most left.
        let claims: Vec<Claim> = (0..3).map(|_| w.claim(ALIGN).unwrap()).collect();
        assert!(claims.iter().all(|c| c.start % ALIGN == 0 && c.start > 0), "{claims:?}");
        // The last segment first, the first last, and a piece of each in between.
        for c in claims.iter().rev() {
            fill(&w, &bytes, *c, 7000);
        }
        assert!(!w.complete(), "nothing at the frontier yet");
        let first = Claim { end: claims.iter().map(|c| c.start).min().unwrap(), ..first };
        fill(&w, &bytes, first, 5000);
        assert!(w.complete());
        w.finish().await.unwrap();
        assert_eq!(layout.read_blob(&d).unwrap(), bytes);
    }

    #[tokio::test]
    async fn a_segment_takes_no_more_than_its_end_and_may_take_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let bytes = data(8 * ALIGN as usize);
        let d = Digest::sha256(&bytes);
        let w = ranged(&layout, &d, bytes.len() as u64);
        let a = w.claim(ALIGN).unwrap();
        let b = w.claim(ALIGN).unwrap();
        assert_eq!(b.start, 4 * ALIGN);
        // A response that goes on past its segment: only the segment is taken.
        let all = Bytes::copy_from_slice(&bytes);
        let written = w.write(a.start, &[all]).unwrap();
        assert_eq!(written, Written { accepted: b.start, segment_done: true });
        // The next one is being written: it cannot be taken.
        assert_eq!(w.extend(a.start), None);
        w.release(b.start);
        assert_eq!(w.extend(a.start), Some(bytes.len() as u64), "free and empty: taken");
        w.write(a.start, &[Bytes::copy_from_slice(&bytes[b.start as usize..])]).unwrap();
        w.finish().await.unwrap();
        assert!(layout.has_blob(&d, bytes.len() as u64));
    }

    #[tokio::test]
    async fn a_killed_run_resumes_with_every_segment_it_had() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let bytes = data(16 * ALIGN as usize + 9);
        let d = Digest::sha256(&bytes);
        let size = bytes.len() as u64;
        let w = ranged(&layout, &d, size);
        let a = w.claim(ALIGN).unwrap();
        let b = w.claim(ALIGN).unwrap();
        // Half of the first segment, all of the second, then killed.
        fill(&w, &bytes, Claim { end: a.from + 3 * ALIGN, ..a }, 4096);
        fill(&w, &bytes, b, 4096);
        w.save();
        drop(w);
        let w = ranged(&layout, &d, size);
        assert_eq!(w.written(), 3 * ALIGN + (size - b.start), "both kept");
        let first = w.claim(ALIGN).unwrap();
        assert_eq!((first.start, first.from, first.end), (0, 3 * ALIGN, b.start));
        assert_eq!(w.claim(8 * ALIGN), None, "nothing else is free, nor worth splitting");
        fill(&w, &bytes, first, 9000);
        w.finish().await.unwrap();
        assert_eq!(layout.read_blob(&d).unwrap(), bytes);
        assert!(!segments_path(&layout.partial_path(&d)).exists(), "no leftover state");
    }

    #[tokio::test]
    async fn wrong_bytes_are_dropped_whole() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let bytes = data(4 * ALIGN as usize);
        let d = Digest::sha256(b"something else");
        let w = ranged(&layout, &d, bytes.len() as u64);
        let c = w.claim(ALIGN).unwrap();
        fill(&w, &bytes, c, 65536);
        assert!(matches!(w.finish().await, Err(Error::Invalid(_))));
        assert_eq!(w.written(), 0);
        assert!(!layout.has_blob(&d, bytes.len() as u64));
    }

    #[test]
    fn segments_cover_the_blob_whatever_an_earlier_run_left() {
        let seg = |start, end, done| Segment { start, end, done, taken: false };
        let spans =
            |v: Vec<Segment>| v.iter().map(|s| (s.start, s.end, s.done)).collect::<Vec<_>>();
        // (written prefix, kept) -> segments
        type Spans = Vec<(u64, u64, u64)>;
        let table: [(u64, Vec<Segment>, Spans); 4] = [
            (0, vec![], vec![(0, 100, 0)]),
            (10, vec![seg(50, 80, 5)], vec![(0, 50, 10), (50, 80, 5), (80, 100, 0)]),
            (
                10,
                vec![seg(50, 100, 50), seg(20, 30, 1)],
                vec![(0, 20, 10), (20, 30, 1), (30, 50, 0), (50, 100, 50)],
            ),
            // Overlapping, outside, or below the prefix: dropped.
            (
                40,
                vec![seg(30, 60, 5), seg(90, 120, 5), seg(50, 70, 5), seg(55, 80, 5)],
                vec![(0, 50, 40), (50, 70, 5), (70, 100, 0)],
            ),
        ];
        for (written, kept, want) in table {
            assert_eq!(spans(cover(100, written, kept.clone())), want, "{written} {kept:?}");
        }
    }
}
