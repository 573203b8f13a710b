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
//! address. What we cannot honour becomes a warning, never a silent change:
//! keys containerd does not have are named by their key path.

mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;

use super::toml_file::{self, KeyPath, Part};
use super::{
    Config, HostConfig, HostPort, MirrorEntry, RefusedUrl, RegistryRule, SourceUrl, UrlError,
    imported_registry,
};
use crate::error::{Error, Result};
use crate::text::redacted_url;
use values::{ClientPairs, Strings, go_duration_secs};

/// The namespace containerd falls back to when no directory names the registry.
const DEFAULT_NAMESPACE: &str = "_default";

/// A hosts.toml: `server` and its settings at the top level, then one
/// `[host."<url>"]` table per host, in file order (containerd's try order).
#[derive(Deserialize)]
struct HostsFile {
    server: Option<String>,
    #[serde(default)]
    host: IndexMap<String, HostSection>,
    // `server`'s settings: a [host] table's keys, written out again because
    // serde's `flatten` would hide unknown keys from the warnings.
    capabilities: Option<Strings>,
    ca: Option<Strings>,
    client: Option<ClientPairs>,
    skip_verify: Option<bool>,
    override_path: Option<bool>,
    header: Option<BTreeMap<String, Strings>>,
    dial_timeout: Option<String>,
}

/// A `[host."<url>"]` table: the settings containerd reads there (`proxy`, in
/// newer versions, is warned about as unsupported).
#[derive(Debug, Default, PartialEq, Deserialize)]
struct HostSection {
    capabilities: Option<Strings>,
    ca: Option<Strings>,
    client: Option<ClientPairs>,
    skip_verify: Option<bool>,
    override_path: Option<bool>,
    header: Option<BTreeMap<String, Strings>>,
    dial_timeout: Option<String>,
}

impl HostsFile {
    /// The top level's settings, as a [host] table's.
    fn top(&mut self) -> HostSection {
        HostSection {
            capabilities: self.capabilities.take(),
            ca: self.ca.take(),
            client: self.client.take(),
            skip_verify: self.skip_verify.take(),
            override_path: self.override_path.take(),
            header: self.header.take(),
            dial_timeout: self.dial_timeout.take(),
        }
    }
}

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
        let file = path.join("hosts.toml");
        let certs_only = !file.is_file() && has_docker_certs(&path);
        if name.starts_with('.') || !path.is_dir() || !(file.is_file() || certs_only) {
            continue;
        }
        let (registry, escaped) = namespace(name);
        // A directory no reference can ever use is said to be so, not
        // turned into a rule that is never looked at.
        let registry = match registry.as_deref().map(imported_registry).transpose() {
            Ok(r) => r,
            Err(why) => {
                config.warnings.push(format!("{}: {why}; directory ignored", path.display()));
                continue;
            }
        };
        if !certs_only {
            found.push((registry, !escaped, file));
            continue;
        }
        // containerd would use these; say so rather than pull without them.
        config.warnings.push(format!(
            "{}: docker-style certificate files without a hosts.toml are not imported; \
             set ca_file/client_cert for this host in config.toml",
            path.display()
        ));
        // The directory still shadows `_default` for its registry, as in
        // containerd: the registry itself, no default mirrors.
        if let Some(registry) = &registry
            && shadow_default
        {
            let origin = path.display().to_string();
            config.add_rule(Some(registry), own_rule(origin, air_gapped));
        }
    }
    // containerd reads `host_5000_` before `host:5000`: sorting puts the
    // escaped form first, so the one it would ignore is the one we skip.
    found.sort();
    let mut seen = BTreeSet::new();
    for (registry, _, file) in found {
        if seen.insert(registry.clone()) {
            load_hosts_file(&file, registry.as_ref(), air_gapped, shadow_default, config)?;
        } else {
            config.warnings.push(format!(
                "{}: ignored: the escaped directory for the same registry takes precedence, as in containerd",
                file.display()
            ));
        }
    }
    config.settle_schemes();
    Ok(())
}

/// The registry a namespace directory names (`None` for `_default`), in
/// lowercase, and whether it used containerd's `host_port_` escaping.
fn namespace(name: &str) -> (Option<String>, bool) {
    if name == DEFAULT_NAMESPACE {
        return (None, false);
    }
    if let Some((host, port)) = name.strip_suffix('_').and_then(|n| n.rsplit_once('_'))
        && !host.is_empty()
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        return (Some(format!("{host}:{port}").to_ascii_lowercase()), true);
    }
    (Some(name.to_ascii_lowercase()), false)
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
    registry: Option<&HostPort>,
    air_gapped: bool,
    shadow_default: bool,
    config: &mut Config,
) -> Result<()> {
    let text = std::fs::read_to_string(file).map_err(|e| cannot_read(file, e))?;
    let at = file.display().to_string();
    let mut unknown = Vec::new();
    let mut doc: HostsFile =
        toml_file::parse(&text, &mut |p| unknown.push(p)).map_err(|e| e.with_path(&at, &text))?;
    let mut warnings: Vec<String> = unknown.iter().map(|p| unknown_key_warning(&at, p)).collect();
    let top_proxy = unknown.iter().any(|p| p.0 == [Part::Key("proxy".into())]);
    // containerd resolves relative certificate paths against the file's directory.
    let base = file.parent().unwrap_or(Path::new("."));
    let top_table = doc.top();
    let top_says_something = top_proxy || top_table != HostSection::default();
    let top = Settings::from_table(top_table, &at, base, &mut warnings)?;
    let server = match doc.server.as_deref() {
        None => None,
        Some(s) => Some(HostUrl::parse(s).map_err(|why| RefusedUrl::new("server", s, &at, why))?),
    };
    let mut rule = match registry {
        Some(_) => own_rule(at.clone(), air_gapped),
        None => RegistryRule { origin: at.clone(), ..RegistryRule::default() },
    };
    let hosts = std::mem::take(&mut doc.host);
    import_hosts(hosts, registry, &mut rule, (&at, base), config, &mut warnings)?;
    let server_at = ServerAt { at: &at, top_says_something };
    import_server(server, top, registry, &mut rule, server_at, config, &mut warnings);
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

/// The `[host."<url>"]` tables, in file order: mirrors of `rule`, or
/// settings of the registry itself when one lists its own address.
fn import_hosts(
    hosts: IndexMap<String, HostSection>,
    registry: Option<&HostPort>,
    rule: &mut RegistryRule,
    (at, base): (&str, &Path),
    config: &mut Config,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for (key, table) in hosts {
        let table_at = format!("{at} {}", host_table(&key));
        let settings = Settings::from_table(table, &table_at, base, warnings)?;
        let url = match HostUrl::parse(&key) {
            Ok(url) => url,
            Err(why) => {
                warnings.push(format!("{table_at}: not a usable mirror URL ({why}); host skipped"));
                continue;
            }
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
        rule.mirrors.push(MirrorEntry { url: url.shown, origin: table_at, base: url.source });
    }
    Ok(())
}

/// The file a `server` is in, and whether its top level sets anything.
struct ServerAt<'a> {
    at: &'a str,
    top_says_something: bool,
}

/// `server` and the top-level settings, which apply to it.
fn import_server(
    server: Option<HostUrl>,
    top: Settings,
    registry: Option<&HostPort>,
    rule: &mut RegistryRule,
    ServerAt { at, top_says_something }: ServerAt,
    config: &mut Config,
    warnings: &mut Vec<String>,
) {
    match (registry, server) {
        // The registry itself by default.
        (Some(reg), None) => add_host(config, reg, top.host),
        (Some(reg), Some(url)) if url.is_own_address_of(reg) => {
            add_host(config, reg, top.host_config(&url))
        }
        (Some(_), Some(url)) => {
            // Capabilities do not apply: an endpoint stands in for the
            // authority, which is trusted by definition.
            add_host(config, &url.host, top.host_config(&url));
            rule.endpoint = Some(url.shown);
            rule.endpoint_base = Some(url.source);
        }
        // `_default` with a server: containerd tries it instead of every
        // registry, and sends it `ns` like any other non-authority host. That
        // is a last mirror with no fallback to the registries themselves.
        (None, Some(url)) if top.pull => {
            add_host(config, &url.host, top.mirror_config(&url));
            let origin = format!("{at} server");
            rule.mirrors.push(MirrorEntry { url: url.shown, origin, base: url.source });
            rule.fallback = Some(false);
        }
        (None, Some(_)) => {
            warnings.push(format!("{at}: server has no \"pull\" capability; ignored"));
        }
        (None, None) if top_says_something => warnings.push(format!(
            "{at}: top-level settings in _default apply to every registry, which ocimirror \
             cannot express; ignored (set them per host in config.toml)"
        )),
        (None, None) => {}
    }
}

/// `[host."<url>"]`, as messages name the table (the URL without credentials).
fn host_table(url: &str) -> String {
    format!("[host.\"{}\"]", redacted_url(url))
}

/// A key that containerd does not read, by the table it is in and its path
/// there; `proxy`, which it does read, is not supported.
fn unknown_key_warning(at: &str, path: &KeyPath) -> String {
    let (table, key) = match path.0.as_slice() {
        [Part::Key(host), Part::Key(url), rest @ ..] if host == "host" && !rest.is_empty() => {
            (format!("{at} {}", host_table(url)), KeyPath(rest.to_vec()))
        }
        _ => (at.to_string(), path.clone()),
    };
    if key.0 == [Part::Key("proxy".into())] {
        format!("{table}: ignoring proxy: per-host proxies are not supported")
    } else {
        format!("{table}: ignoring unknown key {key}")
    }
}

/// Adds host settings only when there are some, so `ocimirror mirrors` does
/// not list empty host entries.
fn add_host(config: &mut Config, host: &HostPort, h: HostConfig) {
    if h != HostConfig::default() {
        config.add_host(host, h);
    }
}

/// A `[host."<url>"]` key or `server` value as containerd reads it: http or
/// https, and https when the scheme is missing (whatever the host).
struct HostUrl {
    /// Normalised: scheme, lowercase host, path without trailing `/`.
    shown: String,
    source: SourceUrl,
    host: HostPort,
    has_path: bool,
    http: bool,
}

impl HostUrl {
    fn parse(raw: &str) -> Result<HostUrl, UrlError> {
        let mut written = SourceUrl::parse(raw)?;
        written.decide_scheme(false);
        // As the url crate writes it (and so as settings are looked up):
        // no default port, IPv6 in its canonical form.
        let shown = written.url().as_str().trim_end_matches('/').to_string();
        let source = SourceUrl::parse(&shown)?;
        let url = source.url();
        Ok(HostUrl {
            has_path: url.path() != "/",
            http: url.scheme() == "http",
            host: source.host(),
            shown,
            source,
        })
    }

    /// Is this where ocimirror goes for `registry` anyway? Plain HTTP counts
    /// only for loopback registries, which ocimirror reaches over HTTP too.
    fn is_own_address_of(&self, registry: &HostPort) -> bool {
        serves(registry.as_str(), self.host.as_str())
            && !self.has_path
            && (!self.http || registry.is_loopback())
    }

    /// The scheme as a host setting: explicit where our default (plain HTTP
    /// only for loopback hosts) would pick the other one.
    fn plain_http(&self) -> Option<bool> {
        if self.http {
            Some(true)
        } else if self.host.is_loopback() {
            Some(false)
        } else {
            None
        }
    }
}

/// Is `host` the registry's own address (where containerd goes when nothing
/// is configured)? Both are compared as `HostPort`s.
pub(crate) fn serves(registry: &str, host: &str) -> bool {
    let canonical =
        |s: &str| HostPort::parse(s).map_or_else(|_| s.to_ascii_lowercase(), |h| h.to_string());
    let (registry, host) = (canonical(registry), canonical(host));
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
    /// `at` names the table in messages.
    fn from_table(
        t: HostSection,
        at: &str,
        base: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<Settings> {
        let mut s = Settings { pull: true, resolve: true, host: HostConfig::default() };
        if let Some(Strings(caps)) = t.capabilities {
            (s.pull, s.resolve) = (false, false);
            for cap in caps {
                match cap.to_ascii_lowercase().as_str() {
                    "pull" => s.pull = true,
                    "resolve" => s.resolve = true,
                    "push" => {}
                    _ => warnings.push(format!("{at}: ignoring unknown capability {cap:?}")),
                }
            }
        }
        if let Some(Strings(paths)) = t.ca
            && let Some((first, rest)) = paths.split_first()
        {
            s.host.ca_file = Some(base.join(first));
            if !rest.is_empty() {
                warnings.push(format!(
                    "{at}: only one CA file per host is supported; ignoring {}",
                    rest.join(", ")
                ));
            }
        }
        if let Some(ClientPairs(pairs)) = t.client
            && let Some(((cert, key), rest)) = pairs.split_first()
        {
            s.host.client_cert = Some(base.join(cert));
            if !key.is_empty() {
                s.host.client_key = Some(base.join(key));
            }
            if !rest.is_empty() {
                warnings.push(format!("{at}: only the first client certificate is used"));
            }
        }
        s.host.tls_verify = t.skip_verify.map(|skip| !skip);
        s.host.override_path = t.override_path;
        for (name, Strings(values)) in t.header.unwrap_or_default() {
            s.host.headers.insert(name, values.join(", "));
        }
        if let Some(text) = t.dial_timeout {
            let secs = go_duration_secs(&text).ok_or_else(|| {
                Error::Config(format!("{at}: dial_timeout must be a duration such as \"2s\""))
            })?;
            s.host.connect_timeout = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
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

fn cannot_read(path: &Path, e: std::io::Error) -> Error {
    Error::Config(format!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
pub(crate) mod tests;
