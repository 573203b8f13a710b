//! The containerd importer's tests; `tree` serves other modules' tests too.

use super::*;

/// Writes `files` (relative path, contents) under a new temporary
/// directory. Other modules' tests use it too.
pub(crate) fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn load(dir: &Path) -> Config {
    let mut c = Config::default();
    load_hosts_dir(dir, &mut c).unwrap();
    c
}

const HUB: &str = r#"
    server = "https://registry-1.docker.io"

    [host."https://zz-mirror.example.com"]
      capabilities = ["pull", "resolve"]
      ca = ["certs/mirror.pem", "/etc/other.pem"]
      skip_verify = true
      override_path = true
      dial_timeout = "1.5s"
      [host."https://zz-mirror.example.com".header]
        x-one = "1"
        x-two = ["a", "b"]

    [host."http://10.1.2.3:5000"]
      capabilities = ["pull"]

    [host."https://push-only.example.com"]
      capabilities = ["push"]
"#;

#[test]
fn mirrors_in_file_order_and_default_namespace() {
    let dir = tree(&[
        ("docker.io/hosts.toml", HUB),
        ("_default/hosts.toml", "[host.\"mirror.example.com\"]\n"),
    ]);
    let c = load(dir.path());
    let hub = c.rule_for("docker.io");
    let urls: Vec<_> = hub.mirrors.iter().map(|m| m.url.as_str()).collect();
    assert_eq!(urls, ["https://zz-mirror.example.com", "http://10.1.2.3:5000"]);
    assert!(
        hub.mirrors[0]
            .origin
            .ends_with("docker.io/hosts.toml [host.\"https://zz-mirror.example.com\"]")
    );
    assert_eq!(hub.endpoint, None, "registry-1.docker.io is docker.io's own address");
    assert_eq!(hub.fallback, Some(true), "a registry's own list ends with the registry");
    // No scheme means https; no capabilities means all of them.
    let other = c.rule_for("quay.io");
    assert_eq!(other.mirrors[0].url, "https://mirror.example.com");
    assert_eq!(c.host("mirror.example.com").trusted, Some(true));
    assert!(c.warnings.iter().any(|w| w.contains("push-only.example.com") && w.contains("pull")));
    assert_eq!(c.files.len(), 2);
}

#[test]
fn host_settings() {
    let dir = tree(&[("docker.io/hosts.toml", HUB)]);
    let c = load(dir.path());
    let a = c.host("zz-mirror.example.com");
    assert_eq!(a.trusted, Some(true));
    assert_eq!(a.digest_only, None);
    assert_eq!(a.tls_verify, Some(false));
    assert_eq!(a.override_path, Some(true));
    assert_eq!(a.connect_timeout, Some(Duration::from_millis(1500)));
    assert_eq!(a.ca_file, Some(dir.path().join("docker.io/certs/mirror.pem")));
    assert_eq!(a.headers["x-one"], "1");
    assert_eq!(a.headers["x-two"], "a, b");
    assert!(c.warnings.iter().any(|w| w.contains("/etc/other.pem")));
    let b = c.host("10.1.2.3:5000");
    assert_eq!((b.digest_only, b.trusted, b.plain_http), (Some(true), None, Some(true)));
}

#[test]
fn ports_server_endpoint_and_shadowed_directories() {
    let dir = tree(&[
        ("localhost_5000_/hosts.toml", "server = \"http://localhost:5000\"\n"),
        (
            "reg.example.com_5000_/hosts.toml",
            "server = \"https://copy.example.com\"\nskip_verify = true\n",
        ),
        ("reg.example.com:5000/hosts.toml", "[host.\"https://never.example.com\"]\n"),
    ]);
    let c = load(dir.path());
    assert_eq!(c.rule_for("localhost:5000").endpoint, None);
    let reg = c.rule_for("reg.example.com:5000");
    assert_eq!(reg.endpoint.as_deref(), Some("https://copy.example.com"));
    assert!(reg.mirrors.is_empty());
    assert_eq!(c.host("copy.example.com").tls_verify, Some(false));
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("reg.example.com:5000/hosts.toml") && w.contains("ignored"))
    );
}

#[test]
fn default_server_is_a_last_mirror_without_fallback() {
    let dir = tree(&[(
        "_default/hosts.toml",
        "server = \"https://only.example.com\"\ncapabilities = [\"pull\"]\n[host.\"https://first.example.com\"]\n",
    )]);
    let c = load(dir.path());
    let rule = c.rule_for("ghcr.io");
    let urls: Vec<_> = rule.mirrors.iter().map(|m| m.url.as_str()).collect();
    assert_eq!(urls, ["https://first.example.com", "https://only.example.com"]);
    assert_eq!(rule.fallback, Some(false));
    assert_eq!(c.host("only.example.com").digest_only, Some(true));
}

#[test]
fn client_certificates() {
    let dir = tree(&[
        ("a.example/hosts.toml", "[host.\"https://m1.example\"]\nclient = \"c.pem\"\n"),
        (
            "b.example/hosts.toml",
            "[host.\"https://m2.example\"]\nclient = [[\"c.cert\", \"c.key\"]]\n",
        ),
    ]);
    let c = load(dir.path());
    assert_eq!(c.host("m1.example").client_cert, Some(dir.path().join("a.example/c.pem")));
    assert_eq!(c.host("m1.example").client_key, None);
    let m2 = c.host("m2.example");
    assert_eq!(m2.client_cert, Some(dir.path().join("b.example/c.cert")));
    assert_eq!(m2.client_key, Some(dir.path().join("b.example/c.key")));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn unknown_keys_warn_and_bad_files_fail() {
    let dir = tree(&[(
        "docker.io/hosts.toml",
        "mystery = 1\n[host.\"https://m.example\"]\nwhatever = true\nproxy = \"http://p:8080\"\n",
    )]);
    let c = load(dir.path());
    assert!(c.warnings.iter().any(|w| w.ends_with("hosts.toml: ignoring unknown key mystery")));
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("[host.\"https://m.example\"]: ignoring unknown key whatever"))
    );
    assert!(c.warnings.iter().any(|w| w.contains("proxy")));
    assert_eq!(c.rule_for("docker.io").mirrors.len(), 1);

    let bad = tree(&[("docker.io/hosts.toml", "[host.\"https://m\"]\nskip_verify = \"yes\"\n")]);
    let err = load_hosts_dir(bad.path(), &mut Config::default()).unwrap_err().to_string();
    assert!(err.contains("docker.io/hosts.toml") && err.contains("skip_verify"), "{err}");
    let broken = tree(&[("docker.io/hosts.toml", "server = \n")]);
    let err = load_hosts_dir(broken.path(), &mut Config::default()).unwrap_err().to_string();
    assert!(err.contains("docker.io/hosts.toml"), "{err}");
}

#[test]
fn missing_and_empty_directories() {
    let err = load_hosts_dir(Path::new("/nonexistent/certs.d"), &mut Config::default())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "--hosts-dir /nonexistent/certs.d does not exist");
    let dir = tree(&[("quay.io/ca.crt", "pem"), ("notes.txt", "x")]);
    let c = load(dir.path());
    assert!(c.hosts.is_empty() && c.files.is_empty());
    assert!(c.warnings.iter().any(|w| w.contains("quay.io") && w.contains("certificate")));
    // Without a `_default` there is nothing for it to shadow.
    assert!(c.registries.is_empty());
}

#[test]
fn durations_and_namespaces() {
    assert_eq!(go_duration_secs("1m30s"), Some(90.0));
    assert_eq!(go_duration_secs("250ms"), Some(0.25));
    assert_eq!(go_duration_secs("0"), Some(0.0), "Go's zero: the default applies");
    assert_eq!(go_duration_secs("0s"), Some(0.0));
    assert_eq!(go_duration_secs("+5s"), Some(5.0));
    assert_eq!(go_duration_secs("0m0s"), Some(0.0));
    assert_eq!(go_duration_secs("23h"), Some(82_800.0));
    assert_eq!(go_duration_secs("24h"), None, "a day or more is refused, as everywhere");
    assert_eq!(go_duration_secs("bogus"), None);
    assert_eq!(go_duration_secs("s"), None);
    assert_eq!(go_duration_secs("-5s"), None);
    assert_eq!(go_duration_secs("5"), None);
    assert_eq!(namespace("Host.example_443_"), (Some("host.example:443".into()), true));
    assert_eq!(namespace("my_host"), (Some("my_host".into()), false));
    assert_eq!(namespace("_default"), (None, false));
}

#[test]
fn unknown_keys_are_named_by_their_path_and_urls_lose_credentials() {
    let dir = tree(&[(
        "quay.io/hosts.toml",
        "[host.\"https://m.example\"]\ncapabilitiez = [\"pull\"]\nheader = { x = \"1\" }\n\
         [host.\"https://u:s3cret@creds.example\"]\n\
         [host.\"http//host:5000\"]\n",
    )]);
    let c = load(dir.path());
    let has = |needle: &str| c.warnings.iter().any(|w| w.contains(needle));
    assert!(
        has("[host.\"https://m.example\"]: ignoring unknown key capabilitiez"),
        "{:?}",
        c.warnings
    );
    assert!(has("[host.\"https://***@creds.example\"]: not a usable mirror URL (credentials"));
    assert!(has("[host.\"http//host:5000\"]: not a usable mirror URL (looks like a scheme"));
    assert!(!c.warnings.iter().any(|w| w.contains("s3cret")), "{:?}", c.warnings);
    assert_eq!(c.rule_for("quay.io").mirrors.len(), 1);
    assert_eq!(c.host("m.example").headers["x"], "1");
}

#[test]
fn directories_no_reference_can_use_are_warned_about_and_ignored() {
    let mirror = "[host.\"https://m.example\"]\n";
    let dir = tree(&[("index.docker.io/hosts.toml", mirror), ("lost+found/ca.crt", "pem")]);
    let c = load(dir.path());
    let has = |needle: &str| c.warnings.iter().any(|w| w.contains(needle));
    assert!(has("index.docker.io: another name of Docker Hub"), "{:?}", c.warnings);
    assert!(has("lost+found: not a valid host[:port]; directory ignored"), "{:?}", c.warnings);
    assert!(c.registries.is_empty() && c.files.is_empty());
    // registry-1.docker.io can be in a reference: its directory is used.
    let dir = tree(&[("registry-1.docker.io/hosts.toml", mirror)]);
    assert_eq!(load(dir.path()).rule_for("registry-1.docker.io").mirrors.len(), 1);
}

#[test]
fn a_bad_server_or_value_is_an_error_naming_its_key() {
    let bad = tree(&[("docker.io/hosts.toml", "server = \"ftp://u:s3cret@x\"\n")]);
    let err = load_hosts_dir(bad.path(), &mut Config::default()).unwrap_err().to_string();
    assert!(err.starts_with("server \"ftp://***@x\" in "), "{err}");
    assert!(err.ends_with("only http:// and https:// are supported"), "{err}");
    for (text, key) in [
        ("ca = 1\n", "ca: invalid type: integer, expected a string or an array of strings"),
        ("client = [[\"a\", \"b\", \"c\"]]\n", "client[0]: invalid length 3"),
        ("dial_timeout = \"soon\"\n", "dial_timeout must be a duration"),
    ] {
        let bad = tree(&[("docker.io/hosts.toml", text)]);
        let err = load_hosts_dir(bad.path(), &mut Config::default()).unwrap_err().to_string();
        assert!(err.contains(key), "{text}: {err}");
    }
}
