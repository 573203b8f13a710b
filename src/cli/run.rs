//! Running a parsed command line: settings from files, environment and
//! flags; the library call; the report handed to the printer. Errors are
//! returned, never printed here: `cli::main` prints them once.

use std::sync::Arc;

use super::archive::ArchiveTarget;
use super::args::{Cli, Command, ExportArgs, GlobalArgs, LockArgs, MirrorsAction};
use super::printer::Printer;
use super::pull::{platform_choice, pull, references};
use super::run_cache;
use crate::config::{self, Config};
use crate::error::Error;
use crate::exit::Exit;
use crate::fetch::Session;
use crate::layout::Layout;
use crate::plan::Plan;
use crate::pull::Cleanup;
use crate::reference::Reference;
use crate::report;

/// Runs a parsed command line. `cleanup` lets the caller remove partial
/// files if the run is interrupted.
pub async fn run(cli: Cli, printer: Printer, cleanup: Cleanup) -> Result<Exit, Error> {
    let g = &cli.global;
    match &cli.command {
        Command::Pull(args) => pull(g, args, printer, &cleanup).await,
        Command::Lock(args) => lock(g, args, printer).await,
        Command::Resolve(args) => {
            let (config, plan) = plan_for(g, &args.reference)?;
            if args.dry_run {
                printer.plan(&report::plan(&plan))?;
            } else {
                let session = run_cache::session(g, config);
                let resolved = crate::resolve::resolve(session.clone(), plan).await;
                run_cache::remember(g, &session);
                printer.resolve(&resolved?)?;
            }
            Ok(Exit::Success)
        }
        Command::Ls(args) => {
            printer.ls(&args.dir, &crate::ls::ls(&args.dir)?)?;
            Ok(Exit::Success)
        }
        Command::Export(args) => export(g, args, printer).await,
        Command::Mirrors(args) => match &args.action {
            Some(MirrorsAction::Check { reference }) => {
                let reference: Option<Reference> =
                    reference.as_deref().map(str::parse).transpose()?;
                let session = Arc::new(Session::new(load_config(g)?));
                let checked = crate::check::check(session.clone(), reference).await;
                run_cache::remember(g, &session);
                let report = checked?;
                printer.check(&report)?;
                Ok(if report.healthy { Exit::Success } else { Exit::SourcesUnhealthy })
            }
            Some(MirrorsAction::Forget { host }) => run_cache::forget(g, host.as_deref(), printer),
            None => match args.reference.as_deref() {
                Some(r) => {
                    printer.plan(&report::plan(&plan_for(g, r)?.1))?;
                    Ok(Exit::Success)
                }
                None => run_cache::mirrors(g, printer),
            },
        },
        Command::Cache(args) => run_cache::cache(g, args, printer),
        Command::Verify(args) => run_cache::verify(g, args, printer),
        Command::Gc(args) => run_cache::gc(args, printer),
        Command::Completions { shell } => {
            super::stdout::out(format_args!("{}", super::args::completion(*shell)));
            Ok(Exit::Success)
        }
    }
}

/// Configuration from every source; the flags are overrides, applied last
/// by `Config::load`.
pub fn load_config(g: &GlobalArgs) -> Result<Config, Error> {
    let (config_file, config_explicit) = match &g.config {
        Some(p) => (Some(p.clone()), true),
        None => (config::default_path(), false),
    };
    Config::load(&config::Overrides {
        config_file,
        config_explicit,
        hosts_dir: g.hosts_dir.clone(),
        registries_conf: g.registries_conf.clone(),
        mirrors: g.mirrors.clone(),
        no_mirrors: g.no_mirrors,
        no_fallback: g.no_fallback,
        require_confirmed: g.require_confirmed,
        connect_timeout: g.connect_timeout,
        response_timeout: g.response_timeout,
        stall_timeout: g.stall_timeout,
        body_timeout: g.body_timeout,
        speed_limit: g.speed_limit,
        split_threshold: g.split_threshold,
        retries: g.retries,
    })
}

fn plan_for(g: &GlobalArgs, reference: &str) -> Result<(Config, Plan), Error> {
    let reference: Reference = reference.parse()?;
    let config = load_config(g)?;
    let plan = Plan::new(&config, &reference)?;
    Ok((config, plan))
}

/// `lock`: resolve each reference (no blob is fetched) and write the lock
/// file, only when every one resolved: a partial lock file replacing a
/// complete one would lose entries. `lock --check`: resolve them again.
async fn lock(g: &GlobalArgs, args: &LockArgs, printer: Printer) -> Result<Exit, Error> {
    let config = load_config(g)?;
    if let Some(file) = &args.check {
        let locked = crate::lock::LockFile::read(file)?;
        let report = crate::lock::check_all(config, locked.images, file).await?;
        printer.lock_check(&report)?;
        let first_failure = report.failed.first().map(|f| f.error.kind);
        return Ok(match (report.moved.is_empty(), first_failure) {
            (false, _) => Exit::TagsMoved,
            (true, Some(kind)) => Exit::AllFailed(kind),
            (true, None) => Exit::Success,
        });
    }
    let platform = platform_choice(args.platform.as_deref(), args.all_platforms)?;
    let plans = references(&args.references, args.file.as_deref())?
        .iter()
        .map(|r| Plan::new(&config, &r.parse()?))
        .collect::<Result<Vec<_>, Error>>()?;
    let report = crate::lock::lock_all(config, plans, &platform, &args.output).await?;
    printer.lock(&report)?;
    Ok(match report.failed.first() {
        Some(f) => Exit::AllFailed(f.error.kind),
        None => Exit::Success,
    })
}

/// `export`: an existing layout as one archive.
async fn export(g: &GlobalArgs, args: &ExportArgs, printer: Printer) -> Result<Exit, Error> {
    let target = ArchiveTarget::of(&args.output, g.json)?
        .unwrap_or_else(|| ArchiveTarget::File(args.output.clone()));
    let layout = Layout::existing(&args.dir)?;
    let report = target.write_layout(layout, args.names.clone()).await?;
    printer.export(&args.output, matches!(target, ArchiveTarget::Stdout), &report)?;
    Ok(Exit::Success)
}
