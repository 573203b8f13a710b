//! Import of containerd's registry host directories (`--hosts-dir`, the
//! `certs.d` layout): `<dir>/<namespace>/hosts.toml`, where `<namespace>` is
//! a registry host (`docker.io`, `localhost:5000`, or containerd's escaped
//! form `localhost_5000_`) or `_default`, which applies to every registry.
//!
//! containerd keeps one ordered list of hosts per registry: the
//! `[host."<url>"]` tables in file order, then `server` (the registry itself
//! when unset). Ours is a rule per registry (mirrors, endpoint) plus settings
//! per host, so each `[host]` table becomes a mirror and a `[hosts]` entry,
//! and `server` becomes the rule's endpoint when it is not the registry's own
//! address. What we cannot honour becomes a warning, never a silent change.

use std::collections::BTreeSet;
use std::path::Path;

use toml::{Table, Value};

use super::{Config, HostConfig, MirrorEntry, RegistryRule, host_key, is_loopback};
use crate::error::{Error, Result};

/// The namespace containerd falls back to when no directory names the registry.
const DEFAULT_NAMESPACE: &str = "_default";

/// Keys containerd reads in a `[host]` table; the top level adds `server`
/// and `host`.
const HOST_KEYS: &[&str] = &[
    "capabilities",
    "ca",
    "client",
    "skip_verify",
    "override_path",
    "header",
    "dial_timeout",
    "proxy",
];

/// Reads every `<dir>/<namespace>/hosts.toml` into `config`. Directories
/// without a hosts.toml are skipped.
pub fn load_hosts_dir(dir: &Path, config: &mut Config) -> Result<()> {
    if !dir.is_dir() {
        let problem = if dir.exists() { "is not a directory" } else { "does not exist" };
        return Err(Error::Config(format!("--hosts-dir {} {problem}", dir.display())));
    }
    // config.toml's `[defaults] fallback = false` (an air gap) holds for the
    // registries configured here too.
    let air_gapped = config.air_gapped;
    // A registry's directory replaces `_default` for it, as in containerd;
    // with nothing of its own to say (certificates only, or its own address),
    // that matters only against this `_default`, and never against
    // config.toml's `[defaults]` mirrors, which the user wrote.
    let shadow_default =
        dir.join(DEFAULT_NAMESPACE).is_dir() && config.default_rule.mirrors.is_empty();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| cannot_read(dir, e))? {
        let path = entry.map_err(|e| cannot_read(dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if name.starts_with('.') || !path.is_dir() {
            continue;
        }
        let file = path.join("hosts.toml");
        if file.is_file() {
            let (registry, escaped) = namespace(name);
            found.push((registry, !escaped, file));
        } else if has_docker_certs(&path) {
            // containerd would use these; say so rather than pull without them.
            config.warnings.push(format!(
                "{}: docker-style certificate files without a hosts.toml are not imported; \
                 set ca_file/client_cert for this host in config.toml",
                path.display()
            ));
            // The directory still shadows `_default` for its registry, as in
            // containerd: the registry itself, no default mirrors.
            if let (Some(registry), _) = namespace(name)
                && shadow_default
            {
                let origin = path.display().to_string();
                config.add_rule(Some(&registry), own_rule(origin, air_gapped));
            }
        }
    }
    // containerd reads `host_5000_` before `host:5000`: sorting puts the
    // escaped form first, so the one it would ignore is the one we skip.
    found.sort();
    let mut seen = BTreeSet::new();
    for (registry, _, file) in found {
        if seen.insert(registry.clone()) {
            load_hosts_file(&file, registry.as_deref(), air_gapped, shadow_default, config)?;
        } else {
            config.warnings.push(format!(
                "{}: ignored: the escaped directory for the same registry takes precedence, as in containerd",
                file.display()
            ));
        }
    }
    Ok(())
}

/// The registry a namespace directory names (`None` for `_default`), and
/// whether it used containerd's `host_port_` escaping.
fn namespace(name: &str) -> (Option<String>, bool) {
    if name == DEFAULT_NAMESPACE {
        return (None, false);
    }
    if let Some((host, port)) = name.strip_suffix('_').and_then(|n| n.rsplit_once('_'))
        && !host.is_empty()
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        return (Some(host_key(&format!("{host}:{port}"))), true);
    }
    (Some(host_key(name)), false)
}

fn has_docker_certs(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        [".crt", ".cert", ".key"].iter().any(|ext| name.ends_with(ext))
    })
}

/// The rule of a registry with a directory of its own: it replaces
/// `[defaults]` (`_default`) for that registry, and like containerd's host
/// list it ends with the registry itself, unless config.toml air-gaps.
fn own_rule(origin: String, air_gapped: bool) -> RegistryRule {
    RegistryRule { origin, fallback: (!air_gapped).then_some(true), ..RegistryRule::default() }
}

fn load_hosts_file(
    file: &Path,
    registry: Option<&str>,
    air_gapped: bool,
    shadow_default: bool,
    config: &mut Config,
) -> Result<()> {
    let text = std::fs::read_to_string(file).map_err(|e| cannot_read(file, e))?;
    let at = file.display().to_string();
    let doc: Table = toml::from_str(&text).map_err(|e| super::toml_error(&at, &text, &e))?;
    // containerd resolves relative certificate paths against the file's directory.
    let base = file.parent().unwrap_or(Path::new("."));
    let mut warnings = Vec::new();
    let top = Settings::parse(&doc, &at, base, &["server", "host"], &mut warnings)?;
    let server = match doc.get("server") {
        None => None,
        Some(Value::String(s)) => {
            Some(HostUrl::parse(s).ok_or_else(|| invalid(&at, "server", "an http(s) URL"))?)
        }
        Some(_) => return Err(invalid(&at, "server", "a string")),
    };
    let mut rule = match registry {
        Some(_) => own_rule(at.clone(), air_gapped),
        None => RegistryRule { origin: at.clone(), ..RegistryRule::default() },
    };

    let no_hosts = Table::new();
    let hosts = match doc.get("host") {
        None => &no_hosts,
        Some(Value::Table(t)) => t,
        Some(_) => return Err(invalid(&at, "host", "a table of [host.\"<url>\"] tables")),
    };
    // preserve_order: iteration is file order, which is containerd's try order.
    for (key, value) in hosts {
        let table_at = format!("{at} [host.\"{key}\"]");
        let Value::Table(table) = value else {
            return Err(invalid(&at, &format!("host.\"{key}\""), "a table"));
        };
        let settings = Settings::parse(table, &table_at, base, &[], &mut warnings)?;
        let Some(url) = HostUrl::parse(key) else {
            warnings.push(format!("{table_at}: not an http(s) URL; host skipped"));
            continue;
        };
        if let Some(reg) = registry
            && url.is_own_address_of(reg)
        {
            // The registry itself listed as a host (containerd's own docs do
            // this): it is our fallback, not a mirror, and must not get `ns`.
            add_host(config, reg, settings.host_config(&url));
            continue;
        }
        if !settings.pull {
            warnings.push(format!(
                "{table_at}: no \"pull\" capability, so not a mirror for pulling; skipped"
            ));
            continue;
        }
        add_host(config, &url.host, settings.mirror_config(&url));
        rule.mirrors.push(MirrorEntry { url: url.url, origin: table_at });
    }

    match (registry, server) {
        // Top-level settings apply to `server`, the registry itself by default.
        (Some(reg), None) => add_host(config, reg, top.host),
        (Some(reg), Some(url)) if url.is_own_address_of(reg) => {
            add_host(config, reg, top.host_config(&url))
        }
        (Some(_), Some(url)) => {
            // Capabilities do not apply: an endpoint stands in for the
            // authority, which is trusted by definition.
            add_host(config, &url.host, top.host_config(&url));
            rule.endpoint = Some(url.url);
        }
        // `_default` with a server: containerd tries it instead of every
        // registry, and sends it `ns` like any other non-authority host. That
        // is a last mirror with no fallback to the registries themselves.
        (None, Some(url)) if top.pull => {
            add_host(config, &url.host, top.mirror_config(&url));
            rule.mirrors.push(MirrorEntry { url: url.url, origin: format!("{at} server") });
            rule.fallback = Some(false);
        }
        (None, Some(_)) => {
            warnings.push(format!("{at}: server has no \"pull\" capability; ignored"));
        }
        (None, None) => {
            if doc.keys().any(|k| HOST_KEYS.contains(&k.as_str())) {
                warnings.push(format!(
                    "{at}: top-level settings in _default apply to every registry, which ocimirror \
                     cannot express; ignored (set them per host in config.toml)"
                ));
            }
        }
    }
    // A registry's rule with nothing of its own (no mirrors, no endpoint)
    // only to shadow `_default`; `_default`'s own rule when it says anything.
    let says_something = !rule.mirrors.is_empty() || rule.endpoint.is_some();
    if says_something
        || (registry.is_some() && shadow_default)
        || (registry.is_none() && rule.fallback.is_some())
    {
        config.add_rule(registry, rule);
    }
    config.files.push(file.to_path_buf());
    config.warnings.extend(warnings);
    Ok(())
}

/// Adds host settings only when there are some, so `ocimirror mirrors` does
/// not list empty host entries.
fn add_host(config: &mut Config, host: &str, h: HostConfig) {
    if h != HostConfig::default() {
        config.add_host(host, h);
    }
}

/// A `[host."<url>"]` key or `server` value as containerd reads it: http or
/// https, and https when the scheme is missing.
struct HostUrl {
    /// Normalised: scheme, lowercase host, path without trailing `/`.
    url: String,
    host: String,
    has_path: bool,
    http: bool,
}

impl HostUrl {
    fn parse(raw: &str) -> Option<HostUrl> {
        let raw = raw.trim();
        let (scheme, rest) = match raw.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_string(), raw),
        };
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if rest[..end].is_empty() || rest[..end].contains(|c: char| c.is_whitespace() || c == '@') {
            return None;
        }
        // As the url crate writes it (and so as settings are looked up):
        // no default port, IPv6 in its canonical form.
        let parsed = url::Url::parse(&format!("{scheme}://{}", &rest[..end])).ok()?;
        let host = host_key(&crate::registry::host_of(&parsed));
        let path = rest[end..].trim_end_matches('/');
        Some(HostUrl {
            url: format!("{scheme}://{host}{path}"),
            has_path: !path.is_empty(),
            http: scheme == "http",
            host,
        })
    }

    /// Is this where ocimirror goes for `registry` anyway? Plain HTTP counts
    /// only for loopback registries, which ocimirror reaches over HTTP too.
    fn is_own_address_of(&self, registry: &str) -> bool {
        serves(registry, &self.host) && !self.has_path && (!self.http || is_loopback(registry))
    }

    /// The scheme as a host setting: explicit where our default (plain HTTP
    /// only for loopback hosts) would pick the other one.
    fn plain_http(&self) -> Option<bool> {
        if self.http {
            Some(true)
        } else if is_loopback(&self.host) {
            Some(false)
        } else {
            None
        }
    }
}

/// Is `host` the registry's own address (where containerd goes when nothing
/// is configured)? `registry` is already a `host_key`.
pub(crate) fn serves(registry: &str, host: &str) -> bool {
    let host = host_key(host);
    host == registry
        || (registry == "docker.io"
            && matches!(host.as_str(), "registry-1.docker.io" | "index.docker.io"))
}

/// The settings of one `[host]` table, or of the top level.
struct Settings {
    /// The capabilities; absent means containerd's default, all of them.
    pull: bool,
    resolve: bool,
    /// TLS, headers, `override_path` and the connect timeout.
    host: HostConfig,
}

impl Settings {
    /// `at` names the table in messages; `other_keys` are keys of the table
    /// that the caller reads itself.
    fn parse(
        table: &Table,
        at: &str,
        base: &Path,
        other_keys: &[&str],
        warnings: &mut Vec<String>,
    ) -> Result<Settings> {
        let mut s = Settings { pull: true, resolve: true, host: HostConfig::default() };
        for (key, value) in table {
            let bad = |expected: &str| invalid(at, key, expected);
            let flag = || value.as_bool().ok_or_else(|| bad("true or false"));
            match key.as_str() {
                "capabilities" => {
                    let caps = strings(value).ok_or_else(|| bad("an array of strings"))?;
                    (s.pull, s.resolve) = (false, false);
                    for cap in caps {
                        match cap.to_ascii_lowercase().as_str() {
                            "pull" => s.pull = true,
                            "resolve" => s.resolve = true,
                            "push" => {}
                            _ => {
                                warnings.push(format!("{at}: ignoring unknown capability {cap:?}"))
                            }
                        }
                    }
                }
                "ca" => {
                    let paths = strings(value).ok_or_else(|| bad("a path or an array of paths"))?;
                    if let Some((first, rest)) = paths.split_first() {
                        s.host.ca_file = Some(base.join(first));
                        if !rest.is_empty() {
                            warnings.push(format!(
                                "{at}: only one CA file per host is supported; ignoring {}",
                                rest.join(", ")
                            ));
                        }
                    }
                }
                "client" => {
                    let pairs = client_pairs(value).ok_or_else(|| {
                        bad("a path, an array of paths or an array of [cert, key] pairs")
                    })?;
                    if let Some(((cert, key), rest)) = pairs.split_first() {
                        s.host.client_cert = Some(base.join(cert));
                        if !key.is_empty() {
                            s.host.client_key = Some(base.join(key));
                        }
                        if !rest.is_empty() {
                            warnings
                                .push(format!("{at}: only the first client certificate is used"));
                        }
                    }
                }
                "skip_verify" => s.host.tls_verify = Some(!flag()?),
                "override_path" => s.host.override_path = Some(flag()?),
                "header" => {
                    let Value::Table(headers) = value else { return Err(bad("a table")) };
                    for (name, v) in headers {
                        let values = strings(v).ok_or_else(|| {
                            invalid(
                                at,
                                &format!("header.{name}"),
                                "a string or an array of strings",
                            )
                        })?;
                        s.host.headers.insert(name.clone(), values.join(", "));
                    }
                }
                "dial_timeout" => {
                    let secs = value.as_str().and_then(go_duration_secs);
                    let secs = secs.ok_or_else(|| bad("a duration such as \"2s\""))?;
                    s.host.connect_timeout = (secs > 0.0).then_some(secs);
                }
                "proxy" => warnings
                    .push(format!("{at}: ignoring proxy: per-host proxies are not supported")),
                k if other_keys.contains(&k) => {}
                _ => warnings.push(format!("{at}: ignoring unknown key {key}")),
            }
        }
        Ok(s)
    }

    /// Settings for a host that is not a mirror (the authority or an endpoint).
    fn host_config(&self, url: &HostUrl) -> HostConfig {
        HostConfig { plain_http: url.plain_http(), ..self.host.clone() }
    }

    /// Settings for a mirror: containerd lets a host resolve tags only with
    /// the "resolve" capability, which is what our `trusted` means; a
    /// pull-only host serves content by digest alone.
    fn mirror_config(&self, url: &HostUrl) -> HostConfig {
        let mut h = self.host_config(url);
        if self.resolve {
            h.trusted = Some(true);
        } else {
            h.digest_only = Some(true);
        }
        h
    }
}

/// A string or an array of strings.
fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

/// containerd's `client`: a path, paths, or [cert, key] pairs (an empty key
/// means the key is in the certificate's file).
fn client_pairs(value: &Value) -> Option<Vec<(String, String)>> {
    let pair = |v: &Value| match v {
        Value::String(s) => Some((s.clone(), String::new())),
        Value::Array(p) => match p.as_slice() {
            [Value::String(cert), Value::String(key)] => Some((cert.clone(), key.clone())),
            _ => None,
        },
        _ => None,
    };
    match value {
        Value::String(_) => pair(value).map(|p| vec![p]),
        Value::Array(items) => items.iter().map(pair).collect(),
        _ => None,
    }
}

/// Go's `time.ParseDuration` syntax (`500ms`, `1.5s`, `1m30s`), which
/// containerd uses for `dial_timeout`, in seconds; `None` when it is not
/// one or is outside the range ocimirror accepts for timeouts.
fn go_duration_secs(text: &str) -> Option<f64> {
    let mut rest = text.trim();
    rest = rest.strip_prefix('+').unwrap_or(rest);
    // Go's "0" (and "0s", "0m0s" below): no timeout of its own, so
    // ocimirror's default applies.
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        total += n * match &rest[..unit] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit..];
    }
    (total < 86_400.0).then_some(total)
}

fn invalid(at: &str, key: &str, expected: &str) -> Error {
    Error::Config(format!("{at}: {key} must be {expected}"))
}

fn cannot_read(path: &Path, e: std::io::Error) -> Error {
    Error::Config(format!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes `files` (relative path, contents) under a new temporary
    /// directory. Other modules' tests use it too.
    pub(crate) fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn load(dir: &Path) -> Config {
        let mut c = Config::default();
        load_hosts_dir(dir, &mut c).unwrap();
        c
    }

    const HUB: &str = r#"
        server = "https://registry-1.docker.io"

        [host."https://zz-mirror.example.com"]
          capabilities = ["pull", "resolve"]
          ca = ["certs/mirror.pem", "/etc/other.pem"]
          skip_verify = true
          override_path = true
          dial_timeout = "1.5s"
          [host."https://zz-mirror.example.com".header]
            x-one = "1"
            x-two = ["a", "b"]

        [host."http://10.1.2.3:5000"]
          capabilities = ["pull"]

        [host."https://push-only.example.com"]
          capabilities = ["push"]
    "#;

    #[test]
    fn mirrors_in_file_order_and_default_namespace() {
        let dir = tree(&[
            ("docker.io/hosts.toml", HUB),
            ("_default/hosts.toml", "[host.\"mirror.example.com\"]\n"),
        ]);
        let c = load(dir.path());
        let hub = c.rule_for("docker.io");
        let urls: Vec<_> = hub.mirrors.iter().map(|m| m.url.as_str()).collect();
        assert_eq!(urls, ["https://zz-mirror.example.com", "http://10.1.2.3:5000"]);
        assert!(
            hub.mirrors[0]
                .origin
                .ends_with("docker.io/hosts.toml [host.\"https://zz-mirror.example.com\"]")
        );
        assert_eq!(hub.endpoint, None, "registry-1.docker.io is docker.io's own address");
        assert_eq!(hub.fallback, Some(true), "a registry's own list ends with the registry");
        // No scheme means https; no capabilities means all of them.
        let other = c.rule_for("quay.io");
        assert_eq!(other.mirrors[0].url, "https://mirror.example.com");
        assert_eq!(c.host("mirror.example.com").trusted, Some(true));
        assert!(
            c.warnings.iter().any(|w| w.contains("push-only.example.com") && w.contains("pull"))
        );
        assert_eq!(c.files.len(), 2);
    }

    #[test]
    fn host_settings() {
        let dir = tree(&[("docker.io/hosts.toml", HUB)]);
        let c = load(dir.path());
        let a = c.host("zz-mirror.example.com");
        assert_eq!(a.trusted, Some(true));
        assert_eq!(a.digest_only, None);
        assert_eq!(a.tls_verify, Some(false));
        assert_eq!(a.override_path, Some(true));
        assert_eq!(a.connect_timeout, Some(1.5));
        assert_eq!(a.ca_file, Some(dir.path().join("docker.io/certs/mirror.pem")));
        assert_eq!(a.headers["x-one"], "1");
        assert_eq!(a.headers["x-two"], "a, b");
        assert!(c.warnings.iter().any(|w| w.contains("/etc/other.pem")));
        let b = c.host("10.1.2.3:5000");
        assert_eq!((b.digest_only, b.trusted, b.plain_http), (Some(true), None, Some(true)));
    }

    #[test]
    fn ports_server_endpoint_and_shadowed_directories() {
        let dir = tree(&[
            ("localhost_5000_/hosts.toml", "server = \"http://localhost:5000\"\n"),
            (
                "reg.example.com_5000_/hosts.toml",
                "server = \"https://copy.example.com\"\nskip_verify = true\n",
            ),
            ("reg.example.com:5000/hosts.toml", "[host.\"https://never.example.com\"]\n"),
        ]);
        let c = load(dir.path());
        assert_eq!(c.rule_for("localhost:5000").endpoint, None);
        let reg = c.rule_for("reg.example.com:5000");
        assert_eq!(reg.endpoint.as_deref(), Some("https://copy.example.com"));
        assert!(reg.mirrors.is_empty());
        assert_eq!(c.host("copy.example.com").tls_verify, Some(false));
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("reg.example.com:5000/hosts.toml") && w.contains("ignored"))
        );
    }

    #[test]
    fn default_server_is_a_last_mirror_without_fallback() {
        let dir = tree(&[(
            "_default/hosts.toml",
            "server = \"https://only.example.com\"\ncapabilities = [\"pull\"]\n[host.\"https://first.example.com\"]\n",
        )]);
        let c = load(dir.path());
        let rule = c.rule_for("ghcr.io");
        let urls: Vec<_> = rule.mirrors.iter().map(|m| m.url.as_str()).collect();
        assert_eq!(urls, ["https://first.example.com", "https://only.example.com"]);
        assert_eq!(rule.fallback, Some(false));
        assert_eq!(c.host("only.example.com").digest_only, Some(true));
    }

    #[test]
    fn client_certificates() {
        let dir = tree(&[
            ("a.example/hosts.toml", "[host.\"https://m1.example\"]\nclient = \"c.pem\"\n"),
            (
                "b.example/hosts.toml",
                "[host.\"https://m2.example\"]\nclient = [[\"c.cert\", \"c.key\"]]\n",
            ),
        ]);
        let c = load(dir.path());
        assert_eq!(c.host("m1.example").client_cert, Some(dir.path().join("a.example/c.pem")));
        assert_eq!(c.host("m1.example").client_key, None);
        let m2 = c.host("m2.example");
        assert_eq!(m2.client_cert, Some(dir.path().join("b.example/c.cert")));
        assert_eq!(m2.client_key, Some(dir.path().join("b.example/c.key")));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn unknown_keys_warn_and_bad_files_fail() {
        let dir = tree(&[(
            "docker.io/hosts.toml",
            "mystery = 1\n[host.\"https://m.example\"]\nwhatever = true\nproxy = \"http://p:8080\"\n",
        )]);
        let c = load(dir.path());
        assert!(c.warnings.iter().any(|w| w.ends_with("hosts.toml: ignoring unknown key mystery")));
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("[host.\"https://m.example\"]: ignoring unknown key whatever"))
        );
        assert!(c.warnings.iter().any(|w| w.contains("proxy")));
        assert_eq!(c.rule_for("docker.io").mirrors.len(), 1);

        let bad =
            tree(&[("docker.io/hosts.toml", "[host.\"https://m\"]\nskip_verify = \"yes\"\n")]);
        let err = load_hosts_dir(bad.path(), &mut Config::default()).unwrap_err().to_string();
        assert!(err.contains("docker.io/hosts.toml") && err.contains("skip_verify"), "{err}");
        let broken = tree(&[("docker.io/hosts.toml", "server = \n")]);
        let err = load_hosts_dir(broken.path(), &mut Config::default()).unwrap_err().to_string();
        assert!(err.contains("docker.io/hosts.toml"), "{err}");
    }

    #[test]
    fn missing_and_empty_directories() {
        let err = load_hosts_dir(Path::new("/nonexistent/certs.d"), &mut Config::default())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "--hosts-dir /nonexistent/certs.d does not exist");
        let dir = tree(&[("quay.io/ca.crt", "pem"), ("notes.txt", "x")]);
        let c = load(dir.path());
        assert!(c.hosts.is_empty() && c.files.is_empty());
        assert!(c.warnings.iter().any(|w| w.contains("quay.io") && w.contains("certificate")));
        // Without a `_default` there is nothing for it to shadow.
        assert!(c.registries.is_empty());
    }

    #[test]
    fn durations_and_namespaces() {
        assert_eq!(go_duration_secs("1m30s"), Some(90.0));
        assert_eq!(go_duration_secs("250ms"), Some(0.25));
        assert_eq!(go_duration_secs("0"), Some(0.0), "Go's zero: the default applies");
        assert_eq!(go_duration_secs("0s"), Some(0.0));
        assert_eq!(go_duration_secs("+5s"), Some(5.0));
        assert_eq!(go_duration_secs("0m0s"), Some(0.0));
        assert_eq!(go_duration_secs("23h"), Some(82_800.0));
        assert_eq!(go_duration_secs("24h"), None, "a day or more is refused, as everywhere");
        assert_eq!(go_duration_secs("bogus"), None);
        assert_eq!(go_duration_secs("s"), None);
        assert_eq!(go_duration_secs("-5s"), None);
        assert_eq!(go_duration_secs("5"), None);
        assert_eq!(namespace("Host.example_443_"), (Some("host.example:443".into()), true));
        assert_eq!(namespace("my_host"), (Some("my_host".into()), false));
        assert_eq!(namespace("_default"), (None, false));
    }
}
