//! Running a parsed command line: settings from files, environment and
//! flags; the library call; the report handed to the printer. Errors are
//! returned, never printed here: `cli::main` prints them once.

use std::sync::Arc;

use super::archive::ArchiveTarget;
use super::args::{Cli, Command, ExportArgs, GlobalArgs, LockArgs, MirrorsAction, NetworkArgs};
use super::console::Console;
use super::printer::Printer;
use super::pull::{platform_choice, pull, references};
use super::run_cache;
use crate::config::{self, Config};
use crate::credentials::CredentialOptions;
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
pub async fn run(
    cli: Cli,
    printer: Printer,
    cleanup: Cleanup,
    console: Arc<Console>,
) -> Result<Exit, Error> {
    let g = &cli.global;
    match &cli.command {
        Command::Pull(args) => pull(g, args, printer, &cleanup, console).await,
        Command::Lock(args) => lock(args, printer).await,
        Command::Resolve(args) => {
            let (config, plan) = plan_for(&args.network, &args.reference)?;
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
        Command::Inspect(args) => {
            printer.inspect(&super::inspect::inspect(args).await?)?;
            Ok(Exit::Success)
        }
        Command::Ls(args) => {
            printer.ls(&args.dir, &crate::ls::ls(&args.dir)?)?;
            Ok(Exit::Success)
        }
        Command::Export(args) => export(g, args, printer).await,
        Command::Mirrors(args) => match &args.action {
            Some(MirrorsAction::Check { reference, network }) => {
                let reference: Option<Reference> =
                    reference.as_deref().map(str::parse).transpose()?;
                let registries: Vec<&str> = reference.iter().map(|r| r.registry.as_str()).collect();
                let session = Arc::new(Session::new(load_config(network, &registries)?));
                let checked = crate::check::check(session.clone(), reference).await;
                run_cache::remember(g, &session);
                let report = checked?;
                printer.check(&report)?;
                Ok(if report.healthy { Exit::Success } else { Exit::SourcesUnhealthy })
            }
            Some(MirrorsAction::Forget { host }) => run_cache::forget(g, host.as_deref(), printer),
            None => match args.reference.as_deref() {
                Some(r) => {
                    printer.plan(&report::plan(&plan_for(&args.network, r)?.1))?;
                    Ok(Exit::Success)
                }
                None => run_cache::mirrors(g, &args.network, printer),
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
/// by `Config::load`. `registries`: those the references name, which
/// `--creds` is for (it must be one).
pub fn load_config(n: &NetworkArgs, registries: &[&str]) -> Result<Config, Error> {
    let (config_file, config_explicit) = match &n.config {
        Some(p) => (Some(p.clone()), true),
        None => (config::default_path(), false),
    };
    if n.retries.is_some() {
        tracing::warn!(
            "--retries is now --tries, with the same number: requests per source, 1 being a \
             single try"
        );
    }
    Config::load(&config::Overrides {
        config_file,
        config_explicit,
        hosts_dir: n.hosts_dir.clone(),
        registries_conf: n.registries_conf.clone(),
        mirrors: n.mirrors.clone(),
        only_mirrors: n.only_mirrors,
        no_mirrors: n.no_mirrors,
        no_fallback: n.no_fallback,
        require_confirmed: n.require_confirmed,
        connect_timeout: n.connect_timeout,
        response_timeout: n.response_timeout,
        stall_timeout: n.stall_timeout,
        body_timeout: n.body_timeout,
        speed_limit: n.speed_limit,
        split_threshold: n.split_threshold,
        retries: n.tries.or(n.retries),
        credentials: credential_options(n, registries)?,
    })
}

/// `--creds` bound to the references' registry, and `--authfile`.
fn credential_options(n: &NetworkArgs, registries: &[&str]) -> Result<CredentialOptions, Error> {
    let explicit = match (&n.creds, registries) {
        (None, _) => None,
        (Some(_), []) => {
            return Err(Error::Usage(
                "--creds is for the registry a reference names: give a reference".into(),
            ));
        }
        (Some(text), [first, rest @ ..]) => {
            if let Some(other) = rest.iter().find(|r| *r != first) {
                return Err(Error::Usage(format!(
                    "--creds is for one registry, but the references name {first} and {other}; \
                     pull them in separate runs, or use --authfile"
                )));
            }
            Some((first.to_string(), crate::credentials::parse_creds(text)?))
        }
    };
    Ok(CredentialOptions { explicit, authfile: n.authfile.clone() })
}

fn plan_for(n: &NetworkArgs, reference: &str) -> Result<(Config, Plan), Error> {
    let reference: Reference = reference.parse()?;
    let config = load_config(n, &[reference.registry.as_str()])?;
    let plan = Plan::new(&config, &reference)?;
    Ok((config, plan))
}

/// `lock`: resolve each reference (no blob is fetched) and write the lock
/// file, only when every one resolved: a partial lock file replacing a
/// complete one would lose entries. `lock --check`: resolve them again.
async fn lock(args: &LockArgs, printer: Printer) -> Result<Exit, Error> {
    if let Some(file) = &args.check {
        let locked = crate::lock::LockFile::read(file)?;
        let references = locked
            .images
            .iter()
            .map(|l| l.reference.parse::<Reference>())
            .collect::<Result<Vec<_>, _>>()?;
        let config = load_config(&args.network, &registries_of(&references))?;
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
    let parsed = references(&args.references, args.file.as_deref())?
        .iter()
        .map(|r| r.parse::<Reference>())
        .collect::<Result<Vec<_>, _>>()?;
    let config = load_config(&args.network, &registries_of(&parsed))?;
    let plans = parsed.iter().map(|r| Plan::new(&config, r)).collect::<Result<Vec<_>, Error>>()?;
    let report = crate::lock::lock_all(config, plans, &platform, &args.output).await?;
    printer.lock(&report)?;
    Ok(match report.failed.first() {
        Some(f) => Exit::AllFailed(f.error.kind),
        None => Exit::Success,
    })
}

/// The registries references name, each once.
pub(super) fn registries_of(references: &[Reference]) -> Vec<&str> {
    let mut registries: Vec<&str> = references.iter().map(|r| r.registry.as_str()).collect();
    registries.dedup();
    registries.sort_unstable();
    registries.dedup();
    registries
}

/// `export`: an existing layout as one archive.
async fn export(g: &GlobalArgs, args: &ExportArgs, printer: Printer) -> Result<Exit, Error> {
    let target = ArchiveTarget::of(&args.output, g.json)?
        .unwrap_or_else(|| ArchiveTarget::File(args.output.clone()));
    let layout = Layout::existing(&args.dir)?;
    let report = target.write_layout(layout, args.names.clone()).await?;
    let output = super::pull::shown_path(&args.output);
    printer.export(&output, matches!(target, ArchiveTarget::Stdout), &report)?;
    Ok(Exit::Success)
}
