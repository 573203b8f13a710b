//! The values of a hosts.toml that are not plain TOML types: containerd's
//! Go code takes a string or an array for some keys, and Go durations.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// A string or an array of strings (`capabilities`, `ca`, header values).
#[derive(Debug, Default, PartialEq)]
pub(super) struct Strings(pub(super) Vec<String>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Strings, D::Error> {
        struct Expect;
        impl<'de> Visitor<'de> for Expect {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Strings, E> {
                Ok(Strings(vec![s.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<Strings, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = a.next_element()? {
                    all.push(s);
                }
                Ok(Strings(all))
            }
        }
        d.deserialize_any(Expect)
    }
}

/// containerd's `client`: a path, paths, or [cert, key] pairs (an empty key
/// means the key is in the certificate's file).
#[derive(Debug, Default, PartialEq)]
pub(super) struct ClientPairs(pub(super) Vec<(String, String)>);

/// One entry of `client`.
struct ClientPair((String, String));

impl<'de> Deserialize<'de> for ClientPair {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<ClientPair, D::Error> {
        struct Expect;
        impl<'de> Visitor<'de> for Expect {
            type Value = ClientPair;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path or a [cert, key] pair")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<ClientPair, E> {
                Ok(ClientPair((s.to_string(), String::new())))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<ClientPair, A::Error> {
                let cert = a.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let key = a.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if a.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(ClientPair((cert, key)))
            }
        }
        d.deserialize_any(Expect)
    }
}

impl<'de> Deserialize<'de> for ClientPairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<ClientPairs, D::Error> {
        struct Expect;
        impl<'de> Visitor<'de> for Expect {
            type Value = ClientPairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path, an array of paths or an array of [cert, key] pairs")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<ClientPairs, E> {
                Ok(ClientPairs(vec![(s.to_string(), String::new())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<ClientPairs, A::Error> {
                let mut all = Vec::new();
                while let Some(ClientPair(pair)) = a.next_element()? {
                    all.push(pair);
                }
                Ok(ClientPairs(all))
            }
        }
        d.deserialize_any(Expect)
    }
}

/// Go's `time.ParseDuration` syntax (`500ms`, `1.5s`, `1m30s`), which
/// containerd uses for `dial_timeout`, in seconds; `None` when it is not
/// one or is outside the range ocimirror accepts for timeouts.
pub(super) fn go_duration_secs(text: &str) -> Option<f64> {
    let mut rest = text.trim();
    rest = rest.strip_prefix('+').unwrap_or(rest);
    // Go's "0" (and "0s", "0m0s" below): no timeout of its own, so
    // ocimirror's default applies.
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        total += n * match &rest[..unit] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit..];
    }
    (total < 86_400.0).then_some(total)
}
