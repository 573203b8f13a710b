//! A pull: resolve the reference through the walk, pick what to keep
//! (`select`), fetch the blobs in parallel from the best source that has
//! them, resuming cut downloads (`download`), and record the image in the
//! layout (`record`). Progress goes to an `Observer`; the result is a
//! `PullReport`. Nothing here prints.

mod cached;
mod cleanup;
mod download;
mod record;
mod select;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub use cleanup::Cleanup;

use crate::digest::Digest;
use crate::error::Result;
use crate::fetch::{Fetcher, Resolution, Session};
use crate::image::{Platform, convert};
use crate::layout::Layout;
use crate::plan::{Plan, Role};
use crate::report::{self, ImageReport, PullReport};

/// Which part of a multi-platform image to keep.
#[derive(Clone, Debug)]
pub enum PlatformChoice {
    One(Platform),
    All,
}

/// How manifests are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Byte for byte as served (digests stay the registry's).
    Preserve,
    /// Docker manifests rewritten as OCI, for readers of OCI types only.
    Oci,
}

/// What to pull into where, and how to store it.
#[derive(Clone, Debug)]
pub struct PullOptions {
    pub output: PathBuf,
    pub platform: PlatformChoice,
    pub format: Format,
    /// Large blobs downloaded at once.
    pub jobs: usize,
    /// The shared blob cache; `None` with `--no-cache`.
    pub cache: Option<crate::cache::BlobCache>,
}

/// What a pull tells whoever shows progress. Called from the download
/// tasks, so it must be cheap and thread-safe.
pub trait Observer: Send + Sync {
    /// A download of `digest` begins (or resumes, at `offset`).
    fn blob_started(&self, _digest: &Digest, _size: u64, _offset: u64) {}
    /// `offset` bytes of it are written (back to 0 when it starts over).
    fn blob_progress(&self, _digest: &Digest, _offset: u64) {}
    /// The download ended, served or not.
    fn blob_finished(&self, _digest: &Digest) {}
}

/// An observer that shows nothing.
pub struct Unobserved;

impl Observer for Unobserved {}

pub async fn pull(
    session: Arc<Session>,
    plan: Arc<Plan>,
    options: &PullOptions,
    observer: Arc<dyn Observer>,
    cleanup: &Cleanup,
) -> Result<PullReport> {
    let started = Instant::now();
    let fetcher = Arc::new(Fetcher::new(session, plan.clone()));
    let cache = options.cache.as_ref();
    let resolution = match cached::resolve(cache, &plan) {
        Some(r) => r,
        None => fetcher.resolve().await?,
    };
    let Resolution { manifest: top, host, served_by, mut warnings } = resolution;
    // Only now: a reference that resolves nowhere leaves no empty layout behind.
    let layout = Layout::open(&options.output)?;
    // Blobs come from the source that served the manifest, then the others.
    let order = fetcher.order(Some(host));
    let selection = select::select(
        &fetcher,
        &layout,
        &top,
        &served_by.endpoint,
        &options.platform,
        &order,
        cache,
    )
    .await?;
    let name = plan.reference.to_string();
    let blobs = select::blobs_of(&selection.images, &name)?;
    let downloads = download::Downloads {
        fetcher: fetcher.clone(),
        layout: layout.clone(),
        observer,
        cleanup: cleanup.clone(),
        order,
        jobs: options.jobs,
        cache: options.cache.clone(),
    };
    let blob_reports = download::all(Arc::new(downloads), blobs).await?;
    // A single image says its platform in its config (now in the layout):
    // recorded in index.json like a chosen index entry's.
    let platform =
        selection.platform.clone().or_else(|| record::config_platform(&layout, &selection.entry));
    let (manifests, entry, converted_from) = match options.format {
        Format::Preserve => (selection.manifests, selection.entry, None),
        Format::Oci => {
            let (oci, renamed) = convert::to_oci(&selection.manifests)?;
            match renamed.get(&selection.entry.digest) {
                Some(new) => (oci, new.clone(), Some(selection.entry.digest.clone())),
                None => (oci, selection.entry, None),
            }
        }
    };
    // A manifest from the blob cache was served by no source.
    let mut served: Vec<String> = Some(served_by.endpoint.clone())
        .filter(|_| served_by.role != Role::Cache)
        .into_iter()
        .collect();
    served.extend(selection.served);
    let sources = report::tally(&plan.sources, &served, &blob_reports);
    let blob_sources = report::blob_counts(&sources);
    let recorded = record::Entry {
        name: &name,
        manifest: &entry,
        platform: platform.as_ref(),
        served_by: &served_by,
        blob_sources: &blob_sources,
        converted_from: converted_from.as_ref(),
    };
    cached::keep(cache, std::slice::from_ref(&top));
    cached::keep(cache, &manifests);
    record::store(&layout, &manifests, recorded).await?;
    let rate_limits = report::rate_limits(fetcher.session()).await;
    warnings.extend(report::rate_limit_warnings(&rate_limits));
    Ok(PullReport {
        reference: name,
        digest: top.digest.clone(),
        media_type: top.media_type.clone(),
        image: ImageReport {
            digest: entry.digest.clone(),
            media_type: entry.media_type.clone(),
            size: entry.bytes.len() as u64,
            platform,
            converted_from,
        },
        output: options.output.clone(),
        served_by,
        warnings,
        rate_limits,
        sources,
        attempts: fetcher.attempts(),
        blobs: blob_reports,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}
