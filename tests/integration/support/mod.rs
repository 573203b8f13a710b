#![allow(dead_code)] // Not every test binary module uses every helper.

//! Shared test support: images (`image`), the fake registry (`registry`) and
//! `Test`, one small builder that runs the `ocimirror` binary in an isolated
//! temporary home, plus checks on the OCI layouts it writes.
//!
//! ```ignore
//! let t = Test::new().config("[mirrors]\n...");
//! let out = t.run_with(["pull", &reference, "-o", &t.layout_str(), "--json"]);
//! out.assert_success();
//! assert_layout_valid(&t.layout());
//! ```

pub mod distribution;
pub mod image;
pub mod registry;
pub mod runtimes;
#[cfg(target_os = "linux")]
pub mod terminal;
pub mod tls;

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Variables that could make the binary read the developer's real files or
/// change its output; removed from the child's environment. Prefixes end in `_`.
const SCRUBBED: &[&str] = &[
    "OCIMIRROR_",
    "XDG_",
    "DOCKER_",
    "CONTAINERS_",
    "REGISTRY_AUTH_FILE",
    "HOME",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "FORCE_COLOR",
    "TERM",
    "COLUMNS",
    "RUST_LOG",
    // A proxy would swallow our 127.0.0.1 traffic.
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
];

fn scrubbed(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SCRUBBED.iter().any(|s| if s.ends_with('_') { upper.starts_with(s) } else { upper == *s })
}

/// One CLI invocation (or several, in the same temporary directory).
pub struct Test {
    dir: TempDir,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    file_size_limit: Option<u64>,
}

impl Test {
    /// A fresh temp dir with an empty `home/`; the child gets HOME and the XDG
    /// dirs inside it, so no real config, credentials or cache is ever read.
    pub fn new() -> Test {
        let dir = tempfile::Builder::new().prefix("ocimirror-test-").tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        Test {
            dir,
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            timeout: Duration::from_secs(60),
            file_size_limit: None,
        }
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        // Podman's default auth.json lives under $XDG_RUNTIME_DIR/containers.
        .env("XDG_RUNTIME_DIR", &run)
        .env("NO_COLOR", "1")
    }

    /// The temp dir itself (also the child's working directory).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `<tmp>/layout`, the conventional output directory; tests pass `-o` themselves.
    pub fn layout(&self) -> PathBuf {
        self.dir.path().join("layout")
    }

    pub fn layout_str(&self) -> String {
        self.layout().to_str().unwrap().to_string()
    }

    /// Writes `<tmp>/config.toml` and points OCIMIRROR_CONFIG at it.
    pub fn config(self, toml: &str) -> Self {
        let path = self.write_file("config.toml", toml.as_bytes());
        self.env("OCIMIRROR_CONFIG", path)
    }

    /// Writes `<tmp>/docker/config.json` and sets DOCKER_CONFIG=<tmp>/docker.
    pub fn docker_config(self, json: Value) -> Self {
        let path = self.write_file("docker/config.json", json.to_string().as_bytes());
        self.env("DOCKER_CONFIG", path.parent().unwrap())
    }

    /// Writes `<tmp>/auth.json` (Podman's format) and sets REGISTRY_AUTH_FILE.
    pub fn auth_file(self, json: Value) -> Self {
        let path = self.write_file("auth.json", json.to_string().as_bytes());
        self.env("REGISTRY_AUTH_FILE", path)
    }

    /// Writes any file under the temp dir (e.g. `bin/docker-credential-x`);
    /// `.sh` files and anything under `bin/` are made executable.
    pub fn file(self, relative: &str, contents: &str) -> Self {
        self.write_file(relative, contents.as_bytes());
        self
    }

    fn write_file(&self, relative: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        #[cfg(unix)]
        if relative.starts_with("bin/") || relative.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    /// `<tmp>/bin` prepended to PATH, for fake credential helpers written with `file`.
    pub fn bin_on_path(self) -> Self {
        let bin = self.dir.path().join("bin");
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        let joined = std::env::join_paths(paths).unwrap();
        self.env("PATH", joined)
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// No file the child writes may grow past `bytes` (RLIMIT_FSIZE): the
    /// write that would fails with EFBIG, as on a full disk.
    #[cfg(target_os = "linux")]
    pub fn file_size_limit(mut self, bytes: u64) -> Self {
        self.file_size_limit = Some(bytes);
        self
    }

    /// Kill the child after this long (default 60 s) and fail the test.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs `ocimirror` with the args given to `args`/`arg`.
    pub fn run(&self) -> Output {
        self.run_with(&self.args)
    }

    /// Runs `ocimirror` with these args instead, in the same temp dir and
    /// environment: for a second pull into the same layout, `inspect`, etc.
    pub fn run_with<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());

        let started = Instant::now();
        let mut child = cmd.spawn().expect("spawn ocimirror");
        if let Some(input) = &self.stdin {
            // Small inputs only: written before the child is read from.
            let mut pipe = child.stdin.take().unwrap();
            let _ = pipe.write_all(input);
        }
        // Read both pipes on threads into shared buffers, so a timed-out run
        // can still show what it printed.
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        // Sampled while the child runs: the mark only grows, and a peak is
        // missed only if it comes in the last poll interval before exit.
        let mut peak_rss_kib = None;
        let status = loop {
            peak_rss_kib = peak_rss_kib.max(vm_hwm_kib(child.id()));
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "ocimirror did not finish within {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.timeout,
                    lossy(&stdout.0),
                    lossy(&stderr.0)
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let elapsed = started.elapsed();
        // The pipes close when the child exits (unless it left a grandchild
        // holding them, which these tests never do).
        let _ = stdout.1.join();
        let _ = stderr.1.join();
        Output { status, stdout: lossy(&stdout.0), stderr: lossy(&stderr.0), elapsed, peak_rss_kib }
    }
}

/// The peak resident set size of a running `ocimirror`, in KiB: `VmHWM` in
/// `/proc/<pid>/status` (Linux), the high-water mark of its own address
/// space since its exec. `None` before the exec (a forked copy of this
/// process), once it has exited, or elsewhere.
///
/// Not `wait4`'s `ru_maxrss`: that also counts the address space the child
/// was exec'd from, and std spawns through `vfork`, so it reports the
/// test process's own peak (hundreds of MiB here) for any child.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    if exe != assert_cmd::cargo::cargo_bin("ocimirror") {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}

impl Test {
    /// The `ocimirror` command with these args, in this test's directory and
    /// isolated environment, not yet started: for tests that must signal or
    /// kill the process, or run several at once. Stdio is left to the caller.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("ocimirror"));
        cmd.args(args).current_dir(self.dir.path());
        for (key, _) in std::env::vars_os() {
            if scrubbed(&key.to_string_lossy()) {
                cmd.env_remove(&key);
            }
        }
        for (key, value) in &self.env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        #[cfg(target_os = "linux")]
        if let Some(limit) = self.file_size_limit {
            use std::os::unix::process::CommandExt as _;
            // SAFETY: between fork and exec only setrlimit(2) and signal(2)
            // run, both async-signal-safe. SIGXFSZ is ignored so the write
            // fails instead of killing the process (the disposition survives
            // exec).
            unsafe {
                cmd.pre_exec(move || {
                    let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    Ok(())
                });
            }
        }
        cmd
    }

    /// Starts `ocimirror` with these args in the background (stdin closed,
    /// stdout and stderr collected), for tests that kill or interrupt it.
    pub fn spawn<I, S>(&self, args: I) -> Running
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ocimirror");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Running { child, stdout, stderr, started: Instant::now() }
    }
}

/// An `ocimirror` process started with `Test::spawn`. Dropping it kills it.
pub struct Running {
    child: std::process::Child,
    stdout: Collected,
    stderr: Collected,
    started: Instant,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Has it exited yet?
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// SIGKILL, then the output so far.
    pub fn kill(mut self) -> Output {
        let _ = self.child.kill();
        self.finish()
    }

    /// SIGINT (what Ctrl-C sends), with the `kill` command.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT failed");
    }

    /// Sends a signal by name (`TERM`, `HUP`, ...) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for it to exit; after `timeout` it is killed and the test fails.
    pub fn wait(mut self, timeout: Duration) -> Output {
        let deadline = Instant::now() + timeout;
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let out = self.finish();
                panic!("ocimirror did not finish within {timeout:?}\n{}", out.dump());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.finish()
    }

    fn finish(&mut self) -> Output {
        let status = self.child.wait().unwrap();
        let elapsed = self.started.elapsed();
        // Join the readers (the pipes are closed now); take the handles so
        // a second call (from Drop) has nothing left to join.
        for c in [&mut self.stdout, &mut self.stderr] {
            let h = std::mem::replace(&mut c.1, std::thread::spawn(|| {}));
            let _ = h.join();
        }
        Output {
            status,
            stdout: lossy(&self.stdout.0),
            stderr: lossy(&self.stderr.0),
            elapsed,
            peak_rss_kib: None,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Default for Test {
    fn default() -> Self {
        Test::new()
    }
}

type Collected = (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>);

fn collect(mut pipe: impl Read + Send + 'static) -> Collected {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = buf.clone();
    let handle = std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buf, handle)
}

fn lossy(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The child's peak resident set size in KiB, where it could be
    /// measured (`Test::run` on Linux; not for `Test::spawn`).
    pub peak_rss_kib: Option<u64>,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Panics with both streams unless the exit code was 0.
    pub fn assert_success(&self) -> &Self {
        assert!(self.status.success(), "expected success, got {}\n{}", self.status, self.dump());
        self
    }

    /// Panics with both streams unless the exit code was `code`.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.status.code(), Some(code), "unexpected exit status\n{}", self.dump());
        self
    }

    /// stdout parsed as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", self.dump()))
    }

    /// stdout parsed as JSON lines (blank lines skipped).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}\n{}", self.dump()))
            })
            .collect()
    }

    pub fn dump(&self) -> String {
        format!("--- stdout ---\n{}\n--- stderr ---\n{}", self.stdout, self.stderr)
    }
}

// ---------------------------------------------------------------------------
// OCI layout checks
// ---------------------------------------------------------------------------

pub fn layout_index(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("index.json"))
        .unwrap_or_else(|e| panic!("{}: no index.json: {e}", dir.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: index.json is not JSON: {e}", dir.display()))
}

fn blob_path(dir: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap_or_else(|| panic!("not a digest: {digest}"));
    dir.join("blobs").join(alg).join(hex)
}

pub fn layout_has_blob(dir: &Path, digest: &str) -> bool {
    blob_path(dir, digest).is_file()
}

/// Panics unless `dir` is a complete, consistent OCI image layout:
/// - `oci-layout` says version 1.0.0 and `index.json` parses;
/// - every entry under `blobs/sha256/` is a file named by 64 hex digits that
///   hashes to its name (so no temp or partial files were left there);
/// - every descriptor in index.json has its blob, of the stated size, and no
///   two entries share a `org.opencontainers.image.ref.name`;
/// - every image manifest that is present (top level or named by a present
///   index) has its config and layers. Index children may be absent, since a
///   single-platform pull keeps only the chosen one.
pub fn assert_layout_valid(dir: &Path) {
    let layout: Value = serde_json::from_slice(
        &std::fs::read(dir.join("oci-layout"))
            .unwrap_or_else(|e| panic!("{}: no oci-layout: {e}", dir.display())),
    )
    .expect("oci-layout is not JSON");
    assert_eq!(layout["imageLayoutVersion"], "1.0.0", "oci-layout: {layout}");

    let index = layout_index(dir);
    let sha_dir = dir.join("blobs/sha256");
    for entry in
        std::fs::read_dir(&sha_dir).unwrap_or_else(|e| panic!("{}: {e}", sha_dir.display()))
    {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_hex = name.len() == 64
            && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        assert!(
            is_hex && entry.file_type().unwrap().is_file(),
            "stray entry in blobs/sha256: {name}"
        );
        let bytes = std::fs::read(entry.path()).unwrap();
        assert_eq!(
            image::sha256(&bytes),
            format!("sha256:{name}"),
            "blob content does not match its name"
        );
    }

    let manifests = index["manifests"].as_array().expect("index.json has no manifests array");
    let mut names = std::collections::HashSet::new();
    for desc in manifests {
        if let Some(name) = desc["annotations"]["org.opencontainers.image.ref.name"].as_str() {
            assert!(names.insert(name.to_string()), "duplicate ref.name in index.json: {name}");
        }
        let digest = check_descriptor(dir, desc);
        check_manifest(dir, &digest, true);
    }
}

/// The descriptor's blob exists with the stated size; returns its digest.
fn check_descriptor(dir: &Path, desc: &Value) -> String {
    let digest =
        desc["digest"].as_str().unwrap_or_else(|| panic!("descriptor without digest: {desc}"));
    let path = blob_path(dir, digest);
    let meta = std::fs::metadata(&path)
        .unwrap_or_else(|_| panic!("missing blob {digest} named by {desc}"));
    if let Some(size) = desc["size"].as_u64() {
        assert_eq!(meta.len(), size, "blob {digest} has the wrong size");
    }
    digest.to_string()
}

/// Checks what a present manifest names: all blobs of an image manifest, and
/// the present children of an index.
fn check_manifest(dir: &Path, digest: &str, top_level: bool) {
    let bytes = std::fs::read(blob_path(dir, digest)).unwrap();
    let manifest: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("manifest {digest} is not JSON: {e}"));
    if let Some(children) = manifest["manifests"].as_array() {
        // One level of nesting is all registries produce; don't recurse further.
        if top_level {
            for child in children {
                if let Some(d) = child["digest"].as_str().filter(|d| layout_has_blob(dir, d)) {
                    check_descriptor(dir, child);
                    check_manifest(dir, d, false);
                }
            }
        }
    } else {
        check_descriptor(dir, &manifest["config"]);
        for layer in manifest["layers"].as_array().into_iter().flatten() {
            check_descriptor(dir, layer);
        }
    }
}
