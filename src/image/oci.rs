//! The layout boundary: our descriptors and platforms as `oci_spec`'s
//! types (for index.json), and index.json entries read back as ours.
//!
//! oci-spec makes its digests only from strings (`TryFrom<String>`), and
//! its media types, OS and architecture names from strings too (`From<&str>`;
//! naming its enum variants would mean a second copy of its table), so
//! those few go through text; everything else is moved field by field.

use oci_spec::image as spec;

use super::{Descriptor, ImageError, MediaType, Platform};
use crate::digest::Digest;

impl From<&Platform> for spec::Platform {
    fn from(p: &Platform) -> spec::Platform {
        let mut out = spec::Platform::default();
        out.set_os(spec::Os::from(p.os.as_str()));
        out.set_architecture(spec_arch(&p.architecture));
        out.set_variant(p.variant.clone());
        out
    }
}

/// oci-spec's `From<&str>` reads `armbe` as `arm64be` (it writes `ARMbe`
/// back as `armbe`), so that one is named here.
fn spec_arch(architecture: &str) -> spec::Arch {
    match architecture {
        "armbe" => spec::Arch::ARMbe,
        other => spec::Arch::from(other),
    }
}

/// Our digests are stricter than oci-spec's (sha256 or sha512, exact
/// length, lowercase hex), so every one is an oci-spec digest: the
/// `expect` states an invariant that no input can break (see the test).
fn spec_digest(d: &Digest) -> spec::Digest {
    spec::Digest::try_from(d.to_string()).expect("a valid digest is a valid OCI digest")
}

impl From<&Descriptor> for spec::Descriptor {
    fn from(d: &Descriptor) -> spec::Descriptor {
        let media_type = spec::MediaType::from(d.media_type.as_str());
        let mut out = spec::Descriptor::new(media_type, d.size, spec_digest(&d.digest));
        out.set_platform(d.platform.as_ref().map(spec::Platform::from));
        if !d.annotations.is_empty() {
            let annotations = d.annotations.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            out.set_annotations(Some(annotations));
        }
        out
    }
}

/// An index.json entry, checked as a manifest's descriptor is: its digest
/// must be one ocimirror can name a blob by.
impl TryFrom<&spec::Descriptor> for Descriptor {
    type Error = ImageError;

    fn try_from(d: &spec::Descriptor) -> Result<Descriptor, ImageError> {
        let digest = d
            .digest()
            .to_string()
            .parse::<Digest>()
            .map_err(|e| ImageError::BadDescriptor { reason: e.to_string() })?;
        let platform = d.platform().as_ref().map(|p| {
            let (os, arch) = (p.os().to_string(), p.architecture().to_string());
            Platform::new(&os, &arch, p.variant().as_deref())
        });
        let annotations = d
            .annotations()
            .as_ref()
            .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(Descriptor {
            media_type: MediaType::parse(d.media_type().as_ref()),
            digest,
            size: d.size(),
            platform,
            annotations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Algorithm;

    fn descriptor(digest: Digest, platform: Option<&str>) -> Descriptor {
        Descriptor {
            media_type: MediaType::DockerManifest,
            digest,
            size: 42,
            platform: platform.map(|p| p.parse().unwrap()),
            annotations: [("org.opencontainers.image.ref.name".to_string(), "x:1".to_string())]
                .into(),
        }
    }

    #[test]
    fn descriptors_round_trip_through_oci_spec() {
        let digests = [Digest::sha256(b"a"), Digest::of(Algorithm::Sha512, b"a")];
        for digest in digests {
            for platform in [None, Some("linux/arm/v6"), Some("linux/386"), Some("linux/armbe")] {
                let ours = descriptor(digest.clone(), platform);
                let theirs = spec::Descriptor::from(&ours);
                assert_eq!(theirs.digest().to_string(), digest.to_string());
                assert_eq!(theirs.media_type().to_string(), ours.media_type.as_str());
                assert_eq!(Descriptor::try_from(&theirs).unwrap(), ours, "{platform:?}");
            }
        }
    }

    #[test]
    fn oci_spec_json_is_what_the_spec_says() {
        let ours = descriptor(Digest::sha256(b"a"), Some("linux/arm64"));
        let json = serde_json::to_value(spec::Descriptor::from(&ours)).unwrap();
        assert_eq!(json["platform"], serde_json::json!({"os": "linux", "architecture": "arm64"}));
        assert_eq!(json["mediaType"], MediaType::DockerManifest.as_str());
        let bare = Descriptor { annotations: Default::default(), ..ours };
        let json = serde_json::to_value(spec::Descriptor::from(&bare)).unwrap();
        assert!(json.get("annotations").is_none(), "{json}");
    }

    #[test]
    fn entries_read_back_are_validated_and_normalised() {
        let entry = |digest: &str| {
            serde_json::from_value::<spec::Descriptor>(serde_json::json!({
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": digest, "size": 1,
                "platform": {"os": "linux", "architecture": "aarch64", "variant": "v8"},
            }))
            .unwrap()
        };
        let ok = Descriptor::try_from(&entry(&Digest::sha256(b"x").to_string())).unwrap();
        assert_eq!(ok.media_type, MediaType::OciIndex);
        assert_eq!(ok.platform.unwrap().to_string(), "linux/arm64");
        // oci-spec accepts algorithms that cannot name a blob here.
        let sha384 = format!("sha384:{}", "a".repeat(96));
        let e = Descriptor::try_from(&entry(&sha384)).unwrap_err();
        assert!(matches!(e, ImageError::BadDescriptor { .. }), "{e}");
    }
}
