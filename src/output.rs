//! What commands print: one JSON object on stdout with `--json`, else a
//! few human lines (results on stdout, notes on stderr).

use std::io::Write as _;
use std::sync::OnceLock;

use serde::Serialize;

use crate::error::Error;
use crate::plan::{Plan, Source};
use crate::pull::PullReport;
use crate::resolve::{Attempt, ServedBy};

/// The first failure to write to stdout, for `main` to report.
static STDOUT_FAILURE: OnceLock<std::io::Error> = OnceLock::new();

/// Writes results to stdout. A closed pipe (`| head`) or a full disk is no
/// reason to panic: the first failure is kept (`stdout_failure`) and the
/// rest of the output is dropped.
pub fn out(text: std::fmt::Arguments) {
    if STDOUT_FAILURE.get().is_some() {
        return;
    }
    if let Err(e) = std::io::stdout().lock().write_fmt(text) {
        let _ = STDOUT_FAILURE.set(e);
    }
}

/// `println!` through `out`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// Why stdout could not be written, if it could not.
pub fn stdout_failure() -> Option<&'static std::io::Error> {
    STDOUT_FAILURE.get()
}

/// Prints a value as JSON on stdout.
pub fn json<T: Serialize>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Failed(format!("cannot encode the JSON output: {e}")))?;
    outln!("{text}");
    Ok(())
}

/// A path in JSON: as text, with anything that is not UTF-8 replaced.
pub fn lossy_path<S: serde::Serializer>(path: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&path.display())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView<'a> {
    pub reference: String,
    pub fallback: bool,
    pub sources: Vec<SourceView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceView<'a> {
    #[serde(flatten)]
    pub source: &'a Source,
    /// The manifest URLs that would be tried, in order.
    pub urls: Vec<String>,
}

pub fn plan_view(plan: &Plan) -> PlanView<'_> {
    PlanView {
        reference: plan.reference.to_string(),
        fallback: plan.fallback,
        sources: plan
            .sources
            .iter()
            .map(|s| SourceView { source: s, urls: plan.manifest_urls(s) })
            .collect(),
    }
}

pub fn print_plan(plan: &Plan) {
    outln!("{}", plan.reference);
    for (i, s) in plan.sources.iter().enumerate() {
        let mut notes = vec![format!("{:?}", s.role).to_lowercase()];
        if s.trusted && s.role == crate::plan::Role::Mirror {
            notes.push("trusted for tags".into());
        }
        if s.digest_only {
            notes.push("digest only".into());
        }
        outln!("  {}. {}  ({}; from {})", i + 1, s.display(), notes.join(", "), s.origin);
        for url in plan.manifest_urls(s) {
            outln!("       GET {url}");
        }
    }
    if !plan.fallback {
        outln!("  (no fallback to {})", plan.reference.registry);
    }
}

/// `served by` in words, for humans.
pub fn describe_served(s: &ServedBy) -> String {
    use crate::resolve::Trust::*;
    let trust = match s.trust {
        Digest => "verified by digest",
        Authority => "the registry itself",
        TrustedMirror => "mirror trusted by config",
        NamespaceEcho => "mirror confirmed the namespace",
        Confirmed => "tag confirmed with the registry",
        Unconfirmed => "UNCONFIRMED mirror answer",
    };
    let mut line = format!("{} ({trust})", s.endpoint);
    if let Some(c) = &s.collision {
        line.push_str(&format!(
            "; mirror {} offered {} for this tag and was overruled",
            c.endpoint, c.digest
        ));
    }
    line
}

/// Failed attempts, for the human summary (the JSON has them all).
pub fn print_fallbacks(attempts: &[Attempt]) {
    for a in attempts.iter().filter(|a| !matches!(a.outcome, "served" | "confirmed")) {
        let what = a.status.map(|s| format!("HTTP {s}")).or(a.error.clone()).unwrap_or_default();
        eprintln!("  {} {} {}: {} ({} ms)", a.what, a.outcome, a.endpoint, what, a.elapsed_ms);
    }
}

pub fn print_pull(r: &PullReport, verbose: bool) {
    if verbose {
        print_fallbacks(&r.attempts);
    }
    let fetched: Vec<_> = r.blobs.iter().filter(|b| !b.cached).collect();
    let bytes: u64 = fetched.iter().map(|b| b.size).sum();
    eprintln!(
        "served by {}; {} blob(s) fetched ({}), {} already present, {:.1}s",
        describe_served(&r.served_by),
        fetched.len(),
        human_bytes(bytes),
        r.blobs.len() - fetched.len(),
        r.elapsed_ms as f64 / 1000.0
    );
    if let Some(d) = &r.image.converted_from {
        eprintln!("converted from the Docker manifest {d} (--format oci)");
    }
    let platform = r.image.platform.as_ref().map(|p| format!(" {p}")).unwrap_or_default();
    outln!("{} {}{} -> {}", r.reference, r.image.digest, platform, r.output.display());
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}
