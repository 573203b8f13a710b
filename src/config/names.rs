//! Host names as settings are keyed and looked up: `HostPort`, and the
//! checks that turn a `[registries."..."]` or `[hosts."..."]` key (or an
//! imported file's registry name) into one, or say why no reference or
//! source could ever be matched by it and what to write instead.

use std::fmt;
use std::net::Ipv6Addr;

use url::Url;

use crate::reference::DOCKER_HUB;

/// A `host[:port]` in the one spelling settings are keyed and looked up
/// by: lowercase, addresses in their canonical form (IPv6 in brackets), and
/// no `:443`, HTTPS's default port, which the url crate leaves out of every
/// URL it writes, so that no source host ever carries it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPort(String);

/// Why a text is not a `host[:port]`. A URL or a path carries the host it
/// starts with, when it has a valid one, so that messages can say what to
/// write instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostPortError {
    #[error("is empty")]
    Empty,
    #[error("is a URL")]
    Url { host: Option<HostPort>, http: bool },
    #[error("has a path")]
    Path { host: Option<HostPort> },
    #[error("is an IPv6 address without its brackets")]
    BareIpv6(HostPort),
    #[error("is not a valid host[:port]")]
    Invalid,
}

impl HostPort {
    /// Checks and canonicalises `host`, `host:port`, `1.2.3.4:5000` or
    /// `[::1]:5000`. Host names are letters, digits, `-` and `_` (which
    /// container networks use) in dot-separated labels.
    pub fn parse(text: &str) -> Result<HostPort, HostPortError> {
        if text.is_empty() {
            return Err(HostPortError::Empty);
        }
        if let Some((scheme, rest)) = text.split_once("://") {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            // Never the user name or password of `https://user:pass@host`.
            let authority = authority.rsplit('@').next().unwrap_or("");
            let http = scheme.eq_ignore_ascii_case("http");
            return Err(HostPortError::Url { host: HostPort::parse(authority).ok(), http });
        }
        if let Some(at) = text.find(['/', '?', '#']) {
            return Err(HostPortError::Path { host: HostPort::parse(&text[..at]).ok() });
        }
        if let Ok(ip) = text.parse::<Ipv6Addr>() {
            return Err(HostPortError::BareIpv6(HostPort(format!("[{ip}]"))));
        }
        if !is_host_port(text) {
            return Err(HostPortError::Invalid);
        }
        // The url crate canonicalises: case, `127.1`, `[::0:1]`, `:05000`, `:443`.
        let url = Url::parse(&format!("https://{text}")).map_err(|_| HostPortError::Invalid)?;
        Ok(HostPort::of_url(&url))
    }

    /// The host and port of a URL, without `:443` whatever the scheme:
    /// settings for `host:443` and `host` are one entry.
    pub fn of_url(url: &Url) -> HostPort {
        let host = match url.host() {
            Some(url::Host::Ipv6(a)) => format!("[{a}]"),
            Some(h) => h.to_string(),
            None => String::new(),
        };
        match url.port().filter(|&p| p != 443) {
            Some(p) => HostPort(format!("{host}:{p}")),
            None => HostPort(host),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host without its port, when it has one (`[hosts."host"]`
    /// settings apply to every port of the host).
    pub fn without_port(&self) -> Option<HostPort> {
        let (host, port) = self.0.rsplit_once(':')?;
        let bracketed_v6_without_port = self.0.ends_with(']');
        (!bracketed_v6_without_port && port.bytes().all(|b| b.is_ascii_digit()))
            .then(|| HostPort(host.to_string()))
    }

    /// On the loopback interface: spoken to in plain HTTP unless configured
    /// otherwise, as docker does.
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.0)
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `host[:port]` with a host of letters, digits, `-` and `_` labels (or an
/// IPv4 address, which is such labels too) or a bracketed IPv6 address,
/// and a port from 1 to 65535.
fn is_host_port(text: &str) -> bool {
    let (host, port) = match text.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, "")) => (addr, None),
            Some((addr, rest)) => match rest.strip_prefix(':') {
                Some(port) => (addr, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    let host_ok =
        if text.starts_with('[') { host.parse::<Ipv6Addr>().is_ok() } else { is_host_name(host) };
    let port_ok = port.is_none_or(|p| {
        p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    host_ok && port_ok
}

fn is_host_name(host: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    host.split('.').all(label_ok)
}

/// Other names of Docker Hub: references call it `docker.io` (and turn
/// `index.docker.io/...` into `docker.io/...`); `registry-1.docker.io` is
/// the host that serves it, which `[hosts."docker.io"]` settings reach.
const DOCKER_HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];

/// Why a registry or host key could never be matched, and what to write.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a valid host[:port]")]
    NotAHost,
    #[error("an IPv6 address goes in brackets; write {0}")]
    BareIpv6(HostPort),
    #[error("a URL; write the registry as in references: {0}")]
    RegistryUrl(HostPort),
    #[error(
        "registries are matched by host only (a rule covers every repository there); write {0}"
    )]
    RegistryPath(HostPort),
    #[error("another name of Docker Hub, which references call docker.io; write docker.io")]
    DockerHubAlias,
    #[error("registries are matched in lowercase, without :443; write {0}")]
    Spelling(HostPort),
    #[error("host settings are keyed by host[:port], not by URL; write {host}{}",
        if *plain_http { " with plain_http = true" } else { "" })]
    HostUrl { host: HostPort, plain_http: bool },
    #[error("host settings apply to a whole host, whatever the path; write {0}")]
    HostPath(HostPort),
}

/// A `[registries."..."]` key of config.toml: exactly what a reference's
/// registry is (`docker.io`, `quay.io`, `localhost:5000`, `[::1]:5000`),
/// so that what is written is what is matched.
pub fn registry_key(key: &str) -> Result<HostPort, KeyError> {
    let as_in_references = |host: HostPort| match is_docker_hub_alias(&host) {
        true => HostPort(DOCKER_HUB.to_string()),
        false => host,
    };
    match HostPort::parse(key) {
        Ok(host) if is_docker_hub_alias(&host) => Err(KeyError::DockerHubAlias),
        Ok(host) if host.as_str() != key => Err(KeyError::Spelling(host)),
        Ok(host) => Ok(host),
        Err(HostPortError::Url { host: Some(host), .. }) => {
            Err(KeyError::RegistryUrl(as_in_references(host)))
        }
        Err(HostPortError::Path { host: Some(host) }) => {
            Err(KeyError::RegistryPath(as_in_references(host)))
        }
        Err(HostPortError::BareIpv6(host)) => Err(KeyError::BareIpv6(host)),
        Err(_) => Err(KeyError::NotAHost),
    }
}

/// A `[hosts."..."]` key of config.toml: a host, or a host and port, in any
/// case (DNS names are case-insensitive; `:443` is the same as no port).
pub fn hosts_key(key: &str) -> Result<HostPort, KeyError> {
    match HostPort::parse(key) {
        Ok(host) => Ok(host),
        Err(HostPortError::Url { host: Some(host), http }) => {
            Err(KeyError::HostUrl { plain_http: http && !host.is_loopback(), host })
        }
        Err(HostPortError::Path { host: Some(host) }) => Err(KeyError::HostPath(host)),
        Err(HostPortError::BareIpv6(host)) => Err(KeyError::BareIpv6(host)),
        Err(_) => Err(KeyError::NotAHost),
    }
}

/// A registry named by a file we import (a containerd namespace directory,
/// a podman prefix): any case is taken, as before, but a name no reference
/// can have (`index.docker.io` always becomes `docker.io`) is refused, so
/// the importer can say so instead of adding a rule that is never used.
pub fn imported_registry(name: &str) -> Result<HostPort, KeyError> {
    match HostPort::parse(name) {
        Ok(host) if host.as_str() == "index.docker.io" => Err(KeyError::DockerHubAlias),
        Ok(host) => Ok(host),
        Err(HostPortError::BareIpv6(host)) => Err(KeyError::BareIpv6(host)),
        Err(_) => Err(KeyError::NotAHost),
    }
}

fn is_docker_hub_alias(host: &HostPort) -> bool {
    DOCKER_HUB_ALIASES.contains(&host.as_str())
}

/// Is this host (with or without port) on the loopback interface? Loopback
/// registries get plain HTTP unless configured otherwise, as in docker.
pub fn is_loopback(host: &str) -> bool {
    let h = strip_port(host);
    if h == "localhost" || h.ends_with(".localhost") {
        return true;
    }
    let h = h.trim_start_matches('[').trim_end_matches(']');
    h.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// `host:port` -> `host`, `[::1]:5000` -> `[::1]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(i) => &host[..=i],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(s: &str) -> HostPort {
        HostPort::parse(s).unwrap()
    }

    #[test]
    fn host_ports_are_canonical() {
        let cases = [
            ("quay.io", "quay.io"),
            ("Quay.IO", "quay.io"),
            ("m.example:443", "m.example"),
            ("m.example:05000", "m.example:5000"),
            ("127.1", "127.0.0.1"),
            ("[2001:db8:0:0::1]:5000", "[2001:db8::1]:5000"),
            ("[::1]", "[::1]"),
            ("my_host:5000", "my_host:5000"),
            ("localhost", "localhost"),
        ];
        for (raw, want) in cases {
            assert_eq!(hp(raw).as_str(), want, "{raw}");
        }
        assert_eq!(hp("m.example:8443").without_port(), Some(hp("m.example")));
        assert_eq!(hp("[::1]:5000").without_port(), Some(hp("[::1]")));
        assert_eq!(hp("[::1]").without_port(), None);
        assert_eq!(hp("m.example").without_port(), None);
    }

    #[test]
    fn what_is_not_a_host_port() {
        use HostPortError::*;
        let cases: [(&str, HostPortError); 12] = [
            ("", Empty),
            ("https://m.example:5000/v2", Url { host: Some(hp("m.example:5000")), http: false }),
            ("http://u:p@m.example", Url { host: Some(hp("m.example")), http: true }),
            ("docker.io/library", Path { host: Some(hp("docker.io")) }),
            ("m.example/", Path { host: Some(hp("m.example")) }),
            ("::1", BareIpv6(hp("[::1]"))),
            ("m.example:", Invalid),
            ("m.example:0", Invalid),
            ("m.example:99999", Invalid),
            ("*.example.com", Invalid),
            ("exa$mple.com", Invalid),
            ("two words", Invalid),
        ];
        for (raw, want) in cases {
            assert_eq!(HostPort::parse(raw), Err(want), "{raw}");
        }
        for raw in ["-bad.example", "m..example", "[::1]5000", "[nope]:5000", "999.1.1.1"] {
            assert_eq!(HostPort::parse(raw), Err(Invalid), "{raw}");
        }
    }

    #[test]
    fn registry_keys_are_what_references_name() {
        use KeyError::*;
        for ok in ["docker.io", "quay.io", "localhost:5000", "[::1]:5000", "127.0.0.1:5001"] {
            assert_eq!(registry_key(ok), Ok(hp(ok)), "{ok}");
        }
        let cases = [
            ("index.docker.io", DockerHubAlias),
            ("registry-1.docker.io", DockerHubAlias),
            ("https://127.0.0.1:5001", RegistryUrl(hp("127.0.0.1:5001"))),
            ("https://index.docker.io/v1/", RegistryUrl(hp("docker.io"))),
            ("docker.io/library", RegistryPath(hp("docker.io"))),
            ("Quay.io", Spelling(hp("quay.io"))),
            ("quay.io:443", Spelling(hp("quay.io"))),
            ("::1", BareIpv6(hp("[::1]"))),
            ("not a host", NotAHost),
        ];
        for (raw, want) in cases {
            assert_eq!(registry_key(raw), Err(want), "{raw}");
        }
        let e = registry_key("https://127.0.0.1:5001").unwrap_err().to_string();
        assert!(e.ends_with("write the registry as in references: 127.0.0.1:5001"), "{e}");
        assert!(
            registry_key("index.docker.io").unwrap_err().to_string().ends_with("write docker.io")
        );
    }

    #[test]
    fn hosts_keys_take_any_case_but_no_url_or_path() {
        assert_eq!(hosts_key("HUB-A.example.com:443"), Ok(hp("hub-a.example.com")));
        assert_eq!(hosts_key("registry-1.docker.io"), Ok(hp("registry-1.docker.io")));
        let e = hosts_key("http://m.example:5000").unwrap_err();
        assert_eq!(e, KeyError::HostUrl { host: hp("m.example:5000"), plain_http: true });
        assert!(e.to_string().ends_with("write m.example:5000 with plain_http = true"), "{e}");
        let loopback = hosts_key("http://127.0.0.1:5000").unwrap_err().to_string();
        assert!(loopback.ends_with("write 127.0.0.1:5000"), "plain HTTP anyway: {loopback}");
        assert_eq!(hosts_key("m.example/v2"), Err(KeyError::HostPath(hp("m.example"))));
        assert_eq!(hosts_key("m.example:x"), Err(KeyError::NotAHost));
    }

    #[test]
    fn imported_registries_refuse_only_what_never_matches() {
        assert_eq!(imported_registry("Docker.io"), Ok(hp("docker.io")));
        assert_eq!(imported_registry("registry-1.docker.io"), Ok(hp("registry-1.docker.io")));
        assert_eq!(imported_registry("index.docker.io"), Err(KeyError::DockerHubAlias));
        assert_eq!(imported_registry("lost+found"), Err(KeyError::NotAHost));
    }

    #[test]
    fn loopback_detection() {
        for h in ["localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000", "[::1]"]
        {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1:5000", "[2001:db8::1]:5000", "localhost.example.com"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
