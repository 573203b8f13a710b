//! SIGTERM (a CI job cancelled) and SIGHUP (a terminal closed) end a pull
//! as Ctrl-C does: partial files removed, the error said once (and as JSON),
//! exit 128 + the signal; a second signal exits at once.

use std::time::{Duration, Instant};

use crate::faults::{partial_path, partials, wait_until};
use crate::support::Test;
use crate::support::image::Image;
use crate::support::registry::{Fault, Registry};

const MIB: usize = 1 << 20;

/// A pull stuck mid-blob, with a MiB of its partial file on disk.
fn stuck_pull(t: &Test, reg: &Registry, img: &Image) -> crate::support::Running {
    let layer = &img.layers[0].digest;
    reg.fault(Fault::StallBlob { digest: layer.clone(), after: 2 * MIB });
    let reference = format!("{}/team/app:v1", reg.host());
    let run = t.spawn(["pull", &reference, "-o", &t.layout_str(), "--json", "--no-cache"]);
    let p = partial_path(t, layer);
    wait_until(Duration::from_secs(20), "a partial file", || {
        std::fs::metadata(&p).is_ok_and(|m| m.len() >= MIB as u64)
    });
    run
}

#[test]
fn sigterm_and_sighup_stop_like_ctrl_c_with_their_own_codes() {
    for (signal, code, kind, message) in [
        ("TERM", 143, "terminated", "error: terminated (SIGTERM)"),
        ("HUP", 129, "hung-up", "error: hung up (SIGHUP)"),
    ] {
        let reg = Registry::start();
        let img = Image::oci(80, &[3 * MIB]);
        reg.push_image("team/app", "v1", &img);
        let t = Test::new();
        let run = stuck_pull(&t, &reg, &img);
        let sent = Instant::now();
        run.signal(signal);
        let out = run.wait(Duration::from_secs(10));
        assert!(sent.elapsed() < Duration::from_secs(3), "SIG{signal} took {:?}", sent.elapsed());
        out.assert_code(code);
        assert_eq!(
            out.stderr.lines().filter(|l| l.starts_with("error:")).collect::<Vec<_>>(),
            [message]
        );
        let json = out.json();
        assert_eq!(json["error"]["kind"], kind, "{}", out.dump());
        assert_eq!(json["error"]["exitCode"], code);
        assert!(partials(&t).is_empty(), "SIG{signal}: partial files left: {:?}", partials(&t));
        assert!(!t.layout().join("index.json").exists());
    }
}

#[test]
fn a_second_signal_exits_at_once() {
    let reg = Registry::start();
    let img = Image::oci(81, &[3 * MIB]);
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    let run = stuck_pull(&t, &reg, &img);
    run.signal("INT");
    run.signal("TERM");
    let out = run.wait(Duration::from_secs(10));
    // The first signal's code, whichever path won: its cleanup or the exit.
    out.assert_code(130);
}
