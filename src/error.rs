//! The library's error type. Every variant has one kind (`Error::kind`),
//! and every kind one documented exit code (`exit.rs`), so scripts can tell
//! "not there" from "not allowed" from "broken". Failures of a walk over
//! several sources carry each source's answer as data, for `--json`.

use std::fmt::Write as _;

use crate::digest::DigestError;
use crate::reference::ReferenceError;
use crate::trace::Attempt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reference(#[from] ReferenceError),

    #[error(transparent)]
    Digest(#[from] DigestError),

    /// Bad flags or flag combinations that clap cannot catch.
    #[error("{0}")]
    Usage(String),

    /// A configuration file that cannot be read or makes no sense.
    #[error("{0}")]
    Config(String),

    /// Every source was asked and none had it (or the registry itself said so).
    #[error("{}", walk_message(what, "not found on any source", answers))]
    NotFound { what: String, answers: Vec<Attempt> },

    /// Something named does not exist in what was found: a platform an
    /// index does not offer, a tag the registry does not have.
    #[error("{0}")]
    Missing(String),

    /// A source refused us for lack of (valid) credentials and no other
    /// source served it.
    #[error("{}\n{}", walk_message(what, "access denied", answers), denied_hint(answers))]
    Denied { what: String, answers: Vec<Attempt> },

    /// No source could serve it, for reasons other than "not found" or
    /// "denied": unreachable, broken, serving bad content.
    #[error("{}", walk_message(what, "no source could serve it", answers))]
    Unavailable { what: String, answers: Vec<Attempt> },

    /// A mirror's tag answer that the registry could not confirm, refused
    /// by `--require-confirmed` or `unconfirmed = "fail"`.
    #[error("{0}")]
    Unconfirmed(String),

    /// Content that failed verification, or a registry that broke the protocol.
    #[error("{0}")]
    Invalid(String),

    /// Anything else that went wrong.
    #[error("{0}")]
    Failed(String),

    /// Stopped from inside: Ctrl-C's cleanup has begun (no download may
    /// start), or an export saw Ctrl-C.
    #[error("interrupted")]
    Interrupted,

    /// Stopped by a signal (Ctrl-C, SIGTERM, SIGHUP): the run's end.
    #[error("{}", .0.message())]
    Signalled(Signal),

    // The OS error is part of the message and deliberately not a `source`:
    // the error chain printed at the edge would repeat it.
    #[error("{context}: {cause}")]
    Io { context: String, cause: std::io::Error },
}

/// What to do about a denial: the credentials we sent were refused (the
/// answer names their file), or we had none for the hosts that refused.
fn denied_hint(answers: &[Attempt]) -> String {
    let refused = answers.iter().any(|a| a.said().contains("refused the credentials from"));
    if refused {
        return "hint: check those credentials (`docker login HOST` again, or --creds USER:PASS)"
            .into();
    }
    let mut hosts: Vec<&str> = answers
        .iter()
        .filter(|a| a.outcome == crate::trace::Outcome::Denied)
        .map(|a| a.endpoint.split_once("://").map_or(a.endpoint.as_str(), |(_, h)| h))
        .collect();
    hosts.dedup();
    let hosts = match hosts.as_slice() {
        [] => "the host".to_string(),
        some => some.join(", "),
    };
    format!(
        "hint: no credentials for {hosts}; add them with `docker login HOST`, --creds USER:PASS \
         or --authfile FILE (ocimirror reads $REGISTRY_AUTH_FILE or podman's auth.json, then \
         $DOCKER_CONFIG/config.json)"
    )
}

/// A signal that stops a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, a CI job cancelled, a container stopped.
    Terminate,
    /// SIGHUP: the terminal or SSH session went away.
    HangUp,
}

impl Signal {
    fn message(self) -> &'static str {
        match self {
            Signal::Interrupt => "interrupted",
            Signal::Terminate => "terminated (SIGTERM)",
            Signal::HangUp => "hung up (SIGHUP)",
        }
    }
}

/// What kind of failure an error is: what the exit code and `--json`'s
/// `kind` say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    Usage,
    NotFound,
    Denied,
    Failure,
    Interrupted,
    Terminated,
    HungUp,
}

impl ErrorKind {
    /// The name `--json` gives the kind.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Denied => "denied",
            ErrorKind::Failure => "failure",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Terminated => "terminated",
            ErrorKind::HungUp => "hung-up",
        }
    }

    /// A signal stopped the run: partial files are to be removed.
    pub fn is_signal(self) -> bool {
        matches!(self, ErrorKind::Interrupted | ErrorKind::Terminated | ErrorKind::HungUp)
    }
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { context: context.into(), cause: source }
    }

    /// Exhaustive: a new variant does not compile until it has a kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Reference(_) | Error::Digest(_) | Error::Usage(_) | Error::Config(_) => {
                ErrorKind::Usage
            }
            Error::NotFound { .. } | Error::Missing(_) => ErrorKind::NotFound,
            Error::Denied { .. } => ErrorKind::Denied,
            Error::Unavailable { .. }
            | Error::Unconfirmed(_)
            | Error::Invalid(_)
            | Error::Failed(_)
            | Error::Io { .. } => ErrorKind::Failure,
            Error::Interrupted | Error::Signalled(Signal::Interrupt) => ErrorKind::Interrupted,
            Error::Signalled(Signal::Terminate) => ErrorKind::Terminated,
            Error::Signalled(Signal::HangUp) => ErrorKind::HungUp,
        }
    }

    /// The answer each source gave, for a failed walk; empty otherwise.
    pub fn answers(&self) -> &[Attempt] {
        match self {
            Error::NotFound { answers, .. }
            | Error::Denied { answers, .. }
            | Error::Unavailable { answers, .. } => answers,
            _ => &[],
        }
    }
}

/// `WHAT: SUMMARY:` and one line per source, or a note that every source
/// was skipped.
fn walk_message(what: &str, summary: &str, answers: &[Attempt]) -> String {
    if answers.is_empty() {
        return format!("{what}: every source was skipped (run with -v to see why)");
    }
    let mut text = match summary {
        "not found on any source" => format!("{what} {summary}:"),
        _ => format!("{what}: {summary}:"),
    };
    for a in answers {
        let _ = write!(text, "\n  {}: {}", a.endpoint, a.said());
    }
    text
}

/// An error, again: one blob's failure fails every image of a batch that
/// needs it. `io::Error` is not `Clone`; its kind and text are kept.
impl Clone for Error {
    fn clone(&self) -> Error {
        match self {
            Error::Reference(e) => Error::Reference(e.clone()),
            Error::Digest(e) => Error::Digest(e.clone()),
            Error::Usage(s) => Error::Usage(s.clone()),
            Error::Config(s) => Error::Config(s.clone()),
            Error::NotFound { what, answers } => {
                Error::NotFound { what: what.clone(), answers: answers.clone() }
            }
            Error::Missing(s) => Error::Missing(s.clone()),
            Error::Denied { what, answers } => {
                Error::Denied { what: what.clone(), answers: answers.clone() }
            }
            Error::Unavailable { what, answers } => {
                Error::Unavailable { what: what.clone(), answers: answers.clone() }
            }
            Error::Unconfirmed(s) => Error::Unconfirmed(s.clone()),
            Error::Invalid(s) => Error::Invalid(s.clone()),
            Error::Failed(s) => Error::Failed(s.clone()),
            Error::Interrupted => Error::Interrupted,
            Error::Signalled(s) => Error::Signalled(*s),
            Error::Io { context, cause } => Error::Io {
                context: context.clone(),
                cause: std::io::Error::new(cause.kind(), cause.to_string()),
            },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A manifest or config that is not what it claims (outside a walk, which
/// classifies its own failures).
impl From<crate::image::ImageError> for Error {
    fn from(e: crate::image::ImageError) -> Error {
        Error::Invalid(e.to_string())
    }
}
