//! User configuration: which mirrors serve which registries, and how to talk
//! to each host. Sources, in order of precedence: command-line flags, the
//! environment, `config.toml`, then imported containerd `hosts.toml`
//! directories and podman `registries.conf` files.
//!
//! The file format is documented in the README ("Configuration").

pub mod containerd;
pub mod registries_conf;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

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

/// Per-registry settings (the `[registries."docker.io"]` and `[defaults]`
/// tables).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Mirror URLs, tried in order before the registry itself.
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// Whether to go to the registry itself when no mirror served a reference.
    pub fallback: Option<bool>,
    /// Talk to this URL instead of the registry's own host (e.g. an internal
    /// copy of docker.io's content).
    pub endpoint: Option<String>,
}

/// Per-host settings (the `[hosts."mirror.example:5000"]` tables).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
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
    /// Seconds to wait for a connection.
    pub connect_timeout: Option<f64>,
    /// Seconds to wait for the response headers.
    pub response_timeout: Option<f64>,
    /// The mirror URL's path replaces `/v2` (containerd's `override_path`).
    pub override_path: Option<bool>,
    /// Extra headers sent with every request to this host.
    #[serde(default)]
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

/// Network-wide settings (the `[network]` table).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    pub connect_timeout: Option<f64>,
    pub response_timeout: Option<f64>,
    pub stall_timeout: Option<f64>,
    pub body_timeout: Option<f64>,
    pub speed_limit: Option<u64>,
    pub retries: Option<u32>,
    pub jobs: Option<usize>,
}

/// The `config.toml` file as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub defaults: RegistryConfig,
    #[serde(default)]
    pub registries: BTreeMap<String, RegistryConfig>,
    #[serde(default)]
    pub hosts: BTreeMap<String, HostConfig>,
    #[serde(default)]
    pub network: NetworkConfig,
}

impl FileConfig {
    pub fn parse(text: &str, path: &Path) -> Result<FileConfig> {
        toml::from_str(text).map_err(|e| toml_error(&path.display().to_string(), text, &e))
    }
}

/// A TOML error as a config error: where (line and column) and what, but
/// not the offending line, which toml quotes and which may hold a secret (a
/// header value, a token); values quoted in the message are left out too.
pub fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> Error {
    let at = e
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| {
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(", line {line}, column {column}")
        })
        .unwrap_or_default();
    Error::Config(format!("{file}{at}: {}", without_values(e.message().trim())))
}

/// A parser's message without the value it quotes (`invalid type: string
/// "s3cret", expected a boolean` -> `invalid type: string, expected a
/// boolean`): it comes from a file that may hold secrets. serde puts the
/// value after one of a few phrases and before ", expected ..."; the value
/// may itself hold quotes, so everything from its opening quote to the
/// last ", expected" goes (or to the end, without one). Key names and the
/// expected values (the schema's own words) stay.
pub fn without_values(message: &str) -> String {
    const BEFORE_A_VALUE: [&str; 3] = ["invalid type: ", "invalid value: ", "unknown variant "];
    let Some((at, phrase)) = BEFORE_A_VALUE
        .iter()
        .filter_map(|p| message.find(p).map(|i| (i, *p)))
        .min_by_key(|&(i, _)| i)
    else {
        return message.to_string();
    };
    let after = &message[at + phrase.len()..];
    let tail_at = after.rfind(", expected");
    let head = &after[..tail_at.unwrap_or(after.len())];
    // The value starts at its first quote; before it, its kind ("string").
    let Some(quote) = head.find(['"', '`']) else {
        return message.to_string();
    };
    let kind = head[..quote].trim_end();
    let mut out = format!("{}{}", &message[..at], phrase.trim_end());
    if !kind.is_empty() {
        out.push(' ');
        out.push_str(kind);
    }
    if let Some(t) = tail_at {
        out.push_str(&after[t..]);
    }
    out
}

/// One mirror, with where it was configured (shown by `ocimirror mirrors`).
#[derive(Clone, Debug, PartialEq)]
pub struct MirrorEntry {
    pub url: String,
    pub origin: String,
}

/// What applies to one authority: its mirrors, in order, and its settings.
#[derive(Clone, Debug, Default)]
pub struct RegistryRule {
    pub mirrors: Vec<MirrorEntry>,
    pub fallback: Option<bool>,
    pub endpoint: Option<String>,
    pub origin: String,
}

/// A download slower than this (bytes a second, averaged over the stall
/// timeout) is cut: 32 KiB/s, 256 kbit/s. A server that drips a byte every
/// few seconds no longer keeps a pull alive for ever.
pub const DEFAULT_SPEED_LIMIT: u64 = 32 << 10;

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
    /// Attempts per source for retryable failures (5xx, 408, 429, resets).
    pub retries: u32,
    pub jobs: usize,
}

impl Default for Network {
    fn default() -> Network {
        Network {
            connect_timeout: Duration::from_secs(3),
            response_timeout: Duration::from_secs(5),
            stall_timeout: Duration::from_secs(30),
            speed_limit: DEFAULT_SPEED_LIMIT,
            body_timeout: Duration::from_secs(20),
            retries: 3,
            jobs: 8,
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
    /// Rules per authority (`docker.io`, `quay.io`, `localhost:5000`).
    pub registries: BTreeMap<String, RegistryRule>,
    /// Settings per host (`host` or `host:port`).
    pub hosts: BTreeMap<String, HostConfig>,
    pub no_mirrors: bool,
    pub no_fallback: bool,
    pub network: Network,
    /// Files that contributed, for `ocimirror mirrors`.
    pub files: Vec<PathBuf>,
    /// Settings an importer met but could not honour, shown to the user.
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
    /// Adds a `config.toml` to this configuration. Earlier files win for
    /// host settings; registry rules from this file replace none already set.
    pub fn add_file(&mut self, file: FileConfig, path: &Path) -> Result<()> {
        let origin = |table: &str| format!("{} {}", path.display(), table);
        let rule = |r: RegistryConfig, origin: String| RegistryRule {
            mirrors: r
                .mirrors
                .into_iter()
                .map(|url| MirrorEntry { url, origin: origin.clone() })
                .collect(),
            fallback: r.fallback,
            endpoint: r.endpoint,
            origin,
        };
        self.default_rule = merge_rule(
            std::mem::take(&mut self.default_rule),
            rule(file.defaults, origin("[defaults]")),
        );
        self.air_gapped = self.default_rule.fallback == Some(false);
        for (name, r) in file.registries {
            let o = origin(&format!("[registries.\"{name}\"]"));
            let existing = self.registries.remove(&name).unwrap_or_default();
            self.registries.insert(name, merge_rule(existing, rule(r, o)));
        }
        for (host, h) in file.hosts {
            self.add_host(&host, h);
        }
        let n = file.network;
        let d = &mut self.network;
        if let Some(v) = n.connect_timeout {
            d.connect_timeout = seconds("network.connect_timeout", v)?;
        }
        if let Some(v) = n.response_timeout {
            d.response_timeout = seconds("network.response_timeout", v)?;
        }
        if let Some(v) = n.stall_timeout {
            d.stall_timeout = seconds("network.stall_timeout", v)?;
        }
        if let Some(v) = n.body_timeout {
            d.body_timeout = seconds("network.body_timeout", v)?;
        }
        if let Some(v) = n.speed_limit {
            d.speed_limit = v;
        }
        if let Some(v) = n.retries {
            d.retries = v.max(1);
        }
        if let Some(v) = n.jobs {
            d.jobs = v.clamp(1, 64);
        }
        self.files.push(path.to_path_buf());
        Ok(())
    }

    /// Settings for a host; the first source that sets a field wins.
    pub fn add_host(&mut self, host: &str, h: HostConfig) {
        let key = host_key(host);
        let merged = match self.hosts.remove(&key) {
            Some(existing) => existing.or(&h),
            None => h,
        };
        self.hosts.insert(key, merged);
    }

    /// Registry rules from an importer (containerd, podman): they only fill
    /// what `config.toml` did not say.
    pub fn add_rule(&mut self, registry: Option<&str>, rule: RegistryRule) {
        let existing = match registry {
            None => Some(&self.default_rule),
            Some(name) => self.registries.get(name),
        };
        if let Some(e) = existing
            && !e.mirrors.is_empty()
            && !rule.mirrors.is_empty()
        {
            self.warnings.push(format!(
                "{}: its mirrors for {} are not used: {} lists mirrors for it first",
                rule.origin,
                registry.unwrap_or("[defaults]"),
                e.origin
            ));
        }
        match registry {
            None => {
                self.default_rule = merge_rule(std::mem::take(&mut self.default_rule), rule);
            }
            Some(name) => {
                let existing = self.registries.remove(name).unwrap_or_default();
                self.registries.insert(name.to_string(), merge_rule(existing, rule));
            }
        }
    }

    /// The rule for an authority: its own, else the defaults.
    /// The registry's own rule when it has one (even without mirrors: a
    /// rule of its own replaces `[defaults]`, as a containerd certs.d
    /// directory replaces `_default`), else `[defaults]`.
    pub fn rule_for(&self, registry: &str) -> &RegistryRule {
        self.registries.get(registry).unwrap_or(&self.default_rule)
    }

    /// Whether a registry under `rule` may be asked itself after its
    /// mirrors: yes unless the rule, `[defaults]` (for a rule that does not
    /// say: an air-gapped `fallback = false` must hold for every registry)
    /// or `--no-fallback` says no.
    pub fn fallback(&self, rule: &RegistryRule) -> bool {
        !self.no_fallback && rule.fallback.or(self.default_rule.fallback).unwrap_or(true)
    }

    /// Host settings for `host[:port]`: an entry for the exact host and
    /// port wins over one for the bare host.
    /// Whether `host` (`host[:port]`) is spoken to in plain HTTP when no
    /// scheme says otherwise: as configured, else only loopback hosts.
    pub fn plain_http(&self, host: &str) -> bool {
        self.host(host).plain_http.unwrap_or_else(|| is_loopback(host))
    }

    /// The network settings for talking to `host`: the run's, with the
    /// host's own timeouts where it sets them.
    pub fn network_for(&self, host: &str, settings: &HostConfig) -> Result<Network, Error> {
        let timeout = |what: &str, set: Option<f64>, default: Duration| match set {
            Some(v) => seconds(&format!("{what} for {host}"), v),
            None => Ok(default),
        };
        Ok(Network {
            connect_timeout: timeout(
                "connect_timeout",
                settings.connect_timeout,
                self.network.connect_timeout,
            )?,
            response_timeout: timeout(
                "response_timeout",
                settings.response_timeout,
                self.network.response_timeout,
            )?,
            ..self.network.clone()
        })
    }

    pub fn host(&self, host: &str) -> HostConfig {
        let key = host_key(host);
        let exact = self.hosts.get(&key).cloned().unwrap_or_default();
        match key.rsplit_once(':').filter(|(h, _)| !h.ends_with(']') || key.starts_with('[')) {
            Some((bare, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                exact.or(self.hosts.get(bare).unwrap_or(&HostConfig::default()))
            }
            _ => exact,
        }
    }
}

/// An existing rule keeps its mirrors and settings; the new one fills gaps
/// and appends nothing when the existing one already lists mirrors.
fn merge_rule(existing: RegistryRule, new: RegistryRule) -> RegistryRule {
    let has_mirrors = !existing.mirrors.is_empty();
    RegistryRule {
        mirrors: if has_mirrors { existing.mirrors } else { new.mirrors },
        // A fallback goes with the mirrors it was set for: `_default`'s
        // "no fallback" after its server means nothing for other mirrors.
        fallback: if has_mirrors { existing.fallback } else { existing.fallback.or(new.fallback) },
        endpoint: existing.endpoint.or(new.endpoint),
        origin: if existing.origin.is_empty() { new.origin } else { existing.origin },
    }
}

/// Hosts are matched case-insensitively; `docker.io` settings also apply to
/// the host that serves it.
pub fn host_key(host: &str) -> String {
    host.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// A `host[:port]` as the url crate writes it for HTTPS, which is how
/// sources' settings are looked up: no `:443`, IPv6 in canonical form.
pub fn canonical_host(host: &str) -> String {
    let key = host_key(host);
    match url::Url::parse(&format!("https://{key}")) {
        Ok(u) if u.path() == "/" && u.host().is_some() => crate::registry::host_of(&u),
        _ => key,
    }
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
pub fn strip_port(host: &str) -> &str {
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

    use super::*;

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
