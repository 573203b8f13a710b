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
    assert!(pages.len() >= 6, "a page for ocimirror and each subcommand");
    for (name, bytes) in &pages {
        check(&root.join("man").join(name), bytes, &mut stale);
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
