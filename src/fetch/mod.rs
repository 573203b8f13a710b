//! The walk: every request a command makes goes through here, for every
//! kind of request (manifest by tag or by digest, blob, the registry's
//! confirming HEAD, `mirrors check`'s probes). For each host of the plan in
//! turn it skips what is known to be bad, sends `ns` or not, strips it and
//! asks again when an old registry rejects it, learns what the answers
//! teach about the host, records every request in the trace, and when no
//! host serves, classifies the answers into one typed error that carries
//! them. As containerd's fetcher, it loops over its hosts itself.
//!
//! The decisions are pure functions in `decide`; this module does the I/O.

mod decide;
mod probe;
mod race;
mod ranged;
mod resolve;
mod session;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

pub use decide::{Class, NsPath, Trust, trust_as_served};
pub use probe::{HostProbe, NsSupport, ReferenceAnswer};
pub use ranged::RangeSink;
pub use resolve::{Collision, Confirmation, Resolution, ServedBy, Unconfirmed};
pub use session::Session;

use crate::digest::Digest;
use crate::error::Error;
use crate::image::{Descriptor, Manifest};
use crate::plan::{Plan, Role, Source};
use crate::registry::{BlobBody, Endpoint, Exchange, FetchError, TransportKind, Wire};
use crate::trace::{AskKind, Attempt, Outcome, Trace};

/// Walks one plan's hosts for every request of a command.
pub struct Fetcher {
    session: Arc<Session>,
    plan: Arc<Plan>,
    trace: Arc<Trace>,
}

/// What one request asks for, as the trace and the skip rules see it.
#[derive(Clone, Debug)]
struct Ask {
    kind: AskKind,
    digest: Option<Digest>,
    /// A manifest by tag: digest-only mirrors are not asked.
    by_tag: bool,
}

/// A manifest to fetch: by tag, or by digest (with the size the index that
/// names it gives, if one does).
#[derive(Clone, Copy, Debug)]
pub enum ManifestTarget<'a> {
    Tag(&'a str),
    Digest { digest: &'a Digest, size: Option<u64> },
}

/// A manifest and how it was served.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub manifest: Manifest,
    /// The namespace the host said it served (`OCI-Namespace`), if it did.
    pub namespace: Option<String>,
    /// Index into the plan's hosts.
    pub host: usize,
    pub ns: NsPath,
}

/// Where a blob came from.
#[derive(Clone, Copy, Debug)]
pub struct BlobServed {
    pub host: usize,
    /// Requests it took on that host (more than one: it was resumed).
    pub tries: u32,
    /// Bytes that were already there when the download began (a resume).
    pub resumed_from: u64,
}

/// Where a blob's bytes go while they arrive: the layout's partial file in
/// a pull. The fetcher streams into it and decides, from what it reports,
/// whether to resume, restart or move on.
pub trait BlobSink {
    /// Bytes already written (what a resume asks `Range` from).
    fn offset(&self) -> u64;
    /// Every byte of the blob is written.
    fn complete(&self) -> bool;
    /// Appends bytes; an `Error::Invalid` means they cannot be right (more
    /// than the descriptor's size), any other error ends the download.
    fn write(&mut self, bytes: Bytes) -> Result<(), Error>;
    /// Makes what was written so far durable for a resume.
    fn flush(&mut self) -> Result<(), Error>;
    /// Drops everything written.
    fn restart(&mut self) -> Result<(), Error>;
    /// Verifies and stores the blob; `Error::Invalid` means the bytes were
    /// wrong (and were dropped), any other error is the disk's.
    fn finish(&mut self) -> impl Future<Output = Result<(), Error>> + Send;
}

/// One host's answer to one request, after the `ns` rules.
enum HostAnswer<T> {
    Served {
        value: T,
        exchange: Exchange,
        ns: NsPath,
        started: Instant,
    },
    /// `retry`: the status of the request without `ns`, when one was made.
    Failed {
        err: FetchError,
        answer: Attempt,
        retry: Option<u16>,
    },
}

impl Fetcher {
    /// A fetcher for one plan; its hosts' facts are seeded from the
    /// session's host memory, if it has one.
    pub fn new(session: Arc<Session>, plan: Arc<Plan>) -> Fetcher {
        session.seed(&plan);
        Fetcher { session, plan, trace: Arc::new(Trace::default()) }
    }

    /// A fetcher whose walk is also told to `observer` as it happens.
    pub fn observed(
        session: Arc<Session>,
        plan: Arc<Plan>,
        observer: Arc<dyn crate::trace::WalkObserver>,
    ) -> Fetcher {
        session.seed(&plan);
        Fetcher { session, plan, trace: Arc::new(Trace::observed(observer)) }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Every request so far, in order.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.trace.attempts()
    }

    /// The plan's hosts in the order to ask them; `first` (the host that
    /// served the manifest) goes first.
    pub fn order(&self, first: Option<usize>) -> Vec<usize> {
        let mut order: Vec<usize> = first.into_iter().collect();
        order.extend((0..self.plan.sources.len()).filter(|&i| Some(i) != first));
        order
    }

    fn host(&self, i: usize) -> &Source {
        &self.plan.sources[i]
    }

    /// A manifest from the first host in `order` that serves it.
    pub async fn manifest(
        &self,
        target: ManifestTarget<'_>,
        order: &[usize],
    ) -> Result<Fetched, Error> {
        self.manifest_telling(target, order, |_, _| {}).await
    }

    /// `manifest`, telling `asking` of each host (and its endpoint) before
    /// it is asked.
    async fn manifest_telling(
        &self,
        target: ManifestTarget<'_>,
        order: &[usize],
        asking: impl Fn(usize, &Arc<Endpoint>),
    ) -> Result<Fetched, Error> {
        let reference = &self.plan.reference;
        let (text, expected, size) = match target {
            ManifestTarget::Tag(tag) => (tag.to_string(), None, None),
            ManifestTarget::Digest { digest, size } => (digest.to_string(), Some(digest), size),
        };
        let what = match expected {
            Some(d) if Some(d) != reference.digest.as_ref() => format!("{}@{d}", reference.name()),
            _ => reference.to_string(),
        };
        let ask =
            Ask { kind: AskKind::Manifest, digest: expected.cloned(), by_tag: expected.is_none() };
        let mut walk = Walk::new(self, &ask);
        for &i in order {
            let Some(endpoint) = walk.enter(i).await? else { continue };
            asking(i, &endpoint);
            let repo = reference.repository.clone();
            let answer = self
                .ask_host(i, &ask, |ns| {
                    let (endpoint, repo, text) = (endpoint.clone(), repo.clone(), text.clone());
                    let expected = expected.cloned();
                    async move {
                        endpoint.get_manifest(&repo, &text, ns.as_deref(), expected.as_ref()).await
                    }
                })
                .await;
            match answer {
                HostAnswer::Served { value, exchange, ns, started } => {
                    let crate::registry::ManifestAnswer { manifest, namespace } = value;
                    // The digest matched, so these are the right bytes: a
                    // size that differs is the index's error, whoever serves it.
                    if let Some(size) = size
                        && manifest.bytes.len() as u64 != size
                    {
                        let why = format!(
                            "{what}: the index gives it a size of {size} bytes, but it has {}",
                            manifest.bytes.len()
                        );
                        self.record(
                            i,
                            &ask,
                            &exchange,
                            Some(why.clone()),
                            Outcome::Failed,
                            started,
                        );
                        return Err(Error::Invalid(why));
                    }
                    self.record(i, &ask, &exchange, None, Outcome::Served, started);
                    return Ok(Fetched { manifest, namespace, host: i, ns });
                }
                HostAnswer::Failed { err, answer, .. } => walk.failed(i, answer, &err),
            }
        }
        Err(walk.give_up(what))
    }

    /// A blob into `sink`, from the first host in `order` that serves it
    /// whole and right. A body cut off mid-way is resumed with `Range` on
    /// the same host (up to `retries` requests), then on the next.
    pub async fn blob<S: BlobSink>(
        &self,
        d: &Descriptor,
        sink: &mut S,
        order: &[usize],
    ) -> Result<BlobServed, Error> {
        let ask = Ask { kind: AskKind::Blob, digest: Some(d.digest.clone()), by_tag: false };
        let resumed_from = sink.offset();
        let mut walk = Walk::new(self, &ask);
        for &i in order {
            let Some(endpoint) = walk.enter(i).await? else { continue };
            match self.blob_from(i, &endpoint, d, sink, &ask).await? {
                Ok(tries) => return Ok(BlobServed { host: i, tries, resumed_from }),
                Err((answer, err)) => walk.failed(i, answer, &err),
            }
        }
        Err(walk.give_up(format!("{}@{}", self.plan.reference.name(), d.digest)))
    }

    /// One host's turn at a blob: `Ok(Ok(tries))` when it served it,
    /// `Ok(Err(..))` with its answer when it did not, `Err` when no host
    /// can help (the disk failed).
    async fn blob_from<S: BlobSink>(
        &self,
        i: usize,
        endpoint: &Arc<Endpoint>,
        d: &Descriptor,
        sink: &mut S,
        ask: &Ask,
    ) -> Result<Result<u32, (Attempt, FetchError)>, Error> {
        let retries = self.session.config.network.retries;
        let (mut tries, mut refetched) = (0, false);
        let repo = self.plan.reference.repository.clone();
        loop {
            tries += 1;
            let offset = sink.offset();
            let answer = self
                .ask_host(i, ask, |ns| {
                    let (endpoint, repo, digest) =
                        (endpoint.clone(), repo.clone(), d.digest.clone());
                    let wire = Wire::for_blob(d.size);
                    async move {
                        endpoint.get_blob(&repo, &digest, ns.as_deref(), offset, wire).await
                    }
                })
                .await;
            let (mut body, exchange, started) = match answer {
                HostAnswer::Served { value, exchange, started, .. } => (value, exchange, started),
                HostAnswer::Failed { err, answer, .. } => return Ok(Err((answer, err))),
            };
            let failed = |why: String| {
                let invalid = FetchError::Invalid(why.clone());
                (self.record(i, ask, &exchange, Some(why), Outcome::Failed, started), invalid)
            };
            match stream(d, sink, &mut body).await? {
                BodyOutcome::Complete => match sink.finish().await {
                    Ok(()) => {
                        self.record(i, ask, &exchange, None, Outcome::Served, started);
                        return Ok(Ok(tries));
                    }
                    // The bytes before `offset` came from an earlier attempt
                    // or run (maybe another source, maybe garbage): `finish`
                    // dropped them. Fetch the whole blob from this host once
                    // before blaming it, without spending a retry.
                    Err(Error::Invalid(why)) if offset > 0 && !refetched => {
                        failed(why);
                        (tries, refetched) = (tries - 1, true);
                        tracing::debug!("{}: resumed bytes were wrong; fetching again", d.digest);
                    }
                    // Wrong bytes: this host is not to be trusted for it.
                    Err(Error::Invalid(why)) => return Ok(Err(failed(why))),
                    // The disk's fault, not the bytes': no host can help.
                    Err(e) => return Err(e),
                },
                BodyOutcome::Bad(why) => {
                    sink.restart()?;
                    return Ok(Err(failed(why)));
                }
                BodyOutcome::Cut(e) => {
                    sink.flush()?;
                    let answer = self.record(
                        i,
                        ask,
                        &exchange,
                        Some(e.to_string()),
                        Outcome::Failed,
                        started,
                    );
                    // Too slow: it had a whole window to keep up; the next
                    // host continues from the same byte.
                    if tries >= retries || decide::too_slow(&e) {
                        return Ok(Err((answer, e)));
                    }
                    tracing::debug!("{}: {e}; resuming at byte {}", d.digest, sink.offset());
                }
            }
        }
    }

    /// Asks host `i` with the `ns` rules: `ns` to mirrors; if that is
    /// answered with 404 or 400 (in `auto` mode), once more without it.
    /// Learns what the answers teach about the host, and records every
    /// failed request; a served one is recorded by the caller, once it has
    /// accepted the answer (a blob only after its bytes verified).
    async fn ask_host<T, F, Fut>(&self, i: usize, ask: &Ask, op: F) -> HostAnswer<T>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<(T, Exchange), (FetchError, Exchange)>>,
    {
        let host = self.host(i);
        let plan = decide::ns_plan(host.role, host.ns, &self.session.facts(host));
        let started = Instant::now();
        let first = op(plan.send.then(|| self.plan.ns_value().to_string())).await;
        let path = if plan.send { NsPath::Sent } else { NsPath::NotSent };
        let (err, exchange) = match first {
            Ok((value, exchange)) => {
                self.session.answered(host);
                return HostAnswer::Served { value, exchange, ns: path, started };
            }
            Err(failure) => failure,
        };
        self.learn(host, &err);
        if !decide::retry_without_ns(plan, err.status()) {
            let answer = self.record_failure(i, ask, &exchange, &err, started);
            return HostAnswer::Failed { err, answer, retry: None };
        }
        let first_status = err.status().unwrap_or_default();
        let first_answer = self.attempt(
            i,
            ask,
            &exchange,
            Some(err.to_string()),
            decide::outcome_of(&err),
            started,
        );
        self.record(i, ask, &exchange, Some(err.to_string()), Outcome::RetryWithoutNs, started);
        let started = Instant::now();
        let retry = op(None).await;
        let status = retry.as_ref().map(|_| ()).map_err(|(e, _)| e.status());
        let verdict = decide::after_retry(first_status, status);
        if verdict.rejects_ns {
            self.session.mark_rejects_ns(host);
        }
        match retry {
            Ok((value, exchange)) => {
                self.session.answered(host);
                let ns = NsPath::Stripped { first: first_status };
                HostAnswer::Served { value, exchange, ns, started }
            }
            Err((e, exchange)) => {
                self.learn(host, &e);
                let answer = self.record_failure(i, ask, &exchange, &e, started);
                let retry = e.status();
                if verdict.first_stands {
                    HostAnswer::Failed { err, answer: first_answer, retry }
                } else {
                    HostAnswer::Failed { err: e, answer, retry }
                }
            }
        }
    }

    fn learn(&self, host: &Source, err: &FetchError) {
        if let Some(lesson) = decide::lesson(err) {
            self.session.learn(host, &lesson);
        }
    }

    fn attempt(
        &self,
        i: usize,
        ask: &Ask,
        exchange: &Exchange,
        error: Option<String>,
        outcome: Outcome,
        started: Instant,
    ) -> Attempt {
        Attempt {
            endpoint: self.host(i).display(),
            kind: ask.kind,
            digest: ask.digest.clone(),
            what: crate::trace::describe(ask.kind, ask.digest.as_ref()),
            url: exchange.url.clone(),
            status: exchange.status,
            error,
            outcome,
            elapsed_ms: started.elapsed().as_millis() as u64,
            from_memory: false,
        }
    }

    /// Records that host `i` was not asked, and why (from memory or not).
    fn record_skip(&self, i: usize, ask: &Ask, skip: &decide::Skip) -> Attempt {
        let nothing_sent = Exchange { url: String::new(), status: None };
        let reason = Some(skip.reason());
        let attempt = Attempt {
            from_memory: skip.is_remembered(),
            ..self.attempt(i, ask, &nothing_sent, reason, Outcome::Skipped, Instant::now())
        };
        self.trace.push(attempt.clone());
        attempt
    }

    /// Records a request in the trace; returns the record.
    fn record(
        &self,
        i: usize,
        ask: &Ask,
        exchange: &Exchange,
        error: Option<String>,
        outcome: Outcome,
        started: Instant,
    ) -> Attempt {
        let attempt = self.attempt(i, ask, exchange, error, outcome, started);
        self.trace.push(attempt.clone());
        attempt
    }

    fn record_failure(
        &self,
        i: usize,
        ask: &Ask,
        exchange: &Exchange,
        err: &FetchError,
        started: Instant,
    ) -> Attempt {
        self.record(i, ask, exchange, Some(err.to_string()), decide::outcome_of(err), started)
    }
}

/// The answers gathered while walking the hosts for one request, and the
/// error they make when no host served.
struct Walk<'f> {
    fetcher: &'f Fetcher,
    ask: &'f Ask,
    answers: Vec<Attempt>,
    classes: Vec<(bool, Class)>,
}

impl<'f> Walk<'f> {
    fn new(fetcher: &'f Fetcher, ask: &'f Ask) -> Walk<'f> {
        Walk { fetcher, ask, answers: Vec::new(), classes: Vec::new() }
    }

    /// Host `i`'s endpoint, or `None` when the host is not asked (that is
    /// recorded, and a host skipped as down counts among the answers).
    async fn enter(&mut self, i: usize) -> Result<Option<Arc<Endpoint>>, Error> {
        let f = self.fetcher;
        let host = f.host(i);
        let Some(skip) = decide::skip(&f.session.facts(host), self.ask.by_tag, host.digest_only)
        else {
            f.trace.asking(&host.display(), self.ask.kind);
            return Ok(Some(f.session.endpoint(&f.plan, host).await?));
        };
        let reason = skip.reason();
        let attempt = f.record_skip(i, self.ask, &skip);
        if skip.counts_as_answer() {
            let not_asked = FetchError::Transport {
                kind: TransportKind::Other,
                message: format!("not asked: {reason}"),
            };
            self.failed(i, Attempt { error: Some(not_asked.to_string()), ..attempt }, &not_asked);
        }
        Ok(None)
    }

    fn failed(&mut self, i: usize, answer: Attempt, err: &FetchError) {
        let is_authority = self.fetcher.host(i).role == Role::Authority;
        self.classes.push((is_authority, decide::class_of(err)));
        self.answers.push(answer);
    }

    fn give_up(self, what: String) -> Error {
        let answers = self.answers;
        match decide::classify(&self.classes) {
            decide::Verdict::NotFound => Error::NotFound { what, answers },
            decide::Verdict::Denied => Error::Denied { what, answers },
            decide::Verdict::Unavailable => Error::Unavailable { what, answers },
        }
    }
}

/// What became of one blob response body.
enum BodyOutcome {
    Complete,
    /// Wrong length or too many bytes: discard and try another host.
    Bad(String),
    /// Cut off: resume.
    Cut(FetchError),
}

/// Streams a blob body into the sink, checking its announced length.
async fn stream<S: BlobSink>(
    d: &Descriptor,
    sink: &mut S,
    body: &mut BlobBody,
) -> Result<BodyOutcome, Error> {
    if body.start == 0 && sink.offset() > 0 {
        // The server ignored our Range: start over.
        sink.restart()?;
    }
    if let Some(len) = body.content_length()
        && body.start.checked_add(len) != Some(d.size)
    {
        return Ok(BodyOutcome::Bad(format!(
            "announced {len} bytes from offset {}, but the blob has {}",
            body.start, d.size
        )));
    }
    loop {
        match body.chunk().await {
            Ok(Some(chunk)) => match sink.write(chunk) {
                Ok(()) => {}
                Err(Error::Invalid(why)) => return Ok(BodyOutcome::Bad(why)),
                Err(other) => return Err(other),
            },
            Ok(None) if sink.complete() => return Ok(BodyOutcome::Complete),
            Ok(None) => {
                return Ok(BodyOutcome::Cut(FetchError::Transport {
                    kind: TransportKind::Other,
                    message: format!("the body ended after {} of {} bytes", sink.offset(), d.size),
                }));
            }
            Err(e) => return Ok(BodyOutcome::Cut(e)),
        }
    }
}
