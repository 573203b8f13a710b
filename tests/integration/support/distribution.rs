//! The real CNCF registry (distribution/distribution, packaged by Debian as
//! `docker-registry`) for the interop suite, plus the peers that read and
//! write images next to it: skopeo pushes test images into it and reads the
//! layouts ocimirror writes, umoci lists them.
//!
//! A `Distribution` is one registry process on a free 127.0.0.1 port with its
//! storage, config and log in a tempdir. It can require htpasswd (Basic)
//! authentication, can serve TLS (and so HTTP/2, which Go's server offers by
//! ALPN) and can run as a pull-through cache of another registry. The
//! process is killed when the handle drops.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::image::{Blob, DOCKER_LIST, DOCKER_MANIFEST, Image, OCI_INDEX, OCI_MANIFEST};

/// The registry binary as Debian installs it (upstream calls it `registry`).
pub const REGISTRY_BIN: &str = "docker-registry";
pub const SKOPEO_BIN: &str = "skopeo";
pub const UMOCI_BIN: &str = "umoci";

/// The one user the htpasswd file knows, and its password.
pub const HTPASSWD_USER: &str = "mirror-tester";
pub const HTPASSWD_PASSWORD: &str = "ocimirror-test-pw";
/// `HTPASSWD_USER:bcrypt(HTPASSWD_PASSWORD)`, cost 5, generated once with
/// python's `bcrypt` (distribution accepts only bcrypt entries).
pub const HTPASSWD_LINE: &str =
    "mirror-tester:$2a$05$n0h91Ht7cFXTlNr6r3jDUubSsoYy9CUBPnJuDUY1qO5.U19yL/Gae";

/// A response header naming one registry process, so that the readiness
/// probe knows it reached that process and not another on the same port.
const INSTANCE_HEADER: &str = "X-Ocimirror-Test-Instance";

/// How long a registry may take to answer `GET /v2/` after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one skopeo or umoci call may take before the test gives up.
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// Which of the interop peers are not on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peers {
    pub missing: Vec<&'static str>,
}

impl Peers {
    pub fn all_present(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Looks for docker-registry, skopeo and umoci on `PATH`.
pub fn find_peers() -> Peers {
    let missing =
        [REGISTRY_BIN, SKOPEO_BIN, UMOCI_BIN].into_iter().filter(|b| which(b).is_none()).collect();
    Peers { missing }
}

/// The full path of an executable named `name` on `PATH`, if any.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// Options for a registry before it starts.
#[derive(Clone, Debug, Default)]
pub struct DistributionBuilder {
    htpasswd: bool,
    proxy: Option<String>,
    /// The server's certificate and key (PEM files).
    tls: Option<(PathBuf, PathBuf)>,
}

impl DistributionBuilder {
    /// Require Basic auth for every request, with the one user
    /// `HTPASSWD_USER` / `HTPASSWD_PASSWORD`.
    pub fn htpasswd(mut self) -> Self {
        self.htpasswd = true;
        self
    }

    /// Run as a pull-through cache of `remote_url` (e.g. another
    /// `Distribution::url()`). Such a registry refuses pushes, and asks its
    /// upstream's `/v2/` only when the first request comes in.
    ///
    /// No upstream credentials: distribution 2.8's proxy authenticates
    /// with bearer tokens only and sends nothing to a Basic (htpasswd)
    /// upstream, so a locked upstream would look empty (404) through it.
    pub fn proxy(mut self, remote_url: &str) -> Self {
        self.proxy = Some(remote_url.to_string());
        self
    }

    /// Serve TLS with this certificate and key, and log every request (the
    /// access log says which HTTP version each came over: `Distribution::log`).
    pub fn tls(mut self, certificate: &Path, key: &Path) -> Self {
        self.tls = Some((certificate.to_path_buf(), key.to_path_buf()));
        self
    }

    /// Starts the registry and waits until it answers `GET /v2/`. Panics
    /// (with the registry's log) if it does not within ~10 s.
    pub fn start(self) -> Distribution {
        let dir = tempfile::Builder::new().prefix("ocimirror-distribution-").tempdir().unwrap();
        let mut last_error = String::new();
        // The free port is found by binding port 0 and letting it go, so
        // another process may take it before the registry binds it: retry.
        for _ in 0..3 {
            let port = free_port();
            match self.try_start(dir.path(), port) {
                Ok(child) => {
                    let (htpasswd, tls) = (self.htpasswd, self.tls.is_some());
                    return Distribution { child: Some(child), port, htpasswd, tls, dir };
                }
                Err(e) => last_error = e,
            }
        }
        panic!("docker-registry did not start: {last_error}");
    }

    fn try_start(&self, dir: &Path, port: u16) -> Result<Child, String> {
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let instance =
            format!("{}-{}-{port}", std::process::id(), STARTED.fetch_add(1, Ordering::Relaxed));
        let config = dir.join("config.yml");
        std::fs::write(&config, self.config_yaml(dir, port, &instance)).unwrap();
        if self.htpasswd {
            std::fs::write(dir.join("htpasswd"), format!("{HTPASSWD_LINE}\n")).unwrap();
        }
        let log_path = dir.join("registry.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new(REGISTRY_BIN);
        cmd.arg("serve")
            .arg(&config)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // REGISTRY_* variables override the config file: keep the
        // environment's out of the test registry.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("REGISTRY_") {
                cmd.env_remove(key);
            }
        }
        #[cfg(target_os = "linux")]
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| format!("cannot run {REGISTRY_BIN}: {e}"))?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Err(format!(
                    "{REGISTRY_BIN} exited with {status} on port {port}; log:\n{}",
                    read_lossy(&log_path)
                ));
            }
            if let Ok((code, head)) =
                http_request(&format!("127.0.0.1:{port}"), "GET", "/v2/", None)
            {
                // 401 is the auth challenge of an htpasswd registry: it is up.
                // The header tells it from another server that took the port.
                let ours = head
                    .lines()
                    .any(|l| l.eq_ignore_ascii_case(&format!("{INSTANCE_HEADER}: {instance}")));
                // Over TLS this plain probe gets Go's bare 400 for an HTTP
                // request to an HTTPS server: up, though it cannot say whose.
                let tls_up = self.tls.is_some() && code == 400;
                if ((code == 200 || code == 401) && ours) || tls_up {
                    return Ok(child);
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{REGISTRY_BIN} did not answer GET /v2/ on port {port} within {READY_TIMEOUT:?}; log:\n{}",
                    read_lossy(&log_path)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn config_yaml(&self, dir: &Path, port: u16, instance: &str) -> String {
        let mut yaml = format!(
            "version: 0.1
log:
  level: warn
  accesslog:
    disabled: {no_access_log}
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: ocimirror-interop-test-secret
  headers:
    {INSTANCE_HEADER}: [{instance}]
",
            storage = quote(&dir.join("storage").display().to_string()),
            instance = quote(instance),
            no_access_log = self.tls.is_none(),
        );
        if let Some((certificate, key)) = &self.tls {
            yaml.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                quote(&certificate.display().to_string()),
                quote(&key.display().to_string())
            ));
        }
        if self.htpasswd {
            yaml.push_str(&format!(
                "auth:
  htpasswd:
    realm: ocimirror-test
    path: {}
",
                quote(&dir.join("htpasswd").display().to_string())
            ));
        }
        if let Some(remote_url) = &self.proxy {
            yaml.push_str(&format!("proxy:\n  remoteurl: {}\n", quote(remote_url)));
        }
        yaml
    }
}

/// A running registry. Killed on drop.
pub struct Distribution {
    child: Option<Child>,
    port: u16,
    htpasswd: bool,
    tls: bool,
    dir: tempfile::TempDir,
}

impl Distribution {
    /// An anonymous registry that accepts pushes.
    pub fn start() -> Distribution {
        DistributionBuilder::default().start()
    }

    pub fn builder() -> DistributionBuilder {
        DistributionBuilder::default()
    }

    /// `127.0.0.1:PORT`, the registry part of a reference.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS), the base URL (what
    /// `--mirror` takes and what `pull --json` reports as an endpoint).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
    }

    /// The user and password this registry accepts, if it wants any.
    pub fn credentials(&self) -> Option<(&'static str, &'static str)> {
        self.htpasswd.then_some((HTPASSWD_USER, HTPASSWD_PASSWORD))
    }

    /// Waits (up to ~10 s) until this pull-through cache has stored `blobs`
    /// of `repo`. It stores a blob in a goroutine of its own that fetches it
    /// from upstream a second time, after or while it serves the client, so
    /// a client that got the blob cannot tell whether the cache has it yet.
    pub fn wait_until_cached(&self, repo: &str, blobs: &[&Blob]) {
        let v2 = self.dir.path().join("storage/docker/registry/v2");
        let deadline = Instant::now() + READY_TIMEOUT;
        for blob in blobs {
            let hex = blob.digest.strip_prefix("sha256:").unwrap();
            let data = v2.join("blobs/sha256").join(&hex[..2]).join(hex).join("data");
            let link =
                v2.join("repositories").join(repo).join("_layers/sha256").join(hex).join("link");
            while !(data.is_file() && link.is_file()) {
                assert!(
                    Instant::now() < deadline,
                    "{} did not cache {repo}@{} within {READY_TIMEOUT:?}; log:\n{}",
                    self.host(),
                    blob.digest,
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// What the registry has logged so far (level warn and up, and with
    /// TLS every request: `"GET /v2/... HTTP/2.0" 200 ... "<user agent>"`).
    pub fn log(&self) -> String {
        read_lossy(&self.dir.path().join("registry.log"))
    }

    /// Kills the registry now (drop does the same). Its port then refuses
    /// connections, which is how a test takes an upstream away.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The HTTP status this registry answers for a request, with Basic
    /// credentials when it has any.
    pub fn status(&self, method: &str, path: &str) -> u16 {
        http_status(&self.host(), method, path, self.credentials())
            .unwrap_or_else(|e| panic!("{method} {path} on {}: {e}", self.host()))
    }

    /// Pushes an image or index to `repo:tag` with skopeo, byte for byte:
    /// the manifests keep the digests image.rs computed (checked after the
    /// push). `images` are the manifests `top` names (just `[&image]` for a
    /// single image, `index.all_images()` for an index).
    ///
    /// The source is a `dir:` copy, not an OCI layout: skopeo's `oci:`
    /// transport only looks at index.json entries with OCI media types, so
    /// it cannot push a Docker schema2 manifest or list from one.
    pub fn push(&self, repo: &str, tag: &str, top: &Blob, images: &[&Image]) {
        let source = tempfile::Builder::new().prefix("ocimirror-push-").tempdir().unwrap();
        write_skopeo_dir(source.path(), top, images);
        let mut args: Vec<String> = vec![
            "--insecure-policy".into(),
            "copy".into(),
            "--quiet".into(),
            "--preserve-digests".into(),
            "--dest-tls-verify=false".into(),
        ];
        if top.media_type == OCI_INDEX || top.media_type == DOCKER_LIST {
            // Every child, attestation manifests included.
            args.push("--all".into());
        }
        if let Some((user, password)) = self.credentials() {
            args.push(format!("--dest-creds={user}:{password}"));
        }
        args.push(format!("dir:{}", source.path().display()));
        args.push(format!("docker://{}/{repo}:{tag}", self.host()));
        let out = skopeo(&args);
        assert!(
            out.status.success(),
            "skopeo {}\nfailed: {}\nstdout: {}\nstderr: {}\nregistry log:\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        // The registry must now serve exactly the bytes we built.
        let served = self.raw_manifest(repo, tag);
        assert!(
            served == top.bytes,
            "{}/{repo}:{tag} serves a manifest other than the one pushed ({} vs {})",
            self.host(),
            super::image::sha256(&served),
            top.digest
        );
    }

    /// The manifest bytes the registry serves for `repo:reference` (a tag
    /// or a digest), read with `skopeo inspect --raw`.
    pub fn raw_manifest(&self, repo: &str, reference: &str) -> Vec<u8> {
        let sep = if reference.contains(':') { "@" } else { ":" };
        let mut args: Vec<String> =
            vec!["inspect".into(), "--raw".into(), "--tls-verify=false".into()];
        if let Some((user, password)) = self.credentials() {
            args.push(format!("--creds={user}:{password}"));
        }
        args.push(format!("docker://{}/{repo}{sep}{reference}", self.host()));
        let out = skopeo(&args);
        assert!(
            out.status.success(),
            "skopeo {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs skopeo with a private HOME and tmpdir (so no user's auth.json or
/// registries.conf leaks in) and a timeout.
pub fn skopeo<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    run_peer(SKOPEO_BIN, args)
}

/// Runs umoci with a timeout.
pub fn umoci<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    run_peer(UMOCI_BIN, args)
}

fn run_peer<S: AsRef<std::ffi::OsStr>>(bin: &str, args: &[S]) -> Output {
    let home = tempfile::Builder::new().prefix("ocimirror-peer-home-").tempdir().unwrap();
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("XDG_RUNTIME_DIR", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("DOCKER_CONFIG", home.path().join(".docker"))
        .env_remove("REGISTRY_AUTH_FILE");
    run_bounded(cmd, PEER_TIMEOUT)
}

/// Runs `cmd` (stdin closed, output collected) and fails the test when it
/// takes longer than `timeout`.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> Output {
    let bin = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    // Read both pipes on threads so a chatty peer cannot block on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{bin} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: out_thread.join().unwrap(), stderr: err_thread.join().unwrap() }
}

/// Writes `top` and the manifests and blobs it names in the layout of
/// skopeo's `dir:` transport (version 1.1): `manifest.json` is the top
/// manifest, `<hex>.manifest.json` each child of an index, `<hex>` each blob.
pub fn write_skopeo_dir(dir: &Path, top: &Blob, images: &[&Image]) {
    let hex = |b: &Blob| b.digest.strip_prefix("sha256:").unwrap().to_string();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("version"), "Directory Transport Version: 1.1\n").unwrap();
    std::fs::write(dir.join("manifest.json"), &top.bytes).unwrap();
    for image in images {
        if image.manifest.digest != top.digest {
            let name = format!("{}.manifest.json", hex(&image.manifest));
            std::fs::write(dir.join(name), &image.manifest.bytes).unwrap();
        }
        for blob in image.blobs() {
            std::fs::write(dir.join(hex(blob)), &blob.bytes).unwrap();
        }
    }
}

/// One HTTP/1.1 request over a plain TCP connection; returns the status code.
/// Manifest requests accept all four manifest media types.
pub fn http_status(
    host: &str,
    method: &str,
    path: &str,
    basic: Option<(&str, &str)>,
) -> Result<u16, String> {
    http_request(host, method, path, basic).map(|(status, _)| status)
}

/// One HTTP/1.1 request; returns the status code and the response head
/// (status line and headers). Reads the whole response: a pull-through
/// cache may give up storing a blob whose client hung up early.
pub fn http_request(
    host: &str,
    method: &str,
    path: &str,
    basic: Option<(&str, &str)>,
) -> Result<(u16, String), String> {
    use base64::Engine as _;
    let mut stream = TcpStream::connect(host).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    // Every manifest type ocimirror asks for: distribution answers 404 to a
    // manifest request whose Accept does not name the manifest's type.
    let accept = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(", ");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\nConnection: close\r\n"
    );
    if let Some((user, password)) = basic {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(|e| e.to_string())?;
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| head.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {head:?}"))?;
    Ok((status, head))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A YAML double-quoted scalar.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

/// Makes the registry die with the test that started it, even when the
/// test process is SIGKILLed and `Drop` never runs (Linux's parent-death
/// signal). It fires when the spawning *thread* ends: fine here, as each
/// test starts and drops its registries on its own thread.
#[cfg(target_os = "linux")]
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec only prctl(2) and getppid(2) run, both
    // async-signal-safe; nothing is allocated or locked.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The test may have died before the prctl: then nobody would
            // send the signal.
            if libc::getppid() != parent {
                return Err(std::io::Error::other("the test process is gone"));
            }
            Ok(())
        });
    }
}
