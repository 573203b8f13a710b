//! A TCP relay that makes a loopback link look like a WAN link, for
//! bench/wan.sh: it adds latency in each direction and caps each
//! connection's throughput, and logs what went through it.
//!
//! ```text
//! cargo build --release --example wan_relay
//! wan_relay --upstream 127.0.0.1:5000 --rtt-ms 40 --rate 200M --log relay.jsonl
//! ```
//!
//! The link model, per connection and per direction: bytes read at time t
//! are written on at t + one-way delay, no faster than the rate (a token
//! bucket). A new connection waits one round trip before anything flows,
//! as a TCP handshake would, so a request reaches the server 1.5 RTT after
//! `connect` and its answer is back at 2 RTT. A client that closes the
//! connection within that round trip gave up on a connection that, on a
//! real link, was never up: nothing it wrote reaches the server (loopback
//! completes the handshake at once, so it could write early; a real
//! client could not have). What it does not model:
//! loss, reordering, TCP slow start (loopback's own TCP runs underneath at
//! full speed), or a delayed connection refusal.
//!
//! Modes besides plain forwarding: `--reject-query` answers 404 to any
//! request whose target has a `?` (a mirror too old to know `ns=`), and
//! `--blackhole` (no upstream) accepts, reads and never answers.
//!
//! Events go to `--log` as JSON lines (start, open, req, tls, close, exit) with
//! wall-clock times, so a benchmark can count per run the connections,
//! HTTP requests and bytes each host saw. Requests are found by parsing
//! request heads in the client-to-server stream (HTTP/1.x; a chunked or
//! oversized request stops the parsing for that connection).
//!
//! The relay ends by itself after `--max-lifetime`, on SIGTERM or SIGINT,
//! and (Linux) when the process that started it dies.
//!
//! Written in Rust rather than Python: 8 connections at 200 Mbit/s each is
//! 200 MB/s through one process on a shared 2-core machine, and the relay
//! must cost little enough not to be what is measured. tokio's `net`
//! feature comes through the crate's dependency tree (reqwest), as it does
//! for the crate's own tests.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use clap::Parser;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};

/// Bytes asked of one read: a chunk of the stream is queued and delivered whole.
const CHUNK: usize = 64 * 1024;
/// Chunks queued per direction (at most 16 MiB): the bytes "on the wire".
/// Enough for 800 MB/s per connection at 20 ms one way, so the queue
/// is not what limits an uncapped link.
const QUEUE: usize = 256;
/// A request head longer than this is not HTTP we understand: stop parsing.
const MAX_HEAD: usize = 64 * 1024;

#[derive(Parser)]
#[command(about = "A latency- and rate-shaping TCP relay for benchmarks")]
struct Args {
    /// Address to listen on; port 0 picks a free one (see --port-file)
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write the port listened on to this file once listening
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// Where to forward connections (host:port)
    #[arg(long, required_unless_present = "blackhole")]
    upstream: Option<SocketAddr>,
    /// Accept connections, read requests, never answer (no upstream)
    #[arg(long, conflicts_with_all = ["upstream", "reject_query"])]
    blackhole: bool,
    /// Round-trip time added, in ms (half in each direction)
    #[arg(long, conflicts_with = "one_way_ms", default_value_t = 0.0)]
    rtt_ms: f64,
    /// One-way delay added in each direction, in ms (RTT = twice this)
    #[arg(long)]
    one_way_ms: Option<f64>,
    /// Throughput cap per connection and direction, bits per second; k, M
    /// and G suffixes (powers of 1000), e.g. 200M; 0: no cap
    #[arg(long, default_value = "0", value_parser = parse_rate)]
    rate: f64,
    /// Answer 404 to any request whose target has a query string
    #[arg(long)]
    reject_query: bool,
    /// Exit after this many seconds whatever happens
    #[arg(long, default_value_t = 3600)]
    max_lifetime: u64,
    /// JSON-lines event log (default: stdout)
    #[arg(long)]
    log: Option<PathBuf>,
    /// A label written into every event
    #[arg(long, default_value = "relay")]
    name: String,
}

/// Bits per second -> bytes per second.
fn parse_rate(s: &str) -> Result<f64, String> {
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1e3),
        Some((i, 'm' | 'M')) => (&s[..i], 1e6),
        Some((i, 'g' | 'G')) => (&s[..i], 1e9),
        _ => (s, 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v * mult / 8.0),
        _ => Err(format!("not a rate: {s:?} (e.g. 200M)")),
    }
}

/// What every connection shares: the link's shape, the log, the totals.
struct Relay {
    name: String,
    upstream: Option<SocketAddr>,
    one_way: Duration,
    rtt: Duration,
    /// Bytes per second per direction; 0 for no cap.
    rate: f64,
    reject_query: bool,
    log: Mutex<Box<dyn Write + Send>>,
    conns: AtomicU64,
    requests: AtomicU64,
    rejected: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

impl Relay {
    /// One JSON line; the time is wall-clock seconds, to line up with the
    /// benchmark's own clock.
    fn event(&self, ev: &str, mut fields: Value) {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        fields["ev"] = ev.into();
        fields["t"] = json!((t * 1e6).round() / 1e6);
        fields["relay"] = self.name.as_str().into();
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        // A full disk must not take the relay down with it: drop the line.
        let _ = writeln!(log, "{fields}").and_then(|()| log.flush());
    }

    fn totals(&self) -> Value {
        json!({
            "conns": self.conns.load(Relaxed), "requests": self.requests.load(Relaxed),
            "rejected": self.rejected.load(Relaxed),
            "bytes_up": self.bytes_up.load(Relaxed), "bytes_down": self.bytes_down.load(Relaxed),
        })
    }
}

fn main() {
    let args = Args::parse();
    die_with_parent();
    let log: Box<dyn Write + Send> = match &args.log {
        Some(path) => match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(f) => Box::new(f),
            Err(e) => fail(&format!("{}: {e}", path.display())),
        },
        None => Box::new(std::io::stdout()),
    };
    let one_way =
        Duration::from_secs_f64(args.one_way_ms.unwrap_or(args.rtt_ms / 2.0).max(0.0) / 1e3);
    let relay = Relay {
        name: args.name.clone(),
        upstream: args.upstream,
        one_way,
        rtt: one_way * 2,
        rate: args.rate,
        reject_query: args.reject_query,
        log: Mutex::new(log),
        conns: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        bytes_up: AtomicU64::new(0),
        bytes_down: AtomicU64::new(0),
    };
    // Two workers: the machine this runs on has two cores, shared with the
    // clients and servers being measured.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let rt = rt.unwrap_or_else(|e| fail(&format!("runtime: {e}")));
    // Leaked: every connection task borrows it, and it lives as long as
    // the process anyway.
    let served = rt.block_on(serve(&args, Box::leak(Box::new(relay))));
    // Connections still open are cut: the benchmark is over with them.
    std::process::exit(if served.is_ok() { 0 } else { 1 });
}

fn fail(msg: &str) -> ! {
    eprintln!("wan_relay: {msg}");
    std::process::exit(2)
}

/// Ask the kernel for SIGTERM when the parent dies, so a benchmark killed
/// with SIGKILL leaves no relay behind. Then check the parent is not gone
/// already (it may have died before the request was made; under a
/// subreaper that check cannot tell, and --max-lifetime is the backstop).
fn die_with_parent() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_PDEATHSIG) and getppid only read their arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        if libc::getppid() == 1 {
            std::process::exit(0);
        }
    }
}

/// Accept until the lifetime is up or a signal comes; logs start and exit.
async fn serve(args: &Args, relay: &'static Relay) -> std::io::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .await
        .unwrap_or_else(|e| fail(&format!("{}: {e}", args.listen)));
    let addr = listener.local_addr()?;
    if let Some(path) = &args.port_file {
        // Written whole, then renamed: a reader never sees half a port.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, addr.port().to_string()).and_then(|()| std::fs::rename(&tmp, path))?;
    }
    relay.event(
        "start",
        json!({
            "listen": addr.to_string(), "upstream": relay.upstream.map(|a| a.to_string()),
            "rtt_ms": relay.rtt.as_secs_f64() * 1e3, "rate_bits": relay.rate * 8.0,
            "reject_query": relay.reject_query, "max_lifetime": args.max_lifetime,
        }),
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let lifetime = sleep(Duration::from_secs(args.max_lifetime));
    tokio::pin!(lifetime);
    let why = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let id = relay.conns.fetch_add(1, Relaxed) + 1;
                    tokio::spawn(connection(relay, client, id));
                }
                // Out of descriptors, say: wait a little rather than spin.
                Err(_) => sleep(Duration::from_millis(10)).await,
            },
            _ = term.recv() => break "SIGTERM",
            _ = tokio::signal::ctrl_c() => break "SIGINT",
            () = &mut lifetime => break "max lifetime",
        }
    };
    relay.event("exit", json!({"why": why, "totals": relay.totals()}));
    Ok(())
}

/// One client connection: the handshake's round trip, then two directions
/// each made of a reader (stamps chunks with their due time) and a writer
/// (delivers them when due and as the rate allows).
async fn connection(relay: &'static Relay, client: TcpStream, id: u64) {
    relay.event("open", json!({"conn": id}));
    let _ = client.set_nodelay(true);
    let (mut client_rd, client_wr) = client.into_split();
    let Some(early) = handshake(relay.rtt, &mut client_rd).await else {
        let err = "abandoned: closed by the client within the handshake's round trip";
        relay.event("close", json!({"conn": id, "up": 0, "down": 0, "err": err}));
        return;
    };
    let (down_tx, down_rx) = mpsc::channel(QUEUE);
    let Some(addr) = relay.upstream else {
        // Blackhole: read and count, answer nothing, hold the connection.
        let (up, err) = read_requests(relay, id, early, client_rd, None, down_tx).await;
        relay.event("close", json!({"conn": id, "up": up, "down": 0, "err": err}));
        drop(client_wr);
        return;
    };
    let server = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            relay.event(
                "close",
                json!({"conn": id, "up": 0, "down": 0, "err": format!("upstream: {e}")}),
            );
            return;
        }
    };
    let _ = server.set_nodelay(true);
    let (server_rd, server_wr) = server.into_split();
    let (up_tx, up_rx) = mpsc::channel(QUEUE);
    let reqs =
        tokio::spawn(read_requests(relay, id, early, client_rd, Some(up_tx), down_tx.clone()));
    let resps = tokio::spawn(read_stream(relay, server_rd, down_tx));
    let to_server = tokio::spawn(deliver(relay, up_rx, server_wr, &relay.bytes_up));
    let to_client = tokio::spawn(deliver(relay, down_rx, client_wr, &relay.bytes_down));
    let (reqs, resps) = (reqs.await, resps.await);
    let (up, down) = (to_server.await.unwrap_or(0), to_client.await.unwrap_or(0));
    let err = [reqs.ok().and_then(|r| r.1), resps.ok().flatten()].into_iter().flatten().next();
    relay.event("close", json!({"conn": id, "up": up, "down": down, "err": err}));
}

/// The handshake's round trip: what the client writes meanwhile is held
/// (it goes on once the round trip is over, as if written then), and
/// `None` if the client closes the connection before it is over.
async fn handshake(rtt: Duration, from: &mut OwnedReadHalf) -> Option<BytesMut> {
    let up = sleep(rtt);
    tokio::pin!(up);
    let mut held = BytesMut::new();
    loop {
        held.reserve(CHUNK);
        tokio::select! {
            () = &mut up => return Some(held),
            read = from.read_buf(&mut held) => match read {
                Ok(0) | Err(_) => return None,
                // Past a request head's worth, stop reading early: the rest
                // waits in the socket, and the round trip is still kept.
                Ok(_) if held.len() > MAX_HEAD => {
                    up.await;
                    return Some(held);
                }
                Ok(_) => {}
            },
        }
    }
}

/// A piece of one direction's stream, due at the far end at `due`; an
/// empty one is the end of the stream (a FIN).
struct Chunk {
    due: Instant,
    data: Bytes,
}

/// Reads the server's answers into the queue toward the client.
async fn read_stream(
    relay: &Relay,
    mut from: OwnedReadHalf,
    to: mpsc::Sender<Chunk>,
) -> Option<String> {
    let mut buf = BytesMut::new();
    loop {
        buf.reserve(CHUNK);
        let (n, err) = match from.read_buf(&mut buf).await {
            Ok(n) => (n, None),
            Err(e) => (0, Some(e.to_string())),
        };
        let data = buf.split().freeze();
        // The writer gone means the other end is: nothing more to carry.
        if to.send(Chunk { due: Instant::now() + relay.one_way, data }).await.is_err() || n == 0 {
            return err;
        }
    }
}

/// Reads the client's requests into the queue toward the server (`None`:
/// blackhole, drop them), logging each request head, and answering 404
/// through the queue toward the client for a rejected one. `early`: what
/// the client wrote during the handshake, taken first.
async fn read_requests(
    relay: &Relay,
    id: u64,
    early: BytesMut,
    mut from: OwnedReadHalf,
    to: Option<mpsc::Sender<Chunk>>,
    back: mpsc::Sender<Chunk>,
) -> (u64, Option<String>) {
    let mut scan = Scanner::default();
    let (mut total, mut buf) = (0u64, early);
    loop {
        let (n, err) = if buf.is_empty() {
            buf.reserve(CHUNK);
            match from.read_buf(&mut buf).await {
                Ok(n) => (n, None),
                Err(e) => (0, Some(e.to_string())),
            }
        } else {
            (buf.len(), None)
        };
        total += n as u64;
        let due = Instant::now() + relay.one_way;
        if n == 0 {
            if let Some(to) = &to {
                let _ = to.send(Chunk { due, data: Bytes::new() }).await;
            }
            return (total, err);
        }
        for piece in scan.feed(buf.split().freeze()) {
            match admit(relay, id, piece) {
                Verdict::Forward(data) => {
                    // No queue toward a server (blackhole): drop the bytes.
                    if let Some(to) = &to
                        && to.send(Chunk { due, data }).await.is_err()
                    {
                        return (total, err);
                    }
                }
                Verdict::Answer(data) => {
                    let _ = back.send(Chunk { due, data }).await;
                }
                Verdict::Nothing => {}
            }
        }
    }
}

/// What becomes of a piece of the client's stream.
enum Verdict {
    /// On to the server.
    Forward(Bytes),
    /// Not to the server: this goes back to the client instead.
    Answer(Bytes),
    Nothing,
}

/// Logs request heads (and TLS hellos) and decides what to do with them:
/// a request with a query string is answered 404 under --reject-query.
fn admit(relay: &Relay, id: u64, piece: Piece) -> Verdict {
    match piece {
        Piece::Pass(data) => Verdict::Forward(data),
        Piece::Tls => {
            relay.event("tls", json!({"conn": id}));
            Verdict::Nothing
        }
        Piece::Head { method, target, head } => {
            relay.requests.fetch_add(1, Relaxed);
            let reject = relay.reject_query && target.contains('?');
            let fields =
                json!({"conn": id, "method": method, "target": target, "rejected": reject});
            relay.event("req", fields);
            if reject {
                relay.rejected.fetch_add(1, Relaxed);
                Verdict::Answer(not_found(&method))
            } else {
                Verdict::Forward(head)
            }
        }
    }
}

/// The answer of a mirror that does not know a query string: a registry's
/// 404, keeping the connection open. A HEAD gets the head alone.
fn not_found(method: &str) -> Bytes {
    let body = r#"{"errors":[{"code":"NAME_UNKNOWN","message":"no such path (query strings are not understood here)"}]}"#;
    let head = format!(
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Docker-Distribution-Api-Version: registry/2.0\r\n\r\n",
        body.len()
    );
    Bytes::from(if method == "HEAD" { head } else { head + body })
}

/// Writes a direction's chunks when due, paced by the rate; returns the
/// bytes written, also counted into `total` as they go (so the exit
/// event's totals include connections still open). A write error (the
/// peer is gone) ends it.
async fn deliver(
    relay: &Relay,
    mut from: mpsc::Receiver<Chunk>,
    mut to: OwnedWriteHalf,
    total: &AtomicU64,
) -> u64 {
    let mut bucket = Bucket::new(relay.rate);
    let mut sent = 0u64;
    while let Some(chunk) = from.recv().await {
        // A backlog is already due: skip the timer (it costs a lock).
        if chunk.due > Instant::now() {
            sleep_until(chunk.due).await;
        }
        if chunk.data.is_empty() {
            let _ = to.shutdown().await;
            break;
        }
        bucket.take(chunk.data.len()).await;
        if to.write_all(&chunk.data).await.is_err() {
            break;
        }
        sent += chunk.data.len() as u64;
        total.fetch_add(chunk.data.len() as u64, Relaxed);
    }
    sent
}

/// A token bucket that may go into debt: a chunk larger than what is in
/// the bucket goes at once, and the wait comes after it. Tokens are
/// counted from the clock, not from the sleeps, so a late wake-up (tokio's
/// timer has 1 ms steps, and a loaded machine adds more) is made up for
/// rather than lowering the rate, as long as it is within the burst.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// What may build up while a connection is idle: 10 ms at the rate (a
    /// chunk at the least), so a pause buys no burst worth speaking of,
    /// but a wake-up up to 10 ms late costs nothing.
    const BURST_TIME: f64 = 0.010;

    fn new(rate: f64) -> Self {
        let burst = (rate * Self::BURST_TIME).max(CHUNK as f64);
        Bucket { rate, burst, tokens: burst, last: Instant::now() }
    }

    async fn take(&mut self, n: usize) {
        if self.rate <= 0.0 {
            return;
        }
        let now = Instant::now();
        self.tokens = (self.tokens + (now - self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        self.tokens -= n as f64;
        if self.tokens < 0.0 {
            sleep(Duration::from_secs_f64(-self.tokens / self.rate)).await;
        }
    }
}

/// What the scanner makes of the client's bytes: a whole request head
/// (with its method and target), or bytes to pass on as they are.
enum Piece {
    Head {
        method: String,
        target: String,
        head: Bytes,
    },
    Pass(Bytes),
    /// The connection starts with a TLS handshake (it is passed on too).
    Tls,
}

/// Finds request heads in a client-to-server HTTP/1.x stream. A head is
/// held back until complete (clients send one in one write), so that a
/// rejected request never reaches the server. Bodies with a
/// Content-Length are passed over; anything it cannot follow (chunked
/// bodies, heads over 64 KiB) makes it pass the rest of the connection
/// through unparsed.
struct Scanner {
    head: BytesMut,
    body_left: u64,
    opaque: bool,
    /// Nothing seen on this connection yet.
    fresh: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner { head: BytesMut::new(), body_left: 0, opaque: false, fresh: true }
    }
}

impl Scanner {
    fn feed(&mut self, mut data: Bytes) -> Vec<Piece> {
        let mut out = Vec::new();
        while !data.is_empty() {
            if self.opaque {
                out.push(Piece::Pass(data));
                break;
            }
            // A TLS ClientHello (record type 22) on a plain port: a client
            // trying https first. Say so once; the server will refuse it.
            if self.fresh && data[0] == 0x16 {
                self.opaque = true;
                out.push(Piece::Tls);
                continue;
            }
            self.fresh = false;
            if self.body_left > 0 {
                let n = self.body_left.min(data.len() as u64) as usize;
                out.push(Piece::Pass(data.split_to(n)));
                self.body_left -= n as u64;
                continue;
            }
            // Search from a little before the new bytes: the blank line
            // may straddle two reads.
            let from = self.head.len().saturating_sub(3);
            self.head.extend_from_slice(&data);
            let Some(end) = find(&self.head[from..], b"\r\n\r\n").map(|i| from + i + 4) else {
                if self.head.len() > MAX_HEAD {
                    self.opaque = true;
                    out.push(Piece::Pass(self.head.split().freeze()));
                }
                break;
            };
            let used = data.len() - (self.head.len() - end);
            data = data.slice(used..);
            let head = self.head.split_to(end).freeze();
            self.head.clear();
            out.push(self.parse(head));
        }
        out
    }

    /// The request line, and what follows the head.
    fn parse(&mut self, head: Bytes) -> Piece {
        let text = String::from_utf8_lossy(&head);
        let mut lines = text.split("\r\n").skip_while(|l| l.is_empty());
        let mut words = lines.next().unwrap_or("").split(' ');
        let (method, target) =
            (words.next().unwrap_or("").to_string(), words.next().unwrap_or("").to_string());
        for line in lines {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                self.body_left = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && !value.eq_ignore_ascii_case("identity")
            {
                self.opaque = true;
            }
        }
        Piece::Head { method, target, head }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// Run by `cargo test` (Cargo.toml: the example has `test = true`).
#[cfg(test)]
mod tests {
    use super::*;

    fn heads(scan: &mut Scanner, data: &[u8]) -> Vec<String> {
        let pieces = scan.feed(Bytes::copy_from_slice(data));
        pieces
            .into_iter()
            .map(|p| match p {
                Piece::Head { method, target, .. } => format!("{method} {target}"),
                Piece::Pass(b) => format!("pass {}", b.len()),
                Piece::Tls => "tls".into(),
            })
            .collect()
    }

    #[test]
    fn heads_split_across_reads_and_bodies_passed_over() {
        let mut scan = Scanner::default();
        assert!(heads(&mut scan, b"GET /v2/ HTTP/1.1\r\nHost: x\r").is_empty());
        assert_eq!(
            heads(&mut scan, b"\n\r\nHEAD /v2/a/manifests/v1?ns=b HTTP/1.1\r\n\r\n"),
            ["GET /v2/", "HEAD /v2/a/manifests/v1?ns=b"]
        );
        // A body's bytes are not mistaken for a head, even when they look like one.
        let put = b"PUT /x HTTP/1.1\r\nContent-Length: 12\r\n\r\nGET / HTTP\r\n";
        assert_eq!(heads(&mut scan, put), ["PUT /x", "pass 12"]);
        assert_eq!(heads(&mut scan, b"GET /y HTTP/1.1\r\n\r\n"), ["GET /y"]);
    }

    #[test]
    fn tls_and_chunked_bodies_are_passed_through() {
        let mut scan = Scanner::default();
        assert_eq!(heads(&mut scan, b"\x16\x03\x01\x02\x00"), ["tls", "pass 5"]);
        let mut scan = Scanner::default();
        let post = b"POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello";
        assert_eq!(heads(&mut scan, post), ["POST /u", "pass 8"]);
    }

    /// The server side of a loopback connection whose client wrote a
    /// request and then either closed it or kept it open.
    fn handshake_with(close: bool) -> (Option<BytesMut>, Duration) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            client.write_all(b"HEAD /v2/a/manifests/v1 HTTP/1.1\r\n\r\n").await.unwrap();
            let kept = if close {
                drop(client);
                None
            } else {
                Some(client)
            };
            let (mut rd, _wr) = server.into_split();
            let start = Instant::now();
            let held = handshake(Duration::from_millis(150), &mut rd).await;
            drop(kept);
            (held, start.elapsed())
        })
    }

    #[test]
    fn a_request_written_early_waits_for_the_handshake_and_is_kept() {
        let (held, took) = handshake_with(false);
        assert_eq!(held.as_deref(), Some(&b"HEAD /v2/a/manifests/v1 HTTP/1.1\r\n\r\n"[..]));
        assert!(took >= Duration::from_millis(150), "{took:?}");
    }

    #[test]
    fn a_connection_given_up_within_the_handshake_never_reaches_the_server() {
        let (held, took) = handshake_with(true);
        assert!(held.is_none());
        assert!(took < Duration::from_millis(150), "{took:?}");
    }

    #[test]
    fn rates_are_bits_per_second() {
        assert_eq!(parse_rate("200M"), Ok(25e6));
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert!(parse_rate("fast").is_err());
    }
}
