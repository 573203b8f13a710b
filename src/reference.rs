//! Image references, parsed and normalised the way docker/distribution does
//! (`ParseNormalizedNamed` in distribution/reference, then the `latest` tag
//! when there is neither tag nor digest), so that `ubuntu` and
//! `docker.io/library/ubuntu:latest` name the same image.
//!
//! Everything is validated before any network traffic: a bad reference is a
//! usage error with a message that names the offending part.
//!
//! Where we deliberately part from distribution/reference (the tests below
//! carry its own test cases and mark each of these):
//! - Digests are sha256 or sha512 only, because a digest names a file in
//!   the layout (see `digest.rs`). Go also takes sha384; we refuse it, saying
//!   which algorithms are supported.
//! - A bare digest or a 64-hex-digit image ID, which Go's
//!   `ParseAnyReference` reads as a digest with no name, is refused: there
//!   is no repository to pull it from.
//! - A URL scheme (`docker://`, `https://`) or a local transport of
//!   skopeo/podman (`oci:`, `docker-daemon:`, ...) is refused with what to
//!   do instead. Go reads `oci:dir` as the Docker Hub image `library/oci`
//!   tagged `dir`; no such official image exists and the transport is far
//!   the likelier meaning.
//! - A reference with both a tag and a digest keeps both, as
//!   `ParseNormalizedNamed` does (`ParseDockerRef` drops the tag); the
//!   digest is what is fetched.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;
use crate::text::{shown, shown_max};

/// Docker Hub's canonical name, as it appears in references and in `ns`.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that actually serves Docker Hub's distribution API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The longest repository path, the registry not counted (`library/` is):
/// distribution/reference's `RepositoryNameTotalLengthMax`. Older
/// docker/distribution counted the registry host too; current versions
/// check only the path.
const MAX_PATH_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;
/// How much of a bad reference the error quotes.
const MAX_INPUT_SHOWN: usize = 300;

/// What to write instead, said whenever the form is not a reference at all.
const PLAIN: &str = "ocimirror takes plain references like docker.io/library/ubuntu:latest";

/// containers/image transports (skopeo, podman) that name local storage,
/// not a registry. `docker:` is not among them: `docker:dind` is the Docker
/// Hub image `library/docker`; that transport is spelt `docker://`, which
/// is caught as a scheme.
const LOCAL_TRANSPORTS: [&str; 9] = [
    "containers-storage",
    "dir",
    "docker-archive",
    "docker-daemon",
    "oci",
    "oci-archive",
    "ostree",
    "sif",
    "tarball",
];

/// Digests Go's `ParseAnyReference` takes for a whole reference: algorithm
/// and hex length. sha384 is here although we cannot pull by it, so that
/// `sha384:<hex>` is refused as a digest, not read as an image `sha384`.
const BARE_DIGESTS: [(&str, usize); 3] = [("sha256", 64), ("sha384", 96), ("sha512", 128)];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The authority: `docker.io`, `quay.io`, `localhost:5000`, `[::1]:5000`.
    pub registry: String,
    /// The repository path inside the registry: `library/ubuntu`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

/// A reference that does not parse. `input` is the reference as it may be
/// shown: control characters escaped and at most `MAX_INPUT_SHOWN`
/// characters.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid reference \"{input}\": {reason}")]
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
            .map_err(|reason| ReferenceError { input: shown_max(input, MAX_INPUT_SHOWN), reason })
    }
}

/// Part of the input, quoted for a message (escaped and capped).
fn quoted(part: &str) -> String {
    format!("\"{}\"", shown(part))
}

fn parse(input: &str) -> Result<Reference, String> {
    if input.is_empty() {
        return Err("empty reference".into());
    }
    refuse_other_forms(input)?;
    let (rest, digest) = match input.split_once('@') {
        Some((rest, d)) => (rest, Some(parse_digest(d)?)),
        None => (input, None),
    };
    if rest.starts_with('[') && !rest.contains('/') {
        return Err(format!(
            "{} is a registry host without a repository: write the repository after it, \
             as in [2001:db8::1]:5000/app",
            quoted(rest)
        ));
    }
    let (name, tag) = split_tag(rest);
    if name.is_empty() {
        let what = if tag.is_some() { "tag" } else { "digest" };
        return Err(format!("no repository name before the {what}"));
    }
    if let Some(t) = tag {
        check_tag(t)?;
    }
    let (registry, path) = split_registry(name)?;
    check_path(&path)?;
    if path.len() > MAX_PATH_LEN {
        return Err(format!("repository path is longer than {MAX_PATH_LEN} characters"));
    }
    let tag = match (tag, &digest) {
        (None, None) => Some("latest".to_string()),
        (tag, _) => tag.map(str::to_string),
    };
    Ok(Reference { registry, repository: path, tag, digest })
}

/// Refuses what is not a reference at all, with what to write instead: a
/// URL, a local transport, an image ID, a digest without a name.
fn refuse_other_forms(input: &str) -> Result<(), String> {
    if let Some(scheme) = url_scheme(input) {
        return Err(format!("remove the {} prefix ({PLAIN})", quoted(&format!("{scheme}://"))));
    }
    if let Some((transport, after)) = input.split_once(':')
        && LOCAL_TRANSPORTS.contains(&transport)
        && !starts_with_port(after)
    {
        return Err(format!(
            "\"{transport}:\" names local storage (a skopeo/podman transport), not a registry; \
             {PLAIN} (a Docker Hub image of that name is docker.io/library/{transport}:TAG)"
        ));
    }
    if input.len() == 64 && is_lower_hex(input) {
        return Err("64 hexadecimal digits are an image ID, not a repository name: \
                    write the repository, as in NAME@sha256:ID"
            .into());
    }
    if let Some((algorithm, hex)) = input.split_once(':')
        && BARE_DIGESTS.contains(&(algorithm, hex.len()))
        && is_lower_hex(hex)
    {
        return Err(format!(
            "a digest alone names no repository: write the repository before it, \
             as in NAME@{algorithm}:…"
        ));
    }
    Ok(())
}

/// Whether `after` (what follows `name:`) is `PORT/...`: then `name` is a
/// registry host (`oci:5000/app`), not a transport.
fn starts_with_port(after: &str) -> bool {
    after
        .split_once('/')
        .is_some_and(|(port, _)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// `docker` for `docker://ubuntu`: an RFC 3986 scheme before `://`.
fn url_scheme(input: &str) -> Option<&str> {
    let (scheme, _) = input.split_once("://")?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then_some(scheme)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn parse_digest(text: &str) -> Result<Digest, String> {
    text.parse::<Digest>().map_err(|e| format!("digest {}: {}", quoted(text), e.reason))
}

/// The tag is after the last ':' that comes after the last '/', so a port
/// in the registry host is never mistaken for a tag.
fn split_tag(rest: &str) -> (&str, Option<&str>) {
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    }
}

/// The first path component is a registry only if it looks like a host:
/// it has a '.' or ':', is `localhost`, or has uppercase letters (which a
/// repository path may not have). Otherwise the name is on Docker Hub.
///
/// A first component taken for a host must be a valid one. (Go's parser,
/// given `foo_bar.com/app`, quietly falls back to a name with no registry
/// at all; we refuse it instead, naming the host.)
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
    let bad = || format!("registry host {} is not a valid host[:port]", quoted(host));
    let (hostname, port) = if let Some(v6) = host.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(format!(
                "IPv6 address {} is not valid in a reference (hex digits and ':' only: \
                 no zone, no embedded IPv4)",
                quoted(&format!("[{addr}]"))
            ));
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
        return Err(format!(
            "port {} in registry host {} is not a number",
            quoted(p),
            quoted(host)
        ));
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
            return Err(format!("repository name {} must be lowercase", quoted(path)));
        }
        if !component_ok(component) {
            return Err(format!(
                "path component {} must be lowercase letters and digits, \
                 separated by '.', '_', '__' or '-'",
                quoted(component)
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
            "tag {} must be 1 to {MAX_TAG_LEN} letters, digits, '_', '.' or '-', \
             not starting with '.' or '-'",
            quoted(tag)
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

    // -----------------------------------------------------------------
    // distribution/reference's own test cases (reference_test.go and
    // normalize_test.go), one table per Go test. Go's `Parse` does not
    // normalise; ours is `ParseNormalizedNamed` plus the default tag, so a
    // table states what each input normalises to (or that it is refused,
    // with words from the reason). `<F64>` and `<F128>` stand for 64 and
    // 128 'f's, the hex of most digests there.
    // -----------------------------------------------------------------

    enum Want<'a> {
        /// Accepted, naming this reference (as `Display` writes it).
        Is(&'a str),
        /// Refused, the reason containing these words.
        Refused(&'a str),
    }
    use Want::{Is, Refused};

    fn expand(s: &str) -> String {
        s.replace("<F64>", &"f".repeat(64)).replace("<F128>", &"f".repeat(128))
    }

    /// Checks every case and reports all mismatches at once.
    fn check(go_test: &str, cases: &[(&str, Want<'_>)]) {
        let failures: Vec<String> =
            cases.iter().filter_map(|(input, want)| mismatch(&expand(input), want)).collect();
        assert!(failures.is_empty(), "{go_test}:\n{}", failures.join("\n"));
    }

    fn mismatch(input: &str, want: &Want<'_>) -> Option<String> {
        match (want, input.parse::<Reference>()) {
            (Is(want), Ok(r)) => {
                let want = expand(want);
                let registry = want.split('/').next().unwrap_or_default();
                if r.to_string() != want || r.registry != registry {
                    return Some(format!(
                        "{input:?}: got {r} (registry {:?}), want {want}",
                        r.registry
                    ));
                }
                // The normalised form names the same image when parsed again.
                match r.to_string().parse::<Reference>() {
                    Ok(again) if again == r => None,
                    other => Some(format!("{input:?}: {r} parses back as {other:?}")),
                }
            }
            (Is(want), Err(e)) => Some(format!("{input:?}: refused ({}), want {want}", e.reason)),
            (Refused(words), Ok(r)) => Some(format!("{input:?}: accepted as {r}, want {words:?}")),
            (Refused(words), Err(e)) => (!e.reason.contains(words))
                .then(|| format!("{input:?}: reason {:?} lacks {words:?}", e.reason)),
        }
    }

    #[test]
    fn go_test_reference_parse() {
        check(
            "TestReferenceParse",
            &[
                ("test_com", Is("docker.io/library/test_com:latest")),
                ("test.com:tag", Is("docker.io/library/test.com:tag")),
                ("test.com:5000", Is("docker.io/library/test.com:5000")),
                ("test.com/repo:tag", Is("test.com/repo:tag")),
                ("test:5000/repo", Is("test:5000/repo:latest")),
                ("test:5000/repo:tag", Is("test:5000/repo:tag")),
                ("test:5000/repo@sha256:<F64>", Is("test:5000/repo@sha256:<F64>")),
                ("test:5000/repo:tag@sha256:<F64>", Is("test:5000/repo:tag@sha256:<F64>")),
                ("test:5000/repo", Is("test:5000/repo:latest")),
                ("", Refused("empty reference")),
                (":justtag", Refused("no repository name before the tag")),
                ("@sha256:<F64>", Refused("no repository name before the digest")),
                ("repo@sha256:ffffffffffffffffffffffffffffffffff", Refused("wrong length")),
                ("validname@invaliddigest:<F64>", Refused("unsupported algorithm")),
                ("Uppercase:tag", Refused("must be lowercase")),
                // Commented out in Go (a FIXME): "Uppercase" is taken for a
                // registry host, so this passes there and here alike.
                ("Uppercase/lowercase:tag", Is("Uppercase/lowercase:tag")),
                ("test:5000/Uppercase/lowercase:tag", Refused("must be lowercase")),
                ("lowercase:Uppercase", Is("docker.io/library/lowercase:Uppercase")),
                ("aa/asdf$$^/aa", Refused("path component \"asdf$$^\"")),
                ("sub-dom1.foo.com/bar/baz/quux", Is("sub-dom1.foo.com/bar/baz/quux:latest")),
                (
                    "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
                    Is("sub-dom1.foo.com/bar/baz/quux:some-long-tag"),
                ),
                (
                    "b.gcr.io/test.example.com/my-app:test.example.com",
                    Is("b.gcr.io/test.example.com/my-app:test.example.com"),
                ),
                ("xn--n3h.com/myimage:xn--n3h.com", Is("xn--n3h.com/myimage:xn--n3h.com")),
                (
                    "xn--7o8h.com/myimage:xn--7o8h.com@sha512:<F128>",
                    Is("xn--7o8h.com/myimage:xn--7o8h.com@sha512:<F128>"),
                ),
                ("foo_bar.com:8080", Is("docker.io/library/foo_bar.com:8080")),
                ("foo/foo_bar.com:8080", Is("docker.io/foo/foo_bar.com:8080")),
                ("192.168.1.1", Is("docker.io/library/192.168.1.1:latest")),
                ("192.168.1.1:tag", Is("docker.io/library/192.168.1.1:tag")),
                ("192.168.1.1:5000", Is("docker.io/library/192.168.1.1:5000")),
                ("192.168.1.1/repo", Is("192.168.1.1/repo:latest")),
                ("192.168.1.1:5000/repo", Is("192.168.1.1:5000/repo:latest")),
                ("192.168.1.1:5000/repo:5050", Is("192.168.1.1:5000/repo:5050")),
                ("[2001:db8::1]", Refused("without a repository")),
                ("[2001:db8::1]:5000", Refused("without a repository")),
                ("[2001:db8::1]:tag", Refused("without a repository")),
                ("[2001:db8::1]/repo", Is("[2001:db8::1]/repo:latest")),
                ("[2001:db8:1:2:3:4:5:6]/repo:tag", Is("[2001:db8:1:2:3:4:5:6]/repo:tag")),
                ("[2001:db8::1]:5000/repo", Is("[2001:db8::1]:5000/repo:latest")),
                ("[2001:db8::1]:5000/repo:tag", Is("[2001:db8::1]:5000/repo:tag")),
                (
                    "[2001:db8::1]:5000/repo@sha256:<F64>",
                    Is("[2001:db8::1]:5000/repo@sha256:<F64>"),
                ),
                (
                    "[2001:db8::1]:5000/repo:tag@sha256:<F64>",
                    Is("[2001:db8::1]:5000/repo:tag@sha256:<F64>"),
                ),
                ("[2001:db8::]:5000/repo", Is("[2001:db8::]:5000/repo:latest")),
                ("[::1]:5000/repo", Is("[::1]:5000/repo:latest")),
                ("[fe80::1%eth0]:5000/repo", Refused("IPv6 address")),
                // Refused in Go too; here the '@' starts a digest, and that is
                // what the reason names.
                ("[fe80::1%@invalidzone]:5000/repo", Refused("digest")),
            ],
        );
        // 257 characters. The domain-less path Go's Parse sees (without
        // "a/") is 255 in current versions, which would pass there; after
        // normalisation (docker.io, all of it the path) it is 257 in every
        // version, so ParseNormalizedNamed refuses it as we do.
        let too_long = "a/".repeat(128) + "a:tag";
        // 255: the path, normalised, is exactly at the limit.
        let almost = "a/".repeat(127) + "a:tag-puts-this-over-max";
        let almost_full = format!("docker.io/{almost}");
        check(
            "TestReferenceParse (long names)",
            &[(&too_long, Refused("longer than 255")), (&almost, Is(&almost_full))],
        );
    }

    #[test]
    fn go_test_with_name_failure() {
        // WithName builds a name without tag or digest; as references
        // these are refused too.
        let too_long = "a/".repeat(128) + "a:tag";
        check(
            "TestWithNameFailure",
            &[
                ("", Refused("empty reference")),
                (":justtag", Refused("no repository name")),
                ("@sha256:<F64>", Refused("no repository name")),
                ("validname@invaliddigest:<F64>", Refused("unsupported algorithm")),
                (&too_long, Refused("longer than 255")),
                ("aa/asdf$$^/aa", Refused("path component")),
            ],
        );
    }

    #[test]
    fn go_test_domain_and_path() {
        // Go's WithName leaves "test_com/foo" without a domain; normalised,
        // it is on Docker Hub.
        check(
            "TestDomainAndPath",
            &[
                ("test.com/foo", Is("test.com/foo:latest")),
                ("test_com/foo", Is("docker.io/test_com/foo:latest")),
                ("test:8080/foo", Is("test:8080/foo:latest")),
                ("test.com:8080/foo", Is("test.com:8080/foo:latest")),
                ("test-com:8080/foo", Is("test-com:8080/foo:latest")),
                ("xn--n3h.com:18080/foo", Is("xn--n3h.com:18080/foo:latest")),
            ],
        );
    }

    #[test]
    fn go_test_serialization() {
        let digest = "sha256:1234567890098765432112345667890098765432112345667890098765432112";
        let with_digest = format!("other.com/named@{digest}");
        check(
            "TestSerialization",
            &[
                ("", Refused("empty reference")),
                ("example.com:8000/named", Is("example.com:8000/named:latest")),
                ("example.com:8000/named:tagged", Is("example.com:8000/named:tagged")),
                (&with_digest, Is(&with_digest)),
            ],
        );
    }

    #[test]
    fn go_tests_with_tag_and_with_digest() {
        // WithTag/WithDigest assemble references without checking a
        // digest's length; the 37-digit sha256 they use would fail Go's
        // Parse as it fails ours.
        let short = "sha256:1234567890098765432112345667890098765";
        let short_cases = [
            format!("test.com:8000/foo:TAG5@{short}"),
            format!("test.com/foo@{short}"),
            format!("foo@{short}"),
            format!("test.com:8000/foo@{short}"),
            format!("test.com:8000/foo:latest@{short}"),
        ];
        let mut cases = vec![
            ("test.com/foo:tag", Is("test.com/foo:tag")),
            ("foo:tag2", Is("docker.io/library/foo:tag2")),
            ("test.com:8000/foo:tag4", Is("test.com:8000/foo:tag4")),
            ("test.com:8000/foo:TAG5", Is("test.com:8000/foo:TAG5")),
        ];
        cases.extend(short_cases.iter().map(|c| (c.as_str(), Refused("wrong length"))));
        check("TestWithTag, TestWithDigest", &cases);
    }

    #[test]
    fn go_test_parse_named() {
        // ParseNamed refuses a name that normalising changes
        // (ErrNameNotCanonical); we accept it and normalise, as this shows.
        check(
            "TestParseNamed",
            &[
                ("test.com/foo", Is("test.com/foo:latest")),
                ("test:8080/foo", Is("test:8080/foo:latest")),
                ("test_com/foo", Is("docker.io/test_com/foo:latest")),
                ("test.com", Is("docker.io/library/test.com:latest")),
                ("foo", Is("docker.io/library/foo:latest")),
                ("library/foo", Is("docker.io/library/foo:latest")),
                ("docker.io/library/foo", Is("docker.io/library/foo:latest")),
                ("docker.io/foo", Is("docker.io/library/foo:latest")),
            ],
        );
    }

    #[test]
    fn go_test_validate_reference_name() {
        check(
            "TestValidateReferenceName (valid)",
            &[
                ("docker/docker", Is("docker.io/docker/docker:latest")),
                ("library/debian", Is("docker.io/library/debian:latest")),
                ("debian", Is("docker.io/library/debian:latest")),
                ("docker.io/docker/docker", Is("docker.io/docker/docker:latest")),
                ("docker.io/library/debian", Is("docker.io/library/debian:latest")),
                ("docker.io/debian", Is("docker.io/library/debian:latest")),
                ("index.docker.io/docker/docker", Is("docker.io/docker/docker:latest")),
                ("index.docker.io/library/debian", Is("docker.io/library/debian:latest")),
                ("index.docker.io/debian", Is("docker.io/library/debian:latest")),
                ("127.0.0.1:5000/docker/docker", Is("127.0.0.1:5000/docker/docker:latest")),
                ("127.0.0.1:5000/library/debian", Is("127.0.0.1:5000/library/debian:latest")),
                ("127.0.0.1:5000/debian", Is("127.0.0.1:5000/debian:latest")),
                ("192.168.0.1", Is("docker.io/library/192.168.0.1:latest")),
                ("192.168.0.1:80", Is("docker.io/library/192.168.0.1:80")),
                ("192.168.0.1:8/debian", Is("192.168.0.1:8/debian:latest")),
                ("192.168.0.2:25000/debian", Is("192.168.0.2:25000/debian:latest")),
                (
                    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
                    Is(
                        "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
                    ),
                ),
                ("[fc00::1]:5000/docker", Is("[fc00::1]:5000/docker:latest")),
                ("[fc00::1]:5000/docker/docker", Is("[fc00::1]:5000/docker/docker:latest")),
                (
                    "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
                    Is("[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest"),
                ),
                // With a registry, 64 hex digits are a name, not an image ID.
                (
                    "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                    Is(
                        "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest",
                    ),
                ),
                ("Docker/docker", Is("Docker/docker:latest")),
                ("DOCKER/docker", Is("DOCKER/docker:latest")),
            ],
        );
        check(
            "TestValidateReferenceName (invalid)",
            &[
                ("https://github.com/docker/docker", Refused("remove the \"https://\" prefix")),
                ("docker/Docker", Refused("must be lowercase")),
                ("-docker", Refused("path component \"-docker\"")),
                ("-docker/docker", Refused("path component \"-docker\"")),
                ("-docker.io/docker/docker", Refused("registry host \"-docker.io\"")),
                ("docker///docker", Refused("empty path component")),
                ("docker.io/docker/Docker", Refused("must be lowercase")),
                ("docker.io/docker///docker", Refused("empty path component")),
                ("[fc00::1]", Refused("without a repository")),
                ("[fc00::1]:5000", Refused("without a repository")),
                ("fc00::1:5000/debian", Refused("is not a number")),
                ("[fe80::1%eth0]:5000/debian", Refused("IPv6 address")),
                ("[2001:db8:3:4::192.0.2.33]:5000/debian", Refused("IPv6 address")),
                (
                    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                    Refused("image ID"),
                ),
            ],
        );
    }

    #[test]
    fn go_test_validate_remote_name() {
        check(
            "TestValidateRemoteName (valid)",
            &[
                ("docker/docker", Is("docker.io/docker/docker:latest")),
                (
                    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
                    Is(
                        "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
                    ),
                ),
                ("docker-rules/docker", Is("docker.io/docker-rules/docker:latest")),
                ("docker---rules/docker", Is("docker.io/docker---rules/docker:latest")),
                ("doc/docker", Is("docker.io/doc/docker:latest")),
                ("d/docker", Is("docker.io/d/docker:latest")),
                ("jess/t", Is("docker.io/jess/t:latest")),
                ("dock__er/docker", Is("docker.io/dock__er/docker:latest")),
            ],
        );
        let long_namespace = "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_"
            .repeat(4)
            .trim_end_matches('_')
            .to_string()
            + "/docker";
        assert!(long_namespace.len() > 255);
        check(
            "TestValidateRemoteName (invalid)",
            &[
                ("docker/Docker", Refused("must be lowercase")),
                ("docker///docker", Refused("empty path component")),
                (
                    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                    Refused("image ID"),
                ),
                ("-docker/docker", Refused("path component \"-docker\"")),
                ("docker-/docker", Refused("path component \"docker-\"")),
                ("-docker-/docker", Refused("path component \"-docker-\"")),
                ("____/____", Refused("path component \"____\"")),
                ("_docker/_docker", Refused("path component \"_docker\"")),
                // A '.' makes the first component a registry host, for Go too.
                ("dock..er/docker", Refused("registry host \"dock..er\"")),
                ("dock_.er/docker", Refused("registry host \"dock_.er\"")),
                ("dock-.er/docker", Refused("registry host \"dock-.er\"")),
                ("docker/", Refused("empty path component")),
                (&long_namespace, Refused("longer than 255")),
            ],
        );
    }

    #[test]
    fn go_test_parse_repository_info() {
        // (RemoteName, FamiliarName, FullName, AmbiguousName, Domain): each
        // of the familiar, full and ambiguous names parses to the full
        // name, on that domain, with that remote name as the path. We show
        // only full names, so FamiliarName is an input here, not an output.
        let cases = [
            ("fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"),
            ("library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"),
            (
                "nonlibrary/ubuntu",
                "nonlibrary/ubuntu",
                "docker.io/nonlibrary/ubuntu",
                "",
                "docker.io",
            ),
            ("other/library", "other/library", "docker.io/other/library", "", "docker.io"),
            (
                "private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "",
                "127.0.0.1:8000",
            ),
            (
                "privatebase",
                "127.0.0.1:8000/privatebase",
                "127.0.0.1:8000/privatebase",
                "",
                "127.0.0.1:8000",
            ),
            (
                "private/moonbase",
                "example.com/private/moonbase",
                "example.com/private/moonbase",
                "",
                "example.com",
            ),
            (
                "privatebase",
                "example.com/privatebase",
                "example.com/privatebase",
                "",
                "example.com",
            ),
            (
                "private/moonbase",
                "example.com:8000/private/moonbase",
                "example.com:8000/private/moonbase",
                "",
                "example.com:8000",
            ),
            (
                "privatebasee",
                "example.com:8000/privatebasee",
                "example.com:8000/privatebasee",
                "",
                "example.com:8000",
            ),
            (
                "library/ubuntu-12.04-base",
                "ubuntu-12.04-base",
                "docker.io/library/ubuntu-12.04-base",
                "index.docker.io/library/ubuntu-12.04-base",
                "docker.io",
            ),
            ("library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"),
            ("library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", "", "docker.io"),
            ("store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", "", "docker.io"),
            ("bar", "Foo/bar", "Foo/bar", "", "Foo"),
            ("bar", "FOO/bar", "FOO/bar", "", "FOO"),
        ];
        let mut failures = Vec::new();
        for (remote, familiar, full, ambiguous, domain) in cases {
            for input in [familiar, full, ambiguous].into_iter().filter(|s| !s.is_empty()) {
                match input.parse::<Reference>() {
                    Ok(r) if r.name() == full && r.registry == domain && r.repository == remote => {
                    }
                    other => failures.push(format!("{input:?}: {other:?}, want {full}")),
                }
            }
        }
        assert!(failures.is_empty(), "TestParseRepositoryInfo:\n{}", failures.join("\n"));
    }

    #[test]
    fn go_test_parse_reference_with_tag_and_digest() {
        let digest = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
        let r: Reference = format!("busybox:latest@{digest}").parse().unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/busybox:latest@{digest}"));
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(r.digest.as_ref().map(Digest::to_string).as_deref(), Some(digest));
    }

    #[test]
    fn go_test_invalid_reference_components() {
        // WithTag(busybox, "-foo") and WithDigest(busybox, "foo") as
        // references.
        check(
            "TestInvalidReferenceComponents",
            &[
                ("-foo", Refused("path component \"-foo\"")),
                ("busybox", Is("docker.io/library/busybox:latest")),
                ("busybox:-foo", Refused("tag \"-foo\"")),
                ("busybox@foo", Refused("expected algorithm:hex")),
            ],
        );
    }

    #[test]
    fn go_test_parse_any_reference() {
        // Go reads a bare 64-hex ID and a bare digest as a digest with no
        // name; with no repository to pull from, we refuse both.
        let d = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
        let by_digest = |name: &str| format!("{name}@sha256:{d}");
        let cases = [
            ("redis".to_string(), "docker.io/library/redis:latest".to_string()),
            ("redis:latest".into(), "docker.io/library/redis:latest".into()),
            ("docker.io/library/redis:latest".into(), "docker.io/library/redis:latest".into()),
            (by_digest("redis"), by_digest("docker.io/library/redis")),
            (by_digest("docker.io/library/redis"), by_digest("docker.io/library/redis")),
            ("dmcgowan/myapp".into(), "docker.io/dmcgowan/myapp:latest".into()),
            ("dmcgowan/myapp:latest".into(), "docker.io/dmcgowan/myapp:latest".into()),
            ("docker.io/mcgowan/myapp:latest".into(), "docker.io/mcgowan/myapp:latest".into()),
            (by_digest("dmcgowan/myapp"), by_digest("docker.io/dmcgowan/myapp")),
            (by_digest("docker.io/dmcgowan/myapp"), by_digest("docker.io/dmcgowan/myapp")),
            (d[..63].to_string(), format!("docker.io/library/{}:latest", &d[..63])),
            ("dbcc1".into(), "docker.io/library/dbcc1:latest".into()),
        ];
        let mut table: Vec<(&str, Want<'_>)> =
            cases.iter().map(|(input, want)| (input.as_str(), Is(want.as_str()))).collect();
        let bare = format!("sha256:{d}");
        table.push((d, Refused("image ID")));
        table.push((&bare, Refused("a digest alone names no repository")));
        check("TestParseAnyReference", &table);
    }

    #[test]
    fn go_test_normalized_split_hostname() {
        check(
            "TestNormalizedSplitHostname",
            &[
                ("test.com/foo", Is("test.com/foo:latest")),
                ("test_com/foo", Is("docker.io/test_com/foo:latest")),
                ("docker/migrator", Is("docker.io/docker/migrator:latest")),
                ("test.com:8080/foo", Is("test.com:8080/foo:latest")),
                ("test-com:8080/foo", Is("test-com:8080/foo:latest")),
                ("foo", Is("docker.io/library/foo:latest")),
                ("xn--n3h.com/foo", Is("xn--n3h.com/foo:latest")),
                ("xn--n3h.com:18080/foo", Is("xn--n3h.com:18080/foo:latest")),
                ("docker.io/foo", Is("docker.io/library/foo:latest")),
                ("docker.io/library/foo", Is("docker.io/library/foo:latest")),
                ("docker.io/library/foo/bar", Is("docker.io/library/foo/bar:latest")),
            ],
        );
    }

    #[test]
    fn go_tests_match_and_match_error() {
        // TestMatchError and TestMatch test FamiliarMatch, a glob match on
        // names that ocimirror does not have; what carries over is that
        // their references parse.
        check(
            "TestMatchError, TestMatch",
            &[
                ("foo", Is("docker.io/library/foo:latest")),
                ("foo/any/bat", Is("docker.io/foo/any/bat:latest")),
                ("foo/a/bar", Is("docker.io/foo/a/bar:latest")),
                ("foo/b/baz", Is("docker.io/foo/b/baz:latest")),
                ("foo/c/baz:tag", Is("docker.io/foo/c/baz:tag")),
                ("example.com/foo/c/baz:tag", Is("example.com/foo/c/baz:tag")),
            ],
        );
    }

    #[test]
    fn go_test_parse_docker_ref() {
        // ParseDockerRef drops the tag of a reference that also has a
        // digest; we keep both, and the digest is what is fetched.
        let d = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";
        let busybox_by_digest = format!("busybox@{d}");
        let busybox_full = format!("docker.io/library/busybox@{d}");
        let both = format!("gcr.io/library/busybox:latest@{d}");
        check(
            "TestParseDockerRef",
            &[
                ("busybox", Is("docker.io/library/busybox:latest")),
                ("busybox:latest", Is("docker.io/library/busybox:latest")),
                (&busybox_by_digest, Is(&busybox_full)),
                ("library/busybox", Is("docker.io/library/busybox:latest")),
                ("docker.io/busybox", Is("docker.io/library/busybox:latest")),
                ("docker.io/library/busybox", Is("docker.io/library/busybox:latest")),
                ("docker.io/busybox:latest", Is("docker.io/library/busybox:latest")),
                ("library/busybox:latest", Is("docker.io/library/busybox:latest")),
                ("docker.io/library/busybox:latest", Is("docker.io/library/busybox:latest")),
                ("gcr.io/library/busybox", Is("gcr.io/library/busybox:latest")),
                (&both, Is(&both)),
            ],
        );
        assert_eq!(both.parse::<Reference>().unwrap().target(), d);
    }

    // -----------------------------------------------------------------
    // Where we differ from distribution/reference on purpose, and what
    // the errors look like.
    // -----------------------------------------------------------------

    #[test]
    fn schemes_and_transports_say_what_to_do() {
        let err = "docker://ubuntu".parse::<Reference>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid reference \"docker://ubuntu\": remove the \"docker://\" prefix \
             (ocimirror takes plain references like docker.io/library/ubuntu:latest)"
        );
        check(
            "schemes and transports",
            &[
                ("https://quay.io/a/b", Refused("remove the \"https://\" prefix")),
                ("oci:dir", Refused("\"oci:\" names local storage")),
                ("docker-daemon:x", Refused("\"docker-daemon:\" names local storage")),
                ("oci-archive:/tmp/a.tar:v1", Refused("\"oci-archive:\" names local storage")),
                ("containers-storage:localhost/x", Refused("\"containers-storage:\" names")),
                // Not transports: the Docker Hub image `docker`, a host `oci`.
                ("docker:dind", Is("docker.io/library/docker:dind")),
                ("oci:5000/app", Is("oci:5000/app:latest")),
            ],
        );
    }

    #[test]
    fn digests_we_cannot_store_are_refused_by_name() {
        let sha384 = "a".repeat(96);
        let in_reference = format!("app@sha384:{sha384}");
        let bare = format!("sha384:{sha384}");
        let bare_sha512 = format!("sha512:{}", "b".repeat(128));
        let upper = format!("app@sha256:{}", "F".repeat(64));
        check(
            "digests",
            &[
                // Go accepts sha384; a layout stores sha256 and sha512 only.
                (&in_reference, Refused("unsupported algorithm (sha256 and sha512 are supported)")),
                (&bare, Refused("a digest alone")),
                (&bare_sha512, Refused("a digest alone")),
                (&upper, Refused("lowercase hexadecimal")),
            ],
        );
    }

    #[test]
    fn the_length_limit_is_on_the_path_alone() {
        let host = format!("{}.example", "h".repeat(60));
        let path = format!("team/{}", "a".repeat(250));
        let at_limit = format!("{host}/{path}");
        let over = format!("{host}/{path}b");
        // On Docker Hub `library/` is part of the path.
        let hub_at_limit = "a".repeat(247);
        let hub_full = format!("docker.io/library/{hub_at_limit}:latest");
        let hub_over = "a".repeat(248);
        let at_limit_full = format!("{at_limit}:latest");
        check(
            "length",
            &[
                (&at_limit, Is(&at_limit_full)),
                (&over, Refused("longer than 255")),
                (&hub_at_limit, Is(&hub_full)),
                (&hub_over, Refused("longer than 255")),
            ],
        );
    }

    #[test]
    fn errors_show_the_input_escaped_and_capped() {
        let err = "ubuntu\u{1b}[2J".parse::<Reference>().unwrap_err();
        let text = err.to_string();
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.starts_with(r#"invalid reference "ubuntu\u{1b}[2J": "#), "{text}");
        let long = format!("{}!", "a".repeat(5000));
        let err = long.parse::<Reference>().unwrap_err();
        assert_eq!(err.input.chars().count(), MAX_INPUT_SHOWN + 1, "cut, with a mark");
        assert!(err.input.ends_with('…'));
        assert!(err.to_string().chars().count() < 1000, "{err}");
    }
}
