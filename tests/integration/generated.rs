//! `completions/` and `man/` are generated from the clap definitions and
//! committed. This test fails when they are stale; to refresh them run
//! `OCIMIRROR_UPDATE_GENERATED=1 cargo test --test integration generated`.

use std::path::Path;

use ocimirror::cli::{self, Shell};

fn check(path: &Path, want: &[u8], stale: &mut Vec<String>) {
    if std::env::var_os("OCIMIRROR_UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, want).unwrap();
        return;
    }
    match std::fs::read(path) {
        Ok(have) if have == want => {}
        _ => stale.push(path.display().to_string()),
    }
}

#[test]
fn completions_and_man_pages_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for shell in Shell::all() {
        check(
            &root.join("completions").join(shell.file_name()),
            cli::completion(shell).as_bytes(),
            &mut stale,
        );
    }
    let pages = cli::man_pages();
    assert!(pages.len() >= 10, "a page for ocimirror and each subcommand");
    for (name, bytes) in &pages {
        check(&root.join("man").join(name), bytes, &mut stale);
    }
    // A page no longer generated (a command renamed) is stale too.
    for entry in std::fs::read_dir(root.join("man")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !pages.iter().any(|(n, _)| *n == name) {
            stale.push(format!("man/{name} (no longer generated: remove it)"));
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {stale:?}\nrun: OCIMIRROR_UPDATE_GENERATED=1 cargo test --test integration generated"
    );
}

#[test]
fn the_binary_prints_the_same_completions() {
    let t = crate::support::Test::new();
    let out = t.run_with(["completions", "bash"]);
    out.assert_success();
    assert_eq!(out.stdout, cli::completion(Shell::Bash));
}

#[test]
fn help_teaches_exit_codes_and_examples() {
    let t = crate::support::Test::new();
    let out = t.run_with(["--help"]);
    out.assert_success();
    for needle in ["EXIT CODES", "not found on any source", "EXAMPLES", "--mirror", "ns"] {
        assert!(out.stdout.contains(needle), "--help lacks {needle:?}");
    }
    let out = t.run_with(["pull", "--help"]);
    for needle in ["--platform", "--all-platforms", "--dry-run", "oci-layout"] {
        assert!(out.stdout.contains(needle), "pull --help lacks {needle:?}");
    }
}

/// Tab completion really completes in bash (the shell every CI image has):
/// subcommands, flags, and the values of `--format`.
#[test]
fn bash_completion_completes_commands_flags_and_values() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/ocimirror.bash");
    let probe = format!(
        r#"source '{}'
complete_words() {{ COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=();
  _ocimirror ocimirror "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"; echo "${{COMPREPLY[*]}}"; }}
complete_words ocimirror pu
complete_words ocimirror pull --pla
complete_words ocimirror pull --format ''
complete_words ocimirror mirrors ch"#,
        script.display()
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "-c", &probe])
        .output()
        .expect("bash runs");
    let lines: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(
        lines,
        ["pull", "--platform", "preserve oci", "check"],
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `help` works as a command, at the top and under `mirrors`, and shows
/// help rather than, say, the plan for an image called `help`.
#[test]
fn help_is_a_command_at_every_level() {
    let t = crate::support::Test::new();
    let top = t.run_with(["help"]);
    top.assert_success();
    assert!(top.stdout.contains("Commands:") && top.stdout.contains("inspect"), "{}", top.stdout);
    let pull = t.run_with(["help", "pull"]);
    pull.assert_success();
    assert!(pull.stdout.starts_with("Pull images into an OCI image layout"), "{}", pull.stdout);
    for args in [&["mirrors", "help"][..], &["help", "mirrors"]] {
        let out = t.run_with(args);
        out.assert_success();
        assert!(out.stdout.contains("Usage: ocimirror mirrors"), "{args:?}: {}", out.stdout);
        assert!(!out.stdout.contains("docker.io/library/help"), "{args:?}: {}", out.stdout);
    }
    let check = t.run_with(["mirrors", "help", "check"]);
    assert!(check.stdout.contains("Usage: ocimirror mirrors check"), "{}", check.stdout);
}

/// A command's help lists what applies to it: its own options first, then
/// the network's for commands that go to the network, the global ones last.
#[test]
fn help_lists_only_what_applies_in_groups() {
    let t = crate::support::Test::new();
    for command in ["ls", "completions", "export"] {
        let out = t.run_with([command, "--help"]);
        out.assert_success();
        for flag in ["--mirror", "--connect-timeout", "--tries", "--creds", "--config"] {
            assert!(!out.stdout.contains(flag), "{command} --help lists {flag}:\n{}", out.stdout);
        }
        assert!(out.stdout.contains("Global options:\n"), "{command}: {}", out.stdout);
    }
    for command in ["pull", "resolve", "lock", "inspect", "mirrors"] {
        let out = t.run_with([command, "--help"]);
        let at = |heading: &str| {
            out.stdout
                .find(heading)
                .unwrap_or_else(|| panic!("{command}: no {heading}\n{}", out.stdout))
        };
        let order = [
            "Options:\n",
            "Sources:\n",
            "Configuration:\n",
            "Credentials:\n",
            "Network:\n",
            "Global options:\n",
        ];
        let places: Vec<usize> = order.iter().map(|h| at(h)).collect();
        assert!(
            places.windows(2).all(|w| w[0] < w[1]),
            "{command}: headings out of order\n{}",
            out.stdout
        );
        assert!(!out.stdout.contains("--retries"), "{command}: the old name is hidden");
    }
    let pull = t.run_with(["pull", "--help"]);
    let global = pull.stdout.find("Global options:").unwrap();
    assert!(
        pull.stdout.find("--platform").unwrap() < global
            && pull.stdout.find("--json").unwrap() > global
    );
}

/// Every page a man page names (`ocimirror-mirrors-check(1)`) exists.
#[test]
fn every_man_page_named_exists() {
    let pages = cli::man_pages();
    let names: Vec<String> =
        pages.iter().map(|(n, _)| n.trim_end_matches(".1").to_string()).collect();
    for want in ["ocimirror-mirrors-check", "ocimirror-help", "ocimirror-inspect"] {
        assert!(names.iter().any(|n| n == want), "no page {want}: {names:?}");
    }
    for (page, bytes) in &pages {
        let text = String::from_utf8_lossy(bytes);
        // roff writes a hyphen in a name as \-.
        let text = text.replace("\\-", "-");
        for (i, _) in text.match_indices("ocimirror-") {
            let named: String =
                text[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            if text[i + named.len()..].starts_with("(1)") {
                assert!(names.contains(&named), "{page} names {named}(1), which is not generated");
            }
        }
    }
}

/// `--retries` still works, counting tries as it always did, and says its
/// new name.
#[test]
fn the_old_retries_flag_still_works_and_says_it_is_now_tries() {
    let t = crate::support::Test::new();
    let out = t.run_with(["pull", "--dry-run", "--retries", "2", "alpine"]);
    out.assert_success();
    assert!(out.stderr.contains("--retries is now --tries"), "{}", out.stderr);
    let out = t.run_with(["pull", "--dry-run", "--retries", "2", "--tries", "2", "alpine"]);
    out.assert_code(2);
}
