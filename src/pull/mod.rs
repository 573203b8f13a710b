//! Pulls: one image or many in one run. Each reference is resolved through
//! the walk and what to keep is chosen (`prepare`, in parallel); the blobs
//! of every image go through one download pool (`download`: a blob shared
//! by several images is fetched once), resuming cut downloads, while the
//! tags mirrors answered are confirmed (`confirm`); then each image whose
//! blobs all arrived is recorded in the layout (`record`).
//! One session serves the whole run: a hung mirror costs its timeout once,
//! not once per image. Progress goes to an `Observer`; the results are
//! `PullReport`s. Nothing here prints.

mod cached;
mod cleanup;
mod confirm;
mod download;
mod prepare;
mod record;
mod select;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

pub use cleanup::Cleanup;
pub use prepare::Pinned;
pub(crate) use select::select;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fetch::{ServedBy, Session};
use crate::image::Platform;
use crate::layout::Layout;
use crate::plan::Plan;
use crate::report::PullReport;
use crate::trace::WalkObserver;

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
    /// The platform was asked for (`--platform`): a single-platform image
    /// of another one fails, as an index without it does. Else (this
    /// machine's, by default) it is pulled with a warning, as docker does.
    pub platform_given: bool,
    pub format: Format,
    /// Large blobs downloaded at once.
    pub jobs: usize,
    /// The shared blob cache; `None` with `--no-cache`.
    pub cache: Option<crate::cache::BlobCache>,
    /// Set when the pull feeds an archive: `output` is then a scratch
    /// layout, read once and removed (nothing in it is synced to disk),
    /// and each blob named in it is told to these `Arrivals`.
    pub into_archive: Option<crate::layout::Arrivals>,
}

/// One image of a pull.
#[derive(Clone, Debug)]
pub struct PullItem {
    pub plan: Plan,
    /// The name its index.json entry gets; the reference by default.
    pub name: Option<String>,
    /// What a lock file says it must be, when pulled `--locked`.
    pub pinned: Option<Pinned>,
    /// Its own platform choice (a lock entry's), else the pull's.
    pub platform: Option<PlatformChoice>,
}

impl PullItem {
    pub fn new(plan: Plan) -> PullItem {
        PullItem { plan, name: None, pinned: None, platform: None }
    }
}

/// What became of one image of a batch.
#[derive(Debug)]
pub enum ImageOutcome {
    Pulled(Box<PullReport>),
    Failed { reference: String, error: Error },
}

/// What a pull tells whoever shows progress: what it is about to do, the
/// totals once known, each blob's progress and outcome; and, through the
/// walk (`WalkObserver`), each source asked and what it answered. Called
/// from the download tasks, so it must be cheap and thread-safe.
pub trait Observer: WalkObserver {
    /// The pull begins: these images, each with its plan (its sources).
    fn pull_started(&self, _plans: &[&Plan]) {}
    /// An image's manifest was resolved (and the blobs it needs listed).
    fn image_resolved(&self, _reference: &str, _served_by: &ServedBy) {}
    /// An image cannot be pulled (it is reported at the end too).
    fn image_failed(&self, _reference: &str, _error: &Error) {}
    /// Every image is resolved: the blobs the whole pull needs, each once.
    fn blobs_planned(&self, _blobs: usize, _bytes: u64) {}
    /// A blob needed no download: it is already in the layout.
    fn blob_present(&self, _digest: &Digest, _size: u64) {}
    /// A download of `digest` begins (or resumes, at `offset`).
    fn blob_started(&self, _digest: &Digest, _size: u64, _offset: u64) {}
    /// `offset` bytes of it are written (back to 0 when it starts over).
    fn blob_progress(&self, _digest: &Digest, _offset: u64) {}
    /// The download ended, served or not.
    fn blob_finished(&self, _digest: &Digest) {}
    /// A blob verified and stored: who served it, after how many requests.
    fn blob_served(&self, _blob: &ServedBlob<'_>) {}
    /// No source could serve a blob.
    fn blob_failed(&self, _digest: &Digest, _error: &Error) {}
}

/// A blob that arrived, for `Observer::blob_served`.
#[derive(Clone, Copy, Debug)]
pub struct ServedBlob<'a> {
    pub digest: &'a Digest,
    pub size: u64,
    /// The endpoint whose bytes verified.
    pub endpoint: &'a str,
    /// Requests it took on that source (more than one: resumed there).
    pub tries: u32,
    /// Bytes already there when this run began it (from an earlier run).
    pub resumed_from: u64,
}

/// An observer that shows nothing.
pub struct Unobserved;

impl WalkObserver for Unobserved {}
impl Observer for Unobserved {}

/// Pulls one image.
pub async fn pull(
    session: Arc<Session>,
    plan: Arc<Plan>,
    options: &PullOptions,
    observer: Arc<dyn Observer>,
    cleanup: &Cleanup,
) -> Result<PullReport> {
    let item = PullItem::new(Plan::clone(&plan));
    let mut outcomes = pull_many(session, vec![item], options, observer, cleanup).await?;
    match outcomes.pop() {
        Some(ImageOutcome::Pulled(report)) => Ok(*report),
        Some(ImageOutcome::Failed { error, .. }) => Err(error),
        None => Err(Error::Failed("nothing was pulled".into())),
    }
}

/// Pulls several images into one layout, in one session. An image that
/// fails does not stop the others; `Err` only when nothing can go on
/// (Ctrl-C).
pub async fn pull_many(
    session: Arc<Session>,
    items: Vec<PullItem>,
    options: &PullOptions,
    observer: Arc<dyn Observer>,
    cleanup: &Cleanup,
) -> Result<Vec<ImageOutcome>> {
    observer.pull_started(&items.iter().map(|i| &i.plan).collect::<Vec<_>>());
    let prepared = prepare::all(session, items, options, &observer, cleanup).await;
    let layout = prepared.iter().find_map(|p| p.as_ref().ok().map(|p| p.layout.clone()));
    let mut failures: HashMap<usize, (String, Error)> = HashMap::new();
    let mut ready = Vec::new();
    for (i, p) in prepared.into_iter().enumerate() {
        match p {
            Ok(p) => ready.push((i, p)),
            Err((_, Error::Interrupted)) => return Err(Error::Interrupted),
            Err(failed) => {
                failures.insert(i, failed);
            }
        }
    }
    let blobs = match layout {
        Some(layout) => {
            // Tags still being confirmed: their blobs download meanwhile,
            // and are named once the image is (`download::Gate`).
            let named_now = ready.iter().filter(|(_, p)| p.unconfirmed.is_none());
            let (named, named_rx) = watch::channel(named_now.map(|(i, _)| *i).collect());
            let ctx = Arc::new(download::Downloads {
                layout,
                observer: observer.clone(),
                cleanup: cleanup.clone(),
                jobs: options.jobs,
                cache: options.cache.clone(),
                named: named_rx,
            });
            let jobs = download::jobs(&ready);
            let (count, bytes) = (jobs.len(), download::bytes(&jobs));
            observer.blobs_planned(count, bytes);
            let (dropped, dropped_rx) = mpsc::unbounded_channel();
            let (downloaded, confirmed) = tokio::join!(
                download::all(ctx.clone(), jobs, dropped_rx),
                confirm::confirm_all(ready, options, &observer, cleanup, (&named, dropped)),
            );
            let (mut blobs, confirmed) = (downloaded?, confirmed?);
            failures.extend(confirmed.failed);
            ready = confirmed.stand;
            if !confirmed.overruled.is_empty() {
                named
                    .send_modify(|named| named.extend(confirmed.overruled.iter().map(|(i, _)| *i)));
                let jobs = download::jobs(&confirmed.overruled);
                observer.blobs_planned(count + jobs.len(), bytes + download::bytes(&jobs));
                blobs.extend(download::all(ctx, jobs, download::none_dropped()).await?);
                ready.extend(confirmed.overruled);
            }
            blobs
        }
        None => HashMap::new(),
    };
    let mut outcomes: Vec<(usize, ImageOutcome)> = failures
        .into_iter()
        .map(|(i, (reference, error))| (i, ImageOutcome::Failed { reference, error }))
        .collect();
    for (i, p) in ready {
        let reference = p.name.clone();
        let outcome = match p.finish(&blobs, options).await {
            Ok(report) => ImageOutcome::Pulled(Box::new(report)),
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(error) => ImageOutcome::Failed { reference, error },
        };
        outcomes.push((i, outcome));
    }
    outcomes.sort_by_key(|(i, _)| *i);
    Ok(outcomes.into_iter().map(|(_, o)| o).collect())
}

/// The layout a batch writes into, opened once, by the first image that
/// resolves: a reference that resolves nowhere leaves no empty layout.
pub(crate) type SharedLayout = Arc<tokio::sync::OnceCell<Layout>>;
