//! Exit codes: the contract with shell scripts. Documented in the README and
//! the man page; change them only with a major version.

use crate::error::Error;

pub const SUCCESS: i32 = 0;
/// Anything not covered below: network failures, corrupt content, I/O.
pub const FAILURE: i32 = 1;
/// Bad command line, bad configuration or an invalid reference.
pub const USAGE: i32 = 2;
/// No source has the reference (every one answered "not found").
pub const NOT_FOUND: i32 = 3;
/// A source needs credentials we do not have, or refused the ones we sent.
pub const DENIED: i32 = 4;
/// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

/// The exit code for an error that reached `main`.
pub fn code_for(err: &anyhow::Error) -> i32 {
    match err.downcast_ref::<Error>() {
        Some(Error::Reference(_) | Error::Digest(_) | Error::Usage(_) | Error::Config(_)) => USAGE,
        Some(Error::NotFound(_)) => NOT_FOUND,
        Some(Error::Denied(_)) => DENIED,
        Some(Error::Interrupted) => INTERRUPTED,
        _ => FAILURE,
    }
}

/// The table printed in `--help` and the man page.
pub const TABLE: &str = "\
EXIT CODES:
    0    success
    1    failure (network, verification, I/O)
    2    usage error: bad flag, bad configuration or invalid reference
    3    not found on any source
    4    access denied (missing or rejected credentials)
    130  interrupted (Ctrl-C)";
