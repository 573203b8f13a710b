//! The binary: parse, run, print the error once, exit with its code.

use clap::Parser;
use ocimirror::{app, cli::Cli, exit, output, pull::Cleanup};

fn main() {
    // `VAR=` (as CI templates write `VAR=${X:-}`) means unset, not "a flag
    // with an empty value" as clap would read it.
    for var in
        ["OCIMIRROR_CONFIG", "OCIMIRROR_HOSTS_DIR", "OCIMIRROR_REGISTRIES_CONF", "OCIMIRROR_OUTPUT"]
    {
        if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
            // SAFETY: no other thread exists yet (no runtime, no logging),
            // so nothing can read the environment concurrently.
            unsafe { std::env::remove_var(var) };
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    init_logging(cli.global.verbose, cli.global.quiet);
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            let e = anyhow::anyhow!("cannot start: {e}");
            report(&e, exit::FAILURE, json);
            std::process::exit(exit::FAILURE);
        }
    };
    let cleanup = Cleanup::default();
    let result = runtime.block_on(async {
        tokio::select! {
            r = app::run(cli, cleanup.clone()) => r,
            _ = tokio::signal::ctrl_c() => Err(ocimirror::Error::Interrupted.into()),
        }
    });
    let code = match result {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            let code = exit::code_for(&e);
            if code == exit::INTERRUPTED {
                cleanup.run();
            }
            report(&e, code, json);
            code
        }
    };
    // Do not wait for downloads still in flight after an error or Ctrl-C.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    // Results that could not be written make a failed run, except into a
    // pipe whose reader is gone (`| head`), as for any Unix tool.
    let code = match output::stdout_failure() {
        Some(e) if code == exit::SUCCESS && e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write to stdout: {e}");
            exit::FAILURE
        }
        _ => code,
    };
    std::process::exit(code);
}

/// clap's own errors (unknown flag, missing value, ...): clap's message on
/// stderr, and under `--json` the same error object as every other failure.
fn usage_error(e: clap::Error) -> ! {
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
        print_json_error(exit::USAGE, first);
    }
    std::process::exit(exit::USAGE);
}

fn report(e: &anyhow::Error, code: i32, json: bool) {
    let message = format!("{e:#}");
    eprintln!("error: {message}");
    if json {
        print_json_error(code, &message);
    }
}

fn print_json_error(code: i32, message: &str) {
    let kind = match code {
        exit::USAGE => "usage",
        exit::NOT_FOUND => "not-found",
        exit::DENIED => "denied",
        exit::INTERRUPTED => "interrupted",
        _ => "failure",
    };
    let error = serde_json::json!({"error": {"kind": kind, "exitCode": code, "message": message}});
    output::out(format_args!("{error}\n"));
}

fn init_logging(verbose: u8, quiet: bool) {
    use std::io::IsTerminal;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info,ocimirror=debug",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OCIMIRROR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .init();
}
