//! The command line: the flags, defined once (`args`, which also generates
//! the man pages and completions), the dispatch to the library (`run`),
//! the one printer (`printer`) and the progress bars (`progress`). The
//! library below knows nothing of any of it.

mod archive;
mod args;
mod cache_args;
mod console;
mod frame;
mod inspect;
mod printer;
mod progress;
mod pull;
mod run;
mod run_cache;
mod signals;
pub(crate) mod stdout;

use clap::Parser;

pub use args::{Cli, Shell, completion, man_pages};
use printer::{Mode, Printer};

use crate::error::Error;
use crate::exit;
use crate::pull::Cleanup;

/// The program: parse, run, print the error once; returns the exit code.
pub fn main() -> i32 {
    unset_empty_variables();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let console = console::Console::new();
    init_logging(cli.global.verbose, cli.global.quiet, &console);
    let mode = match (cli.global.json, cli.global.quiet) {
        (true, _) => Mode::Json,
        (false, true) => Mode::Quiet,
        (false, false) => Mode::Human,
    };
    let printer = Printer { mode, verbose: cli.global.verbose > 0 };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            printer.error(&Error::Failed(format!("cannot start: {e}")));
            return exit::FAILURE;
        }
    };
    let cleanup = Cleanup::default();
    // Before anything is written: from here on no stopping signal kills
    // the process before its partial files are removed.
    let mut stoppers = match runtime.block_on(async { signals::Stoppers::install() }) {
        Ok(s) => s,
        Err(e) => {
            printer.error(&e);
            return exit::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            r = run::run(cli, printer, cleanup.clone(), console.clone()) => r,
            signal = stoppers.next() => Err(Error::Signalled(signal)),
        }
    });
    let code = match result {
        Ok(exit) => exit.code(),
        Err(e) => {
            // Downloads may still be running: no frame may follow the error.
            console.close();
            let code = exit::code_for(e.kind());
            if e.kind().is_signal() {
                signals::exit_on_next(&runtime, stoppers, code);
                cleanup.run();
            }
            printer.error(&e);
            code
        }
    };
    // Do not wait for downloads still in flight after an error or Ctrl-C.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    // Results that could not be written make a failed run, except into a
    // pipe whose reader is gone (`| head`), as for any Unix tool.
    match stdout::failure() {
        Some(e) if code == exit::SUCCESS && e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write to stdout: {e}");
            exit::FAILURE
        }
        _ => code,
    }
}

/// `VAR=` (as CI templates write `VAR=${X:-}`) means unset, not "a flag
/// with an empty value" as clap would read it.
fn unset_empty_variables() {
    for var in [
        "OCIMIRROR_CONFIG",
        "OCIMIRROR_HOSTS_DIR",
        "OCIMIRROR_REGISTRIES_CONF",
        "OCIMIRROR_OUTPUT",
        "OCIMIRROR_CACHE_DIR",
        "OCIMIRROR_CACHE",
    ] {
        if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
            // SAFETY: called first thing in `main`: no other thread exists
            // yet (no runtime, no logging), so nothing reads the environment
            // concurrently.
            unsafe { std::env::remove_var(var) };
        }
    }
}

/// clap's own errors (unknown flag, missing value, ...): clap's message on
/// stderr, and under `--json` the same error object as every other failure.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let _ = e.print();
    if std::env::args_os().skip(1).any(|a| a == "--json") {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or("").trim_start_matches("error: ");
        printer::error_json(&crate::report::ErrorReport {
            kind: crate::error::ErrorKind::Usage,
            exit_code: exit::USAGE,
            message: first.to_string(),
            answers: Vec::new(),
        });
    }
    exit::USAGE
}

fn init_logging(verbose: u8, quiet: bool, console: &std::sync::Arc<console::Console>) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info,ocimirror=debug",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OCIMIRROR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let color = console.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(console::LogWriter(console.clone()))
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .init();
}
