//! Registry authentication: the `WWW-Authenticate` challenge, the bearer
//! token flow, and a per-run cache of what to send to each host.
//!
//! A token is cached per (host, repository), so a pull that needs one token
//! asks for it once, not once per blob.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::credentials::Credential;
use crate::text::redacted_url;
use base64::Engine as _;

/// Token and error bodies are small; more than this is a broken or hostile
/// server.
pub const MAX_TOKEN_BODY: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String>, scope: Option<String> },
}

/// Parses a `WWW-Authenticate` header value holding one challenge:
/// `Bearer realm="..",service="..",scope=".."` or `Basic realm=".."`. Unknown
/// schemes, a Bearer challenge without a realm and a value that does not
/// parse yield `None`. (With several challenges in the value, the first is
/// taken; `choose_challenge` picks among them.) The tests' way in.
#[cfg(test)]
fn parse_challenge(header: &str) -> Option<Challenge> {
    offered_in(header).first()?.answerable()
}

/// The challenge to answer among all a response offers (several
/// `WWW-Authenticate` headers, or several challenges in one): Bearer when
/// there is one, as containerd and docker prefer it, else Basic.
pub fn choose_challenge<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    let all: Vec<Challenge> = headers
        .into_iter()
        .flat_map(offered_in)
        .filter_map(|offered| offered.answerable())
        .collect();
    let bearer = all.iter().find(|c| matches!(c, Challenge::Bearer { .. }));
    bearer.or(all.first()).cloned()
}

/// One challenge as the server sent it: its scheme and its parameters,
/// unquoted and unescaped.
struct Offered {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Offered {
    fn from_parsed(parsed: &http_auth::ChallengeRef<'_>) -> Offered {
        let params = parsed
            .params
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_unescaped()))
            .collect();
        Offered { scheme: parsed.scheme.to_string(), params }
    }

    /// The first parameter called `name`; names are case-insensitive.
    fn param(&self, name: &str) -> Option<String> {
        let (_, value) = self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?;
        Some(value.clone())
    }

    /// What ocimirror can answer: Basic, or Bearer with a realm to ask for a
    /// token (without one there is no token flow to follow).
    fn answerable(&self) -> Option<Challenge> {
        if self.scheme.eq_ignore_ascii_case("basic") {
            Some(Challenge::Basic)
        } else if self.scheme.eq_ignore_ascii_case("bearer") {
            Some(Challenge::Bearer {
                realm: self.param("realm")?,
                service: self.param("service"),
                scope: self.param("scope"),
            })
        } else {
            None
        }
    }
}

/// The challenges in one header value, in order.
///
/// The grammar is left to the `http-auth` crate: RFC 7235 lets one value
/// hold several challenges, with commas separating both the challenges and
/// each one's parameters, and quoted strings that may themselves hold
/// commas and backslash escapes. Telling `Basic realm="a, b", Bearer
/// realm=x` apart is what a hand-written splitter gets subtly wrong.
///
/// One leniency on top: a value the grammar refuses is parsed once more
/// with its bare parameter values quoted, because some servers send
/// `realm=https://host/token` unquoted and `:` and `/` may not appear in an
/// RFC token. Should that fail too, the challenges before the error count.
fn offered_in(header: &str) -> Vec<Offered> {
    let (strict, complete) = parse_list(header);
    if complete {
        return strict;
    }
    match parse_list(&quote_bare_values(header)) {
        (lenient, true) => lenient,
        _ => strict,
    }
}

/// The challenges parsed until the end or the first syntax error, and
/// whether the end was reached.
fn parse_list(header: &str) -> (Vec<Offered>, bool) {
    let mut offered = Vec::new();
    for parsed in http_auth::parser::ChallengeParser::new(header) {
        match parsed {
            Ok(challenge) => offered.push(Offered::from_parsed(&challenge)),
            Err(_) => return (offered, false),
        }
    }
    (offered, true)
}

/// `realm=https://h/t, service=s` -> `realm="https://h/t", service="s"`:
/// every parameter value that is not a quoted string becomes one (a token
/// and a quoted string mean the same in a parameter, so nothing that
/// parsed before changes meaning). Quoted strings are copied as they are.
fn quote_bare_values(header: &str) -> String {
    let mut out = String::with_capacity(header.len() + 16);
    let mut rest = header;
    while let Some(at) = rest.find(['"', '=']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with('"') {
            let end = quoted_string_len(rest);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        out.push('=');
        let value = rest[1..].trim_start();
        let len = value.find(',').unwrap_or(value.len());
        let bare = value[..len].trim_end();
        if bare.is_empty() || bare.starts_with(['"', '=']) {
            rest = &rest[1..];
        } else {
            push_quoted(&mut out, bare);
            rest = &value[len..];
        }
    }
    out.push_str(rest);
    out
}

fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The length in bytes of the quoted string at the start of `s`, closing
/// quote included (all of `s` when it is never closed).
fn quoted_string_len(s: &str) -> usize {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    // The realm is the server's: quoted safely, any credentials in it hidden.
    #[error("the token service at {} refused the credentials (HTTP {status})", redacted_url(realm))]
    Refused { realm: String, status: u16 },
    #[error("the token service at {} failed: {detail}", redacted_url(realm))]
    Failed { realm: String, detail: String },
    #[error(
        "the token service at {} answered with something that is not a token",
        redacted_url(realm)
    )]
    BadResponse { realm: String },
}

struct Cached {
    header: String,
    expires: Instant,
}

/// What to send where, learned during this run.
#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<(String, String), Cached>>,
}

impl AuthCache {
    /// The `Authorization` value to send to `host` for `repository`, if one
    /// is known and fresh.
    pub fn get(&self, host: &str, repository: &str) -> Option<String> {
        let entries = self.entries.lock().unwrap();
        let c = entries.get(&(host.to_string(), repository.to_string()))?;
        (c.expires > Instant::now()).then(|| c.header.clone())
    }

    fn put(&self, host: &str, repository: &str, header: String, ttl: Duration) {
        // Renew a little early so a token does not expire mid-request.
        let ttl = ttl.saturating_sub(Duration::from_secs(5)).max(Duration::from_secs(1));
        self.entries.lock().unwrap().insert(
            (host.to_string(), repository.to_string()),
            Cached { header, expires: Instant::now() + ttl },
        );
    }

    /// Answers a challenge: returns the `Authorization` value to retry with,
    /// or `None` when there is nothing better to send (Basic without
    /// credentials).
    pub async fn answer(
        &self,
        service: &TokenService<'_>,
        host: &str,
        repository: &str,
        challenge: &Challenge,
        credential: Option<&Credential>,
    ) -> Result<Option<String>, AuthError> {
        let header = match (challenge, credential) {
            (Challenge::Basic, Some(Credential::Basic { username, password })) => {
                let raw = format!("{username}:{password}");
                let header =
                    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw));
                self.put(host, repository, header.clone(), Duration::from_secs(3600));
                return Ok(Some(header));
            }
            (Challenge::Basic, _) => return Ok(None),
            (Challenge::Bearer { .. }, Some(Credential::RegistryToken(t))) => {
                format!("Bearer {t}")
            }
            (Challenge::Bearer { realm, service: svc, scope }, credential) => {
                let scope =
                    scope.clone().unwrap_or_else(|| format!("repository:{repository}:pull"));
                let (token, ttl) =
                    fetch_token(service, realm, svc.as_deref(), &scope, credential).await?;
                let header = format!("Bearer {token}");
                self.put(host, repository, header.clone(), ttl);
                return Ok(Some(header));
            }
        };
        self.put(host, repository, header.clone(), Duration::from_secs(3600));
        Ok(Some(header))
    }
}

/// How to reach a token service: with its own host's client and within
/// the run's timeouts; and whether the registry that sent us there is on
/// HTTPS (its credentials must not then go to a plain-HTTP realm).
pub struct TokenService<'a> {
    pub clients: &'a super::Clients,
    pub registry_is_https: bool,
    /// The registry's extra CA (see `Clients::for_url`).
    pub registry_ca: Option<&'a std::path::Path>,
    pub response_timeout: Duration,
    /// The deadline for the token body, once its headers arrived.
    pub body_timeout: Duration,
}

#[derive(serde::Deserialize)]
struct TokenReply {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

async fn fetch_token(
    via: &TokenService<'_>,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    credential: Option<&Credential>,
) -> Result<(String, Duration), AuthError> {
    let failed = |detail: String| AuthError::Failed { realm: realm.to_string(), detail };
    let url = url::Url::parse(realm).map_err(|_| failed("the realm is not a URL".into()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(failed("the realm is not an http(s) URL".into()));
    }
    if credential.is_some()
        && via.registry_is_https
        && url.scheme() == "http"
        && !via.clients.plain_http_allowed(&url)
    {
        return Err(failed(format!(
            "it is plain HTTP while the registry is HTTPS, so the credentials would travel in \
             clear text; refusing. A registry behind a TLS-terminating proxy says http:// when \
             the proxy does not pass X-Forwarded-Proto: fix it there. If plain HTTP to {} is \
             really intended, set plain_http = true for that host",
            super::host_of(&url)
        )));
    }
    let client = via
        .clients
        .for_url(&url, via.registry_ca, super::Wire::Shared)
        .map_err(|e| failed(e.to_string()))?;
    let request = token_request(&client, url, service, scope, credential);
    let resp = tokio::time::timeout(via.response_timeout, request.send())
        .await
        .map_err(|_| failed(format!("no response within {:?}", via.response_timeout)))?
        .map_err(|e| failed(super::describe_reqwest(&e)))?;
    let status = resp.status().as_u16();
    if status == 401 || status == 403 {
        return Err(AuthError::Refused { realm: realm.to_string(), status });
    }
    if !(200..300).contains(&status) {
        return Err(failed(format!("HTTP {status}")));
    }
    let body = super::read_capped(resp, MAX_TOKEN_BODY, via.body_timeout)
        .await
        .map_err(|_| AuthError::BadResponse { realm: realm.to_string() })?;
    let reply: TokenReply = serde_json::from_slice(&body)
        .map_err(|_| AuthError::BadResponse { realm: realm.to_string() })?;
    let token = reply
        .access_token
        .filter(|t| !t.is_empty())
        .or(reply.token.filter(|t| !t.is_empty()))
        .filter(|t| t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| AuthError::BadResponse { realm: realm.to_string() })?;
    let ttl = Duration::from_secs(reply.expires_in.unwrap_or(60).clamp(10, 24 * 3600));
    Ok((token, ttl))
}

/// The token request: an OAuth2 refresh-token grant (POST) for an
/// identity token, as docker sends; otherwise a GET with the service and
/// scope in the query, with basic credentials if there are any.
fn token_request(
    client: &reqwest::Client,
    mut url: url::Url,
    service: Option<&str>,
    scope: &str,
    credential: Option<&Credential>,
) -> reqwest::RequestBuilder {
    if let Some(Credential::IdentityToken(refresh)) = credential {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh)
            .append_pair("client_id", "ocimirror")
            .append_pair("scope", scope);
        if let Some(s) = service {
            form.append_pair("service", s);
        }
        return client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish());
    }
    {
        let mut q = url.query_pairs_mut();
        if let Some(s) = service {
            q.append_pair("service", s);
        }
        q.append_pair("scope", scope);
    }
    let req = client.get(url);
    match credential {
        Some(Credential::Basic { username, password }) => req.basic_auth(username, Some(password)),
        _ => req,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn bearer_is_chosen_among_several_challenges() {
        let bearer = Challenge::Bearer {
            realm: "https://auth.example/token".into(),
            service: Some("s, t".into()),
            scope: None,
        };
        let one_header =
            r#"Basic realm="r", Bearer realm="https://auth.example/token",service="s, t""#;
        assert_eq!(choose_challenge([one_header]), Some(bearer.clone()));
        let headers = ["Negotiate", r#"Bearer realm="https://auth.example/token", service="s, t""#];
        assert_eq!(choose_challenge(headers), Some(bearer));
        assert_eq!(choose_challenge([r#"Basic realm="a, b""#]), Some(Challenge::Basic));
        assert_eq!(choose_challenge(["Negotiate"]), None);
    }

    use super::*;

    #[test]
    fn parses_bearer_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull,push""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/ubuntu:pull,push".into()),
            }
        );
        assert_eq!(parse_challenge(r#"Basic realm="x""#), Some(Challenge::Basic));
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge("Bearer service=x"), None, "no realm, no flow");
        let c = parse_challenge("bearer realm=http://h/t, service=s").unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "http://h/t".into(),
                service: Some("s".into()),
                scope: None
            }
        );
    }

    #[test]
    fn quoted_strings_keep_their_commas_and_escapes() {
        let header = r#"Bearer realm="https://a.example/t?x=1,y=2",service="say \"hi\"\\",scope="repository:a/b:pull,push""#;
        assert_eq!(
            parse_challenge(header),
            Some(Challenge::Bearer {
                realm: "https://a.example/t?x=1,y=2".into(),
                service: Some(r#"say "hi"\"#.into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        // Scheme and parameter names are case-insensitive; the first of a
        // repeated parameter counts.
        let c = parse_challenge(r#"BEARER Realm="r1", REALM="r2", Service=s"#);
        assert_eq!(
            c,
            Some(Challenge::Bearer { realm: "r1".into(), service: Some("s".into()), scope: None })
        );
    }

    #[test]
    fn unquoted_urls_are_taken_and_broken_values_keep_what_came_before() {
        // A bare realm URL next to quoted values with commas in them.
        let header =
            r#"Basic realm="a, b", Bearer realm=https://h/t?a=b, scope="repository:x:pull,push""#;
        assert_eq!(
            choose_challenge([header]),
            Some(Challenge::Bearer {
                realm: "https://h/t?a=b".into(),
                service: None,
                scope: Some("repository:x:pull,push".into()),
            })
        );
        // A syntax error that quoting cannot mend: the challenges before it
        // still count, nothing after it does.
        assert_eq!(choose_challenge([r#"Basic realm="x", error error"#]), Some(Challenge::Basic));
        // Each header is parsed on its own: one the grammar refuses (a
        // token68 challenge) does not hide the next.
        let bearer = Challenge::Bearer { realm: "r".into(), service: None, scope: None };
        assert_eq!(choose_challenge(["Negotiate abc==", r#"Bearer realm="r""#]), Some(bearer));
        assert_eq!(choose_challenge([""]), None);
    }

    #[test]
    fn bare_values_are_quoted_and_quoted_ones_left_alone() {
        let cases = [
            ("realm=http://h/t, service=s", r#"realm="http://h/t", service="s""#),
            (r#"realm="x=1, y", scope=a"b"#, r#"realm="x=1, y", scope="a\"b""#),
            (r#"a="unterminated, b=c"#, r#"a="unterminated, b=c"#),
            ("Negotiate abc==", "Negotiate abc=="),
        ];
        for (raw, want) in cases {
            assert_eq!(quote_bare_values(raw), want, "{raw}");
        }
    }

    #[test]
    fn cache_is_per_host_and_repository() {
        let cache = AuthCache::default();
        cache.put("h", "a/b", "Bearer t".into(), Duration::from_secs(60));
        assert_eq!(cache.get("h", "a/b").as_deref(), Some("Bearer t"));
        assert_eq!(cache.get("h", "a/c"), None);
        assert_eq!(cache.get("other", "a/b"), None);
    }
}
