//! Links planted in a shared layout. Blob digests are predictable and
//! layouts live in CI caches that other jobs write: whoever can write
//! there can put a link where ocimirror will write next. None is ever
//! written through: links and strangers' files at a partial file's name
//! are removed (the name only), a link at a blob's name is no blob, and a
//! layout directory that is a link is refused.

use std::os::unix::fs::{MetadataExt as _, symlink};
use std::path::Path;

use super::{assert_clean, blob_path, outside_file, partial_path, pull};
use crate::support::image::Image;
use crate::support::registry::Registry;
use crate::support::{Test, assert_layout_valid};

/// Every entry under `dir`, recursively, as paths relative to it.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.symlink_metadata().unwrap().is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

fn assert_regular_blob(t: &Test, digest: &str) {
    let meta = std::fs::symlink_metadata(blob_path(t, digest)).unwrap();
    assert!(meta.is_file() && meta.nlink() == 1, "{digest} is a plain file of its own");
}

#[test]
fn links_planted_at_partial_and_blob_names_are_never_written_through() {
    let img = Image::oci(1301, &[64 << 10, 2000]);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &img);
    let t = Test::new();
    std::fs::create_dir_all(t.layout().join(".ocimirror/partial")).unwrap();
    std::fs::create_dir_all(t.layout().join("blobs/sha256")).unwrap();
    let (config, layer, second) = (&img.config, &img.layers[0], &img.layers[1]);
    // A symbolic link where the big layer's download will be written.
    let precious = outside_file(&t, "precious", b"never to be overwritten");
    symlink(&precious, partial_path(&t, &layer.digest)).unwrap();
    // A hard link where the config's will be.
    let hard = outside_file(&t, "hard", b"nor this");
    std::fs::hard_link(&hard, partial_path(&t, &config.digest)).unwrap();
    // A link at the second layer's final name, to a file with its very
    // bytes: still no blob of the layout's.
    let lookalike = outside_file(&t, "lookalike", &second.bytes);
    symlink(&lookalike, blob_path(&t, &second.digest)).unwrap();

    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(std::fs::read(&precious).unwrap(), b"never to be overwritten");
    assert_eq!(std::fs::read(&hard).unwrap(), b"nor this");
    assert_eq!(std::fs::metadata(&hard).unwrap().nlink(), 1, "the layout's name is gone");
    assert_eq!(std::fs::read(&lookalike).unwrap(), second.bytes);
    assert!(out.stderr.contains("symbolic link"), "the user is told\n{}", out.dump());
    for b in img.blobs() {
        assert_regular_blob(&t, &b.digest);
    }
    let fetched = |d: &str| reg.count("GET", &format!("/v2/team/app/blobs/{d}"));
    assert_eq!(fetched(&second.digest), 1, "the link was not taken for the blob");
    assert_layout_valid(&t.layout());
}

/// Pulls into a layout whose directory `linked` is a link to a directory
/// outside it: refused, with no index entry. Returns what appeared in the
/// directory outside.
fn pull_through_linked(reg: &Registry, linked: &str) -> Vec<String> {
    let t = Test::new();
    let elsewhere = t.path().join("outside/dir");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let at = t.layout().join(linked);
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    symlink(&elsewhere, &at).unwrap();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    assert_clean(&out);
    out.assert_code(1);
    assert!(out.stderr.contains("not a plain directory"), "{linked}\n{}", out.dump());
    assert!(!t.layout().join("index.json").exists(), "{linked}");
    listing(&elsewhere)
}

#[test]
fn a_layout_directory_that_is_a_link_is_refused() {
    let img = Image::oci(1302, &[1000]);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &img);
    for linked in [".ocimirror", "blobs"] {
        pull_through_linked(&reg, linked);
    }
    for linked in ["blobs/sha256", ".ocimirror/partial"] {
        assert_eq!(pull_through_linked(&reg, linked), Vec::<String>::new(), "through {linked}");
    }
}

#[test]
fn a_linked_ocimirror_or_blobs_directory_gets_nothing_written_through_it() {
    let img = Image::oci(1303, &[1000]);
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &img);
    let written: Vec<String> = [".ocimirror", "blobs"]
        .into_iter()
        .map(|linked| (linked, pull_through_linked(&reg, linked)))
        .filter(|(_, made)| !made.is_empty())
        .map(|(linked, made)| format!("through {linked}: {made:?}"))
        .collect();
    assert!(written.is_empty(), "written outside the layout: {written:#?}");
}
