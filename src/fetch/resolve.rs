//! Resolving a reference: the first host that serves its manifest, and how
//! far a tag answered by a mirror can be trusted. A mirror may answer a
//! tag with another registry's image (one that ignores `ns`), a stale one,
//! or a substitute (a hostile one, echoing `OCI-Namespace` or not): so a
//! tag answered by a mirror is confirmed with one HEAD to the registry,
//! sent together with the mirror's request so it costs no round trip.
//! Only mirrors configured `trusted` are not asked to be confirmed.
//!
//! A pull need not wait for that HEAD either (`resolve_unconfirmed`): the
//! blobs a manifest lists are verified by digest whoever serves them, so
//! they download while the HEAD is in flight, and only naming the image
//! waits for it (`Fetcher::confirmed`). And when the HEAD answers before
//! the mirror does, the mirror is asked for that digest too (`race.rs`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use super::decide::{self, NsPath, Trust};
use super::race::{Asked, AskedHost, Raced};
use super::{Ask, Fetched, Fetcher, ManifestTarget};
use crate::digest::Digest;
use crate::error::Error;
use crate::image::Manifest;
use crate::plan::Role;
use crate::registry::{Endpoint, Exchange, FetchError};
use crate::trace::{AskKind, Outcome};

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Collision {
    /// The mirror whose answer was discarded, and what it said.
    pub endpoint: String,
    pub digest: String,
}

/// Whether and how the registry confirmed the tag's digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confirmation {
    /// By digest, from the registry itself, or from a mirror trusted for tags.
    NotNeeded,
    /// The registry's HEAD named the same digest.
    Confirmed,
    /// The registry named another digest: its manifest was used, fetched
    /// by that digest (from a mirror if one had it).
    Overruled,
    /// The registry could not be asked or did not answer usably: the
    /// mirror's answer was used, with a warning (or refused, with
    /// `unconfirmed = "fail"`).
    RegistryUnavailable,
    /// Fallback to the registry is off: nobody could confirm the tag.
    NoRegistry,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServedBy {
    pub endpoint: String,
    pub role: Role,
    pub ns_sent: bool,
    /// The mirror echoed `OCI-Namespace` for the registry (recorded; it is
    /// no proof of anything).
    pub ns_honored: bool,
    /// The registry named this digest for the tag.
    pub confirmed: bool,
    pub trust: Trust,
    pub confirmation: Confirmation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collision: Option<Collision>,
}

/// The reference's manifest, and who served it how.
#[derive(Clone)]
pub struct Resolution {
    pub manifest: Manifest,
    /// Index into the plan's hosts of the one that served the manifest.
    pub host: usize,
    pub served_by: ServedBy,
    /// What the user must be told whatever the output mode (`-q` too): an
    /// unconfirmed tag, a mirror overruled.
    pub warnings: Vec<String>,
}

pub(super) type Head = Result<(Digest, Exchange), (FetchError, Exchange)>;

/// The registry's HEAD for the tag, sent while a mirror is asked; dropped
/// (and so aborted) when its answer is not needed.
pub(super) struct EarlyConfirm {
    pub(super) task: tokio::task::JoinHandle<Head>,
    pub(super) started: Instant,
    /// The HEAD's answer, once the race for the manifest took it from
    /// `task` (see `race.rs`).
    pub(super) answer: Option<Result<Head, tokio::task::JoinError>>,
}

impl Drop for EarlyConfirm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A tag answered by a mirror, not yet confirmed with the registry: the
/// registry's HEAD, when it went out with the mirror's request.
pub struct Unconfirmed {
    early: Option<EarlyConfirm>,
}

impl Fetcher {
    /// Finds the reference's manifest: the first host that serves it, with
    /// a tag answered by an untrusted mirror confirmed by the authority.
    pub async fn resolve(&self) -> Result<Resolution, Error> {
        match self.resolve_unconfirmed().await? {
            (r, Some(unconfirmed)) => self.confirmed(r, unconfirmed).await,
            (r, None) => Ok(r),
        }
    }

    /// Like `resolve`, but a tag that needs confirming is returned as the
    /// mirror served it, with what `confirmed` needs to confirm it.
    pub async fn resolve_unconfirmed(&self) -> Result<(Resolution, Option<Unconfirmed>), Error> {
        let reference = &self.plan.reference;
        let tag = reference.target();
        let (target, early) = match &reference.digest {
            Some(digest) => (ManifestTarget::Digest { digest, size: None }, None),
            None => (ManifestTarget::Tag(&tag), self.early_confirm().await),
        };
        // The registry asked for the tag itself needs no confirming: the
        // HEAD is dropped then, and one still connecting (a mirror that
        // refused within a round trip to the registry) is never sent.
        let authority = self.authority();
        let abort = early.as_ref().map(|e| e.task.abort_handle());
        let asked: Asked = Mutex::new(None);
        let asking = |i, endpoint: &Arc<Endpoint>| {
            let now = AskedHost { host: i, since: Instant::now(), endpoint: endpoint.clone() };
            *asked.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
            if Some(i) == authority
                && let Some(abort) = &abort
            {
                abort.abort();
            }
        };
        let order = self.order(None);
        let walk = self.manifest_telling(target, &order, asking);
        let (fetched, early) = match early {
            Some(early) => match self.race(walk, early, &asked).await? {
                Raced::Tag(fetched, early) => (fetched, Some(early)),
                Raced::Digest(resolution) => return Ok((resolution, None)),
            },
            None => (walk.await?, None),
        };
        let Fetched { manifest, namespace, host, ns } = fetched;
        let source = self.host(host);
        let ns_honored = self.note_ns_honored(host, ns, namespace.as_deref());
        let by_digest = reference.digest.is_some();
        let trust = decide::trust_as_served(by_digest, source.role, source.trusted, ns);
        let served_by = ServedBy {
            endpoint: source.display(),
            role: source.role,
            ns_sent: ns.sent(),
            ns_honored,
            confirmed: false,
            trust: trust.unwrap_or(Trust::Unconfirmed),
            confirmation: Confirmation::NotNeeded,
            collision: None,
        };
        let resolution = Resolution { manifest, host, served_by, warnings: Vec::new() };
        match trust {
            Some(_) => Ok((resolution, None)),
            None => Ok((resolution, Some(Unconfirmed { early }))),
        }
    }

    /// Did host `i` echo `OCI-Namespace` for the registry, on an answer
    /// sent with `ns`? Remembered for the host when it did.
    pub(super) fn note_ns_honored(&self, i: usize, ns: NsPath, namespace: Option<&str>) -> bool {
        let honored = ns.sent() && namespace == Some(self.plan.ns_value());
        if honored {
            self.session.mark_honors_ns(self.host(i));
        }
        honored
    }

    /// The authority, when it is in the plan.
    pub(super) fn authority(&self) -> Option<usize> {
        self.plan.sources.iter().position(|s| s.role == Role::Authority)
    }

    /// Sends the registry's HEAD now when the first host to be asked for
    /// the tag is a mirror whose answer will need confirming: then the
    /// confirmation costs no round trip of its own.
    async fn early_confirm(&self) -> Option<EarlyConfirm> {
        let authority = self.authority()?;
        let first = self
            .plan
            .sources
            .iter()
            .find(|s| decide::skip(&self.session.facts(s), true, s.digest_only).is_none())?;
        let asked = decide::skip(&self.session.facts(self.host(authority)), true, false);
        if first.role != Role::Mirror || first.trusted || asked.is_some() {
            return None;
        }
        let endpoint = self.session.endpoint(&self.plan, self.host(authority)).await.ok()?;
        let (repo, tag) = (self.plan.reference.repository.clone(), self.plan.reference.target());
        let started = Instant::now();
        let task = tokio::spawn(async move { endpoint.head_manifest(&repo, &tag).await });
        Some(EarlyConfirm { task, started, answer: None })
    }

    /// The registry's digest for the tag: the early HEAD's, or one sent now.
    async fn head(&self, endpoint: &Arc<Endpoint>, early: Option<EarlyConfirm>) -> (Head, Instant) {
        if let Some(mut early) = early {
            let started = early.started;
            let joined = match early.answer.take() {
                Some(joined) => joined,
                None => (&mut early.task).await,
            };
            match joined {
                Ok(head) => return (head, started),
                // Aborted when the walk reached the registry, which then
                // did not serve: a host after it did. Asked again below.
                Err(e) if e.is_cancelled() => {}
                Err(e) => {
                    let failed = FetchError::Invalid(format!("the confirmation stopped: {e}"));
                    return (Err((failed, Exchange { url: String::new(), status: None })), started);
                }
            }
        }
        let reference = &self.plan.reference;
        let started = Instant::now();
        (endpoint.head_manifest(&reference.repository, &reference.target()).await, started)
    }

    /// A tag from a mirror that is not trusted for it (`resolve_unconfirmed`):
    /// the registry's HEAD says the tag's digest (Docker Hub does not count
    /// HEADs against pull limits). The same digest confirms it; another
    /// overrules it (`Confirmation::Overruled`: the registry's manifest);
    /// none leaves it unconfirmed.
    pub async fn confirmed(
        &self,
        r: Resolution,
        unconfirmed: Unconfirmed,
    ) -> Result<Resolution, Error> {
        let Some(authority) = self.authority() else {
            let why = "fallback to the registry is off";
            return self.unconfirmed(r, Confirmation::NoRegistry, why);
        };
        let ask = Ask { kind: AskKind::Confirm, digest: None, by_tag: true };
        let source = self.host(authority);
        if let Some(skip) = decide::skip(&self.session.facts(source), true, false) {
            self.record_skip(authority, &ask, &skip);
            return self.unconfirmed(r, Confirmation::RegistryUnavailable, &skip.reason());
        }
        let endpoint = self.session.endpoint(&self.plan, source).await?;
        let (head, started) = self.head(&endpoint, unconfirmed.early).await;
        match head {
            // Like with like: the registry may name it in sha512.
            Ok((digest, ex)) if digest == r.manifest.digest_in(digest.algorithm()) => {
                self.record(authority, &ask, &ex, None, Outcome::Confirmed, started);
                let mut r = r;
                r.served_by.confirmed = true;
                r.served_by.trust = Trust::Confirmed;
                r.served_by.confirmation = Confirmation::Confirmed;
                Ok(r)
            }
            Ok((digest, ex)) => {
                let said = format!("mirror said {}, registry says {digest}", r.manifest.digest);
                self.record(authority, &ask, &ex, Some(said), Outcome::Collision, started);
                self.overrule(r, &digest).await
            }
            Err((e, ex)) if e.is_not_found() => {
                self.record(authority, &ask, &ex, Some(e.to_string()), Outcome::Collision, started);
                Err(Error::Missing(format!(
                    "{}: mirror {} has this tag but {} does not; refusing the mirror's answer \
                     (it may be another registry's image). Pull by digest, or mark the mirror \
                     trusted in the config, to use it anyway",
                    self.plan.reference,
                    r.served_by.endpoint,
                    source.display()
                )))
            }
            Err((e, ex)) => {
                self.learn(source, &e);
                self.record(
                    authority,
                    &ask,
                    &ex,
                    Some(e.to_string()),
                    Outcome::Unconfirmed,
                    started,
                );
                self.unconfirmed(r, Confirmation::RegistryUnavailable, &e.to_string())
            }
        }
    }

    /// The registry named another digest for the tag than the mirror: the
    /// mirror serves another image under this name, or a stale tag. The
    /// registry's digest wins, fetched by digest (safe from anyone) from
    /// the mirrors first, where the content may well be, then the registry.
    async fn overrule(&self, r: Resolution, digest: &Digest) -> Result<Resolution, Error> {
        let reference = &self.plan.reference;
        let mut warnings = r.warnings;
        warnings.push(format!(
            "{reference}: mirror {} answered with {}, but the registry says {digest}: the mirror \
             serves another image (or a stale tag) under this name; using the registry's",
            r.served_by.endpoint, r.manifest.digest
        ));
        let collision =
            Collision { endpoint: r.served_by.endpoint, digest: r.manifest.digest.to_string() };
        let mut order: Vec<usize> =
            (0..self.plan.sources.len()).filter(|&i| self.host(i).role == Role::Mirror).collect();
        order.extend(self.authority());
        let target = ManifestTarget::Digest { digest, size: None };
        let fetched = self.manifest(target, &order).await?;
        let source = self.host(fetched.host);
        let served_by = ServedBy {
            endpoint: source.display(),
            role: source.role,
            ns_sent: fetched.ns.sent(),
            ns_honored: false,
            confirmed: true,
            trust: match source.role {
                Role::Authority => Trust::Authority,
                Role::Mirror => Trust::Confirmed,
                Role::Cache => Trust::Digest,
            },
            confirmation: Confirmation::Overruled,
            collision: Some(collision),
        };
        Ok(Resolution { manifest: fetched.manifest, host: fetched.host, served_by, warnings })
    }

    /// Nobody could confirm the mirror's tag: used with a warning, or
    /// refused when the configuration says so.
    fn unconfirmed(
        &self,
        mut r: Resolution,
        confirmation: Confirmation,
        why: &str,
    ) -> Result<Resolution, Error> {
        let (reference, mirror, digest) =
            (&self.plan.reference, &r.served_by.endpoint, &r.manifest.digest);
        if self.plan.unconfirmed_fails {
            return Err(Error::Unconfirmed(format!(
                "{reference}: mirror {mirror} answered the tag with {digest}, and the registry \
                 could not confirm it ({why}); refused because unconfirmed tags fail \
                 (--require-confirmed or unconfirmed = \"fail\"). Pull by digest to use it"
            )));
        }
        r.warnings.push(format!(
            "{reference}: the tag was answered by mirror {mirror} and could not be confirmed with \
             the registry ({why}); using digest {digest}"
        ));
        r.served_by.confirmation = confirmation;
        Ok(r)
    }
}
