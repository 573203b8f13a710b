//! Credentials from the files docker and podman users already have, in the
//! order podman and skopeo (containers-image) read them: podman's
//! `auth.json` (`$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/`
//! or `/run/containers/<uid>/`; then `$XDG_CONFIG_HOME/containers/`), then
//! docker's `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`);
//! including `credHelpers` and `credsStore` through `docker-credential-<name>`
//! programs, and podman's keys for one namespace (`quay.io/org`).
//!
//! Secrets never appear in `Debug` output or error messages.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use crate::reference::DOCKER_HUB;

/// A credential for one host.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token, exchanged at the token realm.
    IdentityToken(String),
    /// A bearer token to send as is.
    RegistryToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
            Credential::RegistryToken(_) => f.write_str("RegistryToken(<redacted>)"),
        }
    }
}

#[derive(Deserialize, Default)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
    registrytoken: Option<String>,
}

/// All the credential files found at start-up, in order of precedence.
#[derive(Default)]
pub struct CredentialStore {
    files: Vec<(PathBuf, AuthFile)>,
    /// `--creds`: for this registry only, before any file.
    explicit: Option<(String, Credential)>,
}

/// What the command line says about credentials.
#[derive(Clone, Debug, Default)]
pub struct CredentialOptions {
    /// `--creds USER:PASS`, bound to the one registry the references name.
    pub explicit: Option<(String, Credential)>,
    /// `--authfile FILE`: that file only.
    pub authfile: Option<PathBuf>,
}

impl CredentialOptions {
    /// Refuses what can only be a mistake, before anything is sent: a
    /// `REGISTRY_AUTH_FILE` or `--authfile` naming a file that is not there
    /// (a typo would otherwise read as "no credentials").
    pub fn check(&self) -> crate::error::Result<()> {
        let named = match &self.authfile {
            Some(p) => Some((p.clone(), "--authfile")),
            None => std::env::var_os("REGISTRY_AUTH_FILE")
                .filter(|v| !v.is_empty())
                .map(|p| (PathBuf::from(p), "REGISTRY_AUTH_FILE")),
        };
        match named {
            Some((path, from)) if !path.is_file() => Err(crate::error::Error::Usage(format!(
                "{from} names {}, which does not exist; log in with `podman login \
                 --authfile {0}` or point {from} at an existing auth.json",
                path.display()
            ))),
            _ => Ok(()),
        }
    }
}

/// `--creds USER:PASS` as a credential (the password may hold ':').
pub fn parse_creds(text: &str) -> crate::error::Result<Credential> {
    match text.split_once(':') {
        Some((user, pass)) if !user.is_empty() && !pass.is_empty() => {
            Ok(Credential::Basic { username: user.into(), password: pass.into() })
        }
        _ => Err(crate::error::Error::Usage(
            "--creds takes USER:PASS (a name, a colon, a password)".into(),
        )),
    }
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<_> = self.files.iter().map(|(p, _)| p.display().to_string()).collect();
        f.debug_struct("CredentialStore").field("files", &paths).finish()
    }
}

/// The names a host's entry may be stored under. Docker Hub's historical key
/// is `https://index.docker.io/v1/`.
fn aliases(host: &str) -> Vec<String> {
    let h = host.to_ascii_lowercase();
    if h == DOCKER_HUB || h == "index.docker.io" || h == "registry-1.docker.io" {
        vec!["index.docker.io".into(), "docker.io".into(), "registry-1.docker.io".into()]
    } else {
        vec![h]
    }
}

/// The server address docker stores Docker Hub's credentials under, and
/// asks credential helpers for.
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// `https://index.docker.io/v1/` -> `index.docker.io`; `host:5000` stays.
fn key_host(key: &str) -> String {
    let k = key.split_once("://").map_or(key, |(_, rest)| rest);
    k.split('/').next().unwrap_or("").to_ascii_lowercase()
}

/// The `auths` entry for `names` (a host and its aliases) and `repository`,
/// as containers-image picks it: podman's keys for a namespace first, most
/// specific first (`host/org/app`, then `host/org`), then the host's own
/// key, then docker's keys with a scheme and path (`https://host/v1/`). A
/// key for a namespace never stands for the whole host.
fn find_entry<'a>(
    auths: &'a BTreeMap<String, AuthEntry>,
    names: &[String],
    repository: Option<&str>,
) -> Option<(&'a String, &'a AuthEntry)> {
    let exact =
        |want: &str| auths.iter().find(|(k, _)| k.trim_end_matches('/').eq_ignore_ascii_case(want));
    let segments: Vec<&str> = repository.map(|r| r.split('/').collect()).unwrap_or_default();
    for end in (1..=segments.len()).rev() {
        let path = segments[..end].join("/");
        if let Some(found) = names.iter().find_map(|n| exact(&format!("{n}/{path}"))) {
            return Some(found);
        }
    }
    names
        .iter()
        .find_map(|n| exact(n))
        .or_else(|| auths.iter().find(|(k, _)| k.contains("://") && names.contains(&key_host(k))))
}

impl CredentialStore {
    /// The store the options call for: `--authfile`'s file alone, or the
    /// files of the environment; `--creds` before either.
    pub fn for_options(options: &CredentialOptions) -> CredentialStore {
        let mut store = match &options.authfile {
            Some(path) => {
                let mut store = CredentialStore::default();
                store.add_file(path);
                store
            }
            None => CredentialStore::from_env(),
        };
        store.explicit = options.explicit.clone();
        store
    }

    /// Reads the credential files named by the environment. Missing files
    /// are fine; unreadable or malformed ones are skipped with a warning
    /// (a broken docker config should not stop a public pull).
    pub fn from_env() -> CredentialStore {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = env("HOME");
        let mut paths = Vec::new();
        // podman's primary file: the one it writes on `podman login`.
        if let Some(p) = env("REGISTRY_AUTH_FILE") {
            paths.push(p);
        } else if let Some(run) = env("XDG_RUNTIME_DIR") {
            paths.push(run.join("containers/auth.json"));
        } else {
            #[cfg(target_os = "linux")]
            {
                // SAFETY: getuid(2) cannot fail and touches no memory.
                let uid = unsafe { libc::getuid() };
                paths.push(PathBuf::from(format!("/run/containers/{uid}/auth.json")));
            }
        }
        if let Some(config) =
            env("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")))
        {
            paths.push(config.join("containers/auth.json"));
        }
        match env("DOCKER_CONFIG") {
            Some(d) => paths.push(d.join("config.json")),
            None => paths.extend(home.map(|h| h.join(".docker/config.json"))),
        }
        let mut store = CredentialStore::default();
        for p in paths {
            store.add_file(&p);
        }
        store
    }

    pub fn add_file(&mut self, path: &Path) {
        let Ok(text) = std::fs::read_to_string(path) else { return };
        match serde_json::from_str::<AuthFile>(&text) {
            Ok(f) => self.files.push((path.to_path_buf(), f)),
            Err(e) => tracing::warn!(
                "ignoring credentials file {}: {}",
                path.display(),
                crate::text::without_values(&e.to_string())
            ),
        }
    }

    /// The credential for `host` (and `repository`, for podman's keys for
    /// one namespace), if any file or helper has one.
    pub async fn get(&self, host: &str, repository: Option<&str>) -> Option<Credential> {
        self.get_sourced(host, repository).await.map(|(c, _)| c)
    }

    /// `get`, with where the credential came from, for messages: a file's
    /// path, `docker-credential-NAME`, or `--creds`.
    pub async fn get_sourced(
        &self,
        host: &str,
        repository: Option<&str>,
    ) -> Option<(Credential, String)> {
        let names = aliases(host);
        if let Some((registry, c)) = &self.explicit
            && names.contains(&registry.to_ascii_lowercase())
        {
            return Some((c.clone(), "--creds".into()));
        }
        let hub = names.len() > 1;
        for (path, file) in &self.files {
            // A helper named for this host wins over the file's own entries.
            // Docker asks it with the server address, Docker Hub's being
            // its v1 URL.
            let helper = file.cred_helpers.iter().find(|(k, _)| names.contains(&key_host(k)));
            if let Some((key, helper)) = helper {
                let found = run_helper(helper, if hub { DOCKER_HUB_SERVER } else { key }).await;
                return found.map(|c| (c, format!("docker-credential-{helper}")));
            }
            let entry = find_entry(&file.auths, &names, repository);
            // With a credsStore, docker takes the secret from the store
            // (an `auth` left in the file from before is stale); the file's
            // entry only if the store has nothing.
            if let Some(store) = &file.creds_store {
                let server = match entry {
                    Some((key, _)) => key.as_str(),
                    None if hub => DOCKER_HUB_SERVER,
                    None => host,
                };
                if let Some(c) = run_helper(store, server).await {
                    return Some((c, format!("docker-credential-{store}")));
                }
            }
            if let Some((key, entry)) = entry {
                match decode_entry(entry) {
                    Some(c) => return Some((c, path.display().to_string())),
                    None => {
                        tracing::warn!("credential entry {key} in {} is unusable", path.display())
                    }
                }
            }
        }
        None
    }
}

fn decode_entry(e: &AuthEntry) -> Option<Credential> {
    if let Some(t) = e.registrytoken.as_deref().filter(|t| !t.is_empty()) {
        return Some(Credential::RegistryToken(t.into()));
    }
    if let Some(t) = e.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Some(Credential::IdentityToken(t.into()));
    }
    if let Some(a) = e.auth.as_deref().filter(|a| !a.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD.decode(a.trim()).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (u, p) = text.split_once(':')?;
        // As containers-image: a name and a password, or it is no entry.
        if u.is_empty() || p.is_empty() {
            return None;
        }
        return Some(Credential::Basic { username: u.into(), password: p.into() });
    }
    match (&e.username, &e.password) {
        (Some(u), Some(p)) if !u.is_empty() && !p.is_empty() => {
            Some(Credential::Basic { username: u.clone(), password: p.clone() })
        }
        _ => None,
    }
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// Runs `docker-credential-<name> get` with the server URL on stdin. A
/// helper that is missing, fails or says "not found" yields no credential.
async fn run_helper(name: &str, server: &str) -> Option<Credential> {
    use tokio::io::AsyncWriteExt;
    let program = format!("docker-credential-{name}");
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            // A credsStore copied from another machine: the file's own
            // entry is used instead.
            std::io::ErrorKind::NotFound => tracing::debug!("{program} is not installed"),
            _ => tracing::warn!("cannot run {program}: {e}"),
        })
        .ok()?;
    let mut stdin = child.stdin.take()?;
    // A helper that does not read its input (EPIPE) may still answer.
    let _ = stdin.write_all(server.as_bytes()).await;
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| tracing::warn!("{program} did not answer within 30 s"))
        .ok()?
        .ok()?;
    if !out.status.success() {
        tracing::debug!("{program} has no credentials for {server}");
        return None;
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout)
        .map_err(|_| tracing::warn!("{program} printed something that is not credentials JSON"))
        .ok()?;
    if reply.secret.is_empty() {
        None
    } else if reply.username == "<token>" {
        Some(Credential::IdentityToken(reply.secret))
    } else if reply.username.is_empty() {
        None
    } else {
        Some(Credential::Basic { username: reply.username, password: reply.secret })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(json: &str) -> (tempfile::TempDir, CredentialStore) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(&p, json).unwrap();
        let mut s = CredentialStore::default();
        s.add_file(&p);
        (dir, s)
    }

    #[tokio::test]
    async fn reads_auths_by_host_and_docker_hub_key() {
        let (_d, s) = store(
            r#"{"auths":{
                "https://index.docker.io/v1/":{"auth":"aHViOnNlY3JldA=="},
                "http://127.0.0.1:5000":{"auth":"dTpwOmF0aA=="},
                "ghcr.io":{"identitytoken":"refresh"}}}"#,
        );
        let hub = Credential::Basic { username: "hub".into(), password: "secret".into() };
        assert_eq!(s.get("docker.io", None).await, Some(hub.clone()));
        assert_eq!(s.get("registry-1.docker.io", None).await, Some(hub));
        // Passwords may contain ':'.
        let local = Credential::Basic { username: "u".into(), password: "p:ath".into() };
        assert_eq!(s.get("127.0.0.1:5000", None).await, Some(local));
        assert_eq!(s.get("ghcr.io", None).await, Some(Credential::IdentityToken("refresh".into())));
        assert_eq!(s.get("127.0.0.1:5001", None).await, None);
        assert_eq!(s.get("quay.io", None).await, None);
    }

    #[tokio::test]
    async fn creds_from_the_command_line_are_for_their_registry_only() {
        let (_d, mut s) = store(r#"{"auths":{"quay.io":{"auth":"aG9zdDozCg=="}}}"#);
        s.explicit = Some(("docker.io".into(), basic("me", "pw")));
        let hub = s.get_sourced("registry-1.docker.io", None).await;
        assert_eq!(hub, Some((basic("me", "pw"), "--creds".to_string())));
        assert_ne!(s.get("quay.io", None).await, Some(basic("me", "pw")));
        assert_eq!(s.get("mirror.example", None).await, None);
        assert!(parse_creds("me:p:w").is_ok());
        assert!(parse_creds("me").is_err() && parse_creds(":pw").is_err());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credential::Basic { username: "u".into(), password: "hunter2".into() };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", Credential::IdentityToken("tok".into())).contains("tok"));
    }

    #[tokio::test]
    async fn missing_helper_is_no_credential() {
        let (_d, s) = store(r#"{"credHelpers":{"quay.io":"ocimirror-test-no-such-helper"}}"#);
        assert_eq!(s.get("quay.io", None).await, None);
    }

    fn basic(user: &str, pass: &str) -> Credential {
        Credential::Basic { username: user.into(), password: pass.into() }
    }

    fn auth(user: &str, pass: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    }

    #[tokio::test]
    async fn a_namespace_key_wins_for_its_namespace_only() {
        let json = format!(
            r#"{{"auths":{{"quay.io/org-a":{{"auth":"{}"}},"quay.io/org-b":{{"auth":"{}"}},"quay.io":{{"auth":"{}"}}}}}}"#,
            auth("robot-a", "1"),
            auth("robot-b", "2"),
            auth("host", "3")
        );
        let (_d, s) = store(&json);
        assert_eq!(s.get("quay.io", Some("org-b/app")).await, Some(basic("robot-b", "2")));
        assert_eq!(s.get("quay.io", Some("org-a/x/y")).await, Some(basic("robot-a", "1")));
        assert_eq!(s.get("quay.io", Some("other/app")).await, Some(basic("host", "3")));
        assert_eq!(s.get("quay.io", None).await, Some(basic("host", "3")));
        // A namespace key alone is not the host's.
        let json =
            format!(r#"{{"auths":{{"quay.io/org-a":{{"auth":"{}"}}}}}}"#, auth("robot-a", "1"));
        let (_d, s) = store(&json);
        assert_eq!(s.get("quay.io", Some("org-b/app")).await, None);
        // Empty names or passwords are no entry.
        let json = format!(r#"{{"auths":{{"quay.io":{{"auth":"{}"}}}}}}"#, auth("user", ""));
        let (_d, s) = store(&json);
        assert_eq!(s.get("quay.io", None).await, None);
    }
}
