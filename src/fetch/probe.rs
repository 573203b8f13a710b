//! `mirrors check`'s questions to one host, asked the way the walk asks
//! them: the reference's manifest with the same `ns` rules a pull follows,
//! so that what the check says a host does is what a pull would find.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::decide::{self, Class, HostFacts, NsPath};
use super::{Ask, Fetcher, HostAnswer};
use crate::digest::Digest;
use crate::registry::Endpoint;
use crate::trace::{AskKind, Outcome};

/// How a host deals with `ns`, as far as one check can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NsSupport {
    /// It echoed `OCI-Namespace`: it serves the namespace asked.
    Honours,
    /// It serves the same image with and without `ns`.
    Ignores,
    /// Without `ns` it does not serve the reference (404 or 400).
    Requires,
    /// Without `ns` it serves another image: it routes by namespace.
    Routes,
    /// It rejected `ns` (404 or 400) and served without it: an old registry.
    Rejects,
}

/// What a host answered for the reference.
#[derive(Clone, Debug)]
pub enum ReferenceAnswer {
    /// Not asked, and why (a digest-only mirror is never asked for a tag).
    NotAsked(String),
    /// `echoed`: it answered with `OCI-Namespace` for the registry.
    Served {
        digest: Digest,
        ns: NsPath,
        echoed: bool,
        ns_support: Option<NsSupport>,
    },
    Failed {
        class: Class,
        status: Option<u16>,
        error: String,
        ns_support: Option<NsSupport>,
    },
}

/// One host, as `mirrors check` found it.
#[derive(Clone, Debug)]
pub struct HostProbe {
    /// Index into the plan's hosts.
    pub host: usize,
    /// Why no request could be made at all (a `ca_file` that cannot be
    /// read, say), when none could.
    pub misconfigured: Option<String>,
    pub reachable: bool,
    pub latency_ms: Option<u64>,
    /// The status of `GET /v2/`.
    pub status: Option<u16>,
    pub has_credentials: bool,
    pub error: Option<String>,
    pub reference: Option<ReferenceAnswer>,
    /// What the host said about its rate limit, if it did.
    pub rate_limit: Option<crate::registry::RateLimit>,
}

impl Fetcher {
    /// Asks host `i` whether it is reachable and wants credentials
    /// (`GET /v2/`) and, with `ask_reference`, what it answers for the
    /// plan's reference.
    pub async fn probe(&self, i: usize, ask_reference: bool) -> HostProbe {
        let mut p = HostProbe {
            host: i,
            misconfigured: None,
            reachable: false,
            latency_ms: None,
            status: None,
            has_credentials: false,
            error: None,
            reference: None,
            rate_limit: None,
        };
        let endpoint = match self.session.endpoint(&self.plan, self.host(i)).await {
            Ok(e) => e,
            Err(e) => {
                p.misconfigured = Some(e.to_string());
                return p;
            }
        };
        p.has_credentials = endpoint.has_credential();
        let ask = Ask { kind: AskKind::Probe, digest: None, by_tag: false };
        let started = Instant::now();
        match endpoint.ping().await {
            Ok((status, exchange)) => {
                self.record(i, &ask, &exchange, None, Outcome::Served, started);
                p.reachable = true;
                p.latency_ms = Some(started.elapsed().as_millis() as u64);
                p.status = Some(status);
            }
            Err((e, exchange)) => {
                self.record_failure(i, &ask, &exchange, &e, started);
                p.error = Some(e.to_string());
                return p;
            }
        }
        if ask_reference {
            p.reference = Some(self.probe_reference(i, &endpoint).await);
        }
        p.rate_limit = endpoint.rate_limit();
        p
    }

    async fn probe_reference(&self, i: usize, endpoint: &Arc<Endpoint>) -> ReferenceAnswer {
        let reference = &self.plan.reference;
        let host = self.host(i);
        if let Some(skip) =
            decide::skip(&HostFacts::default(), reference.is_by_tag(), host.digest_only)
        {
            return ReferenceAnswer::NotAsked(skip.reason());
        }
        let (repo, target) = (reference.repository.clone(), reference.target());
        let expected = reference.digest.clone();
        let ask =
            Ask { kind: AskKind::Manifest, digest: expected.clone(), by_tag: expected.is_none() };
        let answer = self
            .ask_host(i, &ask, |ns| {
                let (endpoint, repo, target, expected) =
                    (endpoint.clone(), repo.clone(), target.clone(), expected.clone());
                async move {
                    endpoint.get_manifest(&repo, &target, ns.as_deref(), expected.as_ref()).await
                }
            })
            .await;
        match answer {
            HostAnswer::Served { value, exchange, ns, started } => {
                self.record(i, &ask, &exchange, None, Outcome::Served, started);
                let echoed = ns.sent() && value.namespace.as_deref() == Some(self.plan.ns_value());
                let value = value.manifest;
                let ns_support = match ns {
                    NsPath::Stripped { .. } => Some(NsSupport::Rejects),
                    NsPath::Sent => self.without_ns(i, endpoint, &value.digest, echoed).await,
                    NsPath::NotSent => None,
                };
                ReferenceAnswer::Served { digest: value.digest, ns, echoed, ns_support }
            }
            HostAnswer::Failed { err, answer, retry } => ReferenceAnswer::Failed {
                class: decide::class_of(&err),
                status: answer.status,
                error: answer.said(),
                // 404 with `ns`, 400 without: it wants `ns`, and lacks this.
                ns_support: (err.status() == Some(404) && retry == Some(400))
                    .then_some(NsSupport::Requires),
            },
        }
    }

    /// A host that served the reference with `ns`: what does it serve
    /// without? One HEAD, which a pull would not send; recorded like every
    /// request. The same image: it ignores `ns`, or honours it (it echoed)
    /// and serves this namespace by default; none: it requires `ns` (as
    /// Spegel does for tags); another: it routes by namespace.
    async fn without_ns(
        &self,
        i: usize,
        endpoint: &Endpoint,
        with_ns: &Digest,
        echoed: bool,
    ) -> Option<NsSupport> {
        let reference = &self.plan.reference;
        let ask = Ask { kind: AskKind::Manifest, digest: None, by_tag: reference.is_by_tag() };
        let started = Instant::now();
        match endpoint.head_manifest(&reference.repository, &reference.target()).await {
            Ok((digest, exchange)) => {
                self.record(i, &ask, &exchange, None, Outcome::Served, started);
                Some(match (&digest == with_ns, echoed) {
                    (true, true) => NsSupport::Honours,
                    (true, false) => NsSupport::Ignores,
                    (false, _) => NsSupport::Routes,
                })
            }
            Err((e, exchange)) => {
                self.record_failure(i, &ask, &exchange, &e, started);
                matches!(e.status(), Some(404 | 400)).then_some(NsSupport::Requires)
            }
        }
    }
}
