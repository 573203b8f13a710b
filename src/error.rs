//! The library's error type. Each variant maps to one documented exit code
//! (see `exit.rs`), so scripts can tell "not there" from "not allowed" from
//! "broken".

use crate::digest::DigestError;
use crate::reference::ReferenceError;

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

    /// Every source answered, and none had it.
    #[error("{0}")]
    NotFound(String),

    /// A source refused us for lack of (valid) credentials and no other source served it.
    #[error("{0}")]
    Denied(String),

    /// Content that failed verification, or a registry that broke the protocol.
    #[error("{0}")]
    Invalid(String),

    /// Anything else that went wrong talking to registries.
    #[error("{0}")]
    Failed(String),

    #[error("interrupted")]
    Interrupted,

    // The OS error is part of the message and deliberately not a `source`:
    // the error chain printed at the edge would repeat it.
    #[error("{context}: {cause}")]
    Io { context: String, cause: std::io::Error },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { context: context.into(), cause: source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::registry::FetchError> for Error {
    fn from(e: crate::registry::FetchError) -> Error {
        if e.is_not_found() {
            Error::NotFound(e.to_string())
        } else if e.is_denied() {
            Error::Denied(e.to_string())
        } else if matches!(e, crate::registry::FetchError::Invalid(_)) {
            Error::Invalid(e.to_string())
        } else {
            Error::Failed(e.to_string())
        }
    }
}
