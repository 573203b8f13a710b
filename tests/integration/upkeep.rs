//! Layout upkeep (issue 13): `verify` finds what is missing or wrong (and
//! the next pull repairs it), `gc` removes exactly what no image refers to.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::support::image::Image;
use crate::support::registry::Registry;
use crate::support::{Output, Test, assert_layout_valid, layout_has_blob};

fn pull_into(t: &Test, layout: &Path, reference: &str) -> Output {
    let out = t.run_with([
        "pull",
        reference,
        "-o",
        layout.to_str().unwrap(),
        "--platform",
        "linux/amd64",
    ]);
    out.assert_success();
    out
}

fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn verify_finds_a_flipped_byte_and_a_deleted_blob_and_the_next_pull_repairs_them() {
    let reg = Registry::start();
    let img = Image::oci(1330, &[100_000, 50_000]);
    reg.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", reg.host());
    let t = Test::new();
    let layout = t.layout();
    pull_into(&t, &layout, &reference);
    let dir = layout.to_str().unwrap();
    t.run_with(["verify", dir]).assert_success();
    // A byte flipped in place (the blob cache's name is the same file),
    // and a blob deleted.
    let (flipped, deleted) = (&img.layers[0].digest, &img.layers[1].digest);
    let mut f = std::fs::OpenOptions::new().write(true).open(blob_path(&layout, flipped)).unwrap();
    f.seek(SeekFrom::Start(4321)).unwrap();
    f.write_all(&[!img.layers[0].bytes[4321]]).unwrap();
    drop(f);
    std::fs::remove_file(blob_path(&layout, deleted)).unwrap();
    let out = t.run_with(["verify", dir, "--json"]);
    out.assert_code(1);
    let problems = out.json()["problems"].as_array().cloned().unwrap();
    let find = |d: &str| problems.iter().find(|p| p["digest"] == d).cloned().unwrap();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!(find(flipped)["kind"], "wrong-digest");
    assert_eq!(find(flipped)["removed"], true);
    assert_eq!(find(flipped)["images"][0], reference);
    assert_eq!(find(deleted)["kind"], "missing");
    let human = t.run_with(["verify", dir]);
    human.assert_code(1);
    assert!(human.stdout.contains(&format!("missing: {deleted}")), "{}", human.dump());
    assert!(human.stderr.contains("DAMAGED"), "{}", human.dump());
    // The next pull repairs both: the corrupt one is fetched again (its
    // cache twin, the same file, went too); the deleted one, still good in
    // the blob cache, is linked from there.
    reg.clear_requests();
    pull_into(&t, &layout, &reference);
    let gets = |d: &str| reg.count("GET", &format!("/v2/team/app/blobs/{d}"));
    assert_eq!((gets(flipped), gets(deleted)), (1, 0));
    t.run_with(["verify", dir]).assert_success();
    assert_layout_valid(&layout);
}

#[test]
fn gc_removes_exactly_the_orphans_and_dry_run_removes_nothing() {
    let reg = Registry::start();
    let old = Image::oci(1331, &[30_000, 20_000]);
    let new = Image::oci(1332, &[40_000]);
    let kept = Image::oci(1333, &[10_000]);
    reg.push_image("team/app", "v1", &old);
    reg.push_image("team/kept", "v1", &kept);
    let t = Test::new();
    let layout = t.layout();
    pull_into(&t, &layout, &format!("{}/team/app:v1", reg.host()));
    pull_into(&t, &layout, &format!("{}/team/kept:v1", reg.host()));
    // The tag moves: the old image's blobs are referred to by nothing.
    reg.push_image("team/app", "v1", &new);
    pull_into(&t, &layout, &format!("{}/team/app:v1", reg.host()));
    // Left by a run that died: a partial download and a temporary file.
    let work = layout.join(".ocimirror/partial");
    std::fs::write(work.join(format!("sha256-{}", "ab".repeat(32))), b"part").unwrap();
    std::fs::write(work.join("index.json.00000000000000aa.tmp"), b"{").unwrap();
    let mut orphans: Vec<String> =
        old.blobs().iter().chain([&&old.manifest]).map(|b| b.digest.clone()).collect();
    orphans.sort();
    let before = files_in(&layout.join("blobs/sha256"));
    let dir = layout.to_str().unwrap();
    let out = t.run_with(["gc", dir, "--dry-run", "--json"]);
    out.assert_success();
    let json = out.json();
    let mut listed: Vec<String> = json["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["digest"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, orphans);
    assert_eq!(json["workFiles"].as_array().unwrap().len(), 2);
    assert_eq!(files_in(&layout.join("blobs/sha256")), before, "--dry-run removes nothing");
    assert_eq!(files_in(&work).len(), 2);
    let out = t.run_with(["gc", dir]);
    out.assert_success();
    for d in &orphans {
        assert!(!layout_has_blob(&layout, d), "{d} is an orphan");
    }
    for b in new.blobs().into_iter().chain(kept.blobs()) {
        assert!(layout_has_blob(&layout, &b.digest), "{} is in use", b.digest);
    }
    assert!(files_in(&work).is_empty(), "{:?}", files_in(&work));
    assert_layout_valid(&layout);
    t.run_with(["verify", dir]).assert_success();
    // Nothing left to remove.
    let out = t.run_with(["gc", dir, "--json"]);
    assert!(out.json()["blobs"].as_array().unwrap().is_empty());
}
