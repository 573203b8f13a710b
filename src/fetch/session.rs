//! What one run shares across requests: configuration, credentials, the
//! token cache, the endpoints and their HTTP clients, and what the run has learned
//! about each host (down, rejects `ns`) so a bad mirror costs one round trip
//! per run, not one per blob.
//!
//! With host memory, what earlier runs learned seeds those facts (`seed`),
//! a host remembered unreachable is probed again in the background (and
//! used as soon as it answers), and what this run observes is kept for
//! merging into the memory at the end (`observations`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::decide::{HostFacts, Lesson, Remembered};
use crate::config::{Config, CredentialSource};
use crate::credentials::CredentialStore;
use crate::error::Result;
use crate::memory::{FactKind, Memory, Observation};
use crate::plan::{Plan, Source};
use crate::registry::AuthCache;
use crate::registry::{Clients, Endpoint, RateLimit};

/// What this run saw of each host, the latest of each kind, with when
/// (milliseconds since the epoch): `None` for "it answered".
type Seen = HashMap<(String, Option<FactKind>), (Observation, u64)>;

pub struct Session {
    pub config: Config,
    credentials: OnceCell<CredentialStore>,
    auth: Arc<AuthCache>,
    endpoints: tokio::sync::Mutex<HashMap<String, Arc<Endpoint>>>,
    clients: Arc<Clients>,
    facts: Mutex<HashMap<String, HostFacts>>,
    /// The run's connections for large transfers: `--jobs` of them. A
    /// large blob holds one while it downloads; a blob fetched in ranges
    /// takes more while they are free (`Fetcher::blob_in_ranges`).
    connections: Arc<tokio::sync::Semaphore>,
    /// What earlier runs left, read once at the start; `None` without
    /// memory (`--fresh`, or a library caller that wants none).
    memory: Option<Memory>,
    /// Hosts whose facts were seeded from memory already.
    seeded: Mutex<HashSet<String>>,
    seen: Mutex<Seen>,
}

fn config_jobs(config: &Config) -> usize {
    config.network.jobs.max(1)
}

impl Session {
    pub fn new(config: Config) -> Session {
        let connections = Arc::new(tokio::sync::Semaphore::new(config_jobs(&config)));
        Session {
            clients: Arc::new(Clients::new(config.clone())),
            config,
            credentials: OnceCell::new(),
            auth: Arc::new(AuthCache::default()),
            endpoints: Default::default(),
            facts: Default::default(),
            connections,
            memory: None,
            seeded: Default::default(),
            seen: Default::default(),
        }
    }

    /// The run's budget of connections for large transfers.
    pub fn connections(&self) -> Arc<tokio::sync::Semaphore> {
        self.connections.clone()
    }

    /// A session that starts from what earlier runs remembered.
    pub fn with_memory(config: Config, memory: Memory) -> Session {
        Session { memory: Some(memory), ..Session::new(config) }
    }

    /// Seeds the facts of a plan's hosts from memory (once per host), and
    /// probes the ones remembered unreachable in the background.
    pub fn seed(self: &Arc<Self>, plan: &Arc<Plan>) {
        let Some(memory) = &self.memory else { return };
        let hosts: Vec<String> = plan.sources.iter().map(Source::display).collect();
        let seeds = crate::memory::seed(memory, &hosts, crate::units::now_ms());
        let mut probe = Vec::new();
        {
            let mut seeded = self.seeded.lock().unwrap_or_else(|e| e.into_inner());
            let mut facts = self.facts.lock().unwrap_or_else(|e| e.into_inner());
            for (i, (host, seed)) in hosts.iter().zip(seeds).enumerate() {
                if !seeded.insert(host.clone()) {
                    continue;
                }
                let f = facts.entry(host.clone()).or_default();
                f.rejects_ns |= seed.rejects_ns;
                f.honors_ns |= seed.honors_ns;
                if let Some(fact) = seed.down {
                    let until = crate::units::utc(fact.until_ms);
                    f.remembered = Some(Remembered { why: fact.why, until });
                    if fact.kind == FactKind::Unreachable {
                        probe.push(i);
                    }
                }
            }
        }
        for i in probe {
            self.reprobe(plan.clone(), i);
        }
    }

    /// `GET /v2/` to a host remembered unreachable, in the background
    /// (bounded by its connect and response timeouts): if it answers before
    /// the walk reaches it, the walk asks it after all. The task is not
    /// waited for: a run that ends first simply drops it.
    fn reprobe(self: &Arc<Self>, plan: Arc<Plan>, i: usize) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let session = self.clone();
        runtime.spawn(async move {
            let source = &plan.sources[i];
            let Ok(endpoint) = session.endpoint(&plan, source).await else { return };
            match endpoint.ping().await {
                Ok((status, _)) => {
                    tracing::info!("{}: answers again (HTTP {status}): using it", source.display());
                    session.update(source, |f| f.remembered = None);
                    session.answered(source);
                }
                Err((e, _)) => tracing::debug!("{}: still unreachable: {e}", source.display()),
            }
        });
    }

    /// What this run saw of each host, oldest first, for the memory.
    pub fn observations(&self) -> Vec<(String, Observation, u64)> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> =
            seen.iter().map(|((host, _), (o, at))| (host.clone(), o.clone(), *at)).collect();
        out.sort_by_key(|(_, _, at)| *at);
        out
    }

    fn observe(&self, source: &Source, seen: Observation) {
        let kind = match &seen {
            Observation::Learned { kind, .. } => Some(*kind),
            Observation::Answered => None,
        };
        let mut all = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        all.insert((source.display(), kind), (seen, crate::units::now_ms()));
    }

    /// The host answered a request: whatever made it down is over.
    pub fn answered(&self, source: &Source) {
        self.observe(source, Observation::Answered);
    }

    /// What each endpoint of the run last said about its rate limit.
    pub async fn rate_limits(&self) -> Vec<(String, RateLimit)> {
        let endpoints = self.endpoints.lock().await;
        let mut out: Vec<(String, RateLimit)> = Vec::new();
        for e in endpoints.values() {
            if let Some(limit) = e.rate_limit()
                && !out.iter().any(|(d, _)| *d == e.display())
            {
                out.push((e.display(), limit));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The endpoint for a source, created on first use. Credentials come
    /// from the source's own host unless the user configured otherwise.
    pub async fn endpoint(&self, plan: &Plan, source: &Source) -> Result<Arc<Endpoint>> {
        // Which credentials an endpoint holds depends on the reference too
        // (podman's keys for one namespace; `credentials = "authority"`).
        let repository = plan.reference.repository.as_str();
        let key = format!(
            "{}|{:?}|{}/{repository}",
            source.base, source.credentials, plan.reference.registry
        );
        let mut endpoints = self.endpoints.lock().await;
        if let Some(e) = endpoints.get(&key) {
            return Ok(e.clone());
        }
        let store = self
            .credentials
            .get_or_init(|| async { CredentialStore::for_options(&self.config.credentials) })
            .await;
        // podman's keys for a namespace name the mirror's path too
        // (`mirror.example/dockerhub` for https://mirror.example/dockerhub).
        let path = source.base.path().trim_matches('/');
        let own_repository =
            if path.is_empty() { repository.to_string() } else { format!("{path}/{repository}") };
        let credential = match source.credentials {
            CredentialSource::Own => store.get_sourced(&source.host, Some(&own_repository)).await,
            CredentialSource::Authority => {
                store.get_sourced(&plan.reference.registry, Some(repository)).await
            }
            CredentialSource::None => None,
        };
        let (credential, origin) = credential.unzip();
        let mut settings = self.config.host(&source.host);
        if source.role == crate::plan::Role::Authority {
            // The registry's own name (docker.io) stands for the host that
            // serves it (registry-1.docker.io): its settings apply there,
            // as containerd's certs.d/docker.io does.
            settings = settings.or(&self.config.host(&plan.reference.registry));
        }
        let endpoint = Arc::new(
            Endpoint::new(
                source.base.clone(),
                &settings,
                self.config.network_for(&source.host, &settings)?,
                credential,
                self.auth.clone(),
                self.clients.clone(),
            )?
            .with_credential_origin(origin),
        );
        endpoints.insert(key, endpoint.clone());
        Ok(endpoint)
    }

    /// What the run has learned about a source's host so far.
    pub fn facts(&self, source: &Source) -> HostFacts {
        let facts = self.facts.lock().unwrap_or_else(|e| e.into_inner());
        facts.get(&source.display()).cloned().unwrap_or_default()
    }

    fn update(&self, source: &Source, change: impl FnOnce(&mut HostFacts)) {
        let mut facts = self.facts.lock().unwrap_or_else(|e| e.into_inner());
        change(facts.entry(source.display()).or_default());
    }

    /// Remembers for the rest of the run that a host is unusable.
    pub fn learn(&self, source: &Source, lesson: &Lesson) {
        self.update(source, |f| f.down = Some(lesson.reason()));
        let (kind, wait) = match lesson {
            Lesson::Down(_) => (FactKind::Unreachable, None),
            Lesson::NeedsCredentials(_) => (FactKind::NeedsCredentials, None),
            Lesson::RateLimited { wait, .. } => (FactKind::RateLimited, Some(*wait)),
        };
        self.observe(source, Observation::Learned { kind, why: lesson.reason(), wait });
    }

    pub fn mark_rejects_ns(&self, source: &Source) {
        self.update(source, |f| f.rejects_ns = true);
        let why = "answered 404 or 400 to ns, and served without it".to_string();
        self.observe(source, Observation::Learned { kind: FactKind::RejectsNs, why, wait: None });
    }

    /// The host echoed `OCI-Namespace`: it understands `ns`.
    pub fn mark_honors_ns(&self, source: &Source) {
        self.update(source, |f| f.honors_ns = true);
        let why = "echoed OCI-Namespace".to_string();
        self.observe(source, Observation::Learned { kind: FactKind::HonorsNs, why, wait: None });
    }
}
