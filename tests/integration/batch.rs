//! Many images in one run, lock files, and pulls straight into an archive.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::image::{Blob, Image, OCI_CONFIG, OCI_MANIFEST};
use crate::support::registry::{Fault, HangServer, Registry};
use crate::support::{Test, assert_layout_valid, layout_index};

const REPO: &str = "team/app";

/// `img` with its first layer replaced by `base`'s: two images that share
/// a base layer, as a batch of images built on one base does.
fn on_base(base: &Image, img: &Image) -> Image {
    let mut layers = img.layers.clone();
    layers[0] = base.layers[0].clone();
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    let config = json!({"os": "linux", "architecture": "amd64",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {"Env": [&img.config.digest]}});
    let config = Blob::new(OCI_CONFIG, serde_json::to_vec(&config).unwrap());
    let layer_descriptors: Vec<Value> = layers.iter().map(Blob::descriptor).collect();
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": config.descriptor(), "layers": layer_descriptors});
    let manifest = Blob::new(OCI_MANIFEST, serde_json::to_vec(&manifest).unwrap());
    Image { config, layers, manifest, ..img.clone() }
}

fn names(layout: &std::path::Path) -> Vec<String> {
    let index = layout_index(layout);
    let entries = index["manifests"].as_array().unwrap();
    entries
        .iter()
        .map(|e| {
            e["annotations"]["org.opencontainers.image.ref.name"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_batch_pays_a_dead_mirror_once_and_fetches_a_shared_base_once() {
    let base = Image::oci(70, &[200_000, 1000]);
    let images: Vec<Image> =
        (0..3).map(|i| on_base(&base, &Image::oci(71 + i, &[300, 400]))).collect();
    let registry = Registry::start();
    for (i, img) in images.iter().enumerate() {
        registry.push_image(REPO, &format!("v{i}"), img);
    }
    let hung = HangServer::start();
    let t = Test::new().timeout(Duration::from_secs(30));
    let layout = t.layout_str();
    let refs: Vec<String> = (0..3).map(|i| format!("{}/{REPO}:v{i}", registry.host())).collect();
    let hung_url = hung.url();
    let mut args =
        vec!["pull", "-o", &layout, "--json", "--mirror", &hung_url, "--response-timeout", "1"];
    args.extend(refs.iter().map(String::as_str));
    let out = t.run_with(&args);
    out.assert_success();
    // One response timeout for the run, not one per image.
    assert!(out.elapsed < Duration::from_secs(3), "{:?}", out.elapsed);
    // The images resolve at once: each asks it in parallel (for the tag, and
    // for the digest the registry named meanwhile), and no blob does.
    assert!(hung.connections() <= 6, "{}", hung.connections());
    let j = out.json();
    assert_eq!((&j["pulled"], &j["failed"]), (&json!(3), &json!(0)), "{j}");
    assert_eq!(
        registry.count("GET", &format!("/v2/{REPO}/blobs/{}", base.layers[0].digest)),
        1,
        "the shared base once"
    );
    for (i, entry) in j["images"].as_array().unwrap().iter().enumerate() {
        assert_eq!(entry["reference"], refs[i], "in the order given");
        assert_eq!(entry["digest"], images[i].manifest.digest);
    }
    assert_layout_valid(&t.layout());
    let mut got = names(&t.layout());
    got.sort();
    assert_eq!(got, refs);
}

#[test]
fn a_failed_image_does_not_stop_the_others_and_exits_5() {
    let img = Image::oci(75, &[500]);
    let registry = Registry::start();
    registry.push_image(REPO, "v1", &img);
    let t = Test::new();
    let layout = t.layout_str();
    let good = format!("{}/{REPO}:v1", registry.host());
    let missing = format!("{}/{REPO}:nosuch", registry.host());
    let out = t.run_with(["pull", &missing, &good, "-o", &layout, "--json"]);
    out.assert_code(5);
    let j = out.json();
    let images = j["images"].as_array().unwrap();
    assert_eq!(images[0]["reference"], missing);
    assert_eq!(
        (&images[0]["error"]["kind"], &images[0]["error"]["exitCode"]),
        (&json!("not-found"), &json!(3))
    );
    assert!(!images[0]["error"]["answers"].as_array().unwrap().is_empty(), "{j}");
    assert_eq!(images[1]["digest"], img.manifest.digest);
    assert_eq!(names(&t.layout()), [good]);
    // Every image failing: the first failure's code, and no layout.
    let t = Test::new();
    let out =
        t.run_with(["pull", &missing, &missing.replace("nosuch", "gone"), "-o", &t.layout_str()]);
    out.assert_code(3);
    assert!(out.stderr.contains("pulled 0 of 2"), "{}", out.stderr);
    assert!(!t.layout().exists());
}

#[test]
fn references_come_from_a_file_or_stdin() {
    let (a, b) = (Image::oci(76, &[100]), Image::oci(77, &[100]));
    let registry = Registry::start();
    registry.push_image(REPO, "a", &a).push_image(REPO, "b", &b);
    let list = format!("# base images\n{h}/{REPO}:a\n\n   {h}/{REPO}:b  \n", h = registry.host());
    let t = Test::new().file("images.txt", &list);
    let layout = t.layout_str();
    let file = t.path().join("images.txt");
    let out = t.run_with(["pull", "-f", file.to_str().unwrap(), "-o", &layout, "-q"]);
    out.assert_success();
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    let t = Test::new().stdin(list.as_bytes().to_vec());
    let out = t.run_with(["pull", "-f", "-", "-o", &t.layout_str(), "--json"]);
    out.assert_success();
    assert_eq!(out.json()["pulled"], 2);
    let t = Test::new().file("empty.txt", "# nothing\n");
    let out = t.run_with(["pull", "-f", t.path().join("empty.txt").to_str().unwrap()]);
    out.assert_code(2);
}

#[test]
fn a_lock_round_trip_pins_digests_through_a_mirror_with_the_registry_down() {
    let (old, new) = (Image::oci(78, &[600]), Image::oci(79, &[600]));
    let other = Image::oci(80, &[700]);
    let registry = Registry::start();
    registry.push_image(REPO, "v1", &old).push_image(REPO, "v2", &other);
    let mirror = Registry::start();
    mirror.push_image(REPO, "v1", &old).push_image(REPO, "v2", &other);
    let refs = [format!("{}/{REPO}:v1", registry.host()), format!("{}/{REPO}:v2", registry.host())];
    let t = Test::new();
    let lock = t.path().join("ocimirror.lock");
    let lock_s = lock.to_str().unwrap();
    let out = t.run_with(["lock", &refs[1], &refs[0], "-o", lock_s, "--mirror", &mirror.url()]);
    out.assert_success();
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.find(&refs[0]).unwrap() < text.find(&refs[1]).unwrap(), "sorted: {text}");
    assert!(
        text.contains(&old.manifest.digest) && text.contains("trust = \"confirmed\""),
        "{text}"
    );
    assert!(
        registry.count("GET", "/v2/team/app/blobs/") == 0
            && mirror.count("GET", "/v2/team/app/blobs/") == 0,
        "no blob for a lock"
    );
    // Unchanged: exit 0. The tag moves on the registry: exit 6, naming it.
    t.run_with(["lock", "--check", lock_s, "--mirror", &mirror.url()]).assert_success();
    registry.push_image(REPO, "v1", &new);
    let out = t.run_with(["lock", "--check", lock_s, "--json"]);
    out.assert_code(6);
    let j = out.json();
    assert_eq!(j["moved"][0]["reference"], refs[0], "{j}");
    assert_eq!(
        (&j["moved"][0]["locked"], &j["moved"][0]["now"]),
        (&json!(old.manifest.digest), &json!(new.manifest.digest))
    );
    assert_eq!(j["unchanged"], 1);
    // With the registry gone, the pinned digests still come through the mirror.
    drop(registry);
    let layout = t.layout_str();
    let out = t.run_with([
        "pull",
        "--locked",
        lock_s,
        "-o",
        &layout,
        "--json",
        "--mirror",
        &mirror.url(),
    ]);
    out.assert_success();
    let j = out.json();
    assert_eq!(
        j["images"][0]["digest"], old.manifest.digest,
        "the pinned digest, not the moved tag: {j}"
    );
    assert_eq!(j["images"][0]["servedBy"]["trust"], "digest");
    let mut got = names(&t.layout());
    got.sort();
    assert_eq!(got, refs, "named by the tags");
    assert_layout_valid(&t.layout());
    // A lock file that does not verify fails.
    let pins = |d: &str| format!("images = [\"{d}\"]");
    assert!(text.contains(&pins(&old.manifest.digest)), "{text}");
    std::fs::write(&lock, text.replace(&pins(&old.manifest.digest), &pins(&other.manifest.digest)))
        .unwrap();
    let t2 = Test::new();
    let out = t2.run_with([
        "pull",
        "--locked",
        lock_s,
        "-o",
        &t2.layout_str(),
        "--mirror",
        &mirror.url(),
    ]);
    assert_ne!(out.code(), Some(0), "{}", out.dump());
}

#[test]
fn a_pull_can_write_one_archive_to_a_file_or_stdout() {
    let (a, b) = (Image::oci(81, &[1000]), Image::oci(82, &[2000]));
    let registry = Registry::start();
    registry.push_image(REPO, "a", &a).push_image(REPO, "b", &b);
    let refs = [format!("{}/{REPO}:a", registry.host()), format!("{}/{REPO}:b", registry.host())];
    let t = Test::new();
    let tar = t.path().join("images.tar");
    let out = t.run_with(["pull", &refs[0], &refs[1], "-o", tar.to_str().unwrap()]);
    out.assert_success();
    let entries = tar_entries(&std::fs::read(&tar).unwrap());
    for want in ["oci-layout", "index.json", "manifest.json"] {
        assert!(entries.iter().any(|e| e == want), "{want}: {entries:?}");
    }
    assert!(entries.iter().any(|e| e.ends_with(&a.manifest.digest[7..])), "{entries:?}");
    assert!(!entries.iter().any(|e| e.contains(".ocimirror")), "{entries:?}");
    let leftovers: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with(".ocimirror"))
        .collect();
    assert!(leftovers.is_empty(), "the temporary layout is gone: {leftovers:?}");
    // `-o -`: the archive on stdout, the human lines on stderr.
    let mut cmd = t.command(["pull", &refs[0], "-o", "-"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entries = tar_entries(&out.stdout);
    assert!(entries.iter().any(|e| e == "manifest.json"), "{entries:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&refs[0]));
    t.run_with(["pull", &refs[0], "-o", "-", "--json"]).assert_code(2);
}

#[test]
fn an_archive_holds_the_images_pulled_and_is_not_written_when_none_was() {
    let img = Image::oci(83, &[1500]);
    let registry = Registry::start();
    registry.push_image(REPO, "v1", &img);
    let t = Test::new();
    let tar = t.path().join("images.tar");
    let (good, missing) =
        (format!("{}/{REPO}:v1", registry.host()), format!("{}/{REPO}:nosuch", registry.host()));
    t.run_with(["pull", &good, &missing, "-o", tar.to_str().unwrap()]).assert_code(5);
    let entries = tar_entries(&std::fs::read(&tar).unwrap());
    assert!(entries.iter().any(|e| e.ends_with(&img.manifest.digest[7..])), "{entries:?}");
    assert!(entries.iter().any(|e| e == "index.json"), "{entries:?}");

    std::fs::remove_file(&tar).unwrap();
    t.run_with(["pull", &missing, "-o", tar.to_str().unwrap()]).assert_code(3);
    let left: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("images") || n.starts_with(".ocimirror"))
        .collect();
    assert!(left.is_empty(), "no archive, no temporary file or layout: {left:?}");
}

#[test]
fn a_layer_that_never_verifies_leaves_the_archive_whole() {
    // With --no-cache, layers go straight into the archive file: the bad
    // image's layer gets its room there (first: its image comes first),
    // then fails its digest; the good image's entries, after it, move
    // down over the room before the archive is finished.
    let (bad, good) = (Image::oci(84, &[300_000, 2000]), Image::oci(85, &[400_000, 3000]));
    let registry = Registry::start();
    registry.push_image(REPO, "bad", &bad).push_image(REPO, "good", &good);
    registry.fault(Fault::CorruptBlob(bad.layers[0].digest.clone()));
    let refs =
        [format!("{}/{REPO}:bad", registry.host()), format!("{}/{REPO}:good", registry.host())];
    let t = Test::new();
    let tar = t.path().join("images.tar");
    let out = t.run_with(["pull", &refs[0], &refs[1], "--no-cache", "-o", tar.to_str().unwrap()]);
    out.assert_code(5);
    let bytes = std::fs::read(&tar).unwrap();
    let files = tar_files(&bytes);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for blob in [&good.manifest, &good.config, &good.layers[0], &good.layers[1]] {
        assert!(names.iter().any(|n| n.ends_with(&blob.digest[7..])), "{names:?}");
    }
    assert!(!names.iter().any(|n| n.ends_with(&bad.layers[0].digest[7..])), "{names:?}");
    let index: Value =
        serde_json::from_slice(files.iter().find(|(n, _)| n == "index.json").unwrap().1).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "{index}");
}

#[test]
fn a_big_layer_fetched_in_ranges_goes_whole_into_the_archive() {
    let img = Image::oci(86, &[5 << 20, 1000]);
    let registry = Registry::start();
    registry.push_image(REPO, "v1", &img);
    // 1 MiB/s per connection: split over several.
    registry.fault(Fault::Pace { bytes_per_sec: 1 << 20 });
    let t = Test::new();
    let tar = t.path().join("image.tar");
    let reference = format!("{}/{REPO}:v1", registry.host());
    let split = ["--split-threshold", "1048576"];
    let mut args = vec!["pull", &reference, "--no-cache", "-o", tar.to_str().unwrap()];
    args.extend(split);
    t.run_with(&args).assert_success();
    let requests = registry.requests();
    let gets: Vec<_> = (requests.iter())
        .filter(|r| r.method == "GET" && r.path.ends_with(&img.layers[0].digest))
        .collect();
    let ranged = gets.iter().filter(|r| r.header("range").is_some()).count();
    assert!(gets.len() >= 2 && ranged >= 1, "fetched in ranges: {} GETs", gets.len());
    let bytes = std::fs::read(&tar).unwrap();
    let files = tar_files(&bytes);
    let layer = files.iter().find(|(n, _)| n.ends_with(&img.layers[0].digest[7..]));
    assert_eq!(layer.map(|(_, data)| data.len()), Some(5 << 20), "{:?}", tar_entries(&bytes));
}

#[test]
fn a_layer_streamed_to_stdout_is_whole_with_or_without_the_cache() {
    // Over what a layout is read back for (16 MiB): once in the archive,
    // it leaves the pull's temporary layout before the end.
    let img = Image::oci(87, &[(16 << 20) + 1, 1000]);
    let registry = Registry::start();
    registry.push_image(REPO, "v1", &img);
    let reference = format!("{}/{REPO}:v1", registry.host());
    let t = Test::new();
    for extra in [&["--no-cache"][..], &[]] {
        let mut args = vec!["pull", &reference, "-o", "-"];
        args.extend(extra);
        let out = t.command(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let files = tar_files(&out.stdout);
        for b in img.blobs() {
            let entry = files.iter().find(|(n, _)| n.ends_with(&b.digest[7..]));
            assert_eq!(
                entry.map(|(_, data)| data.len()),
                Some(b.bytes.len()),
                "{extra:?} {}",
                b.digest
            );
        }
        assert!(files.iter().any(|(n, _)| n == "manifest.json"), "{extra:?}");
    }
    // With the cache, the layer stays cached for the next run.
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str(), "--json"]);
    out.assert_success();
    assert_eq!(registry.count("GET", &format!("/v2/{REPO}/blobs/{}", img.layers[0].digest)), 2);
}

/// The names in a tar, read with the headers' own layout (512-byte blocks).
fn tar_entries(tar: &[u8]) -> Vec<String> {
    tar_files(tar).into_iter().map(|(name, _)| name).collect()
}

/// A tar's entries and their bytes, read with the headers' own layout
/// (512-byte blocks). Checks what any reader relies on: every header's
/// checksum, every blob hashing to its name, and the end-of-archive
/// blocks right after the last entry, ending the file.
fn tar_files(tar: &[u8]) -> Vec<(String, &[u8])> {
    let mut files = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let header = &tar[at..at + 512];
        let field = |from: usize, len: usize| {
            let raw = &header[from..from + len];
            String::from_utf8_lossy(&raw[..raw.iter().position(|&b| b == 0).unwrap_or(len)])
                .to_string()
        };
        let (name, prefix) = (field(0, 100), field(345, 155));
        let size = u64::from_str_radix(field(124, 12).trim(), 8).unwrap_or(0) as usize;
        let sum = u64::from_str_radix(field(148, 8).trim(), 8).unwrap();
        let unsigned: u64 = (header.iter().enumerate())
            .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u64 })
            .sum();
        assert_eq!(sum, unsigned, "the checksum of the header at {at}");
        let full = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let data = &tar[at + 512..at + 512 + size];
        if let Some(hex) = full.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            assert_eq!(crate::support::image::sha256(data), format!("sha256:{hex}"), "{full}");
        }
        files.push((full.trim_end_matches('/').to_string(), data));
        at += 512 + size.div_ceil(512) * 512;
    }
    assert_eq!(tar.len(), at + 1024, "the end blocks end the file");
    assert!(tar[at..].iter().all(|&b| b == 0), "the end blocks are zeros");
    files
}
