//! Pulling from the authority itself: the spine of every other test.

use crate::support::image::{Blob, Image, Index, OCI_INDEX};
use crate::support::registry::{Auth, Registry};
use crate::support::{Test, assert_layout_valid, layout_has_blob, layout_index};

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

fn pull_json(t: &Test, reference: &str, extra: &[&str]) -> crate::support::Output {
    let layout = t.layout_str();
    let mut args = vec!["pull", reference, "-o", &layout, "--json"];
    args.extend_from_slice(extra);
    t.run_with(args)
}

fn multi_arch() -> Index {
    let amd = Image::builder(10).layers(&[500, 600]).build();
    let arm = Image::builder(11).platform("linux", "arm64", Some("v8")).layers(&[700]).build();
    let armv7 = Image::builder(12).platform("linux", "arm", Some("v7")).layers(&[800]).build();
    Index::new(vec![amd, arm, armv7], true)
}

#[test]
fn picks_the_requested_platform_and_never_an_attestation() {
    let reg = Registry::start();
    let index = multi_arch();
    reg.push_index("team/multi", "v1", &index);
    let reference = format!("{}/team/multi:v1", reg.host());
    for (asked, want) in
        [("linux/arm64", 1), ("linux/aarch64/v8", 1), ("linux/arm", 2), ("linux/amd64", 0)]
    {
        let t = Test::new();
        let out = pull_json(&t, &reference, &["--platform", asked]);
        out.assert_success();
        let j = out.json();
        let img = &index.images[want];
        assert_eq!(j["digest"], index.manifest.digest, "the tag resolves to the index");
        assert_eq!(j["image"]["digest"], img.manifest.digest, "{asked}");
        assert_layout_valid(&t.layout());
        let entry = &layout_index(&t.layout())["manifests"][0];
        assert_eq!(entry["digest"], img.manifest.digest);
        assert_eq!(entry["platform"]["architecture"], img.arch);
        for b in img.blobs() {
            assert!(layout_has_blob(&t.layout(), &b.digest));
        }
        let att = index.attestation.as_ref().unwrap();
        assert!(!layout_has_blob(&t.layout(), &att.manifest.digest));
    }
    let t = Test::new();
    let out = pull_json(&t, &reference, &["--platform", "unknown/unknown"]);
    out.assert_code(3);
    let t = Test::new();
    let out = pull_json(&t, &reference, &["--platform", "windows/amd64"]);
    out.assert_code(3);
    assert!(
        out.stderr.contains("linux/arm64") && out.stderr.contains("linux/arm/v7"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("unknown/unknown"), "attestations are not offered");
}

#[test]
fn all_platforms_keeps_the_whole_index() {
    let reg = Registry::start();
    let index = multi_arch();
    reg.push_index("team/multi", "v1", &index);
    let reference = format!("{}/team/multi:v1", reg.host());
    let t = Test::new();
    let out = pull_json(&t, &reference, &["--all-platforms"]);
    out.assert_success();
    assert_layout_valid(&t.layout());
    let entry = &layout_index(&t.layout())["manifests"][0];
    assert_eq!(entry["digest"], index.manifest.digest);
    assert_eq!(entry["mediaType"], index.manifest.media_type);
    for img in index.all_images() {
        for b in img.blobs().into_iter().chain([&img.manifest]) {
            assert!(layout_has_blob(&t.layout(), &b.digest), "{}", b.digest);
        }
    }
}

#[test]
fn docker_media_types_are_kept_byte_for_byte() {
    let reg = Registry::start();
    let img = Image::builder(20).docker().layers(&[1000, 2000]).build();
    reg.push_image("legacy/app", "1.0", &img);
    let t = Test::new();
    let reference = format!("{}/legacy/app:1.0", reg.host());
    pull_json(&t, &reference, &[]).assert_success();
    let entry = &layout_index(&t.layout())["manifests"][0];
    assert_eq!(entry["mediaType"], crate::support::image::DOCKER_MANIFEST);
    let stored =
        std::fs::read(t.layout().join("blobs/sha256").join(&img.manifest.digest[7..])).unwrap();
    assert_eq!(stored, img.manifest.bytes);
}

#[test]
fn pulling_again_replaces_the_entry_and_fetches_nothing() {
    let reg = Registry::start();
    let v1 = Image::oci(30, &[4000, 5000]);
    let other = Image::oci(31, &[100]);
    reg.push_image("team/app", "v1", &v1).push_image("team/other", "latest", &other);
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    pull_json(&t, &reference, &[]).assert_success();
    pull_json(&t, &format!("{}/team/other", reg.host()), &[]).assert_success();
    reg.clear_requests();
    let out = pull_json(&t, &reference, &[]);
    out.assert_success();
    assert_eq!(reg.count("GET", "/v2/team/app/blobs/"), 0, "a warm pull downloads no blob");
    assert!(out.json()["blobs"].as_array().unwrap().iter().all(|b| b["cached"] == true));
    // A new image under the same tag replaces the entry.
    let v2 = Image::oci(32, &[6000]);
    reg.push_image("team/app", "v1", &v2);
    pull_json(&t, &reference, &[]).assert_success();
    let index = layout_index(&t.layout());
    let names: Vec<_> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == reference.as_str())
        .unwrap();
    assert_eq!(entry["digest"], v2.manifest.digest);
    assert_layout_valid(&t.layout());
}

#[test]
fn invalid_references_fail_fast_before_any_network() {
    for bad in [
        "Uppercase:tag",
        "foo_bar.com:8080/app",
        "dock..er/x",
        "a@sha256:../../x",
        "[fe80::1%eth0]:5000/r",
    ] {
        let t = Test::new();
        let out = t.run_with(["pull", bad, "-o", &t.layout_str()]);
        out.assert_code(2);
        assert!(out.stderr.contains("invalid reference"), "{bad}: {}", out.stderr);
        assert!(!t.layout().exists(), "nothing is created for a bad reference");
    }
}

#[test]
fn basic_auth_from_docker_config() {
    let reg = Registry::start();
    reg.set_auth(Auth::Basic { user: "ci".into(), pass: "s3cret-pw".into() });
    let img = Image::oci(40, &[300]);
    reg.push_image("private/app", "v1", &img);
    let reference = format!("{}/private/app:v1", reg.host());
    let t = Test::new();
    let out = pull_json(&t, &reference, &[]);
    out.assert_code(4);
    assert!(out.stderr.contains("docker login"), "the error says what to do: {}", out.stderr);
    let t =
        Test::new().docker_config(json!({"auths": {reg.host(): {"auth": b64("ci:s3cret-pw")}}}));
    pull_json(&t, &reference, &[]).assert_success();
    let t = Test::new().docker_config(json!({"auths": {reg.host(): {"auth": b64("ci:wrong-pw")}}}));
    let out = pull_json(&t, &reference, &[]);
    out.assert_code(4);
    assert!(!out.stderr.contains("wrong-pw") && !out.stdout.contains("wrong-pw"));
    assert!(!out.stderr.contains(&b64("ci:wrong-pw")));
}

#[test]
fn bearer_tokens_from_podman_auth_file_are_cached() {
    let reg = Registry::start();
    reg.set_auth(Auth::Bearer { user_pass: Some(("bot".into(), "tok-pw".into())) });
    let img = Image::oci(41, &[300, 400, 500]);
    reg.push_image("private/app", "v1", &img);
    let reference = format!("{}/private/app:v1", reg.host());
    let t = Test::new().auth_file(json!({"auths": {reg.host(): {"auth": b64("bot:tok-pw")}}}));
    pull_json(&t, &reference, &[]).assert_success();
    assert_eq!(reg.count("GET", "/token"), 1, "one token for the whole pull");
    assert_layout_valid(&t.layout());
}

#[test]
fn anonymous_bearer_tokens_work() {
    let reg = Registry::start();
    reg.set_auth(Auth::Bearer { user_pass: None });
    let img = Image::oci(42, &[300]);
    reg.push_image("library/public", "latest", &img);
    let t = Test::new();
    pull_json(&t, &format!("{}/library/public", reg.host()), &[]).assert_success();
}

#[test]
fn human_output_names_reference_digest_platform_and_directory() {
    let reg = Registry::start();
    let index = multi_arch();
    reg.push_index("team/multi", "v1", &index);
    let t = Test::new();
    let reference = format!("{}/team/multi:v1", reg.host());
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str(), "--platform", "linux/arm64"]);
    out.assert_success();
    let line = out.stdout.trim();
    assert!(line.starts_with(&reference), "{line}");
    assert!(
        line.contains(&index.images[1].manifest.digest) && line.contains("linux/arm64"),
        "{line}"
    );
    assert!(line.ends_with(&t.layout_str()), "{line}");
    assert!(out.stderr.contains("served by"), "{}", out.stderr);
    assert!(!out.stderr.contains('\u{1b}'), "no escape codes (progress bars) in a pipe");
    // `ls` shows it with its source.
    let ls = t.run_with(["ls", &t.layout_str()]);
    ls.assert_success();
    assert!(ls.stdout.contains(&reference) && ls.stdout.contains(&reg.url()), "{}", ls.stdout);
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

use serde_json::json;

#[test]
fn a_reference_found_nowhere_exits_3_and_creates_nothing() {
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(60, &[10]));
    let t = Test::new();
    let reference = format!("{}/team/app:nosuchtag", reg.host());
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str()]);
    out.assert_code(3);
    assert!(out.stderr.contains("team/app:nosuchtag not found"), "{}", out.stderr);
    assert!(
        out.stderr.contains("MANIFEST_UNKNOWN"),
        "the registry's own code is shown: {}",
        out.stderr
    );
    assert!(!t.layout().exists());
}

#[test]
fn format_oci_converts_a_docker_list_and_its_images() {
    let reg = Registry::start();
    let amd = Image::builder(70).docker().layers(&[300]).build();
    let arm = Image::builder(71).docker().platform("linux", "arm64", None).layers(&[400]).build();
    let list = Index::new(vec![amd.clone(), arm.clone()], false);
    assert_eq!(list.manifest.media_type, crate::support::image::DOCKER_LIST);
    reg.push_index("legacy/multi", "v1", &list);
    let t = Test::new();
    let reference = format!("{}/legacy/multi:v1", reg.host());
    let out = pull_json(&t, &reference, &["--all-platforms", "--format", "oci"]);
    out.assert_success();
    let j = out.json();
    assert_eq!(
        j["digest"], list.manifest.digest,
        "the reference still resolves to what was served"
    );
    assert_eq!(j["image"]["convertedFrom"], list.manifest.digest);
    assert_layout_valid(&t.layout());
    let entry = &layout_index(&t.layout())["manifests"][0];
    assert_eq!(entry["mediaType"], crate::support::image::OCI_INDEX);
    assert_eq!(entry["annotations"]["io.ocimirror.converted-from"], list.manifest.digest);
    // The stored index names OCI manifests that are present; layers are the same blobs.
    let hex = entry["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.layout().join("blobs/sha256").join(hex)).unwrap())
            .unwrap();
    for child in index["manifests"].as_array().unwrap() {
        assert_eq!(child["mediaType"], crate::support::image::OCI_MANIFEST);
        assert!(layout_has_blob(&t.layout(), child["digest"].as_str().unwrap()));
    }
    for img in [&amd, &arm] {
        for b in img.blobs() {
            assert!(layout_has_blob(&t.layout(), &b.digest));
        }
    }
    // Pulling again converts to the same digests: nothing changes.
    let again = pull_json(&t, &reference, &["--all-platforms", "--format", "oci"]);
    again.assert_success();
    assert_eq!(again.json()["image"]["digest"], j["image"]["digest"]);
}

#[test]
fn a_compatible_platform_is_chosen_when_the_exact_one_is_missing() {
    // Like containerd: arm/v7 runs arm/v6; an entry without a platform
    // comes last; an index inside the index is searched too.
    let reg = Registry::start();
    let v6 = Image::builder(60).platform("linux", "arm", Some("v6")).layers(&[300]).build();
    let index = Index::new(vec![v6.clone()], false);
    reg.push_index("team/arm", "v1", &index);
    let t = Test::new();
    let out =
        pull_json(&t, &format!("{}/team/arm:v1", reg.host()), &["--platform", "linux/arm/v7"]);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["image"]["digest"], v6.manifest.digest, "{j}");
    assert_eq!(j["image"]["platform"], "linux/arm/v6", "the entry's platform, not the one asked");
    assert_layout_valid(&t.layout());

    let bare = Image::oci(61, &[200]);
    let mut entry = bare.manifest.descriptor();
    entry.as_object_mut().unwrap().remove("platform");
    let inner = Blob::new(
        OCI_INDEX,
        serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}),
        )
        .unwrap(),
    );
    let outer = Blob::new(
        OCI_INDEX,
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [inner.descriptor()],
        }))
        .unwrap(),
    );
    reg.push_image("team/nested", "image", &bare);
    reg.push_manifest("team/nested", "inner", &inner);
    reg.push_manifest("team/nested", "v1", &outer);
    let t = Test::new();
    let out =
        pull_json(&t, &format!("{}/team/nested:v1", reg.host()), &["--platform", "linux/amd64"]);
    out.assert_success();
    assert_eq!(out.json()["image"]["digest"], bare.manifest.digest);
    assert_layout_valid(&t.layout());
}

#[test]
fn a_single_images_platform_comes_from_its_config() {
    let reg = Registry::start();
    let img = Image::builder(62).platform("linux", "arm", Some("v7")).layers(&[100]).build();
    reg.push_image("team/one", "v1", &img);
    let t = Test::new();
    let out = pull_json(&t, &format!("{}/team/one:v1", reg.host()), &[]);
    out.assert_success();
    assert_eq!(out.json()["image"]["platform"], "linux/arm/v7");
    let entry = &layout_index(&t.layout())["manifests"][0];
    assert_eq!(entry["platform"], json!({"os": "linux", "architecture": "arm", "variant": "v7"}));
    let ls = t.run_with(["ls", &t.layout_str()]);
    ls.assert_success();
    assert!(ls.stdout.contains("linux/arm/v7"), "{}", ls.stdout);
}

/// `--platform` holds for a single-platform image as for an index: another
/// platform is "not found" (exit 3, naming the image's), before any layer.
#[test]
fn platform_asked_for_must_be_the_single_images_own() {
    let reg = Registry::start();
    let img = Image::oci(110, &[1000]);
    reg.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", reg.host());
    let t = Test::new();
    let out = t.run_with([
        "pull",
        &reference,
        "-o",
        &t.layout_str(),
        "--platform",
        "windows/amd64",
        "--json",
    ]);
    out.assert_code(3);
    let want = "no image for platform windows/amd64: it is a single-platform image for linux/amd64";
    assert!(out.stderr.contains(want), "{}", out.dump());
    assert_eq!(out.json()["error"]["kind"], "not-found");
    let layer = format!("/v2/team/app/blobs/{}", img.layers[0].digest);
    assert_eq!(reg.count("GET", &layer), 0, "no layer fetched");
    assert!(!t.layout().join("index.json").exists());
    // Its own platform: pulled, the config (fetched first) reported as served.
    let t = Test::new();
    let out = t.run_with([
        "pull",
        &reference,
        "-o",
        &t.layout_str(),
        "--platform",
        "linux/amd64",
        "--json",
    ]);
    out.assert_success();
    let j = out.json();
    let config =
        j["blobs"].as_array().unwrap().iter().find(|b| b["digest"] == img.config.digest.as_str());
    assert_eq!(config.unwrap()["endpoint"], reg.url(), "{j:#}");
    assert_eq!(config.unwrap()["cached"], false, "{j:#}");
}

/// Without `--platform`, an image of another platform than this machine's
/// is pulled with a warning, as docker and podman do.
#[test]
fn an_image_of_another_platform_is_pulled_with_a_warning_by_default() {
    let reg = Registry::start();
    let img = crate::support::image::ImageBuilder::new(111)
        .platform("plan9", "riscv64", None)
        .layers(&[100])
        .build();
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    let out =
        t.run_with(["pull", &format!("{}/team/app:v1", reg.host()), "-o", &t.layout_str(), "-q"]);
    out.assert_success();
    assert!(
        out.stderr.starts_with("warning: ")
            && out.stderr.contains("the image is for plan9/riscv64, not this machine's"),
        "{}",
        out.dump()
    );
}
