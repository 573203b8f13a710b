//! What a user at a terminal sees, replayed on an 80-column screen model:
//! a header naming the image and its source, one overall line, a few blob
//! bars that fit the width, log lines above them, and a screen left clean
//! afterwards, whether the pull ends, fails or is interrupted.

use std::time::Duration;

use crate::support::Test;
use crate::support::image::Image;
use crate::support::registry::{Fault, HangServer, Registry, mirror_and_authority};
use crate::support::terminal::{OnTerminal, WIDTH};

const MIB: usize = 1 << 20;

/// What a bar line shows of its blob: the first 12 hex digits of the digest.
fn label(digest: &str) -> String {
    digest.trim_start_matches("sha256:")[..12].to_string()
}

fn has_bar(line: &str) -> bool {
    line.contains("=>") || line.contains("[>") || line.contains(" blobs")
}

fn assert_fits(screen: &[String]) {
    for line in screen {
        assert!(line.chars().count() < WIDTH, "a line fills the width (it would wrap): {line:?}");
    }
}

#[test]
fn interrupted_pull_leaves_only_the_error_on_the_terminal() {
    let reg = Registry::start();
    let img = Image::oci(61, &[4 * MIB]);
    reg.push_image("team/app", "v1", &img);
    let layer = img.layers[0].digest.clone();
    // Stuck a quarter of the way in: the bar stays up until Ctrl-C.
    reg.fault(Fault::StallBlob { digest: layer.clone(), after: MIB });
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    let run = OnTerminal::spawn(&t, &["pull", &reference, "-o", &t.layout_str()]);
    // The bar is up once it shows the blob's label and a byte count.
    run.wait_for_screen(
        |l| l.contains(&label(&layer)) && l.contains("MiB"),
        Duration::from_secs(20),
    );
    run.interrupt();
    let (code, screen) = run.wait(Duration::from_secs(20));
    assert_eq!(code, Some(130), "{screen:#?}");
    let shown: Vec<&String> = screen.iter().filter(|l| !l.is_empty()).collect();
    assert_eq!(shown, ["error: interrupted"], "the whole screen: {screen:#?}");
}

#[test]
fn the_frame_shows_the_image_its_source_and_the_whole_pull() {
    let reg = Registry::start();
    let img = Image::oci(63, &[4 * MIB, 100_000, 1000]);
    reg.push_image("team/app", "v1", &img);
    let stuck = img.layers[0].digest.clone();
    reg.fault(Fault::StallBlob { digest: stuck.clone(), after: MIB });
    let t = Test::new();
    let reference = format!("{}/team/app:v1", reg.host());
    let run = OnTerminal::spawn(&t, &["pull", &reference, "-o", &t.layout_str(), "-j", "1"]);
    // Once the other blobs are in and the stuck one has its first MiB (the
    // rest never comes), the frame stays as it is.
    let stuck_bar = |l: &str| l.contains(&label(&stuck)) && l.contains("1.0 MiB / 4.0 MiB");
    let screen = run.wait_for_screen(stuck_bar, Duration::from_secs(20));
    let screen = match screen.iter().any(|l| l.contains("3/4 blobs")) {
        true => screen,
        false => run.wait_for_screen(|l| l.contains("3/4 blobs"), Duration::from_secs(20)),
    };
    assert_fits(&screen);
    let header = format!("Pulling {reference} from {}", reg.url());
    assert_eq!(screen[0], header, "{screen:#?}");
    assert!(
        screen[1].starts_with("  ") && screen[1].contains(" / 4.1 MiB  3/4 blobs"),
        "{screen:#?}"
    );
    assert!(screen.iter().any(|l| stuck_bar(l)), "{screen:#?}");
    run.interrupt();
    let (code, screen) = run.wait(Duration::from_secs(20));
    assert_eq!(code, Some(130), "{screen:#?}");
    assert!(!screen.iter().any(|l| has_bar(l) || l.starts_with("Pulling")), "{screen:#?}");
}

#[test]
fn finished_pull_replaces_its_bars_with_the_summary() {
    let img = Image::oci(62, &[3 * MIB, 1000]);
    let (mirror, _authority, reference) = mirror_and_authority(&img);
    let layer = img.layers[0].digest.clone();
    // The mirror stalls for a second mid-blob (so the bar is surely drawn);
    // the authority serves the rest.
    mirror.fault(Fault::StallBlob { digest: layer.clone(), after: MIB });
    let t = Test::new();
    let args = [
        "pull",
        &reference,
        "-o",
        &t.layout_str(),
        "--mirror",
        &mirror.url(),
        "--stall-timeout",
        "1",
        "--tries",
        "1",
    ];
    let run = OnTerminal::spawn(&t, &args);
    run.wait_for_text(&label(&layer), Duration::from_secs(20));
    let (code, screen) = run.wait(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{screen:#?}");
    assert!(!screen.iter().any(|l| has_bar(l)), "a bar was left behind: {screen:#?}");
    // The mirror given up is a line of its own, above where the bars were.
    let gave_up = format!("mirror {} gave up on blob {}", mirror.url(), label(&layer));
    assert!(screen[0].starts_with(&gave_up), "{screen:#?}");
    assert!(screen.concat().contains(&img.manifest.digest), "{screen:#?}");
}

/// A mirror that never answers: the frame says whom it waits for, then a
/// line says it gave up and where it went instead.
#[test]
fn a_hung_mirror_is_shown_waited_for_then_given_up() {
    let img = Image::oci(64, &[1000]);
    let authority = Registry::start();
    authority.push_image("team/app", "v1", &img);
    let hung = HangServer::start();
    let t = Test::new();
    let reference = format!("{}/team/app:v1", authority.host());
    let args = ["pull", &reference, "-o", &t.layout_str(), "--mirror", &hung.url()];
    let run = OnTerminal::spawn(&t, &[&args[..], &["--response-timeout", "3"]].concat());
    let waiting = format!("  waiting for {}: ", hung.url());
    let screen = run.wait_for_screen(|l| l.starts_with(&waiting), Duration::from_secs(10));
    assert_eq!(screen[0], format!("Resolving {reference}"), "{screen:#?}");
    let (code, screen) = run.wait(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{screen:#?}");
    let gave_up = format!("mirror {} gave up on the manifest after 3.", hung.url());
    assert!(screen[0].starts_with(&gave_up), "{screen:#?}");
    assert!(
        screen.concat().contains(&format!("trying the registry {}", authority.url())),
        "{screen:#?}"
    );
    assert!(!screen.iter().any(|l| l.starts_with("  waiting")), "{screen:#?}");
}

/// `-v` log lines go above the frame: each whole, none inside a frame, and
/// no frame left between them.
#[test]
fn log_lines_print_above_the_frame_without_stale_frames() {
    let img = Image::oci(65, &[2 * MIB, 1000]);
    let (mirror, _authority, reference) = mirror_and_authority(&img);
    mirror.fault(Fault::StallBlob { digest: img.layers[0].digest.clone(), after: MIB });
    let t = Test::new();
    let args = ["pull", &reference, "-o", &t.layout_str(), "-v", "--mirror", &mirror.url()];
    let run =
        OnTerminal::spawn(&t, &[&args[..], &["--stall-timeout", "1", "--tries", "1"]].concat());
    let (code, screen) = run.wait(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{screen:#?}");
    assert!(!screen.iter().any(|l| has_bar(l) || l.starts_with("Pulling")), "{screen:#?}");
    // Each log line whole (a long one wraps, but nothing cuts into it).
    let all = screen.concat();
    assert!(all.contains("-> HTTP 200 Served"), "-v logs requests: {screen:#?}");
    assert_eq!(
        all.matches("DEBUG").count(),
        screen.iter().filter(|l| l.starts_with("DEBUG")).count()
    );
}

/// A batch shows itself whole: how many images, how many resolved, and
/// one overall line for all their blobs.
#[test]
fn a_batch_shows_every_image_in_one_frame() {
    let reg = Registry::start();
    let (a, b) = (Image::oci(66, &[2 * MIB]), Image::oci(67, &[1000]));
    reg.push_image("team/a", "v1", &a).push_image("team/b", "v1", &b);
    reg.fault(Fault::StallBlob { digest: a.layers[0].digest.clone(), after: MIB });
    let t = Test::new();
    let (ra, rb) = (format!("{}/team/a:v1", reg.host()), format!("{}/team/b:v1", reg.host()));
    let run = OnTerminal::spawn(&t, &["pull", &ra, &rb, "-o", &t.layout_str()]);
    let screen = run.wait_for_screen(|l| l.contains("3/4 blobs"), Duration::from_secs(20));
    assert_fits(&screen);
    assert_eq!(screen[0], "Pulling 2 images: 2 resolved", "{screen:#?}");
    run.interrupt();
    let (code, _) = run.wait(Duration::from_secs(20));
    assert_eq!(code, Some(130));
}
