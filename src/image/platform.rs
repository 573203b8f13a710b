//! Platforms (`os/arch[/variant]`), normalised like containerd so that
//! `arm64`, `arm64/v8` and `aarch64` are one platform, and the choice of an
//! index entry for one.

use std::fmt;
use std::str::FromStr;

use super::Descriptor;

/// The longest os, architecture or variant kept (`linux`, `riscv64`, `v8`).
const MAX_FIELD: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// A platform with names normalised: `x86_64` -> `amd64`,
    /// `aarch64`/`arm64/v8` -> `arm64`, `armhf`/`arm` -> `arm/v7`.
    pub fn new(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        // Often the server's text (an index entry, an image config): kept
        // only as it may be shown. Real names are short and plain, so
        // matching is unaffected.
        let clean = |s: &str| crate::text::shown_max(&s.to_ascii_lowercase(), MAX_FIELD);
        let os = clean(os);
        let arch = clean(arch);
        let variant = variant.map(clean).filter(|v| !v.is_empty());
        let (architecture, variant) = match (arch.as_str(), variant.as_deref()) {
            ("x86_64" | "x86-64" | "amd64", None | Some("v1")) => ("amd64".to_string(), None),
            ("x86_64" | "x86-64" | "amd64", Some(v)) => ("amd64".to_string(), Some(v.to_string())),
            ("aarch64" | "arm64", None | Some("v8" | "8" | "v8.0")) => ("arm64".to_string(), None),
            ("aarch64" | "arm64", Some(v)) => ("arm64".to_string(), Some(v.to_string())),
            ("armhf", _) => ("arm".to_string(), Some("v7".to_string())),
            ("armel", _) => ("arm".to_string(), Some("v6".to_string())),
            ("arm", None) => ("arm".to_string(), Some("v7".to_string())),
            ("arm", Some(v)) => {
                let v = if v.starts_with('v') { v.to_string() } else { format!("v{v}") };
                ("arm".to_string(), Some(v))
            }
            ("i386" | "i686" | "x86", _) => ("386".to_string(), None),
            ("loongarch64", v) => ("loong64".to_string(), v.map(str::to_string)),
            (a, v) => (a.to_string(), v.map(str::to_string)),
        };
        Platform { os, architecture, variant }
    }

    /// The platform this program runs on.
    pub fn host() -> Platform {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            other => other,
        };
        Platform::new(std::env::consts::OS, arch, None)
    }

    /// Attestations and other non-runnable entries carry `unknown/unknown`.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" || self.architecture == "unknown"
    }

    /// What can run here, best first, as containerd orders it: the platform
    /// itself, then older variants of its architecture (amd64/v3 -> v2 ->
    /// v1, arm/v7 -> v6 -> v5), then what the CPU also runs (amd64 -> 386,
    /// arm64 -> arm/v8 .. arm/v5).
    pub fn compatible(&self) -> Vec<Platform> {
        let with = |arch: &str, variant: Option<String>| Platform {
            os: self.os.clone(),
            architecture: arch.to_string(),
            variant,
        };
        let level =
            |v: &Option<String>| -> Option<u32> { v.as_deref()?.strip_prefix('v')?.parse().ok() };
        let mut out = vec![self.clone()];
        match self.architecture.as_str() {
            "amd64" => {
                if let Some(n) = level(&self.variant) {
                    out.extend((2..n).rev().map(|i| with("amd64", Some(format!("v{i}")))));
                    out.push(with("amd64", None));
                }
                out.push(with("386", None));
            }
            "arm" => {
                if let Some(n) = level(&self.variant) {
                    out.extend((5..n).rev().map(|i| with("arm", Some(format!("v{i}")))));
                }
            }
            "arm64" if self.variant.is_none() => {
                out.extend((5..=8).rev().map(|i| with("arm", Some(format!("v{i}")))));
            }
            _ => {}
        }
        out
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A platform the user typed that is not `os/arch[/variant]`. The text is
/// the user's own, so `{:?}` quoting is all it needs.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid platform {0:?}: expected os/arch or os/arch/variant, e.g. linux/arm64 or linux/arm/v7"
)]
pub struct PlatformError(pub String);

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Platform, PlatformError> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform::new(os, arch, None)),
            [os, arch, v] if ok(os) && ok(arch) && ok(v) => Ok(Platform::new(os, arch, Some(v))),
            _ => Err(PlatformError(s.to_string())),
        }
    }
}

/// Is this index entry an attestation or other non-image entry?
pub fn is_attestation(d: &Descriptor) -> bool {
    d.annotations.contains_key("vnd.docker.reference.type")
        || d.platform.as_ref().is_some_and(Platform::is_unknown)
}

/// The entry of an index to use for `want`, as containerd picks it: the one
/// that matches the best of `want`'s compatible platforms (the first such
/// in index order), else the first entry that names no platform.
/// Attestations never match.
pub fn choose<'a>(manifests: &'a [Descriptor], want: &Platform) -> Option<&'a Descriptor> {
    let candidates = want.compatible();
    let entries = || manifests.iter().filter(|d| !is_attestation(d));
    let rank =
        |d: &Descriptor| d.platform.as_ref().and_then(|p| candidates.iter().position(|c| c == p));
    entries()
        .filter_map(|d| rank(d).map(|r| (r, d)))
        .min_by_key(|&(r, _)| r)
        .map(|(_, d)| d)
        .or_else(|| entries().find(|d| d.platform.is_none()))
}

/// The platforms an index offers, for "not available" messages and JSON
/// reports: each once (a hostile index may list one platform thousands of
/// times), in index order, made safe to show (platform fields are the
/// server's text).
pub fn offered(manifests: &[Descriptor]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    manifests
        .iter()
        .filter(|d| !is_attestation(d))
        .filter_map(|d| d.platform.as_ref())
        .filter(|p| seen.insert(*p))
        .map(|p| crate::text::shown(&p.to_string()))
        .collect()
}

/// `offered` as one line for a message, capped at `text::MAX_LISTED`.
pub fn offered_list(manifests: &[Descriptor]) -> String {
    crate::text::shown_list(offered(manifests))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::image::MediaType;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn normalises_like_containerd() {
        assert_eq!(p("linux/arm64/v8"), p("linux/arm64"));
        assert_eq!(p("linux/aarch64"), p("linux/arm64"));
        assert_eq!(p("linux/x86_64"), p("linux/amd64"));
        assert_eq!(p("linux/arm"), p("linux/arm/v7"));
        assert_eq!(p("linux/armhf"), p("linux/arm/v7"));
        assert_ne!(p("linux/arm/v6"), p("linux/arm/v7"));
        assert_eq!(p("linux/arm64").to_string(), "linux/arm64");
        assert_eq!(p("linux/arm").to_string(), "linux/arm/v7");
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux/amd64/v2/x".parse::<Platform>().is_err());
        assert!("linux//v7".parse::<Platform>().is_err());
    }

    fn with_annotation(plat: Platform, attestation: bool) -> Descriptor {
        Descriptor {
            media_type: MediaType::parse("m"),
            digest: Digest::sha256(plat.to_string().as_bytes()),
            size: 1,
            platform: Some(plat),
            annotations: if attestation {
                [("vnd.docker.reference.type".to_string(), "attestation-manifest".to_string())]
                    .into()
            } else {
                Default::default()
            },
        }
    }

    #[test]
    fn never_chooses_attestations() {
        let d = with_annotation;
        let list = vec![
            d(Platform::new("unknown", "unknown", None), true),
            d(p("linux/amd64"), false),
            d(p("linux/arm64/v8"), false),
        ];
        assert_eq!(choose(&list, &p("linux/arm64")).unwrap().digest, list[2].digest);
        assert!(choose(&list, &Platform::new("unknown", "unknown", None)).is_none());
        assert_eq!(offered(&list), vec!["linux/amd64", "linux/arm64"]);
    }

    fn entry(platform: Option<&str>) -> Descriptor {
        Descriptor {
            media_type: MediaType::OciManifest,
            digest: Digest::sha256(format!("{platform:?}").as_bytes()),
            size: 1,
            platform: platform.map(p),
            annotations: Default::default(),
        }
    }

    #[test]
    fn compatible_platforms_in_containerds_order() {
        let names = |s: &str| p(s).compatible().iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(
            names("linux/amd64/v3"),
            ["linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"]
        );
        assert_eq!(names("linux/amd64"), ["linux/amd64", "linux/386"]);
        assert_eq!(names("linux/arm/v7"), ["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]);
        assert_eq!(
            names("linux/arm64"),
            ["linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]
        );
        assert_eq!(names("linux/riscv64"), ["linux/riscv64"]);
    }

    #[test]
    fn chooses_the_best_compatible_entry_then_one_without_a_platform() {
        let index =
            [entry(Some("linux/arm/v6")), entry(Some("linux/arm/v7")), entry(Some("linux/386"))];
        let chosen = |want: &str, from: &[Descriptor]| {
            choose(from, &p(want)).and_then(|d| d.platform.clone()).map(|p| p.to_string())
        };
        assert_eq!(chosen("linux/arm/v7", &index).as_deref(), Some("linux/arm/v7"), "exact first");
        assert_eq!(chosen("linux/arm/v7", &index[..1]).as_deref(), Some("linux/arm/v6"));
        assert_eq!(chosen("linux/arm64", &index).as_deref(), Some("linux/arm/v7"));
        assert_eq!(chosen("linux/amd64/v3", &index).as_deref(), Some("linux/386"));
        assert_eq!(chosen("linux/arm/v5", &index), None, "never a newer variant");
        let bare = [entry(Some("linux/s390x")), entry(None)];
        assert!(choose(&bare, &p("linux/amd64")).is_some_and(|d| d.platform.is_none()));
        assert!(choose(&bare, &p("linux/s390x")).is_some_and(|d| d.platform.is_some()));
        // As an index entry may spell it.
        assert_eq!(Platform::new("linux", "arm64", Some("v8.0")), p("linux/arm64"));
    }

    #[test]
    fn offered_platforms_are_listed_once_and_shown_safely() {
        let mut index: Vec<Descriptor> = (0..150).map(|_| entry(Some("linux/amd64"))).collect();
        // Spelled differently, one platform once normalised.
        index.push(entry(Some("linux/x86_64")));
        index.push(entry(Some("linux/arm64")));
        index.push(entry(None));
        let hostile = Platform::new("linux\u{1b}]0;owned\u{7}", "amd64", None);
        index.push(with_annotation(hostile, false));
        let offers = offered(&index);
        assert_eq!(offers[..2], ["linux/amd64", "linux/arm64"]);
        assert_eq!(offers.len(), 3, "{offers:?}");
        assert!(!offers[2].chars().any(char::is_control), "{:?}", offers[2]);
        assert!(offers[2].starts_with("linux\\u{1b}]0;owned"), "{:?}", offers[2]);
        assert!(offered_list(&index).starts_with("linux/amd64, linux/arm64, linux\\u{1b}"));
    }
}
