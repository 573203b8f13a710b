//! The container runtimes that read `ocimirror export`'s archives, run in
//! temporary directories of their own, never as the machine's services:
//! a containerd daemon (Debian's `containerd`, with `ctr`) on a socket in
//! a tempdir, and podman (Debian's `podman`) with its store, run root and
//! temporary files in a tempdir. Nothing here needs a network.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::distribution::run_bounded;

pub const CONTAINERD_BIN: &str = "containerd";
pub const CTR_BIN: &str = "ctr";
pub const PODMAN_BIN: &str = "podman";

/// How long containerd may take to answer on its socket.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one `ctr` or `podman` call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Only what an import needs: content, metadata, images, snapshots (the
/// `native` snapshotter: plain copies, which work on any filesystem).
/// Everything that runs containers, watches cgroups or wants a special
/// filesystem is off, and so is the `opt` plugin, which would create
/// /opt/containerd outside the test's directory.
const DISABLED_PLUGINS: &[&str] = &[
    "io.containerd.grpc.v1.cri",
    "io.containerd.internal.v1.opt",
    "io.containerd.internal.v1.restart",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.overlayfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.runtime.v1.linux",
    "io.containerd.runtime.v2.task",
    "io.containerd.monitor.v1.cgroups",
    "io.containerd.service.v1.tasks-service",
    "io.containerd.grpc.v1.tasks",
];

/// A containerd daemon of the test's own. Killed on drop, and with the
/// test process even when that is SIGKILLed (a parent-death signal).
pub struct Containerd {
    child: Child,
    dir: tempfile::TempDir,
}

impl Containerd {
    /// Starts it and waits until `ctr version` gets an answer; panics with
    /// its log if it does not come up.
    pub fn start() -> Containerd {
        let dir = tempfile::Builder::new().prefix("ocimirror-containerd-").tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, config_toml(dir.path())).unwrap();
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let mut cmd = Command::new(CONTAINERD_BIN);
        cmd.arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        #[cfg(target_os = "linux")]
        super::distribution::die_with_parent(&mut cmd);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {CONTAINERD_BIN}: {e}"));
        let mut daemon = Containerd { child, dir };
        daemon.wait_ready();
        daemon
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("containerd exited with {status}; log:\n{}", self.log());
            }
            if self.socket().exists() && self.ctr("default", &["version"]).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not answer within {READY_TIMEOUT:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    pub fn log(&self) -> String {
        let bytes = std::fs::read(self.dir.path().join("containerd.log")).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// `ctr -a SOCKET -n NAMESPACE ARGS...`, bounded in time.
    pub fn ctr(&self, namespace: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(CTR_BIN);
        cmd.arg("--address").arg(self.socket()).args(["--namespace", namespace]).args(args);
        run_bounded(cmd, CALL_TIMEOUT)
    }

    /// `ctr images ls` in `namespace`: each image's name and digest, sorted.
    pub fn images(&self, namespace: &str) -> Vec<(String, String)> {
        let out = self.ctr(namespace, &["images", "ls"]);
        assert!(out.status.success(), "ctr images ls: {}", String::from_utf8_lossy(&out.stderr));
        let mut images: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1) // REF TYPE DIGEST SIZE PLATFORMS LABELS
            .filter_map(|line| {
                let columns: Vec<&str> = line.split_whitespace().collect();
                Some((columns.first()?.to_string(), columns.get(2)?.to_string()))
            })
            .collect();
        images.sort();
        images
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_toml(dir: &Path) -> String {
    let quoted = |p: PathBuf| format!("{:?}", p.display().to_string());
    let disabled: Vec<String> = DISABLED_PLUGINS.iter().map(|p| format!("{p:?}")).collect();
    format!(
        "version = 2\nroot = {}\nstate = {}\ndisabled_plugins = [{}]\n\n\
         [grpc]\n  address = {}\n\n[ttrpc]\n  address = {}\n",
        quoted(dir.join("root")),
        quoted(dir.join("state")),
        disabled.join(", "),
        quoted(dir.join("containerd.sock")),
        quoted(dir.join("containerd.ttrpc.sock")),
    )
}

/// podman with a store of its own: `--root`, `--runroot` and `--tmpdir`
/// in a tempdir, the `vfs` driver (no overlay mounts), cgroupfs and file
/// events (no systemd), and HOME, XDG and TMPDIR pointed there too, so
/// nothing of the machine's or the user's storage is read or written.
pub struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    pub fn new() -> Podman {
        let dir = tempfile::Builder::new().prefix("ocimirror-podman-").tempdir().unwrap();
        for sub in ["home", "run", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        // No storage.conf of the machine's (additional stores, another
        // driver); podman refuses one without both roots.
        let conf = format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = {:?}\nrunroot = {:?}\n",
            dir.path().join("root").display().to_string(),
            dir.path().join("runroot").display().to_string(),
        );
        std::fs::write(dir.path().join("storage.conf"), conf).unwrap();
        Podman { dir }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let d = self.dir.path();
        let mut cmd = Command::new(PODMAN_BIN);
        cmd.arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--log-level", "error"])
            .args(args)
            .env("HOME", d.join("home"))
            .env("XDG_RUNTIME_DIR", d.join("run"))
            .env("XDG_CONFIG_HOME", d.join("home/.config"))
            .env("XDG_DATA_HOME", d.join("home/.local/share"))
            .env("TMPDIR", d.join("tmp"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"))
            .env_remove("CONTAINER_HOST")
            .env_remove("REGISTRY_AUTH_FILE");
        run_bounded(cmd, CALL_TIMEOUT)
    }

    /// Whether podman can run here at all: `podman info` on the empty
    /// store. The error is podman's own word, for the skip or the failure.
    pub fn usable(&self) -> Result<(), String> {
        let out = self.run(&["info", "--format", "{{.Store.GraphDriverName}}"]);
        match out.status.success() {
            true => Ok(()),
            false => Err(format!(
                "`podman info` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        }
    }
}
