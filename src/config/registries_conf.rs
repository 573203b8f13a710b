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
//! with a warning naming the entry, and so is every key podman does not
//! have.
//!
//! Locations are imported without a scheme, so ocimirror's usual rule
//! applies: HTTPS, except plain HTTP for loopback hosts (as docker and podman
//! treat `localhost`) and hosts with `plain_http = true` in config.toml.
//! Podman's `insecure` (unverified TLS, and plain HTTP when HTTPS cannot
//! connect) is ours too. Unlike containerd, podman has no notion of
//! trusting a mirror for tags, so mirrors keep ocimirror's default trust.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::containerd::serves;
use super::toml_file::{self, KeyPath, Part};
use super::{Config, HostConfig, HostPort, MirrorEntry, RegistryRule, imported_registry};
use crate::error::{Error, Result};
use crate::text::redacted_url;

/// Top-level settings podman reads that are not about mirrors (search
/// registries, aliases, short-name mode, credential helpers): ignored
/// without a warning.
const NOT_ABOUT_MIRRORS: [&str; 5] = [
    "unqualified-search-registries",
    "short-name-mode",
    "credential-helpers",
    "additional-layer-store-auth-helper",
    "aliases",
];

/// One registries.conf (or drop-in) file.
#[derive(Deserialize)]
struct RegistriesFile {
    #[serde(default)]
    registry: Vec<RegistryTable>,
    /// The deprecated version 1 format's `[registries.search]` and friends.
    registries: Option<toml::Value>,
}

/// A `[[registry]]` table.
#[derive(Debug, Deserialize)]
struct RegistryTable {
    prefix: Option<String>,
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default, rename = "mirror-by-digest-only")]
    mirror_by_digest_only: bool,
    #[serde(default)]
    mirror: Vec<MirrorTable>,
}

/// A `[[registry.mirror]]` table.
#[derive(Debug, Deserialize)]
struct MirrorTable {
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default, rename = "pull-from-mirror")]
    pull_from_mirror: PullFromMirror,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
enum PullFromMirror {
    #[default]
    #[serde(rename = "all", alias = "")]
    All,
    #[serde(rename = "digest-only")]
    DigestOnly,
    #[serde(rename = "tag-only")]
    TagOnly,
}

/// A `[[registry]]` with where it is: the `n`th in `file`.
struct Entry {
    file: String,
    n: usize,
    /// Its prefix, or as in podman its location without one; trimmed.
    prefix: Option<String>,
    table: RegistryTable,
}

impl Entry {
    fn new(file: &str, n: usize, table: RegistryTable) -> Entry {
        let prefix = [&table.prefix, &table.location]
            .into_iter()
            .flatten()
            .map(|s| trimmed(s))
            .find(|s| !s.is_empty())
            .map(str::to_string);
        Entry { file: file.to_string(), n, prefix, table }
    }

    /// How messages name the entry: by prefix when it has one.
    fn label(&self) -> String {
        match &self.prefix {
            Some(p) => entry_label(&self.file, p),
            None => format!("{} [[registry]] number {}", self.file, self.n),
        }
    }
}

fn entry_label(file: &str, prefix: &str) -> String {
    format!("{file} {}", prefix_label(prefix))
}

fn prefix_label(prefix: &str) -> String {
    format!("[[registry]] prefix=\"{}\"", redacted_url(prefix))
}

/// Reads the `[[registry]]` tables of a registries.conf, and of its drop-in
/// files, into `config`. Other top-level settings are not about mirrors
/// and are ignored.
///
/// Drop-ins are as in containers-registries.conf.d(5): the `.conf` files
/// of the directory named like the file plus `.d`, in name order; a
/// `[[registry]]` with the prefix of an earlier one replaces it, others
/// are added.
pub fn load_registries_conf(path: &Path, config: &mut Config) -> Result<()> {
    let mut files = vec![path.to_path_buf()];
    files.extend(drop_ins(path)?);
    let mut warnings = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    for file in &files {
        for entry in registry_tables(file, &mut warnings)? {
            // A later file's entry replaces an earlier file's; a second one
            // in the same file is warned about and skipped (`import_entry`).
            let same = |e: &&mut Entry| {
                entry.prefix.is_some() && e.prefix == entry.prefix && e.file != entry.file
            };
            match entries.iter_mut().find(same) {
                Some(earlier) => *earlier = entry,
                None => entries.push(entry),
            }
        }
    }
    let mut seen = BTreeSet::new();
    for entry in &entries {
        import_entry(entry, &mut seen, config, &mut warnings)?;
    }
    config.files.extend(files);
    config.warnings.extend(warnings);
    config.settle_schemes();
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

/// The `[[registry]]` tables of one file, numbered from 1; its unknown
/// keys become warnings.
fn registry_tables(path: &Path, warnings: &mut Vec<String>) -> Result<Vec<Entry>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {file}: {e}")))?;
    let mut unknown = Vec::new();
    let doc: RegistriesFile = toml_file::parse(&text, &mut |p| unknown.push(p)).map_err(|e| {
        let key = error_key(&text, &e.path);
        e.into_error(&file, &text, &key)
    })?;
    if doc.registries.is_some() {
        return Err(Error::Config(format!(
            "{file}: this is the deprecated version 1 format ([registries.search] and friends); \
             only the version 2 format ([[registry]] tables) is read"
        )));
    }
    let entries: Vec<Entry> =
        doc.registry.into_iter().enumerate().map(|(i, t)| Entry::new(&file, i + 1, t)).collect();
    warnings.extend(unknown.iter().filter_map(|p| unknown_key_warning(&file, &entries, p)));
    Ok(entries)
}

/// A key podman does not have, named within its entry (`mirror.x` for one
/// in a `[[registry.mirror]]`, as they have no names of their own).
fn unknown_key_warning(file: &str, entries: &[Entry], path: &KeyPath) -> Option<String> {
    match path.0.as_slice() {
        [Part::Key(k)] if NOT_ABOUT_MIRRORS.contains(&k.as_str()) => None,
        [Part::Key(r), Part::Index(i), rest @ ..] if r == "registry" && !rest.is_empty() => {
            let label = entries.get(*i).map_or_else(|| file.to_string(), Entry::label);
            let key = match rest {
                [Part::Key(m), Part::Index(_), tail @ ..] if m == "mirror" => {
                    format!("mirror.{}", KeyPath(tail.to_vec()))
                }
                _ => KeyPath(rest.to_vec()).to_string(),
            };
            Some(format!("{label}: ignoring unknown key {key}"))
        }
        _ => Some(format!("{file}: ignoring unknown key {path}")),
    }
}

/// How an error at `path` names its key: within its `[[registry]]`, named
/// by prefix. The typed read failed, so the prefix is looked up in the file
/// read as plain TOML.
fn error_key(text: &str, path: &KeyPath) -> String {
    let [Part::Key(r), Part::Index(i), rest @ ..] = path.0.as_slice() else {
        return path.to_string();
    };
    if r != "registry" {
        return path.to_string();
    }
    let table = toml::from_str::<toml::Table>(text).ok();
    let entry = table.as_ref().and_then(|t| t.get("registry")?.as_array()?.get(*i)?.as_table());
    let prefix = entry.and_then(|e| {
        ["prefix", "location"]
            .iter()
            .filter_map(|k| e.get(*k)?.as_str().map(trimmed))
            .find(|p| !p.is_empty())
    });
    let label = match prefix {
        Some(p) => prefix_label(p),
        None => format!("[[registry]] number {}", i + 1),
    };
    format!("{label} {}", KeyPath(rest.to_vec()))
}

/// One `[[registry]]`: a rule for its registry, when podman would use it
/// for a registry as a whole.
fn import_entry(
    entry: &Entry,
    seen: &mut BTreeSet<HostPort>,
    config: &mut Config,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let t = &entry.table;
    let Some(prefix) = &entry.prefix else {
        return Err(Error::Config(format!("{}: needs a prefix or a location", entry.label())));
    };
    let at = entry.label();
    if t.blocked {
        warnings
            .push(format!("{at}: blocked is not supported; ocimirror pulls these images as usual"));
    }
    let Some(registry) = entry_registry(prefix, &at, warnings) else { return Ok(()) };
    if !seen.insert(registry.clone()) {
        // Podman refuses such a file; we keep the first entry.
        warnings.push(format!("{at}: a second entry for {registry}; skipped"));
        return Ok(());
    }
    let Some(location) = entry_location(t.location.as_deref(), prefix, &at, warnings) else {
        return Ok(());
    };
    if t.insecure {
        config.add_host(&location, HostConfig { insecure: Some(true), ..HostConfig::default() });
    }
    // podman always ends with the registry's own location; an air gap in
    // config.toml still holds.
    let mut rule = RegistryRule {
        origin: at.clone(),
        fallback: (!config.air_gapped).then_some(true),
        ..RegistryRule::default()
    };
    if !serves(registry.as_str(), location.as_str()) {
        rule.set_endpoint(location.as_str())?;
    }
    for mirror in &t.mirror {
        if let Some(m) = import_mirror(&at, mirror, t.mirror_by_digest_only, config, warnings)? {
            rule.mirrors.push(m);
        }
    }
    if !rule.mirrors.is_empty() || rule.endpoint.is_some() {
        config.add_rule(Some(&registry), rule);
    }
    Ok(())
}

/// The registry a prefix names, when it names a whole one that references
/// can have; else the entry is skipped with a warning.
fn entry_registry(prefix: &str, at: &str, warnings: &mut Vec<String>) -> Option<HostPort> {
    let skipped = if prefix.contains('*') {
        "wildcard prefixes are not supported".to_string()
    } else if prefix.contains("://") {
        "a prefix is a registry name, not a URL (podman refuses schemes)".to_string()
    } else if prefix.contains(['/', '@']) {
        "prefixes with a repository path are not supported (ocimirror's rules are per registry)"
            .to_string()
    } else {
        match imported_registry(prefix) {
            Ok(registry) => return Some(registry),
            Err(why) => why.to_string(),
        }
    };
    warnings.push(format!("{at}: {skipped}; entry skipped"));
    None
}

/// The host an entry's location names (the prefix's without one). With a
/// path it remaps repositories, which we cannot follow: falling back to the
/// prefix's registry instead could pull other content, so the entry is
/// skipped.
fn entry_location(
    location: Option<&str>,
    prefix: &str,
    at: &str,
    warnings: &mut Vec<String>,
) -> Option<HostPort> {
    let location = location.map(trimmed).filter(|l| !l.is_empty()).unwrap_or(prefix);
    let shown = redacted_url(location);
    let skipped = if location.contains("://") {
        format!("location {shown} is a URL, which podman refuses (write the host without a scheme)")
    } else if location.contains(['/', '@', '*']) {
        format!(
            "location {shown} has a repository path (a namespace remap), which is not supported"
        )
    } else {
        match HostPort::parse(location) {
            Ok(host) => return Some(host),
            Err(why) => format!("location {shown} {why}"),
        }
    };
    warnings.push(format!("{at}: {skipped}; entry skipped"));
    None
}

/// One `[[registry.mirror]]` table of the entry named by `at`; `None` when
/// it is skipped.
fn import_mirror(
    at: &str,
    mirror: &MirrorTable,
    by_digest: bool,
    config: &mut Config,
    warnings: &mut Vec<String>,
) -> Result<Option<MirrorEntry>> {
    let Some(location) = mirror.location.as_deref().map(trimmed).filter(|l| !l.is_empty()) else {
        return Err(Error::Config(format!("{at}: a [[registry.mirror]] has no location")));
    };
    let shown = redacted_url(location);
    let skipped = if location.contains("://") {
        Some(format!(
            "mirror {shown} is a URL, which podman refuses (write the host without a scheme)"
        ))
    } else if location.contains(['/', '@', '*']) {
        Some(format!(
            "mirror {shown} has a repository path (a namespace remap), which is not supported"
        ))
    } else {
        None
    };
    if let Some(why) = skipped {
        warnings.push(format!("{at}: {why}; mirror skipped"));
        return Ok(None);
    }
    let tag_only = mirror.pull_from_mirror == PullFromMirror::TagOnly;
    if tag_only && by_digest {
        // Podman rejects this combination.
        return Err(Error::Config(format!(
            "{at}: mirror {shown} is tag-only but the registry is mirror-by-digest-only"
        )));
    }
    if tag_only {
        warnings.push(format!(
            "{at}: pull-from-mirror = \"tag-only\" for {shown} is not supported; the mirror is \
             also asked for content by digest"
        ));
    }
    let host = match HostPort::parse(location) {
        Ok(host) => host,
        Err(why) => {
            warnings.push(format!("{at}: mirror {shown} {why}; mirror skipped"));
            return Ok(None);
        }
    };
    let mut settings = HostConfig::default();
    if mirror.insecure {
        settings.insecure = Some(true);
    }
    if by_digest || mirror.pull_from_mirror == PullFromMirror::DigestOnly {
        settings.digest_only = Some(true);
    }
    if settings != HostConfig::default() {
        config.add_host(&host, settings);
    }
    Ok(Some(MirrorEntry::new(host.as_str(), at)?))
}

/// A prefix or location as containers-image reads it: no surrounding blanks,
/// no trailing `/`.
fn trimmed(s: &str) -> &str {
    s.trim().trim_end_matches('/')
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

    #[test]
    fn unknown_keys_are_warned_about_by_path_and_podmans_others_are_not() {
        let c = load(
            "short-name-mode = \"enforcing\"\nregistires = []\n\
             [[registry]]\nprefix = \"quay.io\"\npull-from-mirror = \"all\"\n\
             [[registry.mirror]]\nlocation = \"m.example\"\ncolour = \"red\"\n",
        )
        .unwrap();
        let mut w = c.warnings.clone();
        w.sort();
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].ends_with("registries.conf [[registry]] prefix=\"quay.io\": ignoring unknown key mirror.colour"), "{w:?}");
        assert!(
            w[1].ends_with("prefix=\"quay.io\": ignoring unknown key pull-from-mirror"),
            "{w:?}"
        );
        assert!(w[2].ends_with("registries.conf: ignoring unknown key registires"), "{w:?}");
    }

    #[test]
    fn entries_no_reference_can_match_or_with_urls_are_skipped() {
        let c = load(
            "[[registry]]\nprefix = \"index.docker.io\"\n[[registry.mirror]]\nlocation = \"a.example\"\n\
             [[registry]]\nprefix = \"https://quay.io\"\n[[registry.mirror]]\nlocation = \"b.example\"\n\
             [[registry]]\nprefix = \"ghcr.io\"\nlocation = \"https://u:s3cret@copy.example\"\n\
             [[registry]]\nprefix = \"gcr.io\"\n[[registry.mirror]]\nlocation = \"http://c.example\"\n\
             [[registry.mirror]]\nlocation = \"bad host\"\n",
        )
        .unwrap();
        let has = |needle: &str| c.warnings.iter().any(|w| w.contains(needle));
        assert!(has("prefix=\"index.docker.io\": another name of Docker Hub"), "{:?}", c.warnings);
        assert!(has("prefix=\"https://quay.io\": a prefix is a registry name, not a URL"));
        assert!(has("location https://***@copy.example is a URL"));
        assert!(has("mirror http://c.example is a URL"));
        assert!(has("mirror bad host is not a valid host[:port]; mirror skipped"));
        assert!(!c.warnings.iter().any(|w| w.contains("s3cret")));
        assert!(c.registries.is_empty(), "{:?}", c.registries.keys());
    }

    #[test]
    fn errors_name_the_entry_by_prefix() {
        let err = load("[[registry]]\nlocation = \"b.io\"\n[[registry.mirror]]\nlocation = 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 4, column 12: [[registry]] prefix=\"b.io\" mirror[0].location: invalid type: integer, expected a string"), "{err}");
        let err = load("[[registry]]\nprefix = 1\n").unwrap_err().to_string();
        assert!(err.contains("[[registry]] number 1 prefix: invalid type"), "{err}");
    }
}
