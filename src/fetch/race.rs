//! A tag asked of a mirror that is not trusted for it, raced against a
//! shortcut. The registry's HEAD goes out with the mirror's request
//! (`resolve.rs`); when it names the tag's digest before the mirror has
//! answered, the mirror is asked for that digest as well, and whichever
//! answer comes first is used. A digest the registry itself named is as
//! good as a confirmed tag, and is verified on arrival whoever serves it.
//!
//! Why: a pull-through cache answers a tag only once it has asked its own
//! upstream (distribution pings it and sends a HEAD, each on a new
//! connection: four round trips to a far registry), but serves a digest
//! it holds from its storage at once. The registry's HEAD is one round
//! trip and a handshake, so the race saves the difference on every pull of
//! a tag through such a cache. It costs the mirror one more request, never
//! the registry: the shortcut asks mirrors only, and where none has the
//! digest, the tag's walk goes on as before. A mirror is given
//! `decide::SHORTCUT_AFTER` to answer the tag first, so that one answering from
//! its own store is asked once (`decide::shortcut`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::decide::{self, Shortcut, shortcut};
use super::resolve::{EarlyConfirm, Head};
use super::{Ask, Fetched, Fetcher, ManifestTarget};
use crate::digest::Digest;
use crate::error::Error;
use crate::plan::Role;
use crate::registry::Endpoint;
use crate::trace::{AskKind, Outcome};

/// The host the tag's walk is asking, if it has asked one yet.
pub(super) type Asked = Mutex<Option<AskedHost>>;

/// A host the tag's walk is asking: its index in the plan, since when, and
/// its endpoint (held here so that the race never waits on the session's
/// endpoints while the walk, not polled, may hold them).
#[derive(Clone)]
pub(super) struct AskedHost {
    pub host: usize,
    pub since: Instant,
    pub endpoint: Arc<Endpoint>,
}

/// What the race produced.
pub(super) enum Raced {
    /// The tag's own walk answered; it is confirmed as before.
    Tag(Fetched, EarlyConfirm),
    /// A mirror served the digest the registry named: confirmed already.
    Digest(super::Resolution),
}

impl Fetcher {
    /// Runs `walk` (the tag's walk over the plan's hosts) until it answers,
    /// and meanwhile, once `early` (the registry's HEAD) names a digest, a
    /// walk over the mirrors for that digest, from the one `walk` is
    /// asking (`asked`) on. The first of the two to be served wins; the
    /// other is dropped, and so cancelled.
    pub(super) async fn race(
        &self,
        walk: impl Future<Output = Result<Fetched, Error>>,
        mut early: EarlyConfirm,
        asked: &Asked,
    ) -> Result<Raced, Error> {
        let asked = || asked.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut walk = std::pin::pin!(walk);
        let joined = tokio::select! {
            fetched = &mut walk => return Ok(Raced::Tag(fetched?, early)),
            joined = &mut early.task => joined,
        };
        let named = named_digest(&joined);
        early.answer = Some(joined);
        let Some(digest) = named else { return Ok(Raced::Tag(walk.await?, early)) };
        // The host being asked, once it has said nothing for
        // `SHORTCUT_AFTER` since its latest request.
        let from = loop {
            let wait = match asked() {
                // The HEAD came before the walk asked anyone.
                None => decide::SHORTCUT_AFTER,
                Some(a) => match shortcut(self.host(a.host).role, a.endpoint.silent_for()) {
                    Shortcut::Ask => break Some(a.host),
                    Shortcut::Never => break None,
                    Shortcut::Wait(wait) => wait,
                },
            };
            tokio::select! {
                fetched = &mut walk => return Ok(Raced::Tag(fetched?, early)),
                () = tokio::time::sleep(wait) => {}
            }
        };
        let order = self.mirrors_from(from);
        if order.is_empty() {
            return Ok(Raced::Tag(walk.await?, early));
        }
        let target = ManifestTarget::Digest { digest: &digest, size: None };
        let mut by_digest = std::pin::pin!(self.manifest(target, &order));
        tokio::select! {
            fetched = &mut walk => match fetched {
                Ok(fetched) => Ok(Raced::Tag(fetched, early)),
                // The tag's walk gave up, but a mirror may still serve the
                // digest: its answer, or else the walk's error.
                Err(e) => match by_digest.await {
                    Ok(fetched) => Ok(self.won_by_digest(fetched, &early)),
                    Err(_) => Err(e),
                },
            },
            fetched = &mut by_digest => match fetched {
                Ok(fetched) => {
                    self.record_superseded(asked());
                    Ok(self.won_by_digest(fetched, &early))
                }
                Err(_) => Ok(Raced::Tag(walk.await?, early)),
            },
        }
    }

    /// The mirrors among the plan's hosts, from host `from` on (the one
    /// the tag's walk is asking); none once that walk is at the registry.
    fn mirrors_from(&self, from: Option<usize>) -> Vec<usize> {
        let Some(from) = from.filter(|&i| self.host(i).role == Role::Mirror) else {
            return Vec::new();
        };
        (from..self.plan.sources.len()).filter(|&i| self.host(i).role == Role::Mirror).collect()
    }

    /// A mirror served the digest the registry's HEAD named: the HEAD is
    /// recorded as the confirmation it is, and the resolution is final.
    fn won_by_digest(&self, fetched: Fetched, early: &EarlyConfirm) -> Raced {
        if let (Some(authority), Some(Ok(Ok((_, exchange))))) = (self.authority(), &early.answer) {
            let ask = Ask { kind: AskKind::Confirm, digest: None, by_tag: true };
            self.record(authority, &ask, exchange, None, Outcome::Confirmed, early.started);
        }
        let source = self.host(fetched.host);
        let ns_honored =
            self.note_ns_honored(fetched.host, fetched.ns, fetched.namespace.as_deref());
        let served_by = super::ServedBy {
            endpoint: source.display(),
            role: source.role,
            ns_sent: fetched.ns.sent(),
            ns_honored,
            confirmed: true,
            trust: super::decide::Trust::Confirmed,
            confirmation: super::Confirmation::Confirmed,
            collision: None,
        };
        let resolution = super::Resolution {
            manifest: fetched.manifest,
            host: fetched.host,
            served_by,
            warnings: Vec::new(),
        };
        Raced::Digest(resolution)
    }

    /// Records the tag's request that was still out when the shortcut
    /// won: it was sent, and its answer is not waited for.
    fn record_superseded(&self, asked: Option<AskedHost>) {
        let Some(AskedHost { host: i, since: started, endpoint }) = asked else { return };
        let source = self.host(i);
        let plan = decide::ns_plan(source.role, source.ns, &self.session.facts(source));
        let ns = plan.send.then(|| self.plan.ns_value());
        let reference = &self.plan.reference;
        let url = endpoint.url(&reference.repository, "manifests", &reference.target(), ns);
        let exchange = crate::registry::Exchange { url: url.to_string(), status: None };
        let ask = Ask { kind: AskKind::Manifest, digest: None, by_tag: true };
        self.record(i, &ask, &exchange, None, Outcome::Superseded, started);
    }
}

/// The digest the registry's HEAD named, if it answered with one.
fn named_digest(joined: &Result<Head, tokio::task::JoinError>) -> Option<Digest> {
    match joined {
        Ok(Ok((digest, _))) => Some(digest.clone()),
        _ => None,
    }
}
