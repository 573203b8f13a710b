//! Registry authentication: the `WWW-Authenticate` challenge, the bearer
//! token flow, and a per-run cache of what to send to each host.
//!
//! A token is cached per (host, repository), so a pull that needs one token
//! asks for it once, not once per blob.

pub mod credentials;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
pub use credentials::{Credential, CredentialStore};

/// Token and error bodies are small; more than this is a broken or hostile
/// server.
pub const MAX_TOKEN_BODY: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String>, scope: Option<String> },
}

/// Parses a `WWW-Authenticate` header: `Bearer realm="..",service="..",scope=".."`
/// or `Basic realm=".."`. Unknown schemes yield `None`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let params = parse_params(rest);
            let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            Some(Challenge::Bearer {
                realm: get("realm")?,
                service: get("service"),
                scope: get("scope"),
            })
        }
        _ => None,
    }
}

/// The challenge to answer among all a response offers (several
/// `WWW-Authenticate` headers, or several challenges in one): Bearer when
/// there is one, as containerd and docker prefer it, else Basic.
pub fn choose_challenge<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    let all: Vec<Challenge> = headers
        .into_iter()
        .flat_map(split_challenges)
        .filter_map(|c| parse_challenge(&c))
        .collect();
    let bearer = all.iter().find(|c| matches!(c, Challenge::Bearer { .. }));
    bearer.or(all.first()).cloned()
}

/// One header value's challenges: `Basic realm="r", Bearer realm="x",
/// service="y"` -> `Basic realm="r"` and `Bearer realm="x",service="y"`. A
/// challenge starts with a scheme: a token not followed by `=`.
fn split_challenges(header: &str) -> Vec<String> {
    // Comma-separated items, commas inside quotes kept.
    let (mut items, mut item) = (Vec::new(), String::new());
    let (mut quoted, mut escaped) = (false, false);
    for c in header.chars() {
        if quoted {
            item.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            ',' => items.push(std::mem::take(&mut item)),
            '"' => {
                quoted = true;
                item.push(c);
            }
            _ => item.push(c),
        }
    }
    items.push(item);
    let mut out: Vec<String> = Vec::new();
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        let token_end = item.find([' ', '=']).unwrap_or(item.len());
        let starts_scheme = !item[token_end..].trim_start().starts_with('=');
        match out.last_mut() {
            Some(current) if !starts_scheme => {
                current.push(',');
                current.push_str(item);
            }
            _ => out.push(item.to_string()),
        }
    }
    out
}

/// `a="x,y",b=z` -> [(a, "x,y"), (b, z)]; quoted values may contain commas.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else { break };
        let name = name.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &q[end.min(q.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.push((name, value));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token service at {realm} refused the credentials (HTTP {status})")]
    Refused { realm: String, status: u16 },
    #[error("the token service at {realm} failed: {detail}")]
    Failed { realm: String, detail: String },
    #[error("the token service at {realm} answered with something that is not a token")]
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
    pub clients: &'a crate::registry::Clients,
    pub registry_is_https: bool,
    /// The registry's extra CA (see `Clients::for_url`).
    pub registry_ca: Option<&'a std::path::Path>,
    pub response_timeout: Duration,
    pub stall_timeout: Duration,
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
    let mut url = url::Url::parse(realm).map_err(|_| failed("the realm is not a URL".into()))?;
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
            crate::registry::host_of(&url)
        )));
    }
    let client = via.clients.for_url(&url, via.registry_ca).map_err(|e| failed(e.to_string()))?;
    let request = if let Some(Credential::IdentityToken(refresh)) = credential {
        // OAuth2 refresh-token grant, as docker does with identity tokens.
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh)
            .append_pair("client_id", "ocimirror")
            .append_pair("scope", scope);
        if let Some(s) = service {
            form.append_pair("service", s);
        }
        client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish())
    } else {
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", scope);
        }
        let req = client.get(url);
        match credential {
            Some(Credential::Basic { username, password }) => {
                req.basic_auth(username, Some(password))
            }
            _ => req,
        }
    };
    let resp = tokio::time::timeout(via.response_timeout, request.send())
        .await
        .map_err(|_| failed(format!("no response within {:?}", via.response_timeout)))?
        .map_err(|e| failed(crate::registry::describe_reqwest(&e)))?;
    let status = resp.status().as_u16();
    if status == 401 || status == 403 {
        return Err(AuthError::Refused { realm: realm.to_string(), status });
    }
    if !(200..300).contains(&status) {
        return Err(failed(format!("HTTP {status}")));
    }
    let body = crate::registry::read_capped(resp, MAX_TOKEN_BODY, via.stall_timeout)
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
    fn cache_is_per_host_and_repository() {
        let cache = AuthCache::default();
        cache.put("h", "a/b", "Bearer t".into(), Duration::from_secs(60));
        assert_eq!(cache.get("h", "a/b").as_deref(), Some("Bearer t"));
        assert_eq!(cache.get("h", "a/c"), None);
        assert_eq!(cache.get("other", "a/b"), None);
    }
}
