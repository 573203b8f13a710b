//! The shared blob cache: verified blobs (layers, configs, manifests) by
//! digest, shared by every layout a user pulls into. It is itself an OCI
//! layout without images (`blobs/sha256/<hex>`, partial downloads in
//! `.ocimirror/partial/`), so it keeps the layout's discipline whole:
//! downloads are written under a lock to a partial file named by digest,
//! and renamed into place only once verified; a partial download is
//! resumed by any run, whichever layout it pulls into.
//!
//! A layout gets a cached blob by hard link, so both are one file on disk
//! (nothing ever writes into a blob once it is named, so neither can change
//! the other); across filesystems, or from a blob another user owns, by a
//! copy that is verified as it is made. A cached blob is checked before it
//! is linked: its size always, its whole content with `--verify-cache`.
//! One that fails is discarded, and the blob is fetched again.

use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};
use crate::layout::{self, Begin, Layout, open_nofollow, still_named};

/// How a cached blob reached the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linked {
    /// A hard link: one file, no bytes copied.
    Linked,
    /// A verified copy (another filesystem, or another user's blob).
    Copied,
}

#[derive(Clone, Debug)]
pub struct BlobCache {
    store: Layout,
    verify: bool,
}

impl BlobCache {
    /// Opens the cache at `dir`, creating it if needed. `verify`: re-hash
    /// every blob before it is linked.
    pub fn open(dir: &Path, verify: bool) -> Result<BlobCache> {
        Ok(BlobCache { store: Layout::open(dir)?, verify })
    }

    /// The cache as a layout: where downloads are written.
    pub fn store(&self) -> &Layout {
        &self.store
    }

    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// A manifest (or any small blob) from the cache, if it has one of
    /// this size; the caller verifies it (`Manifest::from_stored`).
    pub fn read_small(&self, digest: &Digest, size: Option<u64>, max: u64) -> Option<Bytes> {
        let file = self.checked_open(digest, size)?.0;
        let mut bytes = Vec::new();
        file.take(max + 1).read_to_end(&mut bytes).ok()?;
        (bytes.len() as u64 <= max).then(|| bytes.into())
    }

    /// Keeps a small verified blob (a manifest) for later runs. Best effort:
    /// a cache that cannot be written only costs a fetch next time.
    pub fn put_verified(&self, digest: &Digest, bytes: &[u8]) {
        if let Err(e) = self.store.put_verified(digest, bytes) {
            tracing::debug!("{digest} not cached: {e}");
        }
    }

    /// The cached blob, open, if it is a plain file of the right size;
    /// a file of the wrong size is discarded.
    fn checked_open(&self, digest: &Digest, size: Option<u64>) -> Option<(File, PathBuf)> {
        let path = self.store.blob_path(digest);
        let file = open_nofollow(OpenOptions::new().read(true), &path).ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        if size.is_some_and(|s| s != meta.len()) {
            self.discard(&file, &path, "has the wrong size");
            return None;
        }
        Some((file, path))
    }

    /// Removes a cached blob found bad (only the name that was checked).
    fn discard(&self, file: &File, path: &Path, why: &str) {
        tracing::warn!("cached blob {} {why}; discarded, it is fetched again", path.display());
        if still_named(file, path) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Puts the cached blob into `layout`: `Some` when it is there now,
    /// `None` when the cache does not have it (or had a bad copy, now
    /// discarded) and it must be fetched.
    pub async fn place(
        &self,
        layout: &Layout,
        digest: &Digest,
        size: u64,
        stall: std::time::Duration,
    ) -> Result<Option<Linked>> {
        let Some((file, path)) = self.checked_open(digest, Some(size)) else { return Ok(None) };
        if self.verify && !hashes_to(&file, digest) {
            self.discard(&file, &path, "does not hash to its name");
            return Ok(None);
        }
        touch(&file);
        if owned_by_me(&file) && layout.link_verified(digest, &path, &file)? {
            return Ok(Some(Linked::Linked));
        }
        self.copy(layout, digest, size, &file, &path, stall).await
    }

    /// A verified copy into the layout, through its own partial file (as a
    /// download would be): wrong bytes never get the name, and show the
    /// cached blob is bad.
    async fn copy(
        &self,
        layout: &Layout,
        digest: &Digest,
        size: u64,
        file: &File,
        path: &Path,
        stall: std::time::Duration,
    ) -> Result<Option<Linked>> {
        let mut writer = loop {
            match layout.begin(digest, size)? {
                Begin::Writer(w) => break w,
                Begin::Present => return Ok(Some(Linked::Copied)),
                Begin::Busy => {
                    let (layout, digest) = (layout.clone(), digest.clone());
                    tokio::task::spawn_blocking(move || layout.wait_for(&digest, stall))
                        .await
                        .map_err(|e| Error::Failed(format!("waiting for another pull: {e}")))??;
                }
            }
        };
        writer.restart()?;
        let mut reader = file;
        loop {
            let mut buf = vec![0u8; layout::WRITE_CHUNK];
            let n = reader
                .read(&mut buf)
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            if n == 0 {
                break;
            }
            buf.truncate(n);
            if writer.write(Bytes::from(buf)).is_err() {
                break; // longer than its size: `finish` refuses it
            }
        }
        match writer.finish().await {
            Ok(()) => Ok(Some(Linked::Copied)),
            Err(Error::Invalid(_)) => {
                self.discard(file, path, "does not hash to its name");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Does the open file hash to `digest`? (Read from its start.)
fn hashes_to(file: &File, digest: &Digest) -> bool {
    use std::io::{Seek as _, SeekFrom};
    let mut f = file;
    if f.seek(SeekFrom::Start(0)).is_err() {
        return false;
    }
    let mut hasher = Hasher::new(digest.algorithm());
    let mut buf = vec![0u8; layout::WRITE_CHUNK];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(_) => return false,
        }
    }
    let _ = f.seek(SeekFrom::Start(0));
    hasher.finish() == *digest
}

/// A blob another user owns could be changed by them after it is linked:
/// it is copied instead (and verified while copied).
fn owned_by_me(file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        let me = unsafe { libc::geteuid() };
        file.metadata().is_ok_and(|m| m.uid() == me)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        true
    }
}

/// Marks a cached blob used now (its modification time), so `cache prune`
/// drops the least recently used first. Only the times change, never a
/// byte. Best effort.
fn touch(file: &File) {
    let _ = file.set_modified(std::time::SystemTime::now());
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn cached(cache: &BlobCache, data: &[u8]) -> Digest {
        let d = Digest::sha256(data);
        cache.store().put_verified(&d, data).unwrap();
        d
    }

    const STALL: std::time::Duration = std::time::Duration::from_secs(1);

    #[tokio::test]
    async fn cached_blobs_are_linked_and_bad_ones_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlobCache::open(&dir.path().join("cache"), false).unwrap();
        let layout = Layout::open(&dir.path().join("layout")).unwrap();
        let d = cached(&cache, b"hello").await;
        assert_eq!(cache.place(&layout, &d, 5, STALL).await.unwrap(), Some(Linked::Linked));
        assert_eq!(layout.read_blob(&d).unwrap(), b"hello");
        use std::os::unix::fs::MetadataExt as _;
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(ino(&layout.blob_path(&d)), ino(&cache.store().blob_path(&d)), "one file");
        // Not there, or the wrong size: fetch it (and the bad one is gone).
        let missing = Digest::sha256(b"missing");
        assert_eq!(cache.place(&layout, &missing, 7, STALL).await.unwrap(), None);
        let e = cached(&cache, b"sized").await;
        assert_eq!(cache.place(&layout, &e, 6, STALL).await.unwrap(), None);
        assert!(!cache.store().blob_path(&e).exists());
        // Same size, wrong bytes: only a re-hash can tell.
        let f = cached(&cache, b"right").await;
        std::fs::remove_file(cache.store().blob_path(&f)).unwrap();
        std::fs::write(cache.store().blob_path(&f), b"wrong").unwrap();
        let verifying = BlobCache { verify: true, ..cache.clone() };
        assert_eq!(verifying.place(&layout, &f, 5, STALL).await.unwrap(), None);
        assert!(!cache.store().blob_path(&f).exists() && !layout.blob_path(&f).exists());
    }

    #[tokio::test]
    async fn a_copy_is_verified_as_it_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlobCache::open(&dir.path().join("cache"), false).unwrap();
        let layout = Layout::open(&dir.path().join("layout")).unwrap();
        let d = cached(&cache, b"copied").await;
        let (file, path) = cache.checked_open(&d, Some(6)).unwrap();
        assert_eq!(
            cache.copy(&layout, &d, 6, &file, &path, STALL).await.unwrap(),
            Some(Linked::Copied)
        );
        assert_eq!(layout.read_blob(&d).unwrap(), b"copied");
        let bad = Digest::sha256(b"other!");
        std::fs::write(cache.store().blob_path(&bad), b"wrong!").unwrap();
        let (file, path) = cache.checked_open(&bad, Some(6)).unwrap();
        assert_eq!(cache.copy(&layout, &bad, 6, &file, &path, STALL).await.unwrap(), None);
        assert!(!layout.blob_path(&bad).exists() && !path.exists());
    }
}
