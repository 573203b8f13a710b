//! Docker schema 2 -> OCI, for consumers that read only OCI media types
//! (skopeo's `oci:` transport skips index entries with Docker types).
//!
//! Only manifests change: their media types, and an index's references to
//! the converted manifests (digest, size, media type). Config and layer
//! blobs keep their bytes (and so their digests); only the media type
//! their descriptors give changes. Everything else a manifest says
//! (annotations, `subject`, `artifactType`, `urls`, fields newer than this
//! code) is carried over. A converted manifest is new content with a new
//! digest, which is why this is opt-in (`pull --format oci`): by default
//! manifests are kept byte for byte, as the registry served them.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{ImageError, Manifest, MediaType};
use crate::digest::Digest;

/// A descriptor: the fields conversion may change, and the rest as is.
#[derive(Deserialize, Serialize)]
struct DescriptorDoc {
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(deserialize_with = "digest_field")]
    digest: Digest,
    size: u64,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// A list field as the body had it: absent, `null` or a list, so that
/// re-encoding writes back what was read.
type ListField = Option<Option<Vec<DescriptorDoc>>>;

#[derive(Deserialize, Serialize)]
struct ImageDoc {
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    config: DescriptorDoc,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    layers: ListField,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Deserialize, Serialize)]
struct IndexDoc {
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    manifests: ListField,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

fn digest_field<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
    String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
}

/// Runs only when the field is there: `Some(None)` is an explicit `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<ListField, D::Error> {
    Option::<Vec<DescriptorDoc>>::deserialize(d).map(Some)
}

/// Converts every Docker manifest in `manifests` and returns the new set
/// (in the same order) plus a map from each old digest to its
/// replacement. OCI manifests pass through untouched, except an OCI index
/// that lists a converted manifest.
pub fn to_oci(
    manifests: &[Manifest],
) -> Result<(Vec<Manifest>, HashMap<Digest, Manifest>), ImageError> {
    let mut renamed: HashMap<Digest, Manifest> = HashMap::new();
    // Images first, then indexes from the innermost out (a pull lists an
    // index before its children), so that every index entry's replacement
    // is known when the index is rewritten.
    let (indexes, images): (Vec<&Manifest>, Vec<&Manifest>) =
        manifests.iter().partition(|m| m.media_type.is_index());
    for m in images {
        if m.media_type == MediaType::DockerManifest {
            let new = convert_image(m)?;
            renamed.insert(m.digest.clone(), new);
        }
    }
    for m in indexes.into_iter().rev() {
        if let Some(new) = convert_index(m, &renamed)? {
            renamed.insert(m.digest.clone(), new);
        }
    }
    let out = manifests
        .iter()
        .map(|m| renamed.get(&m.digest).cloned().unwrap_or_else(|| m.clone()))
        .collect();
    Ok((out, renamed))
}

fn convert_image(m: &Manifest) -> Result<Manifest, ImageError> {
    // The checks a pull made, made again: nothing is rewritten that would
    // not be read the same way (see `Manifest::parse`).
    m.parse()?;
    let mut doc: ImageDoc = decode(m)?;
    let media_type = oci_type(&m.media_type);
    doc.media_type = Some(media_type.as_str().to_string());
    retype(&mut doc.config);
    for layer in doc.layers.iter_mut().flatten().flatten() {
        retype(layer);
    }
    encode(&doc, media_type)
}

/// A Docker list converted, or an OCI index whose entries were; `None`
/// when the index needs no change.
fn convert_index(
    m: &Manifest,
    renamed: &HashMap<Digest, Manifest>,
) -> Result<Option<Manifest>, ImageError> {
    m.parse()?;
    let mut doc: IndexDoc = decode(m)?;
    let entries = doc.manifests.iter_mut().flatten().flatten();
    let mut changed = m.media_type == MediaType::DockerList;
    for entry in entries {
        retype(entry);
        if let Some(new) = renamed.get(&entry.digest) {
            entry.digest = new.digest.clone();
            entry.size = new.size();
            entry.media_type = Some(new.media_type.as_str().to_string());
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let media_type = oci_type(&m.media_type);
    doc.media_type = Some(media_type.as_str().to_string());
    encode(&doc, media_type).map(Some)
}

fn oci_type(media_type: &MediaType) -> MediaType {
    media_type.to_oci().unwrap_or_else(|| media_type.clone())
}

/// A descriptor's Docker media type replaced by its OCI one; any other
/// media type is left exactly as spelled.
fn retype(d: &mut DescriptorDoc) {
    let oci = d.media_type.as_deref().map(MediaType::parse).and_then(|t| t.to_oci());
    if let Some(oci) = oci {
        d.media_type = Some(oci.as_str().to_string());
    }
}

fn decode<T: for<'de> Deserialize<'de>>(m: &Manifest) -> Result<T, ImageError> {
    serde_json::from_slice(&m.bytes).map_err(|e| ImageError::not_json("manifest", &e))
}

/// The converted manifest's bytes: compact JSON with every object's keys
/// in order, as earlier versions wrote them (through `Value`, whose maps
/// are sorted). Same input, same bytes, same digest: a warm pull into a
/// layout converted before finds what it wrote.
fn encode(doc: &impl Serialize, media_type: MediaType) -> Result<Manifest, ImageError> {
    let encode_error = |e: serde_json::Error| ImageError::Encode(e.to_string());
    let value = serde_json::to_value(doc).map_err(encode_error)?;
    let bytes = serde_json::to_vec(&value).map_err(encode_error)?;
    Ok(Manifest { digest: Digest::sha256(&bytes), bytes: bytes.into(), media_type })
}

#[cfg(test)]
mod tests;
