//! TOML files into typed settings: serde does the walking; what a file
//! says that the types do not read is reported by key path (the importers
//! warn about it), and errors say where (file, line, column, key) but never
//! quote a value: config files may hold secrets (a header value, a token).

use std::fmt;

use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::text::redacted_url;
use crate::text::without_values;

/// Where a value is in a file: `host."https://m.example".skip_verify`,
/// `registry[2].mirror[0].location`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Part>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Key(String),
    Index(usize),
}

impl KeyPath {
    fn from_ignored(path: &serde_ignored::Path) -> KeyPath {
        use serde_ignored::Path as P;
        let mut parts = Vec::new();
        let mut at = path;
        loop {
            at = match at {
                P::Root => break,
                P::Seq { parent, index } => {
                    parts.push(Part::Index(*index));
                    parent
                }
                P::Map { parent, key } => {
                    parts.push(Part::Key(key.clone()));
                    parent
                }
                P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
                    parent
                }
            };
        }
        parts.reverse();
        KeyPath(parts)
    }

    fn from_tracked(path: &serde_path_to_error::Path) -> KeyPath {
        use serde_path_to_error::Segment as S;
        let parts = path
            .iter()
            .filter_map(|segment| match segment {
                S::Seq { index } => Some(Part::Index(*index)),
                S::Map { key } => Some(Part::Key(key.clone())),
                S::Enum { variant } => Some(Part::Key(variant.clone())),
                S::Unknown => None,
            })
            .collect();
        KeyPath(parts)
    }
}

/// TOML's own spelling: bare keys as they are, others quoted (and, as they
/// may be URLs, without credentials or control characters).
impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            match part {
                Part::Index(n) => write!(f, "[{n}]")?,
                Part::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(&key_text(k))?;
                }
            }
        }
        Ok(())
    }
}

/// One key as it may be shown: bare when TOML would take it bare.
fn key_text(key: &str) -> String {
    let bare =
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare { key.to_string() } else { format!("\"{}\"", redacted_url(key)) }
}

/// A file that did not deserialize: the toml error, and the key it is at
/// (empty for syntax errors).
#[derive(Debug)]
pub struct ParseError {
    pub path: KeyPath,
    error: toml::de::Error,
}

impl ParseError {
    /// As a config error naming `file`, the line and column, and `key` (how
    /// the caller names `self.path`, or nothing).
    pub fn into_error(self, file: &str, text: &str, key: &str) -> Error {
        let key = if key.is_empty() { String::new() } else { format!("{key}: ") };
        let message = without_values(self.error.message().trim());
        Error::Config(format!("{}: {key}{message}", place(file, text, &self.error)))
    }

    /// `into_error` with the key path as TOML writes it.
    pub fn with_path(self, file: &str, text: &str) -> Error {
        let key = self.path.to_string();
        self.into_error(file, text, &key)
    }
}

/// Deserializes `text`, calling `unknown` with the path of every key that
/// `T` does not read (types with `deny_unknown_fields` refuse them instead).
pub fn parse<T: DeserializeOwned>(
    text: &str,
    unknown: &mut dyn FnMut(KeyPath),
) -> Result<T, ParseError> {
    let document = toml::Deserializer::parse(text)
        .map_err(|error| ParseError { path: KeyPath::default(), error })?;
    let mut on_ignored = |path: serde_ignored::Path| unknown(KeyPath::from_ignored(&path));
    let reporting = serde_ignored::Deserializer::new(document, &mut on_ignored);
    serde_path_to_error::deserialize(reporting)
        .map_err(|e| ParseError { path: KeyPath::from_tracked(e.path()), error: e.into_inner() })
}

/// A TOML error as a config error: where (line and column) and what, but
/// not the offending line, which toml quotes and which may hold a secret (a
/// header value, a token); values quoted in the message are left out too.
pub fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> Error {
    Error::Config(format!("{}: {}", place(file, text, e), without_values(e.message().trim())))
}

/// `file, line L, column C` (just `file` when the error has no place).
fn place(file: &str, text: &str, e: &toml::de::Error) -> String {
    let at = e
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| {
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(", line {line}, column {column}")
        })
        .unwrap_or_default();
    format!("{file}{at}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Host {
        skip_verify: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[serde(default)]
        host: indexmap::IndexMap<String, Host>,
        #[serde(default)]
        list: Vec<Host>,
    }

    #[test]
    fn unknown_keys_are_reported_by_path() {
        let text = "mystery = 1\n[host.\"https://m.example\"]\nskip_verify = true\ncapabilitiez = []\n\
                    [[list]]\n[[list]]\nextra = { a = 1 }\n";
        let mut unknown = Vec::new();
        let doc: Doc = parse(text, &mut |p| unknown.push(p.to_string())).unwrap();
        assert_eq!(doc.host["https://m.example"].skip_verify, Some(true));
        assert_eq!(doc.list.len(), 2);
        assert_eq!(
            unknown,
            ["mystery", "host.\"https://m.example\".capabilitiez", "list[1].extra"]
        );
    }

    #[test]
    fn errors_name_the_key_and_the_place_but_no_value() {
        let text = "[host.\"https://u:s3cret@m\"]\nskip_verify = \"s3cret-yes\"\n";
        let e = parse::<Doc>(text, &mut |_| {}).unwrap_err().with_path("h.toml", text).to_string();
        assert_eq!(
            e,
            "h.toml, line 2, column 15: host.\"https://***@m\".skip_verify: invalid type: string, \
             expected a boolean"
        );
        let broken = "skip_verify = \n";
        let e = parse::<Doc>(broken, &mut |_| {}).unwrap_err().with_path("h.toml", broken);
        assert!(e.to_string().starts_with("h.toml, line 1, column "), "{e}");
    }
}
