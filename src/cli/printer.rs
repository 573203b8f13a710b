//! The one place that decides how a report is shown: one JSON document on
//! stdout with `--json`; else results on stdout and a few human lines on
//! stderr; with `-q`, results only. Commands return reports and never
//! print (see `report.rs`).

mod upkeep;

use serde::Serialize;

use super::stdout::{self, outln};
use crate::error::Error;
use crate::fetch::{NsSupport, ServedBy, Trust};
use crate::lock::{LockCheckReport, LockReport};
use crate::plan::Role;
use crate::report::{
    ArchiveReport, ArchivedImage, BatchEntry, BatchReport, CheckReport, CheckedSource, ErrorReport,
    InspectReport, LsEntry, MirrorsReport, PlanReport, PullReport, ResolveReport, SourceTally,
    SourceVerdict,
};
use crate::trace::{Attempt, Outcome};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Json,
    Human,
    Quiet,
}

#[derive(Clone, Copy, Debug)]
pub struct Printer {
    pub mode: Mode,
    /// `-v`: failed attempts too.
    pub verbose: bool,
}

type Shown = Result<(), Error>;

impl Printer {
    pub fn pull(&self, r: &PullReport) -> Shown {
        print_warnings(&r.warnings);
        // With `-o -`, stdout is the archive: the result line goes to stderr.
        let result = |line: String| match r.output.as_os_str() == "-" {
            true => eprintln!("{line}"),
            false => outln!("{line}"),
        };
        match self.mode {
            Mode::Json => return stdout::json(r),
            Mode::Quiet => {
                result(format!("{} {}", r.reference, r.image.digest));
                return Ok(());
            }
            Mode::Human => {}
        }
        if self.verbose {
            print_fallbacks(&r.attempts);
            for l in &r.rate_limits {
                eprintln!("  rate limit of {}: {}", l.endpoint, l.limit.describe());
            }
        }
        eprintln!("{}", pull_summary(r));
        if let Some(d) = &r.image.converted_from {
            eprintln!("converted from the Docker manifest {d} (--format oci)");
        }
        let platform = r.image.platform.as_ref().map(|p| format!(" {p}")).unwrap_or_default();
        result(format!("{} {}{} -> {}", r.reference, r.image.digest, platform, r.output.display()));
        Ok(())
    }

    pub fn resolve(&self, r: &ResolveReport) -> Shown {
        print_warnings(&r.warnings);
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        if self.verbose {
            print_fallbacks(&r.attempts);
        }
        if self.mode == Mode::Human {
            eprintln!("served by {}", describe_served(&r.served_by));
        }
        outln!("{} {}", r.reference, r.digest);
        Ok(())
    }

    pub fn plan(&self, r: &PlanReport) -> Shown {
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        outln!("{}", r.reference);
        for (i, s) in r.sources.iter().enumerate() {
            let source = &s.source;
            let mut notes = vec![role_name(source.role).to_string()];
            if source.trusted && source.role == Role::Mirror {
                notes.push("trusted for tags".into());
            }
            if source.digest_only {
                notes.push("digest only".into());
            }
            outln!(
                "  {}. {}  ({}; from {})",
                i + 1,
                source.display(),
                notes.join(", "),
                source.origin
            );
            for url in &s.urls {
                outln!("       GET {url}");
            }
        }
        if !r.fallback {
            outln!("  (no fallback to {})", r.registry);
        }
        Ok(())
    }

    /// A table with a header, columns aligned; `-q`: the rows alone.
    pub fn ls(&self, dir: &std::path::Path, entries: &[LsEntry]) -> Shown {
        if self.mode == Mode::Json {
            return stdout::json_each(entries);
        }
        if entries.is_empty() && self.mode == Mode::Human {
            eprintln!("{} holds no images", dir.display());
            return Ok(());
        }
        let mut rows: Vec<[String; 6]> = Vec::new();
        if self.mode == Mode::Human {
            rows.push(
                ["NAME", "DIGEST", "PLATFORM", "FORMAT", "TRUST", "SOURCE"].map(String::from),
            );
        }
        rows.extend(entries.iter().map(ls_row));
        for line in table(&rows) {
            outln!("{line}");
        }
        Ok(())
    }

    pub fn inspect(&self, r: &InspectReport) -> Shown {
        print_warnings(&r.warnings);
        match self.mode {
            Mode::Json => return stdout::json(r),
            Mode::Quiet => {
                outln!("{} {}", r.name, r.image_digest);
                return Ok(());
            }
            Mode::Human => {}
        }
        outln!("Name:       {}", r.name);
        outln!("Digest:     {}  ({})", r.digest, r.media_type);
        if r.image_digest != r.digest {
            outln!("Image:      {}  ({})", r.image_digest, r.image_media_type);
        }
        let platform = r.platform.as_ref().map_or("-".to_string(), |p| p.to_string());
        outln!("Platform:   {platform}");
        if !r.platforms.is_empty() {
            outln!("Platforms:  {}", r.platforms.join(", "));
        }
        outln!("Created:    {}", r.created.as_deref().unwrap_or("-"));
        match (&r.served_by, &r.source) {
            (Some(s), _) => outln!("Served by:  {}", describe_served(s)),
            (None, Some(source)) => outln!("Source:     {source} (pulled from)"),
            (None, None) => {}
        }
        outln!("Labels:{}", if r.labels.is_empty() { "     -" } else { "" });
        for (k, v) in &r.labels {
            outln!("  {k}={v}");
        }
        outln!("Layers:");
        for l in &r.layers {
            outln!("  {}  {:>10}  {}", l.digest, human_bytes(l.size), l.media_type);
        }
        outln!("Size:       {} ({} layer(s) and the config)", human_bytes(r.size), r.layers.len());
        Ok(())
    }

    /// With `-o -` stdout is the archive: everything else goes to stderr.
    pub fn export(&self, output: &std::path::Path, to_stdout: bool, r: &ArchiveReport) -> Shown {
        if self.mode == Mode::Json {
            #[derive(Serialize)]
            struct View<'a> {
                output: String,
                #[serde(flatten)]
                report: &'a ArchiveReport,
            }
            return stdout::json(&View { output: output.display().to_string(), report: r });
        }
        let summary = format!(
            "wrote {} image(s), {} blob(s), {} to {}",
            r.images.len(),
            r.blobs,
            human_bytes(r.bytes),
            if to_stdout { "stdout".to_string() } else { output.display().to_string() }
        );
        match (to_stdout, self.mode) {
            (true, Mode::Human) => r.images.iter().for_each(|i| eprintln!("{}", archived(i))),
            (false, _) => r.images.iter().for_each(|i| outln!("{}", archived(i))),
            (true, _) => {}
        }
        if self.mode == Mode::Human {
            eprintln!("{summary}");
        }
        Ok(())
    }

    pub fn mirrors(&self, r: &MirrorsReport) -> Shown {
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        if r.files.is_empty() && self.mode == Mode::Human {
            eprintln!(
                "no configuration file found (looked for {})",
                r.default_path.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
            );
        }
        for rule in &r.registries {
            if rule.registry == "*" && rule.mirrors.is_empty() {
                continue;
            }
            let label = match rule.registry.as_str() {
                "*" => "every other registry",
                name => name,
            };
            outln!("{label}:");
            for (i, m) in rule.mirrors.iter().enumerate() {
                outln!("  {}. {}  (from {})", i + 1, m.url, m.origin);
            }
            if let Some(e) = &rule.endpoint {
                outln!("  endpoint: {e}");
            }
            outln!("  fallback to the registry: {}", if rule.fallback { "yes" } else { "no" });
        }
        upkeep::print_remembered(&r.remembered);
        Ok(())
    }

    pub fn check(&self, r: &CheckReport) -> Shown {
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        outln!("{}", r.reference.as_deref().unwrap_or("every configured source (/v2/ only)"));
        for s in &r.sources {
            outln!("  {:9} {}  {}", role_name(s.role), s.endpoint, check_notes(s).join(", "));
        }
        if !r.healthy && self.mode == Mode::Human {
            eprintln!("some sources are unreachable or misconfigured (exit code 1)");
        }
        Ok(())
    }

    /// Several images: each one's lines as for one, its errors on stderr,
    /// and a count.
    pub fn batch(&self, r: &BatchReport) -> Shown {
        if self.mode == Mode::Json {
            for entry in &r.images {
                if let BatchEntry::Pulled(p) = entry {
                    print_warnings(&p.warnings);
                }
            }
            return stdout::json(r);
        }
        for entry in &r.images {
            match entry {
                BatchEntry::Pulled(p) => self.pull(p)?,
                BatchEntry::Failed { reference, error } => {
                    eprintln!("error: {reference}: {}", error.message)
                }
            }
        }
        if self.mode == Mode::Human {
            let failed = match r.failed {
                0 => String::new(),
                n => format!(" ({n} failed)"),
            };
            eprintln!(
                "pulled {} of {} images into {}{failed}, {:.1}s",
                r.pulled,
                r.images.len(),
                r.output.display(),
                r.elapsed_ms as f64 / 1000.0
            );
        }
        Ok(())
    }

    pub fn lock(&self, r: &LockReport) -> Shown {
        for f in &r.failed {
            eprintln!("error: {}: {}", f.reference, f.error.message);
        }
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        for image in &r.images {
            outln!("{} {}", image.reference, image.digest);
        }
        if self.mode == Mode::Human {
            let total = r.images.len() + r.failed.len();
            eprintln!("locked {} of {total} in {}", r.images.len(), r.file.display());
        }
        Ok(())
    }

    pub fn lock_check(&self, r: &LockCheckReport) -> Shown {
        for f in &r.failed {
            eprintln!("error: {}: {}", f.reference, f.error.message);
        }
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        for m in &r.moved {
            outln!(
                "{}: moved from {} to {} (served by {})",
                m.reference,
                m.locked,
                m.now,
                m.source
            );
        }
        if self.mode == Mode::Human {
            eprintln!("{}: {} moved, {} unchanged", r.file.display(), r.moved.len(), r.unchanged);
        }
        Ok(())
    }

    /// An error, once: its message on stderr, and with `--json` the error
    /// object on stdout.
    pub fn error(&self, e: &Error) {
        eprintln!("error: {e}");
        if self.mode == Mode::Json {
            error_json(&ErrorReport::of(e));
        }
    }
}

/// The `--json` error object:
/// `{"schemaVersion": 1, "error": {kind, exitCode, message, answers}}`.
pub fn error_json(error: &ErrorReport) {
    let document = serde_json::json!({
        "schemaVersion": crate::report::SCHEMA_VERSION,
        "error": error,
    });
    // Plain data: encoding it cannot fail.
    outln!("{}", serde_json::to_string(&document).unwrap_or_default());
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Mirror => "mirror",
        Role::Authority => "authority",
        Role::Cache => "cache",
    }
}

/// `served by` in words, for humans.
pub fn describe_served(s: &ServedBy) -> String {
    let trust = match s.trust {
        Trust::Digest => "verified by digest",
        Trust::Authority => "the registry itself",
        Trust::TrustedMirror => "mirror trusted by config",
        Trust::Confirmed => "tag confirmed with the registry",
        Trust::Unconfirmed => "UNCONFIRMED mirror answer",
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

/// The pull in one line: who served the manifest, who served the blobs
/// (when not all the same source), how much, how long.
fn pull_summary(r: &PullReport) -> String {
    let fetched: Vec<&SourceTally> = r.sources.iter().filter(|t| t.blobs > 0).collect();
    let count: usize = fetched.iter().map(|t| t.blobs).sum();
    let bytes: u64 = fetched.iter().map(|t| t.bytes).sum();
    let from_cache = r.blobs.iter().filter(|b| b.from_cache).count();
    let present = r.blobs.iter().filter(|b| b.cached && !b.from_cache).count();
    let present = match from_cache {
        0 => format!("{present}"),
        n => format!("{present} + {n} from the cache"),
    };
    let secs = r.elapsed_ms as f64 / 1000.0;
    let all_from_manifest_source = fetched.iter().all(|t| t.endpoint == r.served_by.endpoint);
    if all_from_manifest_source {
        return format!(
            "served by {}; {count} blob(s) fetched ({}), {present} already present, {secs:.1}s",
            describe_served(&r.served_by),
            human_bytes(bytes)
        );
    }
    let from: Vec<String> = fetched
        .iter()
        .map(|t| format!("{} from {} ({})", t.blobs, t.endpoint, human_bytes(t.bytes)))
        .collect();
    format!(
        "manifest served by {}; blobs: {}; {present} already present, {secs:.1}s",
        describe_served(&r.served_by),
        from.join(", ")
    )
}

/// One `ls` entry's columns. A layout may come from anywhere (a shared
/// cache): its text is shown safely like a server's.
fn ls_row(e: &LsEntry) -> [String; 6] {
    let shown = |s: &str| crate::text::shown(s);
    let media_type = crate::image::MediaType::parse(&e.media_type);
    let platform = match (&e.platform, media_type.is_index()) {
        (Some(p), _) => shown(p),
        (None, true) => "all platforms".into(),
        (None, false) => "-".into(),
    };
    let format = match (media_type.format(), media_type.is_index()) {
        (crate::image::Format::Oci, true) => "oci index".to_string(),
        (crate::image::Format::Oci, false) => "oci image".to_string(),
        (crate::image::Format::Docker, true) => "docker list".to_string(),
        (crate::image::Format::Docker, false) => "docker image".to_string(),
        (crate::image::Format::Other, _) => shown(&e.media_type),
    };
    [
        shown(e.name.as_deref().unwrap_or("<unnamed>")),
        shown(&e.digest),
        platform,
        format,
        e.trust.as_deref().map_or("-".into(), shown),
        // "from X" reads well alone; under SOURCE, X is enough.
        match ls_sources(e) {
            s if s.is_empty() => "-".into(),
            s => shown(s.strip_prefix("from ").unwrap_or(&s)),
        },
    ]
}

/// Rows as lines, each column as wide as its widest cell (the last one
/// unpadded), two spaces between.
fn table<const N: usize>(rows: &[[String; N]]) -> Vec<String> {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let cells = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}"));
            cells.collect::<Vec<_>>().join("  ").trim_end().to_string()
        })
        .collect()
}

/// Where an `ls` entry came from: the manifest's source, and the blobs'
/// when some came from elsewhere.
fn ls_sources(e: &LsEntry) -> String {
    let Some(source) = &e.source else { return String::new() };
    let elsewhere = e.blob_sources.keys().any(|endpoint| endpoint != source);
    if !elsewhere {
        return format!("from {source}");
    }
    let blobs: Vec<String> =
        e.blob_sources.iter().map(|(endpoint, n)| format!("{n} from {endpoint}")).collect();
    format!("manifest from {source}, blobs: {}", blobs.join(", "))
}

/// One image of an archive: name, digest, platform, and what docker gets.
fn archived(i: &ArchivedImage) -> String {
    let what = match (&i.platform, i.media_type.is_index()) {
        (Some(p), _) => p.to_string(),
        (None, true) => "all platforms".into(),
        (None, false) => "-".into(),
    };
    let docker = match (&i.docker_image, &i.repo_tag) {
        (None, _) => "  (not in manifest.json: docker load cannot load it)".to_string(),
        (Some(_), None) => "  (no tag: docker load leaves it unnamed)".to_string(),
        (Some(d), Some(_)) if *d != i.digest => format!("  (docker load gets {d})"),
        (Some(_), Some(_)) => String::new(),
    };
    format!("{}  {}  {what}{docker}", i.name, i.digest)
}

/// Warnings a report carries go to stderr in every mode, `-q` and `--json`
/// included: an unconfirmed tag is not something to hide.
fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Failed attempts, for the human summary (the JSON has them all).
fn print_fallbacks(attempts: &[Attempt]) {
    let fell_back = |a: &&Attempt| {
        !matches!(a.outcome, Outcome::Served | Outcome::Confirmed | Outcome::Superseded)
    };
    for a in attempts.iter().filter(fell_back) {
        eprintln!(
            "  {} {} {}: {} ({} ms)",
            a.what,
            outcome_name(a.outcome),
            a.endpoint,
            a.said(),
            a.elapsed_ms
        );
    }
}

fn outcome_name(o: Outcome) -> String {
    serde_json::to_value(o).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// One source of `mirrors check`, in words.
fn check_notes(s: &CheckedSource) -> Vec<String> {
    let status = s.status.map(|c| format!(" (HTTP {c})")).unwrap_or_default();
    let error = s.error.as_deref().unwrap_or("?");
    let mut notes = match s.verdict {
        SourceVerdict::Misconfigured => return vec![format!("MISCONFIGURED: {error}")],
        SourceVerdict::Unreachable => return vec![format!("UNREACHABLE: {error}")],
        _ => vec![format!("reachable in {} ms", s.latency_ms.unwrap_or(0))],
    };
    notes.push(if s.tls { "https".into() } else { "plain http".into() });
    if s.auth_required == Some(true) {
        notes.push(match s.has_credentials {
            true => "auth: have credentials".into(),
            false => "auth: needs credentials, none configured".into(),
        });
    }
    if s.ns_honored == Some(true) {
        notes.push("honours ns (echoes OCI-Namespace)".into());
    }
    if let Some(ns) = s.ns.filter(|&ns| ns != NsSupport::Honours) {
        notes.push(
            match ns {
                NsSupport::Honours => "honours ns",
                NsSupport::Ignores => "ignores ns (serves the same image without it)",
                NsSupport::Requires => "requires ns (404 or 400 without it)",
                NsSupport::Routes => "routes by ns (another image without it)",
                NsSupport::Rejects => "rejects ns (an old registry): serves it without ns",
            }
            .into(),
        );
    }
    match s.verdict {
        SourceVerdict::Serves => notes.push("has the reference".into()),
        SourceVerdict::NotFound => notes.push(format!("does not have it{status}")),
        SourceVerdict::Denied if s.has_credentials => {
            notes.push(format!("refused the credentials{status}"))
        }
        SourceVerdict::Denied => {
            notes.push(format!("cannot tell whether it has it: needs credentials{status}"))
        }
        SourceVerdict::NotAsked => notes.push(format!("not asked: {error}")),
        SourceVerdict::Failed => notes.push(format!("failed: {error}")),
        _ => {}
    }
    match (&s.trust, &s.collision) {
        (_, Some(registry)) => notes.push(format!("COLLISION: the registry says {registry}")),
        (Some(Trust::Confirmed), _) => notes.push("tag confirmed by the registry".into()),
        (Some(Trust::Unconfirmed), _) => notes.push("tag unconfirmed".into()),
        _ => {}
    }
    if let Some(limit) = &s.rate_limit {
        let low = if limit.is_low() { "LOW " } else { "" };
        notes.push(format!("{low}rate limit: {}", limit.describe()));
    }
    notes
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
