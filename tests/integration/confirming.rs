//! A tag a mirror answers is confirmed with the registry; the pull does not
//! wait for that HEAD before it fetches the blobs (they are verified by
//! digest, whoever serves them), but no blob is named, in the layout or in
//! the blob cache, before the image is confirmed: a substitute the registry
//! overrules, or a tag it does not have, leaves nothing under a name.
//!
//! The registry holds its HEADs (`Fault::HoldManifestHeads`) until the test
//! has seen the mirror asked for every blob, then answers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::image::{Image, Index};
use crate::support::registry::{Auth, Fault, Registry};
use crate::support::{Running, Test, assert_layout_valid, layout_has_blob};

const REPO: &str = "team/app";

/// The blob cache of a test (`$XDG_CACHE_HOME/ocimirror/blobs`).
fn cache(t: &Test) -> PathBuf {
    t.path().join("home/.cache/ocimirror/blobs")
}

/// A registry holding `img` (or only another tag, when `None`) and a mirror
/// holding `served` as `team/app:v1`; the registry's HEADs are held.
fn held_registry(img: Option<&Image>, served: &Image) -> (Registry, Registry) {
    let registry = Registry::start();
    match img {
        Some(img) => registry.push_image(REPO, "v1", img),
        // The repository exists, the tag does not.
        None => registry.push_image(REPO, "v2", &Image::oci(1509, &[100])),
    };
    registry.fault(Fault::HoldManifestHeads);
    let mirror = Registry::start();
    mirror.push_image(REPO, "v1", served);
    (registry, mirror)
}

/// Starts the pull, waits until the mirror was asked for every blob of
/// `served` while the registry's HEAD is unanswered, and checks that none
/// was named meanwhile (given the time to arrive); then lets the registry
/// answer.
fn pull_while_held(
    t: &Test,
    (registry, mirror): (&Registry, &Registry),
    served: &Image,
    extra: &[&str],
) -> Running {
    let layout = t.layout_str();
    let (reference, url) = (format!("{}/{REPO}:v1", registry.host()), mirror.url());
    // The HEAD is held longer than the test waits for the blobs.
    let mut args = vec!["pull", &reference, "-o", &layout, "--json", "--mirror", &url];
    args.extend(["--response-timeout", "30"]);
    args.extend(extra);
    let run = t.spawn(args);
    let asked = |digest: &str| {
        mirror.requests().iter().any(|r| r.method == "GET" && r.path.ends_with(digest))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !served.blobs().iter().all(|b| asked(&b.digest)) {
        assert!(
            Instant::now() < deadline,
            "the blobs were not fetched while the registry's HEAD was unanswered: {:?}",
            mirror.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(registry.count("HEAD", "/v2/team/app/manifests/v1"), 1, "the HEAD is out");
    // Small blobs on loopback: long enough for every one to arrive.
    std::thread::sleep(Duration::from_millis(300));
    assert_nothing_named(t, served, "before the tag was confirmed");
    registry.clear_faults();
    run
}

fn assert_nothing_named(t: &Test, img: &Image, when: &str) {
    for b in img.blobs() {
        let in_cache = cached(&cache(t), &b.digest);
        assert!(!layout_has_blob(&t.layout(), &b.digest), "{} in the layout {when}", b.digest);
        assert!(!in_cache, "{} in the blob cache {when}", b.digest);
    }
}

fn cached(cache: &Path, digest: &str) -> bool {
    cache.join("blobs/sha256").join(digest.trim_start_matches("sha256:")).exists()
}

#[test]
fn blobs_download_while_the_registry_confirms_the_tag() {
    let img = Image::oci(1501, &[1500, 2500, 3500]);
    let (registry, mirror) = held_registry(Some(&img), &img);
    let t = Test::new();
    let out = pull_while_held(&t, (&registry, &mirror), &img, &[]).wait(Duration::from_secs(30));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "{j}");
    assert_eq!(j["servedBy"]["confirmation"], "confirmed", "{j}");
    for b in img.blobs() {
        assert!(layout_has_blob(&t.layout(), &b.digest), "{} is named once confirmed", b.digest);
        assert!(cached(&cache(&t), &b.digest), "{} is in the cache too", b.digest);
    }
    assert_eq!(registry.count("GET", "/v2/team/app/blobs/"), 0, "every blob from the mirror");
    assert_layout_valid(&t.layout());
}

#[test]
fn a_substitute_fetched_while_the_registry_is_asked_is_never_named() {
    // Through the blob cache, and straight into the layout.
    for extra in [&[][..], &["--no-cache"]] {
        let (img, substitute) = (Image::oci(1502, &[1500, 2500]), Image::oci(1503, &[1600, 2600]));
        let (registry, mirror) = held_registry(Some(&img), &substitute);
        let t = Test::new();
        let run = pull_while_held(&t, (&registry, &mirror), &substitute, extra);
        let out = run.wait(Duration::from_secs(30));
        out.assert_success();
        let j = out.json();
        assert_eq!(j["digest"], img.manifest.digest, "the registry's image: {j}");
        assert_eq!(j["servedBy"]["confirmation"], "overruled", "{j}");
        assert_nothing_named(&t, &substitute, "after the registry overruled the mirror");
        for b in img.blobs() {
            assert!(layout_has_blob(&t.layout(), &b.digest), "{} {extra:?}", b.digest);
        }
        assert_layout_valid(&t.layout());
    }
}

#[test]
fn a_tag_the_registry_lacks_leaves_nothing_of_the_mirrors_answer() {
    let served = Image::oci(1504, &[1500, 2500]);
    let (registry, mirror) = held_registry(None, &served);
    let t = Test::new();
    let out = pull_while_held(&t, (&registry, &mirror), &served, &[]).wait(Duration::from_secs(30));
    out.assert_code(3);
    assert_eq!(out.json()["error"]["kind"], "not-found", "{}", out.dump());
    assert_nothing_named(&t, &served, "after the registry said it has no such tag");
}

#[test]
fn a_mirrors_answer_that_cannot_be_pulled_is_overruled_not_a_failure() {
    // The mirror's tag names an index with no image for this platform;
    // the registry's names one that has it.
    let img = Image::oci(1505, &[1500]);
    let elsewhere = Image::builder(1506).platform("linux", "s390x", None).layers(&[900]).build();
    let substitute = Index::new(vec![elsewhere], false);
    let registry = Registry::start();
    registry.push_image(REPO, "v1", &img);
    let mirror = Registry::start();
    mirror.push_index(REPO, "v1", &substitute);
    let reference = format!("{}/{REPO}:v1", registry.host());
    let t = Test::new();
    let (layout, url) = (t.layout_str(), mirror.url());
    let platform = img.platform();
    let args = ["pull", &reference, "-o", &layout, "--json", "--mirror", &url];
    let out = t.run_with(args.into_iter().chain(["--platform", &platform]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest, "the registry's image: {j}");
    assert_eq!(j["servedBy"]["confirmation"], "overruled", "{j}");
    assert_layout_valid(&t.layout());
}

/// `pull REF --mirror MIRROR --json`, the tag given a minute per answer.
fn spawn_pull(t: &Test, registry: &Registry, mirror: &Registry) -> Running {
    let (reference, url, layout) =
        (format!("{}/{REPO}:v1", registry.host()), mirror.url(), t.layout_str());
    t.spawn([
        "pull",
        &reference,
        "-o",
        &layout,
        "--json",
        "--mirror",
        &url,
        "--response-timeout",
        "60",
    ])
}

fn attempts(j: &serde_json::Value) -> Vec<serde_json::Value> {
    j["attempts"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_mirror_slow_to_answer_the_tag_is_asked_for_the_digest_the_registry_named() {
    // A pull-through cache asks its upstream before it answers a tag, and
    // serves a digest it holds at once. This one never answers the tag;
    // with tokens, only once the 401 and the token have come.
    for auth in [Auth::None, Auth::Bearer { user_pass: None }] {
        silent_about_the_tag(auth);
    }
}

fn silent_about_the_tag(auth: Auth) {
    let img = Image::oci(1507, &[1500, 2500]);
    let registry = Registry::start();
    registry.push_image(REPO, "v1", &img);
    let mirror = Registry::start();
    mirror.push_image(REPO, "v1", &img);
    mirror.set_auth(auth);
    mirror.fault(Fault::HoldTagManifests);
    let t = Test::new();
    let out = spawn_pull(&t, &registry, &mirror).wait(Duration::from_secs(30));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest, "{j}");
    let served_by = &j["servedBy"];
    assert_eq!(served_by["endpoint"], mirror.url(), "{j}");
    assert_eq!(
        (&served_by["confirmation"], &served_by["trust"]),
        (&"confirmed".into(), &"confirmed".into())
    );
    let tried = attempts(&j);
    let has = |kind: &str, outcome: &str, endpoint: &str| {
        tried
            .iter()
            .any(|a| a["kind"] == kind && a["outcome"] == outcome && a["endpoint"] == endpoint)
    };
    assert!(has("manifest", "superseded", &mirror.url()), "the tag's request: {j}");
    assert!(has("confirm", "confirmed", &registry.url()), "{j}");
    let by_digest = tried.iter().find(|a| a["kind"] == "manifest" && a["outcome"] == "served");
    assert_eq!(by_digest.map(|a| &a["digest"]), Some(&img.manifest.digest.clone().into()), "{j}");
    // Of the registry, only the HEAD.
    assert_eq!(registry.count("HEAD", "/v2/team/app/manifests/v1"), 1);
    assert_eq!(registry.count("GET", "/v2/team/app/"), 0, "{:#?}", registry.requests());
    for b in img.blobs() {
        assert!(layout_has_blob(&t.layout(), &b.digest), "{}", b.digest);
    }
    assert_layout_valid(&t.layout());
}

#[test]
fn a_mirror_without_the_named_digest_still_has_its_tag_answer_confirmed() {
    // The mirror serves another image under the tag, slowly: asked for the
    // registry's digest meanwhile, it has none, and the tag's answer is
    // then overruled as ever.
    let (img, substitute) = (Image::oci(1508, &[1500]), Image::oci(1509, &[1600]));
    let registry = Registry::start();
    registry.push_image(REPO, "v1", &img);
    let mirror = Registry::start();
    mirror.push_image(REPO, "v1", &substitute);
    mirror.fault(Fault::HoldTagManifests);
    let t = Test::new();
    let run = spawn_pull(&t, &registry, &mirror);
    let digest_path = format!("/v2/{REPO}/manifests/{}", img.manifest.digest);
    let deadline = Instant::now() + Duration::from_secs(20);
    while mirror.count("GET", &digest_path) == 0 {
        assert!(Instant::now() < deadline, "never asked by digest: {:#?}", mirror.requests());
        std::thread::sleep(Duration::from_millis(5));
    }
    mirror.clear_faults();
    let out = run.wait(Duration::from_secs(30));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest, "the registry's image: {j}");
    assert_eq!(j["servedBy"]["confirmation"], "overruled", "{j}");
    assert_eq!(j["servedBy"]["collision"]["digest"], substitute.manifest.digest, "{j}");
    assert!(
        attempts(&j).iter().any(|a| a["outcome"] == "not-found" && a["endpoint"] == mirror.url()),
        "{j}"
    );
    assert_nothing_named(&t, &substitute, "after the registry overruled the mirror");
    assert_layout_valid(&t.layout());
}
