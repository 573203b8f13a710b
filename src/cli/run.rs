//! Running a parsed command line: settings from files, environment and
//! flags; the library call; the report handed to the printer. Errors are
//! returned, never printed here: `cli::main` prints them once.

use std::sync::Arc;

use super::args::{Cli, Command, Format as FormatArg, GlobalArgs, MirrorsAction, PullArgs};
use super::printer::Printer;
use super::run_cache;
use crate::config::{self, Config};
use crate::error::Error;
use crate::exit::Exit;
use crate::fetch::Session;
use crate::image::Platform;
use crate::plan::Plan;
use crate::pull::{self, Cleanup, Format, Observer, PlatformChoice, PullOptions};
use crate::reference::Reference;
use crate::report;

/// Runs a parsed command line. `cleanup` lets the caller remove partial
/// files if the run is interrupted.
pub async fn run(cli: Cli, printer: Printer, cleanup: Cleanup) -> Result<Exit, Error> {
    let g = &cli.global;
    match &cli.command {
        Command::Pull(args) => pull(g, args, printer, &cleanup).await,
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
        retries: g.retries,
    })
}

fn plan_for(g: &GlobalArgs, reference: &str) -> Result<(Config, Plan), Error> {
    let reference: Reference = reference.parse()?;
    let config = load_config(g)?;
    let plan = Plan::new(&config, &reference)?;
    Ok((config, plan))
}

async fn pull(
    g: &GlobalArgs,
    args: &PullArgs,
    printer: Printer,
    cleanup: &Cleanup,
) -> Result<Exit, Error> {
    let (mut config, plan) = plan_for(g, &args.reference)?;
    let platform = match (&args.platform, args.all_platforms) {
        (_, true) => PlatformChoice::All,
        (Some(p), false) => {
            PlatformChoice::One(p.parse::<Platform>().map_err(|e| Error::Usage(e.to_string()))?)
        }
        (None, false) => PlatformChoice::One(Platform::host()),
    };
    if let Some(j) = args.jobs {
        config.network.jobs = usize::from(j);
    }
    if args.dry_run {
        printer.plan(&report::plan(&plan))?;
        return Ok(Exit::Success);
    }
    let options = PullOptions {
        output: args.output.clone(),
        platform,
        format: match args.format {
            FormatArg::Preserve => Format::Preserve,
            FormatArg::Oci => Format::Oci,
        },
        jobs: config.network.jobs,
        cache: run_cache::settings(g).blob_cache()?,
    };
    let observer: Arc<dyn Observer> = match super::progress::Bars::on_terminal() {
        Some(bars) if !g.quiet => Arc::new(bars),
        _ => Arc::new(pull::Unobserved),
    };
    let session = run_cache::session(g, config);
    let pulled = pull::pull(session.clone(), Arc::new(plan), &options, observer, cleanup).await;
    run_cache::remember(g, &session);
    printer.pull(&pulled?)?;
    Ok(Exit::Success)
}
