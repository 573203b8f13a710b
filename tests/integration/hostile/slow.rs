//! Slow on purpose: bodies that come a byte at a time (blobs, manifests,
//! errors, tokens), and a partial file locked by a holder that never
//! writes. A drip never stalls long enough to trip a stall timeout, so
//! each kind of body has a deadline of its own: small bodies must arrive
//! whole within `--body-timeout`, blobs must keep up `--speed-limit` over
//! every `--stall-timeout` window.

use std::io::Write as _;
use std::time::Duration;

use super::{SLACK, assert_clean, assert_within, blob_endpoints, gets, partial_path, pull};
use crate::support::image::Image;
use crate::support::registry::{Auth, DripBodies, Fault, Registry, mirror_and_authority};
use crate::support::{Test, assert_layout_valid, layout_has_blob};

/// `--body-timeout` and `--stall-timeout` in these tests, and as a flag's value.
const TIMEOUT: Duration = Duration::from_secs(1);
const SECS: &str = "1";

/// A mirror that drips `bodies` every `every`, a healthy authority behind
/// it holding the same image, and the reference.
fn dripping_mirror(
    img: &Image,
    bodies: DripBodies,
    every: Duration,
) -> (Registry, Registry, String) {
    let (mirror, authority, reference) = mirror_and_authority(img);
    mirror.fault(Fault::Drip { every, bodies });
    (mirror, authority, reference)
}

#[test]
fn a_mirror_dripping_blob_bodies_is_cut_after_one_window_and_the_registry_continues() {
    // 64 KiB at 50 bytes/s: over 20 minutes without the speed rule.
    let img = Image::oci(1101, &[64 << 10]);
    let (mirror, authority, reference) =
        dripping_mirror(&img, DripBodies::Blobs, Duration::from_millis(20));
    let t = Test::new().timeout(Duration::from_secs(30));
    // Under the default --tries 3 a cut body is resumed on the same
    // source; one cut for slowness moves on at once.
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json", "--stall-timeout", SECS]);
    assert_clean(&out);
    out.assert_success();
    // Every blob downloads at once: one window each, side by side.
    assert_within(&out, TIMEOUT + SLACK);
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "the manifest is the mirror's: {j}");
    assert!(blob_endpoints(&j).iter().all(|e| *e == authority.url()), "{j}");
    let layer = &img.layers[0].digest;
    assert_eq!(gets(&mirror, &format!("/blobs/{layer}")).len(), 1, "not resumed on the mirror");
    // What the mirror dripped was kept: the registry was asked for the rest.
    let ranges = gets(&authority, &format!("/blobs/{layer}"));
    let from: u64 = match ranges.as_slice() {
        [Some(r)] => r.trim_start_matches("bytes=").trim_end_matches('-').parse().unwrap(),
        other => panic!("expected one Range request to the registry, got {other:?}"),
    };
    assert!(from > 0 && from < 64 << 10, "resumed from {from}");
    assert_layout_valid(&t.layout());
    assert!(layout_has_blob(&t.layout(), layer));
}

#[test]
fn a_mirror_dripping_manifest_bodies_costs_one_body_timeout() {
    // A manifest of ~700 bytes at 10 bytes/s: over a minute without the deadline.
    let img = Image::oci(1102, &[1000, 2000]);
    let (mirror, authority, reference) =
        dripping_mirror(&img, DripBodies::Manifests, Duration::from_millis(100));
    let flags = ["--mirror", &mirror.url(), "--body-timeout", SECS, "--json"];
    let t = Test::new().timeout(Duration::from_secs(30));

    let out = pull(&t, &reference, &flags);
    assert_clean(&out);
    out.assert_success();
    assert_within(&out, TIMEOUT + SLACK);
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], authority.url(), "{j}");
    let said = j["attempts"].to_string();
    assert!(said.contains("did not arrive within"), "the mirror's failure is named: {j}");
    assert_layout_valid(&t.layout());

    let out = t.run_with([&["resolve", &reference][..], &flags].concat());
    assert_clean(&out);
    out.assert_success();
    assert_within(&out, TIMEOUT + SLACK);
    assert_eq!(out.json()["digest"], img.manifest.digest);

    // `mirrors check` asks the mirror for the manifest the same way: a
    // failed source (not an unreachable one), within the same deadline.
    let out = t.run_with([&["mirrors", "check", &reference][..], &flags].concat());
    assert_clean(&out);
    out.assert_success();
    assert_within(&out, TIMEOUT + SLACK);
    let j = out.json();
    let sources = j["sources"].as_array().unwrap();
    let m = sources.iter().find(|s| s["endpoint"] == mirror.url()).unwrap();
    assert_eq!(m["verdict"], "failed", "{j}");
    assert!(m["error"].as_str().unwrap().contains("did not arrive within"), "{j}");
}

#[test]
fn a_mirror_dripping_error_bodies_costs_one_body_timeout() {
    let img = Image::oci(1103, &[1000]);
    let authority = Registry::start();
    authority.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", authority.host());
    // The mirror lacks the image: its 404s (~110 bytes) come at 5 bytes/s.
    let mirror = Registry::start();
    mirror.fault(Fault::Drip { every: Duration::from_millis(200), bodies: DripBodies::Errors });
    let t = Test::new().timeout(Duration::from_secs(60));
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json", "--body-timeout", SECS]);
    assert_clean(&out);
    out.assert_success();
    // One answer from the mirror: a host that drips even its error bodies
    // is too slow to use, and is not asked again (not even without `ns`).
    assert_eq!(mirror.count("GET", "/v2/team/app/manifests/"), 1, "{:#?}", mirror.requests());
    assert_within(&out, TIMEOUT + SLACK);
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], authority.url(), "{j}");
    assert!(blob_endpoints(&j).iter().all(|e| *e == authority.url()), "{j}");
    assert_layout_valid(&t.layout());
}

#[test]
fn a_token_service_dripping_its_answer_costs_one_body_timeout() {
    let img = Image::oci(1104, &[1000]);
    let (mirror, authority, reference) =
        dripping_mirror(&img, DripBodies::Tokens, Duration::from_millis(200));
    // Anonymous tokens, each ~90 bytes at 5 bytes/s.
    mirror.set_auth(Auth::Bearer { user_pass: None });
    let t = Test::new().timeout(Duration::from_secs(60));
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json", "--body-timeout", SECS]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(mirror.count("GET", "/token"), 1, "{:#?}", mirror.requests());
    assert_within(&out, TIMEOUT + SLACK);
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], authority.url(), "{j}");
    assert!(j["attempts"].to_string().contains("token service"), "{j}");
    assert_layout_valid(&t.layout());
}

/// A layout holding `prefix` as the partial file of `digest`, opened and
/// locked by this test process: another pull's download in progress, as
/// the pull under test sees it.
fn locked_partial(t: &Test, digest: &str, prefix: &[u8]) -> std::fs::File {
    let path = partial_path(t, digest);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f =
        std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(&path).unwrap();
    f.lock().unwrap();
    f.write_all(prefix).unwrap();
    f
}

#[test]
fn a_partial_file_locked_by_a_stuck_holder_fails_within_the_stall_timeout_naming_it() {
    let img = Image::oci(1105, &[64 << 10]);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", reg.host());
    let layer = &img.layers[0];
    let t = Test::new().timeout(Duration::from_secs(30));
    let held = locked_partial(&t, &layer.digest, &layer.bytes[..1000]);

    let out = pull(&t, &reference, &["--stall-timeout", SECS]);
    assert_clean(&out);
    out.assert_code(1);
    assert!(out.elapsed >= TIMEOUT, "it waited for the holder a while: {:?}", out.elapsed);
    assert_within(&out, TIMEOUT + SLACK);
    let named = partial_path(&t, &layer.digest).display().to_string();
    assert!(out.stderr.contains(&named), "the file is named\n{}", out.dump());
    assert!(!t.layout().join("index.json").exists(), "no entry for an incomplete image");
    assert!(gets(&reg, &format!("/blobs/{}", layer.digest)).is_empty(), "never fetched");

    // Once the holder lets go, the next pull resumes from what it left.
    drop(held);
    let out = pull(&t, &reference, &["--stall-timeout", SECS]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(gets(&reg, &format!("/blobs/{}", layer.digest)), [Some("bytes=1000-".to_string())]);
    assert_layout_valid(&t.layout());
}

#[test]
fn a_partial_file_whose_holder_keeps_writing_is_waited_for_past_the_stall_timeout() {
    let img = Image::oci(1106, &[64 << 10]);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", reg.host());
    let layer = img.layers[0].clone();
    let t = Test::new().timeout(Duration::from_secs(30));
    let mut held = locked_partial(&t, &layer.digest, &[]);
    // Half the blob in 8 steps, 300 ms apart: 2.4 s of growth, more than
    // twice the stall timeout, then the lock is let go.
    let holder = std::thread::spawn(move || {
        for step in layer.bytes[..32 << 10].chunks(4 << 10) {
            std::thread::sleep(Duration::from_millis(300));
            held.write_all(step).unwrap();
        }
    });
    let out = pull(&t, &reference, &["--stall-timeout", SECS]);
    holder.join().unwrap();
    assert_clean(&out);
    out.assert_success();
    // The holder's last write comes ~2.4 s after it started, the pull a
    // moment after it: it waited well past one stall timeout.
    assert!(out.elapsed > TIMEOUT * 2, "it waited while the file grew: {:?}", out.elapsed);
    assert_eq!(
        gets(&reg, &format!("/blobs/{}", img.layers[0].digest)),
        [Some(format!("bytes={}-", 32 << 10))],
        "the rest, after what the holder wrote"
    );
    assert_layout_valid(&t.layout());
}
