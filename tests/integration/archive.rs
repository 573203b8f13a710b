//! `ocimirror export`, read back by the programs it is for: images are
//! pushed into the real registry (docker-registry), pulled with ocimirror,
//! exported, and then imported with containerd's `ctr`, inspected with
//! skopeo (both halves: `oci-archive:` and `docker-archive:`) and loaded
//! with podman. The CLI's own promises (stdout, `--json`, failures, Ctrl-C)
//! are checked on layouts written directly, with no peer at all.
//!
//! Like interop.rs: with `OCIMIRROR_REQUIRE_INTEROP=1` (.ci/run) a missing
//! peer, or a podman that cannot run, fails the test; otherwise the test
//! prints why it is skipped and passes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ocimirror::image::Platform;
use serde_json::Value;

use crate::support::Test;
use crate::support::distribution::{
    Distribution, REGISTRY_BIN, SKOPEO_BIN, run_bounded, skopeo, which,
};
use crate::support::image::{self, Image, Index};
use crate::support::runtimes::{CONTAINERD_BIN, CTR_BIN, Containerd, PODMAN_BIN, Podman};

const EXIT_FAILURE: i32 = 1;
const EXIT_USAGE: i32 = 2;
const EXIT_NOT_FOUND: i32 = 3;
const EXIT_INTERRUPTED: i32 = 130;

fn interop_required() -> bool {
    std::env::var("OCIMIRROR_REQUIRE_INTEROP").as_deref() == Ok("1")
}

/// True when every `(binary, Debian package)` is on PATH. Otherwise fails
/// the test when interop is required, or prints the skip and returns false.
fn have(peers: &[(&str, &str)]) -> bool {
    let missing: Vec<&(&str, &str)> =
        peers.iter().filter(|(bin, _)| which(bin).is_none()).collect();
    if missing.is_empty() {
        return true;
    }
    let list: Vec<String> = missing.iter().map(|(b, p)| format!("{b} (package {p})")).collect();
    if interop_required() {
        panic!("OCIMIRROR_REQUIRE_INTEROP=1 but these are missing: {}", list.join(", "));
    }
    eprintln!("skipped archive interop: {} not found", list.join(", "));
    false
}

macro_rules! require {
    ($($bin:expr => $package:expr),+ $(,)?) => {
        if !have(&[(REGISTRY_BIN, "docker-registry"), (SKOPEO_BIN, "skopeo"), $(($bin, $package)),+]) {
            return;
        }
    };
}

/// One image ocimirror pulled, and what each reader must find of it.
struct Pulled {
    /// Fully qualified, as the layout names it.
    name: String,
    /// What the name points at: the image's manifest, or the index.
    digest: String,
    /// The image `docker load` gets: this machine's platform.
    image: Image,
    /// skopeo 1.9's `oci-archive:` sees only entries of OCI media types.
    oci: bool,
}

impl Pulled {
    /// The name as docker shows it (`docker.io/library/hub:v1` is `hub:v1`).
    fn familiar(&self) -> &str {
        self.name.strip_prefix("docker.io/library/").unwrap_or(&self.name)
    }
}

/// A registry with four images, a layout ocimirror pulled them into, and
/// the `Test` that owns the temporary directory.
struct Layout {
    t: Test,
    dir: PathBuf,
    images: Vec<Pulled>,
    /// The flags that pull every image in one run.
    mirror_args: Vec<String>,
    _registry: Distribution,
}

fn runnable(seed: u64, platform: &Platform, sizes: &[usize]) -> image::ImageBuilder {
    let (os, arch) = (platform.os.as_str(), platform.architecture.as_str());
    Image::builder(seed).platform(os, arch, platform.variant.as_deref()).layers(sizes).runnable()
}

/// An architecture that is not this machine's, for the index's other image.
fn other_platform(host: &Platform) -> Platform {
    let arch = if host.architecture == "arm64" { "amd64" } else { "arm64" };
    Platform::new("linux", arch, None)
}

impl Layout {
    /// OCI and Docker media types, a multi-platform index kept whole, and a
    /// Docker Hub name (pulled through the registry as its mirror), so that
    /// the docker part holds `docker.io/library/...` names too.
    fn pull() -> Layout {
        let registry = Distribution::start();
        let host = Platform::host();
        let app = runnable(201, &host, &[3000, 200]).build();
        let legacy = runnable(202, &host, &[1500]).docker().build();
        let here = runnable(203, &host, &[700]).build();
        let there = runnable(204, &other_platform(&host), &[800]).build();
        let multi = Index::new(vec![here.clone(), there], true);
        let hub = runnable(205, &host, &[900]).build();
        registry.push("team/app", "v1", &app.manifest, &[&app]);
        registry.push("team/legacy", "v2", &legacy.manifest, &[&legacy]);
        registry.push("team/multi", "v1", &multi.manifest, &multi.all_images());
        registry.push("library/hub", "v1", &hub.manifest, &[&hub]);

        let t = Test::new();
        let dir = t.path().join("layout");
        let out = dir.to_str().unwrap().to_string();
        let r = registry.host();
        let mirror = registry.url();
        let pulls: [(String, Vec<&str>); 4] = [
            (format!("{r}/team/app:v1"), vec![]),
            (format!("{r}/team/legacy:v2"), vec![]),
            (format!("{r}/team/multi:v1"), vec!["--all-platforms"]),
            ("docker.io/library/hub:v1".into(), vec!["--mirror", &mirror, "--no-fallback"]),
        ];
        for (reference, extra) in &pulls {
            let mut args = vec!["pull", reference, "-o", &out];
            args.extend(extra);
            t.run_with(&args).assert_success();
        }
        // The mirror serves docker.io; the others come from their registry.
        let mirror_args = vec!["--mirror".to_string(), mirror.clone()];
        let pulled = |name: &str, digest: &str, image: &Image, oci: bool| Pulled {
            name: name.to_string(),
            digest: digest.to_string(),
            image: image.clone(),
            oci,
        };
        let images = vec![
            pulled(&pulls[0].0, &app.manifest.digest, &app, true),
            pulled(&pulls[1].0, &legacy.manifest.digest, &legacy, false),
            pulled(&pulls[2].0, &multi.manifest.digest, &here, true),
            pulled(&pulls[3].0, &hub.manifest.digest, &hub, true),
        ];
        Layout { t, dir, images, mirror_args, _registry: registry }
    }

    /// The same four images pulled again in one run straight into
    /// `<tmp>/FILE` (`pull -o FILE.tar`: streamed, blobs as they arrive).
    /// Without the blob cache, so that the layers are written into the
    /// archive directly, as a CI job with no cache gets them.
    fn pull_archive(&self, file: &str) -> PathBuf {
        let path = self.t.path().join(file);
        let mut args: Vec<&str> =
            vec!["pull", "--all-platforms", "--no-cache", "-o", path.to_str().unwrap()];
        args.extend(self.images.iter().map(|i| i.name.as_str()));
        args.extend(self.mirror_args.iter().map(String::as_str));
        self.t.run_with(&args).assert_success();
        path
    }

    /// `ocimirror export DIR NAMES... -o <tmp>/FILE`.
    fn export(&self, names: &[&str], file: &str) -> PathBuf {
        let path = self.t.path().join(file);
        let mut args = vec!["export", self.dir.to_str().unwrap()];
        args.extend(names);
        args.extend(["-o", path.to_str().unwrap()]);
        self.t.run_with(&args).assert_success();
        path
    }
}

/// A peer's stdout, failing the test with its output otherwise.
fn ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({})\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The config's `rootfs.diff_ids`: what readers of the docker half report
/// as the layers (they name layers by their uncompressed digests).
fn diff_ids(image: &Image) -> Value {
    let config: Value = serde_json::from_slice(&image.config.bytes).unwrap();
    config["rootfs"]["diff_ids"].clone()
}

#[test]
fn containerd_imports_one_image_and_many_with_their_names_and_digests() {
    require!(CONTAINERD_BIN => "containerd", CTR_BIN => "containerd");
    let layout = Layout::pull();
    let containerd = Containerd::start();
    let import = |namespace: &str, file: &Path| {
        // Unpacked too (this machine's platform), which needs real layers.
        let args = ["images", "import", "--snapshotter", "native", file.to_str().unwrap()];
        let out = containerd.ctr(namespace, &args);
        ok(out, &format!("ctr images import {}\nlog:\n{}", file.display(), containerd.log()));
    };

    let first = &layout.images[0];
    import("one", &layout.export(&[&first.name], "one.tar"));
    assert_eq!(containerd.images("one"), [(first.name.clone(), first.digest.clone())]);

    let mut want: Vec<(String, String)> =
        layout.images.iter().map(|i| (i.name.clone(), i.digest.clone())).collect();
    want.sort();
    // What export writes, and what a pull streams (metadata last).
    for (namespace, file) in
        [("all", layout.export(&[], "all.tar")), ("pulled", layout.pull_archive("pulled.tar"))]
    {
        import(namespace, &file);
        assert_eq!(containerd.images(namespace), want, "{namespace}: every name and digest");
        // Complete and unpacked: `ctr images check` reads every blob it needs.
        let check = containerd.ctr(namespace, &["images", "check", "--snapshotter", "native"]);
        let check = ok(check, "ctr images check");
        let lines: Vec<&str> = check.lines().skip(1).collect();
        assert_eq!(lines.len(), layout.images.len(), "{check}");
        for line in lines {
            assert!(line.contains("complete") && line.trim_end().ends_with("true"), "{check}");
        }
    }
}

#[test]
fn skopeo_reads_the_oci_half_and_the_docker_half() {
    require!(SKOPEO_BIN => "skopeo");
    let layout = Layout::pull();
    let inspect = |target: String| -> Value {
        let out = ok(skopeo(&["inspect", &target]), &format!("skopeo inspect {target}"));
        serde_json::from_str(&out).unwrap()
    };
    let archives = [layout.export(&[], "all.tar"), layout.pull_archive("pulled.tar")];
    for (all, image) in archives.iter().flat_map(|a| layout.images.iter().map(move |i| (a, i))) {
        // oci-archive: the ref.name exactly as index.json has it (skopeo
        // 1.9 does not normalise `hub:v1`, and skips Docker media types).
        if image.oci {
            let info = inspect(format!("oci-archive:{}:{}", all.display(), image.name));
            assert_eq!(info["Digest"], image.digest.as_str(), "{info:#}");
            assert_eq!(info["Architecture"], image.image.arch.as_str(), "{info:#}");
        }
        // docker-archive: a RepoTag, fully qualified or familiar, both
        // normalised; the manifest is made up from manifest.json, so only
        // the layers (by diff ID) and the config tell it is this image.
        for name in [image.name.as_str(), image.familiar()] {
            let info = inspect(format!("docker-archive:{}:{name}", all.display()));
            assert_eq!(info["Layers"], diff_ids(&image.image), "{name}: {info:#}");
            assert_eq!(info["Architecture"], image.image.arch.as_str(), "{name}: {info:#}");
        }
    }
}

#[test]
fn podman_loads_one_image_and_many_with_their_names() {
    require!(PODMAN_BIN => "podman");
    if let Err(why) = Podman::new().usable() {
        if interop_required() {
            panic!(
                "OCIMIRROR_REQUIRE_INTEROP=1 but podman cannot run here: {why}\n(it runs as root \
                 with a store in a temporary directory; rootless it needs /etc/subuid and \
                 /etc/subgid entries and user namespaces)"
            );
        }
        eprintln!("skipped podman interop: podman cannot run here: {why}");
        return;
    }
    let layout = Layout::pull();
    let listed = |podman: &Podman| -> Vec<String> {
        let format = "{{.Repository}}:{{.Tag}} {{.ID}}";
        let out = ok(podman.run(&["images", "--no-trunc", "--format", format]), "podman images");
        let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    let config_id = |i: &Pulled| format!("{} {}", i.name, i.image.config.digest);

    // One image: podman 4.3 reads the OCI half, which keeps the digest.
    let first = &layout.images[0];
    let podman = Podman::new();
    let one = layout.export(&[&first.name], "one.tar");
    ok(podman.run(&["load", "-q", "-i", one.to_str().unwrap()]), "podman load one.tar");
    assert_eq!(listed(&podman), [config_id(first)]);
    let digest = ok(podman.run(&["images", "--format", "{{.Digest}}", &first.name]), "digest");
    assert_eq!(digest.trim(), first.digest);

    // Many: it takes the docker half, naming each image by its RepoTag;
    // a familiar RepoTag would become localhost/NAME there.
    let mut want: Vec<String> = layout.images.iter().map(config_id).collect();
    want.sort();
    for all in [layout.export(&[], "all.tar"), layout.pull_archive("pulled.tar")] {
        let podman = Podman::new();
        ok(podman.run(&["load", "-q", "-i", all.to_str().unwrap()]), "podman load");
        assert_eq!(listed(&podman), want, "{}", all.display());
    }
}

// ---------------------------------------------------------------------------
// The command itself, on layouts written directly (no peer needed)
// ---------------------------------------------------------------------------

const NAME: &str = "127.0.0.1:5000/team/app:v1";

/// A `Test` with `<tmp>/layout` holding one image named `NAME`.
fn written_layout(layer_sizes: &[usize]) -> (Test, Image) {
    let t = Test::new();
    let image = Image::oci(301, layer_sizes);
    image::write_layout(&t.layout(), NAME, &image.manifest, &[&image]);
    (t, image)
}

/// Files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn stdout_carries_the_same_archive_and_nothing_else() {
    let (t, image) = written_layout(&[5000]);
    let file = t.path().join("app.tar");
    let layout = t.layout_str();
    let run = t.run_with(["export", &layout, "-o", file.to_str().unwrap(), "--json"]);
    run.assert_success();
    let report = run.json();
    assert_eq!(report["output"], file.to_str().unwrap());
    assert_eq!(report["images"][0]["name"], NAME);
    assert_eq!(report["images"][0]["digest"], image.manifest.digest.as_str());
    assert_eq!(report["images"][0]["repoTag"], NAME);
    assert_eq!(report["blobs"], 3);
    let written = std::fs::read(&file).unwrap();
    assert_eq!(report["bytes"], written.len());

    let streamed = run_bounded(t.command(["export", &layout, "-o", "-"]), Duration::from_secs(60));
    assert!(streamed.status.success(), "{}", String::from_utf8_lossy(&streamed.stderr));
    assert!(streamed.stdout == written, "stdout is the archive, byte for byte");
    let stderr = String::from_utf8_lossy(&streamed.stderr);
    assert!(stderr.contains(NAME) && stderr.contains("to stdout"), "{stderr}");

    let json = t.run_with(["export", &layout, "-o", "-", "--json"]);
    json.assert_code(EXIT_USAGE);
    assert!(json.stderr.contains("--json cannot be used with -o -"), "{}", json.dump());
}

#[test]
fn a_missing_blob_fails_clearly_and_writes_no_archive() {
    let (t, image) = written_layout(&[800, 900]);
    let layer = &image.layers[1].digest;
    std::fs::remove_file(t.layout().join("blobs/sha256").join(&layer[7..])).unwrap();
    let file = t.path().join("out/app.tar");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let run = t.run_with(["export", &t.layout_str(), "-o", file.to_str().unwrap()]);
    run.assert_code(EXIT_FAILURE);
    assert!(run.stderr.contains(&format!("blob {layer} is not in the layout")), "{}", run.dump());
    assert!(listing(file.parent().unwrap()).is_empty(), "no archive, no temporary file");

    let unknown = t.run_with(["export", &t.layout_str(), "team/other", "-o", "x.tar"]);
    unknown.assert_code(EXIT_NOT_FOUND);
    assert!(unknown.stderr.contains(&format!("it holds: {NAME}")), "{}", unknown.dump());
    assert!(!t.path().join("x.tar").exists());
}

/// A write that fails (a full disk: a file size limit fails it the same
/// way) ends the export with the OS error, and leaves neither the archive
/// nor its temporary file.
#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_leaves_nothing_behind() {
    let (t, _) = written_layout(&[200_000]);
    let t = t.file_size_limit(64 << 10);
    let out = t.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("app.tar");
    let run = t.run_with(["export", &t.layout_str(), "-o", file.to_str().unwrap()]);
    run.assert_code(EXIT_FAILURE);
    let said = format!("cannot write {}: File too large", file.display());
    assert!(run.stderr.contains(&said), "{}", run.dump());
    assert!(listing(&out).is_empty(), "left behind: {:?}", listing(&out));
}

/// Ctrl-C and SIGKILL while a large blob is being written: the archive's
/// name never holds a partial archive, and Ctrl-C leaves no temporary file.
#[test]
fn an_interrupted_export_leaves_no_half_archive() {
    let (t, _) = written_layout(&[96 << 20]);
    let out = t.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("app.tar");
    let args = ["export", &t.layout_str(), "-o", file.to_str().unwrap()];
    let started_writing = |running: &mut crate::support::Running| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while listing(&out).is_empty() {
            assert!(!running.exited(), "the export ended before it could be interrupted");
            assert!(Instant::now() < deadline, "no temporary file appeared");
            std::thread::sleep(Duration::from_millis(2));
        }
    };

    let mut running = t.spawn(args);
    started_writing(&mut running);
    running.interrupt();
    let done = running.wait(Duration::from_secs(30));
    done.assert_code(EXIT_INTERRUPTED);
    assert!(listing(&out).is_empty(), "left behind: {:?}\n{}", listing(&out), done.dump());

    let mut running = t.spawn(args);
    started_writing(&mut running);
    running.kill();
    assert!(!file.exists(), "a killed export never leaves the archive's name");
    // Only the hidden temporary file may stay, for the next export to remove.
    for name in listing(&out) {
        assert!(name.starts_with(".app.tar.") && name.ends_with(".tmp"), "{name}");
    }
}
