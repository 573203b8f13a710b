//! The binary: parse, run, print the error once, exit with its code.

use clap::Parser;
use ocimirror::{app, cli::Cli, exit, pull::Cleanup};

fn main() {
    let cli = Cli::parse();
    init_logging(cli.global.verbose, cli.global.quiet);
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
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
    std::process::exit(code);
}

fn report(e: &anyhow::Error, code: i32, json: bool) {
    let message = format!("{e:#}");
    eprintln!("error: {message}");
    if json {
        let kind = match code {
            exit::USAGE => "usage",
            exit::NOT_FOUND => "not-found",
            exit::DENIED => "denied",
            exit::INTERRUPTED => "interrupted",
            _ => "failure",
        };
        println!(
            "{}",
            serde_json::json!({"error": {"kind": kind, "exitCode": code, "message": message}})
        );
    }
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
