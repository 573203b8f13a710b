//! Getting a pull's blobs into the layout: in parallel, each through the
//! walk (`Fetcher::blob`), into the layout's partial files, waiting for
//! another process that is writing the same blob, and reporting progress
//! to the observer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Cleanup, Observer};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fetch::{BlobSink, Fetcher};
use crate::image::Descriptor;
use crate::layout::{self, Begin, BlobWriter, Layout};
use crate::report::BlobReport;

/// Blobs up to this size fit in one write buffer: they may run beyond
/// `jobs` (see `all`).
const SMALL_BLOB: u64 = layout::WRITE_CHUNK as u64;

/// What every download of a pull shares. Owned (behind an `Arc`), because
/// each blob downloads in a task of its own.
pub(super) struct Downloads {
    pub fetcher: Arc<Fetcher>,
    pub layout: Layout,
    pub observer: Arc<dyn Observer>,
    pub cleanup: Cleanup,
    /// Hosts in the order blobs are asked for.
    pub order: Vec<usize>,
    pub jobs: usize,
    /// The shared blob cache, unless `--no-cache` (see `cached.rs`).
    pub cache: Option<crate::cache::BlobCache>,
}

/// Downloads every blob; the reports come back in the order given.
pub(super) async fn all(ctx: Arc<Downloads>, blobs: Vec<Descriptor>) -> Result<Vec<BlobReport>> {
    let jobs = ctx.jobs.max(1);
    // Each blob downloads in a task of its own, so the runtime spreads the
    // downloads (and their hashing, see `BlobWriter`) over the cores.
    // `jobs` bounds the large downloads, and so memory (each buffers up to
    // `WRITE_CHUNK`). A small blob fits in one buffer, and many small layers
    // are bound by per-request latency (the registry's work, an fsync), not
    // bandwidth: twice as many downloads run when they are small. Tasks are
    // started as others finish, never all up front: a manifest listing tens
    // of thousands of layers costs no more memory than one listing ten.
    let in_flight = jobs * 2;
    let large = Arc::new(Semaphore::new(jobs));
    let mut pending = blobs.into_iter().enumerate();
    // Dropped on the first error (or with the pull, on Ctrl-C): that aborts
    // the downloads still running.
    let mut downloads = JoinSet::new();
    let mut reports: Vec<(usize, BlobReport)> = Vec::new();
    loop {
        while downloads.len() < in_flight
            && let Some((i, d)) = pending.next()
        {
            let (ctx, large) = (ctx.clone(), large.clone());
            downloads.spawn(async move {
                // `ok()`: the semaphore is never closed.
                let _large =
                    if d.size > SMALL_BLOB { large.acquire_owned().await.ok() } else { None };
                one(&ctx, &d).await.map(|r| (i, r))
            });
        }
        match downloads.join_next().await {
            None => break,
            Some(Ok(report)) => reports.push(report?),
            Some(Err(e)) => return Err(Error::Failed(format!("a download stopped: {e}"))),
        }
    }
    reports.sort_by_key(|(i, _)| *i);
    Ok(reports.into_iter().map(|(_, r)| r).collect())
}

/// Gets one blob into the layout, or finds it already there.
async fn one(ctx: &Downloads, d: &Descriptor) -> Result<BlobReport> {
    if let Some(cache) = &ctx.cache {
        return super::cached::one(ctx, cache, d).await;
    }
    let report = |endpoint: Option<String>| BlobReport {
        digest: d.digest.clone(),
        size: d.size,
        media_type: d.media_type.clone(),
        cached: endpoint.is_none(),
        endpoint,
        from_cache: false,
    };
    let stall = ctx.fetcher.session().config.network.stall_timeout;
    let Some(mut writer) = writer(&ctx.layout, d, stall).await? else { return Ok(report(None)) };
    if !ctx.cleanup.note(&ctx.layout, &d.digest) {
        // Ctrl-C's cleanup already ran: leave nothing behind.
        drop(writer);
        ctx.layout.discard_partial(&d.digest, Instant::now());
        return Err(Error::Interrupted);
    }
    // A run killed after the last byte but before the rename left a
    // complete partial: asking for `bytes=<size>-` would get 416. Verify it
    // as it is; on a mismatch `finish` empties it and we download.
    if writer.complete() {
        match writer.finish().await {
            Ok(()) => {
                ctx.cleanup.done(&d.digest);
                return Ok(report(None));
            }
            Err(Error::Invalid(_)) => {}
            // A disk error: no download can help.
            Err(e) => return Err(e),
        }
    }
    ctx.observer.blob_started(&d.digest, d.size, writer.offset());
    let mut sink = Observed { writer: &mut writer, observer: &*ctx.observer, digest: &d.digest };
    let result = ctx.fetcher.blob(d, &mut sink, &ctx.order).await;
    ctx.observer.blob_finished(&d.digest);
    match result {
        Ok(served) => {
            ctx.cleanup.done(&d.digest);
            Ok(report(Some(ctx.fetcher.plan().sources[served.host].display())))
        }
        Err(e) => {
            // Keep what verified-so-far bytes we have for the next run.
            let _ = writer.flush();
            Err(e)
        }
    }
}

/// A writer for the blob's partial file, or `None` when the blob is (or
/// meanwhile became) present. Waits while another process writes it, as
/// long as that one makes progress (`Layout::wait_for`).
pub(super) async fn writer(
    layout: &Layout,
    d: &Descriptor,
    stall: Duration,
) -> Result<Option<BlobWriter>> {
    loop {
        if layout.has_blob(&d.digest, d.size) {
            return Ok(None);
        }
        match layout.begin(&d.digest, d.size)? {
            Begin::Writer(w) => return Ok(Some(w)),
            Begin::Present => return Ok(None),
            Begin::Busy => {
                // Another pull into this layout is fetching it: wait.
                let (layout, digest) = (layout.clone(), d.digest.clone());
                tokio::task::spawn_blocking(move || layout.wait_for(&digest, stall))
                    .await
                    .map_err(|e| Error::Failed(format!("waiting for another pull: {e}")))??;
            }
        }
    }
}

/// The partial file as the walk writes into it, with progress reported.
pub(super) struct Observed<'a> {
    pub writer: &'a mut BlobWriter,
    pub observer: &'a dyn Observer,
    pub digest: &'a Digest,
}

impl BlobSink for Observed<'_> {
    fn offset(&self) -> u64 {
        self.writer.offset()
    }

    fn complete(&self) -> bool {
        self.writer.complete()
    }

    fn write(&mut self, bytes: Bytes) -> Result<()> {
        self.writer.write(bytes)?;
        self.observer.blob_progress(self.digest, self.writer.offset());
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.writer.flush()
    }

    fn restart(&mut self) -> Result<()> {
        self.writer.restart()?;
        self.observer.blob_progress(self.digest, 0);
        Ok(())
    }

    async fn finish(&mut self) -> Result<()> {
        let result = self.writer.finish().await;
        if result.is_err() {
            // `finish` dropped bad bytes: the download starts over.
            self.observer.blob_progress(self.digest, self.writer.offset());
        }
        result
    }
}
