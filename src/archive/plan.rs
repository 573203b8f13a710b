//! What an archive holds, read and checked before a byte is written: the
//! entries asked for, every blob they reach (present, with its size), and
//! the images `manifest.json` lists.
//!
//! A single image entry needs every blob: one that is missing or has the
//! wrong size is an error. An index entry holds what the layout holds of
//! it (a pull of one platform keeps only that one): its images whose
//! manifest and blobs are all here; an image with some blobs missing is
//! left out whole, as if its manifest were missing too, so that no reader
//! finds a manifest whose blobs are not in the archive.

use std::collections::BTreeMap;

use oci_spec::image::Descriptor as OciDescriptor;

use super::docker::{self, DockerImage};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::{self, Descriptor, ImageManifest, Manifest, MediaType, Parsed, Platform};
use crate::layout::{self, Layout};
use crate::reference::Reference;
use crate::text::{shown, shown_list};

/// How deep indexes inside indexes are followed (as `pull` does).
const MAX_INDEX_DEPTH: usize = 4;

pub(super) struct Plan {
    pub entries: Vec<Entry>,
    /// Every blob to write, by digest: the order they are written in.
    pub blobs: BTreeMap<Digest, u64>,
    pub docker: Vec<DockerImage>,
}

/// One `index.json` entry of the archive.
pub(super) struct Entry {
    pub name: String,
    /// The layout's entry as it is (platform, unknown fields).
    pub raw: OciDescriptor,
    pub descriptor: Descriptor,
    /// The image manifest `manifest.json` lists for this name, if any.
    pub docker_image: Option<Digest>,
    /// The name `docker load` gives it, if any.
    pub repo_tag: Option<String>,
}

pub(super) fn plan(layout: &Layout, names: &[String], prefer: &Platform) -> Result<Plan> {
    let index = layout.read_index()?;
    let chosen = select(layout, index.manifests(), names)?;
    let mut plan = Plan { entries: Vec::new(), blobs: BTreeMap::new(), docker: Vec::new() };
    for (name, raw) in chosen {
        let descriptor = Descriptor::try_from(&raw)
            .map_err(|e| Error::Invalid(format!("{}: {e}", shown(&name))))?;
        let held = Walk { layout, blobs: &mut plan.blobs, name: &name }.entry(&descriptor)?;
        let loaded = loaded_by_docker(&held, prefer);
        let repo_tag = loaded.and_then(|_| docker::repo_tag(&name));
        if let Some(image) = loaded {
            add_docker_image(&mut plan.docker, image, repo_tag.clone());
        }
        let docker_image = loaded.map(|image| image.descriptor.digest.clone());
        plan.entries.push(Entry { name, raw, descriptor, docker_image, repo_tag });
    }
    Ok(plan)
}

/// The named entries asked for, in the order asked (each once), or every
/// named entry in index order.
fn select(
    layout: &Layout,
    entries: &[OciDescriptor],
    names: &[String],
) -> Result<Vec<(String, OciDescriptor)>> {
    let mut named: Vec<(String, &OciDescriptor)> = Vec::new();
    for d in entries {
        let name = d.annotations().as_ref().and_then(|a| a.get(layout::REF_NAME));
        if let Some(name) = name.filter(|n| !named.iter().any(|(m, _)| m == *n)) {
            named.push((name.clone(), d));
        }
    }
    if names.is_empty() {
        if named.is_empty() {
            let dir = layout.root().display();
            return Err(Error::Missing(format!("{dir} holds no named image to export")));
        }
        return Ok(named.into_iter().map(|(n, d)| (n, d.clone())).collect());
    }
    let mut chosen: Vec<(String, OciDescriptor)> = Vec::new();
    for asked in names {
        // Exactly as written, else as a reference normalised (`ubuntu`).
        let normalised = asked.parse::<Reference>().ok().map(|r| r.to_string());
        let found = named
            .iter()
            .find(|(n, _)| n == asked)
            .or_else(|| named.iter().find(|(n, _)| normalised.as_deref() == Some(n.as_str())));
        let Some((name, d)) = found else {
            let held = match named.is_empty() {
                true => "no named image".to_string(),
                false => shown_list(named.iter().map(|(n, _)| n)),
            };
            return Err(Error::Missing(format!(
                "{} holds no image named {}; it holds: {held}",
                layout.root().display(),
                shown(asked)
            )));
        };
        if !chosen.iter().any(|(n, _)| n == name) {
            chosen.push((name.clone(), (*d).clone()));
        }
    }
    Ok(chosen)
}

/// A complete image under an entry: its manifest's descriptor (with the
/// platform the index gives it) and what the manifest lists.
struct Held {
    descriptor: Descriptor,
    image: ImageManifest,
}

/// Reads an entry's manifests from the layout and collects its blobs.
struct Walk<'a> {
    layout: &'a Layout,
    blobs: &'a mut BTreeMap<Digest, u64>,
    name: &'a str,
}

impl Walk<'_> {
    /// The entry's manifest (which must be here) and what it reaches.
    fn entry(&mut self, d: &Descriptor) -> Result<Vec<Held>> {
        let manifest = self.manifest(d)?;
        let held = match self.parse(&manifest)? {
            Parsed::Image(image) => {
                self.image_blobs(&image, true)?;
                vec![Held { descriptor: d.clone(), image }]
            }
            Parsed::Index(index) => self.index(index.manifests, 0)?,
        };
        if held.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: the layout holds none of the images its index {} lists",
                shown(self.name),
                d.digest
            )));
        }
        self.add(d)?;
        Ok(held)
    }

    /// The images of an index that the layout holds in full.
    fn index(&mut self, children: Vec<Descriptor>, depth: usize) -> Result<Vec<Held>> {
        if depth > MAX_INDEX_DEPTH {
            let name = shown(self.name);
            return Err(Error::Invalid(format!(
                "{name}: indexes nested more than {MAX_INDEX_DEPTH} deep"
            )));
        }
        let mut held = Vec::new();
        for child in children {
            if !child.media_type.is_manifest() || !present(self.layout, &child)? {
                continue;
            }
            let manifest = self.manifest(&child)?;
            match self.parse(&manifest)? {
                Parsed::Image(image) => {
                    if self.image_blobs(&image, false)? {
                        self.add(&child)?;
                        held.push(Held { descriptor: child, image });
                    }
                }
                Parsed::Index(inner) => {
                    let inner = self.index(inner.manifests, depth + 1)?;
                    if !inner.is_empty() {
                        self.add(&child)?;
                        held.extend(inner);
                    }
                }
            }
        }
        Ok(held)
    }

    /// Adds an image's config and layers when all are here. Of a single
    /// image (`required`) a missing one is an error; an index's image is
    /// left out (false).
    fn image_blobs(&mut self, image: &ImageManifest, required: bool) -> Result<bool> {
        let blobs = || std::iter::once(&image.config).chain(&image.layers);
        for d in blobs() {
            if !present(self.layout, d)? {
                if !required {
                    return Ok(false);
                }
                return Err(Error::Invalid(format!(
                    "{}: blob {} is not in the layout {} (the image is incomplete; pull it again)",
                    shown(self.name),
                    d.digest,
                    self.layout.root().display()
                )));
            }
        }
        for d in blobs() {
            self.add(d)?;
        }
        Ok(true)
    }

    /// A manifest from the layout, checked against its descriptor.
    fn manifest(&self, d: &Descriptor) -> Result<Manifest> {
        let name = shown(self.name);
        if d.size > image::MAX_MANIFEST_SIZE as u64 {
            return Err(Error::Invalid(format!(
                "{name}: manifest {} is {} bytes, over the {}-byte limit",
                d.digest,
                d.size,
                image::MAX_MANIFEST_SIZE
            )));
        }
        if !present(self.layout, d)? {
            return Err(Error::Invalid(format!(
                "{name}: manifest {} is not in the layout {}",
                d.digest,
                self.layout.root().display()
            )));
        }
        let bytes = self.layout.read_blob(&d.digest)?;
        Manifest::from_stored(bytes.into(), d).map_err(|e| Error::Invalid(format!("{name}: {e}")))
    }

    fn parse(&self, manifest: &Manifest) -> Result<Parsed> {
        manifest.parse().map_err(|e| Error::Invalid(format!("{}: {e}", shown(self.name))))
    }

    /// One digest with two sizes cannot be right: one file cannot match
    /// both descriptors.
    fn add(&mut self, d: &Descriptor) -> Result<()> {
        match self.blobs.insert(d.digest.clone(), d.size) {
            Some(size) if size != d.size => Err(Error::Invalid(format!(
                "{}: blob {} is listed with two sizes ({size} and {} bytes)",
                shown(self.name),
                d.digest,
                d.size
            ))),
            _ => Ok(()),
        }
    }
}

/// Is the blob in the layout? Its final name is given only after it was
/// verified (layout.rs), so presence and size say it is whole; a size
/// other than the descriptor's means the layout was changed behind its
/// back, which is an error rather than "missing".
fn present(layout: &Layout, d: &Descriptor) -> Result<bool> {
    if layout.placed(&d.digest, d.size) {
        return Ok(true);
    }
    let path = layout.blob_path(&d.digest);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() == d.size => Ok(true),
        Ok(m) if m.is_file() => Err(Error::Invalid(format!(
            "{} has {} bytes but its descriptor says {}: the layout was changed outside ocimirror",
            path.display(),
            m.len(),
            d.size
        ))),
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

/// The one image `docker load` gets for an entry: docker holds one image
/// per tag. Of an index, the image for `prefer` (or a compatible one), else
/// the first the layout holds; never an attestation, nor an artifact
/// (a manifest whose config is not an image config), which docker cannot
/// load.
fn loaded_by_docker<'a>(held: &'a [Held], prefer: &Platform) -> Option<&'a Held> {
    let runnable: Vec<&Held> = held
        .iter()
        .filter(|h| {
            matches!(h.image.config.media_type, MediaType::OciConfig | MediaType::DockerConfig)
        })
        .filter(|h| !image::platform::is_attestation(&h.descriptor))
        .collect();
    let descriptors: Vec<Descriptor> = runnable.iter().map(|h| h.descriptor.clone()).collect();
    let best = image::platform::choose(&descriptors, prefer).map(|d| d.digest.clone());
    match best {
        Some(digest) => runnable.into_iter().find(|h| h.descriptor.digest == digest),
        None => runnable.into_iter().next(),
    }
}

/// Lists the image in `manifest.json` once, however many names it has.
fn add_docker_image(images: &mut Vec<DockerImage>, held: &Held, repo_tag: Option<String>) {
    let digest = &held.descriptor.digest;
    let i = match images.iter().position(|i| &i.manifest == digest) {
        Some(i) => i,
        None => {
            images.push(DockerImage {
                manifest: digest.clone(),
                config: held.image.config.digest.clone(),
                layers: held.image.layers.iter().map(|l| l.digest.clone()).collect(),
                repo_tags: Vec::new(),
            });
            images.len() - 1
        }
    };
    if let Some(tag) = repo_tag.filter(|t| !images[i].repo_tags.contains(t)) {
        images[i].repo_tags.push(tag);
    }
}

/// The archive's `index.json`: the layout's entries as they are, minus
/// ocimirror's own annotations, each named in both annotations readers
/// look for (containerd prefers `io.containerd.image.name`; skopeo and
/// podman read `org.opencontainers.image.ref.name`).
pub(super) fn index_json(entries: &[Entry]) -> Result<Vec<u8>> {
    let mut manifests = Vec::with_capacity(entries.len());
    for e in entries {
        let mut json = serde_json::to_value(&e.raw)
            .map_err(|err| Error::Failed(format!("cannot encode index.json: {err}")))?;
        // Sorted, so that the bytes are the same every time.
        let mut annotations: BTreeMap<String, String> = e
            .raw
            .annotations()
            .iter()
            .flatten()
            .filter(|(k, _)| !k.starts_with("io.ocimirror."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        annotations.insert(layout::REF_NAME.into(), e.name.clone());
        annotations.insert(layout::CONTAINERD_NAME.into(), e.name.clone());
        json["annotations"] = serde_json::json!(annotations);
        manifests.push(json);
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MediaType::OciIndex.as_str(),
        "manifests": manifests,
    });
    serde_json::to_vec(&index).map_err(|e| Error::Failed(format!("cannot encode index.json: {e}")))
}
