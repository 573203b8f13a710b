//! Faults and hostile input (issue 4): every way a registry or the machine can
//! misbehave during a pull, each injected on purpose. For each one the run
//! must end in a clear error or a fallback/recovery, and never
//! - panic (stderr never says "panicked"),
//! - leave a file outside the layout, or a blob that does not hash to its name,
//! - print a credential (password, its base64, or an issued token).
//!
//! Everything runs on 127.0.0.1 and is bounded in time: timeouts are set low
//! where a fault would otherwise wait, and every wait on a child is capped.
//! docs/reliability.md maps each fault to the test here that proves it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::image::{Blob, DOCKER_MANIFEST, Image, OCI_INDEX, OCI_MANIFEST, sha256};
#[cfg(target_os = "linux")]
use crate::support::registry::Unreachable;
use crate::support::registry::{Auth, Fault, Registry, mirror_and_authority};
use crate::support::tls::{Pki, TlsFront};
use crate::support::{Output, Test, assert_layout_valid, layout_has_blob, layout_index};

const USER: &str = "ci-robot";
/// A password no test output may ever contain, in any encoding.
const SECRET: &str = "Pa55w0rd-never-print-7c1e";
/// WRITE_CHUNK in src/layout.rs: partial files grow in steps of this.
const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Checks every run must pass, whatever the outcome: no panic, and no
/// credential in either stream.
fn assert_clean(out: &Output) {
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(!text.contains("panicked"), "{name} shows a panic\n{}", out.dump());
        for secret in secrets() {
            assert!(
                !text.contains(&secret),
                "{name} leaks a credential ({secret:?})\n{}",
                out.dump()
            );
        }
    }
}

/// The password, `user:password` and both in base64 (what Basic carries).
fn secrets() -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    vec![SECRET.to_string(), b64(SECRET), b64(&format!("{USER}:{SECRET}"))]
}

/// Bearer tokens the fake registry issued (`token-<port>-<n>`) are
/// credentials too.
fn assert_no_token(out: &Output, reg: &Registry) {
    let port = reg.host().rsplit(':').next().unwrap().to_string();
    let token = format!("token-{port}-");
    assert!(
        !out.stdout.contains(&token) && !out.stderr.contains(&token),
        "output leaks a bearer token\n{}",
        out.dump()
    );
}

/// A failed run: this exit code, a message naming the problem, no panic,
/// no credential.
fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    assert_clean(out);
    out.assert_code(code);
    let lower = out.stderr.to_lowercase();
    for n in needles {
        assert!(lower.contains(&n.to_lowercase()), "stderr should mention {n:?}\n{}", out.dump());
    }
}

/// A layout after any run, even a failed or killed one: what exists is
/// consistent. `oci-layout` and `index.json` parse when present (a complete
/// check with `assert_layout_valid` when index.json exists), every file in
/// `blobs/<alg>/` hashes to its name, and nothing but the layout's own
/// entries is at its top level.
fn assert_layout_sane(dir: &Path) {
    if !dir.exists() {
        return;
    }
    let allowed = ["oci-layout", "index.json", "blobs", ".ocimirror"];
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(allowed.contains(&name.as_str()), "stray entry in the layout: {name}");
    }
    if let Ok(bytes) = std::fs::read(dir.join("oci-layout")) {
        let v: Value = serde_json::from_slice(&bytes).expect("oci-layout is not JSON");
        assert_eq!(v["imageLayoutVersion"], "1.0.0");
    }
    if dir.join("index.json").exists() {
        assert_layout_valid(dir);
        return;
    }
    let blobs = dir.join("blobs");
    let Ok(algs) = std::fs::read_dir(&blobs) else {
        return;
    };
    for alg in algs {
        let alg = alg.unwrap();
        let alg_name = alg.file_name().to_string_lossy().into_owned();
        assert!(alg_name == "sha256" || alg_name == "sha512", "stray entry in blobs/: {alg_name}");
        for entry in std::fs::read_dir(alg.path()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(entry.path()).unwrap();
            if alg_name == "sha256" {
                assert_eq!(
                    sha256(&bytes),
                    format!("sha256:{name}"),
                    "blob does not hash to its name"
                );
            } else {
                use sha2::Digest as _;
                assert_eq!(
                    hex::encode(sha2::Sha512::digest(&bytes)),
                    name,
                    "blob does not hash to its name"
                );
            }
        }
    }
}

/// Every file under the test's directory except inside the layout, the
/// fake home and the runtime dir: a run must not add any.
fn files_outside_layout(t: &Test) -> BTreeSet<PathBuf> {
    fn walk(dir: &Path, skip: &[PathBuf], out: &mut BTreeSet<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if skip.contains(&p) {
                continue;
            }
            if p.is_dir() {
                walk(&p, skip, out);
            } else {
                out.insert(p);
            }
        }
    }
    let skip = [t.layout(), t.path().join("home"), t.path().join("run")];
    let mut out = BTreeSet::new();
    walk(t.path(), &skip, &mut out);
    out
}

fn pull(t: &Test, reference: &str, extra: &[&str]) -> Output {
    let layout = t.layout_str();
    let mut args = vec!["pull", reference, "-o", layout.as_str(), "--platform", "linux/amd64"];
    args.extend_from_slice(extra);
    t.run_with(&args)
}

fn pull_args(t: &Test, reference: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> =
        ["pull", reference, "-o", &t.layout_str(), "--platform", "linux/amd64"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// `<layout>/.ocimirror/partial/sha256-<hex>`: where a download in progress lives.
pub(crate) fn partial_path(t: &Test, digest: &str) -> PathBuf {
    t.layout().join(".ocimirror/partial").join(digest.replacen(':', "-", 1))
}

/// Partial downloads (not lock or temp files) left in the layout.
pub(crate) fn partials(t: &Test) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(t.layout().join(".ocimirror/partial")) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sha256-") || n.starts_with("sha512-"))
        .collect()
}

/// Polls until `cond` holds; fails the test after `limit`.
pub(crate) fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `Range` headers of the GETs for one blob, in order (`None` for a
/// request without one).
fn blob_ranges(reg: &Registry, digest: &str) -> Vec<Option<String>> {
    reg.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&format!("/blobs/{digest}")))
        .map(|r| r.header("range").map(str::to_string))
        .collect()
}

/// An OCI image manifest with this config and these layers, as raw JSON values
/// (so tests can put anything in a descriptor).
fn manifest_json(config: Value, layers: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": layers,
    }))
    .unwrap()
}

fn basic_docker_config(t: Test, host: &str) -> Test {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{SECRET}"));
    t.docker_config(json!({"auths": {host: {"auth": auth}}}))
}

// ---------------------------------------------------------------------------
// Truncated bodies and resume
// ---------------------------------------------------------------------------

#[test]
fn truncated_blob_resumes_with_range_from_the_cut() {
    let reg = Registry::start();
    let img = Image::oci(11, &[300_000]);
    reg.push_image("team/app", "v1", &img);
    let layer = &img.layers[0].digest;
    reg.fault(Fault::TruncateBlob { digest: layer.clone(), after: 100_000, times: 1 });
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--json"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(
        blob_ranges(&reg, layer),
        vec![None, Some("bytes=100000-".to_string())],
        "one cut, then exactly one resume from the byte it stopped at"
    );
    assert!(partials(&t).is_empty(), "the partial file became the blob");
    assert_layout_valid(&t.layout());
    assert!(layout_has_blob(&t.layout(), layer));
}

#[test]
fn truncated_blob_with_range_ignored_restarts_cleanly() {
    let reg = Registry::start();
    let img = Image::oci(12, &[300_000]);
    reg.push_image("team/app", "v1", &img);
    let layer = &img.layers[0].digest;
    reg.fault(Fault::TruncateBlob { digest: layer.clone(), after: 100_000, times: 1 });
    reg.fault(Fault::IgnoreRange);
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    // We asked to resume; the registry answered 200 with the whole blob, and
    // the first 100 000 bytes were not appended twice (the digest proves it).
    assert_eq!(blob_ranges(&reg, layer), vec![None, Some("bytes=100000-".to_string())]);
    assert_layout_valid(&t.layout());
    assert!(layout_has_blob(&t.layout(), layer));
}

#[test]
fn blob_cut_more_often_than_retries_moves_to_the_next_source() {
    // The mirror cuts every download; after `--tries` attempts the rest of
    // the blob comes from the authority, resumed where the mirror left off.
    let img = Image::oci(13, &[200_000]);
    let (mirror, authority, reference) = mirror_and_authority(&img);
    let layer = &img.layers[0].digest;
    // Each resumed request gets 20 000 more bytes, then the cut.
    mirror.fault(Fault::TruncateBlob { digest: layer.clone(), after: 20_000, times: 100 });
    let t = Test::new();
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--tries", "2", "--json"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(
        blob_ranges(&mirror, layer),
        vec![None, Some("bytes=20000-".to_string())],
        "two attempts on the mirror"
    );
    assert_eq!(
        blob_ranges(&authority, layer),
        vec![Some("bytes=40000-".to_string())],
        "the authority continues from the mirror's bytes"
    );
    let blobs = out.json()["blobs"].clone();
    let served: Vec<&Value> =
        blobs.as_array().unwrap().iter().filter(|b| b["digest"] == *layer).collect();
    assert_eq!(served[0]["endpoint"], authority.url());
    assert_layout_valid(&t.layout());
}

#[test]
fn partial_left_by_a_killed_run_is_resumed_by_the_next() {
    let reg = Registry::start();
    let img = Image::oci(14, &[3 * MIB]);
    reg.push_image("team/app", "v1", &img);
    let layer = img.layers[0].digest.clone();
    // 1.5 MiB arrive, then the body stalls: what was written so far stays.
    reg.fault(Fault::StallBlob { digest: layer.clone(), after: 3 * MIB / 2 });
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    let run = t.spawn(pull_args(&t, &reference, &["--no-cache"]));
    let partial = partial_path(&t, &layer);
    let size = || std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
    wait_until(Duration::from_secs(20), "a non-empty partial file", || size() > 0);
    // Kill once the download is stuck (the size stops changing), so the
    // partial is not caught half-way through a write.
    let mut last = (size(), Instant::now());
    wait_until(Duration::from_secs(20), "the partial file to stop growing", || {
        let now = size();
        if now != last.0 {
            last = (now, Instant::now());
        }
        last.1.elapsed() > Duration::from_millis(300)
    });
    let killed = run.kill();
    assert_clean(&killed);
    assert!(!killed.success(), "SIGKILL ends the run");
    let have = std::fs::metadata(&partial).unwrap().len();
    assert!(have > 0 && have <= (3 * MIB / 2) as u64, "partial has {have} bytes");
    assert_layout_sane(&t.layout());
    assert!(!t.layout().join("index.json").exists(), "no index entry for an incomplete image");

    reg.clear_faults();
    reg.clear_requests();
    let out = pull(&t, &reference, &["--no-cache"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(
        blob_ranges(&reg, &layer),
        vec![Some(format!("bytes={have}-"))],
        "the second run resumes from the killed run's bytes"
    );
    assert!(partials(&t).is_empty());
    // The whole file was verified: it hashes to its name.
    assert_layout_valid(&t.layout());
    assert!(layout_has_blob(&t.layout(), &layer));
}

#[test]
fn corrupt_partial_from_an_earlier_run_is_discarded_and_refetched() {
    // A partial file whose bytes are wrong (left by a mirror that served
    // garbage before it was cut, or a bad disk) cannot be detected until the
    // end. The run must then start the blob over, not fail.
    let reg = Registry::start();
    let img = Image::oci(15, &[200_000]);
    reg.push_image("team/app", "v1", &img);
    let layer = img.layers[0].digest.clone();
    let t = Test::new();
    let partial = partial_path(&t, &layer);
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, vec![0xAAu8; 50_000]).unwrap();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--no-cache"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(blob_ranges(&reg, &layer), vec![Some("bytes=50000-".to_string()), None]);
    assert_layout_valid(&t.layout());
    assert!(layout_has_blob(&t.layout(), &layer));
}

#[test]
fn complete_partial_left_before_the_rename_is_verified_not_refetched() {
    // Killed after the last byte was written but before the rename: the
    // partial holds the whole blob. Asking for `bytes=<size>-` would be
    // answered 416; the run must verify the file and move it into place.
    let reg = Registry::start();
    let img = Image::oci(16, &[120_000]);
    reg.push_image("team/app", "v1", &img);
    let layer = &img.layers[0];
    let t = Test::new();
    let partial = partial_path(&t, &layer.digest);
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, &layer.bytes).unwrap();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--json", "--no-cache"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(blob_ranges(&reg, &layer.digest), Vec::<Option<String>>::new(), "not fetched again");
    let j = out.json();
    let b = j["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["digest"] == layer.digest)
        .unwrap()
        .clone();
    assert_eq!(b["cached"], true);
    assert!(partials(&t).is_empty());
    assert_layout_valid(&t.layout());

    // The same, with a complete-length partial of the wrong bytes: refetched.
    let t = Test::new();
    let partial = partial_path(&t, &layer.digest);
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, vec![0u8; layer.bytes.len()]).unwrap();
    reg.clear_requests();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--no-cache"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(blob_ranges(&reg, &layer.digest), vec![None], "fetched whole");
    assert_layout_valid(&t.layout());
}

// ---------------------------------------------------------------------------
// Retries and timeouts
// ---------------------------------------------------------------------------

#[test]
fn too_many_requests_waits_for_retry_after_then_succeeds() {
    let reg = Registry::start();
    let img = Image::oci(21, &[1000]);
    reg.push_image("team/app", "v1", &img);
    reg.fault(Fault::TooManyRequests { n: 1, retry_after_secs: 1 });
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(reg.count("GET", "/v2/team/app/manifests/v1"), 2, "one 429, one retry");
    assert!(
        out.elapsed >= Duration::from_millis(950),
        "Retry-After: 1 was honoured ({:?})",
        out.elapsed
    );
    assert_layout_valid(&t.layout());
}

#[test]
fn too_long_retry_after_moves_on_at_once() {
    // A mirror asking for an hour's pause is not waited for: the authority serves.
    let img = Image::oci(22, &[1000]);
    let (mirror, authority, reference) = mirror_and_authority(&img);
    mirror.fault(Fault::TooManyRequests { n: 100, retry_after_secs: 3600 });
    let t = Test::new();
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], authority.url());
    assert_eq!(mirror.count("GET", "/v2/team/app/manifests/"), 1, "not retried");
    assert!(out.elapsed < Duration::from_secs(8), "did not wait: {:?}", out.elapsed);
    assert_layout_valid(&t.layout());
}

#[test]
fn server_errors_are_retried_with_backoff_then_succeed() {
    let reg = Registry::start();
    let img = Image::oci(23, &[1000]);
    reg.push_image("team/app", "v1", &img);
    reg.fault(Fault::ManifestStatus { code: 503, times: 2 });
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(reg.count("GET", "/v2/team/app/manifests/v1"), 3);
    // Backoff: ~200 ms then ~400 ms (plus jitter) between the attempts.
    assert!(out.elapsed >= Duration::from_millis(550), "backed off: {:?}", out.elapsed);
    assert_layout_valid(&t.layout());
}

#[test]
fn persistent_server_errors_fail_after_the_retries_naming_the_status() {
    let reg = Registry::start();
    let img = Image::oci(24, &[1000]);
    reg.push_image("team/app", "v1", &img);
    reg.fault(Fault::ManifestStatus { code: 500, times: 1000 });
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--tries", "2"]);
    assert_fails(&out, 1, &["HTTP 500"]);
    assert_eq!(reg.count("GET", "/v2/team/app/manifests/v1"), 2, "--tries 2 means two attempts");
    assert_layout_sane(&t.layout());
}

#[test]
fn hung_mirror_costs_one_response_timeout_then_the_authority_serves() {
    let mirror = Registry::start();
    let authority = Registry::start();
    let img = Image::oci(25, &[1000]);
    authority.push_image("team/app", "v1", &img);
    mirror.fault(Fault::Hang);
    let t = Test::new();
    let reference = format!("{}/team/app:v1", authority.host());
    let out =
        pull(&t, &reference, &["--mirror", &mirror.url(), "--response-timeout", "1", "--json"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], authority.url());
    assert!(
        out.elapsed < Duration::from_secs(5),
        "one timeout, not one per request: {:?}",
        out.elapsed
    );
    assert_layout_valid(&t.layout());
}

#[test]
fn mirror_hanging_on_blobs_costs_one_response_timeout_then_the_authority_serves_them() {
    let img = Image::oci(27, &[1000, 2000, 3000, 4000, 5000, 6000, 7000]);
    let (mirror, authority, reference) = mirror_and_authority(&img);
    mirror.fault(Fault::HangBlobs);
    let t = Test::new();
    // --jobs 1: eight small downloads at a time (8 x --jobs), and eight
    // blobs: if each paid its own timeout after the first wave, or a
    // retried request its own, the pull would take several.
    let out = pull(
        &t,
        &reference,
        &["--mirror", &mirror.url(), "--response-timeout", "1", "--jobs", "1", "--json"],
    );
    assert_clean(&out);
    out.assert_success();
    let json = out.json();
    assert_eq!(json["servedBy"]["endpoint"], mirror.url(), "the manifest came from the mirror");
    for blob in json["blobs"].as_array().unwrap() {
        assert_eq!(blob["endpoint"], authority.url(), "{blob}");
    }
    // The (at most eight, one wave) that timed out together; after them
    // the mirror is left alone.
    let asked = mirror.count("GET", "/v2/team/app/blobs/");
    assert!((1..=8).contains(&asked), "the hung mirror was asked for {asked} blobs");
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    assert_layout_valid(&t.layout());
}

#[cfg(target_os = "linux")]
#[test]
fn unreachable_mirror_costs_the_connect_timeout_then_the_authority_serves() {
    let mirror = Unreachable::start();
    let authority = Registry::start();
    let img = Image::oci(28, &[1000]);
    authority.push_image("team/app", "v1", &img);
    let t = Test::new();
    let reference = format!("{}/team/app:v1", authority.host());
    // The response timeout is far longer: only the connect timeout can end
    // the wait in time.
    let out = pull(
        &t,
        &reference,
        &[
            "--mirror",
            &mirror.url(),
            "--connect-timeout",
            "0.5",
            "--response-timeout",
            "60",
            "--json",
        ],
    );
    assert_clean(&out);
    out.assert_success();
    let json = out.json();
    assert_eq!(json["servedBy"]["endpoint"], authority.url());
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    let why: Vec<&str> = json["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["endpoint"] == mirror.url())
        .filter_map(|a| a["error"].as_str())
        .collect();
    assert!(why.iter().any(|e| e.contains("connect")), "the trace says why: {why:?}");
    assert_layout_valid(&t.layout());
}

#[test]
fn stalled_body_times_out_and_resumes_from_the_next_source() {
    let img = Image::oci(26, &[2 * MIB]);
    let (mirror, authority, reference) = mirror_and_authority(&img);
    let layer = img.layers[0].digest.clone();
    mirror.fault(Fault::StallBlob { digest: layer.clone(), after: 3 * MIB / 2 });
    let t = Test::new();
    let out = pull(
        &t,
        &reference,
        &["--mirror", &mirror.url(), "--stall-timeout", "1", "--tries", "1", "--json"],
    );
    assert_clean(&out);
    out.assert_success();
    assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
    // What the mirror sent before it stalled was kept.
    let ranges = blob_ranges(&authority, &layer);
    assert_eq!(ranges.len(), 1);
    let offset: u64 = ranges[0]
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("expected a Range request, got {ranges:?}"));
    assert!(offset > 0 && offset <= (3 * MIB / 2) as u64, "resumed from {offset}");
    assert_layout_valid(&t.layout());
}

// ---------------------------------------------------------------------------
// Hostile manifests
// ---------------------------------------------------------------------------

#[test]
fn one_digest_with_two_sizes_is_refused() {
    let reg = Registry::start();
    let config = Blob::new("application/vnd.oci.image.config.v1+json", b"{}".to_vec());
    let layer = Blob::new("application/vnd.oci.image.layer.v1.tar", vec![5u8; 1000]);
    reg.push_blob(&config);
    reg.push_blob(&layer);
    let mut bigger = layer.descriptor();
    bigger["size"] = json!(1001);
    let manifest = manifest_json(config.descriptor(), vec![layer.descriptor(), bigger]);
    reg.push_manifest("team/app", "v1", &Blob::new(OCI_MANIFEST, manifest));
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    assert_fails(&out, 1, &["two sizes"]);
    assert!(!t.layout().join("index.json").exists());
}

#[test]
fn an_index_entry_with_the_wrong_size_is_refused() {
    let reg = Registry::start();
    let img = Image::oci(74, &[1000]);
    reg.push_image("team/app", "child", &img);
    let mut entry = img.manifest.descriptor();
    entry["size"] = json!(img.manifest.bytes.len() + 1);
    entry["platform"] = json!({"os": "linux", "architecture": "amd64"});
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry],
    }))
    .unwrap();
    reg.push_manifest("team/app", "v1", &Blob::new(OCI_INDEX, index));
    let reference = format!("{}/team/app:v1", reg.host());
    for platform in [&["--all-platforms"][..], &["--platform", "linux/amd64"][..]] {
        let t = Test::new();
        let out = t.run_with(["pull", &reference, "-o", &t.layout_str()].iter().chain(platform));
        assert_fails(&out, 1, &["size of"]);
        assert!(!t.layout().join("index.json").exists(), "{platform:?}");
    }
}

#[test]
fn oversized_manifest_is_refused_with_and_without_content_length() {
    for chunked in [false, true] {
        let reg = Registry::start();
        reg.push_image("team/app", "v1", &Image::oci(31, &[10]));
        reg.fault(Fault::OversizedManifest { bytes: 5 * MIB, chunked });
        let t = Test::new();
        let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
        assert_fails(&out, 1, &["manifest", "limit"]);
        assert_layout_sane(&t.layout());
        assert!(!t.layout().join("index.json").exists());
    }
}

#[test]
fn hostile_digests_in_descriptors_are_refused_and_nothing_is_written_outside() {
    let marker = format!("pwned-{}", std::process::id());
    let good = Blob::new("application/vnd.oci.image.config.v1+json", b"{}".to_vec());
    let hex64 = "a".repeat(64);
    let cases: Vec<(String, &str)> = vec![
        (format!("sha256:../../{marker}"), "invalid digest"),
        (format!("sha256:../../../../{marker}"), "invalid digest"),
        (format!("sha256:{}", "../".repeat(20) + &marker), "invalid digest"),
        (format!("sha256/../../{marker}:{hex64}"), "unsupported algorithm"),
        (format!("md5:{}", "d".repeat(32)), "unsupported algorithm"),
        (format!("sha384:{}", "e".repeat(96)), "unsupported algorithm"),
        (format!("sha256:{}", "A".repeat(64)), "lowercase"),
        ("sha256:abc".to_string(), "wrong length"),
        (format!("sha256:{hex64}/../x"), "wrong length"),
        (format!("sha256:{}", &hex64[..63]), "wrong length"),
        ("sha256".to_string(), "expected algorithm:hex"),
        (String::new(), "expected algorithm:hex"),
    ];
    let reg = Registry::start();
    reg.push_blob(&good);
    for (i, (digest, why)) in cases.iter().enumerate() {
        // The hostile digest as the config, as a layer, and as an index entry.
        let bad = json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": 10});
        let as_config = Blob::new(OCI_MANIFEST, manifest_json(bad.clone(), vec![]));
        let as_layer = Blob::new(OCI_MANIFEST, manifest_json(good.descriptor(), vec![bad.clone()]));
        let mut entry = bad.clone();
        entry["mediaType"] = json!(OCI_MANIFEST);
        entry["platform"] = json!({"os": "linux", "architecture": "amd64"});
        let index = serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}),
        )
        .unwrap();
        let as_entry = Blob::new(OCI_INDEX, index);
        for (kind, m) in [("config", as_config), ("layer", as_layer), ("entry", as_entry)] {
            let tag = format!("{kind}{i}");
            reg.push_manifest("team/app", &tag, &m);
            let t = Test::new();
            let before = files_outside_layout(&t);
            let out = pull(&t, &format!("{}/team/app:{tag}", reg.host()), &[]);
            assert_fails(&out, 1, &[why]);
            assert!(
                out.stderr.contains("manifest names a bad blob")
                    && out.stderr.contains(&format!("team/app:{tag}"))
                    && out.stderr.contains(&reg.url()),
                "{digest:?} as {kind}: the error says where\n{}",
                out.dump()
            );
            assert_eq!(
                files_outside_layout(&t),
                before,
                "{digest:?} as {kind}: a file appeared outside the layout"
            );
            assert_layout_sane(&t.layout());
            for depth in 0..=22 {
                let target =
                    t.layout().join("blobs/sha256").join("../".repeat(depth)).join(&marker);
                assert!(!target.exists(), "{} was written", target.display());
            }
            assert!(!t.layout().join("index.json").exists());
        }
    }
    assert_eq!(reg.count("GET", "/v2/team/app/blobs/"), 0, "no blob was even requested");
}

#[test]
fn descriptor_with_negative_or_huge_size_is_refused() {
    let reg = Registry::start();
    let good = Blob::new("application/vnd.oci.image.config.v1+json", b"{}".to_vec());
    reg.push_blob(&good);
    for (tag, size, why) in [
        ("neg", json!(-1), "negative size"),
        ("huge", json!(1e30), "not valid JSON"),
        ("text", json!("10"), "not valid JSON"),
    ] {
        let layer = json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": good.digest, "size": size});
        reg.push_manifest(
            "team/app",
            tag,
            &Blob::new(OCI_MANIFEST, manifest_json(good.descriptor(), vec![layer])),
        );
        let t = Test::new();
        let out = pull(&t, &format!("{}/team/app:{tag}", reg.host()), &[]);
        assert_fails(&out, 1, &[why]);
        assert_layout_sane(&t.layout());
    }
}

#[test]
fn blob_longer_or_shorter_than_its_descriptor_is_refused() {
    let reg = Registry::start();
    let config = Blob::new("application/vnd.oci.image.config.v1+json", b"{}".to_vec());
    let layer = Blob::new("application/vnd.oci.image.layer.v1.tar", vec![7u8; 5000]);
    reg.push_blob(&config).push_blob(&layer);
    for (tag, size, needle) in [("longer", 4000, "4000"), ("shorter", 6000, "6000")] {
        let mut d = layer.descriptor();
        d["size"] = json!(size);
        reg.push_manifest(
            "team/app",
            tag,
            &Blob::new(OCI_MANIFEST, manifest_json(config.descriptor(), vec![d])),
        );
        let t = Test::new();
        let out = pull(&t, &format!("{}/team/app:{tag}", reg.host()), &[]);
        assert_fails(&out, 1, &[&layer.digest, needle]);
        assert!(!layout_has_blob(&t.layout(), &layer.digest));
        assert_layout_sane(&t.layout());
        assert!(!t.layout().join("index.json").exists());
    }
}

#[test]
fn endless_blob_is_cut_at_the_descriptor_size_and_the_next_source_serves() {
    let img = Image::oci(32, &[100_000]);
    let (mirror, authority, via_authority) = mirror_and_authority(&img);
    let layer = img.layers[0].digest.clone();
    mirror.fault(Fault::EndlessBlob(layer.clone()));
    // Alone, the endless mirror is a clear, quick error...
    let t = Test::new();
    let reference = format!("{}/team/app:v1", mirror.host());
    let out = pull(&t, &reference, &[]);
    assert_fails(&out, 1, &["longer than its descriptor"]);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    assert!(
        partials(&t).iter().all(|p| std::fs::metadata(
            t.layout().join(".ocimirror/partial").join(p)
        )
        .unwrap()
        .len()
            <= 100_000)
    );
    assert_layout_sane(&t.layout());
    // ...and with a good source after it, a fallback.
    let t = Test::new();
    let out = pull(&t, &via_authority, &["--mirror", &mirror.url(), "--json"]);
    assert_clean(&out);
    out.assert_success();
    let j = out.json();
    let blob =
        j["blobs"].as_array().unwrap().iter().find(|b| b["digest"] == *layer).unwrap().clone();
    assert_eq!(blob["endpoint"], authority.url());
    assert_layout_valid(&t.layout());
}

/// A mirror holding the image but answering with `fault`: pulled from
/// directly, a clear failure (exit 1, a message naming `needle`) that leaves
/// a sane layout; in front of an authority holding the same image, passed
/// over. Returns the second pull's JSON and the two registries.
fn refused_then_the_authority_serves(
    seed: u64,
    fault: impl Fn(&Image) -> Fault,
    needle: &str,
) -> (Value, Registry, Registry, Image) {
    let img = Image::oci(seed, &[50_000]);
    let (mirror, authority, reference) = mirror_and_authority(&img);
    mirror.fault(fault(&img));
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", mirror.host()), &[]);
    assert_fails(&out, 1, &[needle]);
    assert_layout_sane(&t.layout());
    let t = Test::new();
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json"]);
    assert_clean(&out);
    out.assert_success();
    assert_layout_valid(&t.layout());
    (out.json(), mirror, authority, img)
}

#[test]
fn corrupt_blob_is_never_stored_and_the_next_source_serves() {
    let (j, mirror, authority, img) = refused_then_the_authority_serves(
        33,
        |img| Fault::CorruptBlob(img.layers[0].digest.clone()),
        "wrong content",
    );
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "the manifest was fine");
    let layer = &img.layers[0].digest;
    let blob = j["blobs"].as_array().unwrap().iter().find(|b| b["digest"] == *layer).unwrap();
    assert_eq!(blob["endpoint"], authority.url());
}

#[test]
fn wrong_docker_content_digest_is_refused_and_the_next_source_serves() {
    let (j, _, authority, _) = refused_then_the_authority_serves(
        34,
        |_| Fault::WrongContentDigest,
        "Docker-Content-Digest",
    );
    assert_eq!(j["servedBy"]["endpoint"], authority.url());
}

#[test]
fn html_with_status_200_is_refused_and_the_next_source_serves() {
    let (j, _, authority, _) =
        refused_then_the_authority_serves(35, |_| Fault::HtmlManifests, "HTML");
    assert_eq!(j["servedBy"]["endpoint"], authority.url());
}

#[test]
fn media_type_disagreeing_with_content_type_is_refused() {
    let reg = Registry::start();
    let img = Image::oci(36, &[1000]);
    reg.push_image("team/app", "v1", &img);
    // The body says image manifest; the header will say index.
    reg.push_manifest("team/app", "liar", &Blob::new(OCI_INDEX, img.manifest.bytes.clone()));
    // A Docker manifest served as an OCI one.
    let docker = Image::builder(37).docker().layers(&[10]).build();
    reg.push_image("team/app", "docker", &docker);
    reg.push_manifest("team/app", "liar2", &Blob::new(OCI_MANIFEST, docker.manifest.bytes.clone()));
    for tag in ["liar", "liar2"] {
        let t = Test::new();
        let out = pull(&t, &format!("{}/team/app:{tag}", reg.host()), &[]);
        assert_fails(&out, 1, &["disagrees", "mediaType"]);
        assert_layout_sane(&t.layout());
    }
    // The honest Docker one is fine.
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:docker", reg.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(layout_index(&t.layout())["manifests"][0]["mediaType"], DOCKER_MANIFEST);
}

#[test]
fn schema1_manifest_is_refused_with_a_clear_message() {
    let reg = Registry::start();
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 1, "name": "team/app", "tag": "old", "architecture": "amd64",
        "fsLayers": [{"blobSum": sha256(b"x")}], "history": [{"v1Compatibility": "{}"}],
        "signatures": [],
    }))
    .unwrap();
    reg.push_manifest(
        "team/app",
        "signed",
        &Blob::new("application/vnd.docker.distribution.manifest.v1+prettyjws", body.clone()),
    );
    reg.push_manifest(
        "team/app",
        "plain",
        &Blob::new("application/vnd.docker.distribution.manifest.v1+json", body.clone()),
    );
    // No schema1 media type at all, only the body gives it away.
    reg.push_manifest("team/app", "json", &Blob::new("application/json", body));
    for tag in ["signed", "plain", "json"] {
        let t = Test::new();
        let out = pull(&t, &format!("{}/team/app:{tag}", reg.host()), &["--json"]);
        assert_fails(&out, 1, &["schema 1"]);
        let j = out.json();
        assert_eq!(j["error"]["kind"], "failure");
        assert!(j["error"]["message"].as_str().unwrap().contains("schema 1"));
        assert_layout_sane(&t.layout());
    }
}

#[test]
fn redirect_loop_is_a_clear_error_and_the_next_source_serves() {
    let img = Image::oci(38, &[1000]);
    let (mirror, authority, reference) = mirror_and_authority(&img);
    mirror.fault(Fault::RedirectLoop);
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", mirror.host()), &[]);
    assert_fails(&out, 1, &["redirect loop"]);
    assert!(
        mirror.count("GET", "/v2/team/app/manifests/") <= 6 * 3,
        "bounded: {}",
        mirror.count("GET", "/v2/")
    );
    let t = Test::new();
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], authority.url());
}

// ---------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------

#[test]
fn blob_redirected_to_another_host_never_carries_authorization() {
    for auth in [
        Auth::Basic { user: USER.into(), pass: SECRET.into() },
        Auth::Bearer { user_pass: Some((USER.into(), SECRET.into())) },
    ] {
        let reg = Registry::start();
        let storage = Registry::start();
        let img = Image::oci(41, &[10_000, 20_000]);
        reg.push_image("team/app", "v1", &img);
        storage.push_image("team/app", "v1", &img);
        reg.set_auth(auth.clone());
        reg.fault(Fault::RedirectBlobsTo(storage.url()));
        let t = basic_docker_config(Test::new(), &reg.host());
        let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["-vv"]);
        assert_clean(&out);
        assert_no_token(&out, &reg);
        out.assert_success();
        assert!(
            reg.requests().iter().any(|r| r.header("authorization").is_some()),
            "{auth:?}: credentials were in use on the registry itself"
        );
        assert_eq!(
            storage.count("GET", "/v2/team/app/blobs/"),
            img.blobs().len(),
            "blobs came from storage"
        );
        for r in storage.requests() {
            assert_eq!(
                r.header("authorization"),
                None,
                "{auth:?}: Authorization followed the redirect to {}",
                r.path
            );
        }
        assert_layout_valid(&t.layout());
    }
}

#[test]
fn a_redirect_targets_challenge_never_gets_the_registrys_credentials() {
    // Storage that itself asks for a token must not be answered with the
    // registry's password: its token service is its own business.
    let reg = Registry::start();
    let storage = Registry::start();
    let img = Image::oci(42, &[10_000]);
    reg.push_image("team/app", "v1", &img);
    storage.push_image("team/app", "v1", &img);
    reg.set_auth(Auth::Basic { user: USER.into(), pass: SECRET.into() });
    reg.fault(Fault::RedirectBlobsTo(storage.url()));
    storage.set_auth(Auth::Bearer { user_pass: None });
    let t = basic_docker_config(Test::new(), &reg.host());
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    assert_clean(&out);
    let carried: Vec<String> = storage
        .requests()
        .into_iter()
        .filter(|r| r.header("authorization").is_some())
        .map(|r| r.path)
        .collect();
    assert!(carried.is_empty(), "the registry's credentials went to {carried:?}");
    assert_layout_sane(&t.layout());
}

#[test]
fn a_token_realm_on_an_https_registry_must_not_be_plain_http() {
    let t = Test::new();
    let pki = pki(&t);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(43, &[1000]));
    reg.set_auth(Auth::Bearer { user_pass: Some((USER.into(), SECRET.into())) });
    // A plain-HTTP realm on a host that is not loopback (and never resolves):
    // refused before any connection.
    reg.set_realm("http://auth.ocimirror-test.invalid/token");
    let front = TlsFront::start(&reg, &pki, false);
    let ca = format!("ca_file = {:?}\n", pki.ca);
    let t = basic_docker_config(t, &front.host()).config(&tls_config(&front.host(), &ca));
    let out = pull(&t, &format!("{}/team/app:v1", front.host()), &[]);
    assert_fails(&out, 1, &["clear text", "plain_http = true"]);
}

/// A registry behind TLS that wants a Bearer token, its token service on a
/// second TLS host (the same CA, no settings of its own), the credentials
/// in `t`'s docker config and `settings` for the registry's host.
fn registry_with_its_token_service_elsewhere(
    t: Test,
    pki: &Pki,
    seed: u64,
    settings: &str,
) -> (Registry, [TlsFront; 2], Test) {
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(seed, &[1000]));
    reg.set_auth(Auth::Bearer { user_pass: Some((USER.into(), SECRET.into())) });
    let front = TlsFront::start(&reg, pki, false);
    let auth = TlsFront::start(&reg, pki, false);
    reg.set_realm(&format!("https://{}/token", auth.host()));
    let t = basic_docker_config(t, &front.host()).config(&tls_config(&front.host(), settings));
    (reg, [front, auth], t)
}

#[test]
fn a_token_realm_on_another_host_does_not_inherit_relaxed_tls() {
    let t = Test::new();
    let pki = pki(&t);
    // The token service's certificate is trusted by nobody here.
    let (reg, [front, _auth], t) =
        registry_with_its_token_service_elsewhere(t, &pki, 44, "tls_verify = false\n");
    let out = pull(&t, &format!("{}/team/app:v1", front.host()), &[]);
    assert_fails(&out, 1, &["certificate"]);
    let sent = reg.requests().iter().filter(|r| r.path == "/token").count();
    assert_eq!(sent, 0, "the credentials reached an unverified token service");
}

#[test]
fn a_token_realm_on_another_host_is_trusted_through_the_registrys_ca_file() {
    // An internal CA signs both the registry and its token service; only the
    // registry is configured.
    let t = Test::new();
    let pki = pki(&t);
    let ca = format!("ca_file = {:?}\n", pki.ca);
    let (reg, [front, _auth], t) = registry_with_its_token_service_elsewhere(t, &pki, 48, &ca);
    let out = pull(&t, &format!("{}/team/app:v1", front.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    assert!(reg.requests().iter().any(|r| r.path == "/token"));
    assert_layout_valid(&t.layout());
}

#[test]
fn a_redirect_target_does_not_inherit_relaxed_tls() {
    let t = Test::new();
    let pki = pki(&t);
    let reg = Registry::start();
    let storage = Registry::start();
    let img = Image::oci(45, &[1000]);
    reg.push_image("team/app", "v1", &img);
    storage.push_image("team/app", "v1", &img);
    let front = TlsFront::start(&reg, &pki, false);
    let storage_front = TlsFront::start(&storage, &pki, false);
    reg.fault(Fault::RedirectBlobsTo(format!("https://{}", storage_front.host())));
    let t = t.config(&tls_config(&front.host(), "insecure = true\n"));
    let out = pull(&t, &format!("{}/team/app:v1", front.host()), &[]);
    assert_fails(&out, 1, &["certificate"]);
    assert_eq!(storage.count("GET", "/v2/team/app/blobs/"), 0);
    // Nor does a redirect target that cannot be reached switch the
    // insecure host itself to plain HTTP.
    assert!(!out.stderr.contains("plain HTTP is used"), "{}", out.dump());
}

#[test]
fn a_token_service_that_never_answers_costs_one_response_timeout() {
    use crate::support::registry::HangServer;
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(46, &[1000]));
    reg.set_auth(Auth::Bearer { user_pass: None });
    let hung = HangServer::start();
    reg.set_realm(&format!("{}/token", hung.url()));
    let t = Test::new().timeout(Duration::from_secs(30));
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--response-timeout", "1"]);
    assert_fails(&out, 1, &["token service", "no response"]);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

#[test]
fn bad_config_and_credential_files_are_reported_without_their_values() {
    // A containerd-style `header` typo in config.toml, with a token in it.
    let config =
        format!("[hosts.\"r.example\"]\nheader = {{ Authorization = \"Bearer {SECRET}\" }}\n");
    let t = Test::new().config(&config);
    let out = t.run_with(["mirrors"]);
    assert_fails(&out, 2, &["config.toml, line 2", "unknown field `header`"]);
    // A docker config whose password is a number: skipped with a warning
    // that does not quote it.
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(47, &[1000]));
    let t = Test::new()
        .docker_config(json!({"auths": {reg.host(): {"username": USER, "password": 918273645}}}));
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    assert!(out.stderr.contains("ignoring credentials file"), "{}", out.dump());
    assert!(!out.stderr.contains("918273645"), "{}", out.dump());
}

#[test]
fn junk_from_the_token_endpoint_is_a_clear_error_without_credentials_in_it() {
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(42, &[1000]));
    reg.set_auth(Auth::Bearer { user_pass: Some((USER.into(), SECRET.into())) });
    reg.fault(Fault::JunkToken);
    let t = basic_docker_config(Test::new(), &reg.host());
    for extra in [&[][..], &["-vv"][..], &["--json"][..]] {
        let out = pull(&t, &format!("{}/team/app:v1", reg.host()), extra);
        // A broken token service is a failure, not "access denied": the
        // credentials were never judged, so "add credentials" would mislead.
        assert_fails(&out, 1, &["token service", "not a token"]);
        assert!(!out.stderr.contains("docker login"), "misleading hint\n{}", out.dump());
        assert_layout_sane(&t.layout());
    }
    assert!(reg.count("GET", "/token") >= 1);
}

#[test]
fn rejected_credentials_are_denied_without_echoing_them() {
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(43, &[1000]));
    reg.set_auth(Auth::Bearer { user_pass: Some((USER.into(), "the-real-one".into())) });
    let t = basic_docker_config(Test::new(), &reg.host());
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["-vv"]);
    assert_fails(&out, 4, &["refused"]);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(43, &[1000]));
    reg.set_auth(Auth::Basic { user: USER.into(), pass: "the-real-one".into() });
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["-vv", "--json"]);
    assert_fails(&out, 4, &["401"]);
}

// ---------------------------------------------------------------------------
// Crash safety, interruption, concurrency
// ---------------------------------------------------------------------------

/// A tiny deterministic generator, so the "random" kill moments are the same
/// on every run and a failure can be reproduced.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn pulls_killed_at_random_moments_leave_a_valid_layout_and_rerun_succeeds() {
    let reg = Registry::start();
    let images: Vec<Image> =
        (0..6).map(|i| Image::oci(50 + i, &[MIB + 4321, 2 * MIB, 70_000, 300])).collect();
    for (i, img) in images.iter().enumerate() {
        reg.push_image("team/app", &format!("v{i}"), img);
        // Some downloads are also cut mid-body, so kills land in resumes too.
        reg.fault(Fault::TruncateBlob {
            digest: img.layers[1].digest.clone(),
            after: MIB + 17,
            times: 1,
        });
    }
    // The last image times one whole pull on this machine (with its cut and
    // resume), so the kill moments spread over a pull however fast it is.
    // Timed twice, each into a new layout, and the faster one kept: the
    // first run of a freshly built binary (a clean CI clone) is slow to
    // start, and timed alone it made every kill land after the pull. (The
    // second one is not cut: the fault is spent; a resume on loopback costs
    // a request, not a share of the window.)
    let (calibration, images) = images.split_last().unwrap();
    let reference = format!("{}/team/app:v{}", reg.host(), images.len());
    let timed = || {
        let c = Test::new();
        let out = pull(&c, &reference, &["-j", "2"]);
        out.assert_success();
        assert!(layout_has_blob(&c.layout(), &calibration.manifest.digest));
        out.elapsed
    };
    let fastest = timed().min(timed());
    let window = (fastest.as_millis() as u64 * 9 / 10).max(10);
    let t = Test::new();
    let mut rng = Lcg(0x5eed_0004);
    let mut kills = Vec::new();
    for round in 0..2 {
        for (i, _) in images.iter().enumerate() {
            let reference = format!("{}/team/app:v{i}", reg.host());
            let delay = Duration::from_millis(rng.next(window));
            let mut run = t.spawn(pull_args(&t, &reference, &["-j", "2"]));
            std::thread::sleep(delay);
            let finished = run.exited();
            let out = run.kill();
            assert_clean(&out);
            kills.push((round, i, delay, finished));
            assert_layout_sane(&t.layout());
        }
    }
    eprintln!("pull time {window} ms; kills (round, image, delay, had finished): {kills:?}");
    // Re-pulls (round 1) find some blobs in place and may finish early.
    assert!(kills.iter().filter(|k| !k.3).count() >= 4, "kills should land mid-run: {kills:?}");
    for i in 0..images.len() {
        let out = pull(&t, &format!("{}/team/app:v{i}", reg.host()), &[]);
        assert_clean(&out);
        out.assert_success();
    }
    assert_layout_valid(&t.layout());
    let index = layout_index(&t.layout());
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), images.len(), "one entry per name");
    for (i, img) in images.iter().enumerate() {
        let name = format!("{}/team/app:v{i}", reg.host());
        let e = entries
            .iter()
            .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from index.json"));
        assert_eq!(e["digest"], img.manifest.digest);
        for b in img.blobs() {
            assert!(layout_has_blob(&t.layout(), &b.digest));
        }
    }
    assert!(partials(&t).is_empty(), "every partial was completed: {:?}", partials(&t));
}

#[test]
fn concurrent_pulls_into_one_layout_all_succeed_with_one_entry_per_name() {
    let reg = Registry::start();
    let shared = Image::oci(60, &[MIB + 1, 300_000, 5000]);
    let other = Image::oci(61, &[400_000, 5000]);
    reg.push_image("team/app", "v1", &shared);
    reg.push_image("team/app", "also-v1", &shared);
    reg.push_image("team/other", "v1", &other);
    let t = Test::new();
    let refs = [
        format!("{}/team/app:v1", reg.host()),
        format!("{}/team/app:v1", reg.host()),
        format!("{}/team/app:also-v1", reg.host()),
        format!("{}/team/other:v1", reg.host()),
    ];
    // Into an empty layout, then again into the full one a few times: with
    // nothing to download, the four index updates collide most closely.
    for round in 0..4 {
        let runs: Vec<_> = refs.iter().map(|r| t.spawn(pull_args(&t, r, &["--json"]))).collect();
        for (r, run) in refs.iter().zip(runs) {
            let out = run.wait(Duration::from_secs(30));
            assert_clean(&out);
            out.assert_success();
            assert_eq!(out.json()["reference"], *r, "round {round}");
        }
        assert_layout_valid(&t.layout());
        let index = layout_index(&t.layout());
        let mut names: Vec<String> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["annotations"]["org.opencontainers.image.ref.name"].as_str().unwrap().to_string()
            })
            .collect();
        names.sort();
        let mut want: Vec<String> = refs[1..].to_vec();
        want.sort();
        assert_eq!(names, want, "round {round}: exactly one entry per name");
        assert!(partials(&t).is_empty());
    }
    // Each shared blob was downloaded once in the first round, not once per
    // process: the others waited for it (the lock) and found it in place.
    for b in shared.blobs() {
        assert_eq!(blob_ranges(&reg, &b.digest).len(), 1, "{} fetched more than once", b.digest);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn write_error_fails_clearly_and_keeps_what_was_written() {
    let reg = Registry::start();
    let img = Image::oci(72, &[3 * MIB]);
    reg.push_image("team/app", "v1", &img);
    let layer = img.layers[0].digest.clone();
    let reference = format!("{}/team/app:v1", reg.host());
    // No file may pass 1 MiB: writing the layer fails as on a full disk.
    let t = Test::new().file_size_limit(MIB as u64);
    let out = t.run_with(pull_args(&t, &reference, &["--no-cache"]));
    let partial = partial_path(&t, &layer);
    assert_fails(&out, 1, &["file too large", &partial.display().to_string()]);
    assert_layout_sane(&t.layout());
    assert!(!t.layout().join("index.json").exists());
    assert!(!layout_has_blob(&t.layout(), &layer));
    // What did get written stays, and the next run (room again) resumes it.
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), MIB as u64);
    let t = t.file_size_limit(u64::MAX);
    let out = t.run_with(pull_args(&t, &reference, &["--no-cache"]));
    assert_clean(&out);
    out.assert_success();
    assert_eq!(blob_ranges(&reg, &layer).last().unwrap().as_deref(), Some("bytes=1048576-"));
    assert_layout_valid(&t.layout());
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_last_write_is_never_completed_by_an_empty_answer() {
    // The download is cut once, the resumed one fails on its very last
    // write (a file size limit one byte short), and the server would answer
    // a request for the bytes after the end with an empty 206: the writer
    // must not take that as the rest of a blob it never wrote.
    let size = 3 * MIB + 12345;
    let reg = Registry::start();
    let img = Image::oci(73, &[size]);
    reg.push_image("team/app", "v1", &img);
    let layer = img.layers[0].digest.clone();
    reg.fault(Fault::TruncateBlob { digest: layer.clone(), after: MIB, times: 1 });
    reg.fault(Fault::EmptyRangeAtEnd);
    let t = Test::new().file_size_limit(size as u64 - 1);
    let out = t.run_with(pull_args(&t, &format!("{}/team/app:v1", reg.host()), &[]));
    assert_fails(&out, 1, &["file too large"]);
    assert!(!layout_has_blob(&t.layout(), &layer));
    assert_layout_sane(&t.layout());
}

// The Ctrl-C tests below pull with --no-cache: partial files then live in
// the layout, and Ctrl-C removes them. Through the blob cache it keeps
// them, as resumable work (tests/integration/cache.rs).

#[test]
fn ctrl_c_stops_promptly_with_130_and_removes_partial_files() {
    let reg = Registry::start();
    let img = Image::oci(70, &[2 * MIB, 3 * MIB]);
    reg.push_image("team/app", "v1", &img);
    for l in &img.layers {
        reg.fault(Fault::StallBlob { digest: l.digest.clone(), after: 3 * MIB / 2 });
    }
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    let run = t.spawn(pull_args(&t, &reference, &["--json", "--no-cache"]));
    // Both downloads are stuck mid-body with a MiB on disk.
    for l in &img.layers {
        let p = partial_path(&t, &l.digest);
        wait_until(Duration::from_secs(20), "partial files", || {
            std::fs::metadata(&p).is_ok_and(|m| m.len() >= MIB as u64)
        });
    }
    let sent = Instant::now();
    run.interrupt();
    let out = run.wait(Duration::from_secs(10));
    let took = sent.elapsed();
    assert_clean(&out);
    out.assert_code(130);
    assert!(took < Duration::from_secs(2), "Ctrl-C took {took:?}");
    assert!(out.stderr.contains("interrupted"), "{}", out.dump());
    assert_eq!(out.json()["error"]["kind"], "interrupted");
    assert!(partials(&t).is_empty(), "partial files left: {:?}", partials(&t));
    assert_layout_sane(&t.layout());
    assert!(!t.layout().join("index.json").exists());
    // The config blob that did finish stays; a rerun completes the rest.
    assert!(layout_has_blob(&t.layout(), &img.config.digest));
    reg.clear_faults();
    let out = pull(&t, &reference, &["--no-cache"]);
    assert_clean(&out);
    out.assert_success();
    assert_layout_valid(&t.layout());
}

#[test]
fn ctrl_c_during_a_fast_download_removes_its_partial_file() {
    // Unlike a stalled body, bytes are streaming (and being written) at the
    // moment of the signal: the cleanup must not lose the race with them.
    let reg = Registry::start();
    let config = Blob::new("application/vnd.oci.image.config.v1+json", b"{}".to_vec());
    reg.push_blob(&config);
    // A 512 MiB layer of zeros, served as an endless stream of zeros.
    let layer = json!({
        "mediaType": "application/vnd.oci.image.layer.v1.tar",
        "digest": sha256(b"never checked: the pull is interrupted first"),
        "size": 512 * MIB,
    });
    let digest = layer["digest"].as_str().unwrap().to_string();
    reg.push_manifest(
        "team/app",
        "v1",
        &Blob::new(OCI_MANIFEST, manifest_json(config.descriptor(), vec![layer])),
    );
    reg.fault(Fault::EndlessBlob(digest.clone()));
    for round in 0..3 {
        let t = Test::new();
        let run = t.spawn(pull_args(&t, &format!("{}/team/app:v1", reg.host()), &["--no-cache"]));
        let p = partial_path(&t, &digest);
        wait_until(Duration::from_secs(20), "a growing partial file", || {
            std::fs::metadata(&p).is_ok_and(|m| m.len() >= (2 * MIB) as u64)
        });
        run.interrupt();
        let out = run.wait(Duration::from_secs(10));
        assert_clean(&out);
        out.assert_code(130);
        assert!(partials(&t).is_empty(), "round {round}: partial files left: {:?}", partials(&t));
        assert_layout_sane(&t.layout());
    }
}

#[test]
fn ctrl_c_is_heard_while_waiting_for_the_index_lock() {
    let reg = Registry::start();
    let img = Image::oci(75, &[1000]);
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    // Another pull is updating index.json (this test holds its lock).
    std::fs::create_dir_all(t.layout().join(".ocimirror")).unwrap();
    let lock = std::fs::File::create(t.layout().join(".ocimirror/index.lock")).unwrap();
    lock.lock().unwrap();
    let run = t.spawn(pull_args(&t, &reference, &[]));
    // Every blob is in place: what is left is waiting for the lock.
    wait_until(Duration::from_secs(20), "the blobs in place", || {
        img.blobs().iter().all(|b| layout_has_blob(&t.layout(), &b.digest))
    });
    std::thread::sleep(Duration::from_millis(200));
    let sent = Instant::now();
    run.interrupt();
    let out = run.wait(Duration::from_secs(10));
    assert_clean(&out);
    out.assert_code(130);
    assert!(sent.elapsed() < Duration::from_secs(3), "Ctrl-C took {:?}", sent.elapsed());
    assert!(!t.layout().join("index.json").exists());
}

#[test]
fn ctrl_c_of_one_pull_does_not_break_another_waiting_for_the_same_blob() {
    let reg = Registry::start();
    let img = Image::oci(71, &[2 * MIB]);
    reg.push_image("team/app", "v1", &img);
    let layer = img.layers[0].digest.clone();
    reg.fault(Fault::StallBlob { digest: layer.clone(), after: 3 * MIB / 2 });
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    let first = t.spawn(pull_args(&t, &reference, &["--no-cache"]));
    let p = partial_path(&t, &layer);
    wait_until(Duration::from_secs(20), "the first pull's partial", || {
        std::fs::metadata(&p).is_ok_and(|m| m.len() >= MIB as u64)
    });
    // The second finds the blob locked and waits for the first.
    let second = t.spawn(pull_args(&t, &reference, &["--json", "--no-cache"]));
    wait_until(Duration::from_secs(20), "the second pull's manifest request", || {
        reg.count("GET", "/v2/team/app/manifests/") >= 2
    });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(blob_ranges(&reg, &layer).len(), 1, "the second pull waits instead of downloading");
    reg.clear_faults();
    first.interrupt();
    let out = first.wait(Duration::from_secs(10));
    assert_clean(&out);
    out.assert_code(130);
    let out = second.wait(Duration::from_secs(30));
    assert_clean(&out);
    out.assert_success();
    assert!(partials(&t).is_empty(), "{:?}", partials(&t));
    assert_layout_valid(&t.layout());
    assert!(layout_has_blob(&t.layout(), &layer));
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

/// A fresh test PKI in the test's directory.
fn pki(t: &Test) -> Pki {
    Pki::generate(&t.path().join("pki"))
}

/// Loopback hosts default to plain HTTP; this makes a host HTTPS.
fn tls_config(host: &str, extra: &str) -> String {
    format!("[hosts.\"{host}\"]\nplain_http = false\n{extra}")
}

#[test]
fn tls_verification_is_on_by_default() {
    let t = Test::new();
    let pki = pki(&t);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(80, &[1000]));
    let front = TlsFront::start(&reg, &pki, false);
    let t = t.config(&tls_config(&front.host(), ""));
    let out = pull(&t, &format!("{}/team/app:v1", front.host()), &[]);
    assert_fails(&out, 1, &["certificate"]);
    assert_eq!(reg.requests().len(), 0, "nothing was sent over the untrusted connection");
    // Trusting some other CA does not help.
    let t2 = Test::new();
    let t2 = t2.config(&tls_config(&front.host(), &format!("ca_file = {:?}\n", pki.other_ca)));
    let out = pull(&t2, &format!("{}/team/app:v1", front.host()), &[]);
    assert_fails(&out, 1, &["certificate"]);
    assert_eq!(reg.requests().len(), 0);
}

#[test]
fn tls_per_host_ca_file_is_trusted_for_that_host() {
    let t = Test::new();
    let pki = pki(&t);
    let reg = Registry::start();
    let img = Image::oci(81, &[20_000]);
    reg.push_image("team/app", "v1", &img);
    let front = TlsFront::start(&reg, &pki, false);
    let t = t.config(&tls_config(&front.host(), &format!("ca_file = {:?}\n", pki.ca)));
    let out = pull(&t, &format!("{}/team/app:v1", front.host()), &["--json"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], front.url());
    assert!(reg.count("GET", "/v2/team/app/blobs/") >= 2, "served through TLS");
    assert_layout_valid(&t.layout());
    // The CA is trusted for that host only: a second TLS host with the same
    // certificate but no ca_file of its own is refused.
    let front2 = TlsFront::start(&reg, &pki, false);
    let config = format!(
        "{}\n{}",
        tls_config(&front.host(), &format!("ca_file = {:?}\n", pki.ca)),
        tls_config(&front2.host(), "")
    );
    let t2 = Test::new().config(&config);
    let out = pull(&t2, &format!("{}/team/app:v1", front2.host()), &[]);
    assert_fails(&out, 1, &["certificate"]);
}

#[test]
fn tls_verify_false_applies_only_where_configured() {
    let t = Test::new();
    let pki = pki(&t);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(82, &[1000]));
    let front = TlsFront::start(&reg, &pki, false);
    let other = TlsFront::start(&reg, &pki, false);
    // Verification off for `other` only: `front` is still checked.
    let config = format!(
        "{}\n{}",
        tls_config(&front.host(), ""),
        tls_config(&other.host(), "tls_verify = false\n")
    );
    let t = t.config(&config);
    let out = pull(&t, &format!("{}/team/app:v1", front.host()), &[]);
    assert_fails(&out, 1, &["certificate"]);
    let out = pull(&t, &format!("{}/team/app:v1", other.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    assert_layout_valid(&t.layout());
}

#[test]
fn insecure_hosts_take_any_certificate_and_fall_back_to_plain_http() {
    let t = Test::new();
    let pki = pki(&t);
    let reg = Registry::start();
    let img = Image::oci(85, &[1000, 2000]);
    reg.push_image("team/app", "v1", &img);
    // HTTPS with a certificate nobody trusts: taken as it is, no fallback.
    let front = TlsFront::start(&reg, &pki, false);
    let t = t.config(&tls_config(&front.host(), "insecure = true\n"));
    let out = pull(&t, &format!("{}/team/app:v1", front.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    assert!(!out.stderr.contains("plain HTTP"), "{}", out.dump());
    assert_layout_valid(&t.layout());
    // A host with no TLS at all: an error unless it is insecure; then plain
    // HTTP, said once, used for every request of the run.
    let plain = Registry::start();
    plain.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", plain.host());
    let strict = Test::new().config(&tls_config(&plain.host(), ""));
    let out = pull(&strict, &reference, &[]);
    assert_fails(&out, 1, &["does not speak TLS", "plain_http = true"]);
    assert_eq!(plain.requests().len(), 0, "nothing went over plain HTTP");
    let lax = Test::new().config(&tls_config(&plain.host(), "insecure = true\n"));
    let out = pull(&lax, &reference, &["--json"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(out.stderr.matches("plain HTTP is used").count(), 1, "{}", out.dump());
    assert!(plain.count("GET", "/v2/team/app/blobs/") >= 3, "the blobs came over HTTP too");
    assert_layout_valid(&lax.layout());
}

#[test]
fn tls_client_certificate_is_sent_when_configured() {
    let t = Test::new();
    let pki = pki(&t);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(83, &[1000]));
    let front = TlsFront::start(&reg, &pki, true);
    let ca = format!("ca_file = {:?}\n", pki.ca);
    let without = Test::new().config(&tls_config(&front.host(), &ca));
    let out = pull(&without, &format!("{}/team/app:v1", front.host()), &[]);
    assert_clean(&out);
    assert!(!out.success(), "the server requires a client certificate\n{}", out.dump());
    assert_eq!(reg.requests().len(), 0);
    let with =
        t.config(&tls_config(&front.host(), &format!("{ca}client_cert = {:?}\n", pki.client)));
    let out = pull(&with, &format!("{}/team/app:v1", front.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    assert_layout_valid(&with.layout());
    // The key in a file of its own (containerd's [cert, key] pairs).
    let pair =
        format!("{ca}client_cert = {:?}\nclient_key = {:?}\n", pki.client_cert, pki.client_key);
    let with_pair = Test::new().config(&tls_config(&front.host(), &pair));
    let out = pull(&with_pair, &format!("{}/team/app:v1", front.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    // The certificate without its key is a configuration error that says
    // what to do.
    let no_key = format!("{ca}client_cert = {:?}\n", pki.client_cert);
    let out = pull(
        &Test::new().config(&tls_config(&front.host(), &no_key)),
        &format!("{}/team/app:v1", front.host()),
        &[],
    );
    assert_fails(&out, 2, &["client_key"]);
}

#[test]
fn tls_redirect_to_plain_http_is_refused() {
    // A blob redirect must not downgrade HTTPS to HTTP (the Authorization
    // header stays behind anyway, but the bytes would travel in the clear).
    let t = Test::new();
    let pki = pki(&t);
    let reg = Registry::start();
    let storage = Registry::start();
    let img = Image::oci(84, &[1000]);
    reg.push_image("team/app", "v1", &img);
    storage.push_image("team/app", "v1", &img);
    reg.fault(Fault::RedirectBlobsTo(storage.url()));
    let front = TlsFront::start(&reg, &pki, false);
    let t = t.config(&tls_config(&front.host(), &format!("ca_file = {:?}\n", pki.ca)));
    let out = pull(&t, &format!("{}/team/app:v1", front.host()), &[]);
    assert_fails(&out, 1, &["plain HTTP"]);
    assert_eq!(storage.requests().len(), 0, "nothing was fetched over plain HTTP");
    assert_layout_sane(&t.layout());
}
