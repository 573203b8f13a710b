//! A blob small enough to hold in memory (an image config), fetched
//! through the walk like any blob (every source in turn, resumes, the
//! trace) and verified against its digest and size. What `inspect` shows
//! and what a pull checks a single image's platform with, before any layer
//! is fetched.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::fetch::{BlobServed, BlobSink, Fetcher};
use crate::image::Descriptor;

/// The largest blob held this way: an image config is a few KiB; a server
/// cannot make us hold more than this.
pub const MAX_SMALL_BLOB: u64 = 16 << 20;

/// The blob `d`, from the first source in `order` that serves it right,
/// and who served it.
pub async fn fetch(
    fetcher: &Fetcher,
    d: &Descriptor,
    order: &[usize],
) -> Result<(Vec<u8>, BlobServed)> {
    if d.size > MAX_SMALL_BLOB {
        return Err(Error::Invalid(format!(
            "{}: the image config is {} bytes, more than the {} MiB it may be",
            d.digest,
            d.size,
            MAX_SMALL_BLOB >> 20
        )));
    }
    let mut sink = InMemory { d, bytes: Vec::new() };
    let served = fetcher.blob(d, &mut sink, order).await?;
    Ok((sink.bytes, served))
}

/// The bytes of one blob as they arrive, never more than its size.
struct InMemory<'a> {
    d: &'a Descriptor,
    bytes: Vec<u8>,
}

impl BlobSink for InMemory<'_> {
    fn offset(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn complete(&self) -> bool {
        self.offset() == self.d.size
    }

    fn write(&mut self, bytes: Bytes) -> Result<()> {
        if self.offset() + bytes.len() as u64 > self.d.size {
            return Err(Error::Invalid(format!(
                "more than the {} bytes of {}",
                self.d.size, self.d.digest
            )));
        }
        self.bytes.extend_from_slice(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn restart(&mut self) -> Result<()> {
        self.bytes.clear();
        Ok(())
    }

    async fn finish(&mut self) -> Result<()> {
        if self.d.digest.matches(&self.bytes) {
            return Ok(());
        }
        self.bytes.clear();
        Err(Error::Invalid(format!("the bytes served for {} have another digest", self.d.digest)))
    }
}
