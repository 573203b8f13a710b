//! User configuration: which mirrors serve which registries, and how to talk
//! to each host. Sources, in order of precedence: command-line flags, the
//! environment, `config.toml`, then imported containerd `hosts.toml`
//! directories and podman `registries.conf` files (`Config::load`).
//!
//! Everything is checked once, while it is read: hosts are `HostPort`s,
//! mirror and endpoint URLs `SourceUrl`s, timeouts `Duration`s. What is
//! downstream (the plan, the sessions) never parses a setting again.
//!
//! The file format is documented in the README ("Configuration").

pub mod containerd;
mod file;
mod load;
mod names;
pub mod registries_conf;
mod source_url;
mod toml_file;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::text::without_values;
pub use file::{FileConfig, HostTable, MemoryConfig, NetworkConfig, RegistryConfig};
pub use load::Overrides;
pub use names::{
    HostPort, HostPortError, KeyError, hosts_key, imported_registry, is_loopback, registry_key,
};
pub use source_url::{RefusedUrl, SourceUrl, UrlError};
pub use toml_file::toml_error;

use crate::error::{Error, Result};

/// Whether to send the `ns` query parameter to a mirror.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NsMode {
    /// Send it; if the mirror answers 404 or 400, ask once more without it.
    #[default]
    Auto,
    /// Always send it, never retry without.
    On,
    /// Never send it.
    Off,
}

/// Where a host's credentials come from.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialSource {
    /// The docker/podman credential entry for the host itself.
    #[default]
    Own,
    /// The entry for the reference's authority (only when the user says so:
    /// upstream credentials must not reach a mirror by default).
    Authority,
    /// Never send credentials.
    None,
}

/// Per-host settings, checked (`HostTable` is config.toml's form of them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostConfig {
    /// Use HTTP instead of HTTPS (default: only for loopback hosts).
    pub plain_http: Option<bool>,
    /// Verify TLS certificates (default true).
    pub tls_verify: Option<bool>,
    /// Like docker's and podman's insecure registries: certificates are not
    /// verified, and when HTTPS cannot connect at all the host is asked
    /// over plain HTTP instead.
    pub insecure: Option<bool>,
    /// A PEM file of extra CA certificates to trust for this host.
    pub ca_file: Option<PathBuf>,
    /// A PEM client certificate for mutual TLS, with its private key
    /// unless `client_key` names another file.
    pub client_cert: Option<PathBuf>,
    /// The PEM private key for `client_cert`, when it is a file of its own.
    pub client_key: Option<PathBuf>,
    pub ns: Option<NsMode>,
    /// Trust this mirror's answers for tags without confirming them with
    /// the authority.
    pub trusted: Option<bool>,
    /// Ask this mirror only for content by digest, never for tags.
    pub digest_only: Option<bool>,
    pub credentials: Option<CredentialSource>,
    /// How long to wait for a connection.
    pub connect_timeout: Option<Duration>,
    /// How long to wait for the response headers.
    pub response_timeout: Option<Duration>,
    /// The mirror URL's path replaces `/v2` (containerd's `override_path`).
    pub override_path: Option<bool>,
    /// Extra headers sent with every request to this host.
    pub headers: BTreeMap<String, String>,
}

impl HostConfig {
    /// Are this host's TLS certificates verified?
    pub fn verifies_tls(&self) -> bool {
        self.tls_verify != Some(false) && self.insecure != Some(true)
    }

    /// Fill the fields this one leaves unset from `other`.
    pub fn or(mut self, other: &HostConfig) -> HostConfig {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f.clone(); } )* };
        }
        fill!(
            plain_http,
            tls_verify,
            insecure,
            ca_file,
            client_cert,
            client_key,
            ns,
            trusted,
            digest_only,
            credentials,
            connect_timeout,
            response_timeout,
            override_path
        );
        for (k, v) in &other.headers {
            self.headers.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }
}

/// One mirror, with where it was configured (shown by `ocimirror mirrors`).
#[derive(Clone, Debug, PartialEq)]
pub struct MirrorEntry {
    /// As configured.
    pub url: String,
    pub origin: String,
    /// `url`, checked, with its scheme decided: what sources are built from.
    pub base: SourceUrl,
}

impl MirrorEntry {
    /// A mirror configured at `origin`, refused with the reason when its URL
    /// is malformed. Without a scheme it is plain HTTP for loopback hosts
    /// until the host's own settings say otherwise (`Config::settle_schemes`).
    pub fn new(url: &str, origin: &str) -> Result<MirrorEntry, RefusedUrl> {
        let base = checked_source("mirror", url, origin)?;
        Ok(MirrorEntry { url: url.trim().to_string(), origin: origin.to_string(), base })
    }
}

fn checked_source(what: &'static str, raw: &str, origin: &str) -> Result<SourceUrl, RefusedUrl> {
    let mut base = SourceUrl::parse(raw).map_err(|why| RefusedUrl::new(what, raw, origin, why))?;
    base.decide_scheme(base.host().is_loopback());
    Ok(base)
}

/// What to do with a mirror's answer for a tag that the registry cannot
/// confirm (it is unreachable, or fallback to it is off).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unconfirmed {
    /// Use it, with a warning that `-q` does not hide.
    #[default]
    Warn,
    /// Fail: only confirmed tags (or digests) are pulled.
    Fail,
}

/// What applies to one authority: its mirrors, in order, and its settings.
#[derive(Clone, Debug, Default)]
pub struct RegistryRule {
    pub mirrors: Vec<MirrorEntry>,
    pub fallback: Option<bool>,
    pub unconfirmed: Option<Unconfirmed>,
    /// As configured (shown by `ocimirror mirrors`).
    pub endpoint: Option<String>,
    /// `endpoint`, checked; both are set by `set_endpoint`.
    pub endpoint_base: Option<SourceUrl>,
    pub origin: String,
}

/// A download slower than this (bytes a second, averaged over the stall
/// timeout) is cut: 32 KiB/s, 256 kbit/s. A server that drips a byte every
/// few seconds no longer keeps a pull alive for ever.
pub const DEFAULT_SPEED_LIMIT: u64 = 32 << 10;

impl RegistryRule {
    /// Talk to `url` instead of the registry's own host; refused with the
    /// reason (naming this rule's origin) when malformed.
    pub fn set_endpoint(&mut self, url: &str) -> Result<(), RefusedUrl> {
        self.endpoint_base = Some(checked_source("endpoint", url, &self.origin)?);
        self.endpoint = Some(url.trim().to_string());
        Ok(())
    }
}

/// Blobs from 32 MiB up may be split into ranges: below that, one
/// connection takes little time even on a capped link, and a split costs
/// a round trip.
pub const DEFAULT_SPLIT_THRESHOLD: u64 = 32 << 20;

/// Timeouts, retries and concurrency.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// The window of the blob speed rule: a download that receives less
    /// than `speed_limit` bytes a second over this long is cut.
    pub stall_timeout: Duration,
    /// Bytes a second a blob download must average over `stall_timeout`.
    pub speed_limit: u64,
    /// How long a small body (manifest, token, error) may take in all,
    /// once its headers arrived.
    pub body_timeout: Duration,
    /// Blobs at least this large may be fetched in ranges, on several
    /// connections, when one connection would take long.
    pub split_threshold: u64,
    /// Attempts per source for retryable failures (5xx, 408, 429, resets).
    pub retries: u32,
    pub jobs: usize,
    /// HTTP/2 where a TLS server offers it, for manifests and small blobs
    /// (see `registry::Wire`); off, everything is HTTP/1.1.
    pub http2: bool,
}

impl Default for Network {
    fn default() -> Network {
        Network {
            connect_timeout: Duration::from_secs(3),
            response_timeout: Duration::from_secs(5),
            stall_timeout: Duration::from_secs(30),
            speed_limit: DEFAULT_SPEED_LIMIT,
            body_timeout: Duration::from_secs(20),
            split_threshold: DEFAULT_SPLIT_THRESHOLD,
            retries: 3,
            jobs: 8,
            http2: true,
        }
    }
}

/// The merged configuration every command works from.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// config.toml's `[defaults] fallback = false`: the user's air gap,
    /// which rules the importers add inherit (they run after config.toml).
    pub air_gapped: bool,
    /// Mirrors given on the command line or in `OCIMIRROR_MIRRORS`: tried
    /// first, for every registry.
    pub cli_mirrors: Vec<MirrorEntry>,
    /// `[defaults]`: for registries without rules of their own.
    pub default_rule: RegistryRule,
    /// Rules per authority, keyed by its `HostPort` (`docker.io`,
    /// `quay.io`, `localhost:5000`): only `add_rule` and `add_file` insert.
    pub registries: BTreeMap<String, RegistryRule>,
    /// Settings per host (`host` or `host:port`).
    pub hosts: BTreeMap<HostPort, HostConfig>,
    pub no_mirrors: bool,
    pub no_fallback: bool,
    /// `--require-confirmed`: an unconfirmed tag answer fails the pull.
    pub require_confirmed: bool,
    pub network: Network,
    /// How long host memory keeps what a run learns (`[memory]`).
    pub memory: crate::memory::Ttls,
    /// `--creds` and `--authfile`.
    pub credentials: crate::credentials::CredentialOptions,
    /// Files that contributed, for `ocimirror mirrors`.
    pub files: Vec<PathBuf>,
    /// Settings that could not be honoured or are never used, each naming
    /// its file and key: shown by `ocimirror mirrors` and logged.
    pub warnings: Vec<String>,
}

/// Where the user's config file is by default: `$XDG_CONFIG_HOME/ocimirror/config.toml`
/// (`~/.config/ocimirror/config.toml`) on Linux.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "ocimirror").map(|d| d.config_dir().join("config.toml"))
}

/// Reads a file, or `None` when it does not exist and `required` is false.
pub fn read_optional(path: &Path, required: bool) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(e) => Err(Error::Config(format!("cannot read {}: {e}", path.display()))),
    }
}

/// A timeout as configured (seconds, from a file or a flag named `what`),
/// checked: `Duration::from_secs_f64` panics on negative or huge values.
pub fn seconds(what: &str, v: f64) -> Result<Duration> {
    if v.is_finite() && v > 0.0 && v < 86_400.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(Error::Config(format!(
            "{what} must be a number of seconds above 0 and below a day, got {v}"
        )))
    }
}

impl Config {
    /// Settings for a host; the first source that sets a field wins.
    pub fn add_host(&mut self, host: &HostPort, h: HostConfig) {
        let merged = match self.hosts.remove(host) {
            Some(existing) => existing.or(&h),
            None => h,
        };
        self.hosts.insert(host.clone(), merged);
    }

    /// Registry rules from an importer (containerd, podman): they only fill
    /// what `config.toml` did not say.
    pub fn add_rule(&mut self, registry: Option<&HostPort>, rule: RegistryRule) {
        let existing = match registry {
            None => Some(&self.default_rule),
            Some(name) => self.registries.get(name.as_str()),
        };
        if let Some(e) = existing
            && !e.mirrors.is_empty()
            && !rule.mirrors.is_empty()
        {
            self.warnings.push(format!(
                "{}: its mirrors for {} are not used: {} lists mirrors for it first",
                rule.origin,
                registry.map_or("[defaults]", HostPort::as_str),
                e.origin
            ));
        }
        match registry {
            None => {
                self.default_rule = merge_rule(std::mem::take(&mut self.default_rule), rule);
            }
            Some(name) => {
                let existing = self.registries.remove(name.as_str()).unwrap_or_default();
                self.registries.insert(name.to_string(), merge_rule(existing, rule));
            }
        }
    }

    /// The registry's own rule when it has one (even without mirrors: a
    /// rule of its own replaces `[defaults]`, as a containerd certs.d
    /// directory replaces `_default`), else `[defaults]`. `Quay.io` and
    /// `quay.io:443` in a reference find `quay.io`'s rule.
    pub fn rule_for(&self, registry: &str) -> &RegistryRule {
        HostPort::parse(registry)
            .ok()
            .and_then(|key| self.registries.get(key.as_str()))
            .unwrap_or(&self.default_rule)
    }

    /// Whether a registry under `rule` may be asked itself after its
    /// mirrors: yes unless the rule, `[defaults]` (for a rule that does not
    /// say: an air-gapped `fallback = false` must hold for every registry)
    /// or `--no-fallback` says no.
    pub fn fallback(&self, rule: &RegistryRule) -> bool {
        !self.no_fallback && rule.fallback.or(self.default_rule.fallback).unwrap_or(true)
    }

    /// Whether an unconfirmed tag answer fails a pull under `rule`:
    /// `--require-confirmed`, else the rule's `unconfirmed`, else
    /// `[defaults]`'s.
    pub fn unconfirmed_fails(&self, rule: &RegistryRule) -> bool {
        self.require_confirmed
            || rule.unconfirmed.or(self.default_rule.unconfirmed) == Some(Unconfirmed::Fail)
    }

    /// Whether `host` (`host[:port]`) is spoken to in plain HTTP when no
    /// scheme says otherwise: as configured, else only loopback hosts.
    pub fn plain_http(&self, host: &str) -> bool {
        self.host(host).plain_http.unwrap_or_else(|| is_loopback(host))
    }

    /// The network settings for talking to a host with these settings: the
    /// run's, with the host's own timeouts where it sets them. (Timeouts
    /// were checked at load, so this cannot fail any more; the signature
    /// stays for its callers.)
    pub fn network_for(&self, _host: &str, settings: &HostConfig) -> Result<Network, Error> {
        Ok(Network {
            connect_timeout: settings.connect_timeout.unwrap_or(self.network.connect_timeout),
            response_timeout: settings.response_timeout.unwrap_or(self.network.response_timeout),
            ..self.network.clone()
        })
    }

    /// Host settings for `host[:port]` (any case; `:443` is no port): an
    /// entry for the exact host and port wins over one for the bare host.
    /// Text that is no host has no settings.
    pub fn host(&self, host: &str) -> HostConfig {
        let Ok(key) = HostPort::parse(host) else { return HostConfig::default() };
        let exact = self.hosts.get(&key).cloned().unwrap_or_default();
        match key.without_port().and_then(|bare| self.hosts.get(&bare)) {
            Some(bare) => exact.or(bare),
            None => exact,
        }
    }

    /// Decides the scheme of every mirror and endpoint written without one,
    /// from the host settings known now: a later file may set `plain_http`
    /// for a host an earlier one lists, so this runs after each file.
    fn settle_schemes(&mut self) {
        let mut default_rule = std::mem::take(&mut self.default_rule);
        let mut registries = std::mem::take(&mut self.registries);
        let mut cli_mirrors = std::mem::take(&mut self.cli_mirrors);
        let rules = registries.values_mut().chain(std::iter::once(&mut default_rule));
        let urls = rules
            .flat_map(|r| r.mirrors.iter_mut().map(|m| &mut m.base).chain(r.endpoint_base.as_mut()))
            .chain(cli_mirrors.iter_mut().map(|m| &mut m.base));
        for url in urls {
            url.decide_scheme(self.plain_http(url.host().as_str()));
        }
        self.default_rule = default_rule;
        self.registries = registries;
        self.cli_mirrors = cli_mirrors;
    }
}

/// An existing rule keeps its mirrors and settings; the new one fills gaps
/// and appends nothing when the existing one already lists mirrors.
fn merge_rule(existing: RegistryRule, new: RegistryRule) -> RegistryRule {
    let has_mirrors = !existing.mirrors.is_empty();
    let (endpoint, endpoint_base) = match existing.endpoint {
        Some(_) => (existing.endpoint, existing.endpoint_base),
        None => (new.endpoint, new.endpoint_base),
    };
    RegistryRule {
        mirrors: if has_mirrors { existing.mirrors } else { new.mirrors },
        // A fallback goes with the mirrors it was set for: `_default`'s
        // "no fallback" after its server means nothing for other mirrors.
        fallback: if has_mirrors { existing.fallback } else { existing.fallback.or(new.fallback) },
        unconfirmed: existing.unconfirmed.or(new.unconfirmed),
        endpoint,
        endpoint_base,
        origin: if existing.origin.is_empty() { new.origin } else { existing.origin },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_say_where_but_quote_no_values() {
        let secret = "Bearer s3cr3t-TOKEN";
        for text in [
            format!("[hosts.\"r.example\"]\nheader = {{ Authorization = \"{secret}\" }}\n"),
            format!("[hosts.\"r.example\"]\ntls_verify = \"{secret}\"\n"),
            format!("[hosts.\"r.example\"]\nheaders = {{ Authorization = \"{secret}\n"),
        ] {
            let e = FileConfig::parse(&text, Path::new("c.toml")).unwrap_err().to_string();
            assert!(!e.contains("s3cr3t"), "{e}");
            assert!(e.starts_with("c.toml, line 2, column "), "{e}");
        }
        let e = FileConfig::parse("[hosts.\"r\"]\nheader = 1\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `header`"), "key names stay: {e}");
        assert_eq!(
            without_values("invalid type: integer `918273645`, expected a string at line 3"),
            "invalid type: integer, expected a string at line 3"
        );
        assert_eq!(
            without_values(r#"invalid type: string "pa\"ss s3cr3t", expected struct AuthEntry"#),
            "invalid type: string, expected struct AuthEntry"
        );
        assert_eq!(
            without_values("unknown variant `s3cr3t`, expected one of `own`, `none`"),
            "unknown variant, expected one of `own`, `none`"
        );
        assert_eq!(
            without_values("invalid type: map, expected a string"),
            "invalid type: map, expected a string"
        );
        for text in [
            "[hosts.\"r\"]\ncredentials = \"s3cr3t-password\"\n",
            "[hosts.\"r\"]\nns = \"s3cr3t\"\n",
        ] {
            let e = FileConfig::parse(text, Path::new("c.toml")).unwrap_err().to_string();
            assert!(!e.contains("s3cr3t") && e.contains("expected one of"), "{e}");
        }
        let e = FileConfig::parse(
            "[hosts.\"r\"]\nheaders = 'Bearer \"x\" s3cr3t-tail'\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
    }

    const EXAMPLE: &str = r#"
        [defaults]
        mirrors = ["https://mirror.example.com"]

        [registries."docker.io"]
        mirrors = ["https://hub-a.example.com", "http://127.0.0.1:5000"]
        fallback = false

        [hosts."hub-a.example.com"]
        ns = "off"
        trusted = true
        ca_file = "/etc/ca.pem"

        [hosts."hub-a.example.com:8443"]
        tls_verify = false

        [network]
        response_timeout = 2.5
        jobs = 4
    "#;

    fn example() -> Config {
        let mut c = Config::default();
        let f = FileConfig::parse(EXAMPLE, Path::new("c.toml")).unwrap();
        c.add_file(f, Path::new("c.toml")).unwrap();
        c
    }

    #[test]
    fn registry_rules_replace_defaults() {
        let c = example();
        let hub = c.rule_for("docker.io");
        assert_eq!(hub.mirrors.len(), 2);
        assert_eq!(hub.fallback, Some(false));
        assert!(hub.mirrors[0].origin.contains("[registries.\"docker.io\"]"));
        let quay = c.rule_for("quay.io");
        assert_eq!(quay.mirrors[0].url, "https://mirror.example.com");
        assert_eq!(c.network.jobs, 4);
        assert_eq!(c.network.response_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn host_settings_fall_back_to_the_bare_host() {
        let c = example();
        let h = c.host("HUB-A.example.com:8443");
        assert_eq!(h.tls_verify, Some(false));
        assert_eq!(h.ns, Some(NsMode::Off));
        assert_eq!(h.trusted, Some(true));
        assert_eq!(c.host("other").ns, None);
    }

    #[test]
    fn typos_are_errors_that_name_the_file() {
        let err = FileConfig::parse("[hosts.x]\nns_mode = \"on\"\n", Path::new("/x/c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/x/c.toml") && err.contains("ns_mode"), "{err}");
        let bad = FileConfig::parse("[network]\nresponse_timeout = -1\n", Path::new("c")).unwrap();
        assert!(Config::default().add_file(bad, Path::new("c")).is_err());
    }

    #[test]
    fn references_find_their_rule_in_any_spelling() {
        let c = example();
        assert_eq!(c.rule_for("Docker.IO").fallback, Some(false));
        assert_eq!(c.rule_for("docker.io:443").fallback, Some(false));
        assert_eq!(c.rule_for("quay.io").fallback, None, "[defaults]");
        assert!(c.host("not a host").trusted.is_none());
    }
}
