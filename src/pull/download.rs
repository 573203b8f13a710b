//! Getting a pull's blobs into the layout: in parallel, each through the
//! walk (`Fetcher::blob`), into the layout's partial files, waiting for
//! another process that is writing the same blob, and reporting progress
//! to the observer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};

use std::collections::{HashMap, HashSet};

use super::prepare::Prepared;
use super::{Cleanup, Observer, ServedBlob};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fetch::{BlobSink, Fetcher, RangeSink};
use crate::image::Descriptor;
use crate::layout::{self, Begin, BlobWriter, Claim, Layout, RangedWriter, Written};
use crate::report::BlobReport;

/// Blobs up to this size fit in one write buffer: they may run beyond
/// `jobs` (see `all`).
const SMALL_BLOB: u64 = layout::WRITE_CHUNK as u64;

/// What every download of a pull shares. Owned (behind an `Arc`), because
/// each blob downloads in a task of its own.
pub(super) struct Downloads {
    pub layout: Layout,
    pub observer: Arc<dyn Observer>,
    pub cleanup: Cleanup,
    /// Large blobs downloaded at once.
    pub jobs: usize,
    /// The shared blob cache, unless `--no-cache` (see `cached.rs`).
    pub cache: Option<crate::cache::BlobCache>,
    /// The images (indexes into the batch) whose blobs may be named: a
    /// tag still being confirmed is not among them yet (see `Gate`).
    pub named: watch::Receiver<HashSet<usize>>,
}

/// Waits until a blob may get its name: until one of the images that need
/// it may be named. A blob of a tag still being confirmed downloads and is
/// verified meanwhile, but only a confirmed image's blobs are named in the
/// layout (or the cache): a mirror's substitute must leave nothing there.
pub(super) struct Gate {
    named: watch::Receiver<HashSet<usize>>,
    images: Vec<usize>,
}

impl Downloads {
    pub(super) fn gate(&self, job: &BlobJob) -> Gate {
        Gate { named: self.named.clone(), images: job.images.clone() }
    }
}

impl Gate {
    /// Seals the blob (verified and synced, see `BlobWriter::seal`), waits
    /// until it may be named, then names it.
    async fn finish(&self, writer: &mut BlobWriter) -> Result<()> {
        writer.seal().await?;
        self.open().await;
        writer.finish().await
    }

    pub(super) async fn open(&self) {
        let mut named = self.named.clone();
        let wanted = |named: &HashSet<usize>| self.images.iter().any(|i| named.contains(i));
        // `is_err()` at once: the guard it returns must not be held.
        if named.wait_for(wanted).await.is_err() {
            // Every verdict is in and none names it: an image that is
            // given up aborts the downloads only it needed (`Needed`), so
            // this one is being stopped.
            std::future::pending::<()>().await;
        }
    }
}

/// One blob of a batch: through the walk of the first image that needs it,
/// for every image that does.
pub(super) struct BlobJob {
    pub descriptor: Descriptor,
    pub fetcher: Arc<Fetcher>,
    /// Hosts in the order to ask them.
    pub order: Arc<[usize]>,
    /// The images (indexes into the batch) that need it.
    images: Vec<usize>,
}

/// Every blob the prepared images need, once each.
pub(super) fn jobs(images: &[(usize, Prepared)]) -> Vec<BlobJob> {
    let mut jobs: Vec<BlobJob> = Vec::new();
    let mut by_digest: HashMap<Digest, usize> = HashMap::new();
    for (image, p) in images {
        for d in &p.blobs {
            match by_digest.get(&d.digest) {
                Some(&j) => jobs[j].images.push(*image),
                None => {
                    by_digest.insert(d.digest.clone(), jobs.len());
                    jobs.push(BlobJob {
                        descriptor: d.clone(),
                        fetcher: p.fetcher.clone(),
                        order: p.order.clone(),
                        images: vec![*image],
                    });
                }
            }
        }
    }
    jobs
}

/// The bytes the jobs fetch, if none is present yet.
pub(super) fn bytes(jobs: &[BlobJob]) -> u64 {
    jobs.iter().map(|j| j.descriptor.size).sum()
}

type Downloaded = HashMap<Digest, Result<BlobReport>>;

/// Downloads every blob; what became of each, by digest. A blob that
/// fails fails the images that need it: blobs only they need are then not
/// started, or stopped if running (a partial file the next run resumes),
/// and once no image can succeed every download still running is dropped. An image sent to `dropped` (its tag overruled, say)
/// is given up the same way. `Err` for Ctrl-C only.
pub(super) async fn all(
    ctx: Arc<Downloads>,
    jobs: Vec<BlobJob>,
    mut dropped: mpsc::UnboundedReceiver<usize>,
) -> Result<Downloaded> {
    let slots = ctx.jobs.max(1);
    // Each blob downloads in a task of its own, so the runtime spreads the
    // downloads (and their hashing, see `BlobWriter`) over the cores.
    // `jobs` bounds the large downloads (the run's connection budget), and
    // so memory (each buffers up to `WRITE_CHUNK`). A small blob fits in
    // one buffer, and many small layers are bound by round trips (and the
    // registry's work, an fsync), not bandwidth: up to 8 x `jobs` of them
    // run at once, so that a 40-layer image costs one wave of requests over
    // a long link, not three. Tasks are started as others finish, never all
    // up front: a manifest listing tens of thousands of layers costs no
    // more memory than one listing ten.
    let in_flight = slots * 8;
    // The run's connection budget (`--jobs`), which a blob fetched in
    // ranges draws its extra connections from too.
    let large = match jobs.first() {
        Some(job) => job.fetcher.session().connections(),
        None => Arc::new(Semaphore::new(slots)),
    };
    let mut needed = Needed {
        alive: jobs.iter().flat_map(|j| j.images.iter().copied()).collect(),
        running: HashMap::new(),
    };
    let mut pending = jobs.into_iter();
    let mut downloads = JoinSet::new();
    let mut done: Downloaded = HashMap::new();
    let mut listening = true;
    loop {
        while downloads.len() < in_flight
            && let Some(job) = pending.find(|j| j.images.iter().any(|i| needed.alive.contains(i)))
        {
            let digest = job.descriptor.digest.clone();
            let images = job.images.clone();
            let task = downloads.spawn(download(ctx.clone(), large.clone(), job));
            needed.running.insert(digest, (images, task));
        }
        let joined = tokio::select! {
            joined = downloads.join_next() => joined,
            image = dropped.recv(), if listening => {
                match image {
                    Some(image) => needed.drop_image(image, &*ctx.observer),
                    None => listening = false,
                }
                if needed.alive.is_empty() {
                    break;
                }
                continue;
            }
        };
        let (digest, result) = match joined {
            None => break,
            Some(Ok(finished)) => finished,
            // Aborted: no image still wants it.
            Some(Err(e)) if e.is_cancelled() => continue,
            Some(Err(e)) => return Err(Error::Failed(format!("a download stopped: {e}"))),
        };
        let images = needed.running.remove(&digest).map(|(images, _)| images);
        match &result {
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(_) => {
                images.into_iter().flatten().for_each(|i| needed.drop_image(i, &*ctx.observer))
            }
            Ok(_) => {}
        }
        done.insert(digest, result);
        if needed.alive.is_empty() {
            break;
        }
    }
    Ok(done)
}

/// One download task of `all`: a large blob waits for a connection of the
/// run's budget first.
async fn download(
    ctx: Arc<Downloads>,
    large: Arc<Semaphore>,
    job: BlobJob,
) -> (Digest, Result<BlobReport>) {
    let d = &job.descriptor;
    // `ok()`: the semaphore is never closed.
    let _large = if d.size > SMALL_BLOB { large.acquire_owned().await.ok() } else { None };
    let result = one(&ctx, &job).await;
    tell(&*ctx.observer, d, &result);
    (job.descriptor.digest, result)
}

/// A receiver for `all` that will never name an image.
pub(super) fn none_dropped() -> mpsc::UnboundedReceiver<usize> {
    mpsc::unbounded_channel().1
}

/// The images still to be had, and what each running download is for.
struct Needed {
    alive: HashSet<usize>,
    running: HashMap<Digest, (Vec<usize>, AbortHandle)>,
}

impl Needed {
    /// Gives `image` up: a download no living image needs is aborted (and
    /// its progress ended).
    fn drop_image(&mut self, image: usize, observer: &dyn Observer) {
        self.alive.remove(&image);
        let alive = &self.alive;
        self.running.retain(|digest, (images, task)| {
            let needed = images.iter().any(|i| alive.contains(i));
            if !needed {
                task.abort();
                observer.blob_finished(digest);
            }
            needed
        });
    }
}

/// Gets one blob into the layout, or finds it already there: through the
/// blob cache (`cached.rs`), or, with `--no-cache`, straight in.
async fn one(ctx: &Downloads, job: &BlobJob) -> Result<BlobReport> {
    if let Some(cache) = &ctx.cache {
        return super::cached::one(ctx, cache, job).await;
    }
    let d = &job.descriptor;
    let endpoint = fetch_into(ctx, &ctx.layout, Some(&ctx.cleanup), job).await?;
    Ok(BlobReport {
        digest: d.digest.clone(),
        size: d.size,
        media_type: d.media_type.clone(),
        cached: endpoint.is_none(),
        endpoint,
        from_cache: false,
    })
}

/// Gets `d` through `store`'s partial file under its name in `store`: the
/// layout itself, or the blob cache. Returns who served it, or `None` when
/// nobody had to (it was there, or another process finished it). With
/// `cleanup`, Ctrl-C removes the partial file (a layout's); without, it is
/// kept (the cache's: resumable work for any later run).
pub(super) async fn fetch_into(
    ctx: &Downloads,
    store: &Layout,
    cleanup: Option<&Cleanup>,
    job: &BlobJob,
) -> Result<Option<String>> {
    let (fetcher, order, d) = (&job.fetcher, &job.order[..], &job.descriptor);
    let gate = ctx.gate(job);
    let stall = fetcher.session().config.network.stall_timeout;
    let Some(mut writer) = writer(store, d, stall).await? else { return Ok(None) };
    if let Some(cleanup) = cleanup
        && !cleanup.note(store, &d.digest)
    {
        // Ctrl-C's cleanup already ran: leave nothing behind.
        drop(writer);
        store.discard_partial(&d.digest, Instant::now());
        return Err(Error::Interrupted);
    }
    let done = || cleanup.inspect(|c| c.done(&d.digest));
    // A run killed after the last byte but before the rename left a
    // complete partial: asking for `bytes=<size>-` would get 416. Verify it
    // as it is; on a mismatch `finish` empties it and we download.
    if writer.complete() {
        match gate.finish(&mut writer).await {
            Ok(()) => {
                done();
                return Ok(None);
            }
            Err(Error::Invalid(_)) => {}
            // A disk error: no download can help.
            Err(e) => return Err(e),
        }
    }
    ctx.observer.blob_started(&d.digest, d.size, writer.offset());
    let result = if d.size >= fetcher.session().config.network.split_threshold {
        // Large: in ranges when one connection is slow (`fetch::ranged`).
        let ranged = Arc::new(ObservedRanges {
            writer: writer.into_ranged()?,
            observer: ctx.observer.clone(),
            digest: d.digest.clone(),
            gate,
        });
        fetcher.blob_in_ranges(d, ranged, order).await
    } else {
        let observer = &*ctx.observer;
        let mut sink = Observed { writer: &mut writer, observer, digest: &d.digest, gate };
        let result = fetcher.blob(d, &mut sink, order).await;
        if result.is_err() {
            // Keep what verified-so-far bytes we have for the next run.
            let _ = writer.flush();
        }
        result
    };
    ctx.observer.blob_finished(&d.digest);
    let served = result?;
    done();
    let endpoint = fetcher.plan().sources[served.host].display();
    ctx.observer.blob_served(&ServedBlob {
        digest: &d.digest,
        size: d.size,
        endpoint: &endpoint,
        tries: served.tries,
        resumed_from: served.resumed_from,
    });
    Ok(Some(endpoint))
}

/// Tells the observer of a blob that needed no download, or could not be had.
fn tell(observer: &dyn Observer, d: &Descriptor, result: &Result<BlobReport>) {
    match result {
        Ok(r) if r.cached => observer.blob_present(&d.digest, d.size),
        Ok(_) | Err(Error::Interrupted) => {}
        Err(e) => observer.blob_failed(&d.digest, e),
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
        // A layer may go straight into the archive a pull writes; what is
        // read back from the layout (a config) may not.
        let begun = match d.media_type.is_layer() {
            true => layout.begin_placed(&d.digest, d.size)?,
            false => layout.begin(&d.digest, d.size)?,
        };
        match begun {
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

/// The partial file as the walk writes into it, with progress reported;
/// named once the gate opens.
struct Observed<'a> {
    writer: &'a mut BlobWriter,
    observer: &'a dyn Observer,
    digest: &'a Digest,
    gate: Gate,
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
        let result = self.gate.finish(self.writer).await;
        if result.is_err() {
            // `finish` dropped bad bytes: the download starts over.
            self.observer.blob_progress(self.digest, self.writer.offset());
        }
        result
    }
}

/// The partial file written in ranges, with progress reported; named
/// once the gate opens.
struct ObservedRanges {
    writer: RangedWriter,
    observer: Arc<dyn Observer>,
    digest: Digest,
    gate: Gate,
}

impl RangeSink for ObservedRanges {
    fn size(&self) -> u64 {
        self.writer.size()
    }

    fn written(&self) -> u64 {
        self.writer.written()
    }

    fn complete(&self) -> bool {
        self.writer.complete()
    }

    fn most_left(&self) -> u64 {
        self.writer.most_left()
    }

    fn claim(&self, min_split: u64) -> Option<Claim> {
        self.writer.claim(min_split)
    }

    fn write(&self, start: u64, chunks: &[Bytes]) -> Result<Written> {
        let written = self.writer.write(start, chunks)?;
        self.observer.blob_progress(&self.digest, self.writer.written());
        Ok(written)
    }

    fn extend(&self, start: u64) -> Option<u64> {
        self.writer.extend(start)
    }

    fn release(&self, start: u64) {
        self.writer.release(start)
    }

    fn restart(&self) -> Result<()> {
        self.writer.restart()?;
        self.observer.blob_progress(&self.digest, 0);
        Ok(())
    }

    fn save(&self) {
        self.writer.save()
    }

    async fn finish(&self) -> Result<()> {
        self.gate.open().await;
        self.writer.finish().await
    }
}
