//! Issue 3 end to end: pulls through mirrors with `ns`, strip-and-retry,
//! run memory, the namespace-collision check, fallback, per-host
//! credentials, `--dry-run`, `resolve --json` and `ls`.
//!
//! The "authority" is always a fake registry on 127.0.0.1 whose host is in
//! the reference (`127.0.0.1:PORT/team/app:v1`), so `ns` is `127.0.0.1:PORT`
//! and travels URL-encoded as `127.0.0.1%3APORT`.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::image::Image;
use crate::support::registry::{Auth, Fault, HangServer, NsMode, Registry, refused_addr};
use crate::support::{Output, Test, assert_layout_valid, layout_has_blob, layout_index};

const REPO: &str = "team/app";
const MANIFESTS: &str = "/v2/team/app/manifests/";
const BLOBS: &str = "/v2/team/app/blobs/";

/// An authority holding `img` as `team/app:v1`, and the tag reference to it.
fn authority(img: &Image) -> (Registry, String) {
    let reg = Registry::start();
    reg.push_image(REPO, "v1", img);
    let reference = format!("{}/{REPO}:v1", reg.host());
    (reg, reference)
}

/// `ocimirror pull REF -o LAYOUT --json EXTRA...`.
fn pull(t: &Test, reference: &str, extra: &[String]) -> Output {
    let layout = t.layout_str();
    let mut args = vec!["pull", reference, "-o", &layout, "--json"];
    args.extend(extra.iter().map(String::as_str));
    t.run_with(args)
}

/// `--mirror URL` for each mirror, then the other flags.
fn flags(mirrors: &[String], other: &[&str]) -> Vec<String> {
    let mut out: Vec<String> =
        mirrors.iter().flat_map(|u| ["--mirror".to_string(), u.clone()]).collect();
    out.extend(other.iter().map(|s| s.to_string()));
    out
}

fn attempts(j: &Value) -> Vec<Value> {
    j["attempts"].as_array().unwrap_or_else(|| panic!("no attempts array: {j}")).clone()
}

/// Attempts against `endpoint` that actually went out (not `skipped`).
fn tried(j: &Value, endpoint: &str) -> Vec<Value> {
    attempts(j)
        .into_iter()
        .filter(|a| a["endpoint"] == endpoint && a["outcome"] != "skipped")
        .collect()
}

/// The endpoint that served blob `digest`, from the pull JSON.
fn blob_endpoint(j: &Value, digest: &str) -> Value {
    let blobs = j["blobs"].as_array().unwrap_or_else(|| panic!("no blobs array: {j}"));
    blobs
        .iter()
        .find(|b| b["digest"] == digest)
        .unwrap_or_else(|| panic!("blob {digest} not reported: {j}"))["endpoint"]
        .clone()
}

fn assert_layout_holds(t: &Test, img: &Image) {
    assert_layout_valid(&t.layout());
    let index = layout_index(&t.layout());
    assert_eq!(index["manifests"][0]["digest"], img.manifest.digest, "{index}");
    for b in img.blobs() {
        assert!(layout_has_blob(&t.layout(), &b.digest), "missing {}", b.digest);
    }
}

/// The registry was asked one thing only: the HEAD that confirms a
/// mirror's answer for the tag (an `OCI-Namespace` echo is no proof).
fn assert_only_the_confirming_head(auth: &Registry) {
    let asked: Vec<_> = auth.requests().into_iter().filter(|r| r.path != "/v2/").collect();
    assert_eq!(asked.len(), 1, "{asked:#?}");
    assert_eq!(asked[0].method, "HEAD", "{asked:#?}");
    assert!(asked[0].path.contains("/manifests/"), "{asked:#?}");
}

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
}

/// A docker config.json `auths` entry.
fn auth_entry(user: &str, pass: &str) -> Value {
    json!({"auth": base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))})
}

// ---------------------------------------------------------------------------
// ns
// ---------------------------------------------------------------------------

#[test]
fn ns_honouring_mirror_serves_manifest_and_blobs_with_ns() {
    let img = Image::oci(1, &[2048, 5000, 100]);
    let (auth, reference) = authority(&img);
    let mirror = honouring_mirror(&auth, &img);
    // Without `ns` this mirror would answer another image: only `ns` picks the right one.
    mirror.push_image(REPO, "v1", &Image::oci(2, &[300]));

    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest);
    let sb = &j["servedBy"];
    assert_eq!(sb["endpoint"], mirror.url(), "{j}");
    assert_eq!(sb["nsSent"], true);
    assert_eq!(sb["nsHonored"], true);
    assert_eq!(sb["trust"], "confirmed", "the echo is recorded, and is no proof");
    assert_eq!(sb["confirmed"], true);
    assert_eq!(sb["confirmation"], "confirmed");
    for b in img.blobs() {
        assert_eq!(blob_endpoint(&j, &b.digest), mirror.url(), "{j}");
    }
    assert_layout_holds(&t, &img);

    // Every manifest and blob request carried ns, URL-encoded.
    let encoded = format!("ns={}", auth.host().replace(':', "%3A"));
    let reqs: Vec<_> =
        mirror.requests().into_iter().filter(|r| r.path.starts_with("/v2/team/")).collect();
    assert_eq!(reqs.len(), 1 + img.blobs().len(), "{reqs:#?}");
    for r in &reqs {
        assert_eq!(r.query_param("ns").as_deref(), Some(auth.host().as_str()), "{r:?}");
        assert_eq!(r.query.as_deref(), Some(encoded.as_str()), "{r:?}");
    }
    // The echo is not enough: one HEAD confirms the tag, nothing else.
    assert_only_the_confirming_head(&auth);
}

/// A mirror that rejects any query with `status`: one ns-carrying request
/// per run, then the same mirror without ns for the manifest and every blob.
fn ns_rejecting_mirror_is_learned(status: u16) {
    let img = Image::oci(3, &[1000, 2000, 3000, 4000]);
    let (auth, reference) = authority(&img);
    let mirror = Registry::start();
    mirror.set_ns_mode(NsMode::RejectQuery(status));
    mirror.push_image(REPO, "v1", &img);

    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    let sb = &j["servedBy"];
    assert_eq!(sb["endpoint"], mirror.url(), "{j}");
    assert_eq!(sb["nsSent"], false, "served by the retry without ns");
    assert_eq!(sb["nsHonored"], false);
    // ns was stripped, so the tag is confirmed with one HEAD to the authority.
    assert_eq!(sb["confirmed"], true);
    assert_eq!(sb["trust"], "confirmed");
    assert_eq!(auth.count("HEAD", MANIFESTS), 1);
    assert_eq!(auth.count("GET", "/v2/team/"), 0, "{:#?}", auth.requests());
    assert!(auth.ns_values().is_empty(), "never ns to the authority");
    for b in img.blobs() {
        assert_eq!(blob_endpoint(&j, &b.digest), mirror.url(), "{j}");
    }
    assert_layout_holds(&t, &img);

    // Exactly one failed ns request in the whole run, not one per blob.
    let reqs = mirror.requests();
    let with_ns: Vec<_> = reqs.iter().filter(|r| r.query.is_some()).collect();
    assert_eq!(with_ns.len(), 1, "{with_ns:#?}");
    assert!(with_ns[0].path.starts_with(MANIFESTS));
    assert_eq!(mirror.count("GET", MANIFESTS), 2, "the ns request and its retry");
    assert_eq!(mirror.count("GET", BLOBS), img.blobs().len(), "one request per blob");
    let retries: Vec<_> =
        attempts(&j).into_iter().filter(|a| a["outcome"] == "retry-without-ns").collect();
    assert_eq!(retries.len(), 1, "{j}");
    assert_eq!(retries[0]["status"], status);
    assert!(retries[0]["url"].as_str().unwrap().contains("?ns="), "{j}");
}

#[test]
fn mirror_answering_queries_with_404_is_retried_without_ns_once_per_run() {
    ns_rejecting_mirror_is_learned(404);
}

#[test]
fn mirror_answering_queries_with_400_is_retried_without_ns_once_per_run() {
    ns_rejecting_mirror_is_learned(400);
}

// ---------------------------------------------------------------------------
// Namespace collision
// ---------------------------------------------------------------------------

/// The authority's image, another image under the same name, and a mirror
/// that ignores ns and answers the other one.
fn colliding() -> (Image, Image, Registry, String, Registry) {
    let img = Image::oci(10, &[1500, 2500]);
    let other = Image::oci(11, &[1500, 2500]);
    let (auth, reference) = authority(&img);
    let mirror = Registry::start();
    mirror.push_image(REPO, "v1", &other);
    (img, other, auth, reference, mirror)
}

#[test]
fn collision_is_detected_and_the_authoritys_image_is_pulled() {
    let (img, other, auth, reference, mirror) = colliding();
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest, "{j}");
    let sb = &j["servedBy"];
    assert_eq!(sb["endpoint"], auth.url(), "{j}");
    assert_eq!(sb["nsSent"], false);
    assert_eq!(sb["collision"]["endpoint"], mirror.url(), "{j}");
    assert_eq!(sb["collision"]["digest"], other.manifest.digest);
    let collision: Vec<_> =
        attempts(&j).into_iter().filter(|a| a["outcome"] == "collision").collect();
    assert_eq!(collision.len(), 1, "{j}");
    assert_eq!(collision[0]["endpoint"], auth.url());
    assert_eq!(auth.count("HEAD", MANIFESTS), 1);
    assert!(auth.ns_values().is_empty(), "never ns to the authority");

    assert_layout_holds(&t, &img);
    assert!(!layout_has_blob(&t.layout(), &other.manifest.digest));
    for b in other.blobs() {
        assert!(
            !layout_has_blob(&t.layout(), &b.digest),
            "the mirror's image leaked into the layout"
        );
    }
    // The layout records where it really came from.
    let entry = &layout_index(&t.layout())["manifests"][0];
    assert_eq!(entry["annotations"]["io.ocimirror.source"], auth.url(), "{entry}");

    // Humans are told too.
    let out = t.run_with(["resolve", &reference, "--mirror", &mirror.url()]);
    out.assert_success();
    assert!(out.stdout.contains(&img.manifest.digest), "{}", out.stdout);
    assert!(
        out.stderr.contains(&mirror.url()) && out.stderr.contains(&other.manifest.digest),
        "the collision is reported:\n{}",
        out.stderr
    );
}

#[test]
fn trusted_mirror_is_not_confirmed() {
    let (_img, other, auth, reference, mirror) = colliding();
    let t = Test::new().config(&format!("[hosts.\"{}\"]\ntrusted = true\n", mirror.host()));
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], other.manifest.digest, "the trusted mirror's answer is kept: {j}");
    assert_eq!(j["servedBy"]["endpoint"], mirror.url());
    assert_eq!(j["servedBy"]["trust"], "trusted-mirror");
    assert!(j["servedBy"].get("collision").is_none(), "{j}");
    assert!(auth.requests().is_empty(), "no HEAD to the authority: {:#?}", auth.requests());
    assert_layout_holds(&t, &other);
}

#[test]
fn without_fallback_the_mirrors_answer_is_used_unconfirmed() {
    let (_img, other, auth, reference, mirror) = colliding();
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &["--no-fallback"]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], other.manifest.digest, "{j}");
    let sb = &j["servedBy"];
    assert_eq!(sb["endpoint"], mirror.url());
    assert_eq!(sb["confirmed"], false);
    assert_eq!(sb["trust"], "unconfirmed");
    assert!(auth.requests().is_empty(), "{:#?}", auth.requests());
    assert_layout_holds(&t, &other);
    let entry = &layout_index(&t.layout())["manifests"][0];
    assert_eq!(entry["annotations"]["io.ocimirror.trust"], "unconfirmed", "{entry}");

    // The same, with fallback turned off for this registry in the config.
    let config = format!(
        "[registries.\"{}\"]\nmirrors = [\"{}\"]\nfallback = false\n",
        auth.host(),
        mirror.url()
    );
    let t = Test::new().config(&config);
    let out = t.run_with(["resolve", &reference, "--json"]);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], other.manifest.digest, "{j}");
    assert_eq!(j["servedBy"]["trust"], "unconfirmed");
    assert!(auth.requests().is_empty(), "{:#?}", auth.requests());
}

#[test]
fn endpoint_override_serves_the_authoritys_content_and_confirms_tags() {
    let img = Image::oci(15, &[500]);
    // The reference names a host where nothing listens; its content lives
    // at another address.
    let named = refused_addr();
    let copy = Registry::start();
    copy.push_image(REPO, "v1", &img);
    let mirror = Registry::start(); // ignores ns
    mirror.push_image(REPO, "v1", &img);
    let reference = format!("{named}/{REPO}:v1");
    let config = format!("[registries.\"{named}\"]\nendpoint = \"{}\"\n", copy.url());

    let t = Test::new().config(&config);
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "{j}");
    assert_eq!(j["servedBy"]["confirmed"], true, "confirmed at the endpoint: {j}");
    assert_eq!(mirror.ns_values(), vec![named.clone()], "ns is the reference's registry");
    assert_eq!(copy.count("HEAD", MANIFESTS), 1);
    assert!(copy.ns_values().is_empty());
    assert_layout_holds(&t, &img);

    let t = Test::new().config(&config);
    let out = pull(&t, &reference, &[]);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], copy.url());
}

#[test]
fn authority_agreeing_confirms_the_mirrors_tag() {
    let img = Image::oci(12, &[4000, 10]);
    let (auth, reference) = authority(&img);
    let mirror = Registry::start(); // ignores ns, same content
    mirror.push_image(REPO, "v1", &img);
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    let sb = &j["servedBy"];
    assert_eq!(sb["endpoint"], mirror.url(), "{j}");
    assert_eq!(sb["nsSent"], true);
    assert_eq!(sb["nsHonored"], false, "no OCI-Namespace echo");
    assert_eq!(sb["confirmed"], true);
    assert_eq!(sb["trust"], "confirmed");
    assert!(sb.get("collision").is_none());
    assert_eq!(auth.count("HEAD", MANIFESTS), 1);
    assert_eq!(auth.count("GET", "/v2/team/"), 0, "only the HEAD: {:#?}", auth.requests());
    for b in img.blobs() {
        assert_eq!(blob_endpoint(&j, &b.digest), mirror.url());
    }
    assert_eq!(attempts(&j).iter().filter(|a| a["outcome"] == "confirmed").count(), 1, "{j}");
    assert_layout_holds(&t, &img);
}

#[test]
fn collision_with_a_tag_the_authority_lacks_is_not_found() {
    let other = Image::oci(13, &[100]);
    let auth = Registry::start();
    auth.push_image(REPO, "v2", &Image::oci(14, &[100])); // the repo exists, the tag does not
    let mirror = Registry::start();
    mirror.push_image(REPO, "v1", &other);
    let reference = format!("{}/{REPO}:v1", auth.host());
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_code(3);
    assert_eq!(out.json()["error"]["kind"], "not-found");
    assert!(!layout_has_blob(&t.layout(), &other.manifest.digest));
}

// ---------------------------------------------------------------------------
// Dead mirrors
// ---------------------------------------------------------------------------

/// A mirror that honours ns and serves `img` but lacks its first two
/// layers, so those are asked of every later source in the plan: a dead
/// mirror listed before it would be asked again per blob unless the run
/// remembers it.
fn mirror_lacking_two_layers(auth: &Registry, img: &Image) -> Registry {
    let m = honouring_mirror(auth, img);
    m.fault(Fault::MissingBlob(img.layers[0].digest.clone()));
    m.fault(Fault::MissingBlob(img.layers[1].digest.clone()));
    m
}

/// The dead mirror `dead` went first: one real attempt, then only skips.
fn assert_dead_host_tried_once(
    j: &Value,
    dead: &str,
    img: &Image,
    auth: &Registry,
    partial: &Registry,
) {
    let tried = tried(j, dead);
    assert_eq!(tried.len(), 1, "the dead host is tried once per run: {j}");
    assert_eq!(tried[0]["outcome"], "failed");
    assert!(tried[0]["error"].is_string(), "{j}");
    assert_eq!(tried[0]["what"], "manifest");
    let skipped = attempts(j)
        .into_iter()
        .filter(|a| a["endpoint"] == dead && a["outcome"] == "skipped")
        .count();
    assert_eq!(skipped, 2, "skipped for each blob the serving mirror lacked: {j}");
    assert_eq!(j["servedBy"]["endpoint"], partial.url(), "{j}");
    for (i, b) in img.blobs().into_iter().enumerate() {
        // blobs() is config first, then the layers.
        let want = if i == 1 || i == 2 { auth.url() } else { partial.url() };
        assert_eq!(blob_endpoint(j, &b.digest), want, "{}: {j}", b.digest);
    }
}

#[test]
fn refused_mirror_is_tried_once_per_run() {
    let img = Image::oci(20, &[100, 200, 300]);
    let (auth, reference) = authority(&img);
    let dead = format!("http://{}", refused_addr());
    let partial = mirror_lacking_two_layers(&auth, &img);
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[dead.clone(), partial.url()], &[]));
    out.assert_success();
    assert!(out.elapsed < Duration::from_secs(10), "took {:?}", out.elapsed);
    let j = out.json();
    assert_dead_host_tried_once(&j, &dead, &img, &auth, &partial);
    assert_layout_holds(&t, &img);

    // Alone before the authority, too.
    let t = Test::new();
    let out = pull(&t, &reference, &flags(std::slice::from_ref(&dead), &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], auth.url(), "{j}");
    assert_eq!(j["servedBy"]["trust"], "authority");
    assert_eq!(tried(&j, &dead).len(), 1, "{j}");
    assert_layout_holds(&t, &img);
}

#[test]
fn hung_mirror_costs_one_response_timeout_per_run() {
    let img = Image::oci(21, &[100, 200, 300]);
    let (auth, reference) = authority(&img);
    let hang = HangServer::start();
    let partial = mirror_lacking_two_layers(&auth, &img);
    let t = Test::new().timeout(Duration::from_secs(30));
    let out =
        pull(&t, &reference, &flags(&[hang.url(), partial.url()], &["--response-timeout", "1"]));
    out.assert_success();
    // One timeout of 1 s; three (one per request) would still pass a tight
    // bound, so the connection count below is the real check.
    assert!(out.elapsed < Duration::from_secs(10), "took {:?}", out.elapsed);
    let j = out.json();
    assert_dead_host_tried_once(&j, &hang.url(), &img, &auth, &partial);
    assert!(tried(&j, &hang.url())[0]["elapsedMs"].as_u64().unwrap() >= 900, "{j}");
    // One for the tag, and one for the digest the registry named while the
    // tag went unanswered (`fetch/race.rs`); nothing after the timeout.
    assert!(hang.connections() <= 2, "{} connections to the hung mirror", hang.connections());
    assert_layout_holds(&t, &img);
}

#[test]
fn blobs_come_from_the_source_that_served_the_manifest_first() {
    let img = Image::oci(22, &[100, 200]);
    let (auth, reference) = authority(&img);
    // First mirror: every blob, but not the manifest.
    let blobs_only = Registry::start();
    blobs_only.set_ns_mode(NsMode::Honor);
    for b in img.blobs() {
        blobs_only.push_blob_ns(&auth.host(), b);
    }
    let serving = honouring_mirror(&auth, &img);
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[blobs_only.url(), serving.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], serving.url(), "{j}");
    for b in img.blobs() {
        assert_eq!(blob_endpoint(&j, &b.digest), serving.url(), "{j}");
    }
    assert_eq!(blobs_only.count("*", BLOBS), 0, "{:#?}", blobs_only.requests());
    assert_layout_holds(&t, &img);
}

// ---------------------------------------------------------------------------
// Bad blobs
// ---------------------------------------------------------------------------

#[test]
fn blob_missing_on_the_mirror_comes_from_the_next_source() {
    let img = Image::oci(30, &[1000, 2000, 3000]);
    let (auth, reference) = authority(&img);
    let mirror = honouring_mirror(&auth, &img);
    let missing = img.layers[1].digest.clone();
    mirror.fault(Fault::MissingBlob(missing.clone()));

    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "{j}");
    for b in img.blobs() {
        let want = if b.digest == missing { auth.url() } else { mirror.url() };
        assert_eq!(blob_endpoint(&j, &b.digest), want, "{}: {j}", b.digest);
    }
    assert_eq!(auth.count("GET", BLOBS), 1, "{:#?}", auth.requests());
    assert_eq!(auth.count("HEAD", MANIFESTS), 1, "an echo is no proof: the tag is confirmed");
    assert_eq!(auth.count("GET", MANIFESTS), 0);
    assert_layout_holds(&t, &img);
}

/// A manifest from a mirror, every blob from the registry (the mirror's
/// blobs are corrupt): the summary, `ls`, `--json` and the layout's
/// annotations all say so, and `served` counts each blob once.
#[test]
fn every_output_tells_who_served_the_manifest_and_who_the_blobs() {
    let img = Image::oci(32, &[1000, 2000]);
    let (auth, reference) = authority(&img);
    let mirror = honouring_mirror(&auth, &img);
    for b in img.blobs() {
        mirror.fault(Fault::CorruptBlob(b.digest.clone()));
    }
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "{j}");
    let tally = j["sources"].as_array().unwrap();
    let of = |url: &str| tally.iter().find(|s| s["endpoint"] == url).cloned().unwrap();
    assert_eq!(
        (&of(&mirror.url())["manifests"], &of(&mirror.url())["blobs"]),
        (&json!(1), &json!(0)),
        "{j}"
    );
    assert_eq!(of(&auth.url())["blobs"], img.blobs().len(), "{j}");
    // A rejected blob is `failed` on the mirror and `served` once, by the registry.
    for b in img.blobs() {
        let served: Vec<_> = attempts(&j)
            .into_iter()
            .filter(|a| a["digest"] == b.digest.as_str() && a["outcome"] == "served")
            .collect();
        assert_eq!(served.len(), 1, "{}: {j}", b.digest);
        assert_eq!(served[0]["endpoint"], auth.url());
    }
    let entry = &layout_index(&t.layout())["manifests"][0];
    let counts: Value =
        serde_json::from_str(entry["annotations"]["io.ocimirror.blob-sources"].as_str().unwrap())
            .unwrap();
    assert_eq!(counts, json!({auth.url(): img.blobs().len()}), "{entry}");
    // Humans see the same, in the summary and in ls.
    let t = Test::new();
    let layout = t.layout_str();
    let out = t.run_with(["pull", &reference, "-o", &layout, "--mirror", &mirror.url()]);
    out.assert_success();
    let summary = format!("blobs: {} from {}", img.blobs().len(), auth.url());
    assert!(
        out.stderr.contains("manifest served by") && out.stderr.contains(&summary),
        "{}",
        out.stderr
    );
    let ls = t.run_with(["ls", &layout]);
    let from =
        format!("manifest from {}, blobs: {} from {}", mirror.url(), img.blobs().len(), auth.url());
    assert!(ls.stdout.contains(&from), "{}", ls.stdout);
    let ls = t.run_with(["ls", &layout, "--json"]);
    assert_eq!(ls.json()[0]["blobSources"], json!({auth.url(): img.blobs().len()}));
}

#[test]
fn corrupt_blob_on_the_mirror_comes_from_the_next_source() {
    let img = Image::oci(31, &[1000, 70_000]);
    let (auth, reference) = authority(&img);
    let mirror = honouring_mirror(&auth, &img);
    let corrupt = img.layers[1].digest.clone();
    mirror.fault(Fault::CorruptBlob(corrupt.clone()));

    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(blob_endpoint(&j, &corrupt), auth.url(), "{j}");
    assert_eq!(blob_endpoint(&j, &img.layers[0].digest), mirror.url(), "{j}");
    let failed: Vec<_> =
        tried(&j, &mirror.url()).into_iter().filter(|a| a["outcome"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{j}");
    assert!(failed[0]["what"].as_str().unwrap().contains(&corrupt), "{j}");
    // assert_layout_valid hashes every blob: nothing corrupt was kept.
    assert_layout_holds(&t, &img);
    // And no partial download of the bad copy is left behind.
    let partial = walk(&t.layout().join(".ocimirror/partial"));
    assert!(partial.is_empty(), "left-over partial files: {partial:?}");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Digests and credentials
// ---------------------------------------------------------------------------

#[test]
fn digest_pull_through_a_mirror_needs_no_confirmation() {
    let img = Image::oci(40, &[1000, 2000]);
    let (auth, _) = authority(&img);
    let mirror = Registry::start(); // ignores ns, no echo
    mirror.push_image(REPO, "v1", &img);
    let reference = format!("{}/{REPO}@{}", auth.host(), img.manifest.digest);
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest);
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "{j}");
    assert_eq!(j["servedBy"]["trust"], "digest");
    assert!(auth.requests().is_empty(), "{:#?}", auth.requests());
    assert_layout_holds(&t, &img);
}

#[test]
fn authority_credentials_never_reach_a_mirror() {
    let img = Image::oci(41, &[1000, 2000]);
    let (auth, reference) = authority(&img);
    auth.set_auth(Auth::Basic { user: "alice".into(), pass: "upstream-secret".into() });
    let mirror = Registry::start();
    mirror.push_image(REPO, "v1", &img);
    let t = Test::new()
        .docker_config(json!({"auths": {auth.host(): auth_entry("alice", "upstream-secret")}}));
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "{j}");
    assert_eq!(j["servedBy"]["confirmed"], true, "the HEAD to the authority used its credentials");
    assert!(!mirror.requests().is_empty());
    assert!(!mirror.saw_header("authorization"), "{:#?}", mirror.requests());
    let heads: Vec<_> = auth.requests().into_iter().filter(|r| r.method == "HEAD").collect();
    assert!(
        heads
            .iter()
            .any(|r| r.header("authorization") == Some(basic("alice", "upstream-secret").as_str())),
        "{heads:#?}"
    );
    assert_layout_holds(&t, &img);

    // A mirror that asks for credentials (and would take the authority's)
    // still gets none: it is denied and the authority serves.
    let asking = Registry::start();
    asking.push_image(REPO, "v1", &img);
    asking.set_auth(Auth::Basic { user: "alice".into(), pass: "upstream-secret".into() });
    let out = pull(&t, &reference, &flags(&[asking.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], auth.url(), "{j}");
    assert_eq!(tried(&j, &asking.url())[0]["outcome"], "denied", "{j}");
    assert!(!asking.requests().is_empty());
    assert!(!asking.saw_header("authorization"), "{:#?}", asking.requests());
}

#[test]
fn mirror_gets_its_own_docker_config_credentials() {
    let img = Image::oci(42, &[1000]);
    let (auth, reference) = authority(&img);
    auth.set_auth(Auth::Basic { user: "alice".into(), pass: "upstream-secret".into() });
    let mirror = honouring_mirror(&auth, &img);
    mirror.set_auth(Auth::Basic { user: "bob".into(), pass: "mirror-secret".into() });
    let t = Test::new().docker_config(json!({"auths": {
        auth.host(): auth_entry("alice", "upstream-secret"),
        mirror.url(): auth_entry("bob", "mirror-secret"),
    }}));
    // --no-fallback: the mirror must serve it.
    let out = pull(&t, &reference, &flags(&[mirror.url()], &["--no-fallback"]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "{j}");
    let sent: Vec<_> = mirror
        .requests()
        .into_iter()
        .filter_map(|r| r.header("authorization").map(str::to_string))
        .collect();
    assert!(!sent.is_empty(), "{:#?}", mirror.requests());
    assert!(sent.iter().all(|h| *h == basic("bob", "mirror-secret")), "{sent:?}");
    assert!(auth.requests().is_empty());
    assert_layout_holds(&t, &img);
}

#[test]
fn credentials_authority_sends_the_authoritys_credentials_to_the_mirror() {
    let img = Image::oci(43, &[1000]);
    let (auth, reference) = authority(&img);
    auth.set_auth(Auth::Basic { user: "alice".into(), pass: "upstream-secret".into() });
    // A pull-through cache that passes the user's upstream login through.
    let mirror = honouring_mirror(&auth, &img);
    mirror.set_auth(Auth::Basic { user: "alice".into(), pass: "upstream-secret".into() });
    let docker = json!({"auths": {auth.host(): auth_entry("alice", "upstream-secret")}});

    // Not configured: the mirror gets nothing and denies; --no-fallback makes that fatal.
    let t = Test::new().docker_config(docker.clone());
    let extra = flags(&[mirror.url()], &["--no-fallback"]);
    pull(&t, &reference, &extra).assert_code(4);
    assert!(!mirror.saw_header("authorization"), "{:#?}", mirror.requests());

    let t = Test::new()
        .docker_config(docker)
        .config(&format!("[hosts.\"{}\"]\ncredentials = \"authority\"\n", mirror.host()));
    let out = pull(&t, &reference, &extra);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], mirror.url());
    assert!(
        mirror
            .requests()
            .iter()
            .any(|r| r.header("authorization") == Some(basic("alice", "upstream-secret").as_str())),
        "{:#?}",
        mirror.requests()
    );
    assert_layout_holds(&t, &img);
}

// ---------------------------------------------------------------------------
// Plans, resolve, ls, configuration, exit codes
// ---------------------------------------------------------------------------

#[test]
fn dry_run_prints_the_plan_without_touching_the_network() {
    let img = Image::oci(50, &[100]);
    let (auth, reference) = authority(&img);
    let m1 = Registry::start();
    let m2 = Registry::start();
    let ns = auth.host().replace(':', "%3A");
    let url = |base: &str, ns: bool| {
        let u = format!("{base}/v2/{REPO}/manifests/v1");
        if ns { format!("{u}?ns={}", auth.host().replace(':', "%3A")) } else { u }
    };
    let t = Test::new();
    let mirrors = flags(&[m1.url(), m2.url()], &[]);

    let mut args = vec!["pull", &reference, "-o", "out", "--dry-run", "--json"];
    args.extend(mirrors.iter().map(String::as_str));
    let out = t.run_with(&args);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["reference"], reference);
    let sources = j["sources"].as_array().unwrap();
    let shown: Vec<_> = sources.iter().map(|s| s["base"].as_str().unwrap().to_string()).collect();
    assert_eq!(shown, [m1.url(), m2.url(), auth.url()], "{j}");
    assert_eq!(sources[0]["urls"], json!([url(&m1.url(), true), url(&m1.url(), false)]), "{j}");
    assert_eq!(sources[1]["urls"], json!([url(&m2.url(), true), url(&m2.url(), false)]));
    assert_eq!(sources[2]["urls"], json!([url(&auth.url(), false)]), "never ns to the authority");
    assert!(sources[0]["urls"][0].as_str().unwrap().ends_with(&format!("?ns={ns}")));

    // The human form lists the same URLs, in order.
    let mut args = vec!["resolve", &reference, "--dry-run"];
    args.extend(mirrors.iter().map(String::as_str));
    let out = t.run_with(&args);
    out.assert_success();
    let expected = [
        url(&m1.url(), true),
        url(&m1.url(), false),
        url(&m2.url(), true),
        url(&m2.url(), false),
        url(&auth.url(), false),
    ];
    let mut at = 0;
    for u in &expected {
        let found = out.stdout[at..]
            .find(u.as_str())
            .unwrap_or_else(|| panic!("{u} missing or out of order:\n{}", out.stdout));
        at += found + u.len();
    }

    for r in [&auth, &m1, &m2] {
        assert!(r.requests().is_empty(), "{:#?}", r.requests());
    }
    assert!(!t.path().join("out").exists(), "a dry run writes nothing");
}

#[test]
fn resolve_json_reports_the_walk() {
    let img = Image::oci(51, &[100, 200]);
    let (auth, reference) = authority(&img);
    let dead = format!("http://{}", refused_addr());
    let mirror = Registry::start();
    mirror.push_image(REPO, "v1", &img);
    let t = Test::new();
    let mirrors = flags(&[dead.clone(), mirror.url()], &[]);
    let mut args = vec!["resolve", reference.as_str(), "--json"];
    args.extend(mirrors.iter().map(String::as_str));
    let out = t.run_with(&args);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["reference"], reference);
    assert_eq!(j["digest"], img.manifest.digest);
    assert_eq!(j["mediaType"], img.manifest.media_type);
    let sb = &j["servedBy"];
    assert_eq!(sb["endpoint"], mirror.url(), "{j}");
    assert_eq!(sb["nsSent"], true);
    assert_eq!(sb["nsHonored"], false);
    assert_eq!(sb["confirmed"], true);

    let a = attempts(&j);
    for x in &a {
        assert!(
            x["endpoint"].is_string() && x["url"].is_string() && x["outcome"].is_string(),
            "{x}"
        );
        assert!(x["elapsedMs"].is_u64(), "{x}");
        assert!(x["status"].is_u64() || x["error"].is_string(), "{x}");
    }
    let summary: Vec<_> = a
        .iter()
        .map(|x| (x["endpoint"].as_str().unwrap(), x["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            (dead.as_str(), "failed"),
            (mirror.url().as_str(), "served"),
            (auth.url().as_str(), "confirmed")
        ],
        "{j}"
    );
    assert!(a[0]["error"].is_string());
    assert_eq!(a[1]["status"], 200);
    assert!(a[1]["url"].as_str().unwrap().contains("?ns="), "{j}");
    assert_eq!(a[2]["status"], 200);
    // resolve fetches no layers, and writes nothing.
    assert_eq!(mirror.count("*", BLOBS) + auth.count("*", BLOBS), 0);
    assert!(!t.layout().exists());
}

#[test]
fn ls_lists_images_with_their_source() {
    let img = Image::oci(52, &[100]);
    let (auth, reference) = authority(&img);
    let mirror = honouring_mirror(&auth, &img);
    let other = Image::oci(53, &[100]);
    auth.push_image(REPO, "v2", &other);
    let t = Test::new();
    pull(&t, &reference, &flags(&[mirror.url()], &[])).assert_success();
    let reference2 = format!("{}/{REPO}:v2", auth.host());
    pull(&t, &reference2, &[]).assert_success();

    let out = t.run_with(["ls", &t.layout_str()]);
    out.assert_success();
    let line =
        |r: &str| out.stdout.lines().find(|l| l.starts_with(&format!("{r} "))).map(str::to_string);
    let l1 = line(&reference).unwrap_or_else(|| panic!("{reference} not listed:\n{}", out.stdout));
    assert!(l1.contains(&img.manifest.digest) && l1.contains(&mirror.url()), "{l1}");
    let l2 =
        line(&reference2).unwrap_or_else(|| panic!("{reference2} not listed:\n{}", out.stdout));
    assert!(l2.contains(&other.manifest.digest) && l2.contains(&auth.url()), "{l2}");

    let j = t.run_with(["ls", &t.layout_str(), "--json"]).json();
    let entries = j.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{j}");
    let e1 = entries.iter().find(|e| e["name"] == reference).unwrap();
    assert_eq!(e1["digest"], img.manifest.digest);
    assert_eq!(e1["source"], mirror.url());
    assert_eq!(e1["trust"], "confirmed");
    let e2 = entries.iter().find(|e| e["name"] == reference2).unwrap();
    assert_eq!(e2["source"], auth.url());
    assert_eq!(e2["trust"], "authority");
}

/// A mirror that honours ns and holds `img` for `auth`.
fn honouring_mirror(auth: &Registry, img: &Image) -> Registry {
    let m = Registry::start();
    m.set_ns_mode(NsMode::Honor);
    m.push_image_ns(&auth.host(), REPO, "v1", img);
    m
}

#[test]
fn config_file_mirrors_are_used() {
    let img = Image::oci(54, &[100]);
    let (auth, reference) = authority(&img);
    let mirror = honouring_mirror(&auth, &img);
    let unused = Registry::start();
    let config = format!(
        "[defaults]\nmirrors = [\"{}\"]\n\n[registries.\"{}\"]\nmirrors = [\"{}\"]\n",
        unused.url(),
        auth.host(),
        mirror.url()
    );
    let t = Test::new().config(&config);
    let out = pull(&t, &reference, &[]);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], mirror.url(), "{}", out.stdout);
    assert!(unused.requests().is_empty(), "the registry's own rule replaces [defaults]");
    assert_only_the_confirming_head(&auth);

    // --mirror goes before the configured mirrors (checked in the plan: no network).
    let flag_mirror = Registry::start();
    let out =
        t.run_with(["resolve", &reference, "--dry-run", "--json", "--mirror", &flag_mirror.url()]);
    out.assert_success();
    let j = out.json();
    let order: Vec<_> =
        j["sources"].as_array().unwrap().iter().map(|s| s["base"].clone()).collect();
    assert_eq!(order, [json!(flag_mirror.url()), json!(mirror.url()), json!(auth.url())], "{j}");
    assert!(flag_mirror.requests().is_empty());

    // [defaults] applies to a registry without a rule of its own.
    let config = format!("[defaults]\nmirrors = [\"{}\"]\n", mirror.url());
    let t = Test::new().config(&config);
    let out = pull(&t, &reference, &[]);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], mirror.url());

    // --config FILE works too (OCIMIRROR_CONFIG removed).
    let t = Test::new().file("custom.toml", &config).env_remove("OCIMIRROR_CONFIG");
    let path = t.path().join("custom.toml");
    let out = pull(&t, &reference, &flags(&[], &["--config", path.to_str().unwrap()]));
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], mirror.url());
}

#[test]
fn ocimirror_mirrors_env_is_used_in_order() {
    let img = Image::oci(55, &[100]);
    let (auth, reference) = authority(&img);
    let mirror = honouring_mirror(&auth, &img);
    let empty = Registry::start(); // has nothing: 404 with and without ns
    // The second one without a scheme: loopback hosts get plain HTTP.
    let t = Test::new().env("OCIMIRROR_MIRRORS", format!("{}, {}", empty.url(), mirror.host()));
    let out = pull(&t, &reference, &[]);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], mirror.url(), "{j}");
    assert_eq!(empty.count("GET", MANIFESTS), 2, "asked first, with ns then without");
    let order: Vec<_> =
        attempts(&j).iter().map(|a| a["endpoint"].as_str().unwrap().to_string()).collect();
    assert_eq!(order.first(), Some(&empty.url()), "{j}");
    assert_only_the_confirming_head(&auth);
}

#[test]
fn no_mirrors_skips_configured_and_env_mirrors() {
    let img = Image::oci(56, &[100]);
    let (auth, reference) = authority(&img);
    let m1 = honouring_mirror(&auth, &img);
    let m2 = honouring_mirror(&auth, &img);
    let t = Test::new()
        .config(&format!("[registries.\"{}\"]\nmirrors = [\"{}\"]\n", auth.host(), m1.url()))
        .env("OCIMIRROR_MIRRORS", m2.url());
    let out = pull(&t, &reference, &flags(&[], &["--no-mirrors"]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], auth.url(), "{j}");
    assert_eq!(j["servedBy"]["nsSent"], false);
    // With a --mirror as well it is a contradiction, not a choice.
    let out = pull(&t, &reference, &flags(&[m1.url()], &["--no-mirrors"]));
    out.assert_code(2);
    for m in [&m1, &m2] {
        assert!(m.requests().is_empty(), "{:#?}", m.requests());
    }
    assert!(auth.ns_values().is_empty(), "never ns to the authority");
    assert_layout_holds(&t, &img);
}

#[test]
fn not_found_everywhere_exits_3() {
    let auth = Registry::start();
    auth.push_image(REPO, "other", &Image::oci(60, &[100]));
    let mirror = Registry::start();
    mirror.set_ns_mode(NsMode::Honor);
    let reference = format!("{}/{REPO}:v1", auth.host());
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_code(3);
    let j = out.json();
    assert_eq!(j["error"]["kind"], "not-found", "{j}");
    assert_eq!(j["error"]["exitCode"], 3);
    assert!(
        out.stderr.contains(&mirror.url()) && out.stderr.contains(&auth.url()),
        "names every source:\n{}",
        out.stderr
    );
    assert_eq!(auth.count("GET", MANIFESTS), 1);
    // resolve agrees.
    t.run_with(["resolve", &reference, "--mirror", &mirror.url()]).assert_code(3);
}

#[test]
fn denied_exits_4() {
    let img = Image::oci(61, &[100]);
    let (auth, reference) = authority(&img);
    auth.set_auth(Auth::Basic { user: "alice".into(), pass: "upstream-secret".into() });
    let mirror = Registry::start(); // does not have it
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_code(4);
    assert_eq!(out.json()["error"]["kind"], "denied");
    // Wrong credentials are denied as well.
    let t =
        Test::new().docker_config(json!({"auths": {auth.host(): auth_entry("alice", "wrong")}}));
    pull(&t, &reference, &[]).assert_code(4);
}

// ---------------------------------------------------------------------------
// More of what the run learns, and per-host ns settings
// ---------------------------------------------------------------------------

#[test]
fn mirror_needing_credentials_it_lacks_is_asked_once_per_run() {
    let img = Image::oci(70, &[1000, 2000, 3000]);
    let (auth, reference) = authority(&img);
    // First mirror: has the image but wants a login nobody configured.
    let locked = Registry::start();
    locked.push_image(REPO, "v1", &img);
    locked.set_auth(Auth::Basic { user: "carol".into(), pass: "x".into() });
    // Second mirror: serves the manifest, lacks two layers.
    let partial = honouring_mirror(&auth, &img);
    partial.fault(Fault::MissingBlob(img.layers[0].digest.clone()));
    partial.fault(Fault::MissingBlob(img.layers[1].digest.clone()));

    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[locked.url(), partial.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], partial.url(), "{j}");
    for l in &img.layers[..2] {
        assert_eq!(blob_endpoint(&j, &l.digest), auth.url(), "{j}");
    }
    let tried = tried(&j, &locked.url());
    assert_eq!(tried.len(), 1, "denied once, then skipped for the rest of the run: {j}");
    assert_eq!(tried[0]["outcome"], "denied");
    assert_eq!(locked.count("*", "/v2/team/"), 1, "{:#?}", locked.requests());
    assert_layout_holds(&t, &img);
}

#[test]
fn unreachable_authority_leaves_the_mirrors_tag_unconfirmed() {
    let img = Image::oci(71, &[1000]);
    let gone = refused_addr();
    let mirror = Registry::start(); // ignores ns: its tag answer needs confirmation
    mirror.push_image(REPO, "v1", &img);
    let reference = format!("{gone}/{REPO}:v1");
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    let sb = &j["servedBy"];
    assert_eq!(sb["endpoint"], mirror.url(), "{j}");
    assert_eq!(sb["confirmed"], false);
    assert_eq!(sb["trust"], "unconfirmed");
    let confirm: Vec<_> = tried(&j, &format!("http://{gone}"));
    assert_eq!(confirm.len(), 1, "{j}");
    assert_eq!(confirm[0]["outcome"], "unconfirmed");
    assert!(confirm[0]["error"].is_string());
    assert_layout_holds(&t, &img);
}

#[test]
fn ns_off_and_on_per_host() {
    let img = Image::oci(72, &[1000, 2000]);
    let (auth, reference) = authority(&img);

    // ns = "off": an old registry that rejects queries is never sent one.
    let old = Registry::start();
    old.set_ns_mode(NsMode::RejectQuery(400));
    old.push_image(REPO, "v1", &img);
    let t = Test::new().config(&format!("[hosts.\"{}\"]\nns = \"off\"\n", old.host()));
    let out = pull(&t, &reference, &flags(&[old.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], old.url(), "{j}");
    assert_eq!(j["servedBy"]["nsSent"], false);
    assert!(old.requests().iter().all(|r| r.query.is_none()), "{:#?}", old.requests());
    assert!(attempts(&j).iter().all(|a| a["outcome"] != "retry-without-ns"), "{j}");

    // ns = "on": never retried without ns, so the next source serves it.
    let strict = Registry::start();
    strict.set_ns_mode(NsMode::RejectQuery(404));
    strict.push_image(REPO, "v1", &img);
    let t = Test::new().config(&format!("[hosts.\"{}\"]\nns = \"on\"\n", strict.host()));
    let out = pull(&t, &reference, &flags(&[strict.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], auth.url(), "{j}");
    assert_eq!(strict.count("*", MANIFESTS), 1, "{:#?}", strict.requests());
    assert!(strict.requests().iter().all(|r| r.query.is_some()));
    assert_layout_holds(&t, &img);
}

#[test]
fn mirror_rejecting_ns_with_400_is_learned_even_when_it_lacks_the_image() {
    let img = Image::oci(73, &[1000, 2000, 3000]);
    let (auth, reference) = authority(&img);
    // 400 with ns, 404 without: the difference shows that ns was the problem.
    let old = Registry::start();
    old.set_ns_mode(NsMode::RejectQuery(400));
    let partial = mirror_lacking_two_layers(&auth, &img);
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[old.url(), partial.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], partial.url(), "{j}");
    let with_ns = old.requests().into_iter().filter(|r| r.query.is_some()).count();
    assert_eq!(with_ns, 1, "one rejected ns request per run: {:#?}", old.requests());
    // The two layers `partial` lacks were still asked of `old`, without ns.
    assert_eq!(old.count("GET", BLOBS), 2, "{:#?}", old.requests());
    assert_layout_holds(&t, &img);
}

#[test]
fn the_authoritys_not_found_is_final_even_when_a_mirror_was_down() {
    let img = Image::oci(90, &[100]);
    let (auth, _) = authority(&img);
    let dead = format!("http://{}", refused_addr());
    let t = Test::new();
    let missing = format!("{}/team/app:nosuchtag", auth.host());
    let out = pull(&t, &missing, &flags(&[dead], &[]));
    out.assert_code(3);
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
}

#[test]
fn a_mirror_that_echoed_the_namespace_is_not_asked_again_without_ns() {
    let img = Image::oci(91, &[1000, 2000]);
    let (auth, reference) = authority(&img);
    let mirror = honouring_mirror(&auth, &img);
    let missing = img.layers[1].digest.clone();
    mirror.fault(Fault::MissingBlob(missing.clone()));
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(blob_endpoint(&j, &missing), auth.url(), "{j}");
    let asked =
        mirror.requests().into_iter().filter(|r| r.path.ends_with(missing.as_str())).count();
    assert_eq!(asked, 1, "the mirror's 404 with ns is final: no retry without ns");
    assert!(!attempts(&j).iter().any(|a| a["outcome"] == "retry-without-ns"), "{j}");
}

#[test]
fn a_trusted_mirrors_answer_after_a_404_for_the_namespace_is_confirmed() {
    // The mirror serves by namespace; it has nothing for this registry, and
    // without `ns` it answers from its default store: another image.
    let img = Image::oci(201, &[700]);
    let other = Image::oci(202, &[800]);
    let (auth, reference) = authority(&img);
    let mirror = Registry::start();
    mirror.set_ns_mode(NsMode::Honor);
    mirror.push_image(REPO, "v1", &other);
    let t = Test::new().config(&format!("[hosts.\"{}\"]\ntrusted = true\n", mirror.host()));
    let out = pull(&t, &reference, &flags(&[mirror.url()], &[]));
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest, "another namespace's image: {j}");
    assert_eq!(j["servedBy"]["endpoint"], auth.url());
}

#[test]
fn defaults_fallback_off_holds_for_a_registry_with_its_own_rule() {
    let img = Image::oci(203, &[300]);
    let (auth, reference) = authority(&img);
    let mirror = Registry::start();
    let t = Test::new().config(&format!(
        "[defaults]\nmirrors = [\"{m}\"]\nfallback = false\n\n[registries.\"{a}\"]\nmirrors = [\"{m}\"]\n",
        m = mirror.url(),
        a = auth.host()
    ));
    let out = pull(&t, &reference, &[]);
    out.assert_code(3);
    assert!(auth.requests().is_empty(), "the authority was contacted");
}

#[test]
fn a_source_skipped_as_down_is_no_not_found() {
    // The authority refuses connections (so it is down after the confirm
    // HEAD); the mirror serves the tag but lacks a layer. "Not found on any
    // source" would be false: the authority was never asked.
    let img = Image::oci(204, &[1000, 2000]);
    let gone = refused_addr();
    let mirror = Registry::start();
    mirror.push_image(REPO, "v1", &img);
    mirror.fault(Fault::MissingBlob(img.layers[0].digest.clone()));
    let t = Test::new();
    let out = pull(&t, &format!("{gone}/{REPO}:v1"), &flags(&[mirror.url()], &[]));
    out.assert_code(1);
    assert!(out.stderr.contains("not asked"), "{}", out.dump());
}

#[test]
fn a_404_for_the_namespace_is_the_answer_of_a_mirror_that_requires_ns() {
    let (_auth, reference) = authority(&Image::oci(205, &[100]));
    let mirror = Registry::start();
    mirror.set_ns_mode(NsMode::RequireNs);
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[mirror.url()], &["--no-fallback"]));
    out.assert_code(3);
}

#[test]
fn a_failed_retry_without_ns_does_not_teach_that_the_host_rejects_ns() {
    // A honours `ns` and has the blobs under it, but its default store
    // answers the tag with a wrong digest; B serves the manifest (echoing
    // `ns`) but has no blobs. The blobs must still come from A, with `ns`.
    let img = Image::oci(206, &[900, 1100]);
    let other = Image::oci(207, &[1300]);
    let (auth, reference) = authority(&img);
    let a = Registry::start();
    a.set_ns_mode(NsMode::Honor);
    for b in img.blobs() {
        a.push_blob_ns(&auth.host(), b);
    }
    a.push_image(REPO, "v1", &other);
    a.fault(Fault::WrongContentDigest);
    let b = Registry::start();
    b.set_ns_mode(NsMode::Honor);
    b.push_image_ns(&auth.host(), REPO, "v1", &img);
    for blob in img.blobs() {
        b.fault(Fault::MissingBlob(blob.digest.clone()));
    }
    let t = Test::new();
    let out = pull(&t, &reference, &flags(&[a.url(), b.url()], &[]));
    out.assert_success();
    let j = out.json();
    for blob in img.blobs() {
        assert_eq!(blob_endpoint(&j, &blob.digest), a.url(), "{j}");
    }
}

#[test]
fn another_name_of_the_registry_is_not_a_mirror() {
    let t = Test::new();
    let out = t.run_with([
        "resolve",
        "--dry-run",
        "--json",
        "--mirror",
        "https://index.docker.io",
        "ubuntu",
    ]);
    out.assert_success();
    for source in out.json()["sources"].as_array().unwrap() {
        for url in source["urls"].as_array().unwrap() {
            assert!(!url.as_str().unwrap().contains("ns="), "ns to Docker Hub itself: {url}");
        }
    }
}

#[test]
fn every_blob_fetch_is_in_the_trace() {
    let img = Image::oci(208, &[400, 500]);
    let (_auth, reference) = authority(&img);
    let t = Test::new();
    let out = pull(&t, &reference, &[]);
    out.assert_success();
    let j = out.json();
    let served: Vec<Value> = attempts(&j)
        .into_iter()
        .filter(|a| a["what"].as_str().is_some_and(|w| w.starts_with("blob")))
        .filter(|a| a["outcome"] == "served")
        .collect();
    assert_eq!(served.len(), img.blobs().len(), "{j}");
}

#[test]
fn the_registrys_host_settings_reach_the_host_that_serves_it() {
    // As docker.io is served by registry-1.docker.io: settings written for
    // the registry's name apply to the endpoint that serves it.
    let img = Image::oci(209, &[100]);
    let named = refused_addr();
    let copy = Registry::start();
    copy.push_image(REPO, "v1", &img);
    let config = format!(
        "[registries.\"{named}\"]\nendpoint = \"{}\"\n\n[hosts.\"{named}\"]\nheaders = {{ X-Team = \"ci\" }}\n",
        copy.url()
    );
    let t = Test::new().config(&config);
    let out = pull(&t, &format!("{named}/{REPO}:v1"), &[]);
    out.assert_success();
    let requests = copy.requests();
    assert!(!requests.is_empty());
    for r in requests {
        assert_eq!(r.header("x-team"), Some("ci"), "{}", r.path);
    }
}

/// `--only-mirrors`: the `--mirror` URLs and none of the configured ones
/// (whose host settings still apply); the registry stays the fallback.
#[test]
fn only_mirrors_ignores_the_configured_ones() {
    let img = Image::oci(140, &[100]);
    let (auth, reference) = authority(&img);
    let configured = Registry::start();
    configured.push_image(REPO, "v1", &img);
    let given = Registry::start();
    given.push_image(REPO, "v1", &img);
    let t = Test::new().config(&format!("[defaults]\nmirrors = [\"{}\"]\n", configured.url()));
    let out = pull(&t, &reference, &flags(&[given.url()], &["--only-mirrors"]));
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["endpoint"], given.url());
    assert_eq!(configured.count("GET", MANIFESTS), 0, "a configured mirror was asked");
    let plan =
        t.run_with(["mirrors", &reference, "--mirror", &given.url(), "--only-mirrors", "--json"]);
    let plan = plan.json();
    let sources: Vec<&str> =
        plan["sources"].as_array().unwrap().iter().map(|s| s["base"].as_str().unwrap()).collect();
    assert_eq!(sources, [given.url(), auth.url()]);
    // Without a --mirror it means nothing: refused.
    t.run_with(["pull", &reference, "--only-mirrors"]).assert_code(2);
}
