//! Results on stdout. A closed pipe (`| head`) or a full disk is no reason
//! to panic: the first failure is kept (`failure`) for `main` to report,
//! and the rest of the output is dropped.

use std::io::Write as _;
use std::sync::OnceLock;

use serde::Serialize;

use crate::error::Error;

/// The first failure to write to stdout.
static FAILURE: OnceLock<std::io::Error> = OnceLock::new();

pub fn out(text: std::fmt::Arguments) {
    if FAILURE.get().is_some() {
        return;
    }
    if let Err(e) = std::io::stdout().lock().write_fmt(text) {
        let _ = FAILURE.set(e);
    }
}

/// `println!` through `out`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::stdout::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// Why stdout could not be written, if it could not.
pub fn failure() -> Option<&'static std::io::Error> {
    FAILURE.get()
}

/// A document with the contract's version first (`docs/json.md`).
#[derive(Serialize)]
struct Versioned<'a, T: Serialize> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(flatten)]
    document: &'a T,
}

fn versioned<T: Serialize>(document: &T) -> Versioned<'_, T> {
    Versioned { schema_version: crate::report::SCHEMA_VERSION, document }
}

/// Prints a report (an object) as JSON on stdout, with `schemaVersion`.
pub fn json<T: Serialize>(value: &T) -> Result<(), Error> {
    print(&versioned(value))
}

/// Prints a list of objects (`ls`) as a JSON array, each with
/// `schemaVersion`: the document stays the array it always was.
pub fn json_each<T: Serialize>(values: &[T]) -> Result<(), Error> {
    print(&values.iter().map(versioned).collect::<Vec<_>>())
}

fn print<T: Serialize>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Failed(format!("cannot encode the JSON output: {e}")))?;
    outln!("{text}");
    Ok(())
}
