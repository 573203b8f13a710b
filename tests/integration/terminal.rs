//! What a user at a terminal sees: progress bars while blobs download, and
//! a screen left clean afterwards, whether the pull ends or is interrupted.

use std::time::Duration;

use crate::support::Test;
use crate::support::image::Image;
use crate::support::registry::{Fault, Registry, mirror_and_authority};
use crate::support::terminal::OnTerminal;

const MIB: usize = 1 << 20;

/// What a bar line shows of its blob: the first 12 hex digits of the digest.
fn label(digest: &str) -> String {
    digest.trim_start_matches("sha256:")[..12].to_string()
}

fn has_bar(line: &str) -> bool {
    line.contains("=>") || line.contains("MiB/s") || line.contains("KiB/s")
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
    run.wait_for_text(&label(&layer), Duration::from_secs(20));
    run.wait_for_text("MiB", Duration::from_secs(20));
    run.interrupt();
    let (code, screen) = run.wait(Duration::from_secs(20));
    assert_eq!(code, Some(130), "{screen:#?}");
    let shown: Vec<&String> = screen.iter().filter(|l| !l.is_empty()).collect();
    assert_eq!(shown, ["error: interrupted"], "the whole screen: {screen:#?}");
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
    let run = OnTerminal::spawn(
        &t,
        &[
            "pull",
            &reference,
            "-o",
            &t.layout_str(),
            "--mirror",
            &mirror.url(),
            "--stall-timeout",
            "1",
            "--retries",
            "1",
        ],
    );
    run.wait_for_text(&label(&layer), Duration::from_secs(20));
    let (code, screen) = run.wait(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{screen:#?}");
    assert!(!screen.iter().any(|l| has_bar(l)), "a bar was left behind: {screen:#?}");
    assert!(screen.iter().any(|l| l.contains(&img.manifest.digest)), "{screen:#?}");
}
