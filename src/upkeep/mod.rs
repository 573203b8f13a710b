//! Layout upkeep: `verify` (is every image whole, does every blob hash to
//! its name?) and `gc` (remove what no image refers to). Both read the
//! layout's images the same way (`walk`): from index.json down through
//! indexes, manifests and their configs and layers, each manifest checked
//! against its descriptor as a pull checks a server's.

pub mod gc;
pub mod verify;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::digest::{Algorithm, Digest};
use crate::image::{Descriptor, ImageManifest, IndexManifest, Manifest, Parsed};
use crate::layout::Layout;

/// How deep indexes inside indexes are followed (a pull keeps at most 4).
const MAX_DEPTH: usize = 8;

/// index.json's entries, read with the image model (descriptors checked).
pub(crate) fn index_entries(layout: &Layout) -> Result<Vec<Descriptor>, String> {
    let path = layout.root().join("index.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let index = Manifest::from_response(
        bytes.into(),
        Some("application/vnd.oci.image.index.v1+json"),
        None,
        None,
    )
    .and_then(|m| m.parse())
    .map_err(|e| format!("{} is not a valid image index: {e}", path.display()))?;
    match index {
        Parsed::Index(IndexManifest { manifests }) => Ok(manifests),
        Parsed::Image(_) => Err(format!("{} is not an image index", path.display())),
    }
}

/// What the walk found wrong with one reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Broken {
    Missing,
    WrongSize {
        have: u64,
    },
    /// A manifest that does not verify or parse.
    BadManifest(String),
    TooDeep,
}

/// Every descriptor reachable from `entries` (each digest once), with
/// what is wrong with it, if anything. Blobs are checked for presence and
/// size here; their content is `verify`'s business.
pub(crate) fn walk(layout: &Layout, entries: Vec<Descriptor>) -> Vec<(Descriptor, Option<Broken>)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut queue: Vec<(Descriptor, usize)> = entries.into_iter().map(|d| (d, 0)).collect();
    while let Some((d, depth)) = queue.pop() {
        if !seen.insert(d.digest.clone()) {
            continue;
        }
        let broken = match std::fs::symlink_metadata(layout.blob_path(&d.digest)) {
            Err(_) => Some(Broken::Missing),
            Ok(m) if !m.is_file() => Some(Broken::Missing),
            Ok(m) if m.len() != d.size => Some(Broken::WrongSize { have: m.len() }),
            Ok(_) if !d.media_type.is_manifest() => None,
            Ok(_) if depth > MAX_DEPTH => Some(Broken::TooDeep),
            Ok(_) => match children(layout, &d) {
                Ok(kids) => {
                    queue.extend(kids.into_iter().map(|k| (k, depth + 1)));
                    None
                }
                Err(why) => Some(Broken::BadManifest(why)),
            },
        };
        out.push((d, broken));
    }
    out
}

/// What a manifest in the layout refers to.
fn children(layout: &Layout, d: &Descriptor) -> Result<Vec<Descriptor>, String> {
    let bytes = layout.read_blob(&d.digest).map_err(|e| e.to_string())?;
    let m = Manifest::from_stored(bytes.into(), d).map_err(|e| e.to_string())?;
    match m.parse().map_err(|e| e.to_string())? {
        Parsed::Image(ImageManifest { config, layers }) => {
            Ok(std::iter::once(config).chain(layers).collect())
        }
        Parsed::Index(IndexManifest { manifests }) => Ok(manifests),
    }
}

/// One file under `blobs/`: its digest if its name is one.
pub(crate) struct BlobFile {
    pub path: PathBuf,
    pub digest: Option<Digest>,
    pub size: u64,
}

/// Every file under `blobs/<alg>/` of the layout at `root`.
pub(crate) fn blob_files(root: &Path) -> Vec<BlobFile> {
    let mut out = Vec::new();
    for alg in [Algorithm::Sha256, Algorithm::Sha512] {
        let Ok(entries) = std::fs::read_dir(root.join("blobs").join(alg.name())) else { continue };
        for e in entries.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else { continue };
            let name = e.file_name().to_string_lossy().into_owned();
            let digest = format!("{}:{name}", alg.name()).parse::<Digest>().ok();
            out.push(BlobFile {
                path: e.path(),
                digest: digest.filter(|_| meta.is_file()),
                size: meta.len(),
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}
