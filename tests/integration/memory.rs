//! Host memory across runs (issue 13): what one run learns about a host is
//! used by the next, until it expires or is forgotten. Each test has its
//! own cache directory (the test's home), and tiny TTLs where expiry is
//! the point (`[memory]` in config.toml).

use std::time::Duration;

use serde_json::Value;

use crate::support::image::Image;
use crate::support::registry::{Fault, HangServer, NsMode, Registry, refused_addr};
use crate::support::{Output, Test, assert_layout_valid};

fn pull_into(t: &Test, layout: &str, reference: &str, extra: &[&str]) -> Output {
    let out = t.path().join(layout);
    let mut args =
        vec!["pull", reference, "-o", out.to_str().unwrap(), "--platform", "linux/amd64", "--json"];
    args.extend_from_slice(extra);
    let o = t.run_with(&args);
    assert!(!o.stderr.contains("panicked"), "{}", o.dump());
    o
}

/// Attempts of a pull's JSON report that came from host memory.
fn from_memory(out: &Value) -> Vec<Value> {
    let attempts = out["attempts"].as_array().cloned().unwrap_or_default();
    attempts.into_iter().filter(|a| a["fromMemory"] == true).collect()
}

fn remembered(t: &Test) -> Value {
    let out = t.run_with(["mirrors", "--json"]);
    out.assert_success();
    out.json()["remembered"].clone()
}

#[test]
fn a_mirror_that_never_answers_costs_its_timeout_in_the_first_run_only() {
    let mirror = HangServer::start();
    let authority = Registry::start();
    let img = Image::oci(1301, &[2000]);
    authority.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", authority.host());
    let t = Test::new();
    let flags = ["--mirror", &mirror.url(), "--response-timeout", "1"];
    let first = pull_into(&t, "a", &reference, &flags);
    first.assert_success();
    assert!(first.elapsed >= Duration::from_secs(1), "the first run pays the timeout");
    assert!(from_memory(&first.json()).is_empty());
    // Within the TTL, the next run skips it at once, and says why.
    let second = pull_into(&t, "b", &reference, &flags);
    second.assert_success();
    assert!(
        second.elapsed < Duration::from_secs(1),
        "took {:?}\n{}",
        second.elapsed,
        second.dump()
    );
    let json = second.json();
    assert_eq!(json["servedBy"]["endpoint"], authority.url());
    let skipped = from_memory(&json);
    assert_eq!(skipped.len(), 1, "{json:#}");
    assert_eq!(skipped[0]["endpoint"], mirror.url());
    assert_eq!(skipped[0]["outcome"], "skipped");
    let why = skipped[0]["error"].as_str().unwrap();
    assert!(
        why.starts_with("remembered from an earlier run: ") && why.contains(" (until 20"),
        "{why}"
    );
    assert_layout_valid(&t.path().join("b"));
    // `mirrors` shows it, and until when.
    let memory = remembered(&t);
    let host = memory.as_array().unwrap().iter().find(|h| h["endpoint"] == mirror.url()).unwrap();
    assert_eq!(host["facts"][0]["kind"], "unreachable");
    assert!(host["facts"][0]["until"].as_str().unwrap().ends_with('Z'));
    // --fresh ignores it for one run.
    let fresh_flags: Vec<&str> = flags.iter().copied().chain(["--fresh"]).collect();
    let fresh = pull_into(&t, "c", &reference, &fresh_flags);
    fresh.assert_success();
    assert!(fresh.elapsed >= Duration::from_secs(1) && from_memory(&fresh.json()).is_empty());
    // Forgotten, it is asked again (and pays the timeout again).
    let out = t.run_with(["mirrors", "forget", &mirror.host()]);
    out.assert_success();
    assert!(out.stdout.contains(&format!("forgot {}", mirror.url())), "{}", out.dump());
    let again = pull_into(&t, "d", &reference, &flags);
    again.assert_success();
    assert!(again.elapsed >= Duration::from_secs(1) && from_memory(&again.json()).is_empty());
}

#[test]
fn a_remembered_mirror_is_used_again_after_expiry_or_once_it_answers() {
    let mirror = Registry::start();
    let authority = Registry::start();
    let img = Image::oci(1302, &[2000]);
    mirror.push_image("team/app", "v1", &img);
    authority.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", authority.host());
    let flags = ["--mirror", &mirror.url(), "--response-timeout", "1", "--no-cache"];
    // A tiny TTL (test only): expiry.
    let t = Test::new().config("[memory]\nunreachable_ttl = 0.5\n");
    mirror.fault(Fault::Hang);
    pull_into(&t, "a", &reference, &flags).assert_success();
    mirror.clear_faults();
    std::thread::sleep(Duration::from_millis(600));
    let out = pull_into(&t, "b", &reference, &flags);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], mirror.url(), "expired: asked again");
    // The default TTL (minutes): only the background probe of a later run,
    // finding it answering, can have it used again this soon.
    let t = Test::new();
    mirror.fault(Fault::Hang);
    pull_into(&t, "a", &reference, &flags).assert_success();
    mirror.clear_faults();
    let mut used = None;
    for round in 0..5 {
        let out = pull_into(&t, &format!("c{round}"), &reference, &flags);
        out.assert_success();
        if out.json()["servedBy"]["endpoint"] == mirror.url() {
            used = Some(round);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(used.is_some(), "the probe should have cleared the memory");
}

#[test]
fn a_mirror_that_rejects_ns_gets_no_ns_request_in_the_second_run() {
    let mirror = Registry::start();
    let authority = Registry::start();
    let img = Image::oci(1303, &[2000]);
    mirror.push_image("team/app", "v1", &img).set_ns_mode(NsMode::RejectQuery(400));
    authority.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", authority.host());
    let t = Test::new();
    let flags = ["--mirror", &mirror.url(), "--no-cache"];
    let out = pull_into(&t, "a", &reference, &flags);
    out.assert_success();
    assert!(!mirror.ns_values().is_empty(), "the first run tries ns");
    mirror.clear_requests();
    let out = pull_into(&t, "b", &reference, &flags);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], mirror.url());
    assert!(mirror.count("GET", "/v2/team/app/") > 0);
    assert!(mirror.ns_values().is_empty(), "no request carried ns: {:?}", mirror.requests());
    let memory = remembered(&t);
    assert!(memory.to_string().contains("rejects-ns"), "{memory:#}");
}

#[test]
fn a_long_retry_after_moves_on_and_is_remembered_and_rate_limits_are_reported() {
    let mirror = Registry::start();
    let authority = Registry::start();
    let img = Image::oci(1304, &[2000]);
    mirror.push_image("team/app", "v1", &img);
    authority.push_image("team/app", "v1", &img);
    mirror.fault(Fault::TooManyRequests { n: 1000, retry_after_secs: 3600 });
    authority.fault(Fault::RateLimitHeaders { limit: 100, remaining: 4 });
    let reference = format!("{}/team/app:v1", authority.host());
    let t = Test::new();
    let flags = ["--mirror", &mirror.url(), "--no-cache"];
    let out = pull_into(&t, "a", &reference, &flags);
    out.assert_success();
    let json = out.json();
    assert_eq!(json["servedBy"]["endpoint"], authority.url(), "moved on, did not fail");
    // The authority's rate limit is in the report, low, and warned about.
    let limits = json["rateLimits"].as_array().unwrap();
    let hub = limits.iter().find(|l| l["endpoint"] == authority.url()).unwrap();
    assert_eq!((hub["limit"].as_u64(), hub["remaining"].as_u64()), (Some(100), Some(4)));
    assert_eq!(hub["low"], true);
    assert!(
        out.stderr.contains("warning: ") && out.stderr.contains("rate limit low"),
        "{}",
        out.dump()
    );
    // The next run does not ask the rate-limited mirror.
    mirror.clear_requests();
    let out = pull_into(&t, "b", &reference, &flags);
    out.assert_success();
    let skipped = from_memory(&out.json());
    assert_eq!(skipped.len(), 1, "{}", out.dump());
    assert!(skipped[0]["error"].as_str().unwrap().contains("rate limited"));
    assert_eq!(mirror.count("GET", "/v2/team/app/"), 0);
    // `mirrors check` shows the rate limit too.
    let out = t.run_with(["mirrors", "check", &reference, "--json"]);
    let sources = out.json()["sources"].as_array().cloned().unwrap();
    let checked = sources.iter().find(|s| s["endpoint"] == authority.url()).unwrap();
    assert_eq!(checked["rateLimit"]["remaining"], 4, "{checked:#}");
}

#[test]
fn when_every_source_is_remembered_down_all_are_asked_again() {
    let dead = refused_addr();
    let authority = Registry::start();
    let img = Image::oci(1305, &[2000]);
    authority.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", authority.host());
    let t = Test::new();
    let out = pull_into(&t, "a", &format!("{dead}/team/app:v1"), &["--no-cache"]);
    out.assert_code(1);
    // Only that host is in the plan: memory does not leave it with none.
    let out = pull_into(&t, "b", &format!("{dead}/team/app:v1"), &["--no-cache"]);
    out.assert_code(1);
    assert!(!out.stdout.contains("fromMemory"), "{}", out.dump());
    assert!(!out.stderr.contains("every source was skipped"), "{}", out.dump());
    // Another registry in the same memory is unaffected.
    pull_into(&t, "c", &reference, &["--no-cache"]).assert_success();
}
