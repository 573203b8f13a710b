//! Pulls: one image or many in one run. Each reference is resolved through
//! the walk and what to keep is chosen (`prepare`, in parallel); the blobs
//! of every image go through one download pool (`download`: a blob shared
//! by several images is fetched once), resuming cut downloads; then each
//! image whose blobs all arrived is recorded in the layout (`record`).
//! One session serves the whole run: a hung mirror costs its timeout once,
//! not once per image. Progress goes to an `Observer`; the results are
//! `PullReport`s. Nothing here prints.

mod cached;
mod cleanup;
mod download;
mod prepare;
mod record;
mod select;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use cleanup::Cleanup;
pub use prepare::Pinned;
pub(crate) use select::select;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fetch::Session;
use crate::image::Platform;
use crate::layout::Layout;
use crate::plan::Plan;
use crate::report::PullReport;

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
    let prepared = prepare::all(session, items, options).await;
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
            let ctx = download::Downloads {
                layout,
                observer,
                cleanup: cleanup.clone(),
                jobs: options.jobs,
                cache: options.cache.clone(),
            };
            download::all(Arc::new(ctx), download::jobs(&ready)).await?
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
