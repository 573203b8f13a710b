//! The mirror walk: ask each source of a plan in turn, with `ns` and the
//! strip-and-retry rule, keep a trace of every attempt, and decide how far a
//! tag answered by a mirror can be trusted (namespace collision check).

use std::future::Future;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::config::NsMode;
use crate::error::Error;
use crate::plan::{Plan, Role, Source};
use crate::registry::{Exchange, FetchError, Manifest, TransportKind};
use crate::session::Session;

/// One request of the walk, as `--json` and `-v` report it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub endpoint: String,
    /// What was asked for: `manifest`, or `blob sha256:...`.
    pub what: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// served, not-found, retry-without-ns, denied, failed, skipped,
    /// confirmed, collision, unconfirmed.
    pub outcome: &'static str,
    pub elapsed_ms: u64,
}

/// Every attempt of a run, in order.
#[derive(Default)]
pub struct Trace {
    attempts: Mutex<Vec<Attempt>>,
}

impl Trace {
    pub fn push(&self, a: Attempt) {
        tracing::debug!(
            "{} {} -> {} {}",
            a.what,
            a.url,
            a.status.map(|s| s.to_string()).or(a.error.clone()).unwrap_or_default(),
            a.outcome
        );
        self.attempts.lock().unwrap().push(a);
    }

    pub fn skipped(&self, source: &Source, what: &str, why: String) {
        self.push(Attempt {
            endpoint: source.display(),
            what: what.to_string(),
            url: String::new(),
            status: None,
            error: Some(why),
            outcome: "skipped",
            elapsed_ms: 0,
        });
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap().clone()
    }
}

/// How far the manifest's identity is established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Asked for by digest and verified.
    Digest,
    /// Served by the authority itself.
    Authority,
    /// A mirror the configuration trusts to resolve tags.
    TrustedMirror,
    /// The mirror echoed `OCI-Namespace` for the authority.
    NamespaceEcho,
    /// The authority's HEAD gave the same digest.
    Confirmed,
    /// A mirror's answer that nobody could confirm.
    Unconfirmed,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Collision {
    /// The mirror whose answer was discarded, and what it said.
    pub endpoint: String,
    pub digest: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServedBy {
    pub endpoint: String,
    pub role: Role,
    pub ns_sent: bool,
    pub ns_honored: bool,
    /// The authority confirmed the tag's digest.
    pub confirmed: bool,
    pub trust: Trust,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collision: Option<Collision>,
}

pub struct Resolution {
    pub manifest: Manifest,
    /// Index into `plan.sources` of the source that served the manifest.
    pub source: usize,
    pub served_by: ServedBy,
}

fn outcome_of(e: &FetchError) -> &'static str {
    if e.is_not_found() {
        "not-found"
    } else if e.is_denied() {
        "denied"
    } else {
        "failed"
    }
}

/// How `ns` went with the request that produced a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsPath {
    /// Sent to a mirror, and that request's answer is the result.
    Sent,
    /// Not sent: the authority, `ns = "off"`, or a host known to reject it.
    NotSent,
    /// Sent and answered with this status (404 or 400); the result is the
    /// answer to the same request without it.
    Stripped { first: u16 },
}

impl NsPath {
    pub fn sent(self) -> bool {
        self == NsPath::Sent
    }
}

/// Runs `op` against one source with the `ns` rules: send `ns` to mirrors;
/// if that is answered with 404 or 400 (and the mode is `auto`), ask once
/// more without it. Learns, for the rest of the run, that a host rejects
/// `ns` (the retry worked, or 400 with it and 404 without) or is down
/// (refused or timed out). Returns the result and how `ns` went.
pub async fn with_ns<T, F, Fut>(
    session: &Session,
    plan: &Plan,
    source: &Source,
    trace: &Trace,
    what: &str,
    op: F,
) -> (Result<T, FetchError>, NsPath)
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Result<(T, Exchange), (FetchError, Exchange)>>,
{
    let send_ns = plan.sends_ns(source) && !session.rejects_ns(source);
    let ns = send_ns.then(|| plan.ns_value().to_string());
    let started = Instant::now();
    let first = op(ns).await;
    // A mirror that echoed `OCI-Namespace` understands `ns`: its 404 means
    // "not here", and asking again without `ns` would only cost a request.
    let may_strip = send_ns && source.ns == NsMode::Auto && !session.honors_ns(source);
    let record = |exchange: &Exchange, error: Option<&FetchError>, outcome, started: Instant| {
        trace.push(Attempt {
            endpoint: source.display(),
            what: what.to_string(),
            url: exchange.url.clone(),
            status: exchange.status,
            error: error.map(|e| e.to_string()),
            outcome,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    };
    let path = if send_ns { NsPath::Sent } else { NsPath::NotSent };
    let (err, exchange) = match first {
        Ok((v, ex)) => {
            record(&ex, None, "served", started);
            return (Ok(v), path);
        }
        Err(e) => e,
    };
    learn(session, source, &err);
    let first_status = match err.status() {
        Some(s @ (404 | 400)) if may_strip => s,
        _ => {
            record(&exchange, Some(&err), outcome_of(&err), started);
            return (Err(err), path);
        }
    };
    record(&exchange, Some(&err), "retry-without-ns", started);
    let started = Instant::now();
    let stripped = NsPath::Stripped { first: first_status };
    match op(None).await {
        Ok((v, ex)) => {
            // The same request worked without `ns`: this host rejects it.
            session.mark_rejects_ns(source);
            record(&ex, None, "served", started);
            (Ok(v), stripped)
        }
        Err((e, ex)) => {
            // 400 with `ns` then 404 without shows `ns` caused the 400 (an
            // old registry that lacks the image); before, that cost one
            // rejected request per blob. Any other failure of the retry
            // says nothing about `ns`.
            if first_status == 400 && e.status() == Some(404) {
                session.mark_rejects_ns(source);
            }
            learn(session, source, &e);
            record(&ex, Some(&e), outcome_of(&e), started);
            // 404 with `ns` then 400 without: a mirror that requires `ns`,
            // and its 404 ("not here") is the answer.
            if first_status == 404 && e.status() == Some(400) {
                return (Err(err), path);
            }
            (Err(e), stripped)
        }
    }
}

/// Remembers for the rest of the run that a host is unusable: refused or
/// timed out, or it wants credentials we lack or it rejected (401, or the
/// token service failed). Without the latter, a locked mirror was asked
/// again for every blob another source lacked. A 403 is not remembered: it
/// may deny one resource (an expired storage URL), not the whole host.
fn learn(session: &Session, source: &Source, err: &FetchError) {
    if err.host_is_down() {
        session.mark_down(source, &err.to_string());
    } else if err.status() == Some(401)
        || matches!(err, FetchError::Auth(_) | FetchError::TokenService(_))
    {
        session.mark_down(source, &format!("needs credentials: {err}"));
    }
}

/// A source not asked because it failed earlier in the run still counts
/// among the failures: `give_up` must not read the others' "not found" as
/// every source's answer (and the authority's silence as its own).
pub fn note_skipped(
    session: &Session,
    source: &Source,
    why: &str,
    failures: &mut Vec<(String, FetchError)>,
) {
    if session.down(source).is_some() {
        failures.push((
            source.display(),
            FetchError::Transport {
                kind: TransportKind::Other,
                message: format!("not asked: {why}"),
            },
        ));
    }
}

/// Why a source is not asked at all, if it is not.
pub fn skip_reason(session: &Session, source: &Source, by_tag: bool) -> Option<String> {
    if let Some(why) = session.down(source) {
        return Some(format!("failed earlier in this run: {why}"));
    }
    (by_tag && source.digest_only).then(|| "digest-only mirror: never asked for tags".to_string())
}

/// Finds the reference's manifest: the first source that serves it, with
/// a tag answered by an untrusted mirror confirmed against the authority.
pub async fn resolve(session: &Session, plan: &Plan, trace: &Trace) -> Result<Resolution, Error> {
    let reference = &plan.reference;
    let target = reference.target();
    let expected = reference.digest.clone();
    let mut failures: Vec<(String, FetchError)> = Vec::new();
    for (i, source) in plan.sources.iter().enumerate() {
        if let Some(why) = skip_reason(session, source, reference.is_by_tag()) {
            trace.skipped(source, "manifest", why.clone());
            note_skipped(session, source, &why, &mut failures);
            continue;
        }
        let endpoint = session.endpoint(plan, source).await?;
        let (result, ns_path) =
            with_ns(session, plan, source, trace, "manifest", |ns| {
                let endpoint = endpoint.clone();
                let target = target.clone();
                let expected = expected.clone();
                let repo = reference.repository.clone();
                async move {
                    endpoint.get_manifest(&repo, &target, ns.as_deref(), expected.as_ref()).await
                }
            })
            .await;
        let manifest = match result {
            Ok(m) => m,
            Err(e) => {
                failures.push((source.display(), e));
                continue;
            }
        };
        let ns_sent = ns_path.sent();
        let ns_honored = ns_sent && manifest.namespace.as_deref() == Some(plan.ns_value());
        if ns_honored {
            session.mark_honors_ns(source);
        }
        let mut served_by = ServedBy {
            endpoint: source.display(),
            role: source.role,
            ns_sent,
            ns_honored,
            confirmed: false,
            trust: Trust::Unconfirmed,
            collision: None,
        };
        served_by.trust = if expected.is_some() {
            Trust::Digest
        } else if source.role == Role::Authority {
            Trust::Authority
        } else if source.trusted && ns_path != (NsPath::Stripped { first: 404 }) {
            // Trusted for the namespace asked: an answer that came only
            // after a 404 for it (and `ns` dropped) may be another
            // registry's image, and is confirmed like any mirror's. (A 400
            // rejected `ns` itself: an old registry with one upstream.)
            Trust::TrustedMirror
        } else if ns_honored {
            Trust::NamespaceEcho
        } else {
            return confirm(session, plan, trace, i, manifest, served_by).await;
        };
        return Ok(Resolution { manifest, source: i, served_by });
    }
    Err(give_up(plan, &reference.to_string(), &failures))
}

/// A tag from a mirror that did not confirm the namespace: ask the
/// authority for the tag's digest with one HEAD (Docker Hub does not count
/// HEADs against pull limits). If the digests differ, the mirror answered
/// for another registry's image: use the authority's.
async fn confirm(
    session: &Session,
    plan: &Plan,
    trace: &Trace,
    mirror: usize,
    manifest: Manifest,
    mut served_by: ServedBy,
) -> Result<Resolution, Error> {
    let reference = &plan.reference;
    let unconfirmed = |served_by: ServedBy, why: &str| {
        tracing::warn!(
            "{reference}: the tag was answered by mirror {} and could not be confirmed ({why}); \
             using digest {}",
            served_by.endpoint,
            manifest.digest
        );
        Ok(Resolution { manifest: manifest.clone(), source: mirror, served_by })
    };
    let Some((auth_index, authority)) =
        plan.sources.iter().enumerate().find(|(_, s)| s.role == Role::Authority)
    else {
        return unconfirmed(served_by, "fallback to the authority is off");
    };
    if let Some(why) = session.down(authority) {
        trace.skipped(authority, "confirm", format!("failed earlier in this run: {why}"));
        return unconfirmed(served_by, "the authority is unreachable");
    }
    let endpoint = session.endpoint(plan, authority).await?;
    let started = Instant::now();
    let head = endpoint.head_manifest(&reference.repository, &reference.target()).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let attempt = |ex: &Exchange, error: Option<String>, outcome| Attempt {
        endpoint: authority.display(),
        what: "confirm".into(),
        url: ex.url.clone(),
        status: ex.status,
        error,
        outcome,
        elapsed_ms,
    };
    match head {
        Ok((digest, ex)) if digest == manifest.digest => {
            trace.push(attempt(&ex, None, "confirmed"));
            served_by.confirmed = true;
            served_by.trust = Trust::Confirmed;
            Ok(Resolution { manifest, source: mirror, served_by })
        }
        Ok((digest, ex)) => {
            trace.push(attempt(
                &ex,
                Some(format!("mirror said {}, authority says {digest}", manifest.digest)),
                "collision",
            ));
            tracing::warn!(
                "{reference}: mirror {} answered with {}, but {} says {digest}: the mirror serves \
                 another registry's image under this name; using the authority's",
                served_by.endpoint,
                manifest.digest,
                authority.display()
            );
            let collision = Collision {
                endpoint: served_by.endpoint.clone(),
                digest: manifest.digest.to_string(),
            };
            let (result, _) = with_ns(session, plan, authority, trace, "manifest", |_| {
                let endpoint = endpoint.clone();
                let digest = digest.clone();
                let repo = reference.repository.clone();
                async move {
                    endpoint.get_manifest(&repo, &digest.to_string(), None, Some(&digest)).await
                }
            })
            .await;
            let manifest = result
                .map_err(|e| give_up(plan, &reference.to_string(), &[(authority.display(), e)]))?;
            Ok(Resolution {
                manifest,
                source: auth_index,
                served_by: ServedBy {
                    endpoint: authority.display(),
                    role: Role::Authority,
                    ns_sent: false,
                    ns_honored: false,
                    confirmed: true,
                    trust: Trust::Authority,
                    collision: Some(collision),
                },
            })
        }
        Err((e, ex)) if e.is_not_found() => {
            trace.push(attempt(&ex, Some(e.to_string()), "collision"));
            Err(Error::NotFound(format!(
                "{reference}: mirror {} has this tag but {} does not; refusing the mirror's \
                 answer (it may be another registry's image). Pull by digest, or mark the mirror \
                 trusted in the config, to use it anyway",
                served_by.endpoint,
                authority.display()
            )))
        }
        Err((e, ex)) => {
            if e.host_is_down() {
                session.mark_down(authority, &e.to_string());
            }
            trace.push(attempt(&ex, Some(e.to_string()), "unconfirmed"));
            unconfirmed(served_by, &e.to_string())
        }
    }
}

/// The error after every source failed: not found if every source said so,
/// or if the authority did (its word is final; a mirror that could not be
/// reached changes nothing); likewise denied; else a plain failure. The
/// message lists each source's answer.
pub fn give_up(plan: &Plan, what: &str, failures: &[(String, FetchError)]) -> Error {
    if failures.is_empty() {
        return Error::Failed(format!("{what}: every source was skipped (run with -v to see why)"));
    }
    let detail: Vec<String> = failures.iter().map(|(ep, e)| format!("  {ep}: {e}")).collect();
    let detail = detail.join("\n");
    let authority = plan.authority().map(Source::display);
    let said = failures.iter().find(|(ep, _)| Some(ep) == authority.as_ref()).map(|(_, e)| e);
    let not_found = said.is_some_and(FetchError::is_not_found)
        || failures.iter().all(|(_, e)| e.is_not_found());
    let denied = said.is_some_and(FetchError::is_denied)
        || failures.iter().all(|(_, e)| e.is_not_found() || e.is_denied());
    if not_found {
        Error::NotFound(format!("{what} not found on any source:\n{detail}"))
    } else if denied {
        Error::Denied(format!(
            "{what}: access denied:\n{detail}\nhint: add credentials for the host with `docker login HOST` \
             (ocimirror reads $DOCKER_CONFIG/config.json and podman's auth.json)"
        ))
    } else {
        Error::Failed(format!("{what}: no source could serve it:\n{detail}"))
    }
}
