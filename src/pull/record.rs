//! Recording a pulled image in the layout: its manifests, then its
//! `index.json` entry with the annotations that say what it is and where
//! it came from.

use std::collections::{BTreeMap, HashMap};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fetch::ServedBy;
use crate::layout::{self, Layout};
use crate::platform::Platform;
use crate::registry::manifest::{Manifest, Parsed};

/// The platform a single image's config names (`os`, `architecture`,
/// `variant`), read from the layout where its config now is.
pub(super) fn config_platform(layout: &Layout, image: &Manifest) -> Option<Platform> {
    let Ok(Parsed::Image { config, .. }) = image.parse() else { return None };
    let bytes = layout.read_blob(&config.digest).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let (os, arch) = (v["os"].as_str()?, v["architecture"].as_str()?);
    Some(Platform::new(os, arch, v["variant"].as_str()))
}

pub fn oci_digest(d: &Digest) -> oci_spec::image::Digest {
    // Our digests are stricter than oci-spec's, so this cannot fail.
    d.to_string().parse().expect("a valid digest is a valid OCI digest")
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
        let m = self.manifest;
        let mut desc = oci_spec::image::Descriptor::new(
            m.media_type.as_str().into(),
            m.bytes.len() as u64,
            oci_digest(&m.digest),
        );
        let mut annotations = HashMap::new();
        annotations.insert(layout::REF_NAME.to_string(), self.name.to_string());
        annotations.insert(layout::CONTAINERD_NAME.to_string(), self.name.to_string());
        annotations.insert(layout::SOURCE.to_string(), self.served_by.endpoint.clone());
        annotations.insert(layout::TRUST.to_string(), self.served_by.trust.name().to_string());
        if !self.blob_sources.is_empty()
            && let Ok(counts) = serde_json::to_string(self.blob_sources)
        {
            annotations.insert(layout::BLOB_SOURCES.to_string(), counts);
        }
        if let Some(d) = self.converted_from {
            annotations.insert(layout::CONVERTED_FROM.to_string(), d.to_string());
        }
        desc.set_annotations(Some(annotations));
        if let Some(p) = self.platform {
            let mut op = oci_spec::image::Platform::default();
            op.set_os(p.os.as_str().into());
            op.set_architecture(p.architecture.as_str().into());
            op.set_variant(p.variant.clone());
            desc.set_platform(Some(op));
        }
        desc
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
