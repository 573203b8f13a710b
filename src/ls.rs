//! `ocimirror ls DIR`: the images in a layout, with what index.json
//! records of them (digest, platform, where they came from).

use std::path::Path;

use crate::error::Result;
use crate::image::Descriptor;
use crate::layout::{self, Layout};
use crate::report::LsEntry;

pub fn ls(dir: &Path) -> Result<Vec<LsEntry>> {
    let layout = Layout::existing(dir)?;
    let index = layout.read_index()?;
    let entries = index
        .manifests()
        .iter()
        .map(|d| {
            let ann = |k: &str| d.annotations().as_ref().and_then(|a| a.get(k)).cloned();
            LsEntry {
                name: ann(layout::REF_NAME),
                digest: d.digest().to_string(),
                media_type: d.media_type().to_string(),
                size: d.size(),
                // Read back as ours, so a platform prints as everywhere else.
                platform: Descriptor::try_from(d)
                    .ok()
                    .and_then(|d| d.platform)
                    .map(|p| p.to_string()),
                source: ann(layout::SOURCE),
                trust: ann(layout::TRUST),
                blob_sources: ann(layout::BLOB_SOURCES)
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(entries)
}
