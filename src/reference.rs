//! Image references, parsed and normalised the way docker/distribution does,
//! so that `ubuntu` and `docker.io/library/ubuntu:latest` name the same image.
//!
//! Everything is validated before any network traffic: a bad reference is a
//! usage error with a message that names the offending part.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

/// Docker Hub's canonical name, as it appears in references and in `ns`.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that actually serves Docker Hub's distribution API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The authority: `docker.io`, `quay.io`, `localhost:5000`, `[::1]:5000`.
    pub registry: String,
    /// The repository path inside the registry: `library/ubuntu`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid reference {input:?}: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

impl Reference {
    /// The fully qualified name without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What to ask the registry for: the digest when there is one (it wins
    /// over a tag), else the tag.
    pub fn target(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// Whether the manifest is named by a tag (and so only as trustworthy as
    /// whoever answers for it).
    pub fn is_by_tag(&self) -> bool {
        self.digest.is_none()
    }

    /// The base URL of the registry that owns this name (the authority).
    pub fn authority_host(&self) -> &str {
        if self.registry == DOCKER_HUB { DOCKER_HUB_API } else { &self.registry }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Reference, ReferenceError> {
        parse(input)
            .map_err(|reason| ReferenceError { input: input.chars().take(300).collect(), reason })
    }
}

fn parse(input: &str) -> Result<Reference, String> {
    if input.is_empty() {
        return Err("empty reference".into());
    }
    let (rest, digest) = match input.split_once('@') {
        Some((rest, d)) => (rest, Some(d.parse::<Digest>().map_err(|e| format!("{e}"))?)),
        None => (input, None),
    };
    // The tag is after the last ':' that comes after the last '/', so a port
    // in the registry host is never mistaken for a tag.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (&rest[..at], Some(rest[at + 1..].to_string()))
        }
        None => (rest, None),
    };
    if let Some(t) = &tag {
        check_tag(t)?;
    }
    let (registry, path) = split_registry(name)?;
    check_path(&path)?;
    if registry.len() + 1 + path.len() > MAX_NAME_LEN {
        return Err(format!("name is longer than {MAX_NAME_LEN} characters"));
    }
    let tag = if tag.is_none() && digest.is_none() { Some("latest".to_string()) } else { tag };
    Ok(Reference { registry, repository: path, tag, digest })
}

/// The first path component is a registry only if it looks like a host:
/// it has a '.' or ':', is `localhost`, or has uppercase letters (which a
/// repository path may not have). Otherwise the name is on Docker Hub.
fn split_registry(name: &str) -> Result<(String, String), String> {
    let (first, rest) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DOCKER_HUB, name),
    };
    check_host(first)?;
    let registry = if first == "index.docker.io" { DOCKER_HUB } else { first };
    let path = if registry == DOCKER_HUB && !rest.contains('/') {
        format!("library/{rest}")
    } else {
        rest.to_string()
    };
    Ok((registry.to_string(), path))
}

fn check_host(host: &str) -> Result<(), String> {
    let bad = || format!("registry host {host:?} is not a valid host[:port]");
    let (hostname, port) = if let Some(v6) = host.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(format!("IPv6 address [{addr}] is not valid in a reference"));
        }
        match after {
            "" => (None, None),
            p => (None, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match host.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(host), None),
        }
    };
    if let Some(h) = hostname {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !h.split('.').all(label_ok) {
            return Err(bad());
        }
    }
    if let Some(p) = port
        && (p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("port {p:?} in registry host {host:?} is not a number"));
    }
    Ok(())
}

/// Path components: `[a-z0-9]+` joined by one of `.`, `_`, `__` or any run
/// of `-`.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("repository name is empty".into());
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err("repository name has an empty path component".into());
        }
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!("repository name {path:?} must be lowercase"));
        }
        if !component_ok(component) {
            return Err(format!(
                "path component {component:?} must be lowercase letters and digits, \
                 separated by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

fn component_ok(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    let mut need_alnum = true;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            need_alnum = false;
            i += 1;
            continue;
        }
        if need_alnum {
            return false;
        }
        // A separator: '.', '_', '__' or a run of '-'.
        let sep_len = match b {
            b'.' => 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => 2,
            b'_' => 1,
            b'-' => bytes[i..].iter().take_while(|&&x| x == b'-').count(),
            _ => return false,
        };
        i += sep_len;
        need_alnum = true;
    }
    !need_alnum
}

fn check_tag(tag: &str) -> Result<(), String> {
    let ok_first = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok_rest = |c: char| ok_first(c) || c == '.' || c == '-';
    let mut chars = tag.chars();
    match chars.next() {
        Some(c) if ok_first(c) && chars.all(ok_rest) && tag.len() <= MAX_TAG_LEN => Ok(()),
        _ => Err(format!(
            "tag {tag:?} must be 1 to {MAX_TAG_LEN} letters, digits, '_', '.' or '-', \
             not starting with '.' or '-'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        s.parse::<Reference>().unwrap().to_string()
    }

    #[test]
    fn normalises_like_distribution() {
        assert_eq!(full("ubuntu"), "docker.io/library/ubuntu:latest");
        assert_eq!(full("ubuntu:22.04"), "docker.io/library/ubuntu:22.04");
        assert_eq!(full("bitnami/redis"), "docker.io/bitnami/redis:latest");
        assert_eq!(full("index.docker.io/x/y"), "docker.io/x/y:latest");
        assert_eq!(full("docker.io/ubuntu"), "docker.io/library/ubuntu:latest");
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(full("localhost:5000/a/b:v1"), "localhost:5000/a/b:v1");
        assert_eq!(full("quay.io/org/app:1.0"), "quay.io/org/app:1.0");
        assert_eq!(full("[2001:db8::1]:5000/repo"), "[2001:db8::1]:5000/repo:latest");
        assert_eq!(full("[::1]/repo:t"), "[::1]/repo:t");
        // A lone host:port is a name with a tag.
        assert_eq!(full("test.com:5000"), "docker.io/library/test.com:5000");
        assert_eq!(full("a__b/c--d/e.f_g:T_1.x-y"), "docker.io/a__b/c--d/e.f_g:T_1.x-y");
    }

    #[test]
    fn digest_wins_over_tag() {
        let d = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let r: Reference = format!("ubuntu:22.04@{d}").parse().unwrap();
        assert_eq!(r.target(), d);
        assert!(!r.is_by_tag());
        let r: Reference = format!("ubuntu@{d}").parse().unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.to_string(), format!("docker.io/library/ubuntu@{d}"));
    }

    #[test]
    fn docker_hub_is_served_by_registry_1() {
        let r: Reference = "ubuntu".parse().unwrap();
        assert_eq!(r.authority_host(), DOCKER_HUB_API);
        let r: Reference = "ghcr.io/a/b".parse().unwrap();
        assert_eq!(r.authority_host(), "ghcr.io");
    }

    #[test]
    fn refuses_invalid_with_a_reason() {
        for bad in [
            "",
            "foo_bar.com:8080/app",
            "Uppercase:tag",
            "docker///docker",
            "-docker",
            "dock..er/docker",
            "[fe80::1%eth0]:5000/repo",
            "ubuntu:-tag",
            "ubuntu:",
            "ubuntu@sha256:abc",
            "ubuntu@sha256:../../x",
            "localhost:port/app",
            "a/b_",
            "a/B",
            "a/b c",
        ] {
            let err = bad.parse::<Reference>().unwrap_err();
            assert!(!err.reason.is_empty(), "{bad}");
        }
        let long = format!("a/{}", "b".repeat(300));
        assert!(long.parse::<Reference>().unwrap_err().reason.contains("longer"));
        let tag = format!("a:{}", "t".repeat(129));
        assert!(tag.parse::<Reference>().is_err());
    }

    #[test]
    fn uppercase_first_component_is_a_host() {
        let r: Reference = "Example/app".parse().unwrap();
        assert_eq!(r.registry, "Example");
    }
}
