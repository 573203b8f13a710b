//! `pull`: the references (or a lock file's entries) into a layout or an
//! archive, one session for all of them; one report, or a batch report.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::archive::ArchiveTarget;
use super::args::{Format as FormatArg, GlobalArgs, PullArgs};
use super::console::Console;
use super::printer::Printer;
use super::progress::Progress;
use super::run::{load_config, registries_of};
use crate::config::Config;
use crate::error::Error;
use crate::exit::Exit;
use crate::image::Platform;
use crate::plan::Plan;
use crate::pull::{
    self, Cleanup, Format, ImageOutcome, Observer, PlatformChoice, PullItem, PullOptions,
};
use crate::reference::Reference;
use crate::report::{self, BatchEntry, BatchReport, ErrorReport};

pub(super) async fn pull(
    g: &GlobalArgs,
    args: &PullArgs,
    printer: Printer,
    cleanup: &Cleanup,
    console: Arc<Console>,
) -> Result<Exit, Error> {
    let wanted = wanted(args)?;
    let mut config = load_config(&args.network, &registries_of(&wanted.references()?))?;
    if let Some(j) = args.jobs {
        config.network.jobs = usize::from(j);
    }
    let items = wanted.items(&config)?;
    if args.dry_run {
        for item in &items {
            printer.plan(&report::plan(&item.plan))?;
        }
        return Ok(Exit::Success);
    }
    let archive = ArchiveTarget::of(&args.output, g.json)?;
    if archive.is_none() && !args.force {
        crate::layout::Layout::refuse_foreign_directory(&args.output)?;
    }
    let workdir = archive.as_ref().map(ArchiveTarget::layout_dir).transpose()?;
    let streaming = archive.as_ref().map(ArchiveTarget::stream).transpose()?;
    let options = PullOptions {
        output: workdir.as_ref().map_or_else(|| args.output.clone(), |w| w.path().to_path_buf()),
        platform: platform_choice(args.platform.as_deref(), args.all_platforms)?,
        platform_given: args.platform.is_some(),
        format: match args.format {
            FormatArg::Preserve => Format::Preserve,
            FormatArg::Oci => Format::Oci,
        },
        jobs: config.network.jobs,
        cache: super::run_cache::settings(g).blob_cache()?,
        into_archive: streaming.as_ref().map(|s| s.arrivals()),
    };
    // -q: errors only. Otherwise a frame on a terminal, lines in a log.
    let progress = (!g.quiet).then(|| Progress::start(console));
    let observer: Arc<dyn Observer> = match &progress {
        Some(p) => p.clone(),
        None => Arc::new(pull::Unobserved),
    };
    let batch = items.len() > 1 || args.file.is_some() || args.locked.is_some();
    let started = Instant::now();
    let session = super::run_cache::session(g, config);
    let pulled = pull::pull_many(session.clone(), items, &options, observer, cleanup).await;
    super::run_cache::remember(g, &session);
    if let Some(p) = &progress {
        p.finish();
    }
    let mut outcomes = pulled?;
    if let (Some(target), Some(workdir), Some(streaming)) = (&archive, &workdir, streaming) {
        streaming.finish(target, workdir.path(), &outcomes).await?;
    }
    for outcome in &mut outcomes {
        if let ImageOutcome::Pulled(r) = outcome {
            r.output = shown_path(&args.output);
        }
    }
    if !batch {
        return match outcomes.pop() {
            Some(ImageOutcome::Pulled(r)) => printer.pull(&r).map(|()| Exit::Success),
            Some(ImageOutcome::Failed { error, .. }) => Err(error),
            None => Err(Error::Failed("nothing was pulled".into())),
        };
    }
    let report = batch_report(outcomes, &shown_path(&args.output), started);
    printer.batch(&report)?;
    Ok(batch_exit(&report))
}

/// The images a pull names: its references and `-f FILE`'s, or a lock
/// file's entries.
enum Wanted {
    References(Vec<String>),
    Locked(Vec<crate::lock::Locked>),
}

fn wanted(args: &PullArgs) -> Result<Wanted, Error> {
    if let Some(file) = &args.locked {
        let locked = crate::lock::LockFile::read(file)?;
        if locked.images.is_empty() {
            return Err(Error::Usage(format!("{} locks no image", file.display())));
        }
        return Ok(Wanted::Locked(locked.images));
    }
    Ok(Wanted::References(references(&args.references, args.file.as_deref())?))
}

impl Wanted {
    fn references(&self) -> Result<Vec<Reference>, Error> {
        let texts: Vec<&str> = match self {
            Wanted::References(r) => r.iter().map(String::as_str).collect(),
            Wanted::Locked(l) => l.iter().map(|l| l.reference.as_str()).collect(),
        };
        Ok(texts.into_iter().map(str::parse).collect::<Result<_, _>>()?)
    }

    fn items(&self, config: &Config) -> Result<Vec<PullItem>, Error> {
        match self {
            Wanted::Locked(l) => l.iter().map(|l| crate::lock::pull_item(config, l)).collect(),
            Wanted::References(_) => self
                .references()?
                .iter()
                .map(|r| Ok(PullItem::new(Plan::new(config, r)?)))
                .collect(),
        }
    }
}

/// An output path as reports give it: absolute (a script may run from
/// another directory), `-` (stdout) as it is.
pub(super) fn shown_path(path: &Path) -> std::path::PathBuf {
    if path.as_os_str() == "-" {
        return path.to_path_buf();
    }
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

pub(super) fn platform_choice(platform: Option<&str>, all: bool) -> Result<PlatformChoice, Error> {
    Ok(match (platform, all) {
        (_, true) => PlatformChoice::All,
        (Some(p), false) => {
            PlatformChoice::One(p.parse::<Platform>().map_err(|e| Error::Usage(e.to_string()))?)
        }
        (None, false) => PlatformChoice::One(Platform::host()),
    })
}

/// The references given, then those of `-f FILE` (`-` for stdin): one per
/// line, blank lines and lines starting with `#` skipped.
pub(super) fn references(given: &[String], file: Option<&Path>) -> Result<Vec<String>, Error> {
    let mut all = given.to_vec();
    if let Some(path) = file {
        let text = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
                .map_err(|e| Error::Usage(format!("cannot read references from stdin: {e}")))?;
            text
        } else {
            std::fs::read_to_string(path)
                .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?
        };
        let lines = text.lines().map(str::trim);
        all.extend(lines.filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
    }
    if all.is_empty() {
        return Err(Error::Usage("no reference to pull (the file lists none)".into()));
    }
    Ok(all)
}

fn batch_report(outcomes: Vec<ImageOutcome>, output: &Path, started: Instant) -> BatchReport {
    let images: Vec<BatchEntry> = outcomes
        .into_iter()
        .map(|o| match o {
            ImageOutcome::Pulled(r) => BatchEntry::Pulled(r),
            ImageOutcome::Failed { reference, error } => {
                BatchEntry::Failed { reference, error: ErrorReport::of(&error) }
            }
        })
        .collect();
    let pulled = images.iter().filter(|e| matches!(e, BatchEntry::Pulled(_))).count();
    BatchReport {
        failed: images.len() - pulled,
        pulled,
        images,
        output: output.to_path_buf(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// 0 when every image was pulled, 5 when some were, else the first
/// failure's code.
fn batch_exit(r: &BatchReport) -> Exit {
    let first = r.images.iter().find_map(|e| match e {
        BatchEntry::Failed { error, .. } => Some(error.kind),
        BatchEntry::Pulled(_) => None,
    });
    match (r.failed, r.pulled, first) {
        (0, _, _) => Exit::Success,
        (_, 0, Some(kind)) => Exit::AllFailed(kind),
        _ => Exit::Partial,
    }
}
