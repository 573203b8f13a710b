//! `ocimirror export`: images of a layout as one tar that is both an OCI
//! image layout and a `docker load` archive, the combined format Docker 25+
//! (`docker save`) and containerd (`ctr images export`) write. Readers that
//! know OCI (containerd, skopeo's `oci-archive:`, podman) take `oci-layout`
//! and `index.json`; older ones (`docker load` before 25, skopeo's
//! `docker-archive:`) take `manifest.json`. Both name the same blobs.
//!
//! ```text
//! oci-layout                 {"imageLayoutVersion":"1.0.0"}
//! index.json                 one entry per name: ref.name and io.containerd.image.name
//! manifest.json              docker's: [{"Config", "RepoTags", "Layers"}], one per image
//! repositories               docker's legacy {"repo": {"tag": "<top layer hex>"}}
//! blobs/  blobs/sha256/
//! blobs/sha256/<hex>         every blob those entries reach, once, in digest order
//! ```
//!
//! `export`: everything that goes in is read and checked first (`plan`):
//! manifests against their digests, every blob's presence and size. Only
//! then is a byte written, so a missing blob fails before the output is
//! touched. Blobs are then streamed from the layout's files (`write`) and
//! hashed on the way: memory does not grow with image size, and a blob
//! changed behind the layout's back stops the export. The same layout
//! always gives the same bytes: fixed order, times and owners.
//!
//! `pull -o FILE.tar|-` (`stream`): each blob goes in as soon as the pull
//! has verified it, while the others download, and the small files last;
//! the same entries as an export of what was pulled, in arrival order.
//!
//! What it never holds: the layout's `.ocimirror/` files, and the layout's
//! `io.ocimirror.*` annotations (where this machine pulled from, which
//! mirrors: facts about this site, not the image).

mod docker;
mod file;
mod plan;
mod regions;
mod stream;
mod write;

#[cfg(test)]
mod tests;

pub use file::PendingFile;
pub use stream::{ArchiveStream, Destination};
pub use write::Output;
pub(crate) use write::WRITING;

use crate::error::Result;
use crate::image::Platform;
use crate::layout::Layout;
use crate::report::{ArchiveReport, ArchivedImage};

/// Writes the images named `names` (every named image when empty) as one
/// archive to `out`, preferring this machine's platform where `manifest.json`
/// must pick one image of a multi-platform index. `out` is written through
/// a buffer of its own; it is flushed before this returns.
///
/// A name the layout does not hold is an error that lists what it holds
/// (nothing is written then). A name matches an entry's
/// `org.opencontainers.image.ref.name` exactly, or as a reference once
/// normalised (`ubuntu` is `docker.io/library/ubuntu:latest`).
pub fn write_archive(layout: &Layout, names: &[String], out: impl Output) -> Result<ArchiveReport> {
    write_archive_preferring(layout, names, &Platform::host(), out)
}

/// `write_archive`, with the platform `manifest.json` prefers given: docker
/// can hold one image per tag, so of an index only the image for `prefer`
/// (or a compatible one, else the first the layout holds) is listed there,
/// as Docker itself does. `index.json` keeps the whole index.
pub fn write_archive_preferring(
    layout: &Layout,
    names: &[String],
    prefer: &Platform,
    out: impl Output,
) -> Result<ArchiveReport> {
    let plan = plan::plan(layout, names, prefer)?;
    let bytes = write::write(layout, &plan.blobs, &metadata(&plan)?, out)?;
    Ok(report(&plan, bytes))
}

/// Whether blobs are hashed again as they are copied.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rehash {
    Yes,
    No,
}

/// The small files of the archive `plan` describes, encoded.
fn metadata(plan: &plan::Plan) -> Result<write::Metadata> {
    Ok(write::Metadata {
        index: plan::index_json(&plan.entries)?,
        manifest: docker::manifest_json(&plan.docker)?,
        repositories: docker::repositories(&plan.docker)?,
    })
}

/// What the archive `plan` describes holds, for the report.
fn report(plan: &plan::Plan, bytes: u64) -> ArchiveReport {
    let images = plan
        .entries
        .iter()
        .map(|e| ArchivedImage {
            name: crate::text::shown(&e.name),
            digest: e.descriptor.digest.clone(),
            media_type: e.descriptor.media_type.clone(),
            platform: e.descriptor.platform.clone(),
            docker_image: e.docker_image.clone(),
            repo_tag: e.repo_tag.clone(),
        })
        .collect();
    ArchiveReport { images, blobs: plan.blobs.len(), bytes }
}
