use super::*;
use crate::image::{ImageManifest, IndexManifest, Parsed};

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn manifest(media_type: &str, json: Value) -> Manifest {
    let bytes = serde_json::to_vec(&json).unwrap();
    Manifest {
        digest: Digest::sha256(&bytes),
        bytes: bytes.into(),
        media_type: MediaType::parse(media_type),
    }
}

fn json(m: &Manifest) -> Value {
    serde_json::from_slice(&m.bytes).unwrap()
}

fn docker_image(layer_type: &str) -> Manifest {
    manifest(
        DOCKER_MANIFEST,
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "digest": Digest::sha256(b"config").to_string(), "size": 6},
            "layers": [{"mediaType": layer_type, "digest": Digest::sha256(b"layer").to_string(), "size": 5}],
        }),
    )
}

#[test]
fn every_docker_layer_type_becomes_its_oci_type() {
    for (docker, oci) in [
        ("application/vnd.docker.image.rootfs.diff.tar", "application/vnd.oci.image.layer.v1.tar"),
        (
            "application/vnd.docker.image.rootfs.foreign.diff.tar",
            "application/vnd.oci.image.layer.nondistributable.v1.tar",
        ),
        (
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        ),
        (
            "application/vnd.docker.image.rootfs.diff.tar.zstd",
            "application/vnd.oci.image.layer.v1.tar+zstd",
        ),
        (DOCKER_LAYER_GZIP, "application/vnd.oci.image.layer.v1.tar+gzip"),
    ] {
        let (out, _) = to_oci(&[docker_image(docker)]).unwrap();
        assert_eq!(json(&out[0])["layers"][0]["mediaType"], oci, "{docker}");
    }
}

#[test]
fn converts_docker_images_and_lists_keeping_blob_digests() {
    let layer = Digest::sha256(b"layer");
    let config = Digest::sha256(b"config");
    let image = docker_image(DOCKER_LAYER_GZIP);
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
    assert_eq!(new_list.media_type, MediaType::OciIndex);
    assert_eq!(new_image.media_type, MediaType::OciManifest);
    assert_eq!(renamed[&image.digest].digest, new_image.digest);
    assert!(new_image.digest.matches(&new_image.bytes));
    match new_image.parse().unwrap() {
        Parsed::Image(ImageManifest { config: c, layers }) => {
            assert_eq!(c.digest, config);
            assert_eq!(c.media_type, MediaType::OciConfig);
            assert_eq!(layers[0].digest, layer);
            assert_eq!(layers[0].media_type, MediaType::OciLayerGzip);
        }
        other => panic!("{other:?}"),
    }
    match new_list.parse().unwrap() {
        Parsed::Index(IndexManifest { manifests }) => {
            assert_eq!(manifests[0].digest, new_image.digest);
            assert_eq!(manifests[0].size, new_image.bytes.len() as u64);
            assert_eq!(manifests[0].media_type, MediaType::OciManifest);
            assert_eq!(manifests[0].platform.as_ref().unwrap().to_string(), "linux/amd64");
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

#[test]
fn unknown_fields_survive_conversion() {
    let subject = serde_json::json!({"mediaType": OCI_MANIFEST, "digest": Digest::sha256(b"s").to_string(), "size": 9});
    let image = manifest(
        DOCKER_MANIFEST,
        serde_json::json!({
            "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
            "annotations": {"org.opencontainers.image.source": "https://example.com"},
            "subject": subject,
            "artifactType": "application/vnd.example+json",
            "x-never-heard-of": [1, 2.5, {"deep": null}],
            "config": {"mediaType": DOCKER_CONFIG, "digest": Digest::sha256(b"c").to_string(), "size": 1,
                       "data": "e30="},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                        "digest": Digest::sha256(b"l").to_string(), "size": 1,
                        "urls": ["https://example.com/layer"], "annotations": {"a": "b"}, "x-future": true},
                       {"mediaType": "application/vnd.example.Other+tar",
                        "digest": Digest::sha256(b"o").to_string(), "size": 2}],
        }),
    );
    let list = manifest(
        DOCKER_LIST,
        serde_json::json!({
            "schemaVersion": 2, "mediaType": DOCKER_LIST, "x-list-field": "kept",
            "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": image.digest.to_string(),
                           "size": image.bytes.len(), "annotations": {"k": "v"},
                           "platform": {"os": "linux", "architecture": "arm64", "os.features": ["f"]}}],
        }),
    );
    let (out, _) = to_oci(&[list, image]).unwrap();
    let (list, image) = (json(&out[0]), json(&out[1]));
    assert_eq!(image["annotations"]["org.opencontainers.image.source"], "https://example.com");
    assert_eq!(image["subject"], subject, "a subject is not retyped or renamed");
    assert_eq!(image["artifactType"], "application/vnd.example+json");
    assert_eq!(image["x-never-heard-of"], serde_json::json!([1, 2.5, {"deep": null}]));
    assert_eq!(image["config"]["data"], "e30=");
    let layers = &image["layers"];
    assert_eq!(layers[0]["urls"][0], "https://example.com/layer");
    assert_eq!(layers[0]["annotations"]["a"], "b");
    assert_eq!(layers[0]["x-future"], true);
    assert_eq!(layers[1]["mediaType"], "application/vnd.example.Other+tar", "spelled as it was");
    assert_eq!(list["x-list-field"], "kept");
    assert_eq!(list["manifests"][0]["annotations"]["k"], "v");
    assert_eq!(list["manifests"][0]["platform"]["os.features"][0], "f");
    assert_eq!(list["manifests"][0]["digest"], out[1].digest.to_string());
}

#[test]
fn converted_bytes_are_compact_with_sorted_keys() {
    // Pinned: the encoding earlier versions wrote, so that a layout they
    // converted keeps its digests.
    let c = Digest::sha256(b"c");
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","zz":1,"config":{{"size":1,"mediaType":"{DOCKER_CONFIG}","digest":"{c}","b":0}},"layers":null}}"#
    );
    let m = Manifest {
        digest: Digest::sha256(body.as_bytes()),
        bytes: body.into(),
        media_type: MediaType::DockerManifest,
    };
    let (out, _) = to_oci(&[m]).unwrap();
    let want = format!(
        r#"{{"config":{{"b":0,"digest":"{c}","mediaType":"application/vnd.oci.image.config.v1+json","size":1}},"layers":null,"mediaType":"{OCI_MANIFEST}","schemaVersion":2,"zz":1}}"#
    );
    assert_eq!(std::str::from_utf8(&out[0].bytes).unwrap(), want);
}

#[test]
fn an_oci_index_is_rewritten_only_when_it_lists_a_converted_manifest() {
    let image = docker_image(DOCKER_LAYER_GZIP);
    let entry = |d: &Manifest| serde_json::json!({"mediaType": d.media_type.as_str(), "digest": d.digest.to_string(), "size": d.bytes.len()});
    let untouched = manifest(OCI_INDEX, serde_json::json!({"schemaVersion": 2, "manifests": []}));
    let listing =
        manifest(OCI_INDEX, serde_json::json!({"schemaVersion": 2, "manifests": [entry(&image)]}));
    let (out, renamed) = to_oci(&[untouched.clone(), listing.clone(), image.clone()]).unwrap();
    assert_eq!(out[0], untouched, "byte for byte");
    assert!(!renamed.contains_key(&untouched.digest));
    let new = &renamed[&listing.digest];
    assert_eq!(out[1], *new);
    assert_eq!(json(new)["mediaType"], OCI_INDEX);
    assert_eq!(json(new)["manifests"][0]["digest"], renamed[&image.digest].digest.to_string());
    // A nested index: the outer one follows the inner one's new digest.
    let outer = manifest(
        DOCKER_LIST,
        serde_json::json!({"mediaType": DOCKER_LIST, "manifests": [entry(&listing)]}),
    );
    let (out, renamed) = to_oci(&[outer.clone(), listing.clone(), image]).unwrap();
    assert_eq!(
        json(&out[0])["manifests"][0]["digest"],
        renamed[&listing.digest].digest.to_string()
    );
    assert_eq!(json(&out[0])["manifests"][0]["mediaType"], OCI_INDEX);
}

#[test]
fn a_manifest_that_would_not_parse_is_not_converted() {
    // An index body under an image's media type: `parse` refuses it, and
    // so does conversion, rather than carrying `manifests` along.
    let liar = manifest(
        DOCKER_MANIFEST,
        serde_json::json!({"mediaType": DOCKER_MANIFEST, "config": docker_image(DOCKER_LAYER_GZIP).descriptor(),
                           "manifests": []}),
    );
    assert!(matches!(to_oci(&[liar]), Err(ImageError::Ambiguous { .. })));
}
