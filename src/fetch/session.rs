//! What one run shares across requests: configuration, credentials, the
//! token cache, the endpoints and their HTTP clients, and what the run has learned
//! about each host (down, rejects `ns`) so a bad mirror costs one round trip
//! per run, not one per blob.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::decide::{HostFacts, Lesson};
use crate::config::{Config, CredentialSource};
use crate::credentials::CredentialStore;
use crate::error::Result;
use crate::plan::{Plan, Source};
use crate::registry::AuthCache;
use crate::registry::{Clients, Endpoint};

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
    }

    pub fn mark_rejects_ns(&self, source: &Source) {
        self.update(source, |f| f.rejects_ns = true);
    }

    /// The host echoed `OCI-Namespace`: it understands `ns`.
    pub fn mark_honors_ns(&self, source: &Source) {
        self.update(source, |f| f.honors_ns = true);
    }
}
