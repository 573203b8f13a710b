//! Host memory across runs: what the walk learned about a host (refused,
//! timed out or hung; wants credentials; rate limited; rejects or echoes
//! `ns`) is kept for a while, so that a dead mirror costs its timeout in
//! one run, not in every run of a CI job's hundred pulls.
//!
//! This module is pure: the facts, their expiry (the table in `until`),
//! how a run's observations merge into what earlier runs left, how the
//! file stays bounded, and what a plan's walk starts from (`seed`). The
//! file itself, its lock and atomic replace, are `file.rs`'s.
//!
//! Memory only ever seeds `HostFacts` (`fetch/decide.rs`): the walk decides
//! as it always did, from facts, and a fact from memory is marked so the
//! trace can say where it came from.

mod file;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use file::MemoryFile;

/// The most hosts kept; past it the ones learned about longest ago go.
pub const MAX_HOSTS: usize = 256;
/// The longest a reason is kept (errors are short; this bounds the file).
const MAX_WHY: usize = 300;

/// What can be remembered about a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FactKind {
    /// Refused, timed out, or accepted and never answered.
    Unreachable,
    /// Answered 401, or its token service refused or failed.
    NeedsCredentials,
    /// Answered 429 (or 503) with a `Retry-After` too long to wait for.
    RateLimited,
    /// Answered 404 or 400 to `ns`, and served without it.
    RejectsNs,
    /// Echoed `OCI-Namespace`.
    HonorsNs,
}

impl FactKind {
    /// A fact that makes the host skipped (the others change how it is asked).
    pub fn is_down(self) -> bool {
        matches!(self, FactKind::Unreachable | FactKind::NeedsCredentials | FactKind::RateLimited)
    }
}

/// How long each kind of fact is kept. Documented in the README ("Host
/// memory"); `[memory]` in config.toml changes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttls {
    /// A dead host is asked again after this: short, so a mirror back up
    /// is used again soon (and a background probe may find it sooner).
    pub unreachable: Duration,
    /// Short: the user may `docker login` any moment.
    pub credentials: Duration,
    /// How a host treats `ns` changes with its software: rarely.
    pub ns: Duration,
    /// The most a `Retry-After` is believed for.
    pub rate_limit_max: Duration,
}

impl Default for Ttls {
    fn default() -> Ttls {
        Ttls {
            unreachable: Duration::from_secs(120),
            credentials: Duration::from_secs(120),
            ns: Duration::from_secs(7 * 86_400),
            rate_limit_max: Duration::from_secs(3600),
        }
    }
}

/// One remembered fact, with when it was learned and until when it holds
/// (milliseconds since the epoch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fact {
    pub kind: FactKind,
    pub why: String,
    pub learned_ms: u64,
    pub until_ms: u64,
}

/// What one run saw of a host, to be merged into the memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// `wait` is what the host asked for (`Retry-After`), if it said.
    Learned { kind: FactKind, why: String, wait: Option<Duration> },
    /// It answered: whatever earlier runs found it down is over.
    Answered,
}

/// Until when a fact learned at `now` holds: the expiry table.
pub fn until(kind: FactKind, wait: Option<Duration>, ttls: &Ttls, now_ms: u64) -> u64 {
    let ttl = match kind {
        FactKind::Unreachable => ttls.unreachable,
        FactKind::NeedsCredentials => ttls.credentials,
        FactKind::RateLimited => wait.unwrap_or(ttls.unreachable).min(ttls.rate_limit_max),
        FactKind::RejectsNs | FactKind::HonorsNs => ttls.ns,
    };
    now_ms.saturating_add(ttl.as_millis() as u64)
}

/// Every host's facts, keyed by the endpoint as traces show it
/// (`http://127.0.0.1:5000`, `https://mirror.example/prefix`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    pub hosts: BTreeMap<String, Vec<Fact>>,
}

impl Memory {
    /// Merges what a run observed at `now`. A new down fact replaces the
    /// host's other down facts, an answer clears them, and `ns` facts
    /// replace each other: the latest word wins, whichever run said it.
    pub fn observe(&mut self, host: &str, seen: &Observation, ttls: &Ttls, now_ms: u64) {
        let facts = self.hosts.entry(host.to_string()).or_default();
        match seen {
            Observation::Answered => facts.retain(|f| !f.kind.is_down() || f.learned_ms > now_ms),
            Observation::Learned { kind, why, wait } => {
                let replaces = |f: &Fact| {
                    f.kind == *kind
                        || (f.kind.is_down() && kind.is_down())
                        || matches!(
                            (f.kind, kind),
                            (FactKind::RejectsNs, FactKind::HonorsNs)
                                | (FactKind::HonorsNs, FactKind::RejectsNs)
                        )
                };
                if facts.iter().any(|f| replaces(f) && f.learned_ms > now_ms) {
                    return; // a later run already said otherwise
                }
                facts.retain(|f| !replaces(f));
                facts.push(Fact {
                    kind: *kind,
                    why: crate::text::shown_max(why, MAX_WHY),
                    learned_ms: now_ms,
                    until_ms: until(*kind, *wait, ttls, now_ms),
                });
                facts.sort_by_key(|f| f.kind);
            }
        }
        if facts.is_empty() {
            self.hosts.remove(host);
        }
    }

    /// Drops expired facts, and past `MAX_HOSTS` the hosts whose newest
    /// fact is oldest: the file cannot grow without bound.
    pub fn tidy(&mut self, now_ms: u64) {
        for facts in self.hosts.values_mut() {
            facts.retain(|f| f.until_ms > now_ms);
        }
        self.hosts.retain(|_, facts| !facts.is_empty());
        if self.hosts.len() > MAX_HOSTS {
            let newest = |facts: &Vec<Fact>| facts.iter().map(|f| f.learned_ms).max();
            let mut by_age: Vec<(Option<u64>, String)> =
                self.hosts.iter().map(|(h, f)| (newest(f), h.clone())).collect();
            by_age.sort();
            for (_, host) in by_age.into_iter().take(self.hosts.len() - MAX_HOSTS) {
                self.hosts.remove(&host);
            }
        }
    }

    /// Forgets one host (its endpoint, or every endpoint on `host[:port]`),
    /// or everything; returns the endpoints forgotten.
    pub fn forget(&mut self, which: Option<&str>) -> Vec<String> {
        let gone: Vec<String> = self
            .hosts
            .keys()
            .filter(|k| {
                which.is_none_or(|w| k.as_str() == w.trim_end_matches('/') || host_of(k) == w)
            })
            .cloned()
            .collect();
        for k in &gone {
            self.hosts.remove(k);
        }
        gone
    }

    /// The live facts about one endpoint.
    pub fn live(&self, host: &str, now_ms: u64) -> impl Iterator<Item = &Fact> {
        self.hosts.get(host).into_iter().flatten().filter(move |f| f.until_ms > now_ms)
    }
}

/// `host[:port]` of an endpoint key, for `mirrors forget HOST`.
fn host_of(endpoint: &str) -> &str {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// What a plan's walk starts from for one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seed {
    /// A down fact: the host is skipped (and probed in the background).
    pub down: Option<Fact>,
    pub rejects_ns: bool,
    pub honors_ns: bool,
}

/// Seeds for a plan's hosts, in order. Memory never leaves a plan without
/// a host to ask: when every host is remembered down, none is skipped (the
/// run asks them all, as without memory, and learns afresh).
pub fn seed(memory: &Memory, hosts: &[String], now_ms: u64) -> Vec<Seed> {
    let mut seeds: Vec<Seed> = hosts
        .iter()
        .map(|h| {
            let mut s = Seed::default();
            for f in memory.live(h, now_ms) {
                match f.kind {
                    FactKind::RejectsNs => s.rejects_ns = true,
                    FactKind::HonorsNs => s.honors_ns = true,
                    _ => s.down = Some(f.clone()),
                }
            }
            s
        })
        .collect();
    if seeds.iter().all(|s| s.down.is_some()) {
        seeds.iter_mut().for_each(|s| s.down = None);
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    fn learned(kind: FactKind) -> Observation {
        Observation::Learned { kind, why: format!("{kind:?}"), wait: None }
    }

    #[test]
    fn each_kind_of_fact_expires_after_its_ttl() {
        let ttls = Ttls::default();
        let hour = Some(Duration::from_secs(3600));
        // (kind, Retry-After) -> seconds kept
        let table = [
            (FactKind::Unreachable, None, 120),
            (FactKind::NeedsCredentials, None, 120),
            (FactKind::RateLimited, Some(Duration::from_secs(30)), 30),
            (FactKind::RateLimited, Some(Duration::from_secs(86_400)), 3600),
            (FactKind::RateLimited, None, 120),
            (FactKind::RejectsNs, hour, 7 * 86_400),
            (FactKind::HonorsNs, None, 7 * 86_400),
        ];
        for (kind, wait, secs) in table {
            assert_eq!(until(kind, wait, &ttls, 5 * S), 5 * S + secs * S, "{kind:?} {wait:?}");
        }
    }

    #[test]
    fn observations_merge_latest_word_wins() {
        let ttls = Ttls::default();
        let h = "http://m:5000";
        let kinds = |m: &Memory| m.live(h, 0).map(|f| f.kind).collect::<Vec<_>>();
        let mut m = Memory::default();
        m.observe(h, &learned(FactKind::Unreachable), &ttls, 10 * S);
        m.observe(h, &learned(FactKind::RejectsNs), &ttls, 10 * S);
        assert_eq!(kinds(&m), [FactKind::Unreachable, FactKind::RejectsNs]);
        // One down fact at a time; ns facts replace each other.
        m.observe(h, &learned(FactKind::NeedsCredentials), &ttls, 11 * S);
        m.observe(h, &learned(FactKind::HonorsNs), &ttls, 11 * S);
        assert_eq!(kinds(&m), [FactKind::NeedsCredentials, FactKind::HonorsNs]);
        // An older run's word does not overwrite a newer one.
        m.observe(h, &learned(FactKind::Unreachable), &ttls, 5 * S);
        assert_eq!(kinds(&m), [FactKind::NeedsCredentials, FactKind::HonorsNs]);
        // An answer clears what made it down, not how it treats ns.
        m.observe(h, &Observation::Answered, &ttls, 12 * S);
        assert_eq!(kinds(&m), [FactKind::HonorsNs]);
        m.observe(h, &learned(FactKind::RejectsNs), &ttls, 13 * S);
        assert_eq!(kinds(&m), [FactKind::RejectsNs]);
        assert_eq!(m.forget(Some("m:5000")), [h]);
        assert!(m.hosts.is_empty());
    }

    #[test]
    fn the_memory_stays_bounded_and_drops_the_expired() {
        let ttls = Ttls::default();
        let mut m = Memory::default();
        for i in 0..(MAX_HOSTS as u64 + 10) {
            m.observe(&format!("http://h{i}"), &learned(FactKind::RejectsNs), &ttls, i * S);
        }
        m.observe("http://dead", &learned(FactKind::Unreachable), &ttls, 500 * S);
        m.tidy(500 * S + 1);
        assert_eq!(m.hosts.len(), MAX_HOSTS);
        assert!(!m.hosts.contains_key("http://h0"), "the oldest go first");
        assert!(m.hosts.contains_key("http://dead"));
        m.tidy(500 * S + 121 * S);
        assert!(!m.hosts.contains_key("http://dead"), "expired");
        let long = Observation::Learned {
            kind: FactKind::Unreachable,
            why: "x".repeat(10_000),
            wait: None,
        };
        m.observe("http://long", &long, &ttls, 0);
        assert!(m.hosts["http://long"][0].why.chars().count() <= MAX_WHY + 1);
    }

    #[test]
    fn seeds_skip_remembered_hosts_but_never_every_host() {
        let ttls = Ttls::default();
        let (a, b) = ("http://a".to_string(), "https://b".to_string());
        let mut m = Memory::default();
        m.observe(&a, &learned(FactKind::Unreachable), &ttls, 0);
        m.observe(&b, &learned(FactKind::RejectsNs), &ttls, 0);
        // (hosts, now) -> per host (skipped, rejects ns)
        type Row<'a> = (&'a [&'a String], u64, &'a [(bool, bool)]);
        let table: [Row; 4] = [
            (&[&a, &b], S, &[(true, false), (false, true)]),
            (&[&a, &b], 121 * S, &[(false, false), (false, true)]),
            (&[&a], S, &[(false, false)]),
            (&[&b], S, &[(false, true)]),
        ];
        for (hosts, now, want) in table {
            let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
            let got: Vec<(bool, bool)> =
                seed(&m, &hosts, now).iter().map(|s| (s.down.is_some(), s.rejects_ns)).collect();
            assert_eq!(got, want, "{hosts:?} at {now}");
        }
    }
}
