//! A pull: resolve the reference through the plan, pick the platform, fetch
//! manifests and blobs (in parallel, from the best source that has them,
//! resuming cut downloads), and record the image in the layout.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cli::Format;
use crate::convert;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layout::{self, Begin, BlobWriter, Layout};
use crate::plan::Plan;
use crate::platform::{self, Platform};
use crate::progress::Progress;
use crate::registry::FetchError;
use crate::registry::manifest::{self, Descriptor, Manifest, Parsed};
use crate::resolve::{self, Attempt, Resolution, ServedBy, Trace};
use crate::session::Session;

/// How deep `--platform` follows indexes inside indexes.
const MAX_INDEX_DEPTH: usize = 4;

/// Blobs up to this size fit in one write buffer: they may run beyond
/// `jobs` (see `pull`).
const SMALL_BLOB: u64 = layout::WRITE_CHUNK as u64;

/// Which part of a multi-platform image to keep.
#[derive(Clone, Debug)]
pub enum PlatformChoice {
    One(Platform),
    All,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobReport {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    /// The endpoint that served it, or `null` when it was already present.
    pub endpoint: Option<String>,
    pub cached: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullReport {
    pub reference: String,
    /// The digest the reference resolved to.
    pub digest: Digest,
    pub media_type: String,
    /// What the layout's entry points at: the platform's manifest, or the
    /// whole index with `--all-platforms`.
    pub image: ImageReport,
    #[serde(serialize_with = "crate::output::lossy_path")]
    pub output: PathBuf,
    pub served_by: ServedBy,
    pub attempts: Vec<Attempt>,
    pub blobs: Vec<BlobReport>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReport {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub platform: Option<Platform>,
    /// With `--format oci`: the digest of the Docker manifest as served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted_from: Option<Digest>,
}

/// The layout, the digests being written into it, and whether cleanup
/// has begun (then no new download may start).
#[derive(Default)]
struct Unfinished {
    layout: Option<Layout>,
    digests: HashSet<Digest>,
    stopped: bool,
}

/// Digests this process started writing, so Ctrl-C can remove them.
#[derive(Default, Clone)]
pub struct Cleanup(Arc<Mutex<Unfinished>>);

impl Cleanup {
    /// Records a download about to write `d`; false once cleanup has begun
    /// (the caller must then remove what it opened itself).
    fn note(&self, layout: &Layout, d: &Digest) -> bool {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if g.stopped {
            return false;
        }
        g.layout.get_or_insert_with(|| layout.clone());
        g.digests.insert(d.clone());
        true
    }

    fn done(&self, d: &Digest) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).digests.remove(d);
    }

    /// Removes the partial files of downloads that never finished.
    pub fn run(&self) {
        // Taken out, so downloads still stopping on other threads are not
        // held up on the lock (and new ones see `stopped`).
        let (layout, digests) = {
            let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
            g.stopped = true;
            (g.layout.take(), std::mem::take(&mut g.digests))
        };
        let Some(layout) = layout else { return };
        // Time for this process's downloads, aborted but maybe in the
        // middle of a write or an fsync on another thread, to stop and let
        // go of the files' locks.
        let deadline = Instant::now() + std::time::Duration::from_secs(1);
        for d in digests {
            layout.discard_partial(&d, deadline);
        }
    }
}

/// What every download of a pull shares. Owned (behind an `Arc`), because
/// each blob downloads in a task of its own.
struct Ctx {
    session: Arc<Session>,
    plan: Arc<Plan>,
    trace: Arc<Trace>,
    layout: Layout,
    progress: Progress,
    cleanup: Cleanup,
    /// Source indexes in the order blobs are asked for.
    order: Vec<usize>,
}

/// What to pull into where, and how to store it.
pub struct PullOptions {
    pub output: PathBuf,
    pub platform: PlatformChoice,
    pub format: Format,
}

pub async fn pull(
    session: Arc<Session>,
    plan: Arc<Plan>,
    options: &PullOptions,
    progress: &Progress,
    cleanup: &Cleanup,
) -> Result<PullReport> {
    let PullOptions { output, platform: choice, format } = options;
    let started = Instant::now();
    let trace = Arc::new(Trace::default());
    let Resolution { manifest: top, source, served_by } =
        resolve::resolve(&session, &plan, &trace).await?;
    // Only now: a reference that resolves nowhere leaves no empty layout behind.
    let layout = Layout::open(output)?;
    // Blobs come from the source that served the manifest, then the others.
    let mut order = vec![source];
    order.extend((0..plan.sources.len()).filter(|&i| i != source));
    let ctx = Arc::new(Ctx {
        session: session.clone(),
        plan: plan.clone(),
        trace: trace.clone(),
        layout: layout.clone(),
        progress: progress.clone(),
        cleanup: cleanup.clone(),
        order,
    });

    let mut manifests: Vec<Manifest> = vec![top.clone()];
    let mut images: Vec<Manifest> = Vec::new();
    // Say whose manifest is bad: "manifest names a bad blob" alone does not.
    let parsed = top.parse().map_err(|e| {
        Error::Invalid(format!("{}: {e} (manifest from {})", plan.reference, served_by.endpoint))
    })?;
    let (mut entry, mut entry_platform) = match (parsed, choice) {
        (Parsed::Image { .. }, _) => {
            images.push(top.clone());
            (top.clone(), None)
        }
        (Parsed::Index { manifests: children }, PlatformChoice::One(want)) => {
            // The entry for `want`; an index in turn is searched the same
            // way (as containerd does), a few levels at most.
            let mut children = children;
            let mut depth = 0;
            let (child, chosen) = loop {
                let Some(d) = platform::choose(&children, want) else {
                    return Err(Error::NotFound(format!(
                        "{}: no image for platform {want}; the index offers: {}",
                        plan.reference,
                        platform::offered(&children).join(", ")
                    )));
                };
                let child = ctx.manifest(d).await?;
                match child.parse()? {
                    Parsed::Image { .. } => break (child, d.platform.clone()),
                    Parsed::Index { manifests } if depth < MAX_INDEX_DEPTH => {
                        depth += 1;
                        children = manifests;
                    }
                    Parsed::Index { .. } => {
                        return Err(Error::Invalid(format!(
                            "{}: indexes nested more than {MAX_INDEX_DEPTH} deep",
                            plan.reference
                        )));
                    }
                }
            };
            manifests = vec![child.clone()];
            images.push(child.clone());
            // The platform of the entry chosen, which may be a compatible
            // one (arm/v6 for arm/v7) or none at all.
            (child, chosen)
        }
        (Parsed::Index { manifests: children }, PlatformChoice::All) => {
            // Keep the whole index, nested indexes included.
            let mut queue = children;
            while let Some(d) = queue.pop() {
                let child = ctx.manifest(&d).await?;
                match child.parse()? {
                    Parsed::Index { manifests } => queue.extend(manifests),
                    Parsed::Image { .. } => images.push(child.clone()),
                }
                manifests.push(child);
            }
            (top.clone(), None)
        }
    };

    // Every blob of every image, once. One digest with two sizes cannot
    // be right, and storing it under one would leave a descriptor that
    // does not match its blob.
    let mut sizes: HashMap<Digest, u64> = HashMap::new();
    let mut blobs: Vec<Descriptor> = Vec::new();
    for m in &images {
        if let Parsed::Image { config, layers } = m.parse()? {
            for d in std::iter::once(config).chain(layers) {
                match sizes.get(&d.digest) {
                    None => {
                        sizes.insert(d.digest.clone(), d.size);
                        blobs.push(d);
                    }
                    Some(&size) if size == d.size => {}
                    Some(&size) => {
                        return Err(Error::Invalid(format!(
                            "{}: blob {} is listed with two sizes ({size} and {} bytes)",
                            plan.reference, d.digest, d.size
                        )));
                    }
                }
            }
        }
    }
    let jobs = session.config.network.jobs.max(1);
    // Each blob downloads in a task of its own, so the runtime spreads the
    // downloads (and their hashing, see `BlobWriter`) over the cores.
    // `jobs` bounds the large downloads, and so memory (each buffers up to
    // `WRITE_CHUNK`). A small blob fits in one buffer, and many small layers
    // are bound by per-request latency (the registry's work, an fsync), not
    // bandwidth: twice as many downloads run when they are small.
    let running = Arc::new(Semaphore::new(jobs * 2));
    let large = Arc::new(Semaphore::new(jobs));
    // Dropped on the first error (or with the pull, on Ctrl-C): that aborts
    // the downloads still running.
    let mut downloads = JoinSet::new();
    for (i, d) in blobs.iter().cloned().enumerate() {
        let (ctx, running, large) = (ctx.clone(), running.clone(), large.clone());
        downloads.spawn(async move {
            // `ok()`: the semaphores are never closed.
            let _running = running.acquire_owned().await.ok();
            let _large = if d.size > SMALL_BLOB { large.acquire_owned().await.ok() } else { None };
            ctx.blob(&d).await.map(|r| (i, r))
        });
    }
    let mut reports: Vec<(usize, BlobReport)> = Vec::with_capacity(blobs.len());
    while let Some(done) = downloads.join_next().await {
        match done {
            Ok(report) => reports.push(report?),
            Err(e) => return Err(Error::Failed(format!("a download stopped: {e}"))),
        }
    }
    reports.sort_by_key(|(i, _)| *i);
    let reports: Vec<BlobReport> = reports.into_iter().map(|(_, r)| r).collect();
    // A single image says its platform in its config (now in the layout):
    // recorded in index.json like a chosen index entry's.
    if entry_platform.is_none()
        && let Ok(Parsed::Image { config, .. }) = entry.parse()
    {
        entry_platform = layout.read_blob(&config.digest).ok().and_then(|b| config_platform(&b));
    }

    let mut converted_from = None;
    if *format == Format::Oci {
        let (oci, renamed) = convert::to_oci(&manifests)?;
        manifests = oci;
        if let Some(new) = renamed.get(&entry.digest) {
            converted_from = Some(entry.digest.clone());
            entry = new.clone();
        }
    }

    let name = plan.reference.to_string();
    let mut desc = oci_spec::image::Descriptor::new(
        entry.media_type.as_str().into(),
        entry.bytes.len() as u64,
        oci_digest(&entry.digest),
    );
    let mut annotations = std::collections::HashMap::new();
    annotations.insert(layout::REF_NAME.to_string(), name.clone());
    annotations.insert(layout::CONTAINERD_NAME.to_string(), name.clone());
    annotations.insert(layout::SOURCE.to_string(), served_by.endpoint.clone());
    if let Some(d) = &converted_from {
        annotations.insert(layout::CONVERTED_FROM.to_string(), d.to_string());
    }
    annotations.insert(
        layout::TRUST.to_string(),
        serde_json::to_value(served_by.trust)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
    );
    desc.set_annotations(Some(annotations));
    if let Some(p) = &entry_platform {
        let mut op = oci_spec::image::Platform::default();
        op.set_os(p.os.as_str().into());
        op.set_architecture(p.architecture.as_str().into());
        op.set_variant(p.variant.clone());
        desc.set_platform(Some(op));
    }
    // Manifests after their blobs, the index entry last: a reader of
    // index.json only ever finds complete images. On a blocking thread:
    // the index lock may be held by another pull for a while, and Ctrl-C
    // must still be heard meanwhile.
    let to_store: Vec<(Digest, bytes::Bytes)> =
        manifests.iter().map(|m| (m.digest.clone(), m.bytes.clone())).collect();
    let (store, entry_name) = (layout.clone(), name.clone());
    tokio::task::spawn_blocking(move || {
        for (digest, bytes) in &to_store {
            store.put_verified(digest, bytes)?;
        }
        store.add_image(&entry_name, desc)
    })
    .await
    .map_err(|e| Error::Failed(format!("recording the image: {e}")))??;

    Ok(PullReport {
        reference: name,
        digest: top.digest.clone(),
        media_type: top.media_type.clone(),
        image: ImageReport {
            digest: entry.digest.clone(),
            media_type: entry.media_type.clone(),
            size: entry.bytes.len() as u64,
            platform: entry_platform,
            converted_from,
        },
        output: output.clone(),
        served_by,
        attempts: trace.attempts(),
        blobs: reports,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// The platform an image config names (`os`, `architecture`, `variant`).
fn config_platform(config: &[u8]) -> Option<Platform> {
    let v: serde_json::Value = serde_json::from_slice(config).ok()?;
    let (os, arch) = (v["os"].as_str()?, v["architecture"].as_str()?);
    Some(Platform::new(os, arch, v["variant"].as_str()))
}

pub fn oci_digest(d: &Digest) -> oci_spec::image::Digest {
    // Our digests are stricter than oci-spec's, so this cannot fail.
    d.to_string().parse().expect("a valid digest is a valid OCI digest")
}

impl Ctx {
    fn sources(&self) -> impl Iterator<Item = &crate::plan::Source> {
        self.order.iter().map(|&i| &self.plan.sources[i])
    }

    /// A manifest named by digest (an index entry), from the first source
    /// that has it.
    async fn manifest(&self, d: &Descriptor) -> Result<Manifest> {
        if self.layout.has_blob(&d.digest, d.size) {
            let bytes = self.layout.read_blob(&d.digest)?;
            let media_type = d.media_type.clone();
            manifest::parse_body(&bytes, &media_type)?;
            return Ok(Manifest {
                bytes: bytes.into(),
                media_type,
                digest: d.digest.clone(),
                namespace: None,
            });
        }
        let mut failures = Vec::new();
        for source in self.sources() {
            if let Some(why) = resolve::skip_reason(&self.session, source, false) {
                resolve::note_skipped(&self.session, source, &why, &mut failures);
                self.trace.skipped(source, "manifest", why);
                continue;
            }
            let endpoint = self.session.endpoint(&self.plan, source).await?;
            let repo = self.plan.reference.repository.clone();
            let (result, _) = resolve::with_ns(
                &self.session,
                &self.plan,
                source,
                &self.trace,
                "manifest",
                |ns| {
                    let endpoint = endpoint.clone();
                    let repo = repo.clone();
                    let digest = d.digest.clone();
                    async move {
                        endpoint
                            .get_manifest(&repo, &digest.to_string(), ns.as_deref(), Some(&digest))
                            .await
                    }
                },
            )
            .await;
            match result {
                // The digest matched, so these are the right bytes: a size
                // that differs is the index's error, whoever serves it.
                Ok(m) if m.bytes.len() as u64 != d.size => {
                    return Err(Error::Invalid(format!(
                        "{}: the index gives {} a size of {} bytes, but it has {}",
                        self.plan.reference,
                        d.digest,
                        d.size,
                        m.bytes.len()
                    )));
                }
                Ok(m) => return Ok(m),
                Err(e) => failures.push((source.display(), e)),
            }
        }
        Err(resolve::give_up(
            &self.plan,
            &format!("{}@{}", self.plan.reference.name(), d.digest),
            &failures,
        ))
    }

    /// Gets the blob into the layout, or finds it already there.
    async fn blob(&self, d: &Descriptor) -> Result<BlobReport> {
        let report = |endpoint: Option<String>| BlobReport {
            digest: d.digest.clone(),
            size: d.size,
            media_type: d.media_type.clone(),
            cached: endpoint.is_none(),
            endpoint,
        };
        let mut writer = loop {
            if self.layout.has_blob(&d.digest, d.size) {
                return Ok(report(None));
            }
            match self.layout.begin(&d.digest, d.size)? {
                Begin::Writer(w) => break w,
                Begin::Present => return Ok(report(None)),
                Begin::Busy => {
                    // Another pull into this layout is fetching it: wait.
                    let layout = self.layout.clone();
                    let digest = d.digest.clone();
                    tokio::task::spawn_blocking(move || layout.wait_for(&digest))
                        .await
                        .map_err(|e| Error::Failed(format!("waiting for another pull: {e}")))??;
                }
            }
        };
        if !self.cleanup.note(&self.layout, &d.digest) {
            // Ctrl-C's cleanup already ran: leave nothing behind.
            drop(writer);
            self.layout.discard_partial(&d.digest, Instant::now());
            return Err(Error::Interrupted);
        }
        // A run killed after the last byte but before the rename left a
        // complete partial: asking for `bytes=<size>-` would get 416. Verify
        // it as it is; on a mismatch `finish` empties it and we download.
        if writer.complete() {
            match writer.finish().await {
                Ok(()) => {
                    self.cleanup.done(&d.digest);
                    return Ok(report(None));
                }
                Err(Error::Invalid(_)) => {}
                // A disk error: no download can help.
                Err(e) => return Err(e),
            }
        }
        let bar = self.progress.blob(&short(&d.digest), d.size);
        bar.set_position(writer.offset());
        let result = self.download(d, &mut writer, &bar).await;
        bar.finish_and_clear();
        match result {
            Ok(endpoint) => {
                self.cleanup.done(&d.digest);
                Ok(report(Some(endpoint)))
            }
            Err(e) => {
                // Keep what verified-so-far bytes we have for the next run.
                let _ = writer.flush();
                Err(e)
            }
        }
    }

    /// Tries each source in order; on a body cut off mid-way, resumes with
    /// `Range` on the same source (a bounded number of times), then the next.
    async fn download(
        &self,
        d: &Descriptor,
        w: &mut BlobWriter,
        bar: &indicatif::ProgressBar,
    ) -> Result<String> {
        let what = format!("blob {}", d.digest);
        let retries = self.session.config.network.retries;
        let mut failures: Vec<(String, FetchError)> = Vec::new();
        for source in self.sources() {
            if let Some(why) = resolve::skip_reason(&self.session, source, false) {
                resolve::note_skipped(&self.session, source, &why, &mut failures);
                self.trace.skipped(source, &what, why);
                continue;
            }
            let endpoint = self.session.endpoint(&self.plan, source).await?;
            let mut tries = 0;
            loop {
                tries += 1;
                let offset = w.offset();
                let started = Instant::now();
                let repo = self.plan.reference.repository.clone();
                let (result, ns_path) = resolve::with_ns(&self.session, &self.plan, source, &self.trace, &what, |ns| {
                    let endpoint = endpoint.clone();
                    let repo = repo.clone();
                    let digest = d.digest.clone();
                    async move { endpoint.get_blob(&repo, &digest, ns.as_deref(), offset).await }
                })
                .await;
                let mut body = match result {
                    Ok(b) => b,
                    Err(e) => {
                        failures.push((source.display(), e));
                        break;
                    }
                };
                let outcome = self.stream_body(d, w, &mut body, bar).await?;
                let failed = |error: String| Attempt {
                    endpoint: source.display(),
                    what: what.clone(),
                    url: endpoint
                        .url(
                            &repo,
                            "blobs",
                            &d.digest.to_string(),
                            ns_path.sent().then(|| self.plan.ns_value()),
                        )
                        .to_string(),
                    status: None,
                    error: Some(error),
                    outcome: "failed",
                    elapsed_ms: started.elapsed().as_millis() as u64,
                };
                match outcome {
                    BodyOutcome::Complete => match w.finish().await {
                        Ok(()) => return Ok(source.display()),
                        // The disk's fault, not the bytes': no source can
                        // help, and the writer is done for (see `flush`).
                        Err(e) if !matches!(e, Error::Invalid(_)) => return Err(e),
                        // The bytes before `offset` came from an earlier
                        // attempt or run (maybe another source, maybe bad):
                        // `finish` dropped them; fetch the whole blob from
                        // this source before blaming it.
                        Err(e) if offset > 0 && tries < retries => {
                            self.trace.push(failed(e.to_string()));
                            bar.set_position(0);
                            tracing::debug!("{what}: {e}; fetching it again from the start");
                        }
                        Err(e) => {
                            // Wrong bytes: this source is not to be trusted for it.
                            self.trace.push(failed(e.to_string()));
                            failures.push((source.display(), FetchError::Invalid(e.to_string())));
                            bar.set_position(0);
                            break;
                        }
                    },
                    BodyOutcome::Bad(why) => {
                        w.restart()?;
                        bar.set_position(0);
                        self.trace.push(failed(why.clone()));
                        failures.push((source.display(), FetchError::Invalid(why)));
                        break;
                    }
                    BodyOutcome::Cut(e) => {
                        w.flush()?;
                        self.trace.push(failed(e.to_string()));
                        if tries >= retries {
                            failures.push((source.display(), e));
                            break;
                        }
                        tracing::debug!("{what}: {e}; resuming at byte {}", w.offset());
                    }
                }
            }
        }
        Err(resolve::give_up(
            &self.plan,
            &format!("{}@{}", self.plan.reference.name(), d.digest),
            &failures,
        ))
    }

    async fn stream_body(
        &self,
        d: &Descriptor,
        w: &mut BlobWriter,
        body: &mut crate::registry::BlobBody,
        bar: &indicatif::ProgressBar,
    ) -> Result<BodyOutcome> {
        if body.start == 0 && w.offset() > 0 {
            // The server ignored our Range: start over.
            w.restart()?;
            bar.set_position(0);
        }
        if let Some(len) = body.content_length()
            && body.start.checked_add(len) != Some(d.size)
        {
            return Ok(BodyOutcome::Bad(format!(
                "announced {} bytes from offset {}, but the blob has {}",
                len, body.start, d.size
            )));
        }
        let outcome = loop {
            match body.chunk().await {
                Ok(Some(chunk)) => {
                    let len = chunk.len() as u64;
                    if let Err(e) = w.write(chunk) {
                        match e {
                            Error::Invalid(why) => break BodyOutcome::Bad(why),
                            other => return Err(other),
                        }
                    }
                    bar.inc(len);
                }
                Ok(None) if w.complete() => break BodyOutcome::Complete,
                Ok(None) => {
                    break BodyOutcome::Cut(FetchError::Transport {
                        kind: crate::registry::TransportKind::Other,
                        message: format!("the body ended after {} of {} bytes", w.offset(), d.size),
                    });
                }
                Err(e) => break BodyOutcome::Cut(e),
            }
        };
        Ok(outcome)
    }
}

enum BodyOutcome {
    Complete,
    /// Wrong length or too many bytes: discard and try another source.
    Bad(String),
    /// Cut off: resume.
    Cut(FetchError),
}

fn short(d: &Digest) -> String {
    d.hex()[..12].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_cleanup_has_run_no_download_may_start() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        let cleanup = Cleanup::default();
        let (a, b) = (Digest::sha256(b"a"), Digest::sha256(b"b"));
        assert!(cleanup.note(&layout, &a));
        // A download of `a` that stopped (its writer dropped) left a file.
        drop(layout.begin(&a, 1).unwrap());
        let partial = dir.path().join(format!(".ocimirror/partial/sha256-{}", a.hex()));
        assert!(partial.exists());
        cleanup.run();
        assert!(!partial.exists(), "cleanup removes what was noted");
        assert!(!cleanup.note(&layout, &b), "a download starting now must clean up itself");
    }
}
