//! The decisions of the walk, as pure functions of what is known: whether
//! to ask a host at all, whether to send `ns`, what to do after an answer,
//! what an answer teaches about a host, how a set of answers classifies,
//! and how far a tag answer can be trusted. The walk (`fetch/mod.rs`) does
//! the I/O and calls these; the tables below are their specification.

use crate::config::NsMode;
use crate::plan::Role;
use crate::registry::FetchError;
use crate::trace::Outcome;

/// What the run has learned about a host so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// Why the host is unusable for the rest of the run, if it is.
    pub down: Option<String>,
    /// It answered 404 or 400 to a request with `ns` that worked without.
    pub rejects_ns: bool,
    /// It echoed `OCI-Namespace`: it understands `ns`.
    pub honors_ns: bool,
    /// An earlier run found it down, and that still holds (host memory).
    /// A background probe may clear it during the run.
    pub remembered: Option<Remembered>,
}

/// A down fact from host memory: why, and until when (as shown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remembered {
    pub why: String,
    pub until: String,
}

/// Why a host is not asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// It failed earlier in the run (refused, timed out, wants credentials).
    Down(String),
    /// An earlier run found it down, and the fact has not expired.
    Remembered(Remembered),
    /// A digest-only mirror is never asked for a tag.
    DigestOnly,
}

impl Skip {
    pub fn reason(&self) -> String {
        match self {
            Skip::Down(why) => format!("failed earlier in this run: {why}"),
            Skip::Remembered(r) => {
                format!("remembered from an earlier run: {} (until {})", r.why, r.until)
            }
            Skip::DigestOnly => "digest-only mirror: never asked for tags".into(),
        }
    }

    /// A host skipped as down counts among the failures (its silence is
    /// no "not found"); one never asked for this kind of request does not.
    pub fn counts_as_answer(&self) -> bool {
        matches!(self, Skip::Down(_) | Skip::Remembered(_))
    }

    /// The decision came from host memory, not from this run.
    pub fn is_remembered(&self) -> bool {
        matches!(self, Skip::Remembered(_))
    }
}

/// This run's own lesson comes first; memory only when the run has none.
pub fn skip(facts: &HostFacts, by_tag: bool, digest_only: bool) -> Option<Skip> {
    if let Some(why) = &facts.down {
        return Some(Skip::Down(why.clone()));
    }
    if let Some(r) = &facts.remembered {
        return Some(Skip::Remembered(r.clone()));
    }
    (by_tag && digest_only).then_some(Skip::DigestOnly)
}

/// How `ns` goes for one request to a host, decided before it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NsPlan {
    /// Send `ns` with the first request.
    pub send: bool,
    /// On 404 or 400 to it, ask once more without it.
    pub may_strip: bool,
}

/// Mirrors get `ns` unless configured off or known to reject it; the
/// authority never does. A host that echoed `OCI-Namespace` understands
/// `ns`: its 404 means "not here", and asking again without `ns` would only
/// cost a request.
pub fn ns_plan(role: Role, mode: NsMode, facts: &HostFacts) -> NsPlan {
    let send = crate::plan::sends_ns(role, mode) && !facts.rejects_ns;
    NsPlan { send, may_strip: send && mode == NsMode::Auto && !facts.honors_ns }
}

/// After the first request to a host failed with `status`: ask again
/// without `ns`? Only for 404 and 400, which an old registry gives any
/// query string it does not know.
pub fn retry_without_ns(plan: NsPlan, status: Option<u16>) -> bool {
    plan.may_strip && matches!(status, Some(404 | 400))
}

/// How `ns` went with the request that produced a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsPath {
    /// Sent to a mirror, and that request's answer is the result.
    Sent,
    /// Not sent: the authority, `ns = "off"`, or a host known to reject it.
    NotSent,
    /// Sent and answered with this status (404 or 400); the result is the
    /// answer to the same request without it.
    Stripped { first: u16 },
}

impl NsPath {
    pub fn sent(self) -> bool {
        self == NsPath::Sent
    }
}

/// After the retry without `ns`: whose answer stands, and whether the host
/// rejects `ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryVerdict {
    /// The first answer (with `ns`) stands, not the retry's.
    pub first_stands: bool,
    pub rejects_ns: bool,
}

/// `first` is the status the request with `ns` got (404 or 400); `retry`
/// is the retry's status (`Ok` when it was served, `Err(None)` for a
/// transport failure).
///
/// - served without `ns`: the host rejects `ns`;
/// - 400 with `ns`, then 404 without: `ns` caused the 400 (an old registry
///   that lacks the image); without learning that, every blob paid a
///   rejected request;
/// - 404 with `ns`, then 400 without: a mirror that requires `ns`, and its
///   404 ("not here") is the answer;
/// - anything else says nothing about `ns`.
pub fn after_retry(first: u16, retry: Result<(), Option<u16>>) -> RetryVerdict {
    match (first, retry) {
        (_, Ok(())) => RetryVerdict { first_stands: false, rejects_ns: true },
        (400, Err(Some(404))) => RetryVerdict { first_stands: false, rejects_ns: true },
        (404, Err(Some(400))) => RetryVerdict { first_stands: true, rejects_ns: false },
        _ => RetryVerdict { first_stands: false, rejects_ns: false },
    }
}

/// What a failure teaches about its host for the rest of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lesson {
    /// Refused or timed out: not asked again.
    Down(String),
    /// Wants credentials we lack or rejected ours (401, or the token
    /// service failed): not asked again. Without this, a locked mirror was
    /// asked again for every blob another source lacked.
    NeedsCredentials(String),
    /// Rate limited for longer than is worth waiting: not asked again,
    /// and remembered for as long as it asked (capped).
    RateLimited { why: String, wait: std::time::Duration },
}

impl Lesson {
    /// The `down` reason it leaves in `HostFacts`.
    pub fn reason(&self) -> String {
        match self {
            Lesson::Down(why) => why.clone(),
            Lesson::NeedsCredentials(why) => format!("needs credentials: {why}"),
            Lesson::RateLimited { why, .. } => format!("rate limited: {why}"),
        }
    }
}

/// A 403 teaches nothing: it may deny one resource (an expired storage
/// URL), not the whole host.
pub fn lesson(err: &FetchError) -> Option<Lesson> {
    if let FetchError::RateLimited { wait, .. } = err {
        Some(Lesson::RateLimited { why: err.to_string(), wait: *wait })
    } else if err.host_is_down() {
        Some(Lesson::Down(err.to_string()))
    } else if err.status() == Some(401)
        || matches!(err, FetchError::Auth(_) | FetchError::TokenService(_))
    {
        Some(Lesson::NeedsCredentials(err.to_string()))
    } else {
        None
    }
}

/// A body cut for being slower than the speed rule: not resumed on the
/// same host (it had a whole window to keep up), but on the next.
pub fn too_slow(err: &FetchError) -> bool {
    matches!(err, FetchError::Transport { kind: crate::registry::TransportKind::TooSlow, .. })
}

/// One host's final answer, for classifying a failed walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    NotFound,
    Denied,
    Failed,
}

pub fn class_of(err: &FetchError) -> Class {
    if err.is_not_found() {
        Class::NotFound
    } else if err.is_denied() {
        Class::Denied
    } else {
        Class::Failed
    }
}

pub fn outcome_of(err: &FetchError) -> Outcome {
    match class_of(err) {
        Class::NotFound => Outcome::NotFound,
        Class::Denied => Outcome::Denied,
        Class::Failed => Outcome::Failed,
    }
}

/// How a walk that nobody served failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    NotFound,
    Denied,
    Unavailable,
}

/// Not found if every host said so, or if the authority did (its word is
/// final; a mirror that could not be reached changes nothing); likewise
/// denied; else unavailable. `answers` pairs each answer with whether it
/// is the authority's. No answer at all (every host skipped) is
/// unavailable.
pub fn classify(answers: &[(bool, Class)]) -> Verdict {
    if answers.is_empty() {
        return Verdict::Unavailable;
    }
    let authority = answers.iter().find(|(is_authority, _)| *is_authority).map(|(_, c)| *c);
    let all = |ok: &dyn Fn(Class) -> bool| answers.iter().all(|(_, c)| ok(*c));
    if authority == Some(Class::NotFound) || all(&|c| c == Class::NotFound) {
        Verdict::NotFound
    } else if authority == Some(Class::Denied)
        || all(&|c| matches!(c, Class::NotFound | Class::Denied))
    {
        Verdict::Denied
    } else {
        Verdict::Unavailable
    }
}

/// How far the manifest's identity is established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Asked for by digest and verified.
    Digest,
    /// Served by the authority itself.
    Authority,
    /// A mirror the configuration trusts to resolve tags.
    TrustedMirror,
    /// The authority's HEAD gave the same digest (or named the one used).
    Confirmed,
    /// A mirror's answer that nobody could confirm.
    Unconfirmed,
}

impl Trust {
    /// The name the JSON and the layout's annotation use.
    pub fn name(self) -> &'static str {
        match self {
            Trust::Digest => "digest",
            Trust::Authority => "authority",
            Trust::TrustedMirror => "trusted-mirror",
            Trust::Confirmed => "confirmed",
            Trust::Unconfirmed => "unconfirmed",
        }
    }
}

/// How far a manifest answer is trusted as it stands: `Some(trust)`, or
/// `None` when the authority must confirm it. An `OCI-Namespace` echo is
/// no proof (a hostile or stale mirror echoes too), so only a digest, the
/// authority and a mirror configured `trusted` stand. A trusted mirror is
/// trusted for the namespace asked only: an answer that came after a 404
/// for it (and `ns` dropped) may be another registry's image, and is
/// confirmed like any mirror's. (A 400 rejected `ns` itself: an old
/// registry with one upstream.)
pub fn trust_as_served(by_digest: bool, role: Role, trusted: bool, ns: NsPath) -> Option<Trust> {
    if by_digest {
        Some(Trust::Digest)
    } else if role == Role::Authority {
        Some(Trust::Authority)
    } else if trusted && ns != (NsPath::Stripped { first: 404 }) {
        Some(Trust::TrustedMirror)
    } else {
        None
    }
}

/// How long a mirror may take over a tag before it is also asked for the
/// digest the registry named (`fetch/race.rs`). A mirror that answers from
/// its own store does so within milliseconds; one still silent after this
/// is most likely asking its upstream. The registry's HEAD takes about this
/// long anyway over a real link (a TCP and a TLS handshake, then the
/// request), so there the wait seldom delays the shortcut; on loopback it
/// keeps a mirror that answers at once from being asked twice.
pub const SHORTCUT_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether to ask the host a tag's walk is at for the digest the
/// registry's HEAD named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    /// Ask it now.
    Ask,
    /// Not yet: look again in this long. A mirror that has answered its
    /// latest request is talking, not stuck: a 401 before the request
    /// goes again with a token, a 404 before it goes again without `ns`,
    /// or a body slow to come, onto which a second request would only pile.
    Wait(std::time::Duration),
    /// No: the registry itself is being asked.
    Never,
}

/// The shortcut for a host of `role` that has said nothing for `silent`
/// since its latest request (`None`: it has answered that one).
pub fn shortcut(role: Role, silent: Option<std::time::Duration>) -> Shortcut {
    match silent {
        _ if role != Role::Mirror => Shortcut::Never,
        None => Shortcut::Wait(SHORTCUT_AFTER),
        Some(silent) if silent < SHORTCUT_AFTER => Shortcut::Wait(SHORTCUT_AFTER - silent),
        Some(_) => Shortcut::Ask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::TransportKind;

    fn facts(down: bool, rejects_ns: bool, honors_ns: bool) -> HostFacts {
        HostFacts { down: down.then(|| "refused".into()), rejects_ns, honors_ns, remembered: None }
    }

    #[test]
    fn which_hosts_are_asked() {
        // (down, by_tag, digest_only) -> skipped as
        let table = [
            (false, true, false, None),
            (false, false, true, None),
            (false, true, true, Some(Skip::DigestOnly)),
            (true, false, false, Some(Skip::Down("refused".into()))),
            (true, true, true, Some(Skip::Down("refused".into()))),
        ];
        for (down, by_tag, digest_only, want) in table {
            let got = skip(&facts(down, false, false), by_tag, digest_only);
            assert_eq!(got, want, "down={down} by_tag={by_tag} digest_only={digest_only}");
        }
        assert!(Skip::Down("x".into()).counts_as_answer());
        assert!(!Skip::DigestOnly.counts_as_answer());
        // Memory skips like a lesson of this run, and says where it came from;
        // this run's own lesson wins.
        let r = Remembered { why: "refused".into(), until: "2025-01-31T12:00:00Z".into() };
        let remembered = HostFacts { remembered: Some(r.clone()), ..HostFacts::default() };
        let got = skip(&remembered, false, false).unwrap();
        assert!(got.counts_as_answer() && got.is_remembered());
        assert_eq!(
            got.reason(),
            "remembered from an earlier run: refused (until 2025-01-31T12:00:00Z)"
        );
        let both = HostFacts { down: Some("timed out".into()), ..remembered.clone() };
        assert_eq!(skip(&both, false, false), Some(Skip::Down("timed out".into())));
        assert_eq!(skip(&remembered, true, true), Some(Skip::Remembered(r)));
    }

    #[test]
    fn when_ns_is_sent_and_stripped() {
        use NsMode::*;
        use Role::*;
        // (role, mode, rejects_ns, honors_ns) -> (send, may_strip)
        let table = [
            (Mirror, Auto, false, false, (true, true)),
            (Mirror, Auto, true, false, (false, false)),
            (Mirror, Auto, false, true, (true, false)),
            (Mirror, On, false, false, (true, false)),
            (Mirror, Off, false, false, (false, false)),
            (Authority, Auto, false, false, (false, false)),
            (Authority, On, false, false, (false, false)),
        ];
        for (role, mode, rejects, honors, (send, may_strip)) in table {
            let got = ns_plan(role, mode, &facts(false, rejects, honors));
            assert_eq!(got, NsPlan { send, may_strip }, "{role:?} {mode:?} {rejects} {honors}");
        }
        // `--dry-run` shows the steps the walk takes when nothing is known.
        for role in [Mirror, Authority] {
            for mode in [Auto, On, Off] {
                let plan = ns_plan(role, mode, &HostFacts::default());
                let mut steps = vec![plan.send];
                if plan.may_strip {
                    steps.push(false);
                }
                assert_eq!(crate::plan::planned_ns_steps(role, mode), steps, "{role:?} {mode:?}");
            }
        }
    }

    #[test]
    fn what_follows_a_failed_first_request() {
        let strip = NsPlan { send: true, may_strip: true };
        let keep = NsPlan { send: true, may_strip: false };
        let table = [
            (strip, Some(404), true),
            (strip, Some(400), true),
            (strip, Some(401), false),
            (strip, Some(500), false),
            (strip, None, false),
            (keep, Some(404), false),
        ];
        for (plan, status, want) in table {
            assert_eq!(retry_without_ns(plan, status), want, "{plan:?} {status:?}");
        }
    }

    #[test]
    fn what_the_retry_without_ns_shows() {
        // (first, retry) -> (first stands, rejects ns)
        let table = [
            (404, Ok(()), (false, true)),
            (400, Ok(()), (false, true)),
            (400, Err(Some(404)), (false, true)),
            (404, Err(Some(400)), (true, false)),
            (404, Err(Some(404)), (false, false)),
            (400, Err(Some(400)), (false, false)),
            (404, Err(None), (false, false)),
            (400, Err(Some(500)), (false, false)),
        ];
        for (first, retry, (first_stands, rejects_ns)) in table {
            assert_eq!(
                after_retry(first, retry),
                RetryVerdict { first_stands, rejects_ns },
                "{first} then {retry:?}"
            );
        }
    }

    fn status(s: u16) -> FetchError {
        FetchError::Status { status: s, code: None, message: String::new() }
    }

    fn transport(kind: TransportKind) -> FetchError {
        FetchError::Transport { kind, message: "x".into() }
    }

    #[test]
    fn what_a_failure_teaches() {
        let limited = FetchError::RateLimited {
            status: 429,
            wait: std::time::Duration::from_secs(600),
            message: "x".into(),
        };
        let table: [(FetchError, Option<&str>); 11] = [
            (limited, Some("rate")),
            (transport(TransportKind::Connect), Some("down")),
            (transport(TransportKind::Timeout), Some("down")),
            (transport(TransportKind::TooSlow), Some("down")),
            (transport(TransportKind::Other), None),
            (status(401), Some("credentials")),
            (FetchError::Auth("refused".into()), Some("credentials")),
            (FetchError::TokenService("junk".into()), Some("credentials")),
            (status(403), None),
            (status(404), None),
            (status(500), None),
        ];
        for (err, want) in table {
            let got = match lesson(&err) {
                Some(Lesson::Down(_)) => Some("down"),
                Some(Lesson::NeedsCredentials(_)) => Some("credentials"),
                Some(Lesson::RateLimited { .. }) => Some("rate"),
                None => None,
            };
            assert_eq!(got, want, "{err:?}");
        }
    }

    #[test]
    fn how_answers_classify() {
        use Class::*;
        // (is authority, class) answers -> verdict
        let table: [(&[(bool, Class)], Verdict); 9] = [
            (&[(false, NotFound), (true, NotFound)], Verdict::NotFound),
            (&[(false, Failed), (true, NotFound)], Verdict::NotFound),
            (&[(false, NotFound)], Verdict::NotFound),
            (&[(false, NotFound), (true, Failed)], Verdict::Unavailable),
            (&[(false, Denied), (true, Denied)], Verdict::Denied),
            (&[(false, Failed), (true, Denied)], Verdict::Denied),
            (&[(false, NotFound), (false, Denied)], Verdict::Denied),
            (&[(false, Failed), (false, NotFound)], Verdict::Unavailable),
            (&[], Verdict::Unavailable),
        ];
        for (answers, want) in table {
            assert_eq!(classify(answers), want, "{answers:?}");
        }
        assert_eq!(class_of(&status(404)), NotFound);
        assert_eq!(class_of(&status(403)), Denied);
        assert_eq!(class_of(&FetchError::Auth("x".into())), Denied);
        assert_eq!(class_of(&FetchError::Invalid("x".into())), Failed);
    }

    #[test]
    fn when_a_slow_mirror_is_asked_for_the_named_digest() {
        use Role::*;
        let ms = std::time::Duration::from_millis;
        // (role, silent since its latest request) -> shortcut
        let table = [
            (Mirror, Some(ms(0)), Shortcut::Wait(SHORTCUT_AFTER)),
            (Mirror, Some(ms(30)), Shortcut::Wait(SHORTCUT_AFTER - ms(30))),
            (Mirror, Some(SHORTCUT_AFTER), Shortcut::Ask),
            (Mirror, Some(ms(4000)), Shortcut::Ask),
            // It answered its latest request, if only with headers: it may
            // send another (with a token, without `ns`); look again later.
            (Mirror, None, Shortcut::Wait(SHORTCUT_AFTER)),
            (Authority, Some(ms(4000)), Shortcut::Never),
            (Cache, Some(ms(4000)), Shortcut::Never),
        ];
        for (role, silent, want) in table {
            assert_eq!(shortcut(role, silent), want, "{role:?} {silent:?}");
        }
    }

    #[test]
    fn how_far_an_answer_is_trusted_as_served() {
        use NsPath::*;
        use Role::*;
        let stripped404 = Stripped { first: 404 };
        let stripped400 = Stripped { first: 400 };
        // (by digest, role, trusted, ns path) -> trust, None = confirm
        let table = [
            (true, Mirror, false, Sent, Some(Trust::Digest)),
            (false, Authority, false, NotSent, Some(Trust::Authority)),
            (false, Mirror, true, Sent, Some(Trust::TrustedMirror)),
            (false, Mirror, true, stripped400, Some(Trust::TrustedMirror)),
            (false, Mirror, true, stripped404, None),
            (false, Mirror, false, Sent, None),
            (false, Mirror, false, stripped404, None),
            (false, Mirror, false, NotSent, None),
        ];
        for (by_digest, role, trusted, ns, want) in table {
            assert_eq!(
                trust_as_served(by_digest, role, trusted, ns),
                want,
                "{by_digest} {role:?} {trusted} {ns:?}"
            );
        }
    }
}
