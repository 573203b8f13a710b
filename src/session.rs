//! What one run shares across requests: configuration, credentials, the
//! token cache, the endpoints and their HTTP clients, and what the run has learned
//! about each host (down, rejects `ns`) so a bad mirror costs one round trip
//! per run, not one per blob.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::auth::{AuthCache, CredentialStore};
use crate::config::{Config, CredentialSource};
use crate::error::Result;
use crate::plan::{Plan, Source};
use crate::registry::{Clients, Endpoint};

#[derive(Default, Clone)]
struct HostFacts {
    down: Option<String>,
    rejects_ns: bool,
    honors_ns: bool,
}

pub struct Session {
    pub config: Config,
    credentials: OnceCell<CredentialStore>,
    auth: Arc<AuthCache>,
    endpoints: tokio::sync::Mutex<HashMap<String, Arc<Endpoint>>>,
    clients: Arc<Clients>,
    facts: Mutex<HashMap<String, HostFacts>>,
}

impl Session {
    pub fn new(config: Config) -> Session {
        Session {
            clients: Arc::new(Clients::new(config.clone())),
            config,
            credentials: OnceCell::new(),
            auth: Arc::new(AuthCache::default()),
            endpoints: Default::default(),
            facts: Default::default(),
        }
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
        let store = self.credentials.get_or_init(|| async { CredentialStore::from_env() }).await;
        // podman's keys for a namespace name the mirror's path too
        // (`mirror.example/dockerhub` for https://mirror.example/dockerhub).
        let path = source.base.path().trim_matches('/');
        let own_repository =
            if path.is_empty() { repository.to_string() } else { format!("{path}/{repository}") };
        let credential = match source.credentials {
            CredentialSource::Own => store.get(&source.host, Some(&own_repository)).await,
            CredentialSource::Authority => {
                store.get(&plan.reference.registry, Some(repository)).await
            }
            CredentialSource::None => None,
        };
        let mut settings = self.config.host(&source.host);
        if source.role == crate::plan::Role::Authority {
            // The registry's own name (docker.io) stands for the host that
            // serves it (registry-1.docker.io): its settings apply there,
            // as containerd's certs.d/docker.io does.
            settings = settings.or(&self.config.host(&plan.reference.registry));
        }
        let endpoint = Arc::new(Endpoint::new(
            source.base.clone(),
            &settings,
            self.config.network_for(&source.host, &settings)?,
            credential,
            self.auth.clone(),
            self.clients.clone(),
        )?);
        endpoints.insert(key, endpoint.clone());
        Ok(endpoint)
    }

    fn fact(&self, source: &Source) -> HostFacts {
        self.facts.lock().unwrap().get(&source.display()).cloned().unwrap_or_default()
    }

    /// Why this source is unusable for the rest of the run, if it is.
    pub fn down(&self, source: &Source) -> Option<String> {
        self.fact(source).down
    }

    pub fn mark_down(&self, source: &Source, why: &str) {
        self.facts.lock().unwrap().entry(source.display()).or_default().down =
            Some(why.to_string());
    }

    pub fn rejects_ns(&self, source: &Source) -> bool {
        self.fact(source).rejects_ns
    }

    /// The host echoed `OCI-Namespace`: it understands `ns`.
    pub fn honors_ns(&self, source: &Source) -> bool {
        self.fact(source).honors_ns
    }

    pub fn mark_honors_ns(&self, source: &Source) {
        self.facts.lock().unwrap().entry(source.display()).or_default().honors_ns = true;
    }

    pub fn mark_rejects_ns(&self, source: &Source) {
        self.facts.lock().unwrap().entry(source.display()).or_default().rejects_ns = true;
    }
}
