//! Messages that say what happened and what to do: a dead proxy named, a
//! refused credential told from a missing one (and its file named), a
//! missing auth file, a directory that is not a layout, a layout of
//! another version, a layout that is not there.

use base64::Engine as _;
use serde_json::json;

use crate::support::Test;
use crate::support::image::Image;
use crate::support::registry::{Auth, Registry, refused_addr};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A registry that wants `u:right` (Basic), with `team/app:v1`.
fn private() -> (Registry, String) {
    let reg = Registry::start();
    reg.set_auth(Auth::Basic { user: "u".into(), pass: "right".into() });
    reg.push_image("team/app", "v1", &Image::oci(100, &[100]));
    let reference = format!("{}/team/app:v1", reg.host());
    (reg, reference)
}

fn pull(t: &Test, reference: &str, extra: &[&str]) -> crate::support::Output {
    let layout = t.layout_str();
    t.run_with([&["pull", reference, "-o", &layout][..], extra].concat())
}

#[test]
fn a_dead_proxy_is_named_with_the_variable_that_set_it() {
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(101, &[100]));
    let proxy = format!("http://{}", refused_addr());
    let t = Test::new().env("HTTP_PROXY", &proxy);
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    out.assert_code(1);
    let want = format!("cannot connect to the proxy {proxy} (from HTTP_PROXY) for {}", reg.host());
    assert!(out.stderr.contains(&want), "{}", out.dump());
    // NO_PROXY takes the host out: the pull goes straight there.
    let t = Test::new().env("HTTP_PROXY", &proxy).env("NO_PROXY", "127.0.0.1");
    pull(&t, &format!("{}/team/app:v1", reg.host()), &[]).assert_success();
}

#[test]
fn refused_credentials_name_their_file_and_missing_ones_say_so() {
    let (reg, reference) = private();
    let t = Test::new();
    let out = pull(&t, &reference, &[]);
    out.assert_code(4);
    assert!(
        out.stderr.contains(&format!("hint: no credentials for {}", reg.host())),
        "{}",
        out.dump()
    );

    let t = Test::new().docker_config(json!({"auths": {reg.host(): {"auth": b64("u:wrong")}}}));
    let out = pull(&t, &reference, &[]);
    out.assert_code(4);
    let file = t.path().join("docker/config.json");
    let want = format!(
        "the registry refused the credentials from {} for {} (HTTP 401)",
        file.display(),
        reg.host()
    );
    assert!(out.stderr.contains(&want), "{}", out.dump());
    assert!(!out.stderr.contains("no credentials"), "{}", out.dump());
}

#[test]
fn creds_on_the_command_line_go_to_the_registry_only() {
    let (_reg, reference) = private();
    let t = Test::new();
    pull(&t, &reference, &["--creds", "u:right"]).assert_success();
    let out = pull(&Test::new(), &reference, &["--creds", "u:wrong"]);
    out.assert_code(4);
    assert!(out.stderr.contains("refused the credentials from --creds for"), "{}", out.dump());
    assert!(!out.stderr.contains("wrong"), "the password is never shown: {}", out.dump());
    // A mirror asking for the same credentials does not get them.
    let mirror = Registry::start();
    mirror.set_auth(Auth::Basic { user: "u".into(), pass: "right".into() });
    mirror.push_image("team/app", "v1", &Image::oci(100, &[100]));
    let t = Test::new();
    pull(&t, &reference, &["--creds", "u:right", "--mirror", &mirror.url()]).assert_success();
    assert!(
        mirror.requests().iter().all(|r| r.header("authorization").is_none()),
        "a mirror got the registry's credentials"
    );
    let out = Test::new().run_with(["pull", "--creds", "nocolon", &reference]);
    out.assert_code(2);
}

#[test]
fn authfile_is_the_only_file_read_and_must_exist() {
    let (reg, reference) = private();
    // Good credentials in docker's file; --authfile names another, wrong one.
    let t = Test::new()
        .docker_config(json!({"auths": {reg.host(): {"auth": b64("u:right")}}}))
        .file("other.json", &json!({"auths": {reg.host(): {"auth": b64("u:wrong")}}}).to_string());
    let other = t.path().join("other.json");
    let out = pull(&t, &reference, &["--authfile", other.to_str().unwrap()]);
    out.assert_code(4);
    assert!(
        out.stderr.contains(&format!("credentials from {}", other.display())),
        "{}",
        out.dump()
    );
    let out = pull(&t, &reference, &["--authfile", "/nonexistent/auth.json"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--authfile names /nonexistent/auth.json, which does not exist"));
}

#[test]
fn a_missing_registry_auth_file_is_an_error() {
    let (_reg, reference) = private();
    let t = Test::new().env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json");
    let out = pull(&t, &reference, &[]);
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("REGISTRY_AUTH_FILE names /nonexistent/auth.json, which does not exist"),
        "{}",
        out.dump()
    );
}

#[test]
fn a_directory_with_other_files_is_not_made_a_layout_without_force() {
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(102, &[100]));
    let reference = format!("{}/team/app:v1", reg.host());
    let t = Test::new();
    std::fs::create_dir_all(t.layout()).unwrap();
    std::fs::write(t.layout().join("notes.txt"), "mine").unwrap();
    let out = pull(&t, &reference, &[]);
    out.assert_code(2);
    assert!(out.stderr.contains("holds other files and no OCI layout"), "{}", out.dump());
    assert!(out.stderr.contains("--force"), "{}", out.dump());
    assert!(!t.layout().join("oci-layout").exists(), "nothing written");
    pull(&t, &reference, &["--force"]).assert_success();
    assert!(t.layout().join("notes.txt").exists());
    // Now a layout: no --force needed again.
    pull(&t, &reference, &[]).assert_success();
}

#[test]
fn a_layout_of_another_version_is_refused() {
    let reg = Registry::start();
    reg.push_image("team/app", "v1", &Image::oci(103, &[100]));
    let t = Test::new();
    std::fs::create_dir_all(t.layout()).unwrap();
    std::fs::write(t.layout().join("oci-layout"), r#"{"imageLayoutVersion":"2.0.0"}"#).unwrap();
    let out = pull(&t, &format!("{}/team/app:v1", reg.host()), &[]);
    out.assert_code(2);
    assert!(out.stderr.contains("declares imageLayoutVersion \"2.0.0\""), "{}", out.dump());
    let out = t.run_with(["ls", &t.layout_str()]);
    out.assert_code(2);
    assert!(out.stderr.contains("imageLayoutVersion"), "{}", out.dump());
}

#[test]
fn ls_of_a_missing_directory_says_it_does_not_exist() {
    let t = Test::new();
    let out = t.run_with(["ls"]);
    out.assert_code(2);
    assert!(out.stderr.starts_with("error: oci-layout does not exist"), "{}", out.dump());
    let out = t.run_with(["ls", "nowhere"]);
    assert!(out.stderr.starts_with("error: nowhere does not exist"), "{}", out.dump());
}
