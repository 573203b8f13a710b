//! The shared blob cache (issue 13): layouts get cached blobs by hard link
//! without a request, partial downloads in the cache are resumed by any
//! later run whatever its layout (Ctrl-C keeps them), a bad cached blob is
//! discarded and fetched again, and many runs at once, some killed, never
//! give a layout a blob that does not hash to its name.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::image::{Image, sha256};
use crate::support::registry::{Fault, Registry};
use crate::support::{Output, Test, assert_layout_valid, layout_has_blob};

const MIB: usize = 1 << 20;

fn args(t: &Test, layout: &str, reference: &str, extra: &[&str]) -> Vec<String> {
    let out = t.path().join(layout);
    let mut a: Vec<String> =
        ["pull", reference, "-o", out.to_str().unwrap(), "--platform", "linux/amd64"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn pull_into(t: &Test, layout: &str, reference: &str, extra: &[&str]) -> Output {
    let out = t.run_with(args(t, layout, reference, extra));
    assert!(!out.stderr.contains("panicked"), "{}", out.dump());
    out
}

/// The default cache of a test: `$XDG_CACHE_HOME/ocimirror/blobs`.
fn cache_dir(t: &Test) -> PathBuf {
    t.path().join("home/.cache/ocimirror/blobs")
}

fn cached_blob(t: &Test, digest: &str) -> PathBuf {
    cache_dir(t).join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
}

fn cache_partial(t: &Test, digest: &str) -> PathBuf {
    cache_dir(t).join(".ocimirror/partial").join(digest.replacen(':', "-", 1))
}

fn blob_gets(reg: &Registry) -> usize {
    reg.requests().iter().filter(|r| r.method == "GET" && r.path.contains("/blobs/")).count()
}

/// Every file under `blobs/` of a layout (or the cache) hashes to its name.
fn assert_blobs_hash_to_their_names(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir.join("blobs/sha256")) else { return };
    for e in entries {
        let e = e.unwrap();
        let bytes = std::fs::read(e.path()).unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        assert_eq!(sha256(&bytes), format!("sha256:{name}"), "{} is corrupt", e.path().display());
    }
}

#[test]
fn an_image_in_the_cache_pulls_into_a_new_layout_without_a_blob_request() {
    let reg = Registry::start();
    let img = Image::oci(1310, &[300_000, 5000]);
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    pull_into(&t, "a", &reference, &[]).assert_success();
    reg.clear_requests();
    let out = pull_into(&t, "b", &reference, &["--json"]);
    out.assert_success();
    assert_eq!(blob_gets(&reg), 0, "every blob came from the cache: {:?}", reg.requests());
    let blobs = out.json()["blobs"].as_array().cloned().unwrap();
    assert!(blobs.iter().all(|b| b["fromCache"] == true && b["endpoint"].is_null()), "{blobs:?}");
    assert_layout_valid(&t.path().join("b"));
    // One file on disk: a hard link to the cache's.
    use std::os::unix::fs::MetadataExt as _;
    let layer = &img.layers[0].digest;
    let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
    let in_layout = t.path().join("b/blobs/sha256").join(layer.trim_start_matches("sha256:"));
    assert_eq!(ino(&in_layout), ino(&cached_blob(&t, layer)));
    // By digest, with the manifest cached too: no request at all.
    reg.clear_requests();
    let by_digest = format!("{}/team/app@{}", reg.host(), img.manifest.digest);
    let out = pull_into(&t, "c", &by_digest, &["--json"]);
    out.assert_success();
    assert!(reg.requests().is_empty(), "{:?}", reg.requests());
    assert_eq!(out.json()["servedBy"]["endpoint"], "cache");
    assert_layout_valid(&t.path().join("c"));
    // `cache` counts it; `cache prune --max-size 0` empties it.
    let out = t.run_with(["cache", "--json"]);
    out.assert_success();
    assert_eq!(out.json()["blobs"], 4, "config, two layers, manifest: {}", out.stdout);
    let out = t.run_with(["cache", "prune", "--max-size", "0", "--json"]);
    out.assert_success();
    assert_eq!(out.json()["removedBlobs"], 4);
    assert_layout_valid(&t.path().join("b"));
    reg.clear_requests();
    pull_into(&t, "d", &reference, &[]).assert_success();
    assert_eq!(blob_gets(&reg), 3, "pruned: fetched again");
}

#[test]
fn a_partial_copy_in_the_layout_goes_once_the_cache_links_the_blob() {
    let reg = Registry::start();
    let img = Image::oci(1311, &[300_000, 5000]);
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    pull_into(&t, "a", &reference, &[]).assert_success();
    // What a run killed while copying a cached blob into layout `b` leaves
    // (the copy is the fallback when a hard link cannot be made).
    let layer = &img.layers[0].digest;
    let partial_dir = t.path().join("b/.ocimirror/partial");
    std::fs::create_dir_all(&partial_dir).unwrap();
    let partial = partial_dir.join(layer.replacen(':', "-", 1));
    std::fs::write(&partial, vec![7u8; 1000]).unwrap();
    pull_into(&t, "b", &reference, &[]).assert_success();
    assert!(!partial.exists(), "the blob is in the layout: its partial copy must go");
    assert!(layout_has_blob(&t.path().join("b"), layer));
    assert_layout_valid(&t.path().join("b"));
}

#[test]
fn ctrl_c_keeps_a_partial_download_and_another_layout_resumes_it() {
    let reg = Registry::start();
    let img = Image::oci(1311, &[3 * MIB]);
    reg.push_image("team/app", "v1", &img);
    let layer = img.layers[0].digest.clone();
    reg.fault(Fault::StallBlob { digest: layer.clone(), after: 3 * MIB / 2 });
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    let run = t.spawn(args(&t, "a", &reference, &[]));
    let partial = cache_partial(&t, &layer);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::metadata(&partial).is_ok_and(|m| m.len() >= MIB as u64) {
        assert!(Instant::now() < deadline, "no partial file in the cache");
        std::thread::sleep(Duration::from_millis(5));
    }
    run.interrupt();
    let out = run.wait(Duration::from_secs(10));
    out.assert_code(130);
    let kept = std::fs::metadata(&partial).expect("Ctrl-C keeps the partial download").len();
    assert!(kept >= MIB as u64);
    reg.clear_faults();
    reg.clear_requests();
    pull_into(&t, "b", &reference, &[]).assert_success();
    let ranges: Vec<Option<String>> = reg
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&layer))
        .map(|r| r.header("range").map(String::from))
        .collect();
    assert_eq!(ranges, [Some(format!("bytes={kept}-"))], "resumed from where it stopped");
    assert!(layout_has_blob(&t.path().join("b"), &layer));
    assert!(!partial.exists());
    assert_layout_valid(&t.path().join("b"));
}

#[test]
fn a_bad_cached_blob_is_discarded_and_fetched_again() {
    let reg = Registry::start();
    let img = Image::oci(1312, &[200_000]);
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    pull_into(&t, "a", &reference, &[]).assert_success();
    let layer = &img.layers[0].digest;
    let cached = cached_blob(&t, layer);
    // Replaced (not written through: layout a keeps its good file) by
    // bytes of the right size and the wrong content: only a re-hash tells.
    std::fs::remove_file(&cached).unwrap();
    std::fs::write(&cached, vec![0u8; 200_000]).unwrap();
    reg.clear_requests();
    let out = pull_into(&t, "b", &reference, &["--verify-cache"]);
    out.assert_success();
    assert_eq!(blob_gets(&reg), 1, "the bad one was fetched again");
    assert_layout_valid(&t.path().join("b"));
    assert_blobs_hash_to_their_names(&cache_dir(&t));
    // The wrong size is found without --verify-cache.
    std::fs::remove_file(&cached).unwrap();
    std::fs::write(&cached, b"short").unwrap();
    reg.clear_requests();
    pull_into(&t, "c", &reference, &[]).assert_success();
    assert_eq!(blob_gets(&reg), 1);
    assert_layout_valid(&t.path().join("c"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_under_the_cache_fails_clearly_and_the_next_run_resumes() {
    let reg = Registry::start();
    let img = Image::oci(1313, &[3 * MIB]);
    reg.push_image("team/app", "v1", &img);
    let layer = img.layers[0].digest.clone();
    let reference = format!("{}/team/app:v1", reg.host());
    // No file may pass 1 MiB: writing the layer fails as on a full disk.
    let t = Test::new().file_size_limit(MIB as u64);
    let out = pull_into(&t, "a", &reference, &[]);
    out.assert_code(1);
    let partial = cache_partial(&t, &layer);
    assert!(out.stderr.to_lowercase().contains("file too large"), "{}", out.dump());
    assert!(out.stderr.contains(&partial.display().to_string()), "{}", out.dump());
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), MIB as u64, "what was written stays");
    assert!(!t.path().join("a/index.json").exists());
    let t = t.file_size_limit(u64::MAX);
    reg.clear_requests();
    pull_into(&t, "b", &reference, &[]).assert_success();
    let range = reg
        .requests()
        .iter()
        .rev()
        .find(|r| r.path.ends_with(&layer))
        .unwrap()
        .header("range")
        .map(String::from);
    assert_eq!(range.as_deref(), Some("bytes=1048576-"));
    assert_layout_valid(&t.path().join("b"));
}

/// A tiny deterministic generator: the kill moments are the same on every
/// run, so a failure can be reproduced.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn concurrent_runs_on_one_cache_and_one_layout_some_killed_never_link_a_corrupt_blob() {
    let reg = Registry::start();
    let shared = Image::oci(1320, &[2 * MIB + 7, 400_000, 3000]);
    let other = Image::oci(1321, &[MIB + 3, 3000]);
    reg.push_image("team/app", "v1", &shared);
    reg.push_image("team/app", "also", &shared);
    reg.push_image("team/other", "v1", &other);
    for b in shared.layers.iter().chain(&other.layers).filter(|b| b.bytes.len() > MIB) {
        reg.fault(Fault::TruncateBlob { digest: b.digest.clone(), after: MIB / 2 + 11, times: 3 });
    }
    let refs = [
        format!("{}/team/app:v1", reg.host()),
        format!("{}/team/app:also", reg.host()),
        format!("{}/team/other:v1", reg.host()),
    ];
    let t = Test::new();
    let mut rng = Lcg(0x5eed_0013);
    let mut killed = 0;
    for round in 0..3 {
        let runs: Vec<_> = (0..8)
            .map(|i| t.spawn(args(&t, "layout", &refs[i % refs.len()], &["-j", "2"])))
            .collect();
        for run in runs {
            // About one run in three is killed, at a random moment.
            if rng.next(3) == 0 {
                std::thread::sleep(Duration::from_millis(rng.next(400)));
                let out = run.kill();
                assert!(!out.stderr.contains("panicked"), "{}", out.dump());
                killed += 1;
            } else {
                let out = run.wait(Duration::from_secs(60));
                assert!(!out.stderr.contains("panicked"), "round {round}: {}", out.dump());
            }
        }
        assert_blobs_hash_to_their_names(&t.path().join("layout"));
        assert_blobs_hash_to_their_names(&cache_dir(&t));
    }
    assert!(killed >= 3, "kills should happen: {killed}");
    for r in &refs {
        pull_into(&t, "layout", r, &[]).assert_success();
    }
    assert_layout_valid(&t.path().join("layout"));
    let out = t.run_with(["verify", t.path().join("layout").to_str().unwrap()]);
    out.assert_success();
}
