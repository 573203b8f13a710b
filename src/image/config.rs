//! The one thing ocimirror needs from an image config: its platform.
//!
//! A config is a blob like any other and can be as large as a mirror makes
//! it (a history of a million entries, say). So it is read from a stream,
//! with a cap, into a struct of three strings: serde skips every other
//! field without building it, and nothing holds the whole config.

use std::io::{BufReader, Read};

use serde::Deserialize;

use super::{ImageError, Platform};

/// The fields of an image config that say what it runs on. Absent ones
/// are empty, as Go would leave them.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfigPlatform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

/// The platform an image config names (`os`, `architecture`, `variant`),
/// or `None` when it names none. Reads at most `cap` bytes: a config
/// larger than that is refused.
pub fn config_platform(reader: impl Read, cap: u64) -> Result<Option<Platform>, ImageError> {
    let mut capped = Capped { inner: reader, left: cap, over: false };
    let parsed = serde_json::from_reader::<_, ConfigPlatform>(BufReader::new(&mut capped));
    if capped.over {
        return Err(ImageError::TooLarge { what: "image config", limit: cap });
    }
    let config = parsed.map_err(|e| match e.io_error_kind() {
        Some(_) => ImageError::Read { what: "image config", detail: e.to_string() },
        None => ImageError::not_json("image config", &e),
    })?;
    if config.os.is_empty() || config.architecture.is_empty() {
        return Ok(None);
    }
    Ok(Some(Platform::new(&config.os, &config.architecture, config.variant.as_deref())))
}

/// What `inspect` shows of an image config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigSummary {
    pub platform: Option<Platform>,
    /// As the config says it (RFC 3339), unchecked.
    pub created: Option<String>,
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfigFields {
    #[serde(flatten)]
    platform: ConfigPlatform,
    created: Option<String>,
    config: RunConfig,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RunConfig {
    #[serde(rename = "Labels")]
    labels: Option<std::collections::BTreeMap<String, String>>,
}

/// The platform, creation time and labels of an image config (at most
/// `cap` bytes of it are read).
pub fn config_summary(reader: impl Read, cap: u64) -> Result<ConfigSummary, ImageError> {
    let mut capped = Capped { inner: reader, left: cap, over: false };
    let parsed = serde_json::from_reader::<_, ConfigFields>(BufReader::new(&mut capped));
    if capped.over {
        return Err(ImageError::TooLarge { what: "image config", limit: cap });
    }
    let c = parsed.map_err(|e| ImageError::not_json("image config", &e))?;
    let p = &c.platform;
    let platform = (!p.os.is_empty() && !p.architecture.is_empty())
        .then(|| Platform::new(&p.os, &p.architecture, p.variant.as_deref()));
    Ok(ConfigSummary { platform, created: c.created, labels: c.config.labels.unwrap_or_default() })
}

/// A reader that fails, and says so, once more than `left` bytes come.
struct Capped<R> {
    inner: R,
    left: u64,
    over: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // One byte past the cap is asked for, to tell "exactly at the cap"
        // from "over it".
        let room = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            self.over = true;
            return Err(std::io::Error::other("over the size cap"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(json: &[u8], cap: u64) -> Result<Option<String>, ImageError> {
        config_platform(json, cap).map(|p| p.map(|p| p.to_string()))
    }

    #[test]
    fn reads_os_architecture_and_variant() {
        let config = br#"{"architecture":"aarch64","os":"linux","variant":"v8","rootfs":{}}"#;
        assert_eq!(platform(config, 1024).unwrap().as_deref(), Some("linux/arm64"));
        let arm = br#"{"os":"linux","architecture":"arm","variant":"v6"}"#;
        assert_eq!(platform(arm, 1024).unwrap().as_deref(), Some("linux/arm/v6"));
        assert_eq!(platform(br#"{"os":"linux"}"#, 1024).unwrap(), None, "no architecture");
        assert_eq!(platform(b"{}", 1024).unwrap(), None);
        assert!(matches!(platform(b"not json", 1024), Err(ImageError::NotJson { .. })));
        assert!(matches!(platform(br#"{"os":5}"#, 1024), Err(ImageError::NotJson { .. })));
    }

    #[test]
    fn skips_what_it_does_not_need_without_building_it() {
        // A `history` nested deeper than serde_json builds a Value for
        // (its recursion limit is 128), plus a 2 MiB string: were the
        // config read into a Value, this would fail.
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let huge = "x".repeat(2 << 20);
        let config = format!(
            r#"{{"history":{deep},"comment":"{huge}","os":"linux","architecture":"amd64"}}"#
        );
        assert!(serde_json::from_str::<serde_json::Value>(&config).is_err(), "the premise");
        let cap = config.len() as u64;
        assert_eq!(platform(config.as_bytes(), cap).unwrap().as_deref(), Some("linux/amd64"));
    }

    #[test]
    fn a_config_over_the_cap_is_refused() {
        let config =
            format!(r#"{{"os":"linux","architecture":"amd64","pad":"{}"}}"#, "x".repeat(4096));
        let len = config.len() as u64;
        assert!(platform(config.as_bytes(), len).is_ok(), "exactly at the cap");
        let e = platform(config.as_bytes(), len - 1).unwrap_err();
        assert_eq!(e, ImageError::TooLarge { what: "image config", limit: len - 1 });
        // Over the cap even when the fields wanted came first.
        assert!(platform(config.as_bytes(), 100).is_err());
    }
}
