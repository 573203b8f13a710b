//! Manifests as received: exact bytes (re-serialising would change the
//! digest), media type, digest, and what they point at.

use bytes::Bytes;
use serde::Deserialize;

use super::FetchError;
use crate::digest::{Digest, Hasher};

/// Like containerd: manifests larger than this are refused.
pub const MAX_MANIFEST_SIZE: usize = 4 * 1048 * 1048;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

pub fn is_manifest_type(media_type: &str) -> bool {
    matches!(media_type, OCI_MANIFEST | OCI_INDEX | DOCKER_MANIFEST | DOCKER_LIST)
}

#[derive(Clone, Debug)]
pub struct Manifest {
    pub bytes: Bytes,
    pub media_type: String,
    pub digest: Digest,
    /// The `OCI-Namespace` header, when a mirror said which namespace it served.
    pub namespace: Option<String>,
}

/// A content descriptor as manifests carry it, validated.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<crate::platform::Platform>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawDescriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    size: i64,
    #[serde(default)]
    platform: Option<RawPlatform>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawPlatform {
    os: String,
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
struct RawManifest {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<i64>,
    config: Option<RawDescriptor>,
    #[serde(default, deserialize_with = "null_as_empty")]
    layers: Vec<RawDescriptor>,
    #[serde(default, deserialize_with = "null_as_empty")]
    manifests: Vec<RawDescriptor>,
}

/// `null` for a list, as Go writes a nil slice: no entries.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// What a manifest refers to.
#[derive(Debug)]
pub enum Parsed {
    /// An image: config then layers.
    Image { config: Descriptor, layers: Vec<Descriptor> },
    /// An index: one manifest per platform (and attestations).
    Index { manifests: Vec<Descriptor> },
}

impl Manifest {
    pub fn parse(&self) -> Result<Parsed, FetchError> {
        parse_body(&self.bytes, &self.media_type)
    }
}

fn schema1_error() -> FetchError {
    FetchError::Invalid(
        "the image uses the obsolete Docker schema 1 manifest format, which ocimirror \
         (like current docker and containerd) cannot pull; rebuild or re-push the image"
            .into(),
    )
}

fn descriptor(raw: RawDescriptor) -> Result<Descriptor, FetchError> {
    let digest = raw
        .digest
        .parse::<Digest>()
        .map_err(|e| FetchError::Invalid(format!("manifest names a bad blob: {e}")))?;
    if raw.size < 0 {
        return Err(FetchError::Invalid(format!("descriptor {digest} has a negative size")));
    }
    let platform = raw
        .platform
        .map(|p| crate::platform::Platform::new(&p.os, &p.architecture, p.variant.as_deref()));
    Ok(Descriptor {
        media_type: raw.media_type,
        digest,
        size: raw.size as u64,
        platform,
        annotations: raw.annotations,
    })
}

pub fn parse_body(bytes: &[u8], media_type: &str) -> Result<Parsed, FetchError> {
    let raw: RawManifest = serde_json::from_slice(bytes)
        .map_err(|e| FetchError::Invalid(format!("the manifest is not valid JSON: {e}")))?;
    if raw.schema_version == Some(1) {
        return Err(schema1_error());
    }
    if is_index(media_type) {
        let manifests = raw.manifests.into_iter().map(descriptor).collect::<Result<Vec<_>, _>>()?;
        for m in &manifests {
            if m.size > MAX_MANIFEST_SIZE as u64 {
                return Err(FetchError::Invalid(format!(
                    "index entry {} is over the manifest size limit",
                    m.digest
                )));
            }
        }
        Ok(Parsed::Index { manifests })
    } else {
        let config = raw
            .config
            .ok_or_else(|| FetchError::Invalid("the image manifest has no config".into()))?;
        let config = descriptor(config)?;
        let layers = raw.layers.into_iter().map(descriptor).collect::<Result<Vec<_>, _>>()?;
        Ok(Parsed::Image { config, layers })
    }
}

/// The media type of a manifest body: the header's, checked against the
/// body's own `mediaType`, or the body's when the header is generic.
fn media_type(header: Option<&str>, bytes: &[u8]) -> Result<String, FetchError> {
    let header = header.map(|h| h.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if let Some(h) = &header {
        if h == DOCKER_SCHEMA1 || h == DOCKER_SCHEMA1_SIGNED {
            return Err(schema1_error());
        }
        if h.starts_with("text/html") {
            return Err(FetchError::Invalid(
                "answered with an HTML page instead of a manifest (is this URL a registry, \
                 or a login or error page?)"
                    .into(),
            ));
        }
    }
    #[derive(Deserialize)]
    struct Peek {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        #[serde(rename = "schemaVersion")]
        schema_version: Option<i64>,
        manifests: Option<serde_json::Value>,
    }
    let peek: Peek = serde_json::from_slice(bytes).map_err(|_| {
        FetchError::Invalid("answered with a body that is not a JSON manifest".into())
    })?;
    if peek.schema_version == Some(1) {
        return Err(schema1_error());
    }
    let from_body = peek.media_type.clone();
    let chosen = match (header.as_deref(), from_body.as_deref()) {
        (Some(h), Some(b)) if is_manifest_type(h) && h != b => {
            return Err(FetchError::Invalid(format!(
                "Content-Type {h} disagrees with the manifest's own mediaType {b}"
            )));
        }
        (Some(h), _) if is_manifest_type(h) => h.to_string(),
        (_, Some(b)) => b.to_string(),
        // No media type anywhere: OCI allows that; tell by shape.
        (_, None) if peek.manifests.is_some() => OCI_INDEX.to_string(),
        (_, None) => OCI_MANIFEST.to_string(),
    };
    if !is_manifest_type(&chosen) {
        return Err(FetchError::Invalid(format!("unsupported manifest media type {chosen}")));
    }
    Ok(chosen)
}

/// Reads and verifies a manifest response.
pub async fn read(
    resp: reqwest::Response,
    expected: Option<&Digest>,
    stall: std::time::Duration,
) -> Result<Manifest, FetchError> {
    let header_type =
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    let header_digest = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let namespace =
        resp.headers().get("oci-namespace").and_then(|v| v.to_str().ok()).map(str::to_string);
    let bytes = super::read_capped(resp, MAX_MANIFEST_SIZE, stall)
        .await
        .map_err(|e| FetchError::Invalid(format!("manifest: {e}")))?;
    let media_type = media_type(header_type.as_deref(), &bytes)?;
    let digest = verify(&bytes, expected, header_digest.as_deref())?;
    Ok(Manifest { bytes: Bytes::from(bytes), media_type, digest, namespace })
}

fn verify(
    bytes: &[u8],
    expected: Option<&Digest>,
    header: Option<&str>,
) -> Result<Digest, FetchError> {
    let computed = |alg| {
        let mut h = Hasher::new(alg);
        h.update(bytes);
        h.finish()
    };
    if let Some(h) = header {
        let claimed: Digest = h
            .parse()
            .map_err(|e| FetchError::Invalid(format!("bad Docker-Content-Digest header: {e}")))?;
        if computed(claimed.algorithm()) != claimed {
            return Err(FetchError::Invalid(format!(
                "the manifest does not match its Docker-Content-Digest {claimed}"
            )));
        }
    }
    match expected {
        Some(want) => {
            let got = computed(want.algorithm());
            if &got != want {
                return Err(FetchError::Invalid(format!(
                    "manifest digest mismatch: asked for {want}, got {got}"
                )));
            }
            Ok(got)
        }
        None => Ok(computed(crate::digest::Algorithm::Sha256)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_rules() {
        let oci = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}"#;
        assert_eq!(
            media_type(Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"), oci)
                .unwrap(),
            OCI_MANIFEST
        );
        assert!(media_type(Some(OCI_INDEX), oci).is_err(), "header and body disagree");
        assert_eq!(media_type(Some("application/json"), oci).unwrap(), OCI_MANIFEST);
        assert_eq!(media_type(None, br#"{"schemaVersion":2,"manifests":[]}"#).unwrap(), OCI_INDEX);
        let e = media_type(Some(DOCKER_SCHEMA1_SIGNED), b"{}").unwrap_err().to_string();
        assert!(e.contains("schema 1"), "{e}");
        assert!(
            media_type(None, br#"{"schemaVersion":1,"fsLayers":[]}"#)
                .unwrap_err()
                .to_string()
                .contains("schema 1")
        );
        assert!(media_type(Some("text/html"), b"<html>").unwrap_err().to_string().contains("HTML"));
        assert!(media_type(Some("application/json"), b"<html>").is_err());
    }

    #[test]
    fn null_lists_as_go_writes_them_are_empty() {
        let config = format!(r#"{{"mediaType":"x","digest":"{}","size":1}}"#, Digest::sha256(b"c"));
        let image = format!(r#"{{"schemaVersion":2,"config":{config},"layers":null}}"#);
        match parse_body(image.as_bytes(), OCI_MANIFEST).unwrap() {
            Parsed::Image { layers, .. } => assert!(layers.is_empty()),
            Parsed::Index { .. } => panic!("an image"),
        }
        let index = r#"{"schemaVersion":2,"manifests":null}"#;
        match parse_body(index.as_bytes(), OCI_INDEX).unwrap() {
            Parsed::Index { manifests } => assert!(manifests.is_empty()),
            Parsed::Image { .. } => panic!("an index"),
        }
    }

    #[test]
    fn verification() {
        let body = b"{}";
        let d = Digest::sha256(body);
        assert_eq!(verify(body, Some(&d), Some(&d.to_string())).unwrap(), d);
        let other = Digest::sha256(b"x");
        assert!(verify(body, Some(&other), None).is_err());
        assert!(verify(body, None, Some(&other.to_string())).is_err());
        assert!(verify(body, None, Some("sha256:nothex")).is_err());
    }

    #[test]
    fn descriptors_are_validated() {
        let bad = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:../../x","size":1},"layers":[]}"#;
        assert!(parse_body(bad, OCI_MANIFEST).is_err());
        let neg = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"{}","size":-1}},"layers":[]}}"#,
            Digest::sha256(b"")
        );
        assert!(parse_body(neg.as_bytes(), OCI_MANIFEST).is_err());
    }
}
