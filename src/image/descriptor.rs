//! Content descriptors as manifests carry them, validated when read: the
//! digest is strict (it names a file in the layout), the size is not
//! negative, and a platform is normalised.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ImageError, MediaType, Platform};
use crate::digest::Digest;

/// A validated content descriptor.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: MediaType,
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A descriptor as JSON spells it, before validation.
#[derive(Deserialize)]
pub(super) struct RawDescriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    size: i64,
    #[serde(default)]
    platform: Option<RawPlatform>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawPlatform {
    os: String,
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

impl RawDescriptor {
    pub(super) fn validate(self) -> Result<Descriptor, ImageError> {
        let digest = self
            .digest
            .parse::<Digest>()
            .map_err(|e| ImageError::BadDescriptor { reason: e.to_string() })?;
        let size = u64::try_from(self.size).map_err(|_| ImageError::BadDescriptor {
            reason: format!("descriptor {digest} has a negative size"),
        })?;
        let platform =
            self.platform.map(|p| Platform::new(&p.os, &p.architecture, p.variant.as_deref()));
        Ok(Descriptor {
            media_type: MediaType::parse(&self.media_type),
            digest,
            size,
            platform,
            annotations: self.annotations,
        })
    }
}

/// Validates a list of raw descriptors, stopping at the first bad one.
pub(super) fn validate_all(raw: Vec<RawDescriptor>) -> Result<Vec<Descriptor>, ImageError> {
    raw.into_iter().map(RawDescriptor::validate).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Result<Descriptor, ImageError> {
        serde_json::from_str::<RawDescriptor>(json).unwrap().validate()
    }

    #[test]
    fn validates_digest_and_size_and_normalises_the_platform() {
        let digest = Digest::sha256(b"x");
        let d = raw(&format!(
            r#"{{"mediaType":"Application/Vnd.Oci.Image.Manifest.v1+json","digest":"{digest}",
                "size":3,"platform":{{"os":"linux","architecture":"aarch64","variant":"v8"}},
                "annotations":{{"a":"b"}}}}"#
        ))
        .unwrap();
        assert_eq!(d.media_type, MediaType::OciManifest);
        assert_eq!((d.digest, d.size), (digest.clone(), 3));
        assert_eq!(d.platform.unwrap().to_string(), "linux/arm64");
        assert_eq!(d.annotations["a"], "b");

        let bad = raw(r#"{"mediaType":"x","digest":"sha256:../../x","size":1}"#).unwrap_err();
        assert!(matches!(bad, ImageError::BadDescriptor { .. }), "{bad}");
        let negative = raw(&format!(r#"{{"digest":"{digest}","size":-1}}"#)).unwrap_err();
        assert!(negative.to_string().contains("negative size"), "{negative}");
    }
}
