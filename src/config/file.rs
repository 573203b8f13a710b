//! `config.toml`, ocimirror's own file: its tables as written, and how they
//! join the configuration. Everything is checked here, once: unknown keys
//! (serde refuses them: a typo must not silently disable a mirror), keys
//! that no reference or source could ever match, malformed mirror URLs and
//! out-of-range timeouts are errors that say what to write instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::names::{HostPort, hosts_key, registry_key};
use super::{
    Config, CredentialSource, HostConfig, MirrorEntry, NsMode, RegistryRule, Unconfirmed,
    merge_rule, seconds, toml_file,
};
use crate::error::{Error, Result};
use crate::text::redacted_url;

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
    /// What to do with a mirror's tag answer the registry cannot confirm.
    pub unconfirmed: Option<Unconfirmed>,
}

/// Per-host settings as written (the `[hosts."mirror.example:5000"]`
/// tables); the README says what each means. `HostConfig` is what they
/// become once checked.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostTable {
    pub plain_http: Option<bool>,
    pub tls_verify: Option<bool>,
    pub insecure: Option<bool>,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub ns: Option<NsMode>,
    pub trusted: Option<bool>,
    pub digest_only: Option<bool>,
    pub credentials: Option<CredentialSource>,
    /// Seconds to wait for a connection.
    pub connect_timeout: Option<f64>,
    /// Seconds to wait for the response headers.
    pub response_timeout: Option<f64>,
    pub override_path: Option<bool>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
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
    pub split_threshold: Option<u64>,
    /// Requests per source; `retries` is its old name, with the same meaning.
    #[serde(alias = "retries")]
    pub tries: Option<u32>,
    pub jobs: Option<usize>,
    pub http2: Option<bool>,
}

/// How long host memory keeps each kind of fact (the `[memory]` table),
/// in seconds. Also what tests use for tiny TTLs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    pub unreachable_ttl: Option<f64>,
    pub credentials_ttl: Option<f64>,
    pub ns_ttl: Option<f64>,
    pub rate_limit_max: Option<f64>,
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
    pub hosts: BTreeMap<String, HostTable>,
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub memory: MemoryConfig,
}

impl FileConfig {
    pub fn parse(text: &str, path: &Path) -> Result<FileConfig> {
        // `deny_unknown_fields` everywhere: nothing is left to warn about.
        toml_file::parse(text, &mut |_| {})
            .map_err(|e| e.with_path(&path.display().to_string(), text))
    }
}

impl HostTable {
    /// These settings for `host`, their timeouts checked (`what for host`
    /// names a bad one, as `response_timeout for 127.0.0.1:1`).
    pub fn settings(self, host: &HostPort) -> Result<HostConfig> {
        let timeout = |what: &str, set: Option<f64>| {
            set.map(|v| seconds(&format!("{what} for {host}"), v)).transpose()
        };
        Ok(HostConfig {
            plain_http: self.plain_http,
            tls_verify: self.tls_verify,
            insecure: self.insecure,
            ca_file: self.ca_file,
            client_cert: self.client_cert,
            client_key: self.client_key,
            ns: self.ns,
            trusted: self.trusted,
            digest_only: self.digest_only,
            credentials: self.credentials,
            connect_timeout: timeout("connect_timeout", self.connect_timeout)?,
            response_timeout: timeout("response_timeout", self.response_timeout)?,
            override_path: self.override_path,
            headers: self.headers,
        })
    }
}

/// `e` with the file it came from in front.
fn in_file(file: &str, e: Error) -> Error {
    match e {
        Error::Config(m) => Error::Config(format!("{file}: {m}")),
        other => other,
    }
}

impl Config {
    /// Adds a `config.toml` to this configuration. Earlier files win for
    /// host settings; registry rules from this file replace none already set.
    pub fn add_file(&mut self, file: FileConfig, path: &Path) -> Result<()> {
        let at = path.display().to_string();
        // Hosts first: their `plain_http` decides the scheme of mirrors
        // written without one.
        for (key, table) in file.hosts {
            let host = hosts_key(&key).map_err(|e| {
                Error::Config(format!("{at} [hosts.\"{}\"]: {e}", redacted_url(&key)))
            })?;
            let settings = table.settings(&host).map_err(|e| in_file(&at, e))?;
            self.add_host(&host, settings);
        }
        let defaults = file_rule(file.defaults, format!("{at} [defaults]"))?;
        self.default_rule = merge_rule(std::mem::take(&mut self.default_rule), defaults);
        self.air_gapped = self.default_rule.fallback == Some(false);
        for (key, r) in file.registries {
            // config.toml is ours and refuses unknown keys: a key that can
            // never match is refused too, not left to do nothing.
            let registry = registry_key(&key).map_err(|e| {
                Error::Config(format!("{at} [registries.\"{}\"]: {e}", redacted_url(&key)))
            })?;
            let rule = file_rule(r, format!("{at} [registries.\"{registry}\"]"))?;
            let existing = self.registries.remove(registry.as_str()).unwrap_or_default();
            self.registries.insert(registry.to_string(), merge_rule(existing, rule));
        }
        self.add_file_network(file.network).map_err(|e| in_file(&at, e))?;
        self.add_file_memory(file.memory).map_err(|e| in_file(&at, e))?;
        self.files.push(path.to_path_buf());
        self.settle_schemes();
        Ok(())
    }

    fn add_file_memory(&mut self, m: MemoryConfig) -> Result<()> {
        let ttl = |what: &str, v: Option<f64>, default: std::time::Duration| match v {
            None => Ok(default),
            Some(v) if v.is_finite() && v > 0.0 && v <= 30.0 * 86_400.0 => {
                Ok(std::time::Duration::from_secs_f64(v))
            }
            Some(v) => Err(Error::Config(format!(
                "memory.{what} must be a number of seconds above 0 and at most 30 days, got {v}"
            ))),
        };
        let t = &mut self.memory;
        t.unreachable = ttl("unreachable_ttl", m.unreachable_ttl, t.unreachable)?;
        t.credentials = ttl("credentials_ttl", m.credentials_ttl, t.credentials)?;
        t.ns = ttl("ns_ttl", m.ns_ttl, t.ns)?;
        t.rate_limit_max = ttl("rate_limit_max", m.rate_limit_max, t.rate_limit_max)?;
        Ok(())
    }

    fn add_file_network(&mut self, n: NetworkConfig) -> Result<()> {
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
        if let Some(v) = n.split_threshold {
            d.split_threshold = v;
        }
        if let Some(v) = n.tries {
            d.retries = v.max(1);
        }
        if let Some(v) = n.jobs {
            d.jobs = v.clamp(1, 64);
        }
        if let Some(v) = n.http2 {
            d.http2 = v;
        }
        Ok(())
    }
}

/// A `[defaults]` or `[registries."..."]` table as a rule, its URLs checked.
fn file_rule(r: RegistryConfig, origin: String) -> Result<RegistryRule> {
    let mirrors = r
        .mirrors
        .iter()
        .map(|url| MirrorEntry::new(url, &origin).map_err(Error::from))
        .collect::<Result<Vec<_>>>()?;
    let mut rule = RegistryRule {
        mirrors,
        fallback: r.fallback,
        unconfirmed: r.unconfirmed,
        origin,
        ..RegistryRule::default()
    };
    if let Some(endpoint) = &r.endpoint {
        rule.set_endpoint(endpoint)?;
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config> {
        let mut c = Config::default();
        c.add_file(FileConfig::parse(text, Path::new("c.toml"))?, Path::new("c.toml"))?;
        Ok(c)
    }

    fn refused(text: &str) -> String {
        load(text).unwrap_err().to_string()
    }

    #[test]
    fn registry_keys_that_can_never_match_are_errors_naming_the_fix() {
        let cases = [
            ("index.docker.io", "c.toml [registries.\"index.docker.io\"]: ", "write docker.io"),
            ("registry-1.docker.io", "[registries.\"registry-1.docker.io\"]", "write docker.io"),
            (
                "https://127.0.0.1:5001",
                "[registries.\"https://127.0.0.1:5001\"]",
                "write the registry as in references: 127.0.0.1:5001",
            ),
            ("docker.io/library", "matched by host only", "write docker.io"),
            ("Quay.io", "[registries.\"Quay.io\"]", "write quay.io"),
            ("https://u:s3cret@m.example", "https://***@m.example", "references: m.example"),
        ];
        for (key, place, fix) in cases {
            let e = refused(&format!("[registries.\"{key}\"]\nmirrors = [\"https://m\"]\n"));
            assert!(e.contains(place) && e.ends_with(fix) && !e.contains("s3cret"), "{key}: {e}");
        }
        let c = load("[registries.\"[::1]:5000\"]\nfallback = false\n").unwrap();
        assert_eq!(c.rule_for("[::1]:5000").fallback, Some(false));
    }

    #[test]
    fn hosts_keys_are_hosts_not_urls() {
        let e = refused("[hosts.\"https://m.example:5000\"]\ntrusted = true\n");
        assert!(e.starts_with("c.toml [hosts.\"https://m.example:5000\"]: "), "{e}");
        assert!(e.ends_with("write m.example:5000"), "{e}");
        let e = refused("[hosts.\"m.example/v2\"]\ntrusted = true\n");
        assert!(e.ends_with("write m.example"), "{e}");
        let e = refused("[hosts.\"m.example:port\"]\ntrusted = true\n");
        assert!(e.ends_with("not a valid host[:port]"), "{e}");
        // Any case, and :443, name the same host.
        let c = load("[hosts.\"M.Example:443\"]\ntrusted = true\n").unwrap();
        assert_eq!(c.host("m.example").trusted, Some(true));
    }

    #[test]
    fn malformed_mirror_urls_are_errors_at_load() {
        let e = refused("[registries.\"docker.io\"]\nmirrors = [\"http//host:5000\"]\n");
        assert_eq!(
            e,
            "mirror \"http//host:5000\" in c.toml [registries.\"docker.io\"]: looks like a scheme \
             without its colon; write http://host:5000"
        );
        let e = refused("[defaults]\nmirrors = [\"https://u:s3cret@m.example\"]\n");
        assert!(e.contains("\"https://***@m.example\" in c.toml [defaults]: credentials"), "{e}");
        let e = refused("[registries.\"quay.io\"]\nendpoint = \"ftp://copy.example\"\n");
        assert!(e.starts_with("endpoint \"ftp://copy.example\" in c.toml"), "{e}");
    }

    #[test]
    fn timeouts_are_checked_at_load_and_name_the_host() {
        let e = refused("[hosts.\"127.0.0.1:1\"]\nresponse_timeout = -1\n");
        assert!(e.starts_with("c.toml: response_timeout for 127.0.0.1:1 must be"), "{e}");
        let e = refused("[network]\nstall_timeout = 1e300\n");
        assert!(e.starts_with("c.toml: network.stall_timeout must be"), "{e}");
        let c = load("[hosts.\"m\"]\nconnect_timeout = 1.5\n").unwrap();
        assert_eq!(c.host("m").connect_timeout, Some(std::time::Duration::from_millis(1500)));
    }

    #[test]
    fn memory_ttls_are_read_and_checked() {
        let c = load("[memory]\nunreachable_ttl = 0.5\nns_ttl = 86400\n").unwrap();
        assert_eq!(c.memory.unreachable, std::time::Duration::from_millis(500));
        assert_eq!(c.memory.ns, std::time::Duration::from_secs(86_400));
        assert_eq!(c.memory.credentials, crate::memory::Ttls::default().credentials);
        let e = refused("[memory]\nns_ttl = 0\n");
        assert!(e.starts_with("c.toml: memory.ns_ttl must be"), "{e}");
        assert!(refused("[memory]\ndown = 1\n").contains("unknown field `down`"));
    }

    #[test]
    fn a_later_plain_http_decides_a_schemeless_mirror() {
        let mut c =
            load("[defaults]\nmirrors = [\"m.example:5000\", \"127.0.0.1:5000\"]\n").unwrap();
        let base = |c: &Config, i: usize| c.default_rule.mirrors[i].base.url().to_string();
        assert_eq!(base(&c, 0), "https://m.example:5000/");
        assert_eq!(base(&c, 1), "http://127.0.0.1:5000/", "loopback: plain HTTP");
        let host = HostPort::parse("m.example:5000").unwrap();
        c.add_host(&host, HostConfig { plain_http: Some(true), ..HostConfig::default() });
        c.settle_schemes();
        assert_eq!(base(&c, 0), "http://m.example:5000/");
    }
}
