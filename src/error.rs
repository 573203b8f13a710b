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
    #[error("{}\n{}", walk_message(what, "access denied", answers), DENIED_HINT)]
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

    #[error("interrupted")]
    Interrupted,

    // The OS error is part of the message and deliberately not a `source`:
    // the error chain printed at the edge would repeat it.
    #[error("{context}: {cause}")]
    Io { context: String, cause: std::io::Error },
}

const DENIED_HINT: &str = "hint: add credentials for the host with `docker login HOST` \
     (ocimirror reads $DOCKER_CONFIG/config.json and podman's auth.json)";

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
        }
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
            Error::Interrupted => ErrorKind::Interrupted,
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
