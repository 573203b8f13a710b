//! Docker schema 2 -> OCI, for consumers that read only OCI media types
//! (skopeo's `oci:` transport skips index entries with Docker types).
//!
//! Only manifests change: their media types, and an index's references to
//! the converted manifests. Config and layer blobs keep their bytes (and so
//! their digests); only the media type their descriptors give changes. A
//! converted manifest is new content with a new digest, which is why this
//! is opt-in (`pull --format oci`): by default manifests are kept byte for
//! byte, as the registry served them.

use std::collections::HashMap;

use serde_json::Value;

use crate::digest::Digest;
use crate::registry::FetchError;
use crate::registry::manifest::{
    DOCKER_LIST, DOCKER_MANIFEST, Manifest, OCI_INDEX, OCI_MANIFEST, is_index,
};

/// The OCI media type for a Docker one, or `None` when there is none.
fn oci_type(docker: &str) -> Option<&'static str> {
    Some(match docker {
        DOCKER_MANIFEST => OCI_MANIFEST,
        DOCKER_LIST => OCI_INDEX,
        "application/vnd.docker.container.image.v1+json" => {
            "application/vnd.oci.image.config.v1+json"
        }
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        }
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => {
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        }
        "application/vnd.docker.image.rootfs.diff.tar" => "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.docker.image.rootfs.foreign.diff.tar" => {
            "application/vnd.oci.image.layer.nondistributable.v1.tar"
        }
        "application/vnd.docker.image.rootfs.diff.tar.zstd" => {
            "application/vnd.oci.image.layer.v1.tar+zstd"
        }
        _ => return None,
    })
}

fn retype(descriptor: &mut Value) {
    let new = descriptor.get("mediaType").and_then(Value::as_str).and_then(oci_type);
    if let Some(t) = new {
        descriptor["mediaType"] = Value::from(t);
    }
}

/// Converts every Docker manifest in `manifests` (images before the indexes
/// that list them) and returns the new set plus a map from each old digest
/// to its replacement. OCI manifests pass through untouched.
pub fn to_oci(
    manifests: &[Manifest],
) -> Result<(Vec<Manifest>, HashMap<Digest, Manifest>), FetchError> {
    let mut renamed: HashMap<Digest, Manifest> = HashMap::new();
    // Images first, then indexes from the innermost out, so that every
    // index entry's replacement is known when the index is rewritten.
    let (indexes, images): (Vec<&Manifest>, Vec<&Manifest>) =
        manifests.iter().partition(|m| is_index(&m.media_type));
    for m in images.into_iter().chain(indexes.into_iter().rev()) {
        if m.media_type != DOCKER_MANIFEST && m.media_type != DOCKER_LIST {
            // OCI already; an OCI index may still list converted children.
            if m.media_type == OCI_INDEX && mentions_any(m, &renamed)? {
                let new = rewrite(m, &renamed)?;
                renamed.insert(m.digest.clone(), new);
            }
            continue;
        }
        let new = rewrite(m, &renamed)?;
        renamed.insert(m.digest.clone(), new);
    }
    let out = manifests
        .iter()
        .map(|m| renamed.get(&m.digest).cloned().unwrap_or_else(|| m.clone()))
        .collect();
    Ok((out, renamed))
}

fn parse(m: &Manifest) -> Result<Value, FetchError> {
    serde_json::from_slice(&m.bytes)
        .map_err(|e| FetchError::Invalid(format!("manifest {} is not JSON: {e}", m.digest)))
}

fn mentions_any(m: &Manifest, renamed: &HashMap<Digest, Manifest>) -> Result<bool, FetchError> {
    let v = parse(m)?;
    let entries = v.get("manifests").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(entries.iter().any(|e| {
        e.get("digest")
            .and_then(Value::as_str)
            .and_then(|d| d.parse::<Digest>().ok())
            .is_some_and(|d| renamed.contains_key(&d))
    }))
}

fn rewrite(m: &Manifest, renamed: &HashMap<Digest, Manifest>) -> Result<Manifest, FetchError> {
    let mut v = parse(m)?;
    let media_type = oci_type(&m.media_type).unwrap_or(&m.media_type).to_string();
    v["mediaType"] = Value::from(media_type.clone());
    if let Some(config) = v.get_mut("config") {
        retype(config);
    }
    for key in ["layers", "manifests"] {
        if let Some(list) = v.get_mut(key).and_then(Value::as_array_mut) {
            for d in list {
                retype(d);
                let old =
                    d.get("digest").and_then(Value::as_str).and_then(|s| s.parse::<Digest>().ok());
                if let Some(new) = old.and_then(|o| renamed.get(&o)) {
                    d["digest"] = Value::from(new.digest.to_string());
                    d["size"] = Value::from(new.bytes.len());
                    d["mediaType"] = Value::from(new.media_type.clone());
                }
            }
        }
    }
    let bytes = serde_json::to_vec(&v)
        .map_err(|e| FetchError::Invalid(format!("cannot encode a converted manifest: {e}")))?;
    Ok(Manifest {
        digest: Digest::sha256(&bytes),
        bytes: bytes.into(),
        media_type,
        namespace: None,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_docker_layer_type_becomes_its_oci_type() {
        for (docker, oci) in [
            (
                "application/vnd.docker.image.rootfs.diff.tar",
                "application/vnd.oci.image.layer.v1.tar",
            ),
            (
                "application/vnd.docker.image.rootfs.foreign.diff.tar",
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.zstd",
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "application/vnd.oci.image.layer.v1.tar+gzip",
            ),
        ] {
            let json = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "digest": Digest::sha256(b"c").to_string(),
                    "size": 1,
                },
                "layers": [{"mediaType": docker, "digest": Digest::sha256(b"l").to_string(), "size": 1}],
            });
            let bytes = serde_json::to_vec(&json).unwrap();
            let m = Manifest {
                digest: Digest::sha256(&bytes),
                bytes: bytes.into(),
                media_type: DOCKER_MANIFEST.into(),
                namespace: None,
            };
            let (out, _) = to_oci(&[m]).unwrap();
            let v: Value = serde_json::from_slice(&out[0].bytes).unwrap();
            assert_eq!(v["layers"][0]["mediaType"], oci, "{docker}");
        }
    }

    use super::*;
    use crate::registry::manifest::{Parsed, parse_body};

    fn manifest(media_type: &str, json: Value) -> Manifest {
        let bytes = serde_json::to_vec(&json).unwrap();
        Manifest {
            digest: Digest::sha256(&bytes),
            bytes: bytes.into(),
            media_type: media_type.into(),
            namespace: None,
        }
    }

    #[test]
    fn converts_docker_images_and_lists_keeping_blob_digests() {
        let layer = Digest::sha256(b"layer");
        let config = Digest::sha256(b"config");
        let image = manifest(
            DOCKER_MANIFEST,
            serde_json::json!({
                "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config.to_string(), "size": 6},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer.to_string(), "size": 5}],
            }),
        );
        let list = manifest(
            DOCKER_LIST,
            serde_json::json!({
                "schemaVersion": 2, "mediaType": DOCKER_LIST,
                "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": image.digest.to_string(), "size": image.bytes.len(),
                               "platform": {"os": "linux", "architecture": "amd64"}}],
            }),
        );
        let (out, renamed) = to_oci(&[list.clone(), image.clone()]).unwrap();
        assert_eq!(out.len(), 2);
        let new_list = &out[0];
        let new_image = &out[1];
        assert_eq!(new_list.media_type, OCI_INDEX);
        assert_eq!(new_image.media_type, OCI_MANIFEST);
        assert_eq!(renamed[&image.digest].digest, new_image.digest);
        assert!(new_image.digest.matches(&new_image.bytes));
        match parse_body(&new_image.bytes, OCI_MANIFEST).unwrap() {
            Parsed::Image { config: c, layers } => {
                assert_eq!(c.digest, config);
                assert_eq!(c.media_type, "application/vnd.oci.image.config.v1+json");
                assert_eq!(layers[0].digest, layer);
                assert_eq!(layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
            }
            other => panic!("{other:?}"),
        }
        match parse_body(&new_list.bytes, OCI_INDEX).unwrap() {
            Parsed::Index { manifests } => {
                assert_eq!(manifests[0].digest, new_image.digest);
                assert_eq!(manifests[0].size, new_image.bytes.len() as u64);
                assert_eq!(manifests[0].media_type, OCI_MANIFEST);
            }
            other => panic!("{other:?}"),
        }
        // Converting is deterministic (a warm pull finds the same digests),
        // and OCI content passes through.
        let (again, _) = to_oci(&[list, image]).unwrap();
        assert_eq!(again[0].digest, new_list.digest);
        let (same, renamed) = to_oci(std::slice::from_ref(new_image)).unwrap();
        assert_eq!(same[0].digest, new_image.digest);
        assert!(renamed.is_empty());
    }
}
