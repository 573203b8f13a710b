//! Running the commands of the cache directory and the layout upkeep:
//! `cache [prune]`, `mirrors` (what host memory holds), `mirrors forget`,
//! `verify` and `gc`; and the session a network command starts from.
//! Kept apart from `run.rs`, which dispatches here.

use std::sync::Arc;

use super::args::{GlobalArgs, NetworkArgs};
use super::cache_args::{CacheAction, CacheCommand, GcArgs, VerifyArgs};
use super::printer::Printer;
use crate::cache::{CacheSettings, prune};
use crate::error::Error;
use crate::exit::Exit;
use crate::fetch::Session;
use crate::report;

pub fn settings(g: &GlobalArgs) -> CacheSettings {
    g.cache.settings()
}

pub fn cache(g: &GlobalArgs, args: &CacheCommand, printer: Printer) -> Result<Exit, Error> {
    let settings = settings(g);
    let Some(dir) = settings.blobs_dir() else {
        return Err(Error::Usage("--no-cache: there is no blob cache to show or prune".into()));
    };
    match &args.action {
        None => printer.cache(&prune::report(dir))?,
        Some(CacheAction::Prune { max_size, older_than }) => {
            printer.prune(&prune::prune(dir, *max_size, *older_than))?
        }
    }
    Ok(Exit::Success)
}

/// `ocimirror mirrors`: the configuration's rules and what memory holds.
pub fn mirrors(g: &GlobalArgs, network: &NetworkArgs, printer: Printer) -> Result<Exit, Error> {
    let config = super::run::load_config(network, &[])?;
    let settings = settings(g);
    let memory = settings.memory_file().map(|f| f.read()).unwrap_or_default();
    let remembered = report::remembered(&memory, crate::units::now_ms());
    let file = settings.memory_file().map(|f| f.path());
    printer.mirrors(&report::mirrors(&config, remembered, file))?;
    Ok(Exit::Success)
}

pub fn forget(g: &GlobalArgs, host: Option<&str>, printer: Printer) -> Result<Exit, Error> {
    let Some(file) = settings(g).memory_file() else {
        return Err(Error::Usage("no cache directory (set --cache-dir)".into()));
    };
    let forgotten = file.update(|m| m.forget(host))?;
    printer.forget(&report::ForgetReport { forgotten })?;
    Ok(Exit::Success)
}

pub fn verify(g: &GlobalArgs, args: &VerifyArgs, printer: Printer) -> Result<Exit, Error> {
    let r = crate::upkeep::verify::verify(&args.dir, settings(g).blobs_dir())?;
    printer.verify(&r)?;
    Ok(if r.ok { Exit::Success } else { Exit::LayoutDamaged })
}

pub fn gc(args: &GcArgs, printer: Printer) -> Result<Exit, Error> {
    printer.gc(&crate::upkeep::gc::gc(&args.dir, args.dry_run)?)?;
    Ok(Exit::Success)
}

/// A session seeded from host memory (none with `--fresh`).
pub fn session(g: &GlobalArgs, config: crate::config::Config) -> Arc<Session> {
    settings(g).session(config)
}

/// Merges what the run learned into host memory.
pub fn remember(g: &GlobalArgs, session: &Session) {
    settings(g).remember(session);
}
