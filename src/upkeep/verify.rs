//! `ocimirror verify DIR`: every blob re-hashed, and every reference of
//! every image checked (manifests, configs, layers, nested indexes:
//! present, the right size, the right digest). Exit code 1 when anything
//! is wrong.
//!
//! A pull trusts a blob by its name and size (`Layout::has_blob`): only
//! verified files get a name. A file changed behind our back (a flipped
//! byte on disk, a tool that wrote into it) is what `verify` finds, and it
//! removes it: a blob that does not hash to its name can never be right,
//! and once it is gone the next pull that needs it fetches it again. Its
//! twin in the blob cache goes too when it is the same file (a hard link),
//! else the cache would link it straight back.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{BlobFile, Broken, blob_files, index_entries, walk};
use crate::digest::{Digest, Hasher};
use crate::error::Result;
use crate::layout::{self, Layout, open_nofollow};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    #[serde(serialize_with = "crate::report::lossy_path")]
    pub dir: PathBuf,
    pub images: usize,
    pub blobs: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
    /// No problem: exit code 0.
    pub ok: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// An image refers to a blob the layout does not have.
    Missing,
    /// The blob is there with another size than its descriptor's.
    WrongSize,
    /// The blob's bytes do not hash to its name (it was removed).
    WrongDigest,
    /// A manifest that does not verify against its descriptor, or parse.
    BadManifest,
    /// index.json itself is unreadable.
    BadIndex,
    /// Indexes nested deeper than any pull writes.
    TooDeep,
    /// A file under blobs/ whose name is no digest (left alone).
    StrayFile,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub kind: ProblemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// The images (index.json names) that need it.
    pub images: Vec<String>,
    pub detail: String,
    /// Removed by this run (a blob with the wrong content).
    pub removed: bool,
}

/// Verifies the layout at `dir`; `cache` is the blob cache's directory,
/// whose copy of a corrupt blob goes too when it is the same file.
pub fn verify(dir: &Path, cache: Option<&Path>) -> Result<VerifyReport> {
    let layout = Layout::existing(dir)?;
    let files = blob_files(dir);
    let mut problems: Problems = BTreeMap::new();
    let mut corrupt = Vec::new();
    for f in &files {
        match &f.digest {
            None => add(&mut problems, ProblemKind::StrayFile, None, None, stray(f)),
            Some(d) if !hashes_to(&f.path, d) => corrupt.push(d.clone()),
            Some(_) => {}
        }
    }
    let entries = index_entries(&layout).unwrap_or_else(|why| {
        add(&mut problems, ProblemKind::BadIndex, None, None, why);
        Vec::new()
    });
    for entry in &entries {
        let name =
            entry.annotations.get(layout::REF_NAME).cloned().unwrap_or(entry.digest.to_string());
        for (d, broken) in walk(&layout, vec![entry.clone()]) {
            if corrupt.contains(&d.digest) {
                let detail = "its bytes do not hash to its name; removed".to_string();
                add(&mut problems, ProblemKind::WrongDigest, Some(&d.digest), Some(&name), detail);
                continue;
            }
            let (kind, detail) = match broken {
                None => continue,
                Some(Broken::Missing) => (ProblemKind::Missing, "not in the layout".to_string()),
                Some(Broken::WrongSize { have }) => (
                    ProblemKind::WrongSize,
                    format!("has {have} bytes, its descriptor says {}", d.size),
                ),
                Some(Broken::BadManifest(why)) => (ProblemKind::BadManifest, why),
                Some(Broken::TooDeep) => {
                    (ProblemKind::TooDeep, "indexes nested too deep".to_string())
                }
            };
            add(&mut problems, kind, Some(&d.digest), Some(&name), detail);
        }
    }
    for d in &corrupt {
        let detail = "its bytes do not hash to its name; removed".to_string();
        add(&mut problems, ProblemKind::WrongDigest, Some(d), None, detail);
        let removed = remove_corrupt(&layout, d, cache);
        if let Some(p) =
            problems.get_mut(&(Some(d.clone()), ProblemKind::WrongDigest, String::new()))
        {
            p.removed = removed;
        }
    }
    let problems: Vec<Problem> = problems.into_values().collect();
    Ok(VerifyReport {
        dir: dir.to_path_buf(),
        images: entries.len(),
        blobs: files.iter().filter(|f| f.digest.is_some()).count(),
        bytes: files.iter().map(|f| f.size).sum(),
        ok: problems.is_empty(),
        problems,
    })
}

/// Problems by digest and kind (by their text when they have no digest).
type Problems = BTreeMap<(Option<Digest>, ProblemKind, String), Problem>;

/// Records a problem, once per digest and kind, with every image that has it.
fn add(
    problems: &mut Problems,
    kind: ProblemKind,
    digest: Option<&Digest>,
    image: Option<&str>,
    detail: String,
) {
    let text = if digest.is_none() { detail.clone() } else { String::new() };
    let key = (digest.cloned(), kind, text);
    let p = problems.entry(key).or_insert_with(|| Problem {
        kind,
        digest: digest.cloned(),
        images: Vec::new(),
        detail,
        removed: false,
    });
    if let Some(image) = image
        && !p.images.iter().any(|i| i == image)
    {
        p.images.push(crate::text::shown(image));
    }
}

fn stray(f: &BlobFile) -> String {
    format!("{}: not a blob (its name is no digest, or it is not a plain file)", f.path.display())
}

/// Does the file hash to its name? (Not followed through a link.)
fn hashes_to(path: &Path, digest: &Digest) -> bool {
    let Ok(mut file) = open_nofollow(OpenOptions::new().read(true), path) else { return false };
    let mut hasher = Hasher::new(digest.algorithm());
    let mut buf = vec![0u8; layout::WRITE_CHUNK];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return hasher.finish() == *digest,
            Ok(n) => hasher.update(&buf[..n]),
            Err(_) => return false,
        }
    }
}

/// Removes a blob found corrupt, and the cache's name for the same file.
fn remove_corrupt(layout: &Layout, d: &Digest, cache: Option<&Path>) -> bool {
    let path = layout.blob_path(d);
    if let Some(cache) = cache {
        let twin = cache.join("blobs").join(d.algorithm().name()).join(d.hex());
        if same_file(&path, &twin) {
            let _ = std::fs::remove_file(&twin);
        }
    }
    std::fs::remove_file(&path).is_ok()
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_a: &Path, _b: &Path) -> bool {
    false
}
