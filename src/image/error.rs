//! Why a manifest, descriptor or config was refused.
//!
//! Every string in these messages that a server chose (media types,
//! header values, serde's quotes of the body) goes through
//! `crate::text::shown` when the message is made: a mirror can put escape
//! sequences anywhere. Digests need no such care, they are validated hex.

use crate::digest::Digest;
use crate::text::shown;

use super::MediaType;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// `what` (a manifest, an image config) is not the JSON it should be.
    #[error("the {what} is not valid JSON: {}", shown(detail))]
    NotJson { what: &'static str, detail: String },

    #[error(
        "the image uses the obsolete Docker schema 1 manifest format, which ocimirror \
         (like current docker and containerd) cannot pull; rebuild or re-push the image"
    )]
    Schema1,

    #[error(
        "answered with an HTML page instead of a manifest (is this URL a registry, \
         or a login or error page?)"
    )]
    HtmlPage,

    #[error(
        "Content-Type {} disagrees with the manifest's own mediaType {}",
        shown(header.as_str()),
        shown(body.as_str())
    )]
    MediaTypeMismatch { header: MediaType, body: MediaType },

    #[error("unsupported manifest media type {}", shown(.0.as_str()))]
    UnsupportedMediaType(MediaType),

    /// The body's shape contradicts its media type, or fits two: reading
    /// it either way would be a guess, and a wrong guess skips content.
    #[error("refusing an ambiguous {} body: {reason}", shown(media_type.as_str()))]
    Ambiguous { media_type: MediaType, reason: &'static str },

    #[error("the manifest names a bad blob or manifest: {}", shown(reason))]
    BadDescriptor { reason: String },

    #[error("bad Docker-Content-Digest header {}", shown(value))]
    BadHeaderDigest { value: String },

    #[error("manifest digest mismatch: asked for {asked}, got {got}")]
    DigestMismatch { asked: Digest, got: Digest },

    #[error("the manifest does not match its Docker-Content-Digest {header} (it is {body})")]
    HeaderDigestMismatch { header: Digest, body: Digest },

    #[error("manifest {digest} is {got} bytes, its descriptor says {expected}")]
    SizeMismatch { digest: Digest, expected: u64, got: u64 },

    /// `what` is over `limit` bytes (a manifest, an image config).
    #[error("the {what} is over the size limit of {limit} bytes")]
    TooLarge { what: &'static str, limit: u64 },

    #[error("index entry {digest} ({size} bytes) is over the manifest size limit")]
    EntryTooLarge { digest: Digest, size: u64 },

    #[error("cannot read the {what}: {detail}")]
    Read { what: &'static str, detail: String },

    /// Cannot happen for the types encoded, but is not worth a panic.
    #[error("cannot encode a converted manifest: {0}")]
    Encode(String),
}

impl ImageError {
    pub(crate) fn not_json(what: &'static str, e: &serde_json::Error) -> ImageError {
        ImageError::NotJson { what, detail: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_strings_are_shown_safely() {
        let hostile = MediaType::Other("application/\u{1b}]0;owned\u{7}".into());
        let messages = [
            ImageError::UnsupportedMediaType(hostile.clone()),
            ImageError::MediaTypeMismatch { header: MediaType::OciIndex, body: hostile.clone() },
            ImageError::Ambiguous { media_type: hostile, reason: "r" },
            ImageError::BadHeaderDigest { value: "\u{9b}2J".into() },
            ImageError::NotJson { what: "manifest", detail: "x".repeat(10_000) + "\u{1b}" },
            ImageError::BadDescriptor { reason: "\u{1b}[31m".into() },
        ]
        .map(|e| e.to_string());
        for m in &messages {
            assert!(!m.chars().any(char::is_control), "{m:?}");
            assert!(m.len() < 400, "capped: {} chars", m.len());
        }
        assert!(messages[0].contains("\\u{1b}]0;owned"), "{}", messages[0]);
    }
}
