//! One distribution-API endpoint: building URLs, sending requests with
//! authentication, following redirects safely, retrying what is worth
//! retrying, and turning registry answers into typed results.
//!
//! Which endpoint to ask, and in what order, is `plan`'s business; this
//! module only speaks to the one it is given.

mod auth;
mod client;
mod proxy;
mod rate_limit;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use url::Url;

use crate::config::{HostConfig, Network};
use crate::credentials::Credential;
use crate::digest::Digest;
pub use auth::{AuthCache, Challenge, choose_challenge};
pub use client::{BodyError, Clients, Wire, describe_reqwest, read_capped};
pub use rate_limit::RateLimit;

use crate::image::{ImageError, MANIFEST_ACCEPT, MAX_MANIFEST_SIZE, Manifest};

/// How many redirects one request may follow (distribution's blob redirects
/// need one; anything near this is a loop).
const MAX_REDIRECTS: usize = 5;
/// Longest `Retry-After` worth waiting for before trying the next source.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Why a request failed, in the terms the mirror walk needs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// The registry answered with an error status.
    #[error("{}", status_text(*status, code.as_deref(), message))]
    Status { status: u16, code: Option<String>, message: String },
    /// No usable answer at all: refused, reset, timed out.
    #[error("{message}")]
    Transport { kind: TransportKind, message: String },
    /// An answer that breaks the protocol or fails verification.
    #[error("{0}")]
    Invalid(String),
    /// The token service refused the credentials (access denied).
    #[error("{0}")]
    Auth(String),
    /// The token service failed or answered junk: a broken server, not a
    /// denial, so it is no reason to tell the user to add credentials.
    #[error("{0}")]
    TokenService(String),
    /// 429 (or 503) with a `Retry-After` longer than is worth waiting for:
    /// the walk moves to the next source, and the host is remembered.
    #[error("{message}; it asks to wait {}s, longer than the {}s worth waiting", wait.as_secs(), MAX_RETRY_AFTER.as_secs())]
    RateLimited { status: u16, wait: Duration, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Connect,
    Timeout,
    /// A body slower than the speed rule (see `Pace`).
    TooSlow,
    Other,
}

fn status_text(status: u16, code: Option<&str>, message: &str) -> String {
    match (code, message.is_empty()) {
        (Some(c), false) => format!("HTTP {status} {c}: {message}"),
        (Some(c), true) => format!("HTTP {status} {c}"),
        (None, false) => format!("HTTP {status}: {message}"),
        (None, true) => format!("HTTP {status}"),
    }
}

impl FetchError {
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } | FetchError::RateLimited { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    pub fn is_denied(&self) -> bool {
        matches!(self.status(), Some(401 | 403)) || matches!(self, FetchError::Auth(_))
    }

    /// Connection refused or timed out, or too slow to use (a body that
    /// did not keep its deadline or the speed rule): the host is unusable
    /// for this run. A host dripping every body would otherwise cost its
    /// deadline once per request.
    pub fn host_is_down(&self) -> bool {
        matches!(
            self,
            FetchError::Transport {
                kind: TransportKind::Connect | TransportKind::Timeout | TransportKind::TooSlow,
                ..
            }
        )
    }

    fn retryable(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            FetchError::Transport { kind, .. } => *kind == TransportKind::Other,
            _ => false,
        }
    }
}

/// A failure that is not a walk's (a manifest that does not parse, say):
/// the walk classifies its own failures with every source's answer.
impl From<FetchError> for crate::error::Error {
    fn from(e: FetchError) -> crate::error::Error {
        match e {
            FetchError::Invalid(why) => crate::error::Error::Invalid(why),
            other => crate::error::Error::Failed(other.to_string()),
        }
    }
}

/// An endpoint: a base URL plus everything needed to talk to it.
pub struct Endpoint {
    /// Base URL, e.g. `https://mirror.example.com` or `http://127.0.0.1:5000/prefix`.
    pub base: Url,
    /// `host[:port]`, the key for credentials, settings and run memory.
    pub host: String,
    override_path: bool,
    /// For `Wire::Shared` requests: HTTP/2 where the server offers it.
    client: reqwest::Client,
    /// For `Wire::Own` requests: HTTP/1.1 (on plain HTTP, `client` itself).
    own_client: reqwest::Client,
    headers: Vec<(String, String)>,
    credential: Option<Credential>,
    /// Where `credential` came from (a file, a helper, `--creds`), for
    /// "the registry refused the credentials from ...".
    credential_origin: Option<String>,
    network: Network,
    auth: Arc<AuthCache>,
    /// The run's clients, for hosts other than this one (see `raw_send`).
    clients: Arc<Clients>,
    /// `insecure` on an HTTPS endpoint: plain HTTP is tried when HTTPS
    /// cannot connect (see `raw_send`).
    http_fallback: bool,
    /// `base` over plain HTTP.
    plain_base: Url,
    /// This host's extra CA, also trusted for its token service and
    /// redirect targets (see `Clients::for_url`).
    ca_file: Option<std::path::PathBuf>,
    /// Set once HTTPS failed and plain HTTP is used for the rest of the run.
    plain: AtomicBool,
    /// What the host last said about its rate limit (see `rate_limit.rs`).
    rate_limit: std::sync::Mutex<Option<RateLimit>>,
    /// When the latest request went to the host, and when the host last
    /// answered anything (headers, any status): see `silent_for`.
    exchanged: std::sync::Mutex<Exchanged>,
}

/// When a host was last sent a request, and last answered one.
#[derive(Clone, Copy, Default)]
struct Exchanged {
    sent: Option<std::time::Instant>,
    heard: Option<std::time::Instant>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("base", &self.base.as_str()).finish()
    }
}

/// How one hop of a request goes out (see `raw_send`).
#[derive(Clone, Copy)]
struct Hop<'a> {
    /// On the first URL's origin: this host's headers and credentials go.
    same_origin: bool,
    authorization: Option<&'a str>,
    wire: Wire,
}

/// What one request did, for the trace.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub url: String,
    pub status: Option<u16>,
}

impl Endpoint {
    pub fn new(
        base: Url,
        settings: &HostConfig,
        network: Network,
        credential: Option<Credential>,
        auth: Arc<AuthCache>,
        clients: Arc<Clients>,
    ) -> Result<Endpoint, crate::error::Error> {
        let host = host_of(&base);
        let client = clients.get(settings, &network, &host, Wire::Shared)?;
        // Plain HTTP is HTTP/1.1 either way (no h2c): one pool, so that any
        // idle connection serves any request.
        let own_client = match base.scheme() {
            "https" => clients.get(settings, &network, &host, Wire::Own)?,
            _ => client.clone(),
        };
        Ok(Endpoint {
            http_fallback: settings.insecure == Some(true) && base.scheme() == "https",
            plain_base: with_scheme(base.clone(), "http"),
            ca_file: settings.ca_file.clone(),
            clients,
            base,
            host,
            override_path: settings.override_path.unwrap_or(false),
            client,
            own_client,
            headers: settings.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            credential,
            credential_origin: None,
            network,
            auth,
            plain: AtomicBool::new(false),
            rate_limit: std::sync::Mutex::new(None),
            exchanged: std::sync::Mutex::default(),
        })
    }

    /// What the host said about its rate limit on its latest answer.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        *self.rate_limit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long the host has said nothing since the latest request it was
    /// sent (zero when it was sent none yet); `None` when it has answered
    /// that one (headers, any status: a 401 before the request is sent
    /// again with a token, a body still coming a byte at a time). A host
    /// silent for long is working on what it was asked (a cache asking its
    /// upstream), or not answering at all.
    pub fn silent_for(&self) -> Option<Duration> {
        let seen = *self.exchanged.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sent) = seen.sent else { return Some(Duration::ZERO) };
        match seen.heard {
            Some(heard) if heard >= sent => None,
            _ => Some(sent.elapsed()),
        }
    }

    /// Notes a request to the host going out (`heard: false`) or its
    /// answer arriving (`true`), for `silent_for`.
    fn note_exchange(&self, url: &Url, heard: bool) {
        if !self.is_own(url) {
            return;
        }
        let mut seen = self.exchanged.lock().unwrap_or_else(|e| e.into_inner());
        let now = Some(std::time::Instant::now());
        if heard { seen.heard = now } else { seen.sent = now }
    }

    /// Keeps the rate limit an answer of this host's carries.
    fn note_rate_limit(&self, resp: &reqwest::Response) {
        if self.is_own(resp.url())
            && let Some(limit) = RateLimit::from_headers(resp.headers())
        {
            *self.rate_limit.lock().unwrap_or_else(|e| e.into_inner()) = Some(limit);
        }
    }

    /// Says where the endpoint's credential came from, for messages.
    pub fn with_credential_origin(mut self, origin: Option<String>) -> Endpoint {
        self.credential_origin = origin;
        self
    }

    /// A refusal of the credentials we sent, naming where they came from
    /// (`via`: the registry itself, or its token service).
    fn refused(&self, via: &str, status: u16) -> FetchError {
        let origin = self.credential_origin.as_deref().unwrap_or("the configuration");
        FetchError::Auth(format!(
            "{via} refused the credentials from {origin} for {} (HTTP {status})",
            self.host
        ))
    }

    /// The endpoint as users see it in traces: the base URL without a
    /// trailing slash.
    pub fn display(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    pub fn has_credential(&self) -> bool {
        self.credential.is_some()
    }

    /// `<base>/v2/<repo>/<kind>/<target>[?ns=<ns>]`.
    pub fn url(&self, repository: &str, kind: &str, target: &str, ns: Option<&str>) -> Url {
        api_url(self.current_base(), self.override_path, repository, kind, target, ns)
    }

    /// `GET /v2/`: is this a registry, and does it want credentials?
    pub async fn ping(&self) -> Result<(u16, Exchange), (FetchError, Exchange)> {
        let mut url = self.current_base().clone();
        let path = url.path().trim_end_matches('/').to_string();
        let v2 = !self.override_path && !path.ends_with("/v2");
        url.set_path(&format!("{path}{}", if v2 { "/v2/" } else { "/" }));
        let mut exchange = Exchange { url: url.to_string(), status: None };
        match self.raw_send(Method::GET, url, None, &[], Wire::Shared).await {
            Ok(resp) => {
                self.note_rate_limit(&resp);
                let status = resp.status().as_u16();
                exchange.status = Some(status);
                Ok((status, exchange))
            }
            Err(e) => Err((e, exchange)),
        }
    }

    /// Sends a request with authentication and retries; returns the final
    /// response (any status) or a transport error.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        repository: &str,
        extra: &[(&str, String)],
        wire: Wire,
    ) -> Result<reqwest::Response, FetchError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result =
                self.send_authenticated(method.clone(), url.clone(), repository, extra, wire).await;
            if let Ok(resp) = &result {
                self.note_rate_limit(resp);
            }
            let err = match result {
                Ok(resp) if is_retryable_status(resp.status()) => {
                    let wait = retry_after(&resp);
                    let status = resp.status().as_u16();
                    let err = error_from_response(resp, self.network.body_timeout).await;
                    match wait {
                        Some(wait) if wait > MAX_RETRY_AFTER => {
                            let message = err.to_string();
                            return Err(FetchError::RateLimited { status, wait, message });
                        }
                        Some(w) if attempt < self.network.retries => {
                            tracing::debug!("{}: {err}; retrying in {w:?}", self.host);
                            tokio::time::sleep(w).await;
                            continue;
                        }
                        _ => err,
                    }
                }
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            if !err.retryable() || attempt >= self.network.retries {
                return Err(err);
            }
            let wait = backoff(attempt);
            tracing::debug!("{}: {err}; retrying in {wait:?}", self.host);
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_authenticated(
        &self,
        method: Method,
        url: Url,
        repository: &str,
        extra: &[(&str, String)],
        wire: Wire,
    ) -> Result<reqwest::Response, FetchError> {
        let cached = self.auth.get(&self.host, repository);
        let resp =
            self.raw_send(method.clone(), url.clone(), cached.as_deref(), extra, wire).await?;
        // A 401 from another host (a redirect target) is its own business:
        // answering its challenge would hand this host's credentials to a
        // token service that host names.
        if resp.status() != StatusCode::UNAUTHORIZED || !self.is_own(resp.url()) {
            return Ok(resp);
        }
        let offered = resp.headers().get_all("www-authenticate");
        let Some(challenge) =
            auth::choose_challenge(offered.iter().filter_map(|v| v.to_str().ok()))
        else {
            return Ok(resp);
        };
        let header = self
            .auth
            .answer(
                &auth::TokenService {
                    clients: &self.clients,
                    registry_is_https: self.base.scheme() == "https",
                    registry_ca: self.ca_file.as_deref(),
                    response_timeout: self.network.response_timeout,
                    body_timeout: self.network.body_timeout,
                },
                &self.host,
                repository,
                &challenge,
                self.credential.as_ref(),
            )
            .await
            .map_err(|e| match e {
                // Only a refusal is "access denied" (exit 4); junk or an
                // unreachable token service is a failure (exit 1).
                auth::AuthError::Refused { realm, status } if self.credential.is_some() => {
                    let via = format!("the token service at {}", crate::text::redacted_url(&realm));
                    self.refused(&via, status)
                }
                auth::AuthError::Refused { .. } => FetchError::Auth(e.to_string()),
                _ => FetchError::TokenService(e.to_string()),
            })?;
        let resp = match header {
            Some(h) if Some(&h) != cached.as_ref() => {
                self.raw_send(method, url, Some(&h), extra, wire).await?
            }
            _ => return Ok(resp),
        };
        // Credentials sent and still refused (Basic auth): say so, rather
        // than a bare 401 that reads like "no credentials".
        let status = resp.status().as_u16();
        if self.credential.is_some() && matches!(status, 401 | 403) && self.is_own(resp.url()) {
            return Err(self.refused("the registry", status));
        }
        Ok(resp)
    }

    /// Is `url` on this endpoint's own origin (its HTTP twin included, for
    /// an `insecure` host)?
    fn is_own(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
            || (self.http_fallback && url.origin() == self.plain_base.origin())
    }

    /// The base requests go to: the configured one, or its plain-HTTP twin
    /// once an `insecure` host has fallen back to HTTP.
    fn current_base(&self) -> &Url {
        if self.plain.load(Ordering::Relaxed) { &self.plain_base } else { &self.base }
    }

    /// `url` on the plain-HTTP base, if this endpoint has fallen back to it.
    fn current(&self, url: Url) -> Url {
        if self.plain.load(Ordering::Relaxed) && url.origin() == self.base.origin() {
            with_scheme(url, "http")
        } else {
            url
        }
    }

    /// One request, following redirects by hand so that `Authorization`
    /// and configured headers go only to the first URL's origin. Each hop
    /// uses the client of its own host (a redirect target or any other
    /// host gets its own TLS settings, not this endpoint's).
    ///
    /// On an `insecure` host, a request over HTTPS that cannot connect (no
    /// TLS there, or nothing on the HTTPS port) is sent again over plain
    /// HTTP, as docker and podman do for insecure registries, and the host
    /// stays on HTTP for the run. Only a failure of the host itself does
    /// that, never one of a redirect target.
    async fn raw_send(
        &self,
        method: Method,
        url: Url,
        authorization: Option<&str>,
        extra: &[(&str, String)],
        wire: Wire,
    ) -> Result<reqwest::Response, FetchError> {
        let mut url = self.current(url);
        let mut origin = url.origin();
        for _ in 0..=MAX_REDIRECTS {
            let same_origin = url.origin() == origin;
            let auth = if same_origin { authorization } else { None };
            let hop = Hop { same_origin, authorization: auth, wire };
            let resp = match self.send_hop(&method, &url, hop, extra).await {
                Err(FetchError::Transport { kind: TransportKind::Connect, message })
                    if self.http_fallback && url.origin() == self.base.origin() =>
                {
                    tracing::debug!("{}: {message}", self.host);
                    if !self.plain.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "{}: no HTTPS connection; it is configured insecure, so plain HTTP \
                             is used",
                            self.host
                        );
                    }
                    let first = url.origin() == origin;
                    url = with_scheme(url, "http");
                    if first {
                        origin = url.origin();
                    }
                    continue;
                }
                other => other?,
            };
            if !resp.status().is_redirection() {
                return Ok(resp);
            }
            url = redirect_target(&url, &resp)?;
        }
        Err(FetchError::Invalid(format!(
            "more than {MAX_REDIRECTS} redirects (a redirect loop?) starting at {}",
            self.display()
        )))
    }

    /// One hop of `raw_send`: the request to `url` with its own host's
    /// client for the hop's wire, this host's headers and `authorization`
    /// only on the first URL's origin, within the response timeout.
    async fn send_hop(
        &self,
        method: &Method,
        url: &Url,
        hop: Hop<'_>,
        extra: &[(&str, String)],
    ) -> Result<reqwest::Response, FetchError> {
        let client = match (self.is_own(url), hop.wire) {
            (true, Wire::Shared) => self.client.clone(),
            (true, Wire::Own) => self.own_client.clone(),
            (false, wire) => self
                .clients
                .for_url(url, self.ca_file.as_deref(), wire)
                .map_err(|e| FetchError::Invalid(e.to_string()))?,
        };
        let mut req = client.request(method.clone(), url.clone());
        if hop.same_origin {
            for (k, v) in &self.headers {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        if let Some(a) = hop.authorization {
            req = req.header("authorization", a);
        }
        for (k, v) in extra {
            req = req.header(*k, v.as_str());
        }
        let timeout = self.network.response_timeout;
        self.note_exchange(url, false);
        let resp = tokio::time::timeout(timeout, req.send())
            .await
            .map_err(|_| FetchError::Transport {
                kind: TransportKind::Timeout,
                message: format!("no response from {} within {timeout:?}", host_of(url)),
            })?
            .map_err(|e| transport_error(&e))?;
        self.note_exchange(url, true);
        Ok(resp)
    }

    /// Sends `METHOD url` (one of `repository`'s, see `url`) and returns a
    /// successful response; any other status becomes a `FetchError` read
    /// from the error body. Either way the exchange is returned for the trace.
    async fn request(
        &self,
        method: Method,
        url: Url,
        repository: &str,
        extra: &[(&str, String)],
        wire: Wire,
    ) -> Result<(reqwest::Response, Exchange), (FetchError, Exchange)> {
        let mut exchange = Exchange { url: url.to_string(), status: None };
        let resp = match self.send(method, url, repository, extra, wire).await {
            Ok(r) => r,
            Err(e) => return Err((e, exchange)),
        };
        exchange.status = Some(resp.status().as_u16());
        if !resp.status().is_success() {
            return Err((error_from_response(resp, self.network.body_timeout).await, exchange));
        }
        Ok((resp, exchange))
    }

    /// `GET` a manifest, verified: media type known, size capped, digest
    /// checked against `expected` and `Docker-Content-Digest`.
    pub async fn get_manifest(
        &self,
        repository: &str,
        target: &str,
        ns: Option<&str>,
        expected: Option<&Digest>,
    ) -> Result<(ManifestAnswer, Exchange), (FetchError, Exchange)> {
        let accept = [("accept", MANIFEST_ACCEPT.to_string())];
        let url = self.url(repository, "manifests", target, ns);
        let (resp, exchange) =
            self.request(Method::GET, url, repository, &accept, Wire::Shared).await?;
        match read_manifest(resp, expected, self.network.body_timeout).await {
            Ok(m) => Ok((m, exchange)),
            Err(e) => Err((e, exchange)),
        }
    }

    /// `HEAD` a manifest: its digest without the body. Registries that omit
    /// `Docker-Content-Digest` on HEAD get a GET.
    pub async fn head_manifest(
        &self,
        repository: &str,
        target: &str,
    ) -> Result<(Digest, Exchange), (FetchError, Exchange)> {
        let accept = [("accept", MANIFEST_ACCEPT.to_string())];
        let url = self.url(repository, "manifests", target, None);
        let (resp, exchange) =
            self.request(Method::HEAD, url, repository, &accept, Wire::Shared).await?;
        let header = resp.headers().get("docker-content-digest").and_then(|v| v.to_str().ok());
        match header.map(str::parse::<Digest>) {
            Some(Ok(d)) => Ok((d, exchange)),
            Some(Err(e)) => {
                Err((FetchError::Invalid(format!("bad Docker-Content-Digest: {e}")), exchange))
            }
            None => self
                .get_manifest(repository, target, None, None)
                .await
                .map(|(m, ex)| (m.manifest.digest, ex)),
        }
    }

    /// `GET` a blob from `offset` on, over `wire`. The response is checked
    /// for status and range; the caller streams and verifies the body.
    pub async fn get_blob(
        &self,
        repository: &str,
        digest: &Digest,
        ns: Option<&str>,
        offset: u64,
        wire: Wire,
    ) -> Result<(BlobBody, Exchange), (FetchError, Exchange)> {
        let range = [("range", format!("bytes={offset}-"))];
        let extra: &[(&str, String)] = if offset > 0 { &range } else { &[] };
        let url = self.url(repository, "blobs", &digest.to_string(), ns);
        let (resp, exchange) = self.request(Method::GET, url, repository, extra, wire).await?;
        let start = match resp.status().as_u16() {
            206 => match content_range_start(&resp) {
                Some(s) if s == offset => offset,
                _ => {
                    let e =
                        FetchError::Invalid("answered a Range request with the wrong range".into());
                    return Err((e, exchange));
                }
            },
            // 200 (or any other success): the whole blob from byte 0.
            _ => 0,
        };
        let pace = Pace::new(self.network.speed_limit, self.network.stall_timeout);
        Ok((BlobBody { resp, start, pace }, exchange))
    }
}

/// Where a redirect points: its `Location`, resolved against `url`. Only
/// http and https, and never from HTTPS down to plain HTTP. Followed as
/// given otherwise: a host that fell back to HTTP may well send us to its
/// HTTPS again (a port-80 redirect), and that works.
fn redirect_target(url: &Url, resp: &reqwest::Response) -> Result<Url, FetchError> {
    let next = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .and_then(|l| url.join(l).ok())
        .ok_or_else(|| {
            FetchError::Invalid(format!(
                "{} answered HTTP {} without a usable Location",
                host_of(url),
                resp.status().as_u16()
            ))
        })?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(FetchError::Invalid(format!(
            "redirect to unsupported URL scheme {}",
            crate::text::shown(next.scheme())
        )));
    }
    if url.scheme() == "https" && next.scheme() == "http" {
        return Err(FetchError::Invalid(format!(
            "{} redirected from HTTPS to plain HTTP; refusing",
            host_of(url)
        )));
    }
    Ok(next)
}

/// A manifest as a host served it, with the namespace it says it served
/// (`OCI-Namespace`), if it said.
#[derive(Clone, Debug)]
pub struct ManifestAnswer {
    pub manifest: Manifest,
    pub namespace: Option<String>,
}

/// Reads and verifies a manifest response: the body capped, then checked
/// by the image model against its headers and the digest asked for.
async fn read_manifest(
    resp: reqwest::Response,
    expected: Option<&Digest>,
    within: Duration,
) -> Result<ManifestAnswer, FetchError> {
    let header =
        |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (content_type, content_digest) = (header("content-type"), header("docker-content-digest"));
    let namespace = header("oci-namespace");
    let bytes =
        read_capped(resp, MAX_MANIFEST_SIZE, within).await.map_err(|e| e.into_fetch("manifest"))?;
    let manifest = Manifest::from_response(
        bytes.into(),
        content_type.as_deref(),
        content_digest.as_deref(),
        expected,
    )?;
    Ok(ManifestAnswer { manifest, namespace })
}

impl From<ImageError> for FetchError {
    fn from(e: ImageError) -> FetchError {
        FetchError::Invalid(e.to_string())
    }
}

/// A blob response body being streamed.
pub struct BlobBody {
    resp: reqwest::Response,
    /// The offset the body starts at (0 when the server ignored our Range).
    pub start: u64,
    pace: Pace,
}

impl BlobBody {
    /// The body's length as announced, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.resp.content_length()
    }

    /// The next chunk, or `None` at the end. A body slower than the speed
    /// rule (`Pace`) is an error of kind `TooSlow`, a connection cut
    /// mid-body one of kind `Other`.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, FetchError> {
        loop {
            let deadline = tokio::time::Instant::from_std(self.pace.window_end());
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                // The window ended with nothing new: judge it, wait on.
                Err(_) => self.pace.judge(std::time::Instant::now(), 0)?,
                Ok(Ok(Some(chunk))) => {
                    self.pace.judge(std::time::Instant::now(), chunk.len() as u64)?;
                    return Ok(Some(chunk));
                }
                Ok(Ok(None)) => return Ok(None),
                Ok(Err(e)) => return Err(transport_error(&e)),
            }
        }
    }
}

/// The speed rule for blob bodies, like curl's `--speed-limit` and
/// `--speed-time`: over every window of `window`, at least `limit` bytes a
/// second on average, and at least one byte. A server that stalls, or
/// drips a byte every few seconds, is cut after one window; one that keeps
/// up can take at most size ÷ limit.
#[derive(Clone, Copy, Debug)]
struct Pace {
    limit: u64,
    window: Duration,
    since: std::time::Instant,
    bytes: u64,
}

impl Pace {
    fn new(limit: u64, window: Duration) -> Pace {
        Pace { limit, window, since: std::time::Instant::now(), bytes: 0 }
    }

    fn window_end(&self) -> std::time::Instant {
        self.since + self.window
    }

    /// Counts `bytes` that arrived at `now`; at a window's end, refuses a
    /// body that was too slow in it, else starts the next window.
    fn judge(&mut self, now: std::time::Instant, bytes: u64) -> Result<(), FetchError> {
        self.bytes += bytes;
        if now < self.window_end() {
            return Ok(());
        }
        let need = (self.limit as f64 * self.window.as_secs_f64()) as u64;
        if self.bytes == 0 || self.bytes < need {
            let message = match self.bytes {
                0 => format!("the body stalled for {:?}", self.window),
                got => format!(
                    "the body came at {} bytes/s over {:?}, below the speed limit of {} bytes/s",
                    (got as f64 / self.window.as_secs_f64()) as u64,
                    self.window,
                    self.limit
                ),
            };
            return Err(FetchError::Transport { kind: TransportKind::TooSlow, message });
        }
        self.since = now;
        self.bytes = 0;
        Ok(())
    }
}

fn content_range_start(resp: &reqwest::Response) -> Option<u64> {
    let v = resp.headers().get("content-range")?.to_str().ok()?;
    let range = v.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

fn is_retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 408 | 429 | 500..=599)
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    if !matches!(resp.status().as_u16(), 429 | 503) {
        return None;
    }
    let v = resp.headers().get("retry-after")?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Exponential backoff with jitter: ~200 ms, ~400 ms, ~800 ms ... capped at 5 s.
fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1 << attempt.min(5).saturating_sub(1));
    let jitter = rand::random::<u64>() % (base / 2 + 1);
    Duration::from_millis((base + jitter).min(5_000))
}

fn transport_error(e: &reqwest::Error) -> FetchError {
    let kind = if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Other
    };
    let mut message = describe_reqwest(e);
    // Through a proxy, "cannot connect" is most likely the proxy's: say so,
    // and where it was configured, rather than blame the registry.
    if kind == TransportKind::Connect
        && let Some(url) = e.url()
        && let Some((proxy, variable)) = proxy::proxy_for(url)
    {
        let host = host_of(url);
        let cause =
            message.strip_prefix(&format!("cannot connect to {host}: ")).unwrap_or(&message);
        message = format!(
            "cannot connect to the proxy {} (from {variable}) for {host}: {cause}; check \
             {variable}, or list the host in NO_PROXY",
            crate::text::redacted_url(&proxy),
        );
    }
    FetchError::Transport { kind, message }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorItem>,
}

#[derive(serde::Deserialize)]
struct ErrorItem {
    code: Option<String>,
    message: Option<String>,
}

/// Turns an error response into a `FetchError`, reading the distribution
/// error body if there is one (capped: error bodies are small).
pub async fn error_from_response(resp: reqwest::Response, within: Duration) -> FetchError {
    let status = resp.status().as_u16();
    let body = match read_capped(resp, auth::MAX_TOKEN_BODY, within).await {
        Ok(body) => body,
        // A host that drips even its error bodies is too slow to use.
        Err(e @ BodyError::TooSlow(_)) => return e.into_fetch(&format!("HTTP {status}")),
        Err(_) => Vec::new(),
    };
    let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(b) if !b.errors.is_empty() => {
            let e = &b.errors[0];
            let code = e.code.as_deref().map(|c| crate::text::shown_max(c, 64));
            (code, crate::text::shown(e.message.as_deref().unwrap_or("")))
        }
        _ => (None, String::new()),
    };
    FetchError::Status { status, code, message }
}

/// `<base>/v2/<repo>/<kind>/<target>[?ns=<ns>]`; with `override_path` the
/// base's own path replaces `/v2` (containerd's hosts.toml semantics).
pub fn api_url(
    base: &Url,
    override_path: bool,
    repository: &str,
    kind: &str,
    target: &str,
    ns: Option<&str>,
) -> Url {
    let mut url = base.clone();
    let mut path = url.path().trim_end_matches('/').to_string();
    // As containerd: a base that already ends in /v2 is not given another.
    if !override_path && !path.ends_with("/v2") {
        path.push_str("/v2");
    }
    path.push_str(&format!("/{repository}/{kind}/{target}"));
    url.set_path(&path);
    url.set_query(None);
    if let Some(ns) = ns {
        url.query_pairs_mut().append_pair("ns", ns);
    }
    url
}

/// `host[:port]` of a URL, with IPv6 brackets.
/// `url` with another scheme (http <-> https; always possible for those).
fn with_scheme(mut url: Url, scheme: &str) -> Url {
    let _ = url.set_scheme(scheme);
    url
}

pub fn host_of(url: &Url) -> String {
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(base: &str, override_path: bool) -> Endpoint {
        let settings = HostConfig { override_path: Some(override_path), ..Default::default() };
        Endpoint::new(
            Url::parse(base).unwrap(),
            &settings,
            Network::default(),
            None,
            Arc::new(AuthCache::default()),
            Arc::new(Clients::default()),
        )
        .unwrap()
    }

    #[test]
    fn builds_urls_with_encoded_ns() {
        let e = endpoint("http://127.0.0.1:5000", false);
        let u = e.url("library/ubuntu", "manifests", "latest", Some("docker.io"));
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:5000/v2/library/ubuntu/manifests/latest?ns=docker.io"
        );
        let u = e.url("a/b", "blobs", "sha256:00", Some("localhost:5000"));
        assert_eq!(u.as_str(), "http://127.0.0.1:5000/v2/a/b/blobs/sha256:00?ns=localhost%3A5000");
        let e = endpoint("https://m.example.com/cache/v2/", true);
        let u = e.url("a/b", "manifests", "t", None);
        assert_eq!(u.as_str(), "https://m.example.com/cache/v2/a/b/manifests/t");
        assert_eq!(e.host, "m.example.com");
    }

    #[test]
    fn the_speed_rule_cuts_stalls_and_drips_and_keeps_what_keeps_up() {
        let window = Duration::from_secs(10);
        let start = std::time::Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let pace = || Pace { limit: 100, window, since: start, bytes: 0 };
        // (bytes arriving at these seconds) -> the first second refused
        type Arrivals = &'static [(u64, u64)];
        let table: [(Arrivals, Option<u64>); 6] = [
            (&[(1, 600), (5, 500), (10, 0), (15, 1000), (20, 0)], None),
            (&[(10, 0)], Some(10)),
            (&[(5, 1), (10, 1)], Some(10)),
            (&[(3, 999), (10, 0)], Some(10)),
            (&[(3, 1000), (10, 0), (19, 1), (20, 0)], Some(20)),
            (&[(2, 5000), (9, 5000)], None),
        ];
        for (arrivals, refused_at) in table {
            let mut p = pace();
            let first_refusal =
                arrivals.iter().find(|(t, n)| p.judge(at(*t), *n).is_err()).map(|(t, _)| *t);
            assert_eq!(first_refusal, refused_at, "{arrivals:?}");
        }
        // Without a limit, a window with no byte at all is still a stall.
        let mut p = Pace { limit: 0, ..pace() };
        assert!(p.judge(at(5), 1).is_ok() && p.judge(at(10), 0).is_ok());
        let e = p.judge(at(20), 0).unwrap_err();
        assert!(matches!(e, FetchError::Transport { kind: TransportKind::TooSlow, .. }), "{e:?}");
        assert!(e.to_string().contains("stalled"), "{e}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(
            backoff(1) >= Duration::from_millis(200) && backoff(1) <= Duration::from_millis(300)
        );
        assert!(backoff(3) >= Duration::from_millis(800));
        assert!(backoff(30) <= Duration::from_secs(5));
    }

    /// A self-signed certificate for 127.0.0.1 (IP SAN), made in memory
    /// with rcgen, as rustls server config.
    fn self_signed() -> rustls::ServerConfig {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
            .expect("make a self-signed certificate");
        let certs = vec![made.cert.der().clone()];
        let key = rustls::pki_types::PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key.into())
            .unwrap()
    }

    #[tokio::test]
    async fn an_insecure_host_that_fell_back_to_http_may_redirect_to_https() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let tls = tokio_rustls::TlsAcceptor::from(Arc::new(self_signed()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // One port, both protocols: the first TLS connection is dropped (a
        // passing failure), later ones get 200; plain HTTP gets a redirect
        // to the same path over HTTPS, like an nginx on port 80.
        let handshakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let server = tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let (tls, handshakes) = (tls.clone(), handshakes.clone());
                tokio::spawn(async move {
                    let mut first = [0u8; 1];
                    if socket.peek(&mut first).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut request = vec![0u8; 4096];
                    if first[0] == 0x16 {
                        if handshakes.fetch_add(1, Ordering::SeqCst) == 0 {
                            return;
                        }
                        let Ok(mut s) = tls.accept(socket).await else { return };
                        let _ = s.read(&mut request).await;
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
                        let _ = s.shutdown().await;
                    } else {
                        let mut s = socket;
                        let n = s.read(&mut request).await.unwrap_or(0);
                        let text = String::from_utf8_lossy(&request[..n]).to_string();
                        let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                        let answer = format!(
                            "HTTP/1.1 301 Moved Permanently\r\nlocation: https://127.0.0.1:{port}{path}\r\ncontent-length: 0\r\n\r\n"
                        );
                        let _ = s.write_all(answer.as_bytes()).await;
                        let _ = s.shutdown().await;
                    }
                });
            }
        });
        let settings = HostConfig { insecure: Some(true), ..Default::default() };
        let e = Endpoint::new(
            Url::parse(&format!("https://127.0.0.1:{port}")).unwrap(),
            &settings,
            Network::default(),
            None,
            Arc::new(AuthCache::default()),
            Arc::new(Clients::default()),
        )
        .unwrap();
        let (status, _) = e.ping().await.expect("the redirect back to HTTPS is followed");
        assert_eq!(status, 200);
        server.abort();
    }
}
