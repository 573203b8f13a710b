//! `inspect`: what an image is, as `skopeo inspect` shows it (digest, media
//! type, platform, created, labels, layers with their sizes), for a
//! reference through the mirrors (the manifests and the config only, no
//! layer) or for an image of a layout.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fetch::{Fetcher, Resolution, Session};
use crate::image::config::{ConfigSummary, config_summary};
use crate::image::{Descriptor, ImageManifest, Manifest, Parsed, Platform, platform};
use crate::layout::{self, Layout};
use crate::plan::Plan;
use crate::pull::PlatformChoice;
use crate::report::{InspectReport, InspectedLayer};
use crate::text::{shown, shown_list};

/// Indexes inside indexes followed at most, in a layout.
const MAX_INDEX_DEPTH: usize = 4;

/// An image through the plan's sources, as a pull would resolve it.
pub async fn remote(session: Arc<Session>, plan: Plan, want: &Platform) -> Result<InspectReport> {
    let name = plan.reference.to_string();
    let fetcher = Fetcher::new(session, Arc::new(plan));
    let Resolution { manifest: top, host, served_by, warnings } = fetcher.resolve().await?;
    let order = fetcher.order(Some(host));
    let choice = PlatformChoice::One(want.clone());
    let selection =
        crate::pull::select(&fetcher, None, &top, &served_by.endpoint, &choice, &order, None)
            .await?;
    let image = selection.entry;
    let config = config_of(&image)?;
    let (bytes, _) = crate::small_blob::fetch(&fetcher, &config, &order).await?;
    let summary = config_summary(bytes.as_slice(), crate::small_blob::MAX_SMALL_BLOB)?;
    let mut report = report(name, &top, &image, summary)?;
    report.served_by = Some(served_by);
    report.warnings = warnings;
    Ok(report)
}

/// An image of a layout: `name` as `ls` shows it (or as a reference would
/// be written: `ubuntu`), or the layout's only image when `None`.
pub fn in_layout(layout: &Layout, name: Option<&str>, want: &Platform) -> Result<InspectReport> {
    let index = layout.read_index()?;
    let named: Vec<(String, Descriptor)> = index
        .manifests()
        .iter()
        .filter_map(|d| {
            let name = d.annotations().as_ref()?.get(layout::REF_NAME)?.clone();
            Some((name, Descriptor::try_from(d).ok()?))
        })
        .collect();
    let dir = layout.root().display();
    let held = || shown_list(named.iter().map(|(n, _)| n));
    let (name, entry) = match name {
        None if named.len() == 1 => named[0].clone(),
        None if named.is_empty() => {
            return Err(Error::Missing(format!("{dir} holds no named image")));
        }
        None => {
            return Err(Error::Usage(format!(
                "{dir} holds several images; name one as {dir}:NAME. It holds: {}",
                held()
            )));
        }
        Some(asked) => {
            let normalised =
                asked.parse::<crate::reference::Reference>().ok().map(|r| r.to_string());
            let found = named
                .iter()
                .find(|(n, _)| n == asked)
                .or_else(|| named.iter().find(|(n, _)| normalised.as_deref() == Some(n.as_str())));
            match found {
                Some(found) => found.clone(),
                None => {
                    return Err(Error::Missing(format!(
                        "{dir} holds no image named {}; it holds: {}",
                        shown(asked),
                        held()
                    )));
                }
            }
        }
    };
    let top = stored(layout, &entry)?;
    let image = platform_image(layout, &top, want)?;
    let config = config_of(&image)?;
    let file = layout.open_blob(&config.digest)?;
    let summary = config_summary(file, crate::small_blob::MAX_SMALL_BLOB)?;
    let mut report = report(name, &top, &image, summary)?;
    report.source = entry.annotations.get(layout::SOURCE).map(|s| shown(s));
    Ok(report)
}

/// A manifest of the layout, checked against its descriptor.
fn stored(layout: &Layout, d: &Descriptor) -> Result<Manifest> {
    let bytes = layout.read_blob(&d.digest)?;
    Ok(Manifest::from_stored(bytes.into(), d)?)
}

/// The image of `top` for `want`: `top` itself, or its index's entry for
/// the platform (nested indexes followed), all from the layout.
fn platform_image(layout: &Layout, top: &Manifest, want: &Platform) -> Result<Manifest> {
    let mut current = top.clone();
    for _ in 0..=MAX_INDEX_DEPTH {
        let entries = match current.parse()? {
            Parsed::Image(_) => return Ok(current),
            Parsed::Index(index) => index.manifests,
        };
        let Some(d) = platform::choose(&entries, want) else {
            return Err(Error::Missing(format!(
                "no image for platform {want}; the index offers: {}",
                platform::offered_list(&entries)
            )));
        };
        if !layout.has_blob(&d.digest, d.size) {
            return Err(Error::Missing(format!(
                "the layout does not hold the {want} image of this index; pull it with \
                 --platform {want} or --all-platforms"
            )));
        }
        current = stored(layout, d)?;
    }
    Err(Error::Invalid(format!("indexes nested more than {MAX_INDEX_DEPTH} deep")))
}

fn config_of(image: &Manifest) -> Result<Descriptor> {
    match image.parse()? {
        Parsed::Image(ImageManifest { config, .. }) => Ok(config),
        Parsed::Index(_) => Err(Error::Invalid("an index where an image was expected".into())),
    }
}

fn report(
    name: String,
    top: &Manifest,
    image: &Manifest,
    config: ConfigSummary,
) -> Result<InspectReport> {
    let Parsed::Image(ImageManifest { config: config_d, layers }) = image.parse()? else {
        return Err(Error::Invalid("an index where an image was expected".into()));
    };
    let platforms = match top.parse()? {
        Parsed::Index(index) => platform::offered(&index.manifests),
        Parsed::Image(_) => Vec::new(),
    };
    let labels: BTreeMap<String, String> =
        config.labels.iter().map(|(k, v)| (shown(k), shown(v))).collect();
    Ok(InspectReport {
        name,
        digest: top.digest.clone(),
        media_type: top.media_type.clone(),
        image_digest: image.digest.clone(),
        image_media_type: image.media_type.clone(),
        platform: config.platform,
        platforms,
        created: config.created.map(|c| shown(&c)),
        labels,
        config: InspectedLayer::of(&config_d),
        size: layers.iter().map(|l| l.size).sum::<u64>() + config_d.size,
        layers: layers.iter().map(InspectedLayer::of).collect(),
        served_by: None,
        source: None,
        warnings: Vec::new(),
    })
}

impl InspectedLayer {
    fn of(d: &Descriptor) -> InspectedLayer {
        InspectedLayer { digest: d.digest.clone(), size: d.size, media_type: d.media_type.clone() }
    }
}
