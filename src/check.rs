//! `ocimirror mirrors check [REF]`: probe every source of a reference (or,
//! without one, every configured source) and say what a pull would make
//! of each: reachable, wants credentials, how it deals with `ns`, whether
//! it serves the reference, and how far a pull would trust its tag answer.
//! Every source is checked, whatever the others do.

use std::collections::HashSet;
use std::sync::Arc;

use crate::config::Config;
use crate::error::Result;
use crate::fetch::{Class, Fetcher, HostProbe, NsPath, ReferenceAnswer, Session, Trust};
use crate::plan::{Plan, Role};
use crate::reference::Reference;
use crate::report::{CheckReport, CheckedSource, SourceVerdict};

/// Checks with `session`: one without host memory, so that every source is
/// asked whatever earlier runs found (what the check learns can still be
/// merged into the memory afterwards).
pub async fn check(session: Arc<Session>, reference: Option<Reference>) -> Result<CheckReport> {
    let plans = plans(&session.config, reference.as_ref())?;
    let mut seen = HashSet::new();
    let mut sources = Vec::new();
    let mut attempts = Vec::new();
    for plan in plans {
        let plan = Arc::new(plan);
        let fetcher = Fetcher::new(session.clone(), plan.clone());
        let mut probes = Vec::new();
        for (i, source) in plan.sources.iter().enumerate() {
            // Without a reference only what was configured is checked: not
            // every registry's own host (Docker Hub's for `[defaults]`).
            let configured = source.role == Role::Mirror
                || session.config.rule_for(&plan.reference.registry).endpoint.is_some();
            if (reference.is_some() || configured) && seen.insert(source.display()) {
                probes.push(fetcher.probe(i, reference.is_some()).await);
            }
        }
        let registry = registry_answer(&plan, &probes);
        sources.extend(probes.iter().map(|p| checked(&plan, p, registry.as_ref())));
        attempts.extend(fetcher.attempts());
    }
    let healthy = sources
        .iter()
        .all(|s| !matches!(s.verdict, SourceVerdict::Unreachable | SourceVerdict::Misconfigured));
    Ok(CheckReport { reference: reference.map(|r| r.to_string()), sources, healthy, attempts })
}

/// The plans to probe: the reference's, or without one, one per configured
/// registry (and Docker Hub, for `[defaults]`), so that every configured
/// source is reached once.
fn plans(config: &Config, reference: Option<&Reference>) -> Result<Vec<Plan>> {
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

/// What the registry itself says a tag is, for judging mirrors' answers.
enum RegistrySays {
    Digest(crate::digest::Digest),
    NoSuchTag,
}

fn registry_answer(plan: &Plan, probes: &[HostProbe]) -> Option<RegistrySays> {
    if !plan.reference.is_by_tag() {
        return None;
    }
    let p = probes.iter().find(|p| plan.sources[p.host].role == Role::Authority)?;
    match p.reference.as_ref()? {
        ReferenceAnswer::Served { digest, .. } => Some(RegistrySays::Digest(digest.clone())),
        ReferenceAnswer::Failed { class: Class::NotFound, .. } => Some(RegistrySays::NoSuchTag),
        _ => None,
    }
}

fn checked(plan: &Plan, p: &HostProbe, registry: Option<&RegistrySays>) -> CheckedSource {
    let source = &plan.sources[p.host];
    let mut c = CheckedSource {
        endpoint: source.display(),
        role: source.role,
        origin: source.origin.clone(),
        verdict: SourceVerdict::Reachable,
        reachable: p.reachable,
        latency_ms: p.latency_ms,
        tls: source.base.scheme() == "https",
        auth_required: p.status.map(|s| s == 401),
        has_credentials: p.has_credentials,
        ns_honored: None,
        ns: None,
        has_reference: None,
        digest: None,
        trust: None,
        collision: None,
        status: p.status,
        error: p.error.clone().or(p.misconfigured.clone()),
        rate_limit: p.rate_limit,
    };
    if p.misconfigured.is_some() {
        c.verdict = SourceVerdict::Misconfigured;
        return c;
    }
    if !p.reachable {
        c.verdict = SourceVerdict::Unreachable;
        return c;
    }
    let Some(answer) = &p.reference else { return c };
    match answer {
        ReferenceAnswer::NotAsked(why) => {
            c.verdict = SourceVerdict::NotAsked;
            c.error = Some(why.clone());
        }
        ReferenceAnswer::Served { digest, ns, echoed, ns_support } => {
            c.verdict = SourceVerdict::Serves;
            c.has_reference = Some(true);
            c.digest = Some(digest.clone());
            c.ns = *ns_support;
            c.ns_honored = ns.sent().then_some(*echoed);
            if plan.reference.is_by_tag() && source.role == Role::Mirror {
                (c.trust, c.collision) = tag_trust(source.trusted, *ns, digest, registry);
            }
        }
        ReferenceAnswer::Failed { class, status, error, ns_support } => {
            c.status = *status;
            c.error = Some(error.clone());
            c.ns = *ns_support;
            (c.verdict, c.has_reference) = match class {
                Class::NotFound => (SourceVerdict::NotFound, Some(false)),
                Class::Denied => (SourceVerdict::Denied, None),
                Class::Failed => (SourceVerdict::Failed, None),
            };
        }
    }
    c
}

/// How far a pull would trust a mirror's answer for a tag, and what the
/// registry says instead when it disagrees.
fn tag_trust(
    trusted: bool,
    ns: NsPath,
    digest: &crate::digest::Digest,
    registry: Option<&RegistrySays>,
) -> (Option<Trust>, Option<String>) {
    if let Some(trust) = crate::fetch::trust_as_served(false, Role::Mirror, trusted, ns) {
        return (Some(trust), None);
    }
    match registry {
        Some(RegistrySays::Digest(d)) if d == digest => (Some(Trust::Confirmed), None),
        Some(RegistrySays::Digest(d)) => (Some(Trust::Unconfirmed), Some(d.to_string())),
        Some(RegistrySays::NoSuchTag) => {
            (Some(Trust::Unconfirmed), Some("the registry has no such tag".into()))
        }
        None => (Some(Trust::Unconfirmed), None),
    }
}
