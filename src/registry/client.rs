//! The HTTP clients: TLS settings, timeouts, connection reuse.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, Once};
use std::time::Duration;

use crate::config::{Config, HostConfig, Network};
use crate::error::Error;

/// reqwest is built without a default crypto provider; install ring's once.
fn init_tls() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// How a request may share its connection with the host's others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wire {
    /// HTTP/2 where a TLS server offers it (ALPN), else HTTP/1.1. On HTTP/2
    /// the run's requests to the host share one connection, and each one
    /// after the first saves the two round trips of a new TCP and TLS
    /// handshake: a 40-layer image is 42 requests. Plain HTTP stays 1.1.
    Shared,
    /// HTTP/1.1 only, one connection per request in flight. The streams of
    /// an HTTP/2 connection share its congestion window and any cap a CDN
    /// puts on one connection: a blob's ranges, and big blobs side by
    /// side, must not.
    Own,
}

/// Blobs up to this size share a connection (`Wire::Shared`): they cost a
/// round trip rather than bandwidth (256 KiB is 10 ms at a 25 MB/s
/// per-connection cap, a new TLS connection two round trips).
pub const SHARED_BLOB_MAX: u64 = 256 << 10;

/// How much an HTTP/2 server may send on a connection before it waits for
/// us to make room (hyper's default is 5 MiB). A 40-layer image of small
/// blobs is about 5 MiB: with the default, the server stopped short of the
/// end and waited a round trip for our WINDOW_UPDATE (h2 sends one only
/// once half the window is read), one round trip in four over 80 ms,
/// measured. Memory is bounded by what is in flight, not by this: only
/// manifests and blobs up to `SHARED_BLOB_MAX` share a connection, and at
/// most 8 x `jobs` of them run at once, each read as it arrives.
const H2_CONNECTION_WINDOW: u32 = 16 << 20;

impl Wire {
    /// The wire for a blob of `size` bytes fetched in one request.
    pub fn for_blob(size: u64) -> Wire {
        if size <= SHARED_BLOB_MAX { Wire::Shared } else { Wire::Own }
    }
}

/// What a client is built from. Endpoints that agree on it share one
/// client (its connection pool is per host anyway): building one loads the
/// system's CA certificates, a few milliseconds each time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    /// May speak HTTP/2 (`Wire::Shared`, and `network.http2` on).
    http2: bool,
    tls_verify: bool,
    ca_file: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    connect_timeout: Duration,
}

/// The clients of one run, by the settings they were built from, and the
/// configuration that says which settings each host gets.
#[derive(Default)]
pub struct Clients {
    config: Config,
    built: Mutex<HashMap<ClientKey, reqwest::Client>>,
}

impl Clients {
    pub fn new(config: Config) -> Clients {
        Clients { config, built: Mutex::default() }
    }

    /// The client for `url`'s host, with that host's own settings: what a
    /// redirect target or a token service gets. Never the relaxed
    /// verification or the client certificate of the host that sent us
    /// there; but that host's extra CA (`ca_file`) when this one has none,
    /// as an internal CA tends to sign the registry's token service and
    /// storage too, and trusting it there exposes nothing the registry's
    /// own connection did not.
    pub fn for_url(
        &self,
        url: &url::Url,
        sender_ca: Option<&std::path::Path>,
        wire: Wire,
    ) -> Result<reqwest::Client, Error> {
        let host = super::host_of(url);
        let mut settings = self.config.host(&host);
        if settings.ca_file.is_none() {
            settings.ca_file = sender_ca.map(std::path::Path::to_path_buf);
        }
        let network = self.config.network_for(&host, &settings)?;
        self.get(&settings, &network, &host, wire)
    }

    /// May credentials go to `url` although it is plain HTTP? Only when
    /// its host is spoken to in plain HTTP anyway (configured so, or
    /// loopback) or is configured `insecure`.
    pub fn plain_http_allowed(&self, url: &url::Url) -> bool {
        let host = super::host_of(url);
        self.config.plain_http(&host) || self.config.host(&host).insecure == Some(true)
    }

    /// The client for a host with these settings: an existing one with the
    /// same TLS settings, connect timeout and HTTP versions, or a new one.
    pub fn get(
        &self,
        settings: &HostConfig,
        network: &Network,
        host: &str,
        wire: Wire,
    ) -> Result<reqwest::Client, Error> {
        let key = ClientKey {
            http2: wire == Wire::Shared && network.http2,
            tls_verify: settings.verifies_tls(),
            ca_file: settings.ca_file.clone(),
            client_cert: settings.client_cert.clone(),
            client_key: settings.client_key.clone(),
            connect_timeout: network.connect_timeout,
        };
        let mut clients = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = build_client(settings, network, host, key.http2)?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}

fn build_client(
    settings: &HostConfig,
    network: &Network,
    host: &str,
    http2: bool,
) -> Result<reqwest::Client, Error> {
    init_tls();
    let mut b = reqwest::Client::builder()
        // Redirects are followed by hand (credentials must not follow them).
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(network.connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .user_agent(concat!("ocimirror/", env!("CARGO_PKG_VERSION")));
    if http2 {
        b = b.http2_initial_connection_window_size(H2_CONNECTION_WINDOW);
    } else {
        b = b.http1_only();
    }
    if !settings.verifies_tls() {
        b = b.tls_danger_accept_invalid_certs(true);
    }
    if let Some(ca) = &settings.ca_file {
        let pem = std::fs::read(ca).map_err(|e| {
            Error::Config(format!("cannot read CA file {} for {host}: {e}", ca.display()))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
            Error::Config(format!("CA file {} for {host} holds no PEM certificates", ca.display()))
        })?;
        b = b.tls_certs_merge(certs);
    }
    match (&settings.client_cert, &settings.client_key) {
        (Some(cert), key) => {
            let read = |path: &PathBuf, what: &str| {
                std::fs::read(path).map_err(|e| {
                    Error::Config(format!("cannot read client {what} {}: {e}", path.display()))
                })
            };
            // One PEM with the certificate and the key, as reqwest takes it.
            let mut pem = read(cert, "certificate")?;
            if let Some(key) = key {
                pem.push(b'\n');
                pem.extend(read(key, "key")?);
            }
            let id = reqwest::Identity::from_pem(&pem).map_err(|_| {
                Error::Config(match key {
                    None => format!(
                        "client certificate {} must hold a PEM certificate and its private key \
                         (or set client_key to the key's file)",
                        cert.display()
                    ),
                    Some(key) => format!(
                        "client certificate {} and key {} must be a PEM certificate and its \
                         private key",
                        cert.display(),
                        key.display()
                    ),
                })
            })?;
            b = b.identity(id);
        }
        (None, Some(key)) => {
            return Err(Error::Config(format!(
                "client_key {} for {host} has no client_cert to go with it",
                key.display()
            )));
        }
        (None, None) => {}
    }
    b.build().map_err(|e| {
        Error::Config(format!("cannot set up HTTP for {host}: {}", describe_reqwest(&e)))
    })
}

/// A reqwest error as one readable line: what failed, without the URL's
/// query (which may hold tokens) and with the root cause.
pub fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut root = None;
    let mut not_tls = false;
    while let Some(c) = cause {
        root = Some(c);
        // What a TLS client makes of an answer in plain HTTP. I/O errors
        // wrap it (twice, here) without listing it as their source.
        let mut inner: &(dyn std::error::Error + 'static) = c;
        while let Some(wrapped) = inner.downcast_ref::<std::io::Error>().and_then(|e| e.get_ref()) {
            inner = wrapped;
        }
        not_tls |= matches!(
            inner.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType))
        );
        cause = c.source();
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "the response body broke off"
    } else if e.is_request() {
        "the request failed"
    } else {
        "HTTP error"
    };
    let host = e.url().map(super::host_of).unwrap_or_default();
    let mut root = root.map(|r| r.to_string()).unwrap_or_default();
    if not_tls {
        root.push_str(
            " (the server does not speak TLS: for a plain-HTTP registry set plain_http = true, \
             or insecure = true, for this host)",
        );
    }
    match (host.is_empty(), root.is_empty()) {
        (false, false) => format!("{what} to {host}: {root}"),
        (false, true) => format!("{what} to {host}"),
        (true, false) => format!("{what}: {root}"),
        (true, true) => what.to_string(),
    }
}

/// Reads a whole small body (a manifest, a token, an error), failing once
/// it passes `cap` bytes or when it has not all come `within` this long:
/// one deadline for the whole body, so a server dripping a byte at a time
/// cannot hold the request open.
pub async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
    within: Duration,
) -> Result<Vec<u8>, BodyError> {
    if let Some(n) = resp.content_length().filter(|&n| n > cap as u64) {
        return Err(BodyError::TooLarge(format!("body of {n} bytes is over the {cap}-byte limit")));
    }
    let deadline = tokio::time::Instant::now() + within;
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout_at(deadline, resp.chunk()).await.map_err(|_| {
            BodyError::TooSlow(format!("the body did not arrive within {within:?}"))
        })?;
        let Some(chunk) = next.map_err(|e| BodyError::Broken(describe_reqwest(&e)))? else {
            break;
        };
        if out.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge(format!("body is over the {cap}-byte limit")));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Why a small body could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BodyError {
    #[error("{0}")]
    TooLarge(String),
    /// Not all there within its deadline: the host is too slow to use.
    #[error("{0}")]
    TooSlow(String),
    #[error("{0}")]
    Broken(String),
}

impl BodyError {
    /// As the walk sees it: a host too slow is unusable for the run (like
    /// one that times out), anything else is a broken answer.
    pub fn into_fetch(self, what: &str) -> super::FetchError {
        match self {
            BodyError::TooSlow(why) => super::FetchError::Transport {
                kind: super::TransportKind::TooSlow,
                message: format!("{what}: {why}"),
            },
            other => super::FetchError::Invalid(format!("{what}: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_the_same_tls_settings_share_a_client() {
        let clients = Clients::default();
        let network = Network::default();
        let plain = HostConfig::default();
        let insecure = HostConfig { tls_verify: Some(false), ..Default::default() };
        let shared = Wire::Shared;
        clients.get(&plain, &network, "a.example", shared).unwrap();
        clients.get(&plain, &network, "b.example", shared).unwrap();
        assert_eq!(clients.built.lock().unwrap().len(), 1);
        clients.get(&insecure, &network, "c.example", shared).unwrap();
        let slow = Network { connect_timeout: Duration::from_secs(30), ..Network::default() };
        clients.get(&plain, &slow, "d.example", shared).unwrap();
        assert_eq!(clients.built.lock().unwrap().len(), 3);
        // A client that cannot be built is an error for that host, not cached.
        let missing =
            HostConfig { ca_file: Some("/nonexistent/ca.pem".into()), ..Default::default() };
        let e = clients.get(&missing, &network, "e.example", shared).unwrap_err();
        assert!(e.to_string().contains("for e.example"), "{e}");
        assert_eq!(clients.built.lock().unwrap().len(), 3);
    }

    #[test]
    fn big_blobs_get_http1_connections_of_their_own() {
        let clients = Clients::default();
        let (plain, network) = (HostConfig::default(), Network::default());
        clients.get(&plain, &network, "a.example", Wire::Shared).unwrap();
        clients.get(&plain, &network, "a.example", Wire::Own).unwrap();
        let built = clients.built.lock().unwrap();
        let mut http2: Vec<bool> = built.keys().map(|k| k.http2).collect();
        http2.sort();
        assert_eq!(http2, [false, true]);
        drop(built);
        // `network.http2 = false`: both wires are HTTP/1.1, one client.
        let clients = Clients::default();
        let h1 = Network { http2: false, ..Network::default() };
        clients.get(&plain, &h1, "a.example", Wire::Shared).unwrap();
        clients.get(&plain, &h1, "a.example", Wire::Own).unwrap();
        assert_eq!(clients.built.lock().unwrap().len(), 1);
    }

    #[test]
    fn only_blobs_that_cost_a_round_trip_share_a_connection() {
        let cases = [
            (0, Wire::Shared),
            (16 << 10, Wire::Shared),
            (SHARED_BLOB_MAX, Wire::Shared),
            (SHARED_BLOB_MAX + 1, Wire::Own),
            (256 << 20, Wire::Own),
        ];
        for (size, wire) in cases {
            assert_eq!(Wire::for_blob(size), wire, "{size} bytes");
        }
    }
}
