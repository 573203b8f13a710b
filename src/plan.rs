//! The ordered sources for one reference: each mirror that applies, then the
//! authority (unless fallback is off). Building a plan touches no network,
//! so `--dry-run` and `ocimirror mirrors` show exactly what a pull would do.

use url::Url;

use crate::config::{Config, CredentialSource, MirrorEntry, NsMode, RegistryRule, SourceUrl};
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::registry::{api_url, host_of};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Mirror,
    Authority,
    /// Not a plan's source: the blob cache, which served a manifest asked
    /// for by digest without a request (see `pull/cached.rs`).
    Cache,
}

/// One place to fetch from, with the rules for talking to it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub role: Role,
    #[serde(serialize_with = "ser_url")]
    pub base: Url,
    pub host: String,
    pub ns: NsMode,
    /// Trusted to resolve tags without confirmation.
    pub trusted: bool,
    /// Never asked for tags.
    pub digest_only: bool,
    pub credentials: CredentialSource,
    /// The base URL's path replaces `/v2` (containerd's `override_path`).
    pub override_path: bool,
    /// Where this source was configured.
    pub origin: String,
}

fn ser_url<S: serde::Serializer>(u: &Url, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(u.as_str().trim_end_matches('/'))
}

impl Source {
    /// The endpoint as shown to users.
    pub fn display(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub reference: Reference,
    pub sources: Vec<Source>,
    /// Whether the authority is among the sources.
    pub fallback: bool,
    /// Whether a mirror's tag answer the authority cannot confirm fails.
    pub unconfirmed_fails: bool,
}

impl Plan {
    pub fn new(config: &Config, reference: &Reference) -> Result<Plan> {
        let rule = config.rule_for(&reference.registry);
        let fallback = config.fallback(rule);
        let authority = authority_source(config, reference, rule)?;
        let mut sources: Vec<Source> = Vec::new();
        if !config.no_mirrors {
            let entries = config.cli_mirrors.iter().chain(rule.mirrors.iter());
            for entry in entries {
                let s = mirror_source(config, entry);
                // Never treat the authority as a mirror (nor another name
                // of it, such as index.docker.io): it must not get `ns`.
                let is_authority = s.host == authority.host
                    || crate::config::containerd::serves(&reference.registry, &s.host);
                if !is_authority && !sources.iter().any(|m| m.base == s.base) {
                    sources.push(s);
                }
            }
        }
        if fallback {
            sources.push(authority);
        }
        if sources.is_empty() {
            return Err(Error::Config(format!(
                "no source for {reference}: no mirror applies and fallback to {} is off",
                reference.registry
            )));
        }
        let unconfirmed_fails = config.unconfirmed_fails(rule);
        Ok(Plan { reference: reference.clone(), sources, fallback, unconfirmed_fails })
    }

    /// The value of `ns`: the reference's registry (`docker.io` for Docker Hub).
    pub fn ns_value(&self) -> &str {
        &self.reference.registry
    }

    pub fn authority(&self) -> Option<&Source> {
        self.sources.iter().find(|s| s.role == Role::Authority)
    }

    /// Whether `ns` is sent to this source at all (before anything is learned).
    pub fn sends_ns(&self, source: &Source) -> bool {
        sends_ns(source.role, source.ns)
    }

    /// The manifest URLs the walk would try, in order, for `--dry-run`:
    /// the same steps (`planned_ns_steps`) and the same URL builder
    /// (`api_url`) the walk uses.
    pub fn manifest_urls(&self, source: &Source) -> Vec<String> {
        let target = self.reference.target();
        let repo = &self.reference.repository;
        if source.digest_only && self.reference.is_by_tag() {
            return vec![];
        }
        planned_ns_steps(source.role, source.ns)
            .into_iter()
            .map(|with_ns| {
                let ns = with_ns.then(|| self.ns_value());
                api_url(&source.base, source.override_path, repo, "manifests", &target, ns)
                    .to_string()
            })
            .collect()
    }
}

/// Whether `ns` is sent to a host at all, before anything is learned:
/// mirrors get it unless configured off; the authority never does.
pub fn sends_ns(role: Role, mode: NsMode) -> bool {
    role == Role::Mirror && mode != NsMode::Off
}

/// The `ns` steps a request may take, in order, before anything is learned
/// (what `--dry-run` shows; the walk's `decide::ns_plan` starts from the
/// same rule): with, then without, for a mirror in `auto` mode.
pub fn planned_ns_steps(role: Role, mode: NsMode) -> Vec<bool> {
    match (sends_ns(role, mode), mode) {
        (true, NsMode::Auto) => vec![true, false],
        (send, _) => vec![send],
    }
}

/// The registry itself, or the endpoint its rule names instead.
fn authority_source(config: &Config, reference: &Reference, rule: &RegistryRule) -> Result<Source> {
    let (base, origin) = match &rule.endpoint_base {
        Some(endpoint) => (endpoint.url().clone(), rule.origin.clone()),
        None => (
            parse_base(config, reference.authority_host())?.0,
            "the reference's registry".to_string(),
        ),
    };
    let host = host_of(&base);
    let settings = config.host(&host).or(&config.host(&reference.registry));
    Ok(Source {
        role: Role::Authority,
        base,
        host,
        ns: NsMode::Off,
        trusted: true,
        digest_only: false,
        credentials: match settings.credentials {
            Some(CredentialSource::None) => CredentialSource::None,
            _ => CredentialSource::Own,
        },
        override_path: settings.override_path.unwrap_or(false),
        origin,
    })
}

/// A configured mirror: its URL was checked, and its scheme decided, when
/// the configuration was loaded.
fn mirror_source(config: &Config, entry: &MirrorEntry) -> Source {
    let base = entry.base.url().clone();
    let host = host_of(&base);
    let settings = config.host(&host);
    Source {
        role: Role::Mirror,
        base,
        host,
        ns: settings.ns.unwrap_or_default(),
        trusted: settings.trusted.unwrap_or(false),
        digest_only: settings.digest_only.unwrap_or(false),
        credentials: settings.credentials.unwrap_or_default(),
        override_path: settings.override_path.unwrap_or(false),
        origin: entry.origin.clone(),
    }
}

/// A mirror or endpoint written as text (`https://m.example.com`,
/// `m.example.com:5000`, `http://127.0.0.1:5000/prefix`; here, a
/// reference's registry host) -> base URL and `host[:port]`, checked as
/// configured ones are. Without a scheme: HTTPS, except for loopback hosts
/// and hosts configured with `plain_http`.
pub fn parse_base(config: &Config, raw: &str) -> Result<(Url, String)> {
    let mut url = SourceUrl::parse(raw).map_err(|why| {
        Error::Config(format!("mirror \"{}\": {why}", crate::text::redacted_url(raw.trim())))
    })?;
    url.decide_scheme(config.plain_http(url.host().as_str()));
    let host = host_of(url.url());
    Ok((url.url().clone(), host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use std::path::Path;

    fn config(toml: &str) -> Config {
        let mut c = Config::default();
        c.add_file(FileConfig::parse(toml, Path::new("c.toml")).unwrap(), Path::new("c.toml"))
            .unwrap();
        c
    }

    fn r(s: &str) -> Reference {
        s.parse().unwrap()
    }

    #[test]
    fn mirrors_then_authority() {
        let mut c = config(
            r#"
            [registries."docker.io"]
            mirrors = ["mirror.example.com", "http://127.0.0.1:5000"]
            [hosts."mirror.example.com"]
            trusted = true
            "#,
        );
        c.cli_mirrors.push(MirrorEntry::new("localhost:6000", "--mirror").unwrap());
        let p = Plan::new(&c, &r("ubuntu")).unwrap();
        let shown: Vec<String> = p.sources.iter().map(Source::display).collect();
        assert_eq!(
            shown,
            [
                "http://localhost:6000",
                "https://mirror.example.com",
                "http://127.0.0.1:5000",
                "https://registry-1.docker.io"
            ]
        );
        assert!(p.sources[1].trusted);
        assert_eq!(p.sources[3].role, Role::Authority);
        assert_eq!(
            p.manifest_urls(&p.sources[2]),
            [
                "http://127.0.0.1:5000/v2/library/ubuntu/manifests/latest?ns=docker.io",
                "http://127.0.0.1:5000/v2/library/ubuntu/manifests/latest",
            ]
        );
        assert_eq!(
            p.manifest_urls(&p.sources[3]),
            ["https://registry-1.docker.io/v2/library/ubuntu/manifests/latest"]
        );
    }

    #[test]
    fn ns_is_encoded_and_never_sent_to_the_authority() {
        let mut c = Config::default();
        c.cli_mirrors.push(MirrorEntry::new("http://127.0.0.1:7000", "--mirror").unwrap());
        c.cli_mirrors.push(MirrorEntry::new("localhost:5000", "--mirror").unwrap());
        let p = Plan::new(&c, &r("localhost:5000/team/app:v1")).unwrap();
        assert_eq!(p.sources.len(), 2, "the authority listed as a mirror is dropped");
        assert_eq!(
            p.manifest_urls(&p.sources[0])[0],
            "http://127.0.0.1:7000/v2/team/app/manifests/v1?ns=localhost%3A5000"
        );
    }

    #[test]
    fn fallback_off_and_no_sources() {
        let mut c =
            config("[registries.\"quay.io\"]\nfallback = false\nmirrors = [\"m.example\"]\n");
        let p = Plan::new(&c, &r("quay.io/a/b")).unwrap();
        assert_eq!(p.sources.len(), 1);
        assert!(p.authority().is_none());
        c.no_mirrors = true;
        assert!(Plan::new(&c, &r("quay.io/a/b")).is_err());
    }

    #[test]
    fn endpoint_override_and_bad_mirrors() {
        let c =
            config("[registries.\"docker.io\"]\nendpoint = \"https://hub-copy.internal:8443\"\n");
        let p = Plan::new(&c, &r("ubuntu")).unwrap();
        assert_eq!(p.sources[0].display(), "https://hub-copy.internal:8443");
        for bad in ["ftp://x", "https://u:p@x", "https://x/?a=b"] {
            assert!(parse_base(&Config::default(), bad).is_err(), "{bad}");
        }
    }
}

/// How imported containerd and podman configuration turns into sources.
#[cfg(test)]
mod imported {
    use super::*;
    use crate::config::FileConfig;
    use crate::config::containerd::load_hosts_dir;
    use crate::config::containerd::tests::tree;
    use crate::config::registries_conf::load_registries_conf;
    use std::path::Path;

    fn hosts(files: &[(&str, &str)]) -> (tempfile::TempDir, Config) {
        let dir = tree(files);
        let mut c = Config::default();
        load_hosts_dir(dir.path(), &mut c).unwrap();
        (dir, c)
    }

    fn podman(text: &str) -> Config {
        let dir = tree(&[("registries.conf", text)]);
        let mut c = Config::default();
        load_registries_conf(&dir.path().join("registries.conf"), &mut c).unwrap();
        c
    }

    fn sources(c: &Config, reference: &str) -> Vec<String> {
        let plan = Plan::new(c, &reference.parse().unwrap()).unwrap();
        plan.sources.iter().map(Source::display).collect()
    }

    const CACHE: &str = "server = \"https://cache.corp.example\"\n";

    #[test]
    fn a_registrys_own_directory_replaces_default() {
        let own_ca = "server = \"https://registry-1.docker.io\"\nca = \"hub-ca.pem\"\n";
        let (_d, c) = hosts(&[("_default/hosts.toml", CACHE), ("docker.io/hosts.toml", own_ca)]);
        assert_eq!(sources(&c, "ubuntu"), ["https://registry-1.docker.io"]);
        let (_d, c) = hosts(&[("_default/hosts.toml", CACHE), ("quay.io/ca.crt", "pem")]);
        assert_eq!(sources(&c, "quay.io/a/b"), ["https://quay.io"]);
        // Without a directory of its own: `_default`'s server, no fallback.
        assert_eq!(sources(&c, "ghcr.io/a/b"), ["https://cache.corp.example"]);
        let mirror = "[host.\"https://hub-mirror.example\"]\n";
        let (_d, c) = hosts(&[("_default/hosts.toml", CACHE), ("docker.io/hosts.toml", mirror)]);
        assert_eq!(
            sources(&c, "ubuntu"),
            ["https://hub-mirror.example", "https://registry-1.docker.io"]
        );
    }

    #[test]
    fn config_toml_keeps_its_mirrors_their_fallback_and_its_air_gap() {
        let dir = tree(&[
            ("_default/hosts.toml", CACHE),
            ("docker.io/hosts.toml", "[host.\"https://m.example\"]\n"),
        ]);
        let mut c = Config::default();
        let f = FileConfig::parse(
            "[defaults]\nmirrors = [\"https://mine.example\"]\n",
            Path::new("c.toml"),
        )
        .unwrap();
        c.add_file(f, Path::new("c.toml")).unwrap();
        load_hosts_dir(dir.path(), &mut c).unwrap();
        assert_eq!(sources(&c, "quay.io/a/b"), ["https://mine.example", "https://quay.io"]);
        assert!(c.warnings.iter().any(|w| w.contains("not used")), "{:?}", c.warnings);
        let mut c = Config::default();
        let f = FileConfig::parse("[defaults]\nfallback = false\n", Path::new("c.toml")).unwrap();
        c.add_file(f, Path::new("c.toml")).unwrap();
        load_hosts_dir(dir.path(), &mut c).unwrap();
        assert_eq!(sources(&c, "ubuntu"), ["https://m.example"], "the air gap holds");
    }

    #[test]
    fn hosts_are_keyed_as_urls_write_them() {
        let pull_only = "capabilities = [\"pull\"]\nskip_verify = true\n";
        let default_port = format!("[host.\"https://mirror.example.com:443\"]\n{pull_only}");
        let ipv6 = format!("[host.\"https://[2001:db8:0:0::1]:5000\"]\n{pull_only}");
        for file in [default_port, ipv6] {
            let (_d, c) = hosts(&[("docker.io/hosts.toml", &file)]);
            let plan = Plan::new(&c, &"ubuntu".parse().unwrap()).unwrap();
            let m = &plan.sources[0];
            assert!(m.digest_only, "{}", m.host);
            assert_eq!(c.host(&m.host).tls_verify, Some(false), "{}", m.host);
        }
        let c = podman(
            "[[registry]]\nprefix = \"quay.io\"\n[[registry.mirror]]\nlocation = \"qm.example:443\"\ninsecure = true\n",
        );
        let plan = Plan::new(&c, &"quay.io/a/b".parse().unwrap()).unwrap();
        assert_eq!(c.host(&plan.sources[0].host).insecure, Some(true));
    }

    #[test]
    fn a_path_ending_in_v2_gets_no_second_one() {
        let (_d, c) =
            hosts(&[("docker.io/hosts.toml", "[host.\"https://mirror.example.com/v2\"]\n")]);
        let plan = Plan::new(&c, &"ubuntu".parse().unwrap()).unwrap();
        let urls = plan.manifest_urls(&plan.sources[0]);
        assert!(urls[0].starts_with("https://mirror.example.com/v2/library/ubuntu/"), "{urls:?}");
    }

    #[test]
    fn podman_prefixes_as_containers_image_reads_them() {
        let c = podman(
            "[[registry]]\nprefix = \"quay.io/\"\n[[registry.mirror]]\nlocation = \"qm.example\"\n",
        );
        assert_eq!(
            sources(&c, "quay.io/a/b"),
            ["https://qm.example", "https://quay.io"],
            "{:?}",
            c.warnings
        );
        let twice = "[[registry]]\nprefix = \"quay.io\"\n[[registry.mirror]]\nlocation = \"first.example\"\n\
                     [[registry]]\nprefix = \"quay.io\"\n[[registry.mirror]]\nlocation = \"second.example\"\n";
        let c = podman(twice);
        assert_eq!(sources(&c, "quay.io/a/b"), ["https://first.example", "https://quay.io"]);
        assert!(c.warnings.iter().any(|w| w.contains("second entry")), "{:?}", c.warnings);
    }

    #[test]
    fn config_toml_defaults_are_not_shadowed_by_a_directory_with_nothing_to_say() {
        let airgap =
            "[defaults]\nmirrors = [\"https://registry.airgap.example\"]\nfallback = false\n";
        for (toml, dir, want) in [
            (airgap, ("docker.io/ca.crt", "pem"), "https://registry.airgap.example"),
            (
                "[defaults]\nmirrors = [\"https://mine.example\"]\n",
                ("quay.io/hosts.toml", "ca = \"ca.pem\"\n"),
                "https://mine.example",
            ),
        ] {
            let d = tree(&[dir, ("_default/hosts.toml", CACHE)]);
            let mut c = Config::default();
            c.add_file(FileConfig::parse(toml, Path::new("c.toml")).unwrap(), Path::new("c.toml"))
                .unwrap();
            load_hosts_dir(d.path(), &mut c).unwrap();
            let reference = if dir.0.starts_with("docker.io") { "ubuntu" } else { "quay.io/a/b" };
            assert_eq!(sources(&c, reference)[0], want);
        }
    }

    #[test]
    fn podman_rules_end_with_the_registry_even_after_a_default_server() {
        let d = tree(&[
            ("_default/hosts.toml", CACHE),
            (
                "registries.conf",
                "[[registry]]\nprefix = \"quay.io\"\n[[registry.mirror]]\nlocation = \"qm.example\"\n",
            ),
        ]);
        let mut c = Config::default();
        load_hosts_dir(d.path(), &mut c).unwrap();
        load_registries_conf(&d.path().join("registries.conf"), &mut c).unwrap();
        assert_eq!(sources(&c, "quay.io/a/b"), ["https://qm.example", "https://quay.io"]);
    }
}
