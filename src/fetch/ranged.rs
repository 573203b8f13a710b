//! A large blob on several connections at once. CDNs, object stores and
//! long fat pipes cap one TCP connection well below the link; containerd
//! 2.1 fetches big blobs as parallel ranges for that reason.
//!
//! One connection starts, as for any blob. While it runs, the rate is
//! watched: when the rest would take longer than `SPLIT_WHEN_LEFT` at this
//! rate, the segment with the most left is split and its second half
//! fetched on another connection with its own `Range` request, again for
//! every connection the run's budget (`--jobs`) has free. On loopback or
//! a fast link nothing is ever split. Separate HTTP/1.1 connections, not
//! HTTP/2 streams: streams on one connection share one congestion window.
//!
//! A host that ignores `Range` (answers 200) gets no more splits; one that
//! lacks the blob or fails it fails the blob there (the next host carries
//! on from the same bytes); a connection cut or too slow is given up and
//! its segment fetched again, by another connection or host.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;

use super::decide;
use super::{Ask, BlobServed, Fetcher, HostAnswer, Walk};
use crate::error::Error;
use crate::image::Descriptor;
use crate::layout::{Claim, Written};
use crate::registry::{Endpoint, Exchange, FetchError, Wire};
use crate::trace::{AskKind, Attempt, Outcome};

/// A split is worth it when the rest would take longer than this on the
/// connections already running: shorter, and the extra connection's setup
/// (a round trip or two) buys little.
const SPLIT_WHEN_LEFT: Duration = Duration::from_secs(2);
/// A segment of a blob already split is split again when it alone would
/// take longer than this on its connection: a new connection's setup is
/// two round trips and a slow start, well under this on any link that
/// needs splitting.
const SEGMENT_WHEN_LEFT: Duration = Duration::from_secs(1);
/// How often the rate is looked at (and the segments saved for a resume).
const TICK: Duration = Duration::from_millis(250);
/// What the rate is measured over once the blob is under way: long enough
/// not to follow every hiccup of one connection.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// The first judgement comes sooner: every connection left idle until
/// then is a cap's worth of bytes a second not coming (bench/wan.sh, big:
/// this and 4 MiB splits took 3.8 s to 3.6 s). Its rate, taken during
/// the connection's setup and slow start, is low, which errs toward a
/// split; on loopback it is still far above what would call for one.
const FIRST_WINDOW: Duration = Duration::from_millis(250);
/// No segment is split into halves smaller than this, nor than a quarter
/// of the split threshold (so that a lowered threshold splits smaller
/// blobs too). It bounds the tail, where connections that finished wait
/// for the last: 4 MiB at 25 MB/s is under 0.2 s.
const MIN_SPLIT: u64 = 4 << 20;
/// The most connections one blob uses.
const MAX_RANGES: usize = 8;
/// What a connection buffers before writing (one `pwritev`).
const WRITE_BUFFER: usize = 256 << 10;

/// Where a blob's bytes go when it is fetched in ranges: the layout's
/// `RangedWriter` (see its module for the segments and the hash frontier).
pub trait RangeSink: Send + Sync + 'static {
    fn size(&self) -> u64;
    fn written(&self) -> u64;
    fn complete(&self) -> bool;
    /// What the segment with the most still to come has left.
    fn most_left(&self) -> u64;
    fn claim(&self, min_split: u64) -> Option<Claim>;
    fn write(&self, start: u64, chunks: &[Bytes]) -> Result<Written, Error>;
    fn extend(&self, start: u64) -> Option<u64>;
    fn release(&self, start: u64);
    fn restart(&self) -> Result<(), Error>;
    /// Keeps the segments for a run that resumes after this one dies.
    fn save(&self);
    fn finish(&self) -> impl Future<Output = Result<(), Error>> + Send;
}

/// How one host's pass at the blob ended.
enum Pass {
    Served(u32),
    /// It did not serve the blob.
    Failed(Attempt, FetchError),
    /// Every byte came, and they failed the digest (all are dropped).
    WrongBytes(Attempt, FetchError),
}

/// How one connection's turn ended.
enum Turn {
    /// Its segment (and any it took on) is written.
    Done,
    /// The host ignored `Range`: no more splits there.
    NoRanges,
    /// Cut off or too slow: its segment is free for another connection.
    Cut { answer: Attempt, err: FetchError },
    /// The host cannot serve the blob (not found, denied, broken answer).
    Failed { answer: Attempt, err: FetchError },
    /// The disk failed: no host can help.
    Fatal(Error),
}

impl Fetcher {
    /// A blob into `sink` from the first host in `order` that serves it
    /// whole and right, on as many connections as pay (see the module).
    pub async fn blob_in_ranges<S: RangeSink>(
        self: &Arc<Self>,
        d: &Descriptor,
        sink: Arc<S>,
        order: &[usize],
    ) -> Result<BlobServed, Error> {
        let ask = Ask { kind: AskKind::Blob, digest: Some(d.digest.clone()), by_tag: false };
        let resumed_from = sink.written();
        let mut walk = Walk::new(self, &ask);
        for &i in order {
            let Some(endpoint) = walk.enter(i).await? else { continue };
            match self.ranges_from(i, &endpoint, d, &sink).await? {
                Ok(tries) => return Ok(BlobServed { host: i, tries, resumed_from }),
                Err((answer, err)) => walk.failed(i, answer, &err),
            }
        }
        sink.save();
        Err(walk.give_up(format!("{}@{}", self.plan.reference.name(), d.digest)))
    }

    /// One host's turn at the blob: `Ok(Ok(connections used))`, or its
    /// answer when it did not serve it, or `Err` when no host can help.
    /// Bytes that were there before (an earlier attempt or run, maybe
    /// another host's) and fail the digest are not this host's fault: the
    /// blob is fetched once more, whole, from it, before it is blamed.
    async fn ranges_from<S: RangeSink>(
        self: &Arc<Self>,
        i: usize,
        endpoint: &Arc<Endpoint>,
        d: &Descriptor,
        sink: &Arc<S>,
    ) -> Result<Result<u32, (Attempt, FetchError)>, Error> {
        let resumed = sink.written() > 0;
        match self.ranges_pass(i, endpoint, d, sink).await? {
            Pass::Served(used) => Ok(Ok(used)),
            Pass::WrongBytes(..) if resumed => {
                match self.ranges_pass(i, endpoint, d, sink).await? {
                    Pass::Served(used) => Ok(Ok(used)),
                    Pass::WrongBytes(answer, err) | Pass::Failed(answer, err) => {
                        Ok(Err((answer, err)))
                    }
                }
            }
            Pass::WrongBytes(answer, err) | Pass::Failed(answer, err) => Ok(Err((answer, err))),
        }
    }

    async fn ranges_pass<S: RangeSink>(
        self: &Arc<Self>,
        i: usize,
        endpoint: &Arc<Endpoint>,
        d: &Descriptor,
        sink: &Arc<S>,
    ) -> Result<Pass, Error> {
        let retries = self.session.config.network.retries;
        let budget = self.session.connections();
        let min_split = (self.session.config.network.split_threshold / 4).min(MIN_SPLIT);
        let mut turns: JoinSet<(Turn, Option<OwnedSemaphorePermit>)> = JoinSet::new();
        let (mut used, mut cuts, mut ranges_work) = (0u32, 0u32, true);
        let mut rate = Rate::new(sink.written());
        let mut tick = tokio::time::interval(TICK);
        let host = PassHost { index: i, endpoint: endpoint.clone(), takes_ranges: Arc::default() };
        // The last tick's verdict: another connection would pay. Until the
        // next tick, each connection the budget frees is taken at once
        // (one freed between ticks idled 125 ms on average, plus a new
        // connection's setup: bench/wan.sh, big).
        let mut want_more = false;
        loop {
            // One split at a time until the host has answered a range with
            // it: one that ignores `Range` would send the whole blob to each.
            let most = if host.takes_ranges.load(Ordering::Relaxed) { MAX_RANGES } else { 2 };
            if turns.is_empty() {
                let Some(claim) = self.first_claim(sink, ranges_work)? else { break };
                let turn = self.clone().turn(host.clone(), d.clone(), sink.clone(), claim, None);
                turns.spawn(turn);
                used += 1;
            }
            tokio::select! {
                ended = turns.join_next() => {
                    let Some(ended) = ended else { continue };
                    let (turn, _permit) = ended.map_err(|e| Error::Failed(format!("a download stopped: {e}")))?;
                    match turn {
                        Turn::Done => {}
                        Turn::NoRanges => (ranges_work, want_more) = (false, false),
                        Turn::Cut { answer, err } => {
                            cuts += 1;
                            if cuts >= retries || decide::too_slow(&err) {
                                sink.save();
                                return Ok(Pass::Failed(answer, err));
                            }
                        }
                        Turn::Failed { answer, err } => {
                            sink.save();
                            return Ok(Pass::Failed(answer, err));
                        }
                        Turn::Fatal(e) => return Err(e),
                    }
                }
                _ = tick.tick() => {
                    sink.save();
                    want_more = ranges_work && rate.worth_splitting(sink.as_ref(), turns.len());
                }
                // Every free connection, as soon as it is free: on a capped
                // link each one added early is a cap's worth of bytes for
                // the whole download.
                permit = budget.clone().acquire_owned(), if want_more && turns.len() < most => {
                    let ready = permit.ok().and_then(|permit| Some((permit, sink.claim(min_split)?)));
                    let Some((permit, claim)) = ready else {
                        // Nothing left worth a split: wait for the next tick.
                        want_more = false;
                        continue;
                    };
                    let turn = self.clone().turn(host.clone(), d.clone(), sink.clone(), claim, Some(permit));
                    turns.spawn(turn);
                    used += 1;
                }
            }
        }
        self.verify_ranges(i, d, sink, used).await
    }

    /// What the next connection asks for when none is running: a free
    /// segment, or, when the host ignores `Range`, the whole blob again
    /// on one connection.
    fn first_claim<S: RangeSink>(
        &self,
        sink: &Arc<S>,
        ranges_work: bool,
    ) -> Result<Option<Claim>, Error> {
        if sink.complete() {
            return Ok(None);
        }
        if !ranges_work {
            sink.restart()?;
        }
        Ok(sink.claim(u64::MAX))
    }

    /// Every segment is written: the one digest over the whole blob says
    /// whether this host's bytes were right.
    async fn verify_ranges<S: RangeSink>(
        &self,
        i: usize,
        d: &Descriptor,
        sink: &Arc<S>,
        used: u32,
    ) -> Result<Pass, Error> {
        match sink.finish().await {
            Ok(()) => Ok(Pass::Served(used)),
            Err(Error::Invalid(why)) => {
                let ask =
                    Ask { kind: AskKind::Blob, digest: Some(d.digest.clone()), by_tag: false };
                let nothing = Exchange { url: String::new(), status: None };
                let answer = self.record(
                    i,
                    &ask,
                    &nothing,
                    Some(why.clone()),
                    Outcome::Failed,
                    Instant::now(),
                );
                Ok(Pass::WrongBytes(answer, FetchError::Invalid(why)))
            }
            Err(e) => Err(e),
        }
    }

    /// One connection: `Range: bytes=<from>-` for the claimed segment, its
    /// body written until the segment is (or the next free one too).
    async fn turn<S: RangeSink>(
        self: Arc<Self>,
        host: PassHost,
        d: Descriptor,
        sink: Arc<S>,
        claim: Claim,
        permit: Option<OwnedSemaphorePermit>,
    ) -> (Turn, Option<OwnedSemaphorePermit>) {
        let PassHost { index: i, endpoint, takes_ranges } = host;
        let ask = Ask { kind: AskKind::Blob, digest: Some(d.digest.clone()), by_tag: false };
        let repo = self.plan.reference.repository.clone();
        let answer = self
            .ask_host(i, &ask, |ns| {
                let (endpoint, repo, digest) = (endpoint.clone(), repo.clone(), d.digest.clone());
                // Each range on a connection of its own (see `Wire::Own`).
                let from = claim.from;
                async move { endpoint.get_blob(&repo, &digest, ns.as_deref(), from, Wire::Own).await }
            })
            .await;
        let turn = match answer {
            HostAnswer::Failed { err, answer, .. } => Turn::Failed { answer, err },
            HostAnswer::Served { value: mut body, exchange, started, .. } => {
                if claim.from > 0 && body.start == claim.from {
                    takes_ranges.store(true, Ordering::Relaxed);
                }
                match stream_segment(&sink, &d, claim, &mut body).await {
                    Ok(()) => {
                        self.record(i, &ask, &exchange, None, Outcome::Served, started);
                        Turn::Done
                    }
                    Err(Segmented::NoRanges) => Turn::NoRanges,
                    Err(Segmented::Fatal(e)) => Turn::Fatal(e),
                    Err(Segmented::Bad(why)) => {
                        let answer = self.record(
                            i,
                            &ask,
                            &exchange,
                            Some(why.clone()),
                            Outcome::Failed,
                            started,
                        );
                        Turn::Failed { answer, err: FetchError::Invalid(why) }
                    }
                    Err(Segmented::Cut(err)) => {
                        self.learn(self.host(i), &err);
                        let answer = self.record(
                            i,
                            &ask,
                            &exchange,
                            Some(err.to_string()),
                            Outcome::Failed,
                            started,
                        );
                        Turn::Cut { answer, err }
                    }
                }
            }
        };
        sink.release(claim.start);
        (turn, permit)
    }
}

/// The host of one pass, as each of its connections needs it.
#[derive(Clone)]
struct PassHost {
    index: usize,
    endpoint: Arc<Endpoint>,
    /// It has answered a `Range` from past the start with those bytes.
    takes_ranges: Arc<AtomicBool>,
}

enum Segmented {
    NoRanges,
    Bad(String),
    Cut(FetchError),
    Fatal(Error),
}

/// Writes the body into the claimed segment, taking on the next segment
/// when this one is done and nobody has that one, and stopping (the rest
/// of the response dropped) when it is not free.
async fn stream_segment<S: RangeSink>(
    sink: &Arc<S>,
    d: &Descriptor,
    claim: Claim,
    body: &mut crate::registry::BlobBody,
) -> Result<(), Segmented> {
    if body.start != claim.from {
        return Err(Segmented::NoRanges);
    }
    if let Some(len) = body.content_length()
        && body.start.checked_add(len) != Some(d.size)
    {
        return Err(Segmented::Bad(format!(
            "announced {len} bytes from offset {}, but the blob has {}",
            body.start, d.size
        )));
    }
    let mut writer = SegmentWriter { sink: sink.as_ref(), start: claim.start, full: false };
    let (mut buf, mut buffered) = (Vec::new(), 0usize);
    loop {
        let chunk = match body.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                writer.write(std::mem::take(&mut buf))?;
                return match writer.full {
                    true => Ok(()),
                    false => Err(Segmented::Cut(FetchError::Transport {
                        kind: crate::registry::TransportKind::Other,
                        message: "the body ended before its range did".into(),
                    })),
                };
            }
            Err(e) => {
                writer.write(std::mem::take(&mut buf))?;
                return Err(Segmented::Cut(e));
            }
        };
        buffered += chunk.len();
        buf.push(chunk);
        if buffered >= WRITE_BUFFER {
            buffered = 0;
            if !writer.write(std::mem::take(&mut buf))? {
                return Ok(());
            }
        }
    }
}

/// One connection's writes into its segment, taking on the next one when
/// its bytes go on past the end and that one is free.
struct SegmentWriter<'a, S: RangeSink> {
    sink: &'a S,
    start: u64,
    /// The segment is complete (and was not extended).
    full: bool,
}

impl<S: RangeSink> SegmentWriter<'_, S> {
    /// Writes `chunks`; false when the segment is complete and the next
    /// cannot be taken (the rest of the response is of no use then).
    fn write(&mut self, mut chunks: Vec<Bytes>) -> Result<bool, Segmented> {
        loop {
            if chunks.is_empty() {
                return Ok(true);
            }
            if self.full {
                if self.sink.extend(self.start).is_none() {
                    return Ok(false);
                }
                self.full = false;
            }
            let written = self.sink.write(self.start, &chunks).map_err(|e| match e {
                Error::Invalid(why) => Segmented::Bad(why),
                other => Segmented::Fatal(other),
            })?;
            self.full = written.segment_done;
            chunks = after(chunks, written.accepted);
        }
    }
}

/// `chunks` without their first `n` bytes.
fn after(chunks: Vec<Bytes>, mut n: u64) -> Vec<Bytes> {
    let mut rest = Vec::new();
    for c in chunks {
        let len = c.len() as u64;
        if n >= len {
            n -= len;
            continue;
        }
        rest.push(c.slice(n as usize..));
        n = 0;
    }
    rest
}

/// The rate the blob's bytes have come at, over the last `RATE_WINDOW`.
struct Rate {
    since: Instant,
    bytes: u64,
    window: Duration,
    /// The last full window's rates, all connections' and one's: kept
    /// until the next, while the verdict is taken again at every tick, so
    /// that a connection freed meanwhile (another blob done) is put to
    /// use at once, not up to a window later.
    total: f64,
    per_connection: f64,
}

impl Rate {
    fn new(written: u64) -> Rate {
        let since = Instant::now();
        Rate { since, bytes: written, window: FIRST_WINDOW, total: 0.0, per_connection: 0.0 }
    }

    /// Would another connection pay: the rest of the blob at its rate, or
    /// the longest segment at one connection's? The rates are measured
    /// over at least `RATE_WINDOW` (`FIRST_WINDOW` the first time), so a
    /// hiccup is not taken for a slow link.
    fn worth_splitting(&mut self, sink: &impl RangeSink, turns: usize) -> bool {
        let elapsed = self.since.elapsed();
        let written = sink.written();
        if elapsed >= self.window {
            self.total = written.saturating_sub(self.bytes) as f64 / elapsed.as_secs_f64();
            self.per_connection = self.total / turns.max(1) as f64;
            (self.since, self.bytes, self.window) = (Instant::now(), written, RATE_WINDOW);
        }
        // The segment rule only once the host has shown its rate on more
        // than one connection: a blob on one is judged whole, at 2 s.
        // Once split, the blob ends when its slowest segment does: judged
        // on the whole blob alone, a blob on six capped connections looked
        // nearly done while two of them had a second's work left and the
        // others idled (bench/wan.sh, big).
        takes_longer(self.total, sink.size().saturating_sub(written), SPLIT_WHEN_LEFT)
            || (turns > 1 && takes_longer(self.per_connection, sink.most_left(), SEGMENT_WHEN_LEFT))
    }
}

/// Whether `left` bytes at `rate` bytes a second take longer than `than`
/// (never, with no rate measured yet).
fn takes_longer(rate: f64, left: u64, than: Duration) -> bool {
    rate > 0.0 && left as f64 / rate > than.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_pays_when_the_rest_takes_over_two_seconds() {
        const MB: f64 = 1e6;
        let cases = [
            // (rate bytes/s, left bytes, split?)
            (25.0 * MB, 256 << 20, true), // a capped connection, a big layer
            (25.0 * MB, 40 << 20, false), // 1.7 s left: the setup would cost more
            (2e9, 1 << 30, false),        // loopback: never
            (0.0, 1 << 30, false),        // nothing came yet: no rate to judge
            (1.0 * MB, 0, false),         // done
        ];
        for (rate, left, split) in cases {
            let got = takes_longer(rate, left, SPLIT_WHEN_LEFT);
            assert_eq!(got, split, "rate {rate}, left {left}");
        }
    }

    #[test]
    fn a_split_blob_splits_again_when_a_segment_has_over_a_second_left() {
        const MB: f64 = 1e6;
        let cases = [
            // (one connection's rate, the longest segment's bytes left, split?)
            (25.0 * MB, 30 << 20, true), // 1.3 s on its connection, the others idle
            (25.0 * MB, 20 << 20, false), // 0.8 s: a new connection would barely start
            (0.0, 30 << 20, false),      // no rate measured yet
        ];
        for (rate, left, split) in cases {
            let got = takes_longer(rate, left, SEGMENT_WHEN_LEFT);
            assert_eq!(got, split, "rate {rate}, left {left}");
        }
    }
}
