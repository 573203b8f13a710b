//! The command line, defined once: `main` parses it, and the same
//! definition generates the man pages and shell completions in `man/` and
//! `completions/` (see `tests/integration/generated.rs`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::cache_args::{CacheArgs, CacheCommand, GcArgs, VerifyArgs};
use crate::exit;

const ABOUT: &str =
    "Pull container images through registry mirrors into a verified OCI image layout";

const LONG_ABOUT: &str = "\
Pull container images through registry mirrors into a verified OCI image layout.

For each reference, ocimirror tries the configured mirrors in order, sending the
`ns` query parameter (distribution-spec \"Registry Proxying\") so a mirror knows
which registry is meant; an older mirror that rejects it (404 or 400) is asked
again without it. Then it falls back to the registry named in the reference.
A tag answered by a mirror (unless the config marks it trusted) is confirmed
with one HEAD request to that registry, sent at the same time, and the
registry's digest wins; content is fetched by digest, so a mirror can serve
bytes but never substitute another image for a tag. When the registry cannot
be reached, the mirror's answer is used with a warning (--require-confirmed
refuses it). Every byte is verified against its digest and size.";

const AFTER_HELP: &str = "\
EXAMPLES:
    ocimirror pull ubuntu                # docker.io/library/ubuntu:latest into ./oci-layout
    ocimirror pull --mirror http://127.0.0.1:5000 alpine:3.20 -o images
    ocimirror resolve --json ghcr.io/org/app:v1 | jq .servedBy
    ocimirror export images alpine:3.20 -o alpine.tar && docker load -i alpine.tar
    ocimirror mirrors check docker.io/library/alpine";

#[derive(Debug, Parser)]
#[command(
    name = "ocimirror",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    after_long_help = format!("{AFTER_HELP}\n\n{}", exit::TABLE),
    propagate_version = true,
    subcommand_help_heading = "Commands"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// What every command takes, before or after its name. Under a heading of
/// their own, after each command's own options (as cargo shows them).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Print results as JSON on stdout (one object; see docs/json.md)
    #[arg(long, global = true)]
    pub json: bool,

    /// No progress and no messages except errors and warnings
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// More log output on stderr (-v: each request, -vv: debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Where the cache is and how a run uses it: every command takes them
    /// (the upkeep commands and `mirrors forget` work on the cache alone).
    #[command(flatten, next_help_heading = "Cache")]
    pub cache: CacheArgs,
}

/// Where images come from and how they are fetched: only the commands that
/// ask a registry or a mirror take these (`pull`, `lock`, `resolve`,
/// `inspect`, `mirrors`).
#[derive(Debug, Args, Clone, Default)]
pub struct NetworkArgs {
    /// Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url
    #[arg(long = "mirror", value_name = "URL", help_heading = "Sources")]
    pub mirrors: Vec<String>,

    /// Use only the --mirror URLs: ignore the mirrors of config files, hosts
    /// directories, registries.conf and OCIMIRROR_MIRRORS (the registry is
    /// still the fallback, unless --no-fallback)
    #[arg(long, requires = "mirrors", help_heading = "Sources")]
    pub only_mirrors: bool,

    /// Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go
    /// straight to the registry
    #[arg(long, conflicts_with = "mirrors", help_heading = "Sources")]
    pub no_mirrors: bool,

    /// Never fall back to the registry itself: mirrors only (air-gapped sites)
    #[arg(long, help_heading = "Sources")]
    pub no_fallback: bool,

    /// Fail when a mirror's answer for a tag cannot be confirmed with the
    /// registry (unreachable, or --no-fallback), instead of using it with a
    /// warning; also `unconfirmed = "fail"` in the config
    #[arg(long, help_heading = "Sources")]
    pub require_confirmed: bool,

    /// Configuration file [default: ~/.config/ocimirror/config.toml]
    #[arg(long, value_name = "FILE", env = "OCIMIRROR_CONFIG", help_heading = "Configuration")]
    pub config: Option<PathBuf>,

    /// Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d
    #[arg(long, value_name = "DIR", env = "OCIMIRROR_HOSTS_DIR", help_heading = "Configuration")]
    pub hosts_dir: Option<PathBuf>,

    /// Read mirrors from a containers registries.conf (podman, CRI-O)
    #[arg(
        long,
        value_name = "FILE",
        env = "OCIMIRROR_REGISTRIES_CONF",
        help_heading = "Configuration"
    )]
    pub registries_conf: Option<PathBuf>,

    /// Credentials for the registry named in the reference (never sent to a
    /// mirror, unless its host says `credentials = "authority"`)
    #[arg(long, value_name = "USER:PASS", help_heading = "Credentials")]
    pub creds: Option<String>,

    /// Read credentials from this file only (an auth.json or a docker
    /// config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else
    /// podman's auth.json; then docker's config.json]
    #[arg(long, value_name = "FILE", help_heading = "Credentials")]
    pub authfile: Option<PathBuf>,

    /// Seconds to wait for a connection [default: 3]
    #[arg(long, value_name = "SECS", help_heading = "Network")]
    pub connect_timeout: Option<f64>,

    /// Seconds to wait for a response's headers [default: 5]
    #[arg(long, value_name = "SECS", help_heading = "Network")]
    pub response_timeout: Option<f64>,

    /// Seconds over which a blob download must average --speed-limit, else it
    /// is cut and continued from the next source [default: 30]
    #[arg(long, value_name = "SECS", help_heading = "Network")]
    pub stall_timeout: Option<f64>,

    /// Bytes per second a blob download must average over --stall-timeout
    /// [default: 32768]
    #[arg(long, value_name = "BYTES", help_heading = "Network")]
    pub speed_limit: Option<u64>,

    /// Blobs of at least this many bytes may be fetched in ranges over several
    /// connections when one would be slow [default: 33554432]
    #[arg(long, value_name = "BYTES", help_heading = "Network")]
    pub split_threshold: Option<u64>,

    /// Seconds a manifest, token or error body may take in all, after its
    /// headers [default: 20]
    #[arg(long, value_name = "SECS", help_heading = "Network")]
    pub body_timeout: Option<f64>,

    /// Requests per source before moving on, for failures worth another try
    /// (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=100),
        help_heading = "Network"
    )]
    pub tries: Option<u32>,

    /// The old name of --tries, with the same meaning (requests, not retries)
    #[arg(
        long,
        hide = true,
        value_name = "N",
        conflicts_with = "tries",
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    pub retries: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pull images into an OCI image layout, or into one archive
    #[command(after_help = "\
The layout's index.json names the image by its fully qualified reference, so
`skopeo inspect oci:DIR:docker.io/library/ubuntu:latest` finds it. Pulling the
same name again replaces its entry. Many images can share one layout, and
several pulls may write into it at once.

Several references (or -f FILE) are pulled in one run: one session (a dead
mirror costs its timeout once), blobs shared between images fetched once, one
index.json entry each. An image that fails does not stop the others; the exit
code is then 5 when some were pulled.

EXAMPLES:
    ocimirror pull alpine:3.20 debian:12 -o images
    ocimirror pull -f images.txt -o images          # one reference per line
    ocimirror pull --locked ocimirror.lock -o images
    ocimirror pull -o - alpine:3.20 | docker load")]
    Pull(PullArgs),

    /// Show an image: digest, media type, platform, created, labels, layers
    #[command(after_help = "\
REF is looked up through the mirrors as a pull would (manifest and config
only, no layers). oci:DIR[:NAME], or DIR[:NAME] for an existing directory,
reads an image of a layout instead (NAME as `ocimirror ls` shows it; it may
be left out when the layout holds one image). Of a multi-platform image,
this machine's platform is shown, or --platform's.

EXAMPLES:
    ocimirror inspect alpine:3.20
    ocimirror inspect --json --mirror http://127.0.0.1:5000 ghcr.io/org/app:v1
    ocimirror inspect images:alpine:3.20")]
    Inspect(InspectArgs),

    /// Resolve references and record their digests in a lock file, or check one
    #[command(after_help = "\
The lock file (TOML, one [[image]] per reference, sorted) records the digest
each reference resolved to, the platform images chosen, the source that served
it, its trust and when. `pull --locked FILE` pulls exactly those digests
through the mirrors (no tag to confirm: it works with the registry down);
`lock --check FILE` resolves the tags again and exits 6 when some now point
elsewhere.")]
    Lock(LockArgs),

    /// Find which source serves a reference and its digest, without pulling layers
    Resolve(ResolveArgs),

    /// List the images in an OCI layout, with their digests and sources
    Ls(LsArgs),

    /// Write images of an OCI layout as one archive for docker load, podman load and
    /// ctr images import
    #[command(after_help = "\
The archive is both an OCI image layout (oci-layout, index.json, blobs/) and a
docker-load archive (manifest.json, repositories), as Docker 25+ and containerd
write it:
    docker load -i app.tar
    podman load -i app.tar
    ctr images import app.tar
    skopeo inspect oci-archive:app.tar:docker.io/library/ubuntu:latest
Of a multi-platform image, manifest.json lists this machine's platform (docker
holds one image per tag); index.json keeps every platform the layout holds.")]
    Export(ExportArgs),

    /// Show the sources a reference would be pulled from, and where each was configured
    Mirrors(MirrorsArgs),

    /// Show the blob cache's size, or prune it
    Cache(CacheCommand),

    /// Re-hash every blob of a layout and check every reference of every image in it
    #[command(after_help = "\
Exit code 0: the layout is whole. Exit code 1: something is missing or wrong (each
problem is listed). A blob whose bytes do not match its name is removed (from the
layout, and from the blob cache when it is the same file), so the next pull of an
image that needs it fetches it again.")]
    Verify(VerifyArgs),

    /// Remove blobs no image in the layout refers to, and stale partial and temporary files
    Gc(GcArgs),

    /// Print a shell completion script to stdout
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Image references, e.g. ubuntu, ghcr.io/org/app:v1, alpine@sha256:...
    #[arg(value_name = "REF", required_unless_present_any = ["file", "locked"])]
    pub references: Vec<String>,

    /// Read references from FILE, one per line (# comments, blank lines); - for stdin
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Pull exactly the digests a lock file records (see `ocimirror lock`)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["references", "file", "platform", "all_platforms"])]
    pub locked: Option<PathBuf>,

    /// The OCI layout directory to write into (created if missing); a path
    /// ending in .tar, or - for stdout, is one archive that docker load,
    /// podman load and ctr images import read
    #[arg(
        short,
        long,
        value_name = "DIR|FILE.tar|-",
        default_value = "oci-layout",
        env = "OCIMIRROR_OUTPUT"
    )]
    pub output: PathBuf,

    /// Platform to pull from a multi-platform image [default: this machine's]
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", conflicts_with = "all_platforms")]
    pub platform: Option<String>,

    /// Keep the whole multi-platform index, every platform
    #[arg(long)]
    pub all_platforms: bool,

    /// `preserve`: manifests byte for byte as served; `oci`: rewrite Docker
    /// manifests as OCI (new manifest digests, same layers) for tools that
    /// read only OCI media types, such as skopeo's oci: transport
    #[arg(long, value_enum, default_value_t = Format::Preserve)]
    pub format: Format,

    /// Connections for large blobs, 1 to 64 (a blob fetched in ranges uses several);
    /// blobs under 256 KiB, up to 8 times as many at once [default: 8]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,

    /// Print the plan (sources and URLs, in order) without touching the network
    #[arg(long)]
    pub dry_run: bool,

    /// Make -o a layout even when it is a directory that holds other files
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub network: NetworkArgs,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// An image reference, or oci:DIR[:NAME] / DIR[:NAME] for a layout's image
    #[arg(value_name = "REF|DIR[:NAME]")]
    pub image: String,

    /// Platform to show of a multi-platform image [default: this machine's]
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,

    #[command(flatten)]
    pub network: NetworkArgs,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Image references to lock
    #[arg(value_name = "REF", required_unless_present_any = ["file", "check"])]
    pub references: Vec<String>,

    /// Read references from FILE, one per line (# comments, blank lines); - for stdin
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// The lock file to write
    #[arg(
        short,
        long,
        value_name = "FILE",
        default_value = "ocimirror.lock",
        conflicts_with = "check"
    )]
    pub output: PathBuf,

    /// Check this lock file instead: which tags now point elsewhere (exit 6 when some do)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["references", "file"])]
    pub check: Option<PathBuf>,

    /// Platform to lock from a multi-platform image [default: this machine's]
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", conflicts_with = "all_platforms")]
    pub platform: Option<String>,

    /// Lock the whole multi-platform index
    #[arg(long)]
    pub all_platforms: bool,

    #[command(flatten)]
    pub network: NetworkArgs,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Image reference
    pub reference: String,

    /// Print the plan (sources and URLs, in order) without touching the network
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub network: NetworkArgs,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// The OCI layout directory
    #[arg(default_value = "oci-layout", env = "OCIMIRROR_OUTPUT")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The OCI layout directory to read
    pub dir: PathBuf,

    /// Images to export, as `ocimirror ls` names them (`ubuntu` finds
    /// docker.io/library/ubuntu:latest) [default: every named image]
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// The archive to write, or `-` for stdout; a file appears only when complete
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MirrorsArgs {
    #[command(subcommand)]
    pub action: Option<MirrorsAction>,

    /// Show the sources for this reference [default: every configured registry]
    pub reference: Option<String>,

    #[command(flatten)]
    pub network: NetworkArgs,
}

#[derive(Debug, Subcommand)]
pub enum MirrorsAction {
    /// Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference
    Check {
        /// Reference to look up on each of its sources [default: every configured source,
        /// /v2/ only]
        reference: Option<String>,

        // Boxed: the other actions are tiny (clippy's large_enum_variant).
        #[command(flatten)]
        network: Box<NetworkArgs>,
    },
    /// Forget what earlier runs learned about a host (an endpoint URL or host[:port]),
    /// or about every host
    Forget {
        /// The host to forget [default: every host]
        host: Option<String>,
    },
}

/// How manifests are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Preserve,
    Oci,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    pub fn all() -> [Shell; 5] {
        [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell, Shell::Elvish]
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Shell::Bash => "ocimirror.bash",
            Shell::Zsh => "_ocimirror",
            Shell::Fish => "ocimirror.fish",
            Shell::Powershell => "_ocimirror.ps1",
            Shell::Elvish => "ocimirror.elv",
        }
    }
}

/// The completion script for a shell.
pub fn completion(shell: Shell) -> String {
    use clap::CommandFactory;
    use clap_complete::Shell as S;
    let s = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
        Shell::Elvish => S::Elvish,
    };
    let mut out = Vec::new();
    clap_complete::generate(s, &mut Cli::command(), "ocimirror", &mut out);
    String::from_utf8(out).expect("completions are UTF-8")
}

/// Man pages: `ocimirror.1` and one per subcommand, nested ones included
/// (`ocimirror-pull.1`, `ocimirror-mirrors-check.1`, ...): every page a
/// SEE ALSO or SUBCOMMANDS section names exists.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    use clap::CommandFactory;
    let mut cmd = Cli::command().after_long_help(format!("{AFTER_HELP}\n\n{}", exit::TABLE));
    // Built, so that the generated `help` subcommands are there to render.
    cmd.build();
    let mut pages = Vec::new();
    render_pages("ocimirror", &cmd, &mut pages);
    pages
}

fn render_pages(name: &str, cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
    let mut out = Vec::new();
    let page = cmd.clone().name(name.to_string()).version(env!("CARGO_PKG_VERSION"));
    clap_mangen::Man::new(page).render(&mut out).expect("rendering to memory cannot fail");
    pages.push((format!("{name}.1"), out));
    for sub in cmd.get_subcommands() {
        let sub_name = format!("{name}-{}", sub.get_name());
        if sub.get_name() == "help" {
            // One page for `help`, not one per command it can name.
            let help = clap::Command::new("help")
                .about("Print the help of ocimirror or of the given command")
                .arg(clap::Arg::new("command").value_name("COMMAND").num_args(0..));
            render_pages(&sub_name, &help, pages);
        } else {
            render_pages(&sub_name, sub, pages);
        }
    }
}
