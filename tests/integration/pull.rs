//! Pulling from the authority itself: the spine of every other test.

use crate::support::image::Image;
use crate::support::registry::Registry;
use crate::support::{assert_layout_valid, layout_has_blob, layout_index, Test};

#[test]
fn pulls_a_single_platform_image_into_a_valid_layout() {
    let reg = Registry::start();
    let img = Image::oci(1, &[2048, 70_000, 1]);
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str(), "--json"]);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["reference"], reference);
    assert_eq!(j["digest"], img.manifest.digest);
    assert_eq!(j["servedBy"]["endpoint"], reg.url());
    assert_eq!(j["servedBy"]["nsSent"], false, "never send ns to the authority");
    assert_layout_valid(&t.layout());
    for b in img.blobs() {
        assert!(layout_has_blob(&t.layout(), &b.digest));
    }
    let index = layout_index(&t.layout());
    let entry = &index["manifests"][0];
    assert_eq!(entry["digest"], img.manifest.digest);
    assert_eq!(entry["annotations"]["org.opencontainers.image.ref.name"], reference);
    assert_eq!(entry["annotations"]["io.containerd.image.name"], reference);
    assert!(reg.ns_values().is_empty());
}
