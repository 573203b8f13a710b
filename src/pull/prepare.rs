//! Getting one image of a pull ready, and recording it once its blobs are
//! in: resolve the reference through the walk, open the layout (once, for
//! the whole batch), choose what to keep and list its blobs; afterwards,
//! record the manifests and the index.json entry and report.
//!
//! A tag a mirror answered is prepared before the registry confirmed it
//! (the blobs download meanwhile: they are verified by digest whoever
//! serves them); `confirm.rs` waits for the confirmation before the image
//! is named, and prepares it again from the registry's manifest when the
//! registry overrules the mirror.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::select::{self, Selection};
use super::{Format, Observer, PlatformChoice, PullItem, PullOptions, SharedLayout, record};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fetch::{Confirmation, Fetcher, Resolution, ServedBy, Session, Unconfirmed};
use crate::image::{Descriptor, ImageManifest, Manifest, Parsed, Platform, convert};
use crate::layout::Layout;
use crate::plan::Role;
use crate::report::{self, BlobReport, ImageReport, PullReport};

/// How many references are resolved at once: each costs a few round trips,
/// worth overlapping, but a batch of hundreds must not open hundreds of
/// connections at once.
const RESOLVING_AT_ONCE: usize = 8;

/// What a lock file says an image is: the image manifests it resolved to
/// (one per platform kept). A pull `--locked` fails when they differ.
#[derive(Clone, Debug)]
pub struct Pinned {
    pub images: Vec<Digest>,
}

/// One image, resolved and chosen, waiting for its blobs.
pub(super) struct Prepared {
    pub fetcher: Arc<Fetcher>,
    pub layout: Layout,
    /// The index.json name.
    pub name: String,
    pub top: Manifest,
    /// Index into the plan's hosts of the one that served `top`.
    pub host: usize,
    pub served_by: ServedBy,
    pub warnings: Vec<String>,
    /// The tag still to be confirmed with the registry (see the top).
    pub unconfirmed: Option<Unconfirmed>,
    /// What to keep of it, and what a lock file pins it to.
    pub platform: PlatformChoice,
    pub pinned: Option<Pinned>,
    /// Hosts in the order its blobs are asked for: the manifest's first.
    pub order: Arc<[usize]>,
    pub selection: Selection,
    pub blobs: Vec<Descriptor>,
    /// The config, when it was fetched (and stored) to check the platform.
    pub config_fetched: Option<BlobReport>,
    pub started: Instant,
}

type Prepare = Result<Prepared, (String, Error)>;

/// Prepares every item, a few at a time; results in the items' order.
pub(super) async fn all(
    session: Arc<Session>,
    items: Vec<PullItem>,
    options: &PullOptions,
    observer: &Arc<dyn Observer>,
    cleanup: &super::Cleanup,
) -> Vec<Prepare> {
    let layout = SharedLayout::default();
    let mut pending = items.into_iter().enumerate();
    let mut running = JoinSet::new();
    let mut done: Vec<(usize, Prepare)> = Vec::new();
    loop {
        while running.len() < RESOLVING_AT_ONCE
            && let Some((i, item)) = pending.next()
        {
            let (session, options, layout) = (session.clone(), options.clone(), layout.clone());
            let (observer, cleanup) = (observer.clone(), cleanup.clone());
            running.spawn(async move {
                let reference = item.plan.reference.to_string();
                let prepared = one(session, item, &options, &layout, &observer, &cleanup).await;
                match &prepared {
                    // Told once confirmed (`Prepared::confirmed`).
                    Ok(p) if p.unconfirmed.is_some() => {}
                    Ok(p) => observer.image_resolved(&p.name, &p.served_by),
                    Err(e) => observer.image_failed(&reference, e),
                }
                (i, prepared.map_err(|e| (reference, e)))
            });
        }
        match running.join_next().await {
            None => break,
            Some(Ok(result)) => done.push(result),
            Some(Err(e)) => {
                let stopped = Error::Failed(format!("resolving stopped: {e}"));
                done.push((usize::MAX, Err((String::new(), stopped))));
            }
        }
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, p)| p).collect()
}

async fn one(
    session: Arc<Session>,
    item: PullItem,
    options: &PullOptions,
    layout: &SharedLayout,
    observer: &Arc<dyn Observer>,
    cleanup: &super::Cleanup,
) -> Result<Prepared> {
    let started = Instant::now();
    let name = item.name.unwrap_or_else(|| item.plan.reference.to_string());
    let walk_observer: Arc<dyn crate::trace::WalkObserver> = observer.clone();
    let fetcher = Arc::new(Fetcher::observed(session, Arc::new(item.plan), walk_observer));
    let cache = options.cache.as_ref();
    let (resolution, unconfirmed) = match super::cached::resolve(cache, fetcher.plan()) {
        Some(r) => (r, None),
        // An archive gets the blobs of no image it will not name: its
        // blobs go out as they arrive (`Arrivals`).
        None if options.into_archive.is_some() => (fetcher.resolve().await?, None),
        None => fetcher.resolve_unconfirmed().await?,
    };
    // Only now: a reference that resolves nowhere leaves no empty layout behind.
    let layout = layout
        .get_or_try_init(|| async {
            match &options.into_archive {
                Some(arrivals) => Layout::open_scratch(&options.output, Some(arrivals.clone())),
                None => Layout::open(&options.output),
            }
        })
        .await?;
    let image = Image {
        fetcher,
        name,
        platform: item.platform.unwrap_or_else(|| options.platform.clone()),
        pinned: item.pinned,
        started,
    };
    let stores = Stores { layout, cache, cleanup, may_store: unconfirmed.is_none() };
    let Some(unconfirmed) = unconfirmed else {
        return choose(image, resolution, stores, options).await;
    };
    let kept = (image.clone(), resolution.clone());
    match choose(image, resolution, stores, options).await {
        Ok(prepared) => Ok(Prepared { unconfirmed: Some(unconfirmed), ..prepared }),
        Err(Error::Interrupted) => Err(Error::Interrupted),
        // What the mirror served could not be chosen from (an index
        // without this platform, a child it lacks): maybe it is not the
        // registry's image at all, so the registry has the last word.
        Err(e) => {
            let (image, resolution) = kept;
            let confirmed = image.fetcher.confirmed(resolution, unconfirmed).await?;
            if confirmed.served_by.confirmation != Confirmation::Overruled {
                return Err(e);
            }
            let stores = Stores { may_store: true, ..stores };
            choose(image, confirmed, stores, options).await
        }
    }
}

/// An image of the pull, before its manifest is chosen from.
#[derive(Clone)]
pub(super) struct Image {
    pub fetcher: Arc<Fetcher>,
    pub name: String,
    pub platform: PlatformChoice,
    pub pinned: Option<Pinned>,
    pub started: Instant,
}

/// Chooses what to keep of the resolved manifest and lists its blobs.
pub(super) async fn choose(
    image: Image,
    resolution: Resolution,
    stores: Stores<'_>,
    options: &PullOptions,
) -> Result<Prepared> {
    let Image { fetcher, name, platform, pinned, started } = image;
    let Resolution { manifest: top, host, served_by, warnings } = resolution;
    let Stores { layout, cache, .. } = stores;
    // Blobs come from the source that served the manifest, then the others.
    let order: Arc<[usize]> = fetcher.order(Some(host)).into();
    let selection =
        select::select(&fetcher, Some(layout), &top, &served_by.endpoint, &platform, &order, cache)
            .await?;
    if let Some(pinned) = &pinned {
        pinned.check(&name, &selection)?;
    }
    let blobs = select::blobs_of(&selection.images, &name)?;
    let config_fetched = match (options.platform_given, &pinned, &platform) {
        (true, None, PlatformChoice::One(want)) if selection.entry.digest == top.digest => {
            let image = &selection.entry;
            single_platform(&fetcher, stores, image, want, &order, &name).await?
        }
        _ => None,
    };
    Ok(Prepared {
        fetcher,
        layout: layout.clone(),
        name,
        top,
        host,
        served_by,
        warnings,
        unconfirmed: None,
        platform,
        pinned,
        order,
        selection,
        blobs,
        config_fetched,
        started,
    })
}

/// Where a blob may already be, and where it goes.
#[derive(Clone, Copy)]
pub(super) struct Stores<'a> {
    pub layout: &'a Layout,
    pub cache: Option<&'a crate::cache::BlobCache>,
    pub cleanup: &'a super::Cleanup,
    /// Blobs may be stored now: false while the tag is being confirmed.
    pub may_store: bool,
}

/// A single-platform image asked for with `--platform` must be of it (or
/// of one that runs there): its config says, so it is fetched first,
/// before any layer, and stored as a download would store it (the
/// download then finds it in place). A config too big to hold says
/// nothing here (its entry records no platform either).
async fn single_platform(
    fetcher: &Fetcher,
    stores: Stores<'_>,
    image: &Manifest,
    want: &Platform,
    order: &[usize],
    name: &str,
) -> Result<Option<BlobReport>> {
    let Stores { layout, cache, cleanup, may_store } = stores;
    let Parsed::Image(ImageManifest { config, .. }) = image.parse()? else {
        return Err(Error::Invalid(format!("{name}: an index where an image was expected")));
    };
    if config.size > crate::small_blob::MAX_SMALL_BLOB {
        return Ok(None);
    }
    if !may_store {
        // Only looked at: its download, with the other blobs, waits for
        // the tag's confirmation before it is stored (see the top).
        let bytes = match layout.has_blob(&config.digest, config.size) {
            true => layout.read_blob(&config.digest)?,
            false => crate::small_blob::fetch(fetcher, &config, order).await?.0,
        };
        return check_platform(&bytes, want, name).map(|()| None);
    }
    // As a download would: from the blob cache, else wait while another
    // pull writes it, else write it ourselves (a partial file Ctrl-C
    // removes; kept in the cache too).
    let stall = fetcher.session().config.network.stall_timeout;
    let from_cache = match cache {
        Some(cache) if !layout.has_blob(&config.digest, config.size) => {
            cache.place(layout, &config.digest, config.size, stall).await?.is_some()
        }
        _ => false,
    };
    let (bytes, endpoint) = match super::download::writer(layout, &config, stall).await? {
        None => (layout.read_blob(&config.digest)?, None),
        Some(mut writer) => {
            if !cleanup.note(layout, &config.digest) {
                drop(writer);
                layout.discard_partial(&config.digest, std::time::Instant::now());
                return Err(Error::Interrupted);
            }
            let (bytes, served) = crate::small_blob::fetch(fetcher, &config, order).await?;
            if let Some(cache) = cache {
                cache.put_verified(&config.digest, &bytes);
            }
            writer.restart()?;
            writer.write(bytes::Bytes::copy_from_slice(&bytes))?;
            writer.finish().await?;
            cleanup.done(&config.digest);
            (bytes, Some(fetcher.plan().sources[served.host].display()))
        }
    };
    check_platform(&bytes, want, name)?;
    // Reported as fetched (or taken from the cache) only if this run did.
    Ok((endpoint.is_some() || from_cache).then(|| BlobReport {
        digest: config.digest,
        size: config.size,
        media_type: config.media_type,
        cached: endpoint.is_none(),
        endpoint,
        from_cache,
    }))
}

/// A single-platform image's config must name `want` (or a platform that
/// runs there), or none.
fn check_platform(config: &[u8], want: &Platform, name: &str) -> Result<()> {
    let found = crate::image::config_platform(config, crate::small_blob::MAX_SMALL_BLOB)?;
    match found.filter(|p| !want.compatible().contains(p)) {
        Some(p) => Err(Error::Missing(format!(
            "{name}: no image for platform {want}: it is a single-platform image for {}",
            crate::text::shown(&p.to_string())
        ))),
        None => Ok(()),
    }
}

impl Pinned {
    /// The images chosen are the ones the lock file recorded.
    fn check(&self, name: &str, selection: &Selection) -> Result<()> {
        let chosen: Vec<&Digest> = selection.images.iter().map(|m| &m.digest).collect();
        let missing: Vec<String> =
            self.images.iter().filter(|d| !chosen.contains(d)).map(Digest::to_string).collect();
        if missing.is_empty() && chosen.len() == self.images.len() {
            return Ok(());
        }
        Err(Error::Invalid(format!(
            "{name}: the lock file pins {} for this platform choice, but the index now gives {}",
            missing.join(", "),
            chosen.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        )))
    }
}

impl Prepared {
    /// Records the image once its blobs are in (`blobs` holds what became
    /// of every blob of the batch), and reports it.
    pub async fn finish(
        self,
        blobs: &HashMap<Digest, Result<BlobReport, Error>>,
        options: &PullOptions,
    ) -> Result<PullReport> {
        let blob_reports = self.blob_reports(blobs)?;
        let selection = self.selection;
        // A single image says its platform in its config (now in the
        // layout): recorded in index.json like a chosen index entry's.
        let platform = selection
            .platform
            .clone()
            .or_else(|| record::config_platform(&self.layout, &selection.entry));
        let mut warnings = self.warnings;
        if let (PlatformChoice::One(host), None, Some(p)) =
            (&options.platform, &selection.platform, &platform)
            && !options.platform_given
            && !host.compatible().contains(p)
        {
            warnings.push(format!(
                "{}: the image is for {p}, not this machine's {host}; pulled as docker and \
                 podman do (--platform {host} would refuse it)",
                self.name
            ));
        }
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
        let mut served: Vec<String> = Some(self.served_by.endpoint.clone())
            .filter(|_| self.served_by.role != Role::Cache)
            .into_iter()
            .collect();
        served.extend(selection.served);
        let sources = report::tally(&self.fetcher.plan().sources, &served, &blob_reports);
        let blob_sources = report::blob_counts(&sources);
        let recorded = record::Entry {
            name: &self.name,
            manifest: &entry,
            platform: platform.as_ref(),
            served_by: &self.served_by,
            blob_sources: &blob_sources,
            converted_from: converted_from.as_ref(),
        };
        super::cached::keep(options.cache.as_ref(), std::slice::from_ref(&self.top));
        super::cached::keep(options.cache.as_ref(), &manifests);
        record::store(&self.layout, &manifests, recorded).await?;
        let rate_limits = report::rate_limits(self.fetcher.session()).await;
        warnings.extend(report::rate_limit_warnings(&rate_limits));
        Ok(PullReport {
            reference: self.name,
            digest: self.top.digest.clone(),
            media_type: self.top.media_type.clone(),
            image: ImageReport {
                digest: entry.digest.clone(),
                media_type: entry.media_type.clone(),
                size: entry.bytes.len() as u64,
                platform,
                converted_from,
            },
            output: options.output.clone(),
            served_by: self.served_by,
            warnings,
            rate_limits,
            sources,
            attempts: self.fetcher.attempts(),
            blobs: blob_reports,
            elapsed_ms: self.started.elapsed().as_millis() as u64,
        })
    }

    /// This image's blobs as the batch's download left them: every one in
    /// place, or the error of one that failed (the downloads of the others
    /// may have been stopped because of it).
    fn blob_reports(
        &self,
        blobs: &HashMap<Digest, Result<BlobReport, Error>>,
    ) -> Result<Vec<BlobReport>> {
        if let Some(Err(e)) =
            self.blobs.iter().find_map(|d| blobs.get(&d.digest).filter(|r| r.is_err()))
        {
            return Err(e.clone());
        }
        let mut reports = Vec::with_capacity(self.blobs.len());
        for d in &self.blobs {
            if let Some(fetched) = self.config_fetched.as_ref().filter(|c| c.digest == d.digest) {
                reports.push(fetched.clone());
                continue;
            }
            match blobs.get(&d.digest) {
                Some(Ok(r)) if r.size == d.size => reports.push(r.clone()),
                Some(Ok(r)) => {
                    return Err(Error::Invalid(format!(
                        "{}: blob {} is listed with {} bytes here and {} bytes by another image",
                        self.name, d.digest, d.size, r.size
                    )));
                }
                _ => {
                    return Err(Error::Failed(format!(
                        "{}: blob {} was not fetched",
                        self.name, d.digest
                    )));
                }
            }
        }
        Ok(reports)
    }
}
