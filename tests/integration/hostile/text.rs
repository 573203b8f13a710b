//! Text a server controls, where ocimirror shows it: error codes and
//! messages, media types, platform fields. Escape sequences in them are
//! spelled out and their length capped, in every output mode. And the
//! smaller defences: an image manifest dressed as an index, a password in
//! a mirror URL, a partial file full of garbage.

use serde_json::{Value, json};

use super::{assert_clean, gets, leaks, partial_path, pull};
use crate::support::image::{
    Blob, Image, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, pseudo_random,
};
use crate::support::registry::{Auth, Fault, Registry};
use crate::support::{Test, assert_layout_valid, layout_index};

/// How the sanitiser spells ESC: the hostile text arrived, made harmless.
const SPELLED_ESC: &str = "\\u{1b}";

#[test]
fn escape_sequences_in_error_codes_and_messages_are_spelled_out() {
    let reg = Registry::start();
    reg.fault(Fault::HostileText);
    let reference = format!("{}/team/app:v1", reg.host());
    let t = Test::new();
    for mode in [&[][..], &["-v"], &["--json"], &["-q"]] {
        let out = pull(&t, &reference, mode);
        assert_clean(&out);
        out.assert_code(3);
        let json = mode.contains(&"--json");
        let shown = if json { &out.stdout } else { &out.stderr };
        // JSON escapes the backslash of the spelling once more.
        let spelled = if json { "\\\\u{1b}" } else { SPELLED_ESC };
        assert!(
            shown.contains(spelled),
            "{mode:?}: the text is shown, spelled out\n{}",
            out.dump()
        );
    }
    let out = t.run_with(["resolve", &reference]);
    assert_clean(&out);
    out.assert_code(3);
    assert!(out.stderr.contains(SPELLED_ESC), "{}", out.dump());
    let out = t.run_with(["mirrors", "check", &reference, "--json"]);
    assert_clean(&out);
    assert!(out.stdout.contains("\\\\u{1b}"), "{}", out.dump());

    // A mirror that answers so while the registry serves: `-v` shows its answers.
    let img = Image::oci(1501, &[1000]);
    let authority = Registry::start();
    authority.push_image("team/app", "v1", &img);
    let mirror = Registry::start();
    mirror.fault(Fault::HostileText);
    let reference = format!("{}/team/app:v1", authority.host());
    let out = pull(&t, &reference, &["--mirror", &mirror.url(), "-v"]);
    assert_clean(&out);
    out.assert_success();
    assert!(out.stderr.contains(SPELLED_ESC), "{}", out.dump());

    // The token service's refusal, under Bearer auth with credentials.
    let locked = Registry::start();
    locked.set_auth(Auth::Bearer { user_pass: Some(("u".into(), "p".into())) });
    locked.fault(Fault::HostileText);
    let out = pull(&t, &format!("{}/team/app:v1", locked.host()), &["--json"]);
    assert_clean(&out);
    out.assert_code(4);
}

/// An OCI image manifest with this config, these layers and this
/// `mediaType` field, pushed as `team/app:v1` with `content_type`.
fn push_manifest(reg: &Registry, content_type: &str, body: Value) -> Blob {
    let manifest = Blob::new(content_type, serde_json::to_vec(&body).unwrap());
    reg.push_manifest("team/app", "v1", &manifest);
    manifest
}

#[test]
fn escape_sequences_in_a_manifests_media_type_are_spelled_out() {
    let img = Image::oci(1502, &[1000]);
    let reg = Registry::start();
    reg.push_image("team/app", "v0", &img);
    // The manifest's own type, under a generic Content-Type: refused, and named.
    push_manifest(
        &reg,
        "application/json",
        json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json\u{1b}]0;pwned\u{7}",
            "config": img.config.descriptor(),
            "layers": [],
        }),
    );
    let t = Test::new();
    for mode in ["-v", "--json"] {
        let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[mode]);
        assert_clean(&out);
        out.assert_code(1);
        assert!(out.stderr.contains("unsupported manifest media type"), "{}", out.dump());
        assert!(out.stderr.contains(SPELLED_ESC), "{}", out.dump());
    }
}

/// Gathers what `leaks` finds in each run, labelled, so that one failure
/// shows every mode that leaks.
fn gather(found: &mut Vec<String>, label: &str, out: &crate::support::Output) {
    found.extend(leaks(out).into_iter().map(|l| format!("{label}: {l}")));
}

#[test]
fn escape_sequences_in_a_layers_media_type_are_spelled_out_in_the_report() {
    let img = Image::oci(1503, &[1000]);
    let reg = Registry::start();
    reg.push_image("team/app", "v0", &img);
    // Layer types are not checked, only carried: into the report's blobs.
    let mut layer = img.layers[0].descriptor();
    layer["mediaType"] = json!(format!("{OCI_LAYER}\u{9b}2J\u{1b}[31m"));
    let body = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": img.config.descriptor(),
        "layers": [layer],
    });
    push_manifest(&reg, OCI_MANIFEST, body);
    let mut found = Vec::new();
    for mode in ["-v", "--json"] {
        let t = Test::new();
        let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[mode]);
        out.assert_success();
        assert_layout_valid(&t.layout());
        gather(&mut found, &format!("pull {mode}"), &out);
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn escape_sequences_in_offered_platforms_are_spelled_out() {
    let reg = Registry::start();
    // An index whose platforms are all escapes: none is the one asked for.
    let img = Image::oci(1504, &[1000]);
    reg.push_image("team/app", &img.manifest.digest, &img);
    let mut entry = img.manifest.descriptor();
    entry["platform"] = json!({"os": "linux\u{1b}]0;pwned\u{7}", "architecture": "\u{9b}2J", "variant": "\u{1b}[31m"});
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]});
    reg.push_manifest("team/app", "v1", &Blob::new(OCI_INDEX, serde_json::to_vec(&index).unwrap()));
    let t = Test::new();
    for mode in ["-v", "--json"] {
        let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[mode]);
        assert_clean(&out);
        out.assert_code(3);
        assert!(out.stderr.contains("no image for platform"), "{}", out.dump());
        assert!(out.stderr.contains("linux\\u{1b}]0;pwned\\u{7}"), "{}", out.dump());
    }
}

#[test]
fn escape_sequences_in_a_configs_platform_are_spelled_out() {
    let reg = Registry::start();
    // A single image's config names its platform: recorded, and shown.
    let config =
        json!({"os": "linux", "architecture": "amd64\u{1b}]0;pwned\u{7}", "variant": "\u{9b}2J"});
    let config = Blob::new(OCI_CONFIG, serde_json::to_vec(&config).unwrap());
    let layer = Blob::new(OCI_LAYER, vec![1; 100]);
    reg.push_blob(&config).push_blob(&layer);
    let body = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    });
    push_manifest(&reg, OCI_MANIFEST, body);
    let mut found = Vec::new();
    // Asked for linux/amd64, it is refused (its architecture is not amd64),
    // and the refusal shows the platform safely too.
    let t = Test::new();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &["--platform", "linux/amd64"]);
    out.assert_code(3);
    gather(&mut found, "pull --platform", &out);
    // Taken as it is (--all-platforms: no platform asked for), it is pulled.
    for mode in [&["--all-platforms"][..], &["--all-platforms", "--json"]] {
        let t = Test::new();
        let out = pull(&t, &format!("{}/team/app:v1", reg.host()), mode);
        out.assert_success();
        gather(&mut found, &format!("pull {mode:?}"), &out);
        let out = t.run_with([&["ls", &t.layout_str()][..], &mode[1..]].concat());
        out.assert_success();
        gather(&mut found, &format!("ls {mode:?}"), &out);
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_3_mb_platform_name_gives_a_short_error_line() {
    let reg = Registry::start();
    let img = Image::oci(1505, &[1000]);
    reg.push_image("team/app", &img.manifest.digest, &img);
    let mut huge = img.manifest.descriptor();
    huge["platform"] =
        json!({"os": format!("\u{1b}[31m{}", "o".repeat(3_000_000)), "architecture": "amd64"});
    // And one platform listed 500 times: shown once.
    let mut same = img.manifest.descriptor();
    same["platform"] = json!({"os": "plan9", "architecture": "mips"});
    let mut entries = vec![huge];
    entries.extend(std::iter::repeat_n(same, 500));
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    let index = Blob::new(OCI_INDEX, serde_json::to_vec(&index).unwrap());
    assert!(index.bytes.len() < 4 * 1048 * 1048, "under the manifest cap");
    reg.push_manifest("team/app", "v1", &index);
    let reference = format!("{}/team/app:v1", reg.host());
    let t = Test::new();
    for mode in ["-v", "--json"] {
        let out = pull(&t, &reference, &["--platform", "linux/arm64", mode]);
        assert_clean(&out);
        out.assert_code(3);
        assert!(
            out.stderr.len() < 4096,
            "stderr is {} bytes\n{}",
            out.stderr.len(),
            &out.stderr[..4096.min(out.stderr.len())]
        );
        assert!(out.stdout.len() < 4096, "stdout is {} bytes", out.stdout.len());
        assert_eq!(out.stderr.matches("plan9/mips").count(), 1, "{}", out.stderr);
    }
}

#[test]
fn an_image_manifest_without_media_type_served_as_an_index_is_refused() {
    let img = Image::oci(1507, &[1000]);
    let reg = Registry::start();
    for b in img.blobs() {
        reg.push_blob(b);
    }
    let body = json!({
        "schemaVersion": 2,
        "config": img.config.descriptor(),
        "layers": [img.layers[0].descriptor()],
    });
    let reference = format!("{}/team/app:v1", reg.host());
    for mode in [&["--platform", "linux/amd64"][..], &["--all-platforms"]] {
        push_manifest(&reg, OCI_INDEX, body.clone());
        let t = Test::new();
        let out = pull(&t, &reference, mode);
        assert_clean(&out);
        out.assert_code(1);
        assert!(out.stderr.contains("ambiguous"), "{}", out.dump());
        assert!(!t.layout().join("index.json").exists(), "no empty index recorded");
        assert_eq!(reg.count("GET", "/v2/team/app/blobs/"), 0);
    }
    // The same body as what it is: pulled.
    push_manifest(&reg, OCI_MANIFEST, body);
    let t = Test::new();
    let out = pull(&t, &reference, &[]);
    out.assert_success();
    assert_eq!(layout_index(&t.layout())["manifests"].as_array().unwrap().len(), 1);
}

#[test]
fn a_password_in_a_mirror_url_is_refused_without_echoing_it() {
    const PASSWORD: &str = "hunter2-never-shown";
    let urls = [
        format!("http://ci:{PASSWORD}@127.0.0.1:5000"),
        format!("http://:{PASSWORD}@127.0.0.1:5000/prefix"),
        format!("ci:{PASSWORD}@127.0.0.1:5000"),
    ];
    let t = Test::new();
    for url in &urls {
        for json in [false, true] {
            let mut args = vec!["pull", "127.0.0.1:5001/team/app:v1", "--mirror", url];
            args.extend(json.then_some("--json"));
            let out = t.run_with(&args);
            out.assert_code(2);
            assert!(
                !out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD),
                "{}",
                out.dump()
            );
            assert!(
                out.stderr.contains("***@127.0.0.1:5000"),
                "the mirror is named\n{}",
                out.dump()
            );
        }
        let out =
            Test::new().env("OCIMIRROR_MIRRORS", url).run_with(["resolve", "127.0.0.1:5001/a:v1"]);
        out.assert_code(2);
        assert!(!out.stderr.contains(PASSWORD), "{}", out.dump());
        assert!(out.stderr.contains("***@127.0.0.1:5000"), "{}", out.dump());
    }
}

#[test]
fn garbage_in_a_partial_file_is_refetched_from_zero_without_spending_a_retry() {
    let img = Image::oci(1506, &[64 << 10]);
    let authority = Registry::start();
    authority.push_image("team/app", "v1", &img);
    let reference = format!("{}/team/app:v1", authority.host());
    let layer = &img.layers[0].digest;
    // An earlier run took 1000 bytes from a bad mirror; this one asks the registry.
    let t = Test::new();
    let partial = partial_path(&t, layer);
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, pseudo_random(99, 1000)).unwrap();
    let out = pull(&t, &reference, &["--tries", "1"]);
    assert_clean(&out);
    out.assert_success();
    assert_eq!(
        gets(&authority, &format!("/blobs/{layer}")),
        [Some("bytes=1000-".to_string()), None],
        "the resume, then the whole blob once more"
    );
    assert_layout_valid(&t.layout());
}
