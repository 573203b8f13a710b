//! The record of a walk: every request sent to a source, what came back and
//! what the walk made of it. `--json` prints it as `attempts`, `-v` prints
//! the failed ones, and an error carries the answer each source gave.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::digest::Digest;

/// What a request asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AskKind {
    /// A manifest, by tag or by digest.
    Manifest,
    /// A blob, by digest.
    Blob,
    /// The registry's HEAD for a tag a mirror answered.
    Confirm,
    /// `GET /v2/` (`mirrors check`).
    Probe,
}

/// What the walk made of one request's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The answer was used (for a blob: after its bytes verified).
    Served,
    NotFound,
    /// Rejected with `ns` (404 or 400): asked again without it.
    RetryWithoutNs,
    Denied,
    Failed,
    /// Not asked: known bad in this run, or never asked for this kind.
    Skipped,
    /// The registry agreed with the mirror's tag.
    Confirmed,
    /// The registry disagreed with the mirror's tag.
    Collision,
    /// Nobody could confirm the mirror's tag.
    Unconfirmed,
    /// Sent, and not waited for: another request for the same thing was
    /// served first (a mirror asked for the digest the registry named
    /// while its answer to the tag was still out).
    Superseded,
}

/// One request of a walk.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub endpoint: String,
    pub kind: AskKind,
    /// What was asked for by digest (blobs, index entries), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// `manifest`, `blob sha256:...`, `confirm`: `kind` and `digest` as text.
    pub what: String,
    /// Empty when nothing was sent (`skipped`).
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub outcome: Outcome,
    pub elapsed_ms: u64,
    /// A `skipped` attempt whose reason is host memory (an earlier run's
    /// lesson), not this run's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub from_memory: bool,
}

impl Attempt {
    /// The answer in a few words: the error, else the status.
    pub fn said(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => e.clone(),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => String::new(),
        }
    }
}

/// `what` for a request: `manifest`, `blob sha256:...`.
pub fn describe(kind: AskKind, digest: Option<&Digest>) -> String {
    match (kind, digest) {
        (AskKind::Blob, Some(d)) => format!("blob {d}"),
        (AskKind::Manifest, _) => "manifest".into(),
        (AskKind::Blob, None) => "blob".into(),
        (AskKind::Confirm, _) => "confirm".into(),
        (AskKind::Probe, _) => "probe".into(),
    }
}

/// Who wants to hear about a walk as it happens (the progress display):
/// a source about to be asked, and every answer as it is recorded. Called
/// from the walk's tasks, so it must be cheap; it cannot change the walk.
pub trait WalkObserver: Send + Sync {
    /// A request of `kind` is about to go to `endpoint`.
    fn asking(&self, _endpoint: &str, _kind: AskKind) {}
    /// A request's answer, as the trace records it (served, failed,
    /// skipped, ...).
    fn answered(&self, _attempt: &Attempt) {}
}

/// Every attempt of a run, in order.
#[derive(Default)]
pub struct Trace {
    attempts: Mutex<Vec<Attempt>>,
    observer: Option<Arc<dyn WalkObserver>>,
}

impl Trace {
    /// A trace that also tells `observer` what happens.
    pub fn observed(observer: Arc<dyn WalkObserver>) -> Trace {
        Trace { attempts: Mutex::default(), observer: Some(observer) }
    }

    pub fn push(&self, a: Attempt) {
        tracing::debug!("{} {} -> {} {:?}", a.what, a.url, a.said(), a.outcome);
        if let Some(o) = &self.observer {
            o.answered(&a);
        }
        self.attempts.lock().unwrap_or_else(|e| e.into_inner()).push(a);
    }

    /// A request is about to be sent to `endpoint`.
    pub fn asking(&self, endpoint: &str, kind: AskKind) {
        if let Some(o) = &self.observer {
            o.asking(endpoint, kind);
        }
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
