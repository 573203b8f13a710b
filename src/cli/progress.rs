//! The pull's observer: what a person sees while a pull runs. On a
//! terminal, a frame redrawn ten times a second (a header, one overall
//! line, a few blob bars: `frame.rs`) with notable events printed above it;
//! in a log (CI), a line per blob as it arrives, a line per mirror given
//! up, and a progress line at most every 10 s. All on stderr (`Console`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::console::Console;
use super::frame::{self, Snapshot, short_digest};
use super::printer::{describe_served, human_bytes};
use crate::digest::Digest;
use crate::error::Error;
use crate::fetch::ServedBy;
use crate::plan::{Plan, Role};
use crate::pull::{Observer, ServedBlob};
use crate::trace::{AskKind, Attempt, Outcome, WalkObserver};

/// How often the terminal frame is redrawn.
const TERMINAL_TICK: Duration = Duration::from_millis(100);
/// How often a log gets a progress line, at most.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// The window the rate is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Terminal,
    Log,
}

pub struct Progress {
    console: Arc<Console>,
    style: Style,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    images: Vec<String>,
    /// Each plan's sources, in order: for "trying the registry".
    sources: Vec<Vec<(String, Role)>>,
    /// Where the one image of a single pull comes from, once resolved.
    served_by: Option<String>,
    resolved: usize,
    failed: usize,
    totals: Option<(usize, u64)>,
    blobs_done: usize,
    bytes_finished: u64,
    /// Downloads running, in the order they began: digest, written, size.
    active: Vec<(Digest, u64, u64)>,
    /// Bytes received in this run, for the rate.
    received: u64,
    samples: VecDeque<(Instant, u64)>,
    /// Sources asked for a manifest and not answered yet, since when.
    waiting: HashMap<String, Instant>,
    /// Sources a line was already printed for.
    given_up: HashSet<String>,
    started: Option<Instant>,
    last_log: Option<Instant>,
    finished: bool,
}

impl Progress {
    /// A display on `console`: a frame on a terminal, lines in a log. A
    /// thread redraws (or, in a log, prints progress) until `finish`.
    pub fn start(console: Arc<Console>) -> Arc<Progress> {
        let style = if console.is_terminal() { Style::Terminal } else { Style::Log };
        let now = Instant::now();
        let state = State { started: Some(now), last_log: Some(now), ..State::default() };
        let progress = Arc::new(Progress { console, style, state: Mutex::new(state) });
        let weak = Arc::downgrade(&progress);
        let tick = if style == Style::Terminal { TERMINAL_TICK } else { Duration::from_secs(1) };
        // A failed spawn only costs the redraws: events still print.
        let _ =
            std::thread::Builder::new().name("progress".into()).spawn(move || ticker(weak, tick));
        progress
    }

    /// The pull is over: the frame goes, and nothing is drawn again.
    pub fn finish(&self) {
        self.state().finished = true;
        self.console.close();
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A line above the frame (on a terminal) or in the log.
    fn say(&self, line: &str) {
        self.console.progress_line(line);
    }

    /// A line for the log only: a terminal shows it in the frame instead.
    fn log(&self, line: &str) {
        if self.style == Style::Log {
            self.say(line);
        }
    }

    /// One redraw (terminal) or maybe one progress line (log).
    fn tick(&self) -> bool {
        let now = Instant::now();
        let mut state = self.state();
        if state.finished {
            return false;
        }
        let received = state.received;
        state.samples.push_back((now, received));
        while state.samples.front().is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW) {
            state.samples.pop_front();
        }
        let snapshot = state.snapshot(now);
        match self.style {
            Style::Terminal => {
                drop(state);
                self.console.draw(frame::frame(&snapshot, self.console.width()));
            }
            Style::Log => {
                let due = state.last_log.is_none_or(|t| now.duration_since(t) >= LOG_EVERY);
                let busy = !state.active.is_empty() || !state.waiting.is_empty();
                if due && busy {
                    state.last_log = Some(now);
                    drop(state);
                    self.say(&frame::log_progress(&snapshot));
                }
            }
        }
        true
    }
}

fn ticker(progress: Weak<Progress>, every: Duration) {
    loop {
        std::thread::sleep(every);
        match progress.upgrade() {
            Some(p) if p.tick() => {}
            _ => return,
        }
    }
}

impl State {
    fn snapshot(&self, now: Instant) -> Snapshot {
        let since = |t: Option<Instant>| t.map(|t| now.duration_since(t)).unwrap_or_default();
        let writing: u64 = self.active.iter().map(|(_, done, _)| done).sum();
        let rate = match (self.samples.front(), self.samples.back()) {
            (Some((t0, b0)), Some((t1, b1)))
                if t1.duration_since(*t0) >= Duration::from_millis(500) =>
            {
                Some((b1 - b0) as f64 / t1.duration_since(*t0).as_secs_f64())
            }
            _ => None,
        };
        let waiting = self.waiting.iter().min_by_key(|(_, t)| **t);
        Snapshot {
            header: self.header(),
            totals: self.totals,
            blobs_done: self.blobs_done,
            bytes_done: self.bytes_finished + writing,
            rate,
            active: self
                .active
                .iter()
                .map(|(d, done, size)| (short_digest(d), *done, *size))
                .collect(),
            waiting: waiting.map(|(e, t)| (e.clone(), now.duration_since(*t))),
            elapsed: since(self.started),
        }
    }

    fn header(&self) -> String {
        match (self.images.as_slice(), &self.served_by) {
            ([one], Some(from)) => format!("Pulling {one} from {from}"),
            ([one], None) => format!("Resolving {one}"),
            (all, _) => {
                let failed = match self.failed {
                    0 => String::new(),
                    n => format!(", {n} failed"),
                };
                format!("Pulling {} images: {} resolved{failed}", all.len(), self.resolved)
            }
        }
    }

    /// The role of `endpoint`, and the source after it in its plan that
    /// was not given up yet.
    fn role_and_next(&self, endpoint: &str) -> (Role, Option<(String, Role)>) {
        for sources in &self.sources {
            if let Some(i) = sources.iter().position(|(e, _)| e == endpoint) {
                let next = sources[i + 1..].iter().find(|(e, _)| !self.given_up.contains(e));
                return (sources[i].1, next.cloned());
            }
        }
        (Role::Mirror, None)
    }
}

fn named(endpoint: &str, role: Role) -> String {
    match role {
        Role::Mirror => format!("mirror {endpoint}"),
        Role::Authority => format!("the registry {endpoint}"),
        Role::Cache => "the blob cache".to_string(),
    }
}

impl WalkObserver for Progress {
    fn asking(&self, endpoint: &str, kind: AskKind) {
        if kind == AskKind::Manifest {
            self.state().waiting.entry(endpoint.to_string()).or_insert_with(Instant::now);
        }
    }

    /// A mirror that failed or was skipped gets one line (the first time):
    /// what it said, and which source is asked instead.
    fn answered(&self, a: &Attempt) {
        let mut state = self.state();
        state.waiting.remove(&a.endpoint);
        let gave_up = matches!(
            a.outcome,
            Outcome::Failed | Outcome::Denied | Outcome::NotFound | Outcome::Skipped
        );
        if !gave_up || !matches!(a.kind, AskKind::Manifest | AskKind::Blob) {
            return;
        }
        let (role, next) = state.role_and_next(&a.endpoint);
        if role != Role::Mirror || !state.given_up.insert(a.endpoint.clone()) {
            return;
        }
        drop(state);
        let what = match &a.digest {
            Some(d) if a.kind == AskKind::Blob => format!("blob {}", short_digest(d)),
            _ => "the manifest".to_string(),
        };
        let said = crate::text::shown(&a.said());
        let after = match a.elapsed_ms {
            ms if ms >= 1000 => format!(" after {:.1} s", ms as f64 / 1000.0),
            _ => String::new(),
        };
        let next = next.map(|(e, r)| format!("; trying {}", named(&e, r))).unwrap_or_default();
        self.say(&format!("{} gave up on {what}{after}: {said}{next}", named(&a.endpoint, role)));
    }
}

impl Observer for Progress {
    fn pull_started(&self, plans: &[&Plan]) {
        let mut state = self.state();
        state.images = plans.iter().map(|p| p.reference.to_string()).collect();
        state.sources = plans
            .iter()
            .map(|p| p.sources.iter().map(|s| (s.display(), s.role)).collect())
            .collect();
        let line = match state.images.as_slice() {
            [one] => format!("pulling {one}"),
            all => format!("pulling {} images", all.len()),
        };
        drop(state);
        self.log(&line);
    }

    fn image_resolved(&self, reference: &str, served_by: &ServedBy) {
        let from = describe_served(served_by);
        let mut state = self.state();
        state.resolved += 1;
        if state.images.len() == 1 {
            state.served_by = Some(served_by.endpoint.clone());
        }
        drop(state);
        self.log(&format!("{reference}: manifest from {from}"));
    }

    fn image_failed(&self, _reference: &str, _error: &Error) {
        self.state().failed += 1;
    }

    fn blobs_planned(&self, blobs: usize, bytes: u64) {
        self.state().totals = Some((blobs, bytes));
        self.log(&format!("{blobs} blob(s), {} in all", human_bytes(bytes)));
    }

    fn blob_present(&self, _digest: &Digest, size: u64) {
        let mut state = self.state();
        state.blobs_done += 1;
        state.bytes_finished += size;
    }

    fn blob_started(&self, digest: &Digest, size: u64, offset: u64) {
        let mut state = self.state();
        match state.active.iter_mut().find(|(d, _, _)| d == digest) {
            Some(active) => active.1 = offset,
            None => state.active.push((digest.clone(), offset, size)),
        }
    }

    fn blob_progress(&self, digest: &Digest, offset: u64) {
        let mut state = self.state();
        let Some(active) = state.active.iter_mut().find(|(d, _, _)| d == digest) else { return };
        let grew = offset.saturating_sub(active.1);
        active.1 = offset;
        state.received += grew;
    }

    fn blob_finished(&self, digest: &Digest) {
        self.state().active.retain(|(d, _, _)| d != digest);
    }

    fn blob_served(&self, b: &ServedBlob<'_>) {
        {
            let mut state = self.state();
            state.blobs_done += 1;
            state.bytes_finished += b.size;
        }
        let mut line = format!(
            "blob {}  {}  from {}",
            short_digest(b.digest),
            human_bytes(b.size),
            b.endpoint
        );
        if b.resumed_from > 0 {
            line.push_str(&format!("  (resumed at {})", human_bytes(b.resumed_from)));
        }
        if b.tries > 1 {
            line.push_str(&format!("  (after {} tries)", b.tries));
        }
        self.log(&line);
    }

    fn blob_failed(&self, digest: &Digest, error: &Error) {
        let first = error.to_string();
        let first = first.lines().next().unwrap_or_default().to_string();
        self.say(&format!("blob {} failed: {first}", short_digest(digest)));
    }
}
