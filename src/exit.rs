//! Exit codes: the contract with shell scripts. Documented in the README and
//! the man page; change them only with a major version.

use crate::error::ErrorKind;

pub const SUCCESS: i32 = 0;
/// Anything not covered below: network failures, corrupt content, I/O;
/// `mirrors check` finding a source unreachable or misconfigured; and
/// `verify` finding a layout damaged.
pub const FAILURE: i32 = 1;
/// Bad command line, bad configuration or an invalid reference.
pub const USAGE: i32 = 2;
/// No source has the reference (every one answered "not found").
pub const NOT_FOUND: i32 = 3;
/// A source needs credentials we do not have, or refused the ones we sent.
pub const DENIED: i32 = 4;
/// Several images: some failed, the others were pulled (or locked).
pub const PARTIAL: i32 = 5;
/// `lock --check`: some tags now point elsewhere than the lock file says.
pub const MOVED: i32 = 6;
/// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM (128 + 15): a CI job cancelled, `kill`.
pub const TERMINATED: i32 = 143;
/// Stopped by SIGHUP (128 + 1): the terminal or session closed.
pub const HUNG_UP: i32 = 129;

/// How a run that did not fail ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// `mirrors check`: every source was checked, and some are unreachable
    /// or misconfigured.
    SourcesUnhealthy,
    /// Several images: some failed, the others were done.
    Partial,
    /// Several images, every one failed; the first failure's kind.
    AllFailed(ErrorKind),
    /// `lock --check`: some tags moved.
    TagsMoved,
    /// `verify`: the layout was read through, and something is missing or
    /// wrong.
    LayoutDamaged,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => SUCCESS,
            Exit::SourcesUnhealthy | Exit::LayoutDamaged => FAILURE,
            Exit::Partial => PARTIAL,
            Exit::AllFailed(kind) => code_for(kind),
            Exit::TagsMoved => MOVED,
        }
    }
}

/// The exit code for a kind of error. Exhaustive: every error has a kind
/// (`Error::kind`), so every error has a code.
pub fn code_for(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Usage => USAGE,
        ErrorKind::NotFound => NOT_FOUND,
        ErrorKind::Denied => DENIED,
        ErrorKind::Failure => FAILURE,
        ErrorKind::Interrupted => INTERRUPTED,
        ErrorKind::Terminated => TERMINATED,
        ErrorKind::HungUp => HUNG_UP,
    }
}

/// The table printed in `--help` and the man page.
pub const TABLE: &str = "\
EXIT CODES:
    0    success
    1    failure (network, verification, I/O); mirrors check: a source is
         unreachable or misconfigured; verify: the layout is damaged
    2    usage error: bad flag, bad configuration or invalid reference
    3    not found on any source
    4    access denied (missing or rejected credentials)
    5    several images: some failed, the others were pulled
    6    lock --check: some tags now point elsewhere
    129  hung up (SIGHUP: the terminal or session closed)
    130  interrupted (Ctrl-C, SIGINT)
    143  terminated (SIGTERM: a CI job cancelled, kill)
    In each of the last three, partial files are removed and, with --json,
    the error object is printed; a second signal exits at once.";
