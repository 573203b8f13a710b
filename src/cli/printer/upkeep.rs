//! How the cache directory's and the layout upkeep's reports are shown
//! (part of the printer: the only place that prints).

use super::{Mode, Printer, Shown, human_bytes};
use crate::cache::prune::{CacheReport, PruneReport};
use crate::cli::stdout::{self, outln};
use crate::report::{ForgetReport, RememberedHost};
use crate::text::shown;
use crate::upkeep::gc::GcReport;
use crate::upkeep::verify::VerifyReport;

impl Printer {
    pub fn cache(&self, r: &CacheReport) -> Shown {
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        outln!("{}", r.dir.display());
        outln!("  {} blob(s), {}", r.blobs, human_bytes(r.bytes));
        outln!("  {} partial download(s), {}", r.partials, human_bytes(r.partial_bytes));
        Ok(())
    }

    pub fn prune(&self, r: &PruneReport) -> Shown {
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        outln!(
            "removed {} blob(s) and {} partial download(s), {}; kept {} blob(s), {}",
            r.removed_blobs,
            r.removed_partials,
            human_bytes(r.freed_bytes),
            r.kept_blobs,
            human_bytes(r.kept_bytes)
        );
        Ok(())
    }

    pub fn forget(&self, r: &ForgetReport) -> Shown {
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        if r.forgotten.is_empty() && self.mode == Mode::Human {
            eprintln!("nothing was remembered about it");
        }
        for e in &r.forgotten {
            outln!("forgot {}", shown(e));
        }
        Ok(())
    }

    pub fn verify(&self, r: &VerifyReport) -> Shown {
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        for p in &r.problems {
            let what = p.digest.as_ref().map(|d| d.to_string()).unwrap_or_default();
            let kind = serde_json::to_value(p.kind).ok();
            let kind = kind.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
            let images = match p.images.is_empty() {
                true => String::new(),
                false => format!(" (needed by {})", p.images.join(", ")),
            };
            outln!("{kind}: {what} {}{images}", p.detail);
        }
        if self.mode == Mode::Human {
            let verdict = if r.ok { "ok" } else { "DAMAGED (exit code 1)" };
            eprintln!(
                "{}: {} image(s), {} blob(s), {} re-hashed: {verdict}",
                r.dir.display(),
                r.images,
                r.blobs,
                human_bytes(r.bytes)
            );
        }
        Ok(())
    }

    pub fn gc(&self, r: &GcReport) -> Shown {
        if self.mode == Mode::Json {
            return stdout::json(r);
        }
        let verb = if r.dry_run { "would remove" } else { "removed" };
        for b in &r.blobs {
            outln!("{verb} {} ({})", b.digest, human_bytes(b.size));
        }
        for f in &r.work_files {
            outln!("{verb} {f}");
        }
        if self.mode == Mode::Human {
            eprintln!(
                "{verb} {} unreferenced blob(s), {}, and {} stale work file(s)",
                r.blobs.len(),
                human_bytes(r.bytes),
                r.work_files.len()
            );
        }
        Ok(())
    }
}

/// What host memory holds, for `ocimirror mirrors`.
pub(super) fn print_remembered(remembered: &[RememberedHost]) {
    if remembered.is_empty() {
        return;
    }
    outln!("remembered from earlier runs (mirrors forget [HOST] clears it):");
    for h in remembered {
        outln!("  {}", shown(&h.endpoint));
        for f in &h.facts {
            let kind = serde_json::to_value(f.kind).ok();
            let kind = kind.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
            outln!("    {kind} until {}: {}", f.until, shown(&f.why));
        }
    }
}
