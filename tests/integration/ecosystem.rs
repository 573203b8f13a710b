//! Fitting in: existing containerd and podman mirror configuration,
//! credential helpers, `mirrors` and `mirrors check`, JSON on every command.

use base64::Engine as _;
use serde_json::json;

use crate::support::Test;
use crate::support::image::Image;
use crate::support::registry::{Auth, NsMode, Registry, mirror_and_authority};

/// An authority and a mirror that holds the same image.
fn authority_and_mirror() -> (Registry, Registry, Image, String) {
    let img = Image::oci(50, &[1200, 3400]);
    let (mirror, authority, reference) = mirror_and_authority(&img);
    (authority, mirror, img, reference)
}

/// `pull REF --json` into the test's layout, with `<test dir>/certs.d` as
/// containerd's hosts directory.
fn pull_with_hosts_dir(t: &Test, reference: &str) -> crate::support::Output {
    let certs = t.path().join("certs.d");
    let layout = t.layout_str();
    t.run_with(["pull", reference, "-o", &layout, "--json", "--hosts-dir", certs.to_str().unwrap()])
}

#[test]
fn containerd_hosts_dir_is_used_without_new_config() {
    let (authority, mirror, img, reference) = authority_and_mirror();
    let hosts = format!(
        "server = \"http://{a}\"\n\n[host.\"http://{m}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
        a = authority.host(),
        m = mirror.host()
    );
    let dir = authority.host();
    let t = Test::new().file(&format!("certs.d/{dir}/hosts.toml"), &hosts);
    let out = pull_with_hosts_dir(&t, &reference);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest);
    assert_eq!(j["servedBy"]["endpoint"], mirror.url());
    assert_eq!(j["servedBy"]["trust"], "trusted-mirror", "the resolve capability trusts tags");
    assert_eq!(
        authority.count("*", "/v2/team/"),
        0,
        "a trusted mirror needs no HEAD to the authority"
    );
    // `mirrors` says where the mirror came from.
    let certs = t.path().join("certs.d");
    let out = t.run_with(["mirrors", &reference, "--hosts-dir", certs.to_str().unwrap()]);
    out.assert_success();
    assert!(
        out.stdout.contains(&mirror.url()) && out.stdout.contains("hosts.toml"),
        "{}",
        out.stdout
    );
}

#[test]
fn containerd_pull_only_capability_means_digest_only() {
    let (authority, mirror, img, reference) = authority_and_mirror();
    let hosts = format!("[host.\"http://{}\"]\n  capabilities = [\"pull\"]\n", mirror.host());
    let t = Test::new().file(&format!("certs.d/{}/hosts.toml", authority.host()), &hosts);
    let out = pull_with_hosts_dir(&t, &reference);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], authority.url(), "the tag is resolved by the authority");
    assert_eq!(
        mirror.count("*", "/v2/team/app/manifests/v1"),
        0,
        "the mirror is never asked for a tag"
    );
    let from_mirror =
        j["blobs"].as_array().unwrap().iter().filter(|b| b["endpoint"] == mirror.url()).count();
    assert_eq!(from_mirror, 0, "blobs come from the source that served the manifest first");
    assert_eq!(j["image"]["digest"], img.manifest.digest);
}

#[test]
fn podman_registries_conf_mirrors_are_used() {
    let (authority, mirror, _img, reference) = authority_and_mirror();
    mirror.set_ns_mode(NsMode::Honor);
    let img = Image::oci(50, &[1200, 3400]);
    mirror.push_image_ns(&authority.host(), "team/app", "v1", &img);
    let conf = format!(
        "[[registry]]\nprefix = \"{a}\"\nlocation = \"{a}\"\n\n[[registry.mirror]]\nlocation = \"{m}\"\n",
        a = authority.host(),
        m = mirror.host()
    );
    let t = Test::new().file("registries.conf", &conf);
    let conf_path = t.path().join("registries.conf");
    let out = t.run_with([
        "pull",
        &reference,
        "-o",
        &t.layout_str(),
        "--json",
        "--registries-conf",
        conf_path.to_str().unwrap(),
    ]);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["servedBy"]["endpoint"], mirror.url());
    assert_eq!(j["servedBy"]["nsHonored"], true);
}

#[test]
fn credential_helpers_supply_credentials() {
    let reg = Registry::start();
    reg.set_auth(Auth::Basic { user: "helper-user".into(), pass: "helper-secret".into() });
    let img = Image::oci(51, &[100]);
    reg.push_image("private/app", "v1", &img);
    let helper = "#!/bin/sh\nread server\n\
        echo '{\"ServerURL\":\"'\"$server\"'\",\"Username\":\"helper-user\",\"Secret\":\"helper-secret\"}'\n";
    let t = Test::new()
        .file("bin/docker-credential-testhelper", helper)
        .bin_on_path()
        .docker_config(json!({"credHelpers": {reg.host(): "testhelper"}}));
    let reference = format!("{}/private/app:v1", reg.host());
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str()]);
    out.assert_success();
    assert!(!out.stderr.contains("helper-secret"));
}

#[test]
fn podmans_files_come_before_dockers_and_namespace_keys_first() {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let reg = Registry::start();
    reg.set_auth(Auth::Basic { user: "robot-b".into(), pass: "new".into() });
    reg.push_image("org-b/app", "v1", &Image::oci(53, &[100]));
    let h = reg.host();
    let reference = format!("{h}/org-b/app:v1");
    // `podman login` wrote the runtime file; an old `docker login` is stale.
    let t = Test::new()
        .file(
            "run/containers/auth.json",
            &json!({"auths": {
                h.clone(): {"auth": b64("someone:else")},
                format!("{h}/org-a"): {"auth": b64("robot-a:x")},
                format!("{h}/org-b"): {"auth": b64("robot-b:new")},
            }})
            .to_string(),
        )
        .docker_config(json!({"auths": {h.clone(): {"auth": b64("robot-b:old")}}}));
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str()]);
    out.assert_success();
}

#[test]
fn mirrors_check_probes_each_source() {
    let authority = Registry::start();
    let honouring = Registry::start();
    let ignoring = Registry::start();
    let img = Image::oci(52, &[100]);
    authority.push_image("team/app", "v1", &img);
    honouring.set_ns_mode(NsMode::Honor);
    honouring.push_image_ns(&authority.host(), "team/app", "v1", &img);
    ignoring.set_auth(Auth::Basic { user: "u".into(), pass: "p".into() });
    let dead = crate::support::registry::refused_addr();
    let reference = format!("{}/team/app:v1", authority.host());
    let t = Test::new();
    let out = t.run_with([
        "mirrors",
        "check",
        &reference,
        "--json",
        "--mirror",
        &honouring.url(),
        "--mirror",
        &ignoring.url(),
        "--mirror",
        &format!("http://{dead}"),
    ]);
    // An unreachable source makes the check fail (exit 1), after every
    // source was checked.
    out.assert_code(1);
    let j = out.json();
    assert_eq!(j["healthy"], false);
    let s = j["sources"].as_array().unwrap();
    assert_eq!(s.len(), 4);
    assert_eq!(s[0]["reachable"], true);
    assert_eq!(s[0]["nsHonored"], true);
    assert_eq!(s[0]["hasReference"], true);
    assert_eq!(s[1]["authRequired"], true);
    assert_eq!(s[1]["hasCredentials"], false);
    assert_eq!(s[2]["reachable"], false);
    assert!(s[2]["error"].as_str().unwrap().contains("connect"), "{}", s[2]);
    assert_eq!(s[3]["role"], "authority");
    assert_eq!(s[3]["hasReference"], true);
    assert_eq!(s[3]["nsHonored"], serde_json::Value::Null, "ns is never sent to the authority");
    // Human output says the same in words.
    let out = t.run_with(["mirrors", "check", &reference, "--mirror", &honouring.url()]);
    out.assert_success();
    assert!(
        out.stdout.contains("honours ns") && out.stdout.contains("has the reference"),
        "{}",
        out.stdout
    );
}

#[test]
fn every_command_speaks_json() {
    let (authority, mirror, _img, reference) = authority_and_mirror();
    let t = Test::new().config(&format!(
        "[registries.\"{}\"]\nmirrors = [\"{}\"]\n",
        authority.host(),
        mirror.url()
    ));
    let layout = t.layout_str();
    for args in [
        vec!["pull", &reference, "-o", &layout, "--json"],
        vec!["resolve", &reference, "--json"],
        vec!["resolve", &reference, "--json", "--dry-run"],
        vec!["ls", &layout, "--json"],
        vec!["mirrors", "--json"],
        vec!["mirrors", &reference, "--json"],
        vec!["mirrors", "check", &reference, "--json"],
    ] {
        let out = t.run_with(&args);
        out.assert_success();
        let _ = out.json();
    }
    // Failures are JSON too, with the exit code.
    let out = t.run_with(["resolve", "Bad:Ref", "--json"]);
    out.assert_code(2);
    assert_eq!(out.json()["error"]["kind"], "usage");
    let out = t.run_with(["resolve", &format!("{}/team/nothing:v1", authority.host()), "--json"]);
    out.assert_code(3);
    assert_eq!(out.json()["error"]["exitCode"], 3);
}

#[test]
fn mirrors_check_without_a_reference_probes_every_configured_source() {
    // Mirrors for two registries, one that wants credentials: each gets a
    // /v2/ probe and no manifest request.
    let a = Registry::start();
    let b = Registry::start();
    b.set_auth(Auth::Basic { user: "u".into(), pass: "p".into() });
    let t = Test::new().config(&format!(
        "[registries.\"quay.io\"]\nmirrors = [\"{}\"]\nfallback = false\n\n[registries.\"ghcr.io\"]\nmirrors = [\"{}\"]\nfallback = false\n",
        a.url(),
        b.url()
    ));
    let out = t.run_with(["mirrors", "check", "--json"]);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["reference"], serde_json::Value::Null);
    let probed: Vec<&str> =
        j["sources"].as_array().unwrap().iter().filter_map(|s| s["endpoint"].as_str()).collect();
    assert!(probed.contains(&a.url().as_str()) && probed.contains(&b.url().as_str()), "{j}");
    let paths: Vec<String> = a.requests().into_iter().chain(b.requests()).map(|r| r.path).collect();
    assert!(!paths.is_empty() && paths.iter().all(|p| p == "/v2/"), "only /v2/: {paths:?}");
    // With a reference, a 401 says nothing about whether it is there.
    let reference = "ghcr.io/team/app:v1";
    let out = t.run_with(["mirrors", "check", reference, "--json"]);
    out.assert_success();
    let j = out.json();
    let locked =
        j["sources"].as_array().unwrap().iter().find(|s| s["endpoint"] == b.url()).unwrap();
    assert_eq!(locked["hasReference"], serde_json::Value::Null, "{locked}");
}

#[test]
fn the_command_line_contract_holds_at_the_edges() {
    let t = Test::new();
    // clap's own errors are JSON too under --json.
    let out = t.run_with(["pull", "--bogus", "x", "--json"]);
    out.assert_code(2);
    assert_eq!(out.json()["error"]["kind"], "usage");
    // An empty variable is an unset one.
    let out = Test::new().env("OCIMIRROR_CONFIG", "").run_with(["mirrors", "-q"]);
    out.assert_success();
    assert!(out.stderr.is_empty(), "-q is quiet: {}", out.stderr);
    // Contradictions and out-of-range numbers are usage errors, not guesses.
    t.run_with(["mirrors", "--mirror", "http://127.0.0.1:1", "--no-mirrors"]).assert_code(2);
    t.run_with(["resolve", "x", "--tries", "0"]).assert_code(2);
    t.run_with(["pull", "x", "--jobs", "1000"]).assert_code(2);
}

#[cfg(target_os = "linux")]
#[test]
fn a_closed_or_full_stdout_is_an_error_or_nothing_never_a_panic() {
    use std::process::Stdio;
    let t = Test::new();
    // A full disk: exit 1 and a message.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out =
        t.command(["completions", "bash"]).stdout(full).stderr(Stdio::piped()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write to stdout") && !stderr.contains("panicked"), "{stderr}");
    // A reader that went away (`| head -0`): nothing to report.
    let mut child = t
        .command(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn timeout_flags_beat_per_host_settings() {
    let hung = crate::support::registry::HangServer::start();
    let t = Test::new().config(&format!("[hosts.\"{}\"]\nresponse_timeout = 30\n", hung.host()));
    let out = t.run_with([
        "resolve",
        &format!("{}/team/app:v1", hung.host()),
        "--response-timeout",
        "1",
        "--tries",
        "1",
    ]);
    out.assert_code(1);
    assert!(out.elapsed < std::time::Duration::from_secs(10), "{:?}", out.elapsed);
}

#[test]
fn config_errors_are_usage_errors_that_name_the_file() {
    let t = Test::new().config("[hosts.\"x\"]\nns_mode = \"on\"\n");
    let out = t.run_with(["resolve", "127.0.0.1:1/a:b"]);
    out.assert_code(2);
    assert!(out.stderr.contains("config.toml") && out.stderr.contains("ns_mode"), "{}", out.stderr);
    let t = Test::new();
    let out = t.run_with(["resolve", "127.0.0.1:1/a:b", "--config", "/nonexistent/ocimirror.toml"]);
    out.assert_code(2);
    assert!(out.stderr.contains("/nonexistent/ocimirror.toml"), "{}", out.stderr);
    // Out-of-range timeouts are refused, never a panic: per host, in
    // [network], and on the command line.
    let t = Test::new().config("[hosts.\"127.0.0.1:1\"]\nresponse_timeout = -1\n");
    let out = t.run_with(["resolve", "127.0.0.1:1/a:b"]);
    out.assert_code(2);
    assert!(out.stderr.contains("response_timeout for 127.0.0.1:1"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
    let t = Test::new().config("[network]\nstall_timeout = 1e300\n");
    t.run_with(["resolve", "127.0.0.1:1/a:b"]).assert_code(2);
    let t = Test::new();
    let out = t.run_with(["resolve", "127.0.0.1:1/a:b", "--connect-timeout", "0"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--connect-timeout"), "{}", out.stderr);
}

#[test]
fn a_malformed_mirror_url_is_refused_before_anything_is_asked() {
    // A scheme without its colon would otherwise be a host named `http`.
    let reg = Registry::start();
    let t = Test::new().config(&format!(
        "[registries.\"{}\"]\nmirrors = [\"http//{}\"]\n",
        reg.host(),
        reg.host()
    ));
    let out = t.run_with(["resolve", &format!("{}/team/app:v1", reg.host())]);
    out.assert_code(2);
    let why = format!("looks like a scheme without its colon; write http://{}", reg.host());
    let place = format!("config.toml [registries.\"{}\"]: ", reg.host());
    assert!(out.stderr.contains(&format!("{place}{why}")), "{}", out.stderr);
    assert!(reg.requests().is_empty(), "refused at load: {:?}", reg.requests());
    // The command line and the environment are checked the same way.
    let out = Test::new().run_with(["mirrors", "--mirror", "http//127.0.0.1:5000"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("\"http//127.0.0.1:5000\" in --mirror: looks like a scheme"),
        "{}",
        out.stderr
    );
    let out = Test::new()
        .env("OCIMIRROR_MIRRORS", "https://robot:s3cret@m.example")
        .run_with(["mirrors", "--json"]);
    out.assert_code(2);
    assert_eq!(out.json()["error"]["kind"], "usage", "{}", out.stdout);
    assert!(out.stdout.contains("in OCIMIRROR_MIRRORS: credentials do not belong in the URL"));
    assert!(!out.dump().contains("s3cret"), "{}", out.dump());
}

#[test]
fn a_registry_key_that_can_never_match_is_refused_with_what_to_write() {
    for (key, fix) in [
        (
            "index.docker.io",
            "another name of Docker Hub, which references call docker.io; write docker.io",
        ),
        ("registry-1.docker.io", "write docker.io"),
        ("https://127.0.0.1:5001", "a URL; write the registry as in references: 127.0.0.1:5001"),
        ("docker.io/library", "registries are matched by host only"),
        ("Quay.io", "write quay.io"),
    ] {
        let t = Test::new()
            .config(&format!("[registries.\"{key}\"]\nmirrors = [\"https://m.example\"]\n"));
        let out = t.run_with(["mirrors"]);
        out.assert_code(2);
        let place = format!("config.toml [registries.\"{key}\"]: ");
        assert!(out.stderr.contains(&place) && out.stderr.contains(fix), "{key}: {}", out.stderr);
    }
    // What is written as references spell it is used.
    let t = Test::new().config("[registries.\"docker.io\"]\nmirrors = [\"https://m.example\"]\n");
    let out = t.run_with(["mirrors", "docker.io/library/ubuntu"]);
    out.assert_success();
    assert!(out.stdout.contains("https://m.example"), "{}", out.stdout);
}

/// `HTTP_PROXY` is honoured: every request goes through the proxy. The fake
/// registry doubles as the proxy (it routes absolute-form requests by path),
/// and the reference names a host nothing listens on, so the pull can only
/// succeed through the proxy.
#[test]
fn http_proxy_from_the_environment_is_used() {
    let proxy = Registry::start();
    let img = Image::oci(53, &[100]);
    proxy.push_image("team/app", "v1", &img);
    let nowhere = crate::support::registry::refused_addr();
    let reference = format!("{nowhere}/team/app:v1");
    let t = Test::new();
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str()]);
    assert_ne!(out.code(), Some(0), "without the proxy the registry is unreachable");
    let t = Test::new().env("HTTP_PROXY", proxy.url()).env("NO_PROXY", "");
    let out = t.run_with(["pull", &reference, "-o", &t.layout_str(), "--json"]);
    out.assert_success();
    assert_eq!(out.json()["digest"], img.manifest.digest);
    assert!(proxy.count("GET", "/v2/team/app/manifests/v1") >= 1);
}

/// `mirrors check REF --json`'s entry for `url`.
fn checked(j: &serde_json::Value, url: &str) -> serde_json::Value {
    let sources = j["sources"].as_array().unwrap();
    sources.iter().find(|s| s["endpoint"] == url).cloned().unwrap_or_else(|| panic!("{url}: {j}"))
}

#[test]
fn mirrors_check_reports_what_a_pull_would_conclude() {
    let img = Image::oci(57, &[300]);
    let other = Image::oci(58, &[300]);
    let authority = Registry::start();
    authority.push_image("team/app", "v1", &img);
    let host = authority.host();
    // An old registry that 404s any query string: a pull strips ns and is served.
    let old = Registry::start();
    old.set_ns_mode(NsMode::RejectQuery(404));
    old.push_image("team/app", "v1", &img);
    // A mirror that serves only by namespace (400 without ns), with and without the image.
    let routing = Registry::start();
    routing.set_ns_mode(NsMode::RequireNs);
    routing.push_image_ns(&host, "team/app", "v1", &img);
    let routing_empty = Registry::start();
    routing_empty.set_ns_mode(NsMode::RequireNs);
    // One that ignores ns, and one that answers the tag with another image.
    let ignoring = Registry::start();
    ignoring.push_image("team/app", "v1", &img);
    let colliding = Registry::start();
    colliding.push_image("team/app", "v1", &other);
    let reference = format!("{host}/team/app:v1");
    let t = Test::new();
    let mut args = vec!["mirrors".to_string(), "check".into(), reference.clone(), "--json".into()];
    for m in [&old, &routing, &routing_empty, &ignoring, &colliding] {
        args.extend(["--mirror".to_string(), m.url()]);
    }
    let out = t.run_with(&args);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["healthy"], true, "{j}");
    let s = checked(&j, &old.url());
    assert_eq!(
        (&s["verdict"], &s["ns"], &s["hasReference"]),
        (&json!("serves"), &json!("rejects"), &json!(true)),
        "{s}"
    );
    let s = checked(&j, &routing.url());
    assert_eq!((&s["verdict"], &s["ns"]), (&json!("serves"), &json!("requires")), "{s}");
    let s = checked(&j, &routing_empty.url());
    assert_eq!(
        (&s["verdict"], &s["ns"], &s["hasReference"]),
        (&json!("not-found"), &json!("requires"), &json!(false)),
        "{s}"
    );
    let s = checked(&j, &ignoring.url());
    assert_eq!((&s["ns"], &s["trust"]), (&json!("ignores"), &json!("confirmed")), "{s}");
    let s = checked(&j, &colliding.url());
    assert_eq!(s["collision"], img.manifest.digest, "the registry's digest: {s}");
    assert_eq!(s["trust"], "unconfirmed", "{s}");
    let s = checked(&j, &authority.url());
    assert_eq!(
        (&s["role"], &s["verdict"], &s["ns"]),
        (&json!("authority"), &json!("serves"), &json!(null)),
        "{s}"
    );
    // The same in words.
    let human: Vec<String> = args.iter().filter(|a| *a != "--json").cloned().collect();
    let out = t.run_with(&human);
    out.assert_success();
    for needle in ["rejects ns", "requires ns", "ignores ns", "COLLISION", "tag confirmed"] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
}

#[test]
fn mirrors_check_reports_a_misconfigured_source_and_checks_the_others() {
    let (authority, mirror, _img, reference) = authority_and_mirror();
    let t = Test::new()
        .config(&format!("[hosts.\"{}\"]\nca_file = \"/nonexistent/ca.pem\"\n", mirror.host()));
    let out = t.run_with(["mirrors", "check", &reference, "--json", "--mirror", &mirror.url()]);
    out.assert_code(1);
    let j = out.json();
    assert_eq!(j["healthy"], false);
    let s = checked(&j, &mirror.url());
    assert_eq!(s["verdict"], "misconfigured", "{s}");
    assert!(s["error"].as_str().unwrap().contains("/nonexistent/ca.pem"), "{s}");
    assert!(mirror.requests().is_empty(), "nothing could be sent to it");
    let s = checked(&j, &authority.url());
    assert_eq!((&s["verdict"], &s["hasReference"]), (&json!("serves"), &json!(true)), "{s}");
    let out = t.run_with(["mirrors", "check", &reference, "--mirror", &mirror.url()]);
    out.assert_code(1);
    assert!(
        out.stdout.contains("MISCONFIGURED") && out.stdout.contains("has the reference"),
        "{}",
        out.dump()
    );
}

#[test]
fn mirrors_check_tells_refused_credentials_from_missing_ones() {
    let (authority, mirror, _img, reference) = authority_and_mirror();
    mirror.set_auth(Auth::Basic { user: "u".into(), pass: "right".into() });
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let t = Test::new().docker_config(json!({"auths": {mirror.host(): {"auth": b64("u:wrong")}}}));
    let out = t.run_with(["mirrors", "check", &reference, "--json", "--mirror", &mirror.url()]);
    out.assert_success();
    let s = checked(&out.json(), &mirror.url());
    assert_eq!(
        (&s["verdict"], &s["hasCredentials"], &s["hasReference"]),
        (&json!("denied"), &json!(true), &json!(null)),
        "{s}"
    );
    let out = t.run_with(["mirrors", "check", &reference, "--mirror", &mirror.url()]);
    assert!(out.stdout.contains("refused the credentials"), "{}", out.stdout);
    assert!(!out.stdout.contains("wrong") && !out.stderr.contains("wrong"));
    let t = Test::new();
    let out = t.run_with(["mirrors", "check", &reference, "--mirror", &mirror.url()]);
    assert!(out.stdout.contains("needs credentials"), "{}", out.stdout);
    assert!(
        authority.count("HEAD", "/v2/team/app/manifests/")
            + authority.count("GET", "/v2/team/app/manifests/")
            >= 1
    );
}

#[test]
fn invalid_references_exit_2_from_every_command() {
    let t = Test::new();
    let layout = t.layout_str();
    for args in [
        vec!["pull", "UPPER//bad", "-o", &layout],
        vec!["resolve", "UPPER//bad"],
        vec!["mirrors", "UPPER//bad"],
        vec!["mirrors", "check", "UPPER//bad"],
        vec!["pull", "docker://ubuntu", "-o", &layout],
    ] {
        let out = t.run_with(&args);
        out.assert_code(2);
        assert!(out.stderr.contains("invalid reference"), "{args:?}: {}", out.stderr);
        let mut json = args.clone();
        json.push("--json");
        let out = t.run_with(&json);
        out.assert_code(2);
        assert_eq!(out.json()["error"]["kind"], "usage", "{args:?}");
    }
    assert!(!t.layout().exists(), "nothing written for a bad reference");
}

#[test]
fn json_failures_carry_each_sources_answer() {
    let (authority, mirror, _img, _) = authority_and_mirror();
    let dead = crate::support::registry::refused_addr();
    let reference = format!("{}/team/nothing:v1", authority.host());
    let t = Test::new();
    let args = [
        "resolve",
        &reference,
        "--json",
        "--mirror",
        &mirror.url(),
        "--mirror",
        &format!("http://{dead}"),
    ];
    let out = t.run_with(args);
    out.assert_code(3);
    let e = &out.json()["error"];
    assert_eq!((&e["kind"], &e["exitCode"]), (&json!("not-found"), &json!(3)), "{e}");
    let answers = e["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 3, "one answer per source: {e}");
    let by = |url: &str| answers.iter().find(|a| a["endpoint"] == url).cloned().unwrap();
    let m = by(&mirror.url());
    assert_eq!(
        (&m["status"], &m["outcome"], &m["kind"]),
        (&json!(404), &json!("not-found"), &json!("manifest")),
        "{m}"
    );
    assert!(m["url"].as_str().unwrap().contains("/v2/team/nothing/manifests/v1"), "{m}");
    let d = by(&format!("http://{dead}"));
    assert_eq!(d["outcome"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("connect"), "{d}");
    let a = by(&authority.url());
    assert_eq!((&a["status"], &a["outcome"]), (&json!(404), &json!("not-found")), "{a}");
    // Errors without sources have the same shape.
    let out = t.run_with(["resolve", "Bad:Ref", "--json"]);
    assert_eq!(out.json()["error"]["answers"], json!([]));
}
