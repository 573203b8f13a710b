//! Memory a server would choose: one large child index listed over and
//! over, indexes nested deeper than any registry makes them, an image
//! config of 64 MiB, a manifest listing tens of thousands of layers. The
//! pull keeps each manifest once, stops at the limits, reads the config
//! streamed and capped, and refuses to start 46,000 downloads; its peak
//! memory stays under 64 MiB throughout.

use std::time::Duration;

use serde_json::{Value, json};

use super::{SLACK, assert_clean, assert_small, assert_within, blob_path, gets, pull};
use crate::support::image::{Blob, Image, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, sha256};
use crate::support::registry::Registry;
use crate::support::{Test, assert_layout_valid, layout_index};

/// The manifest size cap, as in containerd.
const MAX_MANIFEST: usize = 4 * 1048 * 1048;

/// An index over `entries`, with `pad` bytes of annotation to make it large.
fn index(entries: Vec<Value>, pad: usize) -> Blob {
    let mut body = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    if pad > 0 {
        body["annotations"] = json!({"pad": "x".repeat(pad)});
    }
    Blob::new(OCI_INDEX, serde_json::to_vec(&body).unwrap())
}

/// A descriptor for `blob` that says it runs on linux/amd64.
fn for_amd64(blob: &Blob) -> Value {
    let mut d = blob.descriptor();
    d["platform"] = json!({"os": "linux", "architecture": "amd64"});
    d
}

#[test]
fn all_platforms_fetches_a_child_index_listed_150_times_once() {
    let img = Image::oci(1201, &[1000]);
    let reg = Registry::start();
    reg.push_image("team/app", &img.manifest.digest, &img);
    // A child index of 3.5 MiB: 150 copies held would be 525 MiB.
    let child = index(vec![for_amd64(&img.manifest)], 7 << 19);
    reg.push_manifest("team/app", &child.digest, &child);
    let top = index(vec![child.descriptor(); 150], 0);
    reg.push_manifest("team/app", "v1", &top);
    let reference = format!("{}/team/app:v1", reg.host());
    let t = Test::new().timeout(Duration::from_secs(60));

    let out = pull(&t, &reference, &["--all-platforms", "--json"]);
    assert_small(&out);
    assert_clean(&out);
    out.assert_success();
    // No timeout is involved: the bound is the work of one 3.5 MiB child.
    assert_within(&out, SLACK * 2);
    assert_eq!(gets(&reg, &format!("/manifests/{}", child.digest)).len(), 1, "fetched once");
    assert_layout_valid(&t.layout());
}

/// `levels` indexes, each the only entry of the one above, over `img`:
/// pushed as `team/app:<tag>`.
fn nested(reg: &Registry, img: &Image, levels: usize, tag: &str) {
    reg.push_image("team/app", &img.manifest.digest, img);
    let mut inner = img.manifest.clone();
    for level in 0..levels {
        // Each level different, so no two share a digest.
        let wrapper = index(vec![for_amd64(&inner)], level + 1);
        reg.push_manifest("team/app", &wrapper.digest, &wrapper);
        inner = wrapper;
    }
    reg.push_manifest("team/app", tag, &inner);
}

#[test]
fn indexes_nested_six_deep_are_refused_and_five_deep_are_pulled() {
    let img = Image::oci(1202, &[1000]);
    let reg = Registry::start();
    // The top index and 4 inside it: as deep as is followed.
    nested(&reg, &img, 5, "five");
    nested(&reg, &img, 6, "six");
    for mode in [&["--platform", "linux/amd64", "--json"][..], &["--all-platforms", "--json"]] {
        let t = Test::new();
        let out = pull(&t, &format!("{}/team/app:six", reg.host()), mode);
        assert_clean(&out);
        out.assert_code(1);
        assert!(out.stderr.contains("nested more than 4 deep"), "{mode:?}\n{}", out.dump());
        assert!(!t.layout().join("index.json").exists(), "{mode:?}");

        let out = pull(&t, &format!("{}/team/app:five", reg.host()), mode);
        assert_clean(&out);
        out.assert_success();
        let j = out.json();
        if mode[0] == "--platform" {
            assert_eq!(j["image"]["digest"], img.manifest.digest, "{j}");
        }
        assert_layout_valid(&t.layout());
    }
}

/// An image whose config is `{"os":"linux","architecture":"amd64"}` with
/// a `comment` of `pad` bytes before them (the platform is at the end).
fn image_with_big_config(reg: &Registry, pad: usize) -> Blob {
    let text =
        format!(r#"{{"comment":"{}","os":"linux","architecture":"amd64"}}"#, "x".repeat(pad));
    let config = Blob::new(OCI_CONFIG, text.into_bytes());
    let layer = Blob::new(OCI_LAYER, vec![7; 1000]);
    let body = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    });
    let manifest = Blob::new(OCI_MANIFEST, serde_json::to_vec(&body).unwrap());
    reg.push_blob(&config).push_blob(&layer).push_manifest("team/app", "v1", &manifest);
    config
}

#[test]
fn a_64_mib_config_is_stored_without_being_read_whole() {
    let reg = Registry::start();
    let config = image_with_big_config(&reg, 64 << 20);
    let t = Test::new().timeout(Duration::from_secs(120));
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--json"]);
    // Read whole and parsed into a Value, it cost twice its size.
    assert_small(&out);
    assert_clean(&out);
    out.assert_success();
    let entry = &layout_index(&t.layout())["manifests"][0];
    assert!(entry.get("platform").is_none(), "over the 16 MiB cap: no platform: {entry}");
    assert_eq!(
        std::fs::metadata(blob_path(&t, &config.digest)).unwrap().len(),
        config.bytes.len() as u64
    );
    assert_layout_valid(&t.layout());
}

#[test]
fn a_15_mib_config_still_gives_its_platform() {
    let reg = Registry::start();
    image_with_big_config(&reg, 15 << 20);
    let t = Test::new().timeout(Duration::from_secs(60));
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--json"]);
    assert_small(&out);
    assert_clean(&out);
    out.assert_success();
    let entry = &layout_index(&t.layout())["manifests"][0];
    assert_eq!(entry["platform"], json!({"os": "linux", "architecture": "amd64"}), "{entry}");
}

#[test]
fn a_manifest_listing_46000_layers_is_refused_before_any_download() {
    let reg = Registry::start();
    let config = Blob::new(OCI_CONFIG, br#"{"os":"linux","architecture":"amd64"}"#.to_vec());
    // Tiny layers (no mediaType: the shortest descriptors) up to just
    // under the manifest cap.
    let head = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{},"layers":["#,
        config.descriptor()
    );
    let mut text = head;
    let mut layers = 0u64;
    loop {
        let d = format!(r#"{{"digest":"{}","size":1}}"#, sha256(&layers.to_le_bytes()));
        if text.len() + d.len() + 3 > MAX_MANIFEST {
            break;
        }
        if layers > 0 {
            text.push(',');
        }
        text.push_str(&d);
        layers += 1;
    }
    text.push_str("]}");
    assert!(layers > 46_000, "{layers} layers");
    reg.push_blob(&config).push_manifest(
        "team/app",
        "v1",
        &Blob::new(OCI_MANIFEST, text.into_bytes()),
    );
    let t = Test::new().timeout(Duration::from_secs(60));

    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--json"]);
    assert_small(&out);
    assert_clean(&out);
    out.assert_code(1);
    assert_within(&out, SLACK * 2);
    assert!(out.stderr.contains("more than 10000 blobs"), "{}", out.dump());
    assert_eq!(reg.count("GET", "/v2/team/app/blobs/"), 0, "refused before any download");
    assert!(!t.layout().join("index.json").exists());
}
