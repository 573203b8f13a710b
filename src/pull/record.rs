//! Recording a pulled image in the layout: its manifests, then its
//! `index.json` entry with the annotations that say what it is and where
//! it came from.

use std::collections::BTreeMap;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fetch::ServedBy;
use crate::image::{self, ImageManifest, Manifest, Parsed, Platform};
use crate::layout::{self, Layout};

/// The most of an image config read to find its platform. Configs are
/// small (a large one, with a long history, a few hundred KiB); the cap is
/// what a mirror cannot push memory past.
const MAX_CONFIG_READ: u64 = 16 << 20;

/// The platform a single image's config names (`os`, `architecture`,
/// `variant`), read from the layout where its config now is. None when it
/// names none, or cannot be read (then the entry records no platform).
pub(super) fn config_platform(layout: &Layout, image: &Manifest) -> Option<Platform> {
    let Ok(Parsed::Image(ImageManifest { config, .. })) = image.parse() else { return None };
    let file = layout.open_blob(&config.digest).ok()?;
    match image::config_platform(file, MAX_CONFIG_READ) {
        Ok(platform) => platform,
        Err(e) => {
            tracing::debug!("{}: no platform recorded: {e}", config.digest);
            None
        }
    }
}

/// What the index.json entry says about the image.
pub(super) struct Entry<'a> {
    pub name: &'a str,
    pub manifest: &'a Manifest,
    pub platform: Option<&'a Platform>,
    pub served_by: &'a ServedBy,
    pub blob_sources: &'a BTreeMap<String, usize>,
    pub converted_from: Option<&'a Digest>,
}

impl Entry<'_> {
    fn descriptor(&self) -> oci_spec::image::Descriptor {
        let mut d = self.manifest.descriptor();
        d.platform = self.platform.cloned();
        let mut note = |key: &str, value: String| d.annotations.insert(key.to_string(), value);
        note(layout::REF_NAME, self.name.to_string());
        note(layout::CONTAINERD_NAME, self.name.to_string());
        note(layout::SOURCE, self.served_by.endpoint.clone());
        note(layout::TRUST, self.served_by.trust.name().to_string());
        if !self.blob_sources.is_empty()
            && let Ok(counts) = serde_json::to_string(self.blob_sources)
        {
            note(layout::BLOB_SOURCES, counts);
        }
        if let Some(from) = self.converted_from {
            note(layout::CONVERTED_FROM, from.to_string());
        }
        oci_spec::image::Descriptor::from(&d)
    }
}

/// Stores the manifests (after their blobs, which are in place), then the
/// index entry last: a reader of index.json only ever finds complete
/// images. On a blocking thread: the index lock may be held by another
/// pull for a while, and Ctrl-C must still be heard meanwhile.
pub(super) async fn store(layout: &Layout, manifests: &[Manifest], entry: Entry<'_>) -> Result<()> {
    let to_store: Vec<(Digest, bytes::Bytes)> =
        manifests.iter().map(|m| (m.digest.clone(), m.bytes.clone())).collect();
    let (store, name, desc) = (layout.clone(), entry.name.to_string(), entry.descriptor());
    tokio::task::spawn_blocking(move || {
        for (digest, bytes) in &to_store {
            store.put_verified(digest, bytes)?;
        }
        store.add_image(&name, desc)
    })
    .await
    .map_err(|e| Error::Failed(format!("recording the image: {e}")))?
}
