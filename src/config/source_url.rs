//! Mirror and endpoint URLs, checked when the configuration is loaded so
//! that a typo is refused with its reason before anything is pulled, and
//! what the plan builds sources from is already a URL.

use url::Url;

use super::names::HostPort;
use crate::text::redacted_url;

/// A mirror or endpoint URL: `https://m.example/prefix`, `m.example:5000`,
/// `http://127.0.0.1:5000`. Without a scheme it is HTTPS, except for hosts
/// spoken to in plain HTTP (loopback, or `plain_http = true`), which the
/// configuration decides once every file is read (`Config::settle_schemes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceUrl {
    url: Url,
    /// The text as written when it had no scheme: the scheme is put before
    /// it, which keeps a written `:443` for plain HTTP (the url crate's
    /// `set_scheme` would turn the default port into the new scheme's).
    schemeless: Option<String>,
}

/// Why a mirror or endpoint URL is refused. Fixes quote the URL only
/// through `redacted_url`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("looks like a scheme without its colon; write {0}")]
    MissingColon(String),
    #[error("looks like a scheme with a slash missing; write {0}")]
    MissingSlash(String),
    #[error("only http:// and https:// are supported")]
    Scheme,
    #[error("credentials do not belong in the URL; put them in the docker config (docker login)")]
    Credentials,
    #[error("a mirror URL has no query or fragment")]
    QueryOrFragment,
    #[error("a URL has no spaces")]
    Whitespace,
    #[error("no host")]
    NoHost,
    #[error("its host is not a valid host[:port]")]
    BadHost,
    #[error("not a URL ({0})")]
    NotAUrl(url::ParseError),
}

/// A refused mirror or endpoint URL, with where it was configured:
/// `mirror "http//host:5000" in c.toml [registries."docker.io"]: ...`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} \"{shown}\" in {origin}: {why}")]
pub struct RefusedUrl {
    /// `mirror` or `endpoint`.
    pub what: &'static str,
    /// The URL as written, through `redacted_url`.
    pub shown: String,
    pub origin: String,
    pub why: UrlError,
}

impl RefusedUrl {
    pub fn new(what: &'static str, raw: &str, origin: &str, why: UrlError) -> RefusedUrl {
        RefusedUrl { what, shown: redacted_url(raw.trim()), origin: origin.to_string(), why }
    }
}

/// A malformed URL in a file is a configuration error (exit 2).
impl From<RefusedUrl> for crate::error::Error {
    fn from(e: RefusedUrl) -> Self {
        crate::error::Error::Config(e.to_string())
    }
}

impl SourceUrl {
    /// Checks a URL as configured. Surrounding blanks are dropped.
    pub fn parse(raw: &str) -> Result<SourceUrl, UrlError> {
        let raw = raw.trim();
        if raw.contains(char::is_whitespace) {
            return Err(UrlError::Whitespace);
        }
        if raw.contains("://") {
            return Ok(SourceUrl { url: checked(raw)?, schemeless: None });
        }
        if let Some(e) = mangled_scheme(raw) {
            return Err(e);
        }
        let url = checked(&format!("https://{raw}"))?;
        // Either scheme may be chosen later: both must be valid now.
        checked(&format!("http://{raw}"))?;
        Ok(SourceUrl { url, schemeless: Some(raw.to_string()) })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host its settings are looked up by.
    pub fn host(&self) -> HostPort {
        HostPort::of_url(&self.url)
    }

    pub fn scheme_written(&self) -> bool {
        self.schemeless.is_none()
    }

    /// For a URL written without a scheme: plain HTTP or HTTPS. A URL with
    /// its scheme keeps it.
    pub fn decide_scheme(&mut self, plain_http: bool) {
        let Some(raw) = &self.schemeless else { return };
        let scheme = if plain_http { "http" } else { "https" };
        // Checked with both schemes in `parse`, so this cannot fail.
        if let Ok(url) = Url::parse(&format!("{scheme}://{raw}")) {
            self.url = url;
        }
    }
}

/// `text` as a URL ocimirror can use as a source's base.
fn checked(text: &str) -> Result<Url, UrlError> {
    let url = Url::parse(text).map_err(UrlError::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlError::QueryOrFragment);
    }
    if url.host().is_none() {
        return Err(UrlError::NoHost);
    }
    // The url crate takes hosts such as `*.example.com`; no registry is there.
    HostPort::parse(HostPort::of_url(&url).as_str()).map_err(|_| UrlError::BadHost)?;
    Ok(url)
}

/// `http//host:5000`, `https:/host`, `http:host`: without this check they
/// would become `https://http//host:5000`, a host named `http`.
fn mangled_scheme(raw: &str) -> Option<UrlError> {
    for scheme in ["https", "http"] {
        let Some(rest) = raw
            .get(..scheme.len())
            .filter(|p| p.eq_ignore_ascii_case(scheme))
            .map(|_| &raw[scheme.len()..])
        else {
            continue;
        };
        let fix = |after: &str| redacted_url(&format!("{scheme}://{after}"));
        if let Some(after) = rest.strip_prefix("//") {
            return Some(UrlError::MissingColon(fix(after)));
        }
        if let Some(after) = rest.strip_prefix(":/") {
            return Some(UrlError::MissingSlash(fix(after)));
        }
        // `http:5000` is a host named http on port 5000, not a mangled scheme.
        if let Some(after) = rest.strip_prefix(':')
            && !after.starts_with(|c: char| c.is_ascii_digit())
        {
            return Some(UrlError::MissingSlash(fix(after)));
        }
        // `https...` did not match: not `http` with an `s...` host either.
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_urls_as_written() {
        let cases = [
            ("https://m.example.com", "https://m.example.com/", true),
            ("HTTP://M.example:5000/prefix/", "http://m.example:5000/prefix/", true),
            ("  m.example:5000  ", "https://m.example:5000/", false),
            ("localhost:5000/v2", "https://localhost:5000/v2", false),
            ("[::1]:5000", "https://[::1]:5000/", false),
            ("http:5000", "https://http:5000/", false),
            ("httpsmirror.example", "https://httpsmirror.example/", false),
        ];
        for (raw, url, written) in cases {
            let u = SourceUrl::parse(raw).unwrap();
            assert_eq!((u.url().as_str(), u.scheme_written()), (url, written), "{raw}");
        }
        assert_eq!(SourceUrl::parse("m.example:8443").unwrap().host().as_str(), "m.example:8443");
        assert_eq!(SourceUrl::parse("http://m.example:443").unwrap().host().as_str(), "m.example");
    }

    #[test]
    fn the_scheme_is_decided_once_and_keeps_the_port() {
        let mut u = SourceUrl::parse("m.example:443").unwrap();
        u.decide_scheme(true);
        assert_eq!(u.url().as_str(), "http://m.example:443/");
        u.decide_scheme(false);
        assert_eq!(u.url().as_str(), "https://m.example/");
        let mut written = SourceUrl::parse("https://m.example").unwrap();
        written.decide_scheme(true);
        assert_eq!(written.url().scheme(), "https", "a written scheme stays");
    }

    #[test]
    fn malformed_urls_are_refused_with_the_reason() {
        use UrlError::*;
        let cases = [
            ("http//host:5000", MissingColon("http://host:5000".into())),
            ("HTTPS//host", MissingColon("https://host".into())),
            ("https:/host:5000", MissingSlash("https://host:5000".into())),
            ("http:host", MissingSlash("http://host".into())),
            ("http//u:s3cret@host", MissingColon("http://***@host".into())),
            ("ftp://x", Scheme),
            ("https://u:p@x", Credentials),
            ("u:p@x:5000", Credentials),
            ("https://x/?a=b", QueryOrFragment),
            ("https://x#top", QueryOrFragment),
            ("https://m.example/a b", Whitespace),
            ("https://*.example.com", BadHost),
            ("https://m.example:99999", NotAUrl(url::ParseError::InvalidPort)),
            ("http://", NotAUrl(url::ParseError::EmptyHost)),
        ];
        for (raw, want) in cases {
            assert_eq!(SourceUrl::parse(raw), Err(want), "{raw}");
        }
        let e = SourceUrl::parse("http//host:5000").unwrap_err().to_string();
        assert_eq!(e, "looks like a scheme without its colon; write http://host:5000");
    }
}
