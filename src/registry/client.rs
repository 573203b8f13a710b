//! The HTTP client for one host: TLS settings, timeouts, connection reuse.

use std::sync::Once;

use crate::config::{HostConfig, Network};
use crate::error::Error;

/// reqwest is built without a default crypto provider; install ring's once.
fn init_tls() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub fn build_client(
    settings: &HostConfig,
    network: &Network,
    host: &str,
) -> Result<reqwest::Client, Error> {
    init_tls();
    let mut b = reqwest::Client::builder()
        // Redirects are followed by hand (credentials must not follow them).
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(network.connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .user_agent(concat!("ocimirror/", env!("CARGO_PKG_VERSION")));
    if settings.tls_verify == Some(false) {
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
    if let Some(cert) = &settings.client_cert {
        let pem = std::fs::read(cert).map_err(|e| {
            Error::Config(format!("cannot read client certificate {}: {e}", cert.display()))
        })?;
        let id = reqwest::Identity::from_pem(&pem).map_err(|_| {
            Error::Config(format!(
                "client certificate {} must hold a PEM certificate and its private key",
                cert.display()
            ))
        })?;
        b = b.identity(id);
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
    while let Some(c) = cause {
        root = Some(c);
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
    let root = root.map(|r| r.to_string()).unwrap_or_default();
    match (host.is_empty(), root.is_empty()) {
        (false, false) => format!("{what} to {host}: {root}"),
        (false, true) => format!("{what} to {host}"),
        (true, false) => format!("{what}: {root}"),
        (true, true) => what.to_string(),
    }
}

/// Reads a whole body, failing once it passes `cap` bytes.
pub async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(format!(
            "body of {} bytes is over the {cap}-byte limit",
            resp.content_length().unwrap_or(0)
        ));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe_reqwest(&e))? {
        if out.len() + chunk.len() > cap {
            return Err(format!("body is over the {cap}-byte limit"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
