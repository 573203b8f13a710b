//! Lock files: which digest each tag meant, the platform images chosen,
//! who served it and how far it was trusted, and when. `ocimirror lock`
//! writes one; `pull --locked` pulls exactly those digests (by digest, so
//! through any mirror, with no tag to confirm, the registry unreachable or
//! not); `lock --check` says which tags now point elsewhere.
//!
//! The format is TOML, one `[[image]]` table per reference, sorted by
//! reference, so that a change diffs as the entries that changed.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::fetch::{Fetcher, Resolution, Session};
use crate::image::{MediaType, Platform};
use crate::plan::Plan;
use crate::pull::{Pinned, PlatformChoice, PullItem};
use crate::reference::Reference;
use crate::report::{ErrorReport, FailedReference, lossy_path};
use std::path::PathBuf;

pub const DEFAULT_FILE: &str = "ocimirror.lock";
const VERSION: u32 = 1;
/// A lock file is small (a line or two per image); one larger than this is
/// not one.
const MAX_LOCK_FILE: u64 = 16 << 20;

/// The file as written.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub version: u32,
    #[serde(default, rename = "image")]
    pub images: Vec<Locked>,
}

/// One reference, resolved.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    /// The reference as given, fully qualified (`docker.io/library/alpine:3.20`).
    pub reference: String,
    /// What it resolved to: an index or an image manifest.
    pub digest: Digest,
    pub media_type: String,
    /// The platform kept (`linux/amd64`), or `all` (`--all-platforms`).
    pub platform: String,
    /// The image manifests chosen under `digest`.
    pub images: Vec<Digest>,
    /// The endpoint that served the manifest, and the trust it had.
    pub source: String,
    pub trust: String,
    /// When it was resolved, UTC (RFC 3339).
    pub resolved_at: String,
}

const HEADER: &str = "\
# ocimirror lock file: the digest each reference resolved to, written by
# `ocimirror lock`. `ocimirror pull --locked FILE` pulls exactly these digests;
# `ocimirror lock --check FILE` tells which tags now point elsewhere.
";

impl LockFile {
    pub fn read(path: &Path) -> Result<LockFile> {
        let text = read_small(path)?;
        let file: LockFile = toml::from_str(&text)
            .map_err(|e| crate::config::toml_error(&path.display().to_string(), &text, &e))?;
        if file.version != VERSION {
            return Err(Error::Config(format!(
                "{}: lock file version {} is not one this ocimirror reads (version {VERSION})",
                path.display(),
                file.version
            )));
        }
        Ok(file)
    }

    /// Writes the file atomically: a temporary file beside it, renamed.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut sorted = self.clone();
        sorted.version = VERSION;
        sorted.images.sort_by(|a, b| a.reference.cmp(&b.reference));
        let body = toml::to_string(&sorted)
            .map_err(|e| Error::Failed(format!("cannot encode the lock file: {e}")))?;
        let pending = crate::archive::PendingFile::create(path)?;
        use std::io::Write as _;
        pending
            .writer()?
            .write_all(format!("{HEADER}\n{body}").as_bytes())
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        pending.commit()
    }
}

fn read_small(path: &Path) -> Result<String> {
    let cannot = |e| Error::Config(format!("cannot read lock file {}: {e}", path.display()));
    let len = std::fs::metadata(path).map_err(cannot)?.len();
    if len > MAX_LOCK_FILE {
        return Err(Error::Config(format!("{} is too large for a lock file", path.display())));
    }
    std::fs::read_to_string(path).map_err(cannot)
}

/// Resolves `plan`'s reference and chooses its platform images, as a pull
/// would, without fetching a blob: the lock entry for it.
pub async fn lock_one(
    session: Arc<Session>,
    plan: Plan,
    platform: PlatformChoice,
) -> Result<Locked> {
    let fetcher = Fetcher::new(session, Arc::new(plan));
    let Resolution { manifest, host, served_by, warnings } = fetcher.resolve().await?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let order = fetcher.order(Some(host));
    let selection = crate::pull::select(
        &fetcher,
        None,
        &manifest,
        &served_by.endpoint,
        &platform,
        &order,
        None,
    )
    .await?;
    Ok(Locked {
        reference: fetcher.plan().reference.to_string(),
        digest: manifest.digest.clone(),
        media_type: manifest.media_type.to_string(),
        platform: match &platform {
            PlatformChoice::All => "all".into(),
            PlatformChoice::One(p) => selection.platform.as_ref().unwrap_or(p).to_string(),
        },
        images: selection.images.iter().map(|m| m.digest.clone()).collect(),
        source: served_by.endpoint,
        trust: served_by.trust.name().to_string(),
        resolved_at: rfc3339(SystemTime::now()),
    })
}

/// The pull of one locked entry: by its digest, named by its reference,
/// pinned to the platform images recorded.
pub fn pull_item(config: &Config, locked: &Locked) -> Result<PullItem> {
    let mut reference: Reference = locked.reference.parse()?;
    reference.digest = Some(locked.digest.clone());
    let plan = Plan::new(config, &reference)?;
    let platform = match locked.platform.as_str() {
        "all" => PlatformChoice::All,
        p => PlatformChoice::One(p.parse::<Platform>().map_err(|e| {
            Error::Config(format!("lock entry {}: {e}", crate::text::shown(&locked.reference)))
        })?),
    };
    Ok(PullItem {
        plan,
        name: Some(locked.reference.clone()),
        pinned: Some(Pinned { images: locked.images.clone() }),
        platform: Some(platform),
    })
}

/// `lock`: what was written, and what could not be resolved.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockReport {
    #[serde(serialize_with = "lossy_path")]
    pub file: PathBuf,
    pub images: Vec<Locked>,
    pub failed: Vec<FailedReference>,
    /// Whether the file was written (only when every reference resolved).
    pub written: bool,
}

/// `lock --check`: the tags that moved.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockCheckReport {
    #[serde(serialize_with = "lossy_path")]
    pub file: PathBuf,
    pub moved: Vec<Moved>,
    pub unchanged: usize,
    pub failed: Vec<FailedReference>,
}

/// A locked entry whose tag, resolved again, gives another digest.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    pub reference: String,
    pub locked: Digest,
    pub now: Digest,
    pub source: String,
}

/// Does `locked`'s tag still give its digest? `None` when it does.
async fn check_one(session: Arc<Session>, plan: Plan, locked: &Locked) -> Result<Option<Moved>> {
    let fetcher = Fetcher::new(session, Arc::new(plan));
    let r = fetcher.resolve().await?;
    let now = r.manifest.digest_in(locked.digest.algorithm());
    Ok((now != locked.digest).then(|| Moved {
        reference: locked.reference.clone(),
        locked: locked.digest.clone(),
        now,
        source: r.served_by.endpoint,
    }))
}

/// How many references are resolved at once (as for a batch pull).
const RESOLVING_AT_ONCE: usize = 8;

/// Runs `each` over `items`, a few at a time, in one session; results in
/// the items' order.
async fn bounded<I, T, F, Fut>(config: Config, items: Vec<I>, each: F) -> Vec<(String, Result<T>)>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(Arc<Session>, I) -> (String, Fut),
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let session = Arc::new(Session::new(config));
    let mut pending = items.into_iter().enumerate();
    let mut running = tokio::task::JoinSet::new();
    let mut done = Vec::new();
    loop {
        while running.len() < RESOLVING_AT_ONCE
            && let Some((i, item)) = pending.next()
        {
            let (name, work) = each(session.clone(), item);
            running.spawn(async move { (i, name, work.await) });
        }
        match running.join_next().await {
            None => break,
            Some(Ok(finished)) => done.push(finished),
            Some(Err(e)) => {
                let stopped = Error::Failed(format!("resolving stopped: {e}"));
                done.push((usize::MAX, String::new(), Err(stopped)));
            }
        }
    }
    done.sort_by_key(|(i, _, _)| *i);
    done.into_iter().map(|(_, name, r)| (name, r)).collect()
}

/// `lock`: every plan's entry; the file is written only when every one
/// resolved.
pub async fn lock_all(
    config: Config,
    plans: Vec<Plan>,
    platform: &PlatformChoice,
    file: &Path,
) -> Result<LockReport> {
    let platform = platform.clone();
    let results = bounded(config, plans, |session, plan| {
        let name = plan.reference.to_string();
        (name, lock_one(session, plan, platform.clone()))
    })
    .await;
    let (mut images, mut failed) = (Vec::new(), Vec::new());
    for (reference, result) in results {
        match result {
            Ok(locked) => images.push(locked),
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(e) => failed.push(FailedReference { reference, error: ErrorReport::of(&e) }),
        }
    }
    let written = failed.is_empty();
    if written {
        LockFile { version: VERSION, images: images.clone() }.write(file)?;
    }
    Ok(LockReport { file: file.to_path_buf(), images, failed, written })
}

/// `lock --check`: each entry's tag resolved again.
pub async fn check_all(
    config: Config,
    entries: Vec<Locked>,
    file: &Path,
) -> Result<LockCheckReport> {
    let plans: Vec<(Plan, Locked)> = entries
        .into_iter()
        .map(|l| Ok((Plan::new(&config, &l.reference.parse()?)?, l)))
        .collect::<Result<_>>()?;
    let results = bounded(config, plans, |session, (plan, locked)| {
        (locked.reference.clone(), async move { check_one(session, plan, &locked).await })
    })
    .await;
    let mut report = LockCheckReport {
        file: file.to_path_buf(),
        moved: Vec::new(),
        unchanged: 0,
        failed: Vec::new(),
    };
    for (reference, result) in results {
        match result {
            Ok(Some(moved)) => report.moved.push(moved),
            Ok(None) => report.unchanged += 1,
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(e) => report.failed.push(FailedReference { reference, error: ErrorReport::of(&e) }),
        }
    }
    Ok(report)
}

/// Whether `media_type` names an index (for what `lock` prints).
pub fn is_index(media_type: &str) -> bool {
    MediaType::parse(media_type).is_index()
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ`, UTC.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_date(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The proleptic Gregorian date `days` after 1970-01-01. Counts in 400-year
/// eras of 146,097 days, each era starting on a 1 March so that leap days
/// fall at the end of a year.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_utc_rfc3339() {
        let at = |secs: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(secs));
        let table = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_799, "2000-02-29T23:59:59Z"),
            (1_709_208_000, "2024-02-29T12:00:00Z"),
            (1_796_083_200, "2026-12-01T00:00:00Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
        ];
        for (secs, want) in table {
            assert_eq!(at(secs), want, "{secs}");
        }
    }

    #[test]
    fn a_lock_file_round_trips_sorted_and_refuses_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ocimirror.lock");
        let entry = |name: &str| Locked {
            reference: format!("docker.io/library/{name}:1"),
            digest: Digest::sha256(name.as_bytes()),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            platform: "linux/amd64".into(),
            images: vec![Digest::sha256(b"image")],
            source: "https://registry-1.docker.io".into(),
            trust: "authority".into(),
            resolved_at: "2026-12-01T00:00:00Z".into(),
        };
        let file = LockFile { version: 0, images: vec![entry("zeta"), entry("alpha")] };
        file.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# ocimirror lock file"), "{text}");
        let back = LockFile::read(&path).unwrap();
        assert_eq!(back.version, VERSION);
        let names: Vec<&str> = back.images.iter().map(|i| i.reference.as_str()).collect();
        assert_eq!(names, ["docker.io/library/alpha:1", "docker.io/library/zeta:1"]);
        assert_eq!(back.images[0], entry("alpha"));
        std::fs::write(&path, text.replace("version = 1", "version = 9")).unwrap();
        let e = LockFile::read(&path).unwrap_err().to_string();
        assert!(e.contains("version 9"), "{e}");
        std::fs::write(&path, "[[image]]\nreference = 1\n").unwrap();
        assert!(LockFile::read(&path).is_err());
    }
}
