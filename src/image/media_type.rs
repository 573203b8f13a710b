//! Media types of manifests, configs and layers, OCI and Docker.
//!
//! Registries and manifests spell media types as free text; this turns the
//! ones ocimirror understands into variants and keeps anything else as
//! `Other`, so that a `match` says which case a rule is about.

use std::fmt;

/// A media type, normalised: parameters (`; charset=utf-8`) dropped,
/// whitespace trimmed, lowercase (RFC 6838 names are case-insensitive).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MediaType {
    OciManifest,
    OciIndex,
    OciConfig,
    OciLayer,
    OciLayerGzip,
    OciLayerZstd,
    OciNondistributableLayer,
    OciNondistributableLayerGzip,
    OciNondistributableLayerZstd,
    DockerManifest,
    DockerList,
    DockerConfig,
    DockerLayer,
    DockerLayerGzip,
    DockerLayerZstd,
    DockerForeignLayer,
    DockerForeignLayerGzip,
    /// Docker's obsolete schema 1, known only so that it can be refused
    /// with a message that says what to do.
    DockerSchema1,
    DockerSchema1Signed,
    Other(String),
}

/// Which family a media type belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Oci,
    Docker,
    Other,
}

/// Every variant but `Other`, for `parse`: one list, so that a new variant
/// cannot be printable but not parseable.
static KNOWN: [MediaType; 19] = [
    MediaType::OciManifest,
    MediaType::OciIndex,
    MediaType::OciConfig,
    MediaType::OciLayer,
    MediaType::OciLayerGzip,
    MediaType::OciLayerZstd,
    MediaType::OciNondistributableLayer,
    MediaType::OciNondistributableLayerGzip,
    MediaType::OciNondistributableLayerZstd,
    MediaType::DockerManifest,
    MediaType::DockerList,
    MediaType::DockerConfig,
    MediaType::DockerLayer,
    MediaType::DockerLayerGzip,
    MediaType::DockerLayerZstd,
    MediaType::DockerForeignLayer,
    MediaType::DockerForeignLayerGzip,
    MediaType::DockerSchema1,
    MediaType::DockerSchema1Signed,
];

impl MediaType {
    /// `text` as a media type: a header value (`type; param=x`) or a
    /// manifest's `mediaType` field.
    pub fn parse(text: &str) -> MediaType {
        let essence = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        KNOWN
            .iter()
            .find(|known| known.as_str() == essence)
            .cloned()
            // Any other is the server's text: kept only as it may be shown.
            .unwrap_or_else(|| MediaType::Other(crate::text::shown(&essence)))
    }

    pub fn as_str(&self) -> &str {
        match self {
            MediaType::OciManifest => "application/vnd.oci.image.manifest.v1+json",
            MediaType::OciIndex => "application/vnd.oci.image.index.v1+json",
            MediaType::OciConfig => "application/vnd.oci.image.config.v1+json",
            MediaType::OciLayer => "application/vnd.oci.image.layer.v1.tar",
            MediaType::OciLayerGzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            MediaType::OciLayerZstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            MediaType::OciNondistributableLayer => {
                "application/vnd.oci.image.layer.nondistributable.v1.tar"
            }
            MediaType::OciNondistributableLayerGzip => {
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            }
            MediaType::OciNondistributableLayerZstd => {
                "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
            }
            MediaType::DockerManifest => "application/vnd.docker.distribution.manifest.v2+json",
            MediaType::DockerList => "application/vnd.docker.distribution.manifest.list.v2+json",
            MediaType::DockerConfig => "application/vnd.docker.container.image.v1+json",
            MediaType::DockerLayer => "application/vnd.docker.image.rootfs.diff.tar",
            MediaType::DockerLayerGzip => "application/vnd.docker.image.rootfs.diff.tar.gzip",
            MediaType::DockerLayerZstd => "application/vnd.docker.image.rootfs.diff.tar.zstd",
            MediaType::DockerForeignLayer => "application/vnd.docker.image.rootfs.foreign.diff.tar",
            MediaType::DockerForeignLayerGzip => {
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
            }
            MediaType::DockerSchema1 => "application/vnd.docker.distribution.manifest.v1+json",
            MediaType::DockerSchema1Signed => {
                "application/vnd.docker.distribution.manifest.v1+prettyjws"
            }
            MediaType::Other(text) => text,
        }
    }

    /// An index: OCI image index or Docker manifest list.
    pub fn is_index(&self) -> bool {
        matches!(self, MediaType::OciIndex | MediaType::DockerList)
    }

    /// A manifest of one image, OCI or Docker schema 2.
    pub fn is_image_manifest(&self) -> bool {
        matches!(self, MediaType::OciManifest | MediaType::DockerManifest)
    }

    /// Any of the four manifest types ocimirror pulls.
    pub fn is_manifest(&self) -> bool {
        self.is_index() || self.is_image_manifest()
    }

    /// A filesystem layer of an image, OCI or Docker, compressed or not.
    pub fn is_layer(&self) -> bool {
        use MediaType::*;
        matches!(
            self,
            OciLayer
                | OciLayerGzip
                | OciLayerZstd
                | OciNondistributableLayer
                | OciNondistributableLayerGzip
                | OciNondistributableLayerZstd
                | DockerLayer
                | DockerLayerGzip
                | DockerLayerZstd
                | DockerForeignLayer
                | DockerForeignLayerGzip
        )
    }

    pub fn is_schema1(&self) -> bool {
        matches!(self, MediaType::DockerSchema1 | MediaType::DockerSchema1Signed)
    }

    pub fn format(&self) -> Format {
        match self {
            MediaType::Other(_) => Format::Other,
            known if known.as_str().starts_with("application/vnd.oci.") => Format::Oci,
            _ => Format::Docker,
        }
    }

    /// The OCI type a Docker type converts to; `None` for OCI and unknown
    /// types (nothing to convert) and for schema 1 (no OCI equivalent).
    pub fn to_oci(&self) -> Option<MediaType> {
        Some(match self {
            MediaType::DockerManifest => MediaType::OciManifest,
            MediaType::DockerList => MediaType::OciIndex,
            MediaType::DockerConfig => MediaType::OciConfig,
            MediaType::DockerLayer => MediaType::OciLayer,
            MediaType::DockerLayerGzip => MediaType::OciLayerGzip,
            MediaType::DockerLayerZstd => MediaType::OciLayerZstd,
            MediaType::DockerForeignLayer => MediaType::OciNondistributableLayer,
            MediaType::DockerForeignLayerGzip => MediaType::OciNondistributableLayerGzip,
            _ => return None,
        })
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for MediaType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for MediaType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MediaType, D::Error> {
        let text = String::deserialize(d)?;
        Ok(MediaType::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_normalises_and_round_trips() {
        for known in &KNOWN {
            assert_eq!(&MediaType::parse(known.as_str()), known, "{known}");
            assert_ne!(known.format(), Format::Other, "{known}");
        }
        assert_eq!(
            MediaType::parse(" Application/VND.oci.image.manifest.v1+json ; charset=utf-8"),
            MediaType::OciManifest
        );
        assert_eq!(
            MediaType::parse("Application/JSON; x=y"),
            MediaType::Other("application/json".into())
        );
        assert_eq!(MediaType::parse("").as_str(), "");
    }

    #[test]
    fn kinds_and_formats() {
        let manifests = [
            MediaType::OciManifest,
            MediaType::OciIndex,
            MediaType::DockerManifest,
            MediaType::DockerList,
        ];
        for m in &manifests {
            assert!(m.is_manifest(), "{m}");
            assert_ne!(m.is_index(), m.is_image_manifest(), "{m}");
        }
        assert!(MediaType::OciIndex.is_index() && MediaType::DockerList.is_index());
        for not in [MediaType::OciConfig, MediaType::DockerSchema1, MediaType::Other("x".into())] {
            assert!(!not.is_manifest(), "{not}");
        }
        assert!(MediaType::DockerSchema1Signed.is_schema1());
        assert_eq!(MediaType::DockerLayerZstd.format(), Format::Docker);
        assert_eq!(MediaType::OciNondistributableLayerZstd.format(), Format::Oci);
        assert_eq!(MediaType::parse("application/vnd.oci.x").format(), Format::Other);
        // Layers: every known type named as one (docker's `rootfs` diffs),
        // and nothing else.
        for m in &KNOWN {
            let named = m.as_str().contains(".layer.") || m.as_str().contains(".rootfs.");
            assert_eq!(m.is_layer(), named, "{m}");
        }
        assert!(!MediaType::Other("application/vnd.example.layer".into()).is_layer());
    }

    #[test]
    fn every_docker_type_but_schema1_has_an_oci_type() {
        for known in &KNOWN {
            let oci = known.to_oci();
            match known.format() {
                Format::Docker if !known.is_schema1() => {
                    assert_eq!(oci.map(|o| o.format()), Some(Format::Oci), "{known}")
                }
                _ => assert_eq!(oci, None, "{known}"),
            }
        }
        assert_eq!(
            MediaType::DockerForeignLayer.to_oci(),
            Some(MediaType::OciNondistributableLayer)
        );
    }

    #[test]
    fn serde_uses_the_string() {
        let json = serde_json::to_string(&MediaType::DockerList).unwrap();
        assert_eq!(json, r#""application/vnd.docker.distribution.manifest.list.v2+json""#);
        let back: MediaType = serde_json::from_str(&json).unwrap();
        assert_eq!(back, MediaType::DockerList);
        let other: MediaType = serde_json::from_str(r#""Text/Plain""#).unwrap();
        assert_eq!(other.to_string(), "text/plain");
    }
}
