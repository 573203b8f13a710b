//! A mirror's answer for a tag is a stranger's word. It is confirmed with
//! one HEAD to the registry (an `OCI-Namespace` echo proves nothing), the
//! registry's digest wins when they differ, and when the registry cannot
//! be asked the user is warned, whatever the output mode, or the pull is
//! refused where the configuration says so.

use serde_json::Value;

use super::{assert_clean, blob_endpoints, pull};
use crate::support::image::Image;
use crate::support::registry::{Fault, Registry, refused_addr};
use crate::support::{Output, Test, assert_layout_valid, layout_has_blob, layout_index};

/// The registry's image and a mirror that echoes `OCI-Namespace` yet
/// answers the tag with `substitute`; the reference names the registry.
fn substituting_mirror(img: &Image, substitute: &Image) -> (Registry, Registry, String) {
    let authority = Registry::start();
    authority.push_image("team/app", "v1", img);
    let mirror = Registry::start();
    mirror.push_image("team/app", "v1", substitute);
    mirror.fault(Fault::EchoNamespace);
    let reference = format!("{}/team/app:v1", authority.host());
    (mirror, authority, reference)
}

#[test]
fn a_mirror_echoing_the_namespace_with_another_image_is_overruled() {
    let (img, substitute) = (Image::oci(1401, &[1000]), Image::oci(1402, &[1500]));
    let (mirror, authority, reference) = substituting_mirror(&img, &substitute);
    let t = Test::new();
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json"]);
    assert_clean(&out);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest, "the registry's image: {j}");
    let sb = &j["servedBy"];
    assert_eq!(sb["confirmation"], "overruled", "{j}");
    assert_eq!(sb["collision"]["endpoint"], mirror.url(), "{j}");
    assert_eq!(sb["collision"]["digest"], substitute.manifest.digest, "{j}");
    assert!(j["warnings"][0].as_str().unwrap().contains(&mirror.url()), "{j}");
    assert_eq!(authority.count("HEAD", "/v2/team/app/manifests/v1"), 1);
    assert!(mirror.requests().iter().any(|r| r.query_param("ns").is_some()), "ns was sent");
    for b in substitute.blobs() {
        assert!(!layout_has_blob(&t.layout(), &b.digest), "the substitute leaked in");
    }
    assert_layout_valid(&t.layout());

    let out = t.run_with(["resolve", &reference, "--mirror", &mirror.url(), "--json"]);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["confirmation"], "overruled");

    // `mirrors check` sees the echo and still calls the answer unconfirmed.
    let out = t.run_with(["mirrors", "check", &reference, "--mirror", &mirror.url(), "--json"]);
    assert_clean(&out);
    out.assert_success();
    let j = out.json();
    let m = j["sources"].as_array().unwrap().iter().find(|s| s["endpoint"] == mirror.url());
    let m = m.unwrap_or_else(|| panic!("the mirror is checked: {j}"));
    assert_eq!(m["ns"], "honours", "{j}");
    assert_eq!(m["trust"], "unconfirmed", "{j}");
    assert_eq!(m["collision"], img.manifest.digest, "{j}");
}

/// A mirror holding `img` (echoing `OCI-Namespace`) for a registry where
/// nothing listens.
fn unconfirmable(img: &Image) -> (Registry, String) {
    let mirror = Registry::start();
    mirror.push_image("team/app", "v1", img);
    mirror.fault(Fault::EchoNamespace);
    (mirror, format!("{}/team/app:v1", refused_addr()))
}

/// Did the run print the unconfirmed tag's warning, on a line of its own?
fn warned(out: &Output) -> bool {
    out.stderr.lines().any(|l| l.starts_with("warning:") && l.contains("could not be confirmed"))
}

#[test]
fn with_the_registry_unreachable_the_mirrors_tag_is_used_and_reported_unconfirmed() {
    let img = Image::oci(1403, &[1000]);
    let (mirror, reference) = unconfirmable(&img);
    let t = Test::new();
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json"]);
    assert_clean(&out);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest);
    assert_eq!(j["servedBy"]["confirmation"], "registry-unavailable", "{j}");
    assert!(j["warnings"][0].as_str().unwrap().contains("could not be confirmed"), "{j}");
    assert!(blob_endpoints(&j).iter().all(|e| *e == mirror.url()), "{j}");
    assert_layout_valid(&t.layout());
}

#[test]
fn the_unconfirmed_tag_warning_is_on_stderr_for_people_and_under_q() {
    let img = Image::oci(1406, &[1000]);
    let (mirror, reference) = unconfirmable(&img);
    let t = Test::new();
    let (layout, mirror_url) = (t.layout_str(), mirror.url());
    let mut unwarned = Vec::new();
    for (command, quiet) in [("pull", false), ("pull", true), ("resolve", false), ("resolve", true)]
    {
        let mut args = vec![command, &reference, "--mirror", &mirror_url];
        args.extend(quiet.then_some("-q"));
        if command == "pull" {
            args.extend(["-o", &layout, "--platform", "linux/amd64"]);
        }
        let out = t.run_with(&args);
        assert_clean(&out);
        out.assert_success();
        if !warned(&out) {
            unwarned.push(format!("{args:?}: stderr {:?}", out.stderr));
        }
    }
    assert!(unwarned.is_empty(), "no warning: {unwarned:#?}");
}

#[test]
fn an_unconfirmable_tag_is_refused_where_confirmation_is_required() {
    let img = Image::oci(1404, &[1000]);
    let (mirror, reference) = unconfirmable(&img);
    let registry = reference.split('/').next().unwrap().to_string();
    let ways = [
        (Test::new(), vec!["--require-confirmed"]),
        (Test::new().config("[defaults]\nunconfirmed = \"fail\"\n"), vec![]),
        (
            Test::new().config(&format!("[registries.\"{registry}\"]\nunconfirmed = \"fail\"\n")),
            vec![],
        ),
    ];
    let mirror_url = mirror.url();
    for (t, extra) in ways {
        let mut flags = vec!["--mirror", &mirror_url, "--json"];
        flags.extend(extra.iter().copied());
        let out = pull(&t, &reference, &flags);
        assert_clean(&out);
        out.assert_code(1);
        assert!(out.stderr.contains("could not confirm"), "{}", out.dump());
        assert_eq!(out.json()["error"]["exitCode"], 1);
        let recorded = t.layout().join("index.json").exists().then(|| layout_index(&t.layout()));
        let entries = recorded.as_ref().and_then(|i| i["manifests"].as_array()).map(Vec::len);
        assert!(entries.unwrap_or(0) == 0, "nothing recorded: {recorded:?}");
    }
    // A mirror trusted for tags needs no confirmation, even so.
    let trusted = format!("[hosts.\"{}\"]\ntrusted = true\n", mirror.host());
    let t = Test::new().config(&trusted);
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json", "--require-confirmed"]);
    out.assert_success();
    assert_eq!(out.json()["servedBy"]["confirmation"], "not-needed");
}

#[test]
fn a_sha512_digest_from_the_registrys_head_confirms_the_tag() {
    let img = Image::oci(1405, &[1000]);
    let (mirror, authority, reference) = crate::support::registry::mirror_and_authority(&img);
    authority.fault(Fault::Sha512ContentDigest);
    let t = Test::new();
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "--json"]);
    assert_clean(&out);
    out.assert_success();
    let j = out.json();
    let sb: &Value = &j["servedBy"];
    assert_eq!(sb["confirmation"], "confirmed", "{j}");
    assert!(sb.get("collision").is_none(), "{j}");
    assert_eq!(j["digest"], img.manifest.digest);
    assert_eq!(authority.count("HEAD", "/v2/team/app/manifests/v1"), 1);
    assert_eq!(authority.count("GET", "/v2/team/app/manifests/"), 0, "the HEAD sufficed");
    assert_layout_valid(&t.layout());
}
