//! The commands: glue between the parsed command line and the library.
//! Errors are returned, never printed here: `main` prints them once.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{Cli, Command, GlobalArgs, MirrorsAction, PullArgs};
use crate::config::{self, Config};
use crate::error::Error;
use crate::layout::{self, Layout};
use crate::output;
use crate::plan::{Plan, Role};
use crate::platform::Platform;
use crate::progress::Progress;
use crate::pull::{self, Cleanup, PlatformChoice, PullOptions};
use crate::reference::Reference;
use crate::resolve::{self, Trace};
use crate::session::Session;

/// Runs a parsed command line. `cleanup` lets the caller remove partial
/// files if the run is interrupted.
pub async fn run(cli: Cli, cleanup: Cleanup) -> Result<()> {
    let g = &cli.global;
    match &cli.command {
        Command::Pull(args) => pull(g, args, &cleanup).await,
        Command::Resolve(args) => {
            let (config, plan) = plan_for(g, &args.reference)?;
            if args.dry_run {
                return dry_run(g, &plan);
            }
            resolve_cmd(g, config, &plan).await
        }
        Command::Ls(args) => ls(g, &args.dir),
        Command::Mirrors(args) => match &args.action {
            Some(MirrorsAction::Check { reference }) => check(g, reference.as_deref()).await,
            None => mirrors(g, args.reference.as_deref()),
        },
        Command::Completions { shell } => {
            output::out(format_args!("{}", crate::cli::completion(*shell)));
            Ok(())
        }
    }
}

/// Configuration from every source, flags last (they win).
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
        connect_timeout: g.connect_timeout,
        response_timeout: g.response_timeout,
        stall_timeout: g.stall_timeout,
        retries: g.retries,
    })
}

fn plan_for(g: &GlobalArgs, reference: &str) -> Result<(Config, Plan), Error> {
    let reference: Reference = reference.parse()?;
    let config = load_config(g)?;
    let plan = Plan::new(&config, &reference)?;
    Ok((config, plan))
}

fn dry_run(g: &GlobalArgs, plan: &Plan) -> Result<()> {
    if g.json {
        output::json(&output::plan_view(plan))?;
    } else {
        output::print_plan(plan);
    }
    Ok(())
}

async fn pull(g: &GlobalArgs, args: &PullArgs, cleanup: &Cleanup) -> Result<()> {
    let (mut config, plan) = plan_for(g, &args.reference)?;
    let choice = match (&args.platform, args.all_platforms) {
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
        return dry_run(g, &plan);
    }
    let session = Arc::new(Session::new(config));
    let progress = if g.quiet { Progress::hidden() } else { Progress::new(true) };
    let options =
        PullOptions { output: args.output.clone(), platform: choice, format: args.format };
    let report = pull::pull(session, Arc::new(plan), &options, &progress, cleanup).await?;
    if g.json {
        output::json(&report)?;
    } else if !g.quiet {
        output::print_pull(&report, g.verbose > 0);
    } else {
        output::outln!("{} {}", report.reference, report.image.digest);
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResolveReport {
    reference: String,
    digest: String,
    media_type: String,
    size: usize,
    served_by: resolve::ServedBy,
    attempts: Vec<resolve::Attempt>,
    elapsed_ms: u64,
}

async fn resolve_cmd(g: &GlobalArgs, config: Config, plan: &Plan) -> Result<()> {
    let started = Instant::now();
    let session = Session::new(config);
    let trace = Trace::default();
    let r = resolve::resolve(&session, plan, &trace).await?;
    let report = ResolveReport {
        reference: plan.reference.to_string(),
        digest: r.manifest.digest.to_string(),
        media_type: r.manifest.media_type.clone(),
        size: r.manifest.bytes.len(),
        served_by: r.served_by,
        attempts: trace.attempts(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    if g.json {
        output::json(&report)?;
    } else {
        if g.verbose > 0 {
            output::print_fallbacks(&report.attempts);
        }
        if !g.quiet {
            eprintln!("served by {}", output::describe_served(&report.served_by));
        }
        output::outln!("{} {}", report.reference, report.digest);
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LsEntry {
    name: Option<String>,
    digest: String,
    media_type: String,
    size: u64,
    platform: Option<String>,
    source: Option<String>,
    trust: Option<String>,
}

fn ls(g: &GlobalArgs, dir: &std::path::Path) -> Result<()> {
    let layout = Layout::existing(dir)?;
    let index = layout.read_index()?;
    let entries: Vec<LsEntry> = index
        .manifests()
        .iter()
        .map(|d| {
            let ann = |k: &str| d.annotations().as_ref().and_then(|a| a.get(k)).cloned();
            LsEntry {
                name: ann(layout::REF_NAME),
                digest: d.digest().to_string(),
                media_type: d.media_type().to_string(),
                size: d.size(),
                platform: d.platform().as_ref().map(|p| {
                    let (os, arch) = (p.os().to_string(), p.architecture().to_string());
                    Platform::new(&os, &arch, p.variant().as_deref()).to_string()
                }),
                source: ann(layout::SOURCE),
                trust: ann(layout::TRUST),
            }
        })
        .collect();
    if g.json {
        output::json(&entries)?;
        return Ok(());
    }
    if entries.is_empty() && !g.quiet {
        eprintln!("{} holds no images", dir.display());
    }
    for e in entries {
        output::outln!(
            "{}  {}  {}  {}",
            e.name.as_deref().unwrap_or("<unnamed>"),
            e.digest,
            e.platform.as_deref().unwrap_or(
                if crate::registry::manifest::is_index(&e.media_type) {
                    "all platforms"
                } else {
                    "-"
                }
            ),
            e.source.map(|s| format!("from {s}")).unwrap_or_default()
        );
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleView {
    registry: String,
    mirrors: Vec<MirrorView>,
    fallback: bool,
    endpoint: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MirrorView {
    url: String,
    origin: String,
}

/// `ocimirror mirrors [REF]`: the plan for a reference, or every rule.
fn mirrors(g: &GlobalArgs, reference: Option<&str>) -> Result<()> {
    if let Some(r) = reference {
        let (_, plan) = plan_for(g, r)?;
        return dry_run(g, &plan);
    }
    let c = load_config(g)?;
    let view = |name: &str, rule: &config::RegistryRule| RuleView {
        registry: name.to_string(),
        mirrors: c
            .cli_mirrors
            .iter()
            .chain(rule.mirrors.iter())
            .filter(|_| !c.no_mirrors)
            .map(|m| MirrorView { url: m.url.clone(), origin: m.origin.clone() })
            .collect(),
        fallback: c.fallback(rule),
        endpoint: rule.endpoint.clone(),
    };
    let mut rules = vec![view("*", &c.default_rule)];
    rules.extend(c.registries.iter().map(|(k, r)| view(k, r)));
    if g.json {
        let files: Vec<String> = c.files.iter().map(|f| f.display().to_string()).collect();
        output::json(&serde_json::json!({
            "files": files,
            "warnings": c.warnings,
            "registries": rules,
        }))?;
        return Ok(());
    }
    if c.files.is_empty() && !g.quiet {
        eprintln!(
            "no configuration file found (looked for {})",
            config::default_path().map(|p| p.display().to_string()).unwrap_or_default()
        );
    }
    for r in rules {
        if r.registry == "*" && r.mirrors.is_empty() {
            continue;
        }
        let label =
            if r.registry == "*" { "every other registry".to_string() } else { r.registry.clone() };
        output::outln!("{label}:");
        for (i, m) in r.mirrors.iter().enumerate() {
            output::outln!("  {}. {}  (from {})", i + 1, m.url, m.origin);
        }
        if let Some(e) = &r.endpoint {
            output::outln!("  endpoint: {e}");
        }
        output::outln!("  fallback to the registry: {}", if r.fallback { "yes" } else { "no" });
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    endpoint: String,
    role: Role,
    origin: String,
    reachable: bool,
    latency_ms: Option<u64>,
    tls: bool,
    auth_required: Option<bool>,
    has_credentials: bool,
    /// `Some(true)` when the mirror echoed `OCI-Namespace` for the registry.
    ns_honored: Option<bool>,
    /// Whether the source has the reference (when one was given).
    has_reference: Option<bool>,
    status: Option<u16>,
    error: Option<String>,
}

/// The plans `mirrors check` probes: the reference's, or without one, one
/// per configured registry (and Docker Hub, for `[defaults]`), so that
/// every configured source is reached once.
fn check_plans(config: &Config, reference: Option<&Reference>) -> Result<Vec<Plan>> {
    if let Some(r) = reference {
        return Ok(vec![Plan::new(config, r)?]);
    }
    let mut plans = Vec::new();
    let registries =
        std::iter::once("docker.io").chain(config.registries.keys().map(String::as_str));
    for registry in registries {
        // A name under the registry, only to build its plan: no manifest is
        // asked for without a reference.
        let Ok(r) = format!("{registry}/library/probe").parse::<Reference>() else { continue };
        plans.push(Plan::new(config, &r)?);
    }
    Ok(plans)
}

/// `ocimirror mirrors check [REF]`: probe every source.
async fn check(g: &GlobalArgs, reference: Option<&str>) -> Result<()> {
    let reference: Option<Reference> = reference.map(str::parse).transpose()?;
    let config = load_config(g)?;
    let plans = check_plans(&config, reference.as_ref())?;
    let session = Session::new(config);
    let mut probes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let sources = plans.iter().flat_map(|plan| plan.sources.iter().map(move |s| (plan, s)));
    for (plan, source) in sources {
        if !seen.insert(source.display()) {
            continue;
        }
        let endpoint = session.endpoint(plan, source).await?;
        let started = Instant::now();
        let mut p = Probe {
            endpoint: source.display(),
            role: source.role,
            origin: source.origin.clone(),
            reachable: false,
            latency_ms: None,
            tls: source.base.scheme() == "https",
            auth_required: None,
            has_credentials: endpoint.has_credential(),
            ns_honored: None,
            has_reference: None,
            status: None,
            error: None,
        };
        match endpoint.ping().await {
            Ok((status, _)) => {
                p.reachable = true;
                p.latency_ms = Some(started.elapsed().as_millis() as u64);
                p.auth_required = Some(status == 401);
                p.status = Some(status);
            }
            Err(e) => p.error = Some(e.to_string()),
        }
        let Some(reference) = &reference else {
            probes.push(p);
            continue;
        };
        if p.reachable && !(source.digest_only && reference.is_by_tag()) {
            let ns = plan.sends_ns(source).then(|| plan.ns_value().to_string());
            let url = endpoint.url(
                &reference.repository,
                "manifests",
                &reference.target(),
                ns.as_deref(),
            );
            let accept = [("accept", crate::registry::MANIFEST_ACCEPT.to_string())];
            match endpoint.send(reqwest::Method::HEAD, url, &reference.repository, &accept).await {
                Ok(resp) => {
                    // 401/403: whether it is there cannot be told.
                    let status = resp.status().as_u16();
                    p.has_reference =
                        (!matches!(status, 401 | 403)).then(|| resp.status().is_success());
                    p.status = Some(status);
                    if ns.is_some() {
                        let echo =
                            resp.headers().get("oci-namespace").and_then(|v| v.to_str().ok());
                        p.ns_honored = Some(echo == Some(plan.ns_value()));
                    }
                }
                Err(e) => p.error = Some(e.to_string()),
            }
        }
        probes.push(p);
    }
    let title = reference.as_ref().map(Reference::to_string);
    if g.json {
        output::json(&serde_json::json!({"reference": title, "sources": probes}))?;
        return Ok(());
    }
    output::outln!("{}", title.as_deref().unwrap_or("every configured source (/v2/ only)"));
    for p in &probes {
        let state = if p.reachable {
            format!("reachable in {} ms", p.latency_ms.unwrap_or(0))
        } else {
            format!("UNREACHABLE: {}", p.error.as_deref().unwrap_or("?"))
        };
        let mut notes = vec![state, if p.tls { "https".into() } else { "plain http".into() }];
        if p.auth_required == Some(true) {
            notes.push(if p.has_credentials {
                "auth: have credentials".into()
            } else {
                "auth: needs credentials, none configured".into()
            });
        }
        match p.ns_honored {
            Some(true) => notes.push("honours ns".into()),
            Some(false) => notes.push("ignores ns (no OCI-Namespace echo)".into()),
            None => {}
        }
        match p.has_reference {
            Some(true) => notes.push("has the reference".into()),
            Some(false) => notes.push(format!("does not have it (HTTP {})", p.status.unwrap_or(0))),
            None if matches!(p.status, Some(401 | 403)) && reference.is_some() => notes
                .push(format!("cannot tell whether it has it (HTTP {})", p.status.unwrap_or(0))),
            None => {}
        }
        output::outln!(
            "  {:9} {}  {}",
            format!("{:?}", p.role).to_lowercase(),
            p.endpoint,
            notes.join(", ")
        );
    }
    Ok(())
}
