//! Resolving a reference: the first host that serves its manifest, and how
//! far a tag answered by a mirror can be trusted (the namespace collision
//! check: a mirror that ignores `ns` may answer with another registry's
//! image under the same name).

use std::time::Instant;

use serde::Serialize;

use super::decide::{self, Trust};
use super::{Ask, Fetched, Fetcher, ManifestTarget};
use crate::error::Error;
use crate::image::Manifest;
use crate::plan::Role;
use crate::trace::{AskKind, Outcome};

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

/// The reference's manifest, and who served it how.
pub struct Resolution {
    pub manifest: Manifest,
    /// Index into the plan's hosts of the one that served the manifest.
    pub host: usize,
    pub served_by: ServedBy,
}

impl Fetcher {
    /// Finds the reference's manifest: the first host that serves it, with
    /// a tag answered by an untrusted mirror confirmed by the authority.
    pub async fn resolve(&self) -> Result<Resolution, Error> {
        let reference = &self.plan.reference;
        let tag = reference.target();
        let target = match &reference.digest {
            Some(digest) => ManifestTarget::Digest { digest, size: None },
            None => ManifestTarget::Tag(&tag),
        };
        let Fetched { manifest, namespace, host, ns } =
            self.manifest(target, &self.order(None)).await?;
        let source = self.host(host);
        let ns_honored = ns.sent() && namespace.as_deref() == Some(self.plan.ns_value());
        if ns_honored {
            self.session.mark_honors_ns(source);
        }
        let by_digest = reference.digest.is_some();
        let trust = decide::trust_as_served(by_digest, source.role, source.trusted, ns, ns_honored);
        let served_by = ServedBy {
            endpoint: source.display(),
            role: source.role,
            ns_sent: ns.sent(),
            ns_honored,
            confirmed: false,
            trust: trust.unwrap_or(Trust::Unconfirmed),
            collision: None,
        };
        let resolution = Resolution { manifest, host, served_by };
        match trust {
            Some(_) => Ok(resolution),
            None => self.confirm(resolution).await,
        }
    }

    /// A tag from a mirror that did not confirm the namespace: ask the
    /// authority for the tag's digest with one HEAD (Docker Hub does not
    /// count HEADs against pull limits). If the digests differ, the mirror
    /// answered for another registry's image: use the authority's.
    async fn confirm(&self, mut r: Resolution) -> Result<Resolution, Error> {
        let reference = &self.plan.reference;
        let unconfirmed = |r: Resolution, why: &str| {
            tracing::warn!(
                "{reference}: the tag was answered by mirror {} and could not be confirmed \
                 ({why}); using digest {}",
                r.served_by.endpoint,
                r.manifest.digest
            );
            Ok(r)
        };
        let Some(authority) = self.plan.sources.iter().position(|s| s.role == Role::Authority)
        else {
            return unconfirmed(r, "fallback to the authority is off");
        };
        let ask = Ask { kind: AskKind::Confirm, digest: None, by_tag: true };
        let source = self.host(authority);
        if let Some(skip) = decide::skip(&self.session.facts(source), true, false) {
            let nothing = crate::registry::Exchange { url: String::new(), status: None };
            self.record(
                authority,
                &ask,
                &nothing,
                Some(skip.reason()),
                Outcome::Skipped,
                Instant::now(),
            );
            return unconfirmed(r, "the authority is unreachable");
        }
        let endpoint = self.session.endpoint(&self.plan, source).await?;
        let started = Instant::now();
        let head = endpoint.head_manifest(&reference.repository, &reference.target()).await;
        match head {
            Ok((digest, ex)) if digest == r.manifest.digest => {
                self.record(authority, &ask, &ex, None, Outcome::Confirmed, started);
                r.served_by.confirmed = true;
                r.served_by.trust = Trust::Confirmed;
                Ok(r)
            }
            Ok((digest, ex)) => {
                let said = format!("mirror said {}, authority says {digest}", r.manifest.digest);
                self.record(authority, &ask, &ex, Some(said), Outcome::Collision, started);
                tracing::warn!(
                    "{reference}: mirror {} answered with {}, but {} says {digest}: the mirror \
                     serves another registry's image under this name; using the authority's",
                    r.served_by.endpoint,
                    r.manifest.digest,
                    source.display()
                );
                let collision = Collision {
                    endpoint: r.served_by.endpoint.clone(),
                    digest: r.manifest.digest.to_string(),
                };
                let target = ManifestTarget::Digest { digest: &digest, size: None };
                let fetched = self.manifest(target, &[authority]).await?;
                Ok(Resolution {
                    manifest: fetched.manifest,
                    host: authority,
                    served_by: ServedBy {
                        endpoint: source.display(),
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
                self.record(authority, &ask, &ex, Some(e.to_string()), Outcome::Collision, started);
                Err(Error::Missing(format!(
                    "{reference}: mirror {} has this tag but {} does not; refusing the mirror's \
                     answer (it may be another registry's image). Pull by digest, or mark the \
                     mirror trusted in the config, to use it anyway",
                    r.served_by.endpoint,
                    source.display()
                )))
            }
            Err((e, ex)) => {
                if e.host_is_down() {
                    self.learn(source, &e);
                }
                self.record(
                    authority,
                    &ask,
                    &ex,
                    Some(e.to_string()),
                    Outcome::Unconfirmed,
                    started,
                );
                unconfirmed(r, &e.to_string())
            }
        }
    }
}
