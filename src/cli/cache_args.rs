//! The flags and commands of the cache directory: where it is, how a run
//! uses it (`--no-cache`, `--fresh`, `--verify-cache`), and the upkeep
//! commands (`cache`, `verify`, `gc`). Kept apart from `args.rs`, which
//! includes them.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cache::CacheSettings;

#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Directory for host memory (hosts.json) and the blob cache (blobs/)
    /// [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]
    #[arg(long, global = true, value_name = "DIR", env = "OCIMIRROR_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]
    #[arg(long, global = true, value_name = "DIR", env = "OCIMIRROR_CACHE")]
    pub cache: Option<PathBuf>,

    /// Use no blob cache: blobs are downloaded into the layout alone (partial
    /// downloads in its .ocimirror/partial, removed on Ctrl-C)
    #[arg(long, global = true, conflicts_with = "cache")]
    pub no_cache: bool,

    /// Re-hash a cached blob before linking it into the layout (its size is always
    /// checked)
    #[arg(long, global = true)]
    pub verify_cache: bool,

    /// Ignore host memory for this run: ask every source as if for the first time
    /// (what the run learns is still remembered)
    #[arg(long, global = true)]
    pub fresh: bool,
}

impl CacheArgs {
    pub fn settings(&self) -> CacheSettings {
        CacheSettings::new(
            self.cache_dir.clone(),
            self.cache.clone(),
            self.no_cache,
            self.fresh,
            self.verify_cache,
        )
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CacheCommand {
    #[command(subcommand)]
    pub action: Option<CacheAction>,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Remove cached blobs and stale partial downloads (partials untouched for a day
    /// always; without options, blobs unused for 30 days)
    Prune {
        /// Then remove the least recently used blobs until the cache fits in this
        /// size, e.g. 10G, 500M
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,

        /// Remove blobs not used for this long, e.g. 30d, 12h, 90m
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: Option<std::time::Duration>,
    },
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The OCI layout directory
    #[arg(default_value = "oci-layout", env = "OCIMIRROR_OUTPUT")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// The OCI layout directory
    #[arg(default_value = "oci-layout", env = "OCIMIRROR_OUTPUT")]
    pub dir: PathBuf,

    /// Say what would be removed, and remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    crate::units::parse_size(s)
}

fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    crate::units::parse_age(s)
}
