//! Manifests as received: exact bytes (re-serialising would change the
//! digest), media type and digest, checked before anything trusts them;
//! and what they point at.
//!
//! A body is only ever read as the media type it was declared (by the
//! Content-Type, an index entry, or its own `mediaType`), and a body whose
//! shape contradicts that type is refused rather than guessed at: an image
//! manifest read as an index is an empty index, and its blobs are never
//! fetched.

use bytes::Bytes;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::descriptor::{RawDescriptor, validate_all};
use super::{Descriptor, ImageError, MAX_MANIFEST_SIZE, MediaType};
use crate::digest::{Algorithm, Digest};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub bytes: Bytes,
    /// One of the four manifest types (see `MediaType::is_manifest`).
    pub media_type: MediaType,
    /// In the algorithm asked for, else sha256; `digest_in` gives others.
    pub digest: Digest,
}

/// An image manifest's blobs: config then layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageManifest {
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// An index's entries: one manifest per platform (and attestations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexManifest {
    pub manifests: Vec<Descriptor>,
}

/// What a manifest refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Image(ImageManifest),
    Index(IndexManifest),
}

impl Manifest {
    /// A manifest response body, once read (capped at `MAX_MANIFEST_SIZE`),
    /// with the response's `Content-Type` and `Docker-Content-Digest` and
    /// the digest it was asked for by, if any. The media type is the
    /// header's, checked against the body's own `mediaType` (or the body's,
    /// or told by shape, when the header is generic or absent).
    pub fn from_response(
        bytes: Bytes,
        content_type: Option<&str>,
        docker_content_digest: Option<&str>,
        expected: Option<&Digest>,
    ) -> Result<Manifest, ImageError> {
        if bytes.len() > MAX_MANIFEST_SIZE {
            return Err(ImageError::TooLarge { what: "manifest", limit: MAX_MANIFEST_SIZE as u64 });
        }
        let media_type = media_type(content_type, &bytes)?;
        let digest = verify(&bytes, expected, docker_content_digest)?;
        Ok(Manifest { bytes, media_type, digest })
    }

    /// A manifest read back from a layout, under the descriptor that
    /// named it: checked as a response would be, the descriptor standing
    /// in for the headers. Hashing it again is cheap (it is small) and
    /// catches a layout changed behind our back.
    pub fn from_stored(bytes: Bytes, descriptor: &Descriptor) -> Result<Manifest, ImageError> {
        if bytes.len() as u64 != descriptor.size {
            return Err(ImageError::SizeMismatch {
                digest: descriptor.digest.clone(),
                expected: descriptor.size,
                got: bytes.len() as u64,
            });
        }
        let declared = Some(descriptor.media_type.as_str());
        Manifest::from_response(bytes, declared, None, Some(&descriptor.digest))
    }

    pub fn parse(&self) -> Result<Parsed, ImageError> {
        parse_body(&self.bytes, &self.media_type)
    }

    /// This manifest's digest in `algorithm`: a registry may name it in
    /// sha512 where we hold sha256, and only like can be compared.
    pub fn digest_in(&self, algorithm: Algorithm) -> Digest {
        if self.digest.algorithm() == algorithm {
            self.digest.clone()
        } else {
            Digest::of(algorithm, &self.bytes)
        }
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// A descriptor for this manifest (no platform, no annotations).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size(),
            platform: None,
            annotations: Default::default(),
        }
    }
}

/// The keys that tell an image from an index, as a body has them. `null`
/// counts as absent (Go writes a nil slice as `null`).
struct Shape {
    media_type: Option<MediaType>,
    schema_version: Option<i64>,
    config: bool,
    layers: bool,
    manifests: bool,
}

/// Just enough of a body to know its shape: the lists are skipped, not
/// built.
#[derive(Deserialize)]
struct Peek {
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    #[serde(rename = "schemaVersion")]
    schema_version: Option<i64>,
    config: Option<IgnoredAny>,
    layers: Option<IgnoredAny>,
    manifests: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawManifest {
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    #[serde(rename = "schemaVersion")]
    schema_version: Option<i64>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
}

impl Shape {
    fn peek(bytes: &[u8]) -> Result<Shape, ImageError> {
        require_object(bytes)?;
        let p: Peek =
            serde_json::from_slice(bytes).map_err(|e| ImageError::not_json("manifest", &e))?;
        Ok(Shape {
            media_type: p.media_type.as_deref().map(MediaType::parse),
            schema_version: p.schema_version,
            config: p.config.is_some(),
            layers: p.layers.is_some(),
            manifests: p.manifests.is_some(),
        })
    }

    fn of(raw: &RawManifest) -> Shape {
        Shape {
            media_type: raw.media_type.as_deref().map(MediaType::parse),
            schema_version: raw.schema_version,
            config: raw.config.is_some(),
            layers: raw.layers.is_some(),
            manifests: raw.manifests.is_some(),
        }
    }
}

/// Manifests are JSON objects. serde would also read a struct from a JSON
/// array (by position), which no registry sends; an HTML page gets the
/// message that helps.
fn require_object(bytes: &[u8]) -> Result<(), ImageError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        Some(b'<') => Err(ImageError::HtmlPage),
        _ => Err(ImageError::NotJson { what: "manifest", detail: "not a JSON object".into() }),
    }
}

/// Can a body of this shape be read as `declared`, and only so?
fn check_body(declared: &MediaType, shape: &Shape) -> Result<(), ImageError> {
    if shape.schema_version == Some(1) || declared.is_schema1() {
        return Err(ImageError::Schema1);
    }
    if !declared.is_manifest() {
        return Err(ImageError::UnsupportedMediaType(declared.clone()));
    }
    if let Some(body) = &shape.media_type
        && body != declared
    {
        return Err(ImageError::MediaTypeMismatch { header: declared.clone(), body: body.clone() });
    }
    let reason = if shape.manifests && (shape.layers || shape.config) {
        "it has both an index's manifests and an image's config or layers"
    } else if declared.is_index() && (shape.layers || shape.config) {
        "an index with an image's config or layers and no manifests"
    } else if declared.is_image_manifest() && shape.manifests {
        "an image manifest with an index's manifests"
    } else if declared.is_image_manifest() && !shape.config {
        "an image manifest with no config"
    } else {
        return Ok(());
    };
    Err(ImageError::Ambiguous { media_type: declared.clone(), reason })
}

/// The media type of a manifest body: the header's, checked against the
/// body's own `mediaType`, or the body's when the header is generic.
fn media_type(header: Option<&str>, bytes: &[u8]) -> Result<MediaType, ImageError> {
    let header = header.map(MediaType::parse);
    if let Some(h) = &header {
        if h.is_schema1() {
            return Err(ImageError::Schema1);
        }
        if h.as_str().starts_with("text/html") {
            return Err(ImageError::HtmlPage);
        }
    }
    let shape = Shape::peek(bytes)?;
    if shape.schema_version == Some(1) {
        return Err(ImageError::Schema1);
    }
    let chosen = match (header, &shape.media_type) {
        (Some(h), Some(b)) if h.is_manifest() && &h != b => {
            return Err(ImageError::MediaTypeMismatch { header: h, body: b.clone() });
        }
        (Some(h), _) if h.is_manifest() => h,
        (_, Some(b)) => b.clone(),
        // No media type anywhere: OCI allows that; tell by shape (and
        // `check_body` refuses a shape that fits both).
        (_, None) if shape.manifests => MediaType::OciIndex,
        (_, None) => MediaType::OciManifest,
    };
    check_body(&chosen, &shape)?;
    Ok(chosen)
}

fn parse_body(bytes: &[u8], media_type: &MediaType) -> Result<Parsed, ImageError> {
    require_object(bytes)?;
    let raw: RawManifest =
        serde_json::from_slice(bytes).map_err(|e| ImageError::not_json("manifest", &e))?;
    check_body(media_type, &Shape::of(&raw))?;
    if media_type.is_index() {
        let manifests = validate_all(raw.manifests.unwrap_or_default())?;
        // An entry is fetched as a manifest, and manifests are capped:
        // refuse now what could never be fetched.
        if let Some(big) = manifests.iter().find(|m| m.size > MAX_MANIFEST_SIZE as u64) {
            return Err(ImageError::EntryTooLarge { digest: big.digest.clone(), size: big.size });
        }
        return Ok(Parsed::Index(IndexManifest { manifests }));
    }
    // `check_body` made sure there is one; this only avoids a panic.
    let config = raw.config.ok_or_else(|| ImageError::Ambiguous {
        media_type: media_type.clone(),
        reason: "an image manifest with no config",
    })?;
    Ok(Parsed::Image(ImageManifest {
        config: config.validate()?,
        layers: validate_all(raw.layers.unwrap_or_default())?,
    }))
}

/// Each algorithm's digest of one body, computed at most once.
struct Hashes<'a> {
    bytes: &'a [u8],
    done: Vec<Digest>,
}

impl Hashes<'_> {
    fn of(&mut self, algorithm: Algorithm) -> Digest {
        if let Some(d) = self.done.iter().find(|d| d.algorithm() == algorithm) {
            return d.clone();
        }
        let d = Digest::of(algorithm, self.bytes);
        self.done.push(d.clone());
        d
    }
}

/// Checks the body against the header's digest and the one asked for,
/// each in its own algorithm (they may differ: sha512 and sha256), and
/// returns the digest asked for, else the sha256 one.
fn verify(
    bytes: &[u8],
    expected: Option<&Digest>,
    header: Option<&str>,
) -> Result<Digest, ImageError> {
    let mut hashes = Hashes { bytes, done: Vec::new() };
    if let Some(value) = header {
        let claimed: Digest = value
            .trim()
            .parse()
            .map_err(|_| ImageError::BadHeaderDigest { value: value.to_string() })?;
        let body = hashes.of(claimed.algorithm());
        if body != claimed {
            return Err(ImageError::HeaderDigestMismatch { header: claimed, body });
        }
    }
    match expected {
        Some(asked) => {
            let got = hashes.of(asked.algorithm());
            if &got != asked {
                return Err(ImageError::DigestMismatch { asked: asked.clone(), got });
            }
            Ok(got)
        }
        None => Ok(hashes.of(Algorithm::Sha256)),
    }
}

#[cfg(test)]
mod tests;
