//! `Config::load`: every source in order of reading (config.toml, a
//! containerd hosts directory, a podman registries.conf, the command line)
//! and the command line's overrides, applied in one place, last: they win.

use std::path::PathBuf;

use super::{
    Config, FileConfig, HostPort, MirrorEntry, containerd, read_optional, registries_conf, seconds,
};
use crate::error::{Error, Result};

/// What the command line says about the configuration. A plain struct, so
/// the library can be driven without clap.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// The config.toml to read: the one named (`--config`,
    /// `$OCIMIRROR_CONFIG`) or the default path.
    pub config_file: Option<PathBuf>,
    /// Whether `config_file` was named: then it must exist.
    pub config_explicit: bool,
    pub hosts_dir: Option<PathBuf>,
    pub registries_conf: Option<PathBuf>,
    /// `--mirror` URLs, in order. Without any, `$OCIMIRROR_MIRRORS`
    /// (`url,url`) is read.
    pub mirrors: Vec<String>,
    /// `--only-mirrors`: the `--mirror` URLs and no configured mirror.
    pub only_mirrors: bool,
    pub no_mirrors: bool,
    pub no_fallback: bool,
    pub require_confirmed: bool,
    /// Seconds, as given; checked by `load`.
    pub connect_timeout: Option<f64>,
    pub response_timeout: Option<f64>,
    pub stall_timeout: Option<f64>,
    pub body_timeout: Option<f64>,
    /// Bytes a second.
    pub speed_limit: Option<u64>,
    /// Bytes.
    pub split_threshold: Option<u64>,
    pub retries: Option<u32>,
    pub credentials: crate::credentials::CredentialOptions,
}

impl Config {
    /// The configuration from every source. Anything malformed is an error
    /// here, before a plan is made: a bad file or key is a config error, a
    /// bad `--mirror` or `$OCIMIRROR_MIRRORS` URL a usage error (both exit
    /// 2). Warnings are logged, and kept for `ocimirror mirrors`.
    pub fn load(overrides: &Overrides) -> Result<Config> {
        let mut c = Config::default();
        if let Some(path) = &overrides.config_file
            && let Some(text) = read_optional(path, overrides.config_explicit)?
        {
            c.add_file(FileConfig::parse(&text, path)?, path)?;
        }
        if let Some(dir) = &overrides.hosts_dir {
            containerd::load_hosts_dir(dir, &mut c)?;
        }
        if let Some(file) = &overrides.registries_conf {
            registries_conf::load_registries_conf(file, &mut c)?;
        }
        c.cli_mirrors = command_line_mirrors(&overrides.mirrors)?;
        if overrides.only_mirrors {
            // The sources' settings ([hosts."..."]) still apply; their lists do not.
            c.default_rule.mirrors.clear();
            c.registries.values_mut().for_each(|r| r.mirrors.clear());
        }
        overrides.credentials.check()?;
        c.credentials = overrides.credentials.clone();
        c.no_mirrors = overrides.no_mirrors;
        c.no_fallback = overrides.no_fallback;
        c.require_confirmed = overrides.require_confirmed;
        c.apply_network_overrides(overrides)?;
        c.settle_schemes();
        c.warn_about_unused_hosts();
        for w in &c.warnings {
            tracing::warn!("{w}");
        }
        Ok(c)
    }

    fn apply_network_overrides(&mut self, o: &Overrides) -> Result<()> {
        // Flags win, over per-host settings too.
        if let Some(v) = o.connect_timeout {
            self.network.connect_timeout = seconds("--connect-timeout", v)?;
            self.hosts.values_mut().for_each(|h| h.connect_timeout = None);
        }
        if let Some(v) = o.response_timeout {
            self.network.response_timeout = seconds("--response-timeout", v)?;
            self.hosts.values_mut().for_each(|h| h.response_timeout = None);
        }
        if let Some(v) = o.stall_timeout {
            self.network.stall_timeout = seconds("--stall-timeout", v)?;
        }
        if let Some(v) = o.body_timeout {
            self.network.body_timeout = seconds("--body-timeout", v)?;
        }
        if let Some(v) = o.speed_limit {
            self.network.speed_limit = v;
        }
        if let Some(v) = o.split_threshold {
            self.network.split_threshold = v;
        }
        if let Some(v) = o.retries {
            self.network.retries = v;
        }
        Ok(())
    }

    /// Host settings that nothing can reach. Most hosts could be pulled
    /// from directly, or be a token service or a redirect target, so only
    /// one is plainly unused: `index.docker.io`, which references turn into
    /// `docker.io` (served by registry-1.docker.io), unless a configured
    /// mirror or endpoint is there. A warning rather than an error: a
    /// `--mirror` on another run may be there.
    fn warn_about_unused_hosts(&mut self) {
        let Ok(alias) = HostPort::parse("index.docker.io") else { return };
        if !self.hosts.contains_key(&alias) {
            return;
        }
        let rules = self.registries.values().chain(std::iter::once(&self.default_rule));
        let mut sources = rules
            .flat_map(|r| r.mirrors.iter().map(|m| &m.base).chain(r.endpoint_base.as_ref()))
            .chain(self.cli_mirrors.iter().map(|m| &m.base));
        if !sources.any(|s| s.host() == alias) {
            self.warnings.push(
                "[hosts.\"index.docker.io\"]: never used: references name Docker Hub docker.io, \
                 which registry-1.docker.io serves, and no mirror or endpoint is on \
                 index.docker.io; write [hosts.\"docker.io\"]"
                    .to_string(),
            );
        }
    }
}

/// `--mirror` flags, else `$OCIMIRROR_MIRRORS`, each checked like a
/// configured mirror; a bad one is a usage error.
fn command_line_mirrors(flags: &[String]) -> Result<Vec<MirrorEntry>> {
    let (urls, origin): (Vec<String>, &str) = if flags.is_empty() {
        let Some(list) = std::env::var_os("OCIMIRROR_MIRRORS") else { return Ok(Vec::new()) };
        let list = list
            .into_string()
            .map_err(|_| Error::Usage("OCIMIRROR_MIRRORS is not valid UTF-8".into()))?;
        let urls = list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        (urls.collect(), "OCIMIRROR_MIRRORS")
    } else {
        (flags.to_vec(), "--mirror")
    };
    urls.iter()
        .map(|url| MirrorEntry::new(url, origin).map_err(|e| Error::Usage(e.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::containerd::tests::tree;
    use std::time::Duration;

    fn with_file(text: &str) -> (tempfile::TempDir, Overrides) {
        let dir = tree(&[("config.toml", text)]);
        let o = Overrides {
            config_file: Some(dir.path().join("config.toml")),
            config_explicit: true,
            ..Overrides::default()
        };
        (dir, o)
    }

    #[test]
    fn flags_win_over_files_and_per_host_settings() {
        let (_d, mut o) = with_file(
            "[network]\nconnect_timeout = 7\n[hosts.\"m.example\"]\nresponse_timeout = 30\n",
        );
        o.response_timeout = Some(1.0);
        o.retries = Some(1);
        o.mirrors = vec!["m.example".into(), "localhost:5000".into()];
        let c = Config::load(&o).unwrap();
        assert_eq!(c.network.connect_timeout, Duration::from_secs(7));
        let m = c.host("m.example");
        assert_eq!(
            c.network_for("m.example", &m).unwrap().response_timeout,
            Duration::from_secs(1)
        );
        assert_eq!(c.network.retries, 1);
        let bases: Vec<_> = c.cli_mirrors.iter().map(|m| m.base.url().as_str()).collect();
        assert_eq!(bases, ["https://m.example/", "http://localhost:5000/"]);
        assert_eq!(c.cli_mirrors[0].origin, "--mirror");
    }

    #[test]
    fn only_mirrors_drops_the_configured_lists_and_keeps_the_flags() {
        let (_d, mut o) = with_file(
            "[defaults]\nmirrors = [\"https://a.example\"]\n\
             [registries.\"quay.io\"]\nmirrors = [\"https://b.example\"]\n",
        );
        o.mirrors = vec!["https://c.example".into()];
        o.only_mirrors = true;
        let c = Config::load(&o).unwrap();
        assert!(c.default_rule.mirrors.is_empty());
        assert!(c.rule_for("quay.io").mirrors.is_empty());
        assert_eq!(c.cli_mirrors.len(), 1);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        let o = Overrides { mirrors: vec!["http//host:5000".into()], ..Overrides::default() };
        match Config::load(&o) {
            Err(Error::Usage(m)) => assert_eq!(
                m,
                "mirror \"http//host:5000\" in --mirror: looks like a scheme without its colon; \
                 write http://host:5000"
            ),
            other => panic!("{other:?}"),
        }
        let o = Overrides { connect_timeout: Some(0.0), ..Overrides::default() };
        let e = Config::load(&o).unwrap_err().to_string();
        assert!(e.starts_with("--connect-timeout must be"), "{e}");
    }

    #[test]
    fn a_named_file_must_exist_the_default_need_not() {
        let missing = Some(PathBuf::from("/nonexistent/ocimirror.toml"));
        let o = Overrides { config_file: missing.clone(), ..Overrides::default() };
        assert!(Config::load(&o).unwrap().files.is_empty());
        let o = Overrides { config_file: missing, config_explicit: true, ..Overrides::default() };
        let e = Config::load(&o).unwrap_err().to_string();
        assert!(e.starts_with("cannot read /nonexistent/ocimirror.toml"), "{e}");
    }

    #[test]
    fn index_docker_io_host_settings_are_warned_about_unless_a_source_is_there() {
        let (_d, o) = with_file("[hosts.\"index.docker.io\"]\nca_file = \"/ca.pem\"\n");
        let c = Config::load(&o).unwrap();
        assert!(
            c.warnings.iter().any(|w| w.starts_with("[hosts.\"index.docker.io\"]: never used")
                && w.ends_with("write [hosts.\"docker.io\"]")),
            "{:?}",
            c.warnings
        );
        let (_d, mut o) = with_file("[hosts.\"index.docker.io\"]\nca_file = \"/ca.pem\"\n");
        o.mirrors = vec!["https://index.docker.io".into()];
        assert!(Config::load(&o).unwrap().warnings.is_empty());
        let (_d, o) = with_file("[hosts.\"quay.io\"]\nca_file = \"/ca.pem\"\n");
        assert!(Config::load(&o).unwrap().warnings.is_empty(), "direct pulls use it");
    }
}
