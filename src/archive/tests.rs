//! The archive's bytes, read back with the `tar` crate: entries and their
//! metadata, the JSON docker and OCI readers take, determinism, failures
//! before and during writing, and memory that does not grow with a blob.

use std::io::Read as _;

use super::*;
use crate::digest::Digest;
use crate::error::Error;
use crate::image::{Descriptor, MediaType};
use crate::layout::{self, Layout};

mod meter {
    //! Counts the heap this thread holds, to show that an export's memory
    //! does not grow with the blob it streams. Per thread, so tests running
    //! alongside do not count; `write_archive` runs on the caller's thread.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<i64> = const { Cell::new(0) };
        static PEAK: Cell<i64> = const { Cell::new(0) };
    }

    pub struct Meter;

    fn note(delta: i64) {
        let _ = LIVE.try_with(|live| {
            let now = live.get() + delta;
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }

    // SAFETY: every call goes to `System` unchanged; the bookkeeping only
    // touches const-initialised thread-locals, which never allocate.
    unsafe impl GlobalAlloc for Meter {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                note(layout.size() as i64);
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                note(layout.size() as i64);
            }
            p
        }

        unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
            unsafe { System.dealloc(p, layout) };
            note(-(layout.size() as i64));
        }

        unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let q = unsafe { System.realloc(p, layout, new_size) };
            if !q.is_null() {
                note(new_size as i64 - layout.size() as i64);
            }
            q
        }
    }

    /// `f`'s result, and the most heap this thread held at once while it
    /// ran, above what it held before.
    pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, i64) {
        let start = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(start));
        let result = f();
        (result, PEAK.with(Cell::get) - start)
    }
}

// For this crate's unit tests only (the binary keeps the system allocator).
#[global_allocator]
static METER: meter::Meter = meter::Meter;

/// A layout under a temporary directory, filled through `Layout`'s own API.
struct Fixture {
    dir: tempfile::TempDir,
    layout: Layout,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path()).unwrap();
        Fixture { dir, layout }
    }

    fn blob(&self, media_type: MediaType, bytes: &[u8]) -> Descriptor {
        let digest = Digest::sha256(bytes);
        self.layout.put_verified(&digest, bytes).unwrap();
        Descriptor {
            media_type,
            digest,
            size: bytes.len() as u64,
            platform: None,
            annotations: Default::default(),
        }
    }

    /// An OCI image for `platform` with these layers; its manifest's descriptor.
    fn image(&self, platform: &str, layers: &[&[u8]]) -> Descriptor {
        let platform: Platform = platform.parse().unwrap();
        let layers: Vec<Descriptor> =
            layers.iter().map(|l| self.blob(MediaType::OciLayerGzip, l)).collect();
        let config = serde_json::json!({
            "os": platform.os, "architecture": platform.architecture,
            "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>()},
        });
        let config = self.blob(MediaType::OciConfig, config.to_string().as_bytes());
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": MediaType::OciManifest.as_str(),
            "config": descriptor_json(&config),
            "layers": layers.iter().map(descriptor_json).collect::<Vec<_>>(),
        });
        let mut d = self.blob(MediaType::OciManifest, manifest.to_string().as_bytes());
        d.platform = Some(platform);
        d
    }

    fn index(&self, children: &[&Descriptor]) -> Descriptor {
        let index = serde_json::json!({
            "schemaVersion": 2, "mediaType": MediaType::OciIndex.as_str(),
            "manifests": children.iter().map(|d| descriptor_json(d)).collect::<Vec<_>>(),
        });
        self.blob(MediaType::OciIndex, index.to_string().as_bytes())
    }

    /// Names the entry in index.json as a pull does (platform included).
    fn name(&self, name: &str, d: &Descriptor) {
        let mut d = d.clone();
        for (k, v) in [
            (layout::REF_NAME, name),
            (layout::CONTAINERD_NAME, name),
            (layout::SOURCE, "http://mirror.internal:5000"),
        ] {
            d.annotations.insert(k.into(), v.into());
        }
        self.layout.add_image(name, oci_spec::image::Descriptor::from(&d)).unwrap();
    }

    fn remove(&self, d: &Descriptor) {
        std::fs::remove_file(self.layout.blob_path(&d.digest)).unwrap();
    }

    fn export(&self, names: &[&str]) -> Result<(ArchiveReport, Vec<u8>), Error> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut out = Vec::new();
        let amd64 = "linux/amd64".parse().unwrap();
        write_archive_preferring(&self.layout, &names, &amd64, &mut out).map(|r| (r, out))
    }
}

fn descriptor_json(d: &Descriptor) -> serde_json::Value {
    let mut v = serde_json::json!({
        "mediaType": d.media_type.as_str(), "digest": d.digest.to_string(), "size": d.size,
    });
    if let Some(p) = &d.platform {
        v["platform"] = serde_json::json!({"os": p.os, "architecture": p.architecture});
    }
    v
}

/// One tar entry as read back.
#[derive(Debug)]
struct Entry {
    path: String,
    kind: tar::EntryType,
    mode: u32,
    mtime: u64,
    owner: (u64, u64),
    data: Vec<u8>,
}

fn read_tar(bytes: &[u8]) -> Vec<Entry> {
    let mut archive = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header();
        let (kind, mode, mtime) = (h.entry_type(), h.mode().unwrap(), h.mtime().unwrap());
        let owner = (h.uid().unwrap(), h.gid().unwrap());
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(Entry { path, kind, mode, mtime, owner, data });
    }
    out
}

fn json_of(entries: &[Entry], path: &str) -> serde_json::Value {
    let e = entries.iter().find(|e| e.path == path).unwrap_or_else(|| panic!("no {path}"));
    serde_json::from_slice(&e.data).unwrap()
}

fn blob_entry(d: &Descriptor) -> String {
    format!("blobs/sha256/{}", d.digest.hex())
}

/// Two single images sharing a layer, and an index of which the layout
/// holds two platforms of three plus an attestation.
struct Sample {
    fixture: Fixture,
    app: Descriptor,
    tool: Descriptor,
    index: Descriptor,
    amd64: Descriptor,
    arm64: Descriptor,
}

const APP: &str = "docker.io/library/app:1";
const TOOL: &str = "127.0.0.1:5000/team/tool:v2";
const MULTI: &str = "quay.io/org/multi:latest";

fn sample() -> Sample {
    let f = Fixture::new();
    let shared: &[u8] = b"a layer both images have";
    let app = f.image("linux/amd64", &[shared, b"app's own layer"]);
    let tool = f.image("linux/amd64", &[shared]);
    let (amd64, arm64) = (f.image("linux/amd64", &[b"m1"]), f.image("linux/arm64", &[b"m2"]));
    let mut riscv = f.image("linux/riscv64", &[b"m3"]);
    f.remove(&riscv); // a platform the pull did not keep
    riscv.platform = Some("linux/riscv64".parse().unwrap());
    let mut attestation = f.image("linux/amd64", &[b"in-toto"]);
    attestation.platform = Some(Platform::new("unknown", "unknown", None));
    let index = f.index(&[&arm64, &riscv, &amd64, &attestation]);
    f.name(APP, &app);
    f.name(TOOL, &tool);
    f.name(MULTI, &index);
    Sample { fixture: f, app, tool, index, amd64, arm64 }
}

#[test]
fn the_archive_is_an_oci_layout_and_a_docker_archive() {
    let s = sample();
    let (report, bytes) = s.fixture.export(&[]).unwrap();
    let entries = read_tar(&bytes);
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths[..6],
        ["oci-layout", "index.json", "manifest.json", "repositories", "blobs/", "blobs/sha256/"]
    );
    let blobs = &paths[6..];
    let mut sorted = blobs.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(blobs, sorted, "each blob once, in digest order");
    assert_eq!(blobs.len(), report.blobs);
    for e in &entries {
        let dir = e.kind == tar::EntryType::Directory;
        assert_eq!((e.mode, e.mtime, e.owner), (if dir { 0o755 } else { 0o644 }, 0, (0, 0)));
        if let Some(hex) = e.path.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            assert_eq!(Digest::sha256(&e.data).hex(), hex, "a blob hashes to its name");
        }
    }
    assert!(!paths.iter().any(|p| p.contains(".ocimirror")), "{paths:?}");
    assert_eq!(json_of(&entries, "oci-layout"), serde_json::json!({"imageLayoutVersion": "1.0.0"}));
    assert_eq!(bytes.len() as u64, report.bytes);
    assert_eq!(bytes.len() % 512, 0);
    assert!(bytes.ends_with(&[0u8; 1024]), "the end-of-archive blocks");

    // Every blob each entry reaches, and nothing else.
    let mut want: Vec<String> = Vec::new();
    for d in [&s.app, &s.tool, &s.amd64, &s.arm64] {
        want.push(blob_entry(d));
        let manifest: serde_json::Value =
            serde_json::from_slice(&s.fixture.layout.read_blob(&d.digest).unwrap()).unwrap();
        want.push(format!("blobs/sha256/{}", &manifest["config"]["digest"].as_str().unwrap()[7..]));
        for l in manifest["layers"].as_array().unwrap() {
            want.push(format!("blobs/sha256/{}", &l["digest"].as_str().unwrap()[7..]));
        }
    }
    want.push(blob_entry(&s.index));
    let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
    want.sort();
    want.dedup();
    let mut got: Vec<&str> = blobs.iter().copied().filter(|p| want.contains(p)).collect();
    got.dedup();
    assert_eq!(got, want);
    // The attestation image is held and under the index: it goes too.
    assert_eq!(blobs.len(), want.len() + 3, "plus the attestation's manifest, config and layer");
}

#[test]
fn index_json_names_each_entry_and_keeps_its_platform() {
    let s = sample();
    let (_, bytes) = s.fixture.export(&[]).unwrap();
    let index = json_of(&read_tar(&bytes), "index.json");
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["mediaType"], MediaType::OciIndex.as_str());
    let entries = index["manifests"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["annotations"]["org.opencontainers.image.ref.name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [APP, TOOL, MULTI], "in index.json order");
    for (e, d) in entries.iter().zip([&s.app, &s.tool, &s.index]) {
        let name = &e["annotations"]["org.opencontainers.image.ref.name"];
        assert_eq!(e["annotations"]["io.containerd.image.name"], *name);
        assert_eq!(e["annotations"].as_object().unwrap().len(), 2, "no io.ocimirror.*: {e}");
        assert_eq!(e["digest"], d.digest.to_string());
        assert_eq!(e["size"], d.size);
    }
    assert_eq!(entries[0]["platform"], serde_json::json!({"os": "linux", "architecture": "amd64"}));
    assert!(entries[2].get("platform").is_none(), "an index has none");
}

/// The docker part, as `docker load` reads it: one object per image, the
/// index's as the preferred platform's image only.
#[test]
fn manifest_json_lists_each_image_once_with_full_names() {
    let s = sample();
    let (report, bytes) = s.fixture.export(&[]).unwrap();
    let entries = read_tar(&bytes);
    let docker = json_of(&entries, "manifest.json");
    let items = docker.as_array().unwrap();
    assert_eq!(items.len(), 3);
    let tags: Vec<&serde_json::Value> = items.iter().map(|i| &i["RepoTags"]).collect();
    assert_eq!(
        tags,
        [&serde_json::json!([APP]), &serde_json::json!([TOOL]), &serde_json::json!([MULTI])]
    );
    for (item, d) in items.iter().zip([&s.app, &s.tool, &s.amd64]) {
        let manifest: serde_json::Value =
            serde_json::from_slice(&s.fixture.layout.read_blob(&d.digest).unwrap()).unwrap();
        let path =
            |v: &serde_json::Value| format!("blobs/sha256/{}", &v["digest"].as_str().unwrap()[7..]);
        assert_eq!(item["Config"], path(&manifest["config"]));
        let layers: Vec<String> = manifest["layers"].as_array().unwrap().iter().map(path).collect();
        assert_eq!(item["Layers"], serde_json::json!(layers));
        // Every path it names is in the archive.
        for p in std::iter::once(item["Config"].as_str().unwrap().to_string()).chain(layers) {
            assert!(entries.iter().any(|e| e.path == p), "{p}");
        }
    }
    let repositories = json_of(&entries, "repositories");
    let top = items[0]["Layers"].as_array().unwrap().last().unwrap().as_str().unwrap();
    assert_eq!(repositories["docker.io/library/app"]["1"], top["blobs/sha256/".len()..]);
    assert_eq!(report.images[2].docker_image.as_ref(), Some(&s.amd64.digest));
    assert_eq!(report.images[2].repo_tag.as_deref(), Some(MULTI));
    assert_eq!(report.images[0].docker_image.as_ref(), Some(&s.app.digest));
}

#[test]
fn of_an_index_docker_gets_the_preferred_platform_never_an_attestation() {
    let s = sample();
    let docker_image = |prefer: &str| {
        let prefer: Platform = prefer.parse().unwrap();
        let mut out = Vec::new();
        let r = write_archive_preferring(&s.fixture.layout, &[MULTI.into()], &prefer, &mut out);
        r.unwrap().images[0].docker_image.clone().unwrap()
    };
    assert_eq!(docker_image("linux/arm64"), s.arm64.digest);
    assert_eq!(docker_image("linux/amd64"), s.amd64.digest);
    // Nothing for s390x: the first the layout holds (riscv64 is not here).
    assert_eq!(docker_image("linux/s390x"), s.arm64.digest);
}

#[test]
fn two_exports_of_one_layout_are_byte_identical() {
    let s = sample();
    let (_, first) = s.fixture.export(&[]).unwrap();
    let reopened = Fixture { layout: Layout::open(s.fixture.dir.path()).unwrap(), ..s.fixture };
    let (_, second) = reopened.export(&[]).unwrap();
    assert!(first == second, "the same layout gives the same bytes");
    // Asked in another order, the names come in that order.
    let (report, _) = reopened.export(&[MULTI, "docker.io/library/app:1"]).unwrap();
    let names: Vec<&str> = report.images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, [MULTI, APP]);
}

/// A pull's archive (`ArchiveStream`) over the sample layout, told of
/// `arrived` in that order, then finished with every name.
fn stream(s: &Sample, arrived: &[&Descriptor]) -> (ArchiveReport, Vec<u8>) {
    let f = &s.fixture;
    let mut out = tempfile::tempfile().unwrap();
    let stream = ArchiveStream::start(Destination::File(out.try_clone().unwrap())).unwrap();
    let arrivals = stream.arrivals();
    for d in arrived {
        arrivals.tell(&d.digest, d.size, &f.layout.blob_path(&d.digest));
    }
    let names = [APP, TOOL, MULTI].map(String::from).to_vec();
    let report = stream.finish(f.dir.path(), names).unwrap();
    let mut bytes = Vec::new();
    std::io::Seek::rewind(&mut out).unwrap();
    out.read_to_end(&mut bytes).unwrap();
    (report, bytes)
}

#[test]
fn a_streamed_archive_holds_what_an_export_does_with_blobs_as_they_arrived() {
    let s = sample();
    // The app's manifest twice (a batch shares it), the tool's never.
    let (report, bytes) = stream(&s, &[&s.app, &s.index, &s.app, &s.amd64]);
    assert_eq!(report.bytes, bytes.len() as u64);
    let entries = read_tar(&bytes);
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let arrived = [blob_entry(&s.app), blob_entry(&s.index), blob_entry(&s.amd64)];
    assert_eq!(paths[..5], ["blobs/", "blobs/sha256/", &arrived[0], &arrived[1], &arrived[2]]);
    assert_eq!(
        paths[paths.len() - 4..],
        ["oci-layout", "index.json", "manifest.json", "repositories"]
    );
    let exported = as_exported(&s, &entries);
    assert_eq!(report.blobs, exported - 6, "every blob, once");
}

#[test]
fn from_a_scratch_layout_a_blob_never_read_back_leaves_it_once_in_the_archive() {
    let f = Fixture::new();
    let big = vec![7u8; crate::small_blob::MAX_SMALL_BLOB as usize + 1];
    let image = f.image("linux/amd64", &[&big, b"a small layer"]);
    f.name(APP, &image);
    let layers = layers_of_fixture(&f, &image);
    let mut want = Vec::new();
    write_archive_preferring(&f.layout, &[APP.into()], &Platform::host(), &mut want).unwrap();
    let mut out = tempfile::tempfile().unwrap();
    let stream = ArchiveStream::start_from_scratch(Destination::File(out.try_clone().unwrap()));
    let stream = stream.unwrap();
    let arrivals = stream.arrivals();
    for d in &layers {
        arrivals.tell(&d.digest, d.size, &f.layout.blob_path(&d.digest));
    }
    let report = stream.finish(f.dir.path(), vec![APP.into()]).unwrap();
    // The big layer left the layout; the small one, and the manifest and
    // config the archive's metadata is read from, stay.
    assert!(!f.layout.blob_path(&layers[0].digest).exists(), "the big layer is gone");
    assert!(f.layout.blob_path(&layers[1].digest).exists());
    assert!(f.layout.blob_path(&image.digest).exists());
    let mut got = Vec::new();
    std::io::Seek::rewind(&mut out).unwrap();
    out.read_to_end(&mut got).unwrap();
    assert_eq!(report.bytes, got.len() as u64);
    let key = |e: &Entry| (e.path.clone(), e.data.clone());
    let (mut got, mut want): (Vec<_>, Vec<_>) =
        (read_tar(&got).iter().map(key).collect(), read_tar(&want).iter().map(key).collect());
    got.sort();
    want.sort();
    assert!(got == want, "the same entries as an export of the whole layout");
}

/// The layers of image manifest `manifest` in `f`'s layout.
fn layers_of_fixture(f: &Fixture, manifest: &Descriptor) -> Vec<Descriptor> {
    let bytes = f.layout.read_blob(&manifest.digest).unwrap();
    let stored = crate::image::Manifest::from_stored(bytes.into(), manifest).unwrap();
    match stored.parse().unwrap() {
        crate::image::Parsed::Image(image) => image.layers,
        crate::image::Parsed::Index(_) => panic!("an image manifest"),
    }
}

/// Asserts that `entries` are an export's of every name in the sample,
/// preferring this machine's platform (as a pull does): the same
/// entries, bytes and headers, in any order. Returns how many there are.
fn as_exported(s: &Sample, entries: &[Entry]) -> usize {
    let mut exported = Vec::new();
    let all = [APP, TOOL, MULTI].map(String::from);
    write_archive_preferring(&s.fixture.layout, &all, &Platform::host(), &mut exported).unwrap();
    let key = |e: &Entry| (e.path.clone(), e.data.clone(), e.mode, e.mtime, e.owner);
    let (mut got, mut want): (Vec<_>, Vec<_>) =
        (entries.iter().map(key).collect(), read_tar(&exported).iter().map(key).collect());
    got.sort();
    want.sort();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert!(got == want, "{paths:?}");
    want.len()
}

/// The layers an image manifest in the sample lists.
fn layers_of(s: &Sample, manifest: &Descriptor) -> Vec<Descriptor> {
    layers_of_fixture(&s.fixture, manifest)
}

#[test]
fn layers_written_in_place_make_the_archive_an_export_does_with_no_gap() {
    let s = sample();
    let f = &s.fixture;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.tar");
    let file = std::fs::File::create(&path).unwrap();
    let stream = ArchiveStream::start(Destination::Placed { file, path: path.clone() }).unwrap();
    let arrivals = stream.arrivals();
    let placement = arrivals.placement().expect("a file takes layers directly").clone();
    let place = |d: &Descriptor| {
        let room = placement.reserve(&d.digest, d.size).unwrap().expect("a room");
        let bytes = f.layout.read_blob(&d.digest).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&room.file, &bytes, room.base).unwrap();
        placement.placed(&d.digest).unwrap();
    };
    let layers = layers_of(&s, &s.app);
    place(&layers[0]);
    // A layer that never verifies (its image failed), between two that do:
    // its room is written to and never placed.
    let junk = vec![7u8; 3000];
    let never = Digest::sha256(b"a layer of an image that failed");
    let room = placement.reserve(&never, junk.len() as u64).unwrap().unwrap();
    std::os::unix::fs::FileExt::write_all_at(&room.file, &junk, room.base).unwrap();
    drop(room);
    place(&layers[1]);
    assert!(placement.holds(&layers[1].digest, layers[1].size));
    assert!(!placement.holds(&never, junk.len() as u64));
    // The rest as a pull tells them, or not at all (copied at the end).
    arrivals.tell(&s.app.digest, s.app.size, &f.layout.blob_path(&s.app.digest));
    let names = [APP, TOOL, MULTI].map(String::from).to_vec();
    let report = stream.finish(f.dir.path(), names).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(report.bytes, bytes.len() as u64);
    assert!(bytes[bytes.len() - 1024..].iter().all(|&b| b == 0), "ends with the end blocks");
    let entries = read_tar(&bytes);
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths[..4],
        ["blobs/", "blobs/sha256/", &blob_entry(&layers[0]), &blob_entry(&layers[1])]
    );
    as_exported(&s, &entries);
    // Nothing beyond the entries: the tar crate read every byte to the end.
    let used: u64 = entries.iter().map(|e| 512 + (e.data.len() as u64).div_ceil(512) * 512).sum();
    assert_eq!(used + 1024, report.bytes, "no gap, no bytes no header names");
}

#[test]
fn sizes_a_server_made_up_cannot_wrap_a_room_onto_what_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.tar");
    let file = std::fs::File::create(&path).unwrap();
    let stream = ArchiveStream::start(Destination::Placed { file, path: path.clone() }).unwrap();
    let placement = stream.arrivals().placement().unwrap().clone();
    // A server sets the sizes: rooms end below 4 TiB, so no made-up size
    // wraps an offset onto what is written, or pushes the archive's own
    // entries past what a filesystem holds.
    let tib = 1u64 << 40;
    let (a, b) = (Digest::sha256(b"claims 3 TiB"), Digest::sha256(b"so does this"));
    let first = placement.reserve(&a, 3 * tib).unwrap().expect("one fits below the limit");
    assert!(first.base > 1024, "after the directories: {}", first.base);
    assert!(placement.reserve(&b, 3 * tib).unwrap().is_none(), "the second has no room");
    assert!(placement.reserve(&b, i64::MAX as u64).unwrap().is_none(), "nor 2^63 bytes");
    assert!(placement.reserve(&b, u64::MAX).unwrap().is_none(), "nor a size near 2^64");
    drop(first);
    // Neither was placed: the archive closes up as if they never were.
    let s = sample();
    let report = stream.finish(s.fixture.dir.path(), vec![TOOL.to_string()]).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(report.bytes, bytes.len() as u64);
    assert!(read_tar(&bytes).iter().any(|e| e.path == "index.json"));
}

#[test]
fn closing_up_waits_for_a_writer_still_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.tar");
    let file = std::fs::File::create(&path).unwrap();
    let stream = ArchiveStream::start(Destination::Placed { file, path: path.clone() }).unwrap();
    let placement = stream.arrivals().placement().unwrap().clone();
    let never = Digest::sha256(b"aborted");
    let room = placement.reserve(&never, 1 << 20).unwrap().unwrap();
    let base = room.base;
    // The download's task, aborted, is dropped a moment later; its last
    // write lands before that, and must not land on what moved down.
    let late = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        std::os::unix::fs::FileExt::write_all_at(&room.file, &[9u8; 4096], base).unwrap();
        drop(room);
    });
    let s = sample();
    let report = stream.finish(s.fixture.dir.path(), vec![TOOL.to_string()]).unwrap();
    late.join().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(report.bytes, bytes.len() as u64);
    let late_bytes = bytes.windows(4096).any(|w| w.iter().all(|&b| b == 9));
    assert!(!late_bytes, "the late write landed where nothing of the archive is");
    let entries = read_tar(&bytes);
    assert!(entries.iter().any(|e| e.path == "index.json"), "complete after the wait");
}

#[test]
fn an_abandoned_stream_never_looks_complete() {
    let s = sample();
    let mut out = tempfile::tempfile().unwrap();
    let stream = ArchiveStream::start(Destination::File(out.try_clone().unwrap())).unwrap();
    stream.arrivals().tell(&s.app.digest, s.app.size, &s.fixture.layout.blob_path(&s.app.digest));
    stream.abandon();
    let mut bytes = Vec::new();
    std::io::Seek::rewind(&mut out).unwrap();
    out.read_to_end(&mut bytes).unwrap();
    let paths: Vec<String> = read_tar(&bytes).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["blobs/", "blobs/sha256/", &blob_entry(&s.app)]);
    assert!(
        !bytes[bytes.len() - 1024..].iter().all(|&b| b == 0),
        "no end-of-archive blocks: a reader sees a cut archive"
    );
}

#[test]
fn names_are_found_exactly_or_normalised_and_unknown_ones_are_listed() {
    let s = sample();
    let (report, _) = s.fixture.export(&["app:1", "docker.io/library/app:1", TOOL]).unwrap();
    let names: Vec<&str> = report.images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, [APP, TOOL], "`app:1` is docker.io/library/app:1, once");

    let e = s.fixture.export(&["nope\u{1b}[2J"]).unwrap_err();
    assert!(matches!(e, Error::Missing(_)), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("no image named nope\\u{1b}[2J"), "{text}");
    assert!(text.contains(&format!("it holds: {APP}, {TOOL}, {MULTI}")), "{text}");

    let empty = Fixture::new();
    assert!(matches!(empty.export(&[]), Err(Error::Missing(_))), "nothing named");
}

/// `blobs/sha512/<128 hex>` is longer than a tar header's 100-byte name:
/// the tar crate writes a GNU long name, which readers put back together.
#[test]
fn sha512_blobs_keep_their_long_names() {
    let f = Fixture::new();
    let layer = b"a layer named by sha512";
    let digest = Digest::of(crate::digest::Algorithm::Sha512, layer);
    f.layout.put_verified(&digest, layer).unwrap();
    let layer = Descriptor {
        media_type: MediaType::OciLayerGzip,
        digest: digest.clone(),
        size: layer.len() as u64,
        platform: None,
        annotations: Default::default(),
    };
    let config = f.blob(MediaType::OciConfig, br#"{"os":"linux","architecture":"amd64"}"#);
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": MediaType::OciManifest.as_str(),
        "config": descriptor_json(&config), "layers": [descriptor_json(&layer)],
    });
    let image = f.blob(MediaType::OciManifest, manifest.to_string().as_bytes());
    f.name(APP, &image);
    let (_, bytes) = f.export(&[]).unwrap();
    let entries = read_tar(&bytes);
    let path = format!("blobs/sha512/{}", digest.hex());
    let entry = entries.iter().find(|e| e.path == path).expect("the full name");
    assert_eq!(entry.data, b"a layer named by sha512");
    assert!(entries.iter().any(|e| e.path == "blobs/sha512/"), "its directory is listed");
    let docker = json_of(&entries, "manifest.json");
    assert_eq!(docker[0]["Layers"], serde_json::json!([path]));
    // Into a file a pull writes layers into: a sha512 layer gets no room
    // (its header would not fit one block) and is copied in, long name
    // and all, into the space allotted to it.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.tar");
    let file = std::fs::File::create(&out).unwrap();
    let stream = ArchiveStream::start(Destination::Placed { file, path: out.clone() }).unwrap();
    let placement = stream.arrivals().placement().unwrap().clone();
    assert!(placement.reserve(&digest, layer.size).unwrap().is_none(), "no room");
    stream.finish(f.dir.path(), vec![APP.to_string()]).unwrap();
    let placed = read_tar(&std::fs::read(&out).unwrap());
    let entry = placed.iter().find(|e| e.path == path).expect("the full name");
    assert_eq!(entry.data, b"a layer named by sha512");
}

#[test]
fn a_name_with_a_digest_has_no_repo_tag() {
    let f = Fixture::new();
    let image = f.image("linux/amd64", &[b"x"]);
    let name = format!("docker.io/library/app@{}", image.digest);
    f.name(&name, &image);
    let (report, bytes) = f.export(&[]).unwrap();
    assert_eq!(report.images[0].repo_tag, None);
    let entries = read_tar(&bytes);
    assert_eq!(json_of(&entries, "manifest.json")[0]["RepoTags"], serde_json::json!([]));
    assert!(!entries.iter().any(|e| e.path == "repositories"), "no tag, no repositories");
}

#[test]
fn a_missing_or_resized_blob_fails_before_a_byte_is_written() {
    let s = sample();
    let layer = {
        let m: serde_json::Value =
            serde_json::from_slice(&s.fixture.layout.read_blob(&s.app.digest).unwrap()).unwrap();
        m["layers"][1]["digest"].as_str().unwrap().parse::<Digest>().unwrap()
    };
    let path = s.fixture.layout.blob_path(&layer);
    let kept = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut out = Vec::new();
    let e = write_archive(&s.fixture.layout, &[], &mut out).unwrap_err();
    assert!(e.to_string().contains(&format!("blob {layer} is not in the layout")), "{e}");
    assert!(out.is_empty(), "nothing written");
    // Only the image that needs it fails: the others still export.
    assert!(s.fixture.export(&[TOOL, MULTI]).is_ok());

    std::fs::write(&path, [&kept[..], b"!"].concat()).unwrap();
    let e = write_archive(&s.fixture.layout, &[], &mut out).unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert!(e.to_string().contains("but its descriptor says"), "{e}");
    assert!(out.is_empty(), "nothing written");
}

#[test]
fn a_blob_changed_behind_the_layout_stops_the_stream_short_of_a_valid_tar() {
    let s = sample();
    // Manifests are hashed when planning; a layer only while it is copied.
    let m: serde_json::Value = serde_json::from_slice(&bytes_of(&s, &s.app)).unwrap();
    let layer: Digest = m["layers"][0]["digest"].as_str().unwrap().parse().unwrap();
    let layer_path = s.fixture.layout.blob_path(&layer);
    let mut content = std::fs::read(&layer_path).unwrap();
    content[0] ^= 1; // same size, other content
    std::fs::write(&layer_path, &content).unwrap();
    let mut out = Vec::new();
    let e = write_archive(&s.fixture.layout, &[APP.into()], &mut out).unwrap_err();
    assert!(e.to_string().contains(&format!("blob {layer} in the layout has the wrong content")));
    // What was written ends inside the blob: no end-of-archive blocks.
    assert!(!out.is_empty());
    assert!(!out.ends_with(&[0u8; 1024]), "a cut archive must not look complete");
}

fn bytes_of(s: &Sample, d: &Descriptor) -> Vec<u8> {
    s.fixture.layout.read_blob(&d.digest).unwrap()
}

/// A 64 MiB blob goes through with fixed buffers: the heap held during the
/// export stays a small fraction of it.
#[test]
fn memory_stays_flat_while_a_large_blob_streams() {
    let f = Fixture::new();
    let big: Vec<u8> =
        (0..64u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let image = f.image("linux/amd64", &[&big]);
    drop(big);
    f.name(APP, &image);
    let (report, peak) =
        meter::peak_during(|| write_archive(&f.layout, &[], std::io::sink()).unwrap());
    assert!(report.bytes > 64 << 20, "the blob went through: {} bytes", report.bytes);
    assert!(peak < 4 << 20, "{peak} bytes held at once for a 64 MiB blob");
}

#[test]
fn a_pending_file_appears_only_when_committed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("app.tar");
    std::fs::write(&target, b"the previous archive").unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let pending = PendingFile::create(&target).unwrap();
    std::io::Write::write_all(&mut pending.writer().unwrap(), b"half").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"the previous archive");
    assert_eq!(listing().len(), 2, "the target and a temporary file: {:?}", listing());
    drop(pending); // an error, or Ctrl-C
    assert_eq!(listing(), ["app.tar"]);
    assert_eq!(std::fs::read(&target).unwrap(), b"the previous archive", "left as it was");

    let pending = PendingFile::create(&target).unwrap();
    std::io::Write::write_all(&mut pending.writer().unwrap(), b"new").unwrap();
    pending.commit().unwrap();
    assert_eq!(listing(), ["app.tar"]);
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    assert!(PendingFile::create(dir.path()).is_err(), "a directory is no file name");
}

#[test]
fn temporary_files_of_killed_exports_are_removed_when_old_and_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("app.tar");
    let file = |name: &str, age: u64| {
        let path = dir.path().join(name);
        let f = std::fs::File::create(&path).unwrap();
        f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(age)).unwrap();
        (path, f)
    };
    let (dead, _) = file(".app.tar.00000000000000aa.tmp", 3600);
    let (young, _) = file(".app.tar.00000000000000bb.tmp", 0);
    let (held, writer) = file(".app.tar.00000000000000cc.tmp", 3600);
    writer.lock().unwrap();
    let (other, _) = file(".other.tar.00000000000000dd.tmp", 3600);
    let (not_ours, _) = file(".app.tar.backup.tmp", 3600);
    drop(PendingFile::create(&target).unwrap());
    assert!(!dead.exists(), "old and unlocked: its writer is gone");
    for kept in [&young, &held, &other, &not_ours] {
        assert!(kept.exists(), "{} is kept", kept.display());
    }
}
