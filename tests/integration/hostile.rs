//! Issue 11, "A mirror is a stranger": a server that is slow on purpose,
//! that pushes memory, that plants links in a shared layout, that answers
//! a tag with another image, or that puts escape sequences where its text
//! is shown. Each test runs the real binary against a hostile fake on
//! 127.0.0.1 and proves the defence holds: the run ends within a bound
//! computed from the documented timeouts (short ones passed as flags),
//! with the verified fallback or a clear error, no raw escape byte in
//! either stream, bounded memory where memory is the attack, and nothing
//! written outside the layout.
//!
//! docs/reliability.md maps each fault to the test here that proves it.

#[cfg(unix)]
mod links;
mod memory;
mod slow;
mod tags;
mod text;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::support::registry::Registry;
use crate::support::{Output, Test};

/// What a loaded 2-core machine adds to a run's own waits: process start,
/// the fake registries, hashing in a debug build. Far below what any
/// fault here would cost without its defence (minutes, or forever).
const SLACK: Duration = Duration::from_secs(5);

/// The memory bound of the memory cases: before their defences, each of
/// them cost the process hundreds of MiB.
const RSS_LIMIT_KIB: u64 = 64 << 10;

/// Bytes no output may hold raw: ESC (starts every escape sequence), BEL
/// (ends an OSC title) and the 8-bit CSI.
const RAW_ESCAPES: [char; 3] = ['\u{1b}', '\u{7}', '\u{9b}'];

/// `ocimirror pull REF -o LAYOUT EXTRA...`, for linux/amd64 unless
/// `extra` chooses the platform. Without the blob cache: these tests plant
/// files among the layout's own (a cache is the user's private directory;
/// a layout may be shared).
fn pull(t: &Test, reference: &str, extra: &[&str]) -> Output {
    let layout = t.layout_str();
    let mut args = vec!["pull", reference, "-o", &layout, "--no-cache"];
    if !extra.iter().any(|a| ["--platform", "--all-platforms"].contains(a)) {
        args.extend(["--platform", "linux/amd64"]);
    }
    args.extend_from_slice(extra);
    t.run_with(args)
}

/// No panic and no raw escape byte in either stream, whatever the outcome;
/// nor in any string of a JSON document on stdout, where JSON's own
/// `\u001b` would only hide it from this check, not from `jq -r`.
fn assert_clean(out: &Output) {
    let found = leaks(out);
    assert!(found.is_empty(), "{found:#?}\n{}", out.dump().escape_debug());
}

/// What `assert_clean` refuses, described (for tests that gather them
/// over several modes before failing).
fn leaks(out: &Output) -> Vec<String> {
    let mut found = Vec::new();
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if text.contains("panicked") {
            found.push(format!("{name} shows a panic"));
        }
        for line in text.lines().filter(|l| l.contains(RAW_ESCAPES)) {
            found.push(format!("{name} holds a raw escape: {line:?}"));
        }
    }
    let docs = out.stdout.lines().chain([out.stdout.as_str()]);
    for doc in docs.filter_map(|d| serde_json::from_str::<Value>(d).ok()) {
        json_leaks(&doc, &mut found);
    }
    found
}

fn json_leaks(v: &Value, found: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains(RAW_ESCAPES) => {
            found.push(format!("a JSON string holds a raw escape: {s:?}"))
        }
        Value::Array(items) => items.iter().for_each(|i| json_leaks(i, found)),
        Value::Object(map) => map.values().for_each(|i| json_leaks(i, found)),
        _ => {}
    }
}

/// The run ended within `bound`, which the caller derives from the
/// timeouts it passed.
fn assert_within(out: &Output, bound: Duration) {
    eprintln!("took {:?} (bound {bound:?})", out.elapsed);
    assert!(
        out.elapsed < bound,
        "took {:?}, over the bound {bound:?}\n{}",
        out.elapsed,
        out.dump()
    );
}

/// The run's peak memory stayed under `RSS_LIMIT_KIB` (measured on Linux).
fn assert_small(out: &Output) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let peak = out.peak_rss_kib.expect("peak RSS is measured on Linux");
    assert!(peak < RSS_LIMIT_KIB, "peak RSS {} MiB, over 64 MiB\n{}", peak >> 10, out.dump());
    eprintln!("peak RSS {} MiB in {:?}", peak >> 10, out.elapsed);
}

/// GETs of `path_suffix` (e.g. `/blobs/<digest>`) on `reg`, with their
/// `Range` headers in order.
fn gets(reg: &Registry, path_suffix: &str) -> Vec<Option<String>> {
    reg.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(path_suffix))
        .map(|r| r.header("range").map(str::to_string))
        .collect()
}

/// The endpoint each blob of a pull's `--json` report came from.
fn blob_endpoints(j: &Value) -> Vec<String> {
    let blobs = j["blobs"].as_array().unwrap_or_else(|| panic!("no blobs array: {j}"));
    blobs.iter().map(|b| b["endpoint"].as_str().unwrap_or("(cached)").to_string()).collect()
}

/// `<tmp>/outside/<name>`: a file beside the layout, never ocimirror's to
/// write, with these bytes.
fn outside_file(t: &Test, name: &str, bytes: &[u8]) -> PathBuf {
    let path = t.path().join("outside").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `<layout>/.ocimirror/partial/sha256-<hex>`: where a download lives.
fn partial_path(t: &Test, digest: &str) -> PathBuf {
    t.layout().join(".ocimirror/partial").join(digest.replacen(':', "-", 1))
}

/// `<layout>/blobs/sha256/<hex>`.
fn blob_path(t: &Test, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap();
    t.layout().join("blobs").join(alg).join(hex)
}
