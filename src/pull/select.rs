//! Which manifests a pull keeps, and which blobs they need: the image
//! itself, the platform's image out of an index (following indexes inside
//! indexes, as containerd does), or with `--all-platforms` every manifest
//! the index reaches.

use std::collections::{HashMap, HashSet};

use super::PlatformChoice;
use crate::cache::BlobCache;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fetch::{Fetcher, ManifestTarget};
use crate::image::platform::{self, Platform};
use crate::image::{Descriptor, ImageManifest, IndexManifest, Manifest, Parsed};
use crate::layout::Layout;

/// How deep indexes inside indexes are followed, on every path.
const MAX_INDEX_DEPTH: usize = 4;
/// The most manifests one pull keeps (a multi-platform index has a few
/// dozen, attestations included), and the most bytes of them held at
/// once: what a server cannot push memory past. Each is at most
/// `MAX_MANIFEST_SIZE` (4 MiB).
const MAX_MANIFESTS: usize = 1000;
const MAX_MANIFEST_BYTES: usize = 24 << 20;
/// The most blobs one pull fetches (images have tens of layers; a
/// manifest just under the size cap can list 44,000).
const MAX_BLOBS: usize = 10_000;

/// What a pull keeps.
pub(crate) struct Selection {
    /// Every manifest to store, the reference's first.
    pub manifests: Vec<Manifest>,
    /// The image manifests whose blobs are fetched.
    pub images: Vec<Manifest>,
    /// What the index.json entry points at.
    pub entry: Manifest,
    /// The platform of the index entry chosen, when one was.
    pub platform: Option<Platform>,
    /// The endpoint that served each manifest fetched over the network.
    pub served: Vec<String>,
}

/// Finds what to keep under `top` (served by `top_source`).
pub(crate) async fn select(
    fetcher: &Fetcher,
    layout: Option<&Layout>,
    top: &Manifest,
    top_source: &str,
    choice: &PlatformChoice,
    order: &[usize],
    cache: Option<&BlobCache>,
) -> Result<Selection> {
    let reference = &fetcher.plan().reference;
    // Say whose manifest is bad: "manifest names a bad blob" alone does not.
    let parsed = top
        .parse()
        .map_err(|e| Error::Invalid(format!("{reference}: {e} (manifest from {top_source})")))?;
    let mut children =
        Children { fetcher, layout, cache, order, served: Vec::new(), held: top.bytes.len() };
    let mut selection = match (parsed, choice) {
        (Parsed::Image(_), _) => Selection {
            manifests: vec![top.clone()],
            images: vec![top.clone()],
            entry: top.clone(),
            platform: None,
            served: Vec::new(),
        },
        (Parsed::Index(IndexManifest { manifests }), PlatformChoice::One(want)) => {
            let (child, platform) = children.for_platform(manifests, want).await?;
            Selection {
                manifests: vec![child.clone()],
                images: vec![child.clone()],
                entry: child,
                platform,
                served: Vec::new(),
            }
        }
        (Parsed::Index(IndexManifest { manifests }), PlatformChoice::All) => {
            let (mut all, images) = children.everything(manifests).await?;
            all.insert(0, top.clone());
            Selection {
                manifests: all,
                images,
                entry: top.clone(),
                platform: None,
                served: Vec::new(),
            }
        }
    };
    selection.served = children.served;
    Ok(selection)
}

/// Fetches the manifests an index names.
struct Children<'a> {
    fetcher: &'a Fetcher,
    /// Where manifests may already be (none for `lock`, which writes none).
    layout: Option<&'a Layout>,
    cache: Option<&'a BlobCache>,
    order: &'a [usize],
    served: Vec<String>,
    /// Bytes of manifests held so far.
    held: usize,
}

impl Children<'_> {
    /// The entry for `want`; an index in turn is searched the same way, a
    /// few levels at most. Returns the image and the platform of the entry
    /// chosen, which may be a compatible one (arm/v6 for arm/v7) or none.
    async fn for_platform(
        &mut self,
        mut entries: Vec<Descriptor>,
        want: &Platform,
    ) -> Result<(Manifest, Option<Platform>)> {
        let reference = &self.fetcher.plan().reference;
        for _ in 0..=MAX_INDEX_DEPTH {
            let Some(d) = platform::choose(&entries, want) else {
                return Err(Error::Missing(format!(
                    "{reference}: no image for platform {want}; the index offers: {}",
                    platform::offered_list(&entries)
                )));
            };
            let child = self.get(d).await?;
            match child.parse()? {
                Parsed::Image(_) => return Ok((child, d.platform.clone())),
                Parsed::Index(index) => entries = index.manifests,
            }
        }
        Err(Error::Invalid(format!("{reference}: indexes nested more than {MAX_INDEX_DEPTH} deep")))
    }

    /// Every manifest the index reaches, nested indexes included (each
    /// once, however often it is listed), and the images among them.
    async fn everything(
        &mut self,
        entries: Vec<Descriptor>,
    ) -> Result<(Vec<Manifest>, Vec<Manifest>)> {
        let reference = &self.fetcher.plan().reference;
        let (mut all, mut images) = (Vec::new(), Vec::new());
        let mut seen = HashSet::new();
        let mut queue: Vec<(Descriptor, usize)> = entries.into_iter().map(|d| (d, 1)).collect();
        while let Some((d, depth)) = queue.pop() {
            if !seen.insert(d.digest.clone()) {
                continue;
            }
            if seen.len() > MAX_MANIFESTS {
                return Err(Error::Invalid(format!(
                    "{reference}: the index reaches more than {MAX_MANIFESTS} manifests"
                )));
            }
            let child = self.get(&d).await?;
            match child.parse()? {
                Parsed::Index(_) if depth > MAX_INDEX_DEPTH => {
                    return Err(Error::Invalid(format!(
                        "{reference}: indexes nested more than {MAX_INDEX_DEPTH} deep"
                    )));
                }
                Parsed::Index(index) => {
                    queue.extend(index.manifests.into_iter().map(|m| (m, depth + 1)))
                }
                Parsed::Image(_) => images.push(child.clone()),
            }
            all.push(child);
        }
        Ok((all, images))
    }

    /// A manifest named by an index entry: from the layout when it is
    /// there already, else from the blob cache, else from the first host
    /// that has it.
    async fn get(&mut self, d: &Descriptor) -> Result<Manifest> {
        if let Some(layout) = self.layout
            && layout.has_blob(&d.digest, d.size)
        {
            let bytes = layout.read_blob(&d.digest)?;
            let stored = Manifest::from_stored(bytes.into(), d)?;
            stored.parse()?;
            return Ok(stored);
        }
        let max = crate::image::MAX_MANIFEST_SIZE as u64;
        if let Some(bytes) = self.cache.and_then(|c| c.read_small(&d.digest, Some(d.size), max))
            && let Ok(stored) = Manifest::from_stored(bytes, d)
            && stored.parse().is_ok()
        {
            return Ok(stored);
        }
        let target = ManifestTarget::Digest { digest: &d.digest, size: Some(d.size) };
        let fetched = self.fetcher.manifest(target, self.order).await?;
        self.served.push(self.fetcher.plan().sources[fetched.host].display());
        self.held += fetched.manifest.bytes.len();
        if self.held > MAX_MANIFEST_BYTES {
            return Err(Error::Invalid(format!(
                "{}: the index reaches more than {} MiB of manifests",
                self.fetcher.plan().reference,
                MAX_MANIFEST_BYTES >> 20
            )));
        }
        Ok(fetched.manifest)
    }
}

/// Every blob of every image, once. One digest with two sizes cannot be
/// right, and storing it under one would leave a descriptor that does not
/// match its blob.
pub(super) fn blobs_of(images: &[Manifest], reference: &str) -> Result<Vec<Descriptor>> {
    let mut sizes: HashMap<Digest, u64> = HashMap::new();
    let mut blobs: Vec<Descriptor> = Vec::new();
    for m in images {
        let Parsed::Image(ImageManifest { config, layers }) = m.parse()? else { continue };
        for d in std::iter::once(config).chain(layers) {
            match sizes.get(&d.digest) {
                None if blobs.len() == MAX_BLOBS => {
                    return Err(Error::Invalid(format!(
                        "{reference}: more than {MAX_BLOBS} blobs to fetch; refusing"
                    )));
                }
                None => {
                    sizes.insert(d.digest.clone(), d.size);
                    blobs.push(d);
                }
                Some(&size) if size == d.size => {}
                Some(&size) => {
                    return Err(Error::Invalid(format!(
                        "{reference}: blob {} is listed with two sizes ({size} and {} bytes)",
                        d.digest, d.size
                    )));
                }
            }
        }
    }
    Ok(blobs)
}
