//! Big blobs over links that cap each connection: fetched as several
//! `Range` requests on separate connections, hashed once, resumed whole.

use std::time::{Duration, Instant};

use crate::support::image::Image;
use crate::support::registry::{Fault, Registry};
use crate::support::tls::{Pki, TlsFront};
use crate::support::{Test, assert_layout_valid};

const MIB: usize = 1 << 20;
/// Lowered so that test blobs of a few MiB are split (halves of at least
/// a quarter of it: 256 KiB).
const THRESHOLD: &str = "1048576";

/// The `Range` starts of the GETs for one blob, in order (0 for none).
fn range_starts(reg: &Registry, digest: &str) -> Vec<u64> {
    reg.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&format!("/blobs/{digest}")))
        .map(|r| {
            let range = r.header("range").unwrap_or("bytes=0-");
            range.trim_start_matches("bytes=").trim_end_matches('-').parse().unwrap_or(u64::MAX)
        })
        .collect()
}

fn pull(t: &Test, reference: &str, extra: &[&str]) -> crate::support::Output {
    let layout = t.layout_str();
    let mut args = vec!["pull", reference, "-o", &layout, "--split-threshold", THRESHOLD, "--json"];
    args.extend_from_slice(extra);
    t.run_with(&args)
}

#[test]
fn a_capped_link_gets_a_big_blob_on_several_connections() {
    let img = Image::oci(90, &[8 * MIB]);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &img);
    // 1 MiB/s per connection: 8 s on one.
    reg.fault(Fault::Pace { bytes_per_sec: MIB as u64 });
    let t = Test::new();
    let started = Instant::now();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    out.assert_success();
    let starts = range_starts(&reg, &img.layers[0].digest);
    assert!(starts.len() >= 2, "split over several connections: {starts:?}");
    assert_eq!(starts[0], 0, "{starts:?}");
    let mut distinct = starts.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), starts.len(), "each connection its own range: {starts:?}");
    assert!(starts.iter().all(|s| s % (64 << 10) == 0), "aligned: {starts:?}");
    assert!(started.elapsed() < Duration::from_secs(7), "{:?}", started.elapsed());
    // Hashed once, whole: assert_layout_valid re-hashes every blob.
    assert_layout_valid(&t.layout());
    let j = out.json();
    assert_eq!(j["blobs"][1]["endpoint"], reg.url(), "{j}");
}

#[test]
fn a_fast_link_is_never_split() {
    let img = Image::oci(91, &[6 * MIB]);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    pull(&t, &format!("{}/team/app:v1", reg.host()), &[]).assert_success();
    assert_eq!(range_starts(&reg, &img.layers[0].digest), [0], "one connection on loopback");
    assert_layout_valid(&t.layout());
}

#[test]
fn a_source_that_ignores_range_is_read_on_one_connection() {
    let img = Image::oci(92, &[4 * MIB]);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &img);
    reg.fault(Fault::Pace { bytes_per_sec: MIB as u64 }).fault(Fault::IgnoreRange);
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    out.assert_success();
    let starts = range_starts(&reg, &img.layers[0].digest);
    assert!(starts.len() <= 2, "one more try at most, then no split: {starts:?}");
    assert_layout_valid(&t.layout());
}

#[test]
fn a_killed_ranged_download_resumes_every_segment() {
    let img = Image::oci(93, &[8 * MIB]);
    let layer = img.layers[0].digest.clone();
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &img);
    reg.fault(Fault::Pace { bytes_per_sec: (MIB / 2) as u64 });
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    let layout = t.layout_str();
    // Without the blob cache, so the partial file is the layout's.
    let run =
        t.spawn(["pull", &reference, "-o", &layout, "--split-threshold", THRESHOLD, "--no-cache"]);
    let segments = t
        .layout()
        .join(".ocimirror/partial")
        .join(format!("{}.segments", layer.replacen(':', "-", 1)));
    let started = Instant::now();
    // Killed once two segments have bytes.
    loop {
        let kept: Vec<serde_json::Value> = std::fs::read(&segments)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if kept.iter().filter(|s| s["done"].as_u64().unwrap_or(0) > 0).count() >= 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no second segment: {kept:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(run.kill());
    reg.clear_faults();
    reg.clear_requests();
    let out = pull(&t, &reference, &["--no-cache"]);
    out.assert_success();
    let starts = range_starts(&reg, &layer);
    assert!(
        !starts.is_empty() && starts.iter().all(|&s| s > 0),
        "every request resumes: {starts:?}"
    );
    assert_layout_valid(&t.layout());
    assert!(!segments.exists(), "no leftover segment state");
}

/// The HTTP versions of the GETs whose path ends with `path_end`, in order.
fn versions(reg: &Registry, path_end: &str) -> Vec<String> {
    reg.requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(path_end))
        .map(|r| r.version)
        .collect()
}

/// A TLS front offering HTTP/2, and the config that trusts it.
fn http2_registry(t: &Test, img: &Image, network: &str) -> (Registry, TlsFront, String) {
    let pki = Pki::generate(&t.path().join("pki"));
    let reg = Registry::start();
    reg.push_image("team/app", "v1", img);
    let front = TlsFront::with_http2(&reg, &pki);
    let host = front.host();
    let config =
        format!("{network}[hosts.\"{host}\"]\nplain_http = false\nca_file = {:?}\n", pki.ca);
    (reg, front, config)
}

#[test]
fn small_requests_share_http2_and_big_blobs_keep_connections_of_their_own() {
    // Two small layers; one of 512 KiB (one request); one of 4 MiB, split
    // into ranges on the capped link.
    let img = Image::oci(91, &[1000, 2000, 512 << 10, 4 * MIB]);
    let t = Test::new();
    let (reg, front, config) = http2_registry(&t, &img, "");
    reg.fault(Fault::Pace { bytes_per_sec: MIB as u64 });
    let t = t.config(&config);
    pull(&t, &format!("{}/team/app:v1", front.host()), &[]).assert_success();
    assert_layout_valid(&t.layout());
    let h2 = ["HTTP/2.0".to_string()];
    assert_eq!(versions(&reg, "/manifests/v1"), h2);
    for small in [&img.config, &img.layers[0], &img.layers[1]] {
        assert_eq!(versions(&reg, &small.digest), h2, "{}", small.digest);
    }
    assert_eq!(versions(&reg, &img.layers[2].digest), ["HTTP/1.1"]);
    let big = &img.layers[3].digest;
    assert!(range_starts(&reg, big).len() >= 2, "split: {:?}", range_starts(&reg, big));
    assert!(versions(&reg, big).iter().all(|v| v == "HTTP/1.1"), "{:?}", versions(&reg, big));
}

#[test]
fn http2_turned_off_keeps_every_request_on_http1() {
    let img = Image::oci(92, &[1000, 2000]);
    let t = Test::new();
    let (reg, front, config) = http2_registry(&t, &img, "[network]\nhttp2 = false\n");
    let t = t.config(&config);
    pull(&t, &format!("{}/team/app:v1", front.host()), &[]).assert_success();
    let all: Vec<String> = reg.requests().into_iter().map(|r| r.version).collect();
    assert!(all.len() >= 4 && all.iter().all(|v| v == "HTTP/1.1"), "{all:?}");
}
