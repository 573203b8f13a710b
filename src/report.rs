//! What commands report: plain data that `--json` serialises and the
//! printer at the edge (`cli/printer.rs`) turns into words. No command
//! prints; each returns one of these.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::digest::Digest;
use crate::fetch::ServedBy;
use crate::image::{MediaType, Platform};
use crate::plan::{Role, Source};
use crate::trace::Attempt;

/// The version of the JSON contract (`docs/json.md`), in every document
/// `--json` prints: raised when a field changes meaning or goes away, not
/// when one is added.
pub const SCHEMA_VERSION: u32 = 1;

/// A path in JSON: as text, with anything that is not UTF-8 replaced.
pub fn lossy_path<S: serde::Serializer>(path: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&path.display())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullReport {
    pub reference: String,
    /// The digest the reference resolved to.
    pub digest: Digest,
    pub media_type: MediaType,
    /// What the layout's entry points at: the platform's manifest, or the
    /// whole index with `--all-platforms`.
    pub image: ImageReport,
    #[serde(serialize_with = "lossy_path")]
    pub output: PathBuf,
    pub served_by: ServedBy,
    /// What the user is told whatever the output mode (an unconfirmed
    /// tag, a mirror overruled): on stderr, `-q` or not, and here.
    pub warnings: Vec<String>,
    /// What the hosts said about their rate limits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RateLimitReport>,
    /// What each source served, in the order they served first.
    pub sources: Vec<SourceTally>,
    pub attempts: Vec<Attempt>,
    pub blobs: Vec<BlobReport>,
    pub elapsed_ms: u64,
}

/// One host's rate limit, as its latest answer in the run said it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitReport {
    pub endpoint: String,
    #[serde(flatten)]
    pub limit: crate::registry::RateLimit,
    /// Under ten requests left, or a tenth of the limit: warned about.
    pub low: bool,
}

/// The rate limits the run's endpoints reported.
pub async fn rate_limits(session: &crate::fetch::Session) -> Vec<RateLimitReport> {
    session
        .rate_limits()
        .await
        .into_iter()
        .map(|(endpoint, limit)| RateLimitReport { endpoint, low: limit.is_low(), limit })
        .collect()
}

/// A warning for each host whose rate limit runs low.
pub fn rate_limit_warnings(limits: &[RateLimitReport]) -> Vec<String> {
    limits
        .iter()
        .filter(|r| r.low)
        .map(|r| format!("{}: rate limit low: {}", r.endpoint, r.limit.describe()))
        .collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReport {
    pub digest: Digest,
    pub media_type: MediaType,
    pub size: u64,
    pub platform: Option<Platform>,
    /// With `--format oci`: the digest of the Docker manifest as served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted_from: Option<Digest>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobReport {
    pub digest: Digest,
    pub size: u64,
    pub media_type: MediaType,
    /// The endpoint that served it, or `null` when it was already present.
    pub endpoint: Option<String>,
    /// Already present: in the layout, or in the blob cache.
    pub cached: bool,
    /// It came from the blob cache (linked or copied into the layout).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub from_cache: bool,
}

/// How much one source served in a pull.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceTally {
    pub endpoint: String,
    pub role: Role,
    /// Manifests fetched from it (the reference's, and index entries).
    pub manifests: usize,
    /// Blobs fetched from it (not counting those already present).
    pub blobs: usize,
    pub bytes: u64,
}

/// Adds up who served what: `manifests` are the endpoints that served each
/// manifest fetched, `blobs` the pull's blob reports.
pub fn tally(sources: &[Source], manifests: &[String], blobs: &[BlobReport]) -> Vec<SourceTally> {
    let mut out: Vec<SourceTally> = Vec::new();
    fn entry<'a>(
        out: &'a mut Vec<SourceTally>,
        sources: &[Source],
        endpoint: &str,
    ) -> &'a mut SourceTally {
        let i = match out.iter().position(|t| t.endpoint == endpoint) {
            Some(i) => i,
            None => {
                let role = sources
                    .iter()
                    .find(|s| s.display() == endpoint)
                    .map_or(Role::Mirror, |s| s.role);
                let t = SourceTally {
                    endpoint: endpoint.into(),
                    role,
                    manifests: 0,
                    blobs: 0,
                    bytes: 0,
                };
                out.push(t);
                out.len() - 1
            }
        };
        &mut out[i]
    }
    for m in manifests {
        entry(&mut out, sources, m).manifests += 1;
    }
    for b in blobs {
        if let Some(endpoint) = &b.endpoint {
            let t = entry(&mut out, sources, endpoint);
            t.blobs += 1;
            t.bytes += b.size;
        }
    }
    out
}

/// Blobs fetched per endpoint, as the layout records it
/// (`io.ocimirror.blob-sources`) and `ls` reads it back.
pub fn blob_counts(tally: &[SourceTally]) -> BTreeMap<String, usize> {
    tally.iter().filter(|t| t.blobs > 0).map(|t| (t.endpoint.clone(), t.blobs)).collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolveReport {
    pub reference: String,
    pub digest: Digest,
    pub media_type: MediaType,
    pub size: usize,
    pub served_by: ServedBy,
    pub warnings: Vec<String>,
    pub attempts: Vec<Attempt>,
    pub elapsed_ms: u64,
}

/// One entry of a layout's index.json, for `ls`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LsEntry {
    pub name: Option<String>,
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub platform: Option<String>,
    pub source: Option<String>,
    pub trust: Option<String>,
    /// Blobs fetched per endpoint when it was pulled (empty when unknown:
    /// pulled by an older version, or every blob was already present).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub blob_sources: BTreeMap<String, usize>,
}

/// `inspect`: one image, as `skopeo inspect` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectReport {
    /// The reference, or the layout's name for the image.
    pub name: String,
    /// What the name points at: an image manifest or an index.
    pub digest: Digest,
    pub media_type: MediaType,
    /// The image shown: `digest` itself, or the index's entry for the platform.
    pub image_digest: Digest,
    pub image_media_type: MediaType,
    /// As the image config says it.
    pub platform: Option<Platform>,
    /// Of an index: every platform it offers; else empty.
    pub platforms: Vec<String>,
    pub created: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub config: InspectedLayer,
    pub layers: Vec<InspectedLayer>,
    /// Config and layers, in bytes (compressed, as stored).
    pub size: u64,
    /// Remote: who served the manifest; `null` for a layout's image.
    pub served_by: Option<ServedBy>,
    /// A layout's image: the endpoint it was pulled from, if recorded.
    pub source: Option<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectedLayer {
    pub digest: Digest,
    pub size: u64,
    pub media_type: MediaType,
}

/// `export`: what the archive holds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveReport {
    /// One per name, in the archive's `index.json` order.
    pub images: Vec<ArchivedImage>,
    /// Blobs written (each once, however many images share it).
    pub blobs: usize,
    /// The archive's size.
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedImage {
    pub name: String,
    /// What the name points at: an image, or a whole index.
    pub digest: Digest,
    pub media_type: MediaType,
    pub platform: Option<Platform>,
    /// The image `docker load` gets (`manifest.json`): the entry itself, or
    /// one platform's image of an index; `null` when docker cannot load it.
    pub docker_image: Option<Digest>,
    /// The name `docker load` gives it; `null` for a name with a digest.
    pub repo_tag: Option<String>,
}

/// `--dry-run` and `mirrors REF`: the plan, without network.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanReport {
    pub reference: String,
    /// The reference's registry, for "no fallback to ...".
    #[serde(skip)]
    pub registry: String,
    pub fallback: bool,
    pub sources: Vec<PlannedSource>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedSource {
    #[serde(flatten)]
    pub source: Source,
    /// The manifest URLs that would be tried, in order.
    pub urls: Vec<String>,
}

/// The plan as `--dry-run` shows it: the hosts in order and the manifest
/// URLs each would be asked.
pub fn plan(plan: &crate::plan::Plan) -> PlanReport {
    PlanReport {
        reference: plan.reference.to_string(),
        registry: plan.reference.registry.clone(),
        fallback: plan.fallback,
        sources: plan
            .sources
            .iter()
            .map(|s| PlannedSource { source: s.clone(), urls: plan.manifest_urls(s) })
            .collect(),
    }
}

/// `mirrors` without a reference: every rule.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorsReport {
    #[serde(serialize_with = "lossy_paths")]
    pub files: Vec<PathBuf>,
    pub warnings: Vec<String>,
    pub registries: Vec<RuleReport>,
    /// Where the configuration file is looked for when none was found.
    #[serde(skip)]
    pub default_path: Option<PathBuf>,
    /// What host memory holds (facts not yet expired).
    pub remembered: Vec<RememberedHost>,
    /// The host memory's file, if there is a cache directory.
    #[serde(serialize_with = "lossy_optional_path")]
    pub memory_file: Option<PathBuf>,
}

fn lossy_optional_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.collect_str(&p.display()),
        None => s.serialize_none(),
    }
}

/// One host in memory, and what is remembered about it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RememberedHost {
    pub endpoint: String,
    pub facts: Vec<RememberedFact>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RememberedFact {
    pub kind: crate::memory::FactKind,
    pub why: String,
    /// RFC 3339, UTC.
    pub learned: String,
    pub until: String,
    pub until_ms: u64,
}

/// What memory holds at `now`, for `ocimirror mirrors`.
pub fn remembered(memory: &crate::memory::Memory, now_ms: u64) -> Vec<RememberedHost> {
    use crate::units::utc;
    memory
        .hosts
        .keys()
        .map(|endpoint| RememberedHost {
            endpoint: endpoint.clone(),
            facts: memory
                .live(endpoint, now_ms)
                .map(|f| RememberedFact {
                    kind: f.kind,
                    why: f.why.clone(),
                    learned: utc(f.learned_ms),
                    until: utc(f.until_ms),
                    until_ms: f.until_ms,
                })
                .collect(),
        })
        .filter(|h| !h.facts.is_empty())
        .collect()
}

/// `mirrors forget`: the endpoints whose memory was cleared.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForgetReport {
    pub forgotten: Vec<String>,
}

fn lossy_paths<S: serde::Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(paths.iter().map(|p| p.display().to_string()))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleReport {
    /// `*` for `[defaults]`.
    pub registry: String,
    pub mirrors: Vec<MirrorReport>,
    pub fallback: bool,
    pub endpoint: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorReport {
    pub url: String,
    pub origin: String,
}

/// `mirrors check`: every source probed, and what a pull would make of it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// `null` without a reference (then only `/v2/` was asked).
    pub reference: Option<String>,
    pub sources: Vec<CheckedSource>,
    /// False when a source is unreachable or misconfigured (exit 1).
    pub healthy: bool,
    pub attempts: Vec<Attempt>,
}

/// What a pull would make of a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceVerdict {
    /// It serves the reference (as the walk asks: with `ns`, or without
    /// after an old registry rejected it).
    Serves,
    NotFound,
    Denied,
    /// Not asked for the reference (a digest-only mirror and a tag).
    NotAsked,
    /// It answered `/v2/`; no reference was given.
    Reachable,
    Unreachable,
    /// Nothing could be sent: its settings are broken (say, a `ca_file`
    /// that cannot be read).
    Misconfigured,
    /// It answered, but not usably (5xx, a broken manifest, ...).
    Failed,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedSource {
    pub endpoint: String,
    pub role: Role,
    pub origin: String,
    pub verdict: SourceVerdict,
    pub reachable: bool,
    pub latency_ms: Option<u64>,
    pub tls: bool,
    /// `GET /v2/` answered 401.
    pub auth_required: Option<bool>,
    pub has_credentials: bool,
    /// `true` when it echoed `OCI-Namespace` for the registry, `false` when
    /// `ns` was sent without an echo, `null` when `ns` was not sent.
    pub ns_honored: Option<bool>,
    /// How it deals with `ns`, as far as the check could tell.
    pub ns: Option<crate::fetch::NsSupport>,
    /// Whether it has the reference: `null` when that cannot be told
    /// (credentials, failures, not asked).
    pub has_reference: Option<bool>,
    /// The manifest digest it serves for the reference.
    pub digest: Option<Digest>,
    /// For a tag a mirror serves: how far a pull would trust its answer.
    pub trust: Option<crate::fetch::Trust>,
    /// For a tag a mirror serves that the registry disagrees with: what the
    /// registry says (a digest, or that it has no such tag).
    pub collision: Option<String>,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// What it said about its rate limit, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<crate::registry::RateLimit>,
}

/// Every rule of the configuration, `[defaults]` first (as `*`), and what
/// host memory holds.
pub fn mirrors(
    c: &crate::config::Config,
    remembered: Vec<RememberedHost>,
    memory_file: Option<PathBuf>,
) -> MirrorsReport {
    let rule = |name: &str, rule: &crate::config::RegistryRule| RuleReport {
        registry: name.to_string(),
        mirrors: c
            .cli_mirrors
            .iter()
            .chain(rule.mirrors.iter())
            .filter(|_| !c.no_mirrors)
            .map(|m| MirrorReport { url: m.url.clone(), origin: m.origin.clone() })
            .collect(),
        fallback: c.fallback(rule),
        endpoint: rule.endpoint.clone(),
    };
    let mut registries = vec![rule("*", &c.default_rule)];
    registries.extend(c.registries.iter().map(|(k, r)| rule(k, r)));
    MirrorsReport {
        files: c.files.clone(),
        warnings: c.warnings.clone(),
        registries,
        default_path: crate::config::default_path(),
        remembered,
        memory_file,
    }
}

/// An error as `--json` shows it: alone (`{"error": ...}`) or for one
/// image of a batch.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    /// `usage`, `not-found`, `denied`, `failure` or `interrupted`.
    pub kind: crate::error::ErrorKind,
    pub exit_code: i32,
    pub message: String,
    /// Each source's answer, when the failure is a walk's; else empty.
    pub answers: Vec<Attempt>,
}

impl ErrorReport {
    pub fn of(e: &crate::error::Error) -> ErrorReport {
        let kind = e.kind();
        ErrorReport {
            kind,
            exit_code: crate::exit::code_for(kind),
            message: e.to_string(),
            answers: e.answers().to_vec(),
        }
    }
}

/// `pull` with several references (or `-f`, `--locked`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchReport {
    /// One per reference, in the order given.
    pub images: Vec<BatchEntry>,
    pub pulled: usize,
    pub failed: usize,
    #[serde(serialize_with = "lossy_path")]
    pub output: PathBuf,
    pub elapsed_ms: u64,
}

/// A pulled image's report, or `{"reference", "error"}`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum BatchEntry {
    Pulled(Box<PullReport>),
    Failed { reference: String, error: ErrorReport },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedReference {
    pub reference: String,
    pub error: ErrorReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(endpoint: Option<&str>, size: u64) -> BlobReport {
        BlobReport {
            digest: Digest::sha256(&size.to_le_bytes()),
            size,
            media_type: MediaType::parse("m"),
            endpoint: endpoint.map(String::from),
            cached: endpoint.is_none(),
            from_cache: false,
        }
    }

    #[test]
    fn tally_counts_what_each_source_served() {
        let blobs = [blob(Some("https://r"), 10), blob(None, 5), blob(Some("http://m"), 3)];
        let t = tally(&[], &["http://m".to_string()], &blobs);
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].endpoint.as_str(), t[0].manifests, t[0].blobs, t[0].bytes),
            ("http://m", 1, 1, 3)
        );
        assert_eq!(
            (t[1].endpoint.as_str(), t[1].manifests, t[1].blobs, t[1].bytes),
            ("https://r", 0, 1, 10)
        );
        let counts = blob_counts(&t);
        assert_eq!(counts.get("https://r"), Some(&1));
        assert_eq!(counts.len(), 2);
    }
}
