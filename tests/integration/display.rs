//! What a log gets when stderr is not a terminal (CI): a line per blob as
//! it arrives (short digest, size, source, and how it went), a line per
//! mirror given up, a progress line at most every 10 s, then the summary;
//! with -q, nothing but errors.

use std::time::Duration;

use crate::support::Test;
use crate::support::image::Image;
use crate::support::registry::{Fault, Registry, mirror_and_authority, refused_addr};

const MIB: usize = 1 << 20;

fn short(digest: &str) -> &str {
    &digest.trim_start_matches("sha256:")[..12]
}

fn blob_line<'a>(stderr: &'a str, digest: &str) -> &'a str {
    let start = format!("blob {}", short(digest));
    stderr
        .lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no line for {start}:\n{stderr}"))
}

#[test]
fn a_log_gets_a_line_per_blob_with_its_size_and_source() {
    let reg = Registry::start();
    let img = Image::oci(90, &[MIB, 1000]);
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str()]);
    out.assert_success();
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines[0], format!("pulling {reference}"), "{}", out.stderr);
    assert!(
        lines[1].starts_with(&format!("{reference}: manifest from {}", reg.url())),
        "{}",
        out.stderr
    );
    assert!(lines[2].starts_with("3 blob(s), 1.0 MiB in all"), "{}", out.stderr);
    let layer = blob_line(&out.stderr, &img.layers[0].digest);
    assert_eq!(
        layer,
        format!("blob {}  1.0 MiB  from {}", short(&img.layers[0].digest), reg.url())
    );
    blob_line(&out.stderr, &img.config.digest);
    assert!(
        lines.last().unwrap().starts_with("served by "),
        "the summary comes last: {}",
        out.stderr
    );
    // Nothing on a terminal's terms: no escape sequence, no carriage return.
    assert!(!out.stderr.contains('\x1b') && !out.stderr.contains('\r'), "{:?}", out.stderr);

    let quiet = Test::new();
    let out = quiet.run_with(["pull", &reference, "-o", &quiet.layout_str(), "-q"]);
    out.assert_success();
    assert_eq!(out.stderr, "", "-q: errors only");
}

#[test]
fn a_log_says_when_a_blob_took_several_tries_or_was_resumed() {
    let reg = Registry::start();
    let img = Image::oci(91, &[MIB, 200_000]);
    reg.push_image("team/app", "v1", &img);
    let (cut, resumed) = (&img.layers[0], &img.layers[1]);
    reg.fault(Fault::TruncateBlob { digest: cut.digest.clone(), after: 1000, times: 1 });
    let t = Test::new();
    // Half of the other layer is already there, from an earlier run.
    let partial = t.layout().join(".ocimirror/partial").join(resumed.digest.replacen(':', "-", 1));
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, &resumed.bytes[..100_000]).unwrap();
    let reference = format!("{}/team/app:v1", reg.host());
    // --no-cache: the partial in the layout is the one resumed.
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str(), "--no-cache"]);
    out.assert_success();
    assert!(blob_line(&out.stderr, &cut.digest).ends_with("(after 2 tries)"), "{}", out.stderr);
    assert!(
        blob_line(&out.stderr, &resumed.digest).ends_with("(resumed at 97.7 KiB)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_log_names_each_mirror_given_up_and_where_the_pull_went() {
    let img = Image::oci(92, &[1000]);
    let authority = Registry::start();
    authority.push_image("team/app", "v1", &img);
    let dead = format!("http://{}", refused_addr());
    let t = Test::new();
    let reference = format!("{}/team/app:v1", authority.host());
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str(), "--mirror", &dead]);
    out.assert_success();
    let gave_up: Vec<&str> = out.stderr.lines().filter(|l| l.contains("gave up")).collect();
    assert_eq!(gave_up.len(), 1, "once per mirror, however many requests: {}", out.stderr);
    assert!(
        gave_up[0].starts_with(&format!("mirror {dead} gave up on the manifest: ")),
        "{}",
        out.stderr
    );
    assert!(
        gave_up[0].ends_with(&format!("; trying the registry {}", authority.url())),
        "{}",
        out.stderr
    );
}

/// A download that takes long gets a progress line every 10 s, not more.
#[test]
fn a_long_download_prints_a_progress_line_every_ten_seconds() {
    let img = Image::oci(93, &[2 * MIB]);
    let (mirror, _authority, reference) = mirror_and_authority(&img);
    // Stuck on the mirror for 12 s (two stall windows: the first had a MiB),
    // then the registry serves.
    mirror.fault(Fault::StallBlob { digest: img.layers[0].digest.clone(), after: MIB });
    let t = Test::new().timeout(Duration::from_secs(60));
    let out = t.run_with([
        "pull",
        &reference,
        "-o",
        &t.layout_str(),
        "--mirror",
        &mirror.url(),
        "--stall-timeout",
        "6",
        "--tries",
        "1",
    ]);
    out.assert_success();
    let progress: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("progress: ")).collect();
    let most = out.elapsed.as_secs() / 10;
    assert!((1..=most as usize).contains(&progress.len()), "{:?}: {}", out.elapsed, out.stderr);
    assert!(progress[0].contains(" / 2.0 MiB, 1/2 blobs"), "{}", out.stderr);
}

#[test]
fn a_batch_log_names_every_image() {
    let reg = Registry::start();
    let (a, b) = (Image::oci(94, &[1000]), Image::oci(95, &[1000]));
    reg.push_image("team/a", "v1", &a).push_image("team/b", "v1", &b);
    let t = Test::new();
    let (ra, rb) = (format!("{}/team/a:v1", reg.host()), format!("{}/team/b:v1", reg.host()));
    let out = t.run_with(["pull", &ra, &rb, "-o", &t.layout_str()]);
    out.assert_success();
    assert!(out.stderr.starts_with("pulling 2 images\n"), "{}", out.stderr);
    for r in [&ra, &rb] {
        assert!(out.stderr.contains(&format!("{r}: manifest from ")), "{}", out.stderr);
    }
}
