//! The image model, with no HTTP in it: media types, descriptors,
//! manifests (verified, as received), platforms and the choice of one,
//! the platform an image config names, and Docker -> OCI conversion.
//!
//! Everything here reads what a server sent and trusts none of it:
//! digests are strict, sizes are capped, bodies must be what they claim,
//! and server text in error messages goes through `crate::text::shown`.
//! Getting the bytes (and the headers) is the registry client's business.

pub mod config;
pub mod convert;
mod descriptor;
mod error;
mod manifest;
mod media_type;
mod oci;
pub mod platform;

pub use config::config_platform;
pub use descriptor::Descriptor;
pub use error::ImageError;
pub use manifest::{ImageManifest, IndexManifest, Manifest, Parsed};
pub use media_type::{Format, MediaType};
pub use platform::{Platform, PlatformError};

/// Like containerd: manifests larger than this are refused.
pub const MAX_MANIFEST_SIZE: usize = 4 * 1048 * 1048;

/// The media types a manifest request accepts, most specific first.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_lists_exactly_the_manifest_types() {
        let accepted: Vec<MediaType> = MANIFEST_ACCEPT.split(',').map(MediaType::parse).collect();
        assert_eq!(accepted.len(), 4);
        assert!(accepted.iter().all(MediaType::is_manifest), "{accepted:?}");
        assert!(accepted[0].is_index(), "an index first: a multi-platform tag");
    }
}
