//! Running a parsed command line: settings from files, environment and
//! flags; the library call; the report handed to the printer. Errors are
//! returned, never printed here: `cli::main` prints them once.

use std::sync::Arc;

use super::args::{
    Cli, Command, ExportArgs, Format as FormatArg, GlobalArgs, MirrorsAction, PullArgs,
};
use super::printer::Printer;
use crate::archive::{self, PendingFile};
use crate::config::{self, Config};
use crate::error::Error;
use crate::exit::Exit;
use crate::fetch::Session;
use crate::image::Platform;
use crate::layout::Layout;
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
                printer.resolve(&crate::resolve::resolve(config, plan).await?)?;
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
                let report = crate::check::check(load_config(g)?, reference).await?;
                printer.check(&report)?;
                Ok(if report.healthy { Exit::Success } else { Exit::SourcesUnhealthy })
            }
            None => {
                match args.reference.as_deref() {
                    Some(r) => printer.plan(&report::plan(&plan_for(g, r)?.1))?,
                    None => printer.mirrors(&report::mirrors(&load_config(g)?))?,
                }
                Ok(Exit::Success)
            }
        },
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
    };
    let observer: Arc<dyn Observer> = match super::progress::Bars::on_terminal() {
        Some(bars) if !g.quiet => Arc::new(bars),
        _ => Arc::new(pull::Unobserved),
    };
    let session = Arc::new(Session::new(config));
    let report = pull::pull(session, Arc::new(plan), &options, observer, cleanup).await?;
    printer.pull(&report)?;
    Ok(Exit::Success)
}

/// `export`: the archive goes to a file, through a `PendingFile` so that it
/// appears under its name only when complete, or to stdout (`-o -`), which
/// then carries nothing else. It is written on a blocking thread, so that
/// Ctrl-C is heard meanwhile; the `PendingFile` is dropped then, which
/// removes the temporary file.
async fn export(g: &GlobalArgs, args: &ExportArgs, printer: Printer) -> Result<Exit, Error> {
    let to_stdout = args.output.as_os_str() == "-";
    if to_stdout && g.json {
        return Err(Error::Usage(
            "--json cannot be used with -o -: stdout is the archive (the JSON report needs -o FILE)"
                .into(),
        ));
    }
    if to_stdout && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(Error::Usage(
            "refusing to write an archive to a terminal: redirect stdout or give -o FILE".into(),
        ));
    }
    let layout = Layout::existing(&args.dir)?;
    let names = args.names.clone();
    // Listened for before the temporary file exists: until Ctrl-C has a
    // handler, it kills the process, which would leave the file behind.
    let mut interrupted = Box::pin(tokio::signal::ctrl_c());
    std::future::poll_fn(|cx| {
        let _ = interrupted.as_mut().poll(cx);
        std::task::Poll::Ready(())
    })
    .await;
    let report = if to_stdout {
        let write =
            blocking(move || archive::write_archive(&layout, &names, std::io::stdout().lock()));
        tokio::select! {
            r = write => r?,
            _ = &mut interrupted => return Err(Error::Interrupted),
        }
    } else {
        let pending = PendingFile::create(&args.output)?;
        let file = pending.writer()?;
        let write = blocking(move || archive::write_archive(&layout, &names, file));
        let written = tokio::select! {
            r = write => r,
            _ = &mut interrupted => return Err(Error::Interrupted),
        };
        let report = written.map_err(|e| match e {
            // Said with the file's name: a full disk is worth locating.
            Error::Io { context, cause } if context == archive::WRITING => {
                Error::io(format!("cannot write {}", args.output.display()), cause)
            }
            other => other,
        })?;
        pending.commit()?;
        report
    };
    printer.export(&args.output, to_stdout, &report)?;
    Ok(Exit::Success)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Failed(format!("the export stopped: {e}")))?
}
