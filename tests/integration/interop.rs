//! Interop with real peers: images are pushed with skopeo into the CNCF
//! registry (docker-registry), pulled with ocimirror, and the layouts it
//! writes are read back with skopeo and umoci.
//!
//! The peers are Debian packages that .ci/run installs. With
//! `OCIMIRROR_REQUIRE_INTEROP=1` (as .ci/run sets it) a missing peer fails
//! every test here; without it (a developer machine) each test says
//! `skipped interop: <binary> not found` on stderr and passes.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::distribution::{Distribution, find_peers, http_status, skopeo, umoci};
use crate::support::image::{self, Blob, DOCKER_MANIFEST, Image, Index, OCI_INDEX, OCI_MANIFEST};
use crate::support::tls::Pki;
use crate::support::{Test, assert_layout_valid, layout_index};

/// Exit code of the CLI for "access denied".
const EXIT_ACCESS_DENIED: i32 = 4;

/// True when every peer is installed. Otherwise fails the test when interop
/// is required, or prints why it is skipped and returns false.
fn peers_present() -> bool {
    let peers = find_peers();
    if peers.all_present() {
        return true;
    }
    if std::env::var("OCIMIRROR_REQUIRE_INTEROP").as_deref() == Ok("1") {
        panic!(
            "OCIMIRROR_REQUIRE_INTEROP=1 but interop peers are missing: {} (install the Debian \
             packages docker-registry, skopeo and umoci)",
            peers.missing.join(", ")
        );
    }
    for bin in &peers.missing {
        eprintln!("skipped interop: {bin} not found");
    }
    false
}

macro_rules! require_peers {
    () => {
        if !peers_present() {
            return;
        }
    };
}

/// A `Test` whose `$DOCKER_CONFIG/config.json` logs in to `host`.
fn logged_in(host: &str, user: &str, password: &str) -> Test {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Test::new().docker_config(serde_json::json!({"auths": {host: {"auth": auth}}}))
}

/// An output directory under the test's temp dir, as a string for `-o`.
fn out_dir(t: &Test, name: &str) -> (PathBuf, String) {
    let path = t.path().join(name);
    let s = path.to_str().unwrap().to_string();
    (path, s)
}

/// Runs a peer and returns its stdout, failing the test with its stderr.
fn peer_ok(output: std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({})\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `skopeo inspect [--raw] oci:DIR:NAME`.
fn skopeo_inspect(dir: &Path, name: &str, extra: &[&str]) -> String {
    let target = format!("oci:{}:{name}", dir.display());
    let mut args: Vec<&str> = vec!["inspect"];
    args.extend_from_slice(extra);
    args.push(&target);
    peer_ok(skopeo(&args), &format!("skopeo {}", args.join(" ")))
}

/// Copies the named image out of the layout with skopeo, which reads and
/// verifies every blob on the way (`--all` for an index).
fn skopeo_copy_out(dir: &Path, name: &str, all: bool) {
    let dest = tempfile::Builder::new().prefix("ocimirror-skopeo-copy-").tempdir().unwrap();
    let src = format!("oci:{}:{name}", dir.display());
    let dst = format!("oci:{}:copied", dest.path().display());
    let mut args = vec!["--insecure-policy", "copy", "--quiet", "--preserve-digests"];
    if all {
        args.push("--all");
    }
    args.push(&src);
    args.push(&dst);
    peer_ok(skopeo(&args), &format!("skopeo {}", args.join(" ")));
}

/// `umoci ls --layout DIR`, one name a line.
fn umoci_ls(dir: &Path) -> Vec<String> {
    let layout = dir.display().to_string();
    let out = peer_ok(umoci(&["ls", "--layout", &layout]), "umoci ls");
    out.lines().map(str::to_string).collect()
}

/// `umoci stat --json --image DIR:NAME` succeeds on a single image. umoci
/// 0.4.7 splits `DIR:NAME` at the first `:`, so fully qualified names work;
/// it refuses Docker media types and calls a multi-platform index
/// "ambiguous", so only OCI single-image entries are checked this way.
fn umoci_stat(dir: &Path, name: &str) {
    let image = format!("{}:{name}", dir.display());
    let out = peer_ok(umoci(&["stat", "--json", "--image", &image]), "umoci stat");
    let stat: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("umoci stat printed no JSON ({e}): {out}"));
    assert!(stat.get("history").is_some(), "umoci stat: {stat:#}");
}

/// The one index.json entry named `name`, checking both name annotations.
fn layout_entry(dir: &Path, name: &str) -> Value {
    let index = layout_index(dir);
    let entries: Vec<&Value> = index["manifests"]
        .as_array()
        .expect("index.json has manifests")
        .iter()
        .filter(|d| d["annotations"]["org.opencontainers.image.ref.name"] == name)
        .collect();
    assert_eq!(entries.len(), 1, "exactly one entry named {name} in {index:#}");
    assert_eq!(
        entries[0]["annotations"]["io.containerd.image.name"], name,
        "io.containerd.image.name of {index:#}"
    );
    entries[0].clone()
}

fn blob_path(dir: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap();
    dir.join("blobs").join(alg).join(hex)
}

/// The blob is in the layout with exactly the expected bytes.
fn assert_blob(dir: &Path, blob: &Blob) {
    let path = blob_path(dir, &blob.digest);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes == blob.bytes, "{} does not hold the bytes of {}", path.display(), blob.digest);
}

fn assert_no_blob(dir: &Path, blob: &Blob) {
    let path = blob_path(dir, &blob.digest);
    assert!(!path.exists(), "{} should not be in the layout", path.display());
}

/// The image (manifest, config, layers) is complete in the layout.
fn assert_image(dir: &Path, image: &Image) {
    assert_blob(dir, &image.manifest);
    for blob in image.blobs() {
        assert_blob(dir, blob);
    }
}

/// The checks skopeo's `inspect` gives for a single image in the layout.
/// `top` is what the name points at: the image's own manifest, or an index
/// from which `extra` (`--override-arch=...`) picks the image. skopeo's
/// `Digest` is always the top manifest's, `--raw` gives the top's bytes.
fn assert_skopeo_sees_image(dir: &Path, name: &str, top: &Blob, image: &Image, extra: &[&str]) {
    let raw = skopeo_inspect(dir, name, &["--raw"]);
    assert!(raw.as_bytes() == top.bytes, "skopeo inspect --raw of {name}: {raw}");
    let info: Value = serde_json::from_str(&skopeo_inspect(dir, name, extra)).unwrap();
    assert_eq!(info["Digest"], top.digest.as_str(), "skopeo inspect: {info:#}");
    let layers: Vec<&str> = image.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(info["Layers"], serde_json::json!(layers), "skopeo inspect: {info:#}");
    assert_eq!(info["Architecture"], image.arch.as_str(), "skopeo inspect: {info:#}");
    assert_eq!(info["Os"], image.os.as_str(), "skopeo inspect: {info:#}");
}

/// The harness alone: what skopeo pushes, the registry serves byte for byte,
/// both media types and an index with every child.
#[test]
fn harness_pushes_exact_bytes_to_distribution() {
    require_peers!();
    let registry = Distribution::start();
    let oci = Image::oci(11, &[1500, 300]);
    registry.push("harness/oci", "v1", &oci.manifest, &[&oci]);
    let docker = Image::builder(12).docker().layers(&[700]).build();
    registry.push("harness/docker", "v1", &docker.manifest, &[&docker]);
    let index = multi_arch_index(13);
    registry.push("harness/multi", "v1", &index.manifest, &index.all_images());
    for image in index.all_images() {
        let served = registry.raw_manifest("harness/multi", &image.manifest.digest);
        assert!(served == image.manifest.bytes, "child {} of the index", image.manifest.digest);
        for blob in image.blobs() {
            let path = format!("/v2/harness/multi/blobs/{}", blob.digest);
            assert_eq!(registry.status("HEAD", &path), 200, "HEAD {path}");
        }
    }
}

/// The harness alone: skopeo and umoci read what `write_layout` writes
/// under a fully qualified ref name, as ocimirror names its entries.
#[test]
fn harness_peers_read_a_written_layout() {
    require_peers!();
    let dir = tempfile::tempdir().unwrap();
    let name = "127.0.0.1:5000/team/app:v1";
    let image = Image::oci(21, &[512]);
    image::write_layout(dir.path(), name, &image.manifest, &[&image]);
    assert_skopeo_sees_image(dir.path(), name, &image.manifest, &image, &[]);
    skopeo_copy_out(dir.path(), name, false);
    assert_eq!(umoci_ls(dir.path()), vec![name.to_string()]);
    umoci_stat(dir.path(), name);

    let multi = tempfile::tempdir().unwrap();
    let index = multi_arch_index(22);
    image::write_layout(multi.path(), name, &index.manifest, &index.all_images());
    let arm64 = &index.images[1];
    assert_skopeo_sees_image(
        multi.path(),
        name,
        &index.manifest,
        arm64,
        &["--override-arch=arm64"],
    );
    skopeo_copy_out(multi.path(), name, true);
    assert_eq!(umoci_ls(multi.path()), vec![name.to_string()]);
}

/// The harness alone: an htpasswd registry wants the credentials, and a
/// pull-through cache serves the upstream's image (and keeps it).
#[test]
fn harness_auth_and_proxy_modes() {
    require_peers!();
    let locked = Distribution::builder().htpasswd().start();
    assert_eq!(locked.status("GET", "/v2/"), 200, "with credentials");
    assert_eq!(
        http_status(&locked.host(), "GET", "/v2/", None).unwrap(),
        401,
        "without credentials"
    );
    let image = Image::oci(31, &[900]);
    locked.push("team/app", "v1", &image.manifest, &[&image]);

    let mut authority = Distribution::start();
    authority.push("team/app", "v1", &image.manifest, &[&image]);
    let proxy = Distribution::builder().proxy(&authority.url()).start();
    assert!(proxy.raw_manifest("team/app", "v1") == image.manifest.bytes);
    // distribution ignores the `ns` query parameter (it mirrors one upstream).
    let with_ns = format!("/v2/team/app/manifests/v1?ns={}", authority.host().replace(':', "%3A"));
    assert_eq!(proxy.status("HEAD", &with_ns), 200, "HEAD {with_ns} through the proxy");
    assert_eq!(authority.status("HEAD", &with_ns), 200, "HEAD {with_ns} on the authority");
    for blob in image.blobs() {
        // GET, not HEAD: a pull-through cache stores a blob once it served it.
        let path = format!("/v2/team/app/blobs/{}", blob.digest);
        assert_eq!(proxy.status("GET", &path), 200, "GET {path} through the proxy");
    }
    proxy.wait_until_cached("team/app", &image.blobs());
    authority.stop();
    let cached = proxy.raw_manifest("team/app", &image.manifest.digest);
    assert!(cached == image.manifest.bytes, "the proxy serves its cached copy by digest");
    let by_digest = format!("/v2/team/app/manifests/{}", image.manifest.digest);
    assert_eq!(proxy.status("HEAD", &by_digest), 200, "HEAD {by_digest} from the cache");
    for blob in image.blobs() {
        let path = format!("/v2/team/app/blobs/{}", blob.digest);
        assert_eq!(proxy.status("GET", &path), 200, "GET {path} from the cache");
    }
}

/// amd64 + arm64/v8 + a BuildKit attestation manifest.
fn multi_arch_index(seed: u64) -> Index {
    let amd64 = Image::builder(seed).layers(&[1024, 2048]).build();
    let arm64 =
        Image::builder(seed + 1).platform("linux", "arm64", Some("v8")).layers(&[1536]).build();
    Index::new(vec![amd64, arm64], true)
}

#[test]
fn pull_single_arch_oci_image_from_distribution() {
    require_peers!();
    let registry = Distribution::start();
    let image = Image::oci(101, &[4096, 1024, 10]);
    registry.push("team/app", "v1", &image.manifest, &[&image]);
    let reference = format!("{}/team/app:v1", registry.host());
    let t = Test::new();
    let (out, out_arg) = out_dir(&t, "layout");
    t.run_with(["pull", &reference, "-o", &out_arg]).assert_success();

    assert_layout_valid(&out);
    let entry = layout_entry(&out, &reference);
    assert_eq!(entry["digest"], image.manifest.digest.as_str());
    assert_eq!(entry["mediaType"], OCI_MANIFEST);
    assert_eq!(entry["size"], image.manifest.bytes.len());
    assert_image(&out, &image);
    assert_skopeo_sees_image(&out, &reference, &image.manifest, &image, &[]);
    skopeo_copy_out(&out, &reference, false);
    assert_eq!(umoci_ls(&out), vec![reference.clone()]);
    umoci_stat(&out, &reference);
}

/// The HTTP versions of ocimirror's GETs whose path ends with `path_end`,
/// from a TLS registry's access log (`"GET <path> HTTP/2.0" ... "<agent>"`).
fn our_versions(registry: &Distribution, path_end: &str) -> Vec<String> {
    registry
        .log()
        .lines()
        .filter(|l| l.contains("\"ocimirror/"))
        .filter_map(|l| l.split_once("\"GET ")?.1.split_once('"').map(|(r, _)| r.to_string()))
        .filter_map(|r| {
            let (path, version) = r.rsplit_once(' ')?;
            path.ends_with(path_end).then(|| version.to_string())
        })
        .collect()
}

#[test]
fn pull_from_distribution_over_tls_takes_http2_for_small_requests_only() {
    require_peers!();
    let t = Test::new();
    let pki = Pki::generate(&t.path().join("pki"));
    let registry = Distribution::builder().tls(&pki.server_cert, &pki.server_key).start();
    let image = Image::oci(131, &[4096, 1024, 600 << 10]);
    registry.push("team/app", "v1", &image.manifest, &[&image]);
    let host = registry.host();
    let t = t.config(&format!("[hosts.\"{host}\"]\nplain_http = false\nca_file = {:?}\n", pki.ca));
    let reference = format!("{host}/team/app:v1");
    let (out, out_arg) = out_dir(&t, "layout");
    t.run_with(["pull", &reference, "-o", &out_arg]).assert_success();
    assert_layout_valid(&out);
    assert_image(&out, &image);
    // Go's server offers h2: the manifest and the small blobs take it; the
    // blob over 256 KiB keeps HTTP/1.1, on a connection of its own.
    let h2 = vec!["HTTP/2.0".to_string()];
    let log = registry.log();
    assert_eq!(our_versions(&registry, "/manifests/v1"), h2, "{log}");
    for small in [&image.config, &image.layers[0], &image.layers[1]] {
        assert_eq!(our_versions(&registry, &small.digest), h2, "{}: {log}", small.digest);
    }
    assert_eq!(our_versions(&registry, &image.layers[2].digest), ["HTTP/1.1"], "{log}");
}

#[test]
fn pull_docker_media_type_image_from_distribution() {
    require_peers!();
    let registry = Distribution::start();
    let image = Image::builder(102).docker().layers(&[2048, 333]).build();
    registry.push("team/legacy", "v2", &image.manifest, &[&image]);
    let reference = format!("{}/team/legacy:v2", registry.host());
    let t = Test::new();
    let (out, out_arg) = out_dir(&t, "layout");
    t.run_with(["pull", &reference, "-o", &out_arg]).assert_success();

    assert_layout_valid(&out);
    let entry = layout_entry(&out, &reference);
    assert_eq!(entry["digest"], image.manifest.digest.as_str());
    assert_eq!(entry["mediaType"], DOCKER_MANIFEST);
    assert_image(&out, &image);
    // Not read back with skopeo: its `oci:` transport (1.9, and still in
    // skopeo#1975) skips index.json entries whose media type is not OCI's
    // ("no descriptor found for reference"), and the manifest must keep its
    // Docker bytes and digest. umoci lists the name; `umoci stat` refuses
    // the media type.
    assert_eq!(umoci_ls(&out), vec![reference.clone()]);

    // `--format oci` rewrites the manifest as OCI (layers untouched) for
    // exactly those readers: skopeo and umoci then read the image.
    let (oci_out, oci_arg) = out_dir(&t, "converted");
    let j = t.run_with(["pull", &reference, "-o", &oci_arg, "--format", "oci", "--json"]);
    j.assert_success();
    let j = j.json();
    assert_eq!(j["image"]["convertedFrom"], image.manifest.digest.as_str());
    assert_layout_valid(&oci_out);
    let entry = layout_entry(&oci_out, &reference);
    assert_eq!(entry["mediaType"], OCI_MANIFEST);
    assert_eq!(entry["digest"], j["image"]["digest"]);
    let info: Value = serde_json::from_str(&skopeo_inspect(&oci_out, &reference, &[])).unwrap();
    let layers: Vec<&str> = image.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(info["Layers"], serde_json::json!(layers), "same layer blobs: {info:#}");
    skopeo_copy_out(&oci_out, &reference, false);
    umoci_stat(&oci_out, &reference);
}

#[test]
fn pull_one_platform_of_a_multi_arch_index() {
    require_peers!();
    let registry = Distribution::start();
    let index = multi_arch_index(103);
    registry.push("team/multi", "v1", &index.manifest, &index.all_images());
    let (amd64, arm64) = (&index.images[0], &index.images[1]);
    let reference = format!("{}/team/multi:v1", registry.host());
    let t = Test::new();
    let (out, out_arg) = out_dir(&t, "arm64");
    t.run_with(["pull", &reference, "-o", &out_arg, "--platform", "linux/arm64"]).assert_success();

    assert_layout_valid(&out);
    let entry = layout_entry(&out, &reference);
    assert_eq!(entry["digest"], arm64.manifest.digest.as_str(), "the arm64/v8 manifest");
    assert_eq!(entry["mediaType"], OCI_MANIFEST);
    assert_image(&out, arm64);
    for blob in amd64.layers.iter().chain([&amd64.manifest]) {
        assert_no_blob(&out, blob);
    }
    assert_no_blob(&out, &index.attestation.as_ref().unwrap().manifest);
    assert_skopeo_sees_image(&out, &reference, &arm64.manifest, arm64, &[]);
    skopeo_copy_out(&out, &reference, false);
    assert_eq!(umoci_ls(&out), vec![reference.clone()]);
    umoci_stat(&out, &reference);
}

#[test]
fn pull_all_platforms_keeps_the_whole_index() {
    require_peers!();
    let registry = Distribution::start();
    let index = multi_arch_index(104);
    registry.push("team/multi", "v1", &index.manifest, &index.all_images());
    let reference = format!("{}/team/multi:v1", registry.host());
    let t = Test::new();
    let (out, out_arg) = out_dir(&t, "all");
    t.run_with(["pull", &reference, "-o", &out_arg, "--all-platforms"]).assert_success();

    assert_layout_valid(&out);
    let entry = layout_entry(&out, &reference);
    assert_eq!(entry["digest"], index.manifest.digest.as_str(), "the index itself");
    assert_eq!(entry["mediaType"], OCI_INDEX);
    assert_blob(&out, &index.manifest);
    // Every child, the attestation manifest too: skopeo copy --all needs them.
    for image in index.all_images() {
        assert_image(&out, image);
    }
    let (amd64, arm64) = (&index.images[0], &index.images[1]);
    let top = &index.manifest;
    assert_skopeo_sees_image(&out, &reference, top, amd64, &["--override-arch=amd64"]);
    let arm64_v8 = ["--override-arch=arm64", "--override-variant=v8"];
    assert_skopeo_sees_image(&out, &reference, top, arm64, &arm64_v8);
    skopeo_copy_out(&out, &reference, true);
    assert_eq!(umoci_ls(&out), vec![reference.clone()]);
}

#[test]
fn pull_with_htpasswd_credentials_from_docker_config() {
    require_peers!();
    let registry = Distribution::builder().htpasswd().start();
    let image = Image::oci(105, &[2048]);
    registry.push("team/private", "v1", &image.manifest, &[&image]);
    let reference = format!("{}/team/private:v1", registry.host());

    // No credentials at all.
    let t = Test::new();
    let (denied, denied_arg) = out_dir(&t, "denied");
    t.run_with(["pull", &reference, "-o", &denied_arg]).assert_code(EXIT_ACCESS_DENIED);
    assert!(
        !denied.join("index.json").exists()
            || layout_index(&denied)["manifests"].as_array().is_none_or(|m| m.is_empty()),
        "a denied pull names no image"
    );

    // A wrong password.
    let (user, password) = registry.credentials().unwrap();
    let t = logged_in(&registry.host(), user, "wrong-password");
    let (_, out_arg) = out_dir(&t, "wrong");
    t.run_with(["pull", &reference, "-o", &out_arg]).assert_code(EXIT_ACCESS_DENIED);

    // The right one, from $DOCKER_CONFIG/config.json.
    let t = logged_in(&registry.host(), user, password);
    let (out, out_arg) = out_dir(&t, "granted");
    t.run_with(["pull", &reference, "-o", &out_arg]).assert_success();
    assert_layout_valid(&out);
    let entry = layout_entry(&out, &reference);
    assert_eq!(entry["digest"], image.manifest.digest.as_str());
    assert_image(&out, &image);
    assert_skopeo_sees_image(&out, &reference, &image.manifest, &image, &[]);
}

fn trim_url(v: &Value) -> String {
    v.as_str().unwrap_or_default().trim_end_matches('/').to_string()
}

/// The mirror served the manifest and every blob, with `ns` sent, and the
/// tag was confirmed against the authority.
fn assert_served_by_proxy(report: &Value, proxy: &Distribution, image: &Image, confirmed: bool) {
    assert_eq!(report["digest"], image.manifest.digest.as_str(), "{report:#}");
    let served = &report["servedBy"];
    assert_eq!(trim_url(&served["endpoint"]), proxy.url(), "servedBy.endpoint: {report:#}");
    assert_eq!(served["nsSent"], true, "servedBy.nsSent: {report:#}");
    if confirmed {
        assert_eq!(served["confirmed"], true, "servedBy.confirmed: {report:#}");
    }
    let blobs = report["blobs"].as_array().unwrap_or_else(|| panic!("blobs: {report:#}"));
    for blob in image.blobs() {
        let entry = blobs
            .iter()
            .find(|b| b["digest"] == blob.digest.as_str())
            .unwrap_or_else(|| panic!("blob {} missing from the report: {report:#}", blob.digest));
        assert_eq!(entry["size"], blob.bytes.len(), "{report:#}");
        assert_eq!(trim_url(&entry["endpoint"]), proxy.url(), "blob endpoint: {report:#}");
    }
}

#[test]
fn pull_through_a_distribution_pull_through_cache() {
    require_peers!();
    let mut authority = Distribution::start();
    let image = Image::oci(106, &[8192, 100]);
    authority.push("team/app", "v1", &image.manifest, &[&image]);
    let proxy = Distribution::builder().proxy(&authority.url()).start();
    let reference = format!("{}/team/app:v1", authority.host());
    let mirror = proxy.url();
    let t = Test::new();

    let (first, first_arg) = out_dir(&t, "first");
    let run = t.run_with(["pull", &reference, "-o", &first_arg, "--mirror", &mirror, "--json"]);
    run.assert_success();
    let report = run.json();
    assert_served_by_proxy(&report, &proxy, &image, true);
    assert_eq!(report["reference"], reference.as_str(), "{report:#}");
    assert_layout_valid(&first);
    assert_eq!(layout_entry(&first, &reference)["digest"], image.manifest.digest.as_str());
    assert_image(&first, &image);
    assert_skopeo_sees_image(&first, &reference, &image.manifest, &image, &[]);

    // A fresh directory and no blob cache: nothing local to reuse, the
    // proxy serves it again.
    let (second, second_arg) = out_dir(&t, "second");
    let run = t.run_with([
        "pull",
        &reference,
        "-o",
        &second_arg,
        "--mirror",
        &mirror,
        "--no-cache",
        "--json",
    ]);
    run.assert_success();
    assert_served_by_proxy(&run.json(), &proxy, &image, true);
    assert_image(&second, &image);

    // With the authority gone, the proxy's cache alone serves it by digest.
    proxy.wait_until_cached("team/app", &image.blobs());
    authority.stop();
    let by_digest = format!("{}/team/app@{}", authority.host(), image.manifest.digest);
    let (third, third_arg) = out_dir(&t, "third");
    let run = t.run_with([
        "pull",
        &by_digest,
        "-o",
        &third_arg,
        "--mirror",
        &mirror,
        "--no-fallback",
        "--no-cache",
        "--json",
    ]);
    run.assert_success();
    assert_served_by_proxy(&run.json(), &proxy, &image, false);
    assert_layout_valid(&third);
    assert_image(&third, &image);
}
