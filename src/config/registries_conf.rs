//! Import of the mirrors in a podman/containers `registries.conf`
//! (containers-registries.conf(5), version 2: `[[registry]]` tables) and
//! its drop-in directory (containers-registries.conf.d(5)). Only the
//! drop-ins next to the file given are read: podman also reads the user's
//! `~/.config/containers/registries.conf.d` over the system's; pass that
//! file to read those.
//!
//! Podman picks one `[[registry]]` per image by longest `prefix`, which may
//! be a whole registry, a namespace inside one or a wildcard; ours are rules
//! per registry. So only entries whose prefix is a plain registry host are
//! imported, and mirrors must be plain hosts too (a path would remap the
//! repository namespace, which we do not do). Everything else is skipped
//! with a warning naming the entry.
//!
//! Locations are imported without a scheme, so ocimirror's usual rule
//! applies: HTTPS, except plain HTTP for loopback hosts (as docker and podman
//! treat `localhost`) and hosts with `plain_http = true` in config.toml.
//! Podman's `insecure` (unverified TLS, and plain HTTP when HTTPS cannot
//! connect) is ours too. Unlike containerd, podman has no notion of
//! trusting a mirror for tags, so mirrors keep ocimirror's default trust.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::containerd::serves;
use super::{Config, HostConfig, MirrorEntry, RegistryRule, canonical_host, host_key};
use crate::error::{Error, Result};

/// Reads the `[[registry]]` tables of a registries.conf, and of its drop-in
/// files, into `config`. Other top-level settings (search registries,
/// aliases, short-name mode, credential helpers) are not about mirrors and
/// are ignored.
///
/// Drop-ins are as in containers-registries.conf.d(5): the `.conf` files
/// of the directory named like the file plus `.d`, in name order; a
/// `[[registry]]` with the prefix of an earlier one replaces it, others
/// are added.
pub fn load_registries_conf(path: &Path, config: &mut Config) -> Result<()> {
    let mut files = vec![path.to_path_buf()];
    files.extend(drop_ins(path)?);
    // (file, its number in that file, the table, its prefix)
    let mut entries: Vec<(String, usize, Table, Option<String>)> = Vec::new();
    for file in &files {
        for (n, table) in registry_tables(file)? {
            let prefix = ["prefix", "location"]
                .iter()
                .find_map(|k| table.get(*k).and_then(Value::as_str).map(trimmed))
                .filter(|p| !p.is_empty())
                .map(str::to_string);
            let entry = (file.display().to_string(), n, table, prefix);
            // A later file's entry replaces an earlier file's; a second one
            // in the same file is warned about and skipped (`import_entry`).
            match entries.iter_mut().find(|e| entry.3.is_some() && e.3 == entry.3 && e.0 != entry.0)
            {
                Some(earlier) => *earlier = entry,
                None => entries.push(entry),
            }
        }
    }
    let mut warnings = Vec::new();
    let mut seen = BTreeSet::new();
    for (file, n, table, _) in &entries {
        import_entry(file, *n, table, &mut seen, config, &mut warnings)?;
    }
    config.files.extend(files);
    config.warnings.extend(warnings);
    Ok(())
}

/// The drop-in files of `path`: `<path>.d/*.conf`, in name order. No
/// directory, no drop-ins.
fn drop_ins(path: &Path) -> Result<Vec<PathBuf>> {
    let mut dir = path.as_os_str().to_owned();
    dir.push(".d");
    let dir = PathBuf::from(dir);
    let listing = match std::fs::read_dir(&dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Config(format!("cannot read {}: {e}", dir.display()))),
    };
    let mut files: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The `[[registry]]` tables of one file, numbered from 1.
fn registry_tables(path: &Path) -> Result<Vec<(usize, Table)>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {file}: {e}")))?;
    let mut doc: Table = toml::from_str(&text).map_err(|e| super::toml_error(&file, &text, &e))?;
    if doc.contains_key("registries") {
        return Err(Error::Config(format!(
            "{file}: this is the deprecated version 1 format ([registries.search] and friends); \
             only the version 2 format ([[registry]] tables) is read"
        )));
    }
    let not_tables = || Error::Config(format!("{file}: registry must be [[registry]] tables"));
    let entries = match doc.remove("registry") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(not_tables()),
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| match e {
            Value::Table(t) => Ok((i + 1, t)),
            _ => Err(not_tables()),
        })
        .collect()
}

/// One `[[registry]]` table (the `n`th in the file).
fn import_entry(
    file: &str,
    n: usize,
    entry: &Table,
    seen: &mut BTreeSet<String>,
    config: &mut Config,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let text = |key: &str, at: &str| -> Result<Option<String>> {
        match entry.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if trimmed(s).is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(trimmed(s).to_string())),
            Some(_) => Err(invalid(at, key, "a string")),
        }
    };
    let first_at = format!("{file} [[registry]] number {n}");
    let location = text("location", &first_at)?;
    // As in podman, a missing prefix means the location.
    let Some(prefix) = text("prefix", &first_at)?.or_else(|| location.clone()) else {
        return Err(Error::Config(format!("{first_at}: needs a prefix or a location")));
    };
    let at = format!("{file} [[registry]] prefix=\"{prefix}\"");
    let flag = |key: &str| -> Result<bool> {
        match entry.get(key) {
            None => Ok(false),
            Some(v) => v.as_bool().ok_or_else(|| invalid(&at, key, "true or false")),
        }
    };
    let insecure = flag("insecure")?;
    let by_digest = flag("mirror-by-digest-only")?;
    for key in entry.keys() {
        let known =
            ["prefix", "location", "insecure", "blocked", "mirror-by-digest-only", "mirror"];
        if !known.contains(&key.as_str()) {
            warnings.push(format!("{at}: ignoring unknown key {key}"));
        }
    }
    if flag("blocked")? {
        warnings
            .push(format!("{at}: blocked is not supported; ocimirror pulls these images as usual"));
    }
    if prefix.contains('*') {
        warnings.push(format!("{at}: wildcard prefixes are not supported; entry skipped"));
        return Ok(());
    }
    if prefix.contains(['/', '@']) {
        warnings.push(format!(
            "{at}: prefixes with a repository path are not supported (ocimirror's rules are per \
             registry); entry skipped"
        ));
        return Ok(());
    }
    let registry = host_key(&prefix);
    if !seen.insert(registry.clone()) {
        // Podman refuses such a file; we keep the first entry.
        warnings.push(format!("{at}: a second entry for {registry}; skipped"));
        return Ok(());
    }
    // The location is where podman goes for the registry itself. With a path
    // it remaps repositories, which we cannot follow: falling back to the
    // prefix's registry instead could pull other content, so skip it all.
    let location = location.map(|l| l.trim_end_matches('/').to_string()).unwrap_or(prefix.clone());
    if location.contains(['/', '@', '*']) {
        warnings.push(format!(
            "{at}: location {location} has a repository path (a namespace remap), which is not \
             supported; entry skipped"
        ));
        return Ok(());
    }
    let location_host = canonical_host(&location);
    if insecure {
        config
            .add_host(&location_host, HostConfig { insecure: Some(true), ..HostConfig::default() });
    }
    // podman always ends with the registry's own location; an air gap in
    // config.toml still holds.
    let mut rule = RegistryRule {
        origin: at.clone(),
        fallback: (!config.air_gapped).then_some(true),
        ..RegistryRule::default()
    };
    if !serves(&registry, &location_host) {
        rule.endpoint = Some(location_host.to_string());
    }

    let mirrors = match entry.get("mirror") {
        None => &Vec::new(),
        Some(Value::Array(m)) => m,
        Some(_) => return Err(invalid(&at, "mirror", "[[registry.mirror]] tables")),
    };
    for mirror in mirrors {
        let Value::Table(mirror) = mirror else {
            return Err(invalid(&at, "mirror", "[[registry.mirror]] tables"));
        };
        if let Some(m) = import_mirror(&at, mirror, by_digest, config, warnings)? {
            rule.mirrors.push(m);
        }
    }
    if !rule.mirrors.is_empty() || rule.endpoint.is_some() {
        config.add_rule(Some(&registry), rule);
    }
    Ok(())
}

/// One `[[registry.mirror]]` table of the entry named by `at`; `None` when
/// it is skipped.
fn import_mirror(
    at: &str,
    mirror: &Table,
    by_digest: bool,
    config: &mut Config,
    warnings: &mut Vec<String>,
) -> Result<Option<MirrorEntry>> {
    let mut location = None;
    let mut host = HostConfig::default();
    let mut tag_only = false;
    for (key, value) in mirror {
        let bad = |expected: &str| invalid(at, &format!("mirror.{key}"), expected);
        match key.as_str() {
            "location" => location = Some(value.as_str().ok_or_else(|| bad("a string"))?.trim()),
            "insecure" => {
                if value.as_bool().ok_or_else(|| bad("true or false"))? {
                    host.insecure = Some(true);
                }
            }
            "pull-from-mirror" => match value.as_str().ok_or_else(|| bad("a string"))? {
                "" | "all" => {}
                "digest-only" => host.digest_only = Some(true),
                "tag-only" => tag_only = true,
                _ => return Err(bad("\"all\", \"digest-only\" or \"tag-only\"")),
            },
            _ => warnings.push(format!("{at}: ignoring unknown key mirror.{key}")),
        }
    }
    let location = match location {
        Some(l) if !l.is_empty() => l.trim_end_matches('/'),
        _ => return Err(Error::Config(format!("{at}: a [[registry.mirror]] has no location"))),
    };
    if location.contains(['/', '@', '*']) {
        warnings.push(format!(
            "{at}: mirror {location} has a repository path (a namespace remap), which is not \
             supported; mirror skipped"
        ));
        return Ok(None);
    }
    if tag_only && by_digest {
        // Podman rejects this combination.
        return Err(Error::Config(format!(
            "{at}: mirror {location} is tag-only but the registry is mirror-by-digest-only"
        )));
    }
    if tag_only {
        warnings.push(format!(
            "{at}: pull-from-mirror = \"tag-only\" for {location} is not supported; the mirror is \
             also asked for content by digest"
        ));
    }
    if by_digest {
        host.digest_only = Some(true);
    }
    let location = canonical_host(location);
    if host != HostConfig::default() {
        config.add_host(&location, host);
    }
    Ok(Some(MirrorEntry { url: location.to_string(), origin: at.to_string() }))
}

/// A prefix or location as containers-image reads it: no surrounding blanks,
/// no trailing `/`.
fn trimmed(s: &str) -> &str {
    s.trim().trim_end_matches('/')
}

fn invalid(at: &str, key: &str, expected: &str) -> Error {
    Error::Config(format!("{at}: {key} must be {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registries.conf");
        std::fs::write(&path, text).unwrap();
        let mut c = Config::default();
        load_registries_conf(&path, &mut c)?;
        Ok(c)
    }

    const CONF: &str = r#"
        unqualified-search-registries = ["docker.io", "quay.io"]
        short-name-mode = "enforcing"

        [[registry]]
        prefix = "docker.io"
        location = "registry-1.docker.io"
        mirror-by-digest-only = false

        [[registry.mirror]]
        location = "zz-mirror.example.com"

        [[registry.mirror]]
        location = "aa-mirror.example.com:5000"
        insecure = true
        pull-from-mirror = "digest-only"

        [[registry]]
        location = "quay.io"
        mirror-by-digest-only = true

        [[registry.mirror]]
        location = "quay-mirror.example.com"

        [[registry]]
        prefix = "gcr.io"
        location = "gcr-copy.example.com"
        insecure = true

        [aliases]
        "fedora" = "registry.fedoraproject.org/fedora"
    "#;

    #[test]
    fn mirrors_in_order_with_their_settings() {
        let c = load(CONF).unwrap();
        let hub = c.rule_for("docker.io");
        let urls: Vec<_> = hub.mirrors.iter().map(|m| m.url.as_str()).collect();
        assert_eq!(urls, ["zz-mirror.example.com", "aa-mirror.example.com:5000"]);
        assert!(
            hub.mirrors[0].origin.ends_with("registries.conf [[registry]] prefix=\"docker.io\"")
        );
        assert_eq!(hub.endpoint, None, "registry-1.docker.io serves docker.io");
        let aa = c.host("aa-mirror.example.com:5000");
        assert_eq!((aa.digest_only, aa.insecure, aa.trusted), (Some(true), Some(true), None));
        assert_eq!(c.host("zz-mirror.example.com"), HostConfig::default());
        // mirror-by-digest-only applies to every mirror of the entry.
        assert_eq!(c.rule_for("quay.io").mirrors[0].url, "quay-mirror.example.com");
        assert_eq!(c.host("quay-mirror.example.com").digest_only, Some(true));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.files.len(), 1);
    }

    #[test]
    fn a_different_location_is_an_endpoint() {
        let c = load(CONF).unwrap();
        let gcr = c.rule_for("gcr.io");
        assert_eq!(gcr.endpoint.as_deref(), Some("gcr-copy.example.com"));
        assert!(gcr.mirrors.is_empty());
        assert_eq!(c.host("gcr-copy.example.com").insecure, Some(true));
    }

    #[test]
    fn unsupported_entries_are_skipped_with_warnings() {
        let c = load(
            r#"
            [[registry]]
            prefix = "docker.io/library"
            [[registry.mirror]]
            location = "lib-mirror.example.com"

            [[registry]]
            prefix = "*.example.com"
            blocked = true

            [[registry]]
            prefix = "remapped.example.com"
            location = "internal.example.com/remapped"

            [[registry]]
            prefix = "quay.io"
            blocked = true
            color = "blue"
            [[registry.mirror]]
            location = "mirror.example.com/quay"
            [[registry.mirror]]
            location = "tags.example.com"
            pull-from-mirror = "tag-only"
            "#,
        )
        .unwrap();
        let has = |needle: &str| c.warnings.iter().any(|w| w.contains(needle));
        assert!(has("prefix=\"docker.io/library\": prefixes with a repository path"));
        assert!(has("prefix=\"*.example.com\": wildcard"));
        assert!(has("internal.example.com/remapped"));
        assert!(has("mirror.example.com/quay has a repository path"));
        assert!(has("tag-only"));
        assert!(has("prefix=\"quay.io\": blocked is not supported"));
        assert!(has("prefix=\"quay.io\": ignoring unknown key color"));
        assert!(c.rule_for("docker.io").mirrors.is_empty());
        assert!(!c.registries.contains_key("remapped.example.com"));
        let urls: Vec<_> = c.rule_for("quay.io").mirrors.iter().map(|m| m.url.clone()).collect();
        assert_eq!(urls, ["tags.example.com"]);
    }

    #[test]
    fn drop_ins_replace_entries_by_prefix_and_add_others_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registries.conf");
        std::fs::write(&path, CONF).unwrap();
        let d = dir.path().join("registries.conf.d");
        std::fs::create_dir(&d).unwrap();
        let entry = |prefix: &str, mirror: &str| {
            format!(
                "[[registry]]\nprefix = \"{prefix}\"\n[[registry.mirror]]\nlocation = \"{mirror}\"\n"
            )
        };
        // Name order: 10-hub replaces the main file's docker.io entry, then
        // 20-hub replaces that; 10-hub also adds ghcr.io.
        std::fs::write(d.join("20-hub.conf"), entry("docker.io", "second.example.com")).unwrap();
        let first =
            entry("docker.io", "first.example.com") + &entry("ghcr.io", "ghcr-mirror.example.com");
        std::fs::write(d.join("10-hub.conf"), first).unwrap();
        // Not a .conf file, and a directory: both ignored.
        std::fs::write(d.join("30-hub.conf.bak"), entry("docker.io", "ignored.example.com"))
            .unwrap();
        std::fs::create_dir(d.join("40-dir.conf")).unwrap();
        let mut c = Config::default();
        load_registries_conf(&path, &mut c).unwrap();
        let urls = |r: &str| -> Vec<String> {
            c.rule_for(r).mirrors.iter().map(|m| m.url.clone()).collect()
        };
        assert_eq!(urls("docker.io"), ["second.example.com"]);
        assert!(
            c.rule_for("docker.io").origin.contains("20-hub.conf"),
            "{}",
            c.rule_for("docker.io").origin
        );
        assert_eq!(urls("ghcr.io"), ["ghcr-mirror.example.com"]);
        assert_eq!(urls("quay.io"), ["quay-mirror.example.com"], "untouched entries stay");
        assert_eq!(c.files, [path, d.join("10-hub.conf"), d.join("20-hub.conf")]);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // A drop-in in the old format is an error naming it.
        std::fs::write(d.join("50-old.conf"), "[registries.search]\nregistries = []\n").unwrap();
        let err = load_registries_conf(&dir.path().join("registries.conf"), &mut Config::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("50-old.conf") && err.contains("version 2"), "{err}");
    }

    #[test]
    fn invalid_files_are_errors_naming_the_file() {
        let v1 = "[registries.search]\nregistries = ['docker.io']\n";
        let err = load(v1).unwrap_err().to_string();
        assert!(err.contains("registries.conf") && err.contains("version 2"), "{err}");
        let err =
            load("[[registry]]\nprefix = \"a.io\"\ninsecure = \"yes\"\n").unwrap_err().to_string();
        assert!(err.contains("prefix=\"a.io\"") && err.contains("insecure"), "{err}");
        let err = load("[[registry]]\ninsecure = true\n").unwrap_err().to_string();
        assert!(err.contains("prefix or a location"), "{err}");
        let err = load("[[registry]]\nprefix = \"a.io\"\n[[registry.mirror]]\npull-from-mirror = \"some\"\nlocation = \"m\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("pull-from-mirror"), "{err}");
        assert!(load("[[registry\n").unwrap_err().to_string().contains("registries.conf"));
        let mut c = Config::default();
        let err =
            load_registries_conf(Path::new("/nonexistent/registries.conf"), &mut c).unwrap_err();
        assert!(err.to_string().starts_with("cannot read /nonexistent/registries.conf"));
    }
}
