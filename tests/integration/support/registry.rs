//! An in-process fake of the distribution (OCI registry) pull API, with switchable
//! auth, `ns` handling and faults, so the CLI can be tested against every way a
//! mirror misbehaves without a real registry.
//!
//! Each `Registry` runs axum on its own thread with its own single-threaded tokio
//! runtime: plain synchronous `#[test]`s can start one, run the `ocimirror` binary
//! as a child process, then inspect the request log. Dropping it shuts it down
//! (in-flight requests, even hung ones, are cancelled).
//!
//! ```ignore
//! let reg = Registry::start();
//! reg.push_image("library/app", "v1", &image);
//! reg.set_auth(Auth::Basic { user: "u".into(), pass: "p".into() });
//! reg.fault(Fault::MissingBlob(image.layers[0].digest.clone()));
//! // ... run the CLI against reg.host() ...
//! assert_eq!(reg.count("GET", "/v2/library/app/manifests/"), 1);
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde_json::json;

use super::image::{Blob, Image, Index, OCI_MANIFEST, sha256, sha512};

/// How the registry treats the `ns` query parameter (see protocol notes).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum NsMode {
    /// Like zot/Harbor/distribution: the parameter is ignored, the default store
    /// answers everything and no `OCI-Namespace` header is sent.
    #[default]
    Ignore,
    /// Like Spegel/Dragonfly: `?ns=X` is answered from the store pushed with
    /// `push_*_ns("X", ..)` and echoed in `OCI-Namespace: X`; no `ns` means the
    /// default store.
    Honor,
    /// Like registries that refuse unknown query parameters: any request with a
    /// query string gets this status (400 or 404) and a JSON error body.
    RejectQuery(u16),
    /// Like `Honor`, for a mirror that serves only by namespace: a manifest
    /// or blob request without `ns` gets 400.
    RequireNs,
}

/// Which credentials `/v2/...` requires.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Basic base64(user:pass)`, else 401 with a Basic challenge.
    Basic { user: String, pass: String },
    /// Docker token auth: 401 with a Bearer challenge whose realm is this
    /// registry's `/token`. The token endpoint requires these Basic credentials
    /// when set, and serves anonymous tokens when `None`.
    Bearer { user_pass: Option<(String, String)> },
}

/// A misbehaviour to inject. Several can be active at once; counted ones
/// (`times`, `n`) switch themselves off after that many hits.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// 404 BLOB_UNKNOWN for this blob even though it is stored.
    MissingBlob(String),
    /// Serve this blob with every byte flipped (same length, wrong digest).
    CorruptBlob(String),
    /// For the first `times` GETs of this blob: headers with the full
    /// Content-Length (of the range, for a 206), `after` body bytes, then the
    /// connection is cut. Later GETs are served normally, so resume can work.
    TruncateBlob { digest: String, after: usize, times: usize },
    /// Answer Range requests with 200 and the whole body.
    IgnoreRange,
    /// Answer a Range request that starts at the blob's end with an empty
    /// 206 (a lax server; distribution says 416).
    EmptyRangeAtEnd,
    /// Accept every request and never answer (until the registry is dropped).
    Hang,
    /// Like `Hang`, for blob requests only: manifests are served.
    HangBlobs,
    /// Manifest HEADs are held, unanswered, until this fault is cleared
    /// (`clear_faults`): a registry far away, slow to confirm a tag.
    HoldManifestHeads,
    /// Manifest requests by tag (not by digest) that it would serve (any
    /// auth passed) are held, unanswered, until this fault is cleared: a
    /// pull-through cache asking its upstream for the tag, while it serves
    /// a digest it holds at once.
    HoldTagManifests,
    /// Manifest requests get 200 `text/html` (a captive portal or a web UI).
    HtmlManifests,
    /// The first `n` manifest/blob requests get 429 with `Retry-After`.
    TooManyRequests { n: usize, retry_after_secs: u64 },
    /// The first `times` manifest requests get this status (e.g. 500, 503).
    ManifestStatus { code: u16, times: usize },
    /// Blob requests get 307 to `<base_url>/v2/<name>/blobs/<digest>`, like a
    /// registry that redirects to object storage. Point it at another
    /// `Registry::url()` to check that `Authorization` does not follow.
    RedirectBlobsTo(String),
    /// Manifest requests get 307 to their own URL, forever.
    RedirectLoop,
    /// Manifest responses carry a `Docker-Content-Digest` that is not theirs.
    WrongContentDigest,
    /// Every manifest request gets a well-formed OCI manifest padded to
    /// `bytes`; `chunked` leaves out Content-Length so the client must cap its
    /// reads rather than trust the header.
    OversizedManifest { bytes: usize, chunked: bool },
    /// This blob's body never ends (capped at 1 GiB) and has no Content-Length.
    EndlessBlob(String),
    /// GETs of this blob get headers with the full Content-Length, `after`
    /// body bytes, then nothing more, ever (the connection stays open): a
    /// download stuck mid-body, to be killed, interrupted or timed out.
    StallBlob { digest: String, after: usize },
    /// `/token` answers 200 with a body that is not JSON.
    JunkToken,
    /// Headers at once, then the body of every response of this kind one
    /// byte at a time, `every` apart: a server that never stalls long
    /// enough to trip a stall timeout, yet never finishes.
    Drip { every: Duration, bodies: DripBodies },
    /// Blob bodies at this many bytes a second, each response on its own:
    /// a link that caps every connection (a CDN, a long fat pipe).
    Pace { bytes_per_sec: u64 },
    /// Echo `OCI-Namespace` with the request's `ns` while serving the
    /// default store: a mirror that claims to honour `ns` and does not.
    EchoNamespace,
    /// Manifest responses (HEAD included) name their digest in sha512 in
    /// `Docker-Content-Digest`, as a registry may.
    Sha512ContentDigest,
    /// Every error response carries `HOSTILE_CODE` and `HOSTILE_MESSAGE`:
    /// terminal escape sequences where the client shows server text.
    HostileText,
    /// Every answer carries Docker Hub's rate-limit headers
    /// (`ratelimit-limit: L;w=21600`, `ratelimit-remaining: R;w=21600`).
    RateLimitHeaders { limit: u64, remaining: u64 },
}

/// Which responses `Fault::Drip` slows down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DripBodies {
    /// Successful blob GETs.
    Blobs,
    /// Successful manifest GETs.
    Manifests,
    /// Any 4xx or 5xx answer outside `/token`.
    Errors,
    /// Every `/token` answer.
    Tokens,
}

/// What `Fault::HostileText` puts in an error's code and message: an OSC
/// that retitles the terminal window, an SGR colour, and an 8-bit CSI
/// that clears the screen on terminals that honour C1 controls.
pub const HOSTILE_CODE: &str = "\u{1b}]0;pwned\u{7}MANIFEST_UNKNOWN";
pub const HOSTILE_MESSAGE: &str = "\u{1b}[31mmanifest unknown\u{9b}2J";

/// One request as the registry saw it. Header names are lowercase.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// `HTTP/1.1`, `HTTP/2.0`.
    pub version: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The decoded value of query parameter `name`, if present.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Content of one namespace: manifests by (repository, tag or digest) and
/// blobs by digest. Blobs are not per repository: lookups are by digest.
#[derive(Default)]
struct Store {
    manifests: HashMap<(String, String), Blob>,
    blobs: HashMap<String, Blob>,
}

impl Store {
    fn put_manifest(&mut self, repo: &str, reference: &str, manifest: &Blob) {
        self.manifests.insert((repo.to_string(), reference.to_string()), manifest.clone());
        self.manifests.insert((repo.to_string(), manifest.digest.clone()), manifest.clone());
    }

    fn put_image(&mut self, repo: &str, tag: &str, image: &Image) {
        self.put_manifest(repo, tag, &image.manifest);
        for blob in image.blobs() {
            self.blobs.insert(blob.digest.clone(), blob.clone());
        }
    }

    fn put_index(&mut self, repo: &str, tag: &str, index: &Index) {
        self.put_manifest(repo, tag, &index.manifest);
        for image in index.all_images() {
            self.put_image(repo, &image.manifest.digest, image);
        }
    }

    fn has_repo(&self, repo: &str) -> bool {
        self.manifests.keys().any(|(r, _)| r == repo)
    }
}

struct State {
    /// `http://127.0.0.1:PORT`, for the token realm and redirects.
    base_url: String,
    /// The token realm announced in Bearer challenges, when not our own
    /// `/token`.
    realm: Option<String>,
    default: Store,
    namespaces: HashMap<String, Store>,
    ns_mode: NsMode,
    auth: Auth,
    faults: Vec<Fault>,
    /// Issued bearer tokens and the scope each was issued for.
    tokens: HashMap<String, String>,
    requests: Vec<Request>,
}

type Shared = Arc<Mutex<State>>;

/// A running fake registry on `127.0.0.1:<random port>`.
pub struct Registry {
    addr: SocketAddr,
    state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Registry {
    /// Starts an empty registry: no auth, `ns` ignored, no faults.
    pub fn start() -> Registry {
        // Bind on the caller's thread so the port is known before we return.
        let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            base_url: format!("http://{addr}"),
            realm: None,
            default: Store::default(),
            namespaces: HashMap::new(),
            ns_mode: NsMode::Ignore,
            auth: Auth::None,
            faults: Vec::new(),
            tokens: HashMap::new(),
            requests: Vec::new(),
        }));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new().fallback(handle).with_state(state.clone());
        let thread = std::thread::Builder::new()
            .name(format!("fake-registry-{}", addr.port()))
            .spawn(move || {
                let rt =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = rx => {}
                    }
                });
                // Not graceful on purpose: `Hang` handlers sleep for a day, and
                // dropping the runtime cancels them (and endless bodies) at once.
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .unwrap();
        Registry { addr, state, shutdown: Some(tx), thread: Some(thread) }
    }

    /// `127.0.0.1:PORT`, the registry host part of an image reference.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`, for mirror endpoints in configs.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler must not hide the request log from the test.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- content ----

    /// Stores an image manifest under `repo:tag` (and its digest) plus its blobs.
    pub fn push_image(&self, repo: &str, tag: &str, image: &Image) -> &Self {
        self.lock().default.put_image(repo, tag, image);
        self
    }

    /// Stores an index under `repo:tag`, every manifest it names (by digest) and their blobs.
    pub fn push_index(&self, repo: &str, tag: &str, index: &Index) -> &Self {
        self.lock().default.put_index(repo, tag, index);
        self
    }

    /// Stores any manifest bytes under `repo:reference` and their digest, e.g. a
    /// schema1 manifest or one whose body disagrees with its media type. The
    /// blob's `media_type` is the Content-Type it is served with.
    pub fn push_manifest(&self, repo: &str, reference: &str, manifest: &Blob) -> &Self {
        self.lock().default.put_manifest(repo, reference, manifest);
        self
    }

    pub fn push_blob(&self, blob: &Blob) -> &Self {
        self.lock().default.blobs.insert(blob.digest.clone(), blob.clone());
        self
    }

    /// Like `push_image`, into the store served for `?ns=<ns>` under `NsMode::Honor`.
    pub fn push_image_ns(&self, ns: &str, repo: &str, tag: &str, image: &Image) -> &Self {
        self.lock().namespaces.entry(ns.to_string()).or_default().put_image(repo, tag, image);
        self
    }

    pub fn push_index_ns(&self, ns: &str, repo: &str, tag: &str, index: &Index) -> &Self {
        self.lock().namespaces.entry(ns.to_string()).or_default().put_index(repo, tag, index);
        self
    }

    pub fn push_blob_ns(&self, ns: &str, blob: &Blob) -> &Self {
        let mut st = self.lock();
        st.namespaces
            .entry(ns.to_string())
            .or_default()
            .blobs
            .insert(blob.digest.clone(), blob.clone());
        self
    }

    // ---- behaviour ----

    pub fn set_auth(&self, auth: Auth) -> &Self {
        self.lock().auth = auth;
        self
    }

    /// Announce this token realm in Bearer challenges instead of our own
    /// `/token` (a token service on another host).
    pub fn set_realm(&self, realm: &str) -> &Self {
        self.lock().realm = Some(realm.to_string());
        self
    }

    pub fn set_ns_mode(&self, mode: NsMode) -> &Self {
        self.lock().ns_mode = mode;
        self
    }

    /// Adds a fault; it stays until `clear_faults` (or its count runs out).
    pub fn fault(&self, fault: Fault) -> &Self {
        self.lock().faults.push(fault);
        self
    }

    pub fn clear_faults(&self) -> &Self {
        self.lock().faults.clear();
        self
    }

    // ---- request log ----

    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Requests with this method (e.g. "GET", "HEAD"; "*" for any) whose path
    /// starts with `path_prefix`, e.g. `count("GET", "/v2/app/blobs/")`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| {
                (method == "*" || r.method.eq_ignore_ascii_case(method))
                    && r.path.starts_with(path_prefix)
            })
            .count()
    }

    /// Whether any request carried header `name` (e.g. "authorization").
    pub fn saw_header(&self, name: &str) -> bool {
        self.lock().requests.iter().any(|r| r.header(name).is_some())
    }

    /// Every distinct `ns` query value received (decoded), in arrival order.
    pub fn ns_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        for v in self.lock().requests.iter().filter_map(|r| r.query_param("ns")) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------

/// What the path names. `name` may contain slashes, so the path is split from
/// the right: `/v2/<name>/(manifests|blobs)/<reference>`.
enum Route {
    Ping,
    Token,
    Manifest { name: String, reference: String },
    Blob { name: String, digest: String },
    Unknown,
}

fn parse_route(path: &str) -> Route {
    if path == "/v2/" || path == "/v2" {
        return Route::Ping;
    }
    if path == "/token" {
        return Route::Token;
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return Route::Unknown;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
        return Route::Unknown;
    }
    let (name, kind, reference) =
        (parts[..parts.len() - 2].join("/"), parts[parts.len() - 2], parts[parts.len() - 1]);
    // Clients may percent-encode the `:` of a digest.
    let reference =
        percent_encoding::percent_decode_str(reference).decode_utf8_lossy().into_owned();
    match kind {
        "manifests" => Route::Manifest { name, reference },
        "blobs" => Route::Blob { name, digest: reference },
        _ => Route::Unknown,
    }
}

async fn handle(
    AxumState(shared): AxumState<Shared>,
    req: axum::extract::Request,
) -> Response<Body> {
    let (parts, _body) = req.into_parts();
    let request = Request {
        method: parts.method.to_string(),
        version: format!("{:?}", parts.version),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())
            })
            .collect(),
    };
    let hang = {
        let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
        st.requests.push(request.clone());
        st.faults.contains(&Fault::Hang)
            || (st.faults.contains(&Fault::HangBlobs)
                && matches!(parse_route(&request.path), Route::Blob { .. }))
    };
    if hang {
        // Far longer than any test; dropping the Registry cancels it.
        tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    }
    let held = |st: &State| match parse_route(&request.path) {
        Route::Manifest { reference, .. } => {
            (st.faults.contains(&Fault::HoldManifestHeads) && parts.method == Method::HEAD)
                || (st.faults.contains(&Fault::HoldTagManifests)
                    && !reference.contains(':')
                    && authorized(st, &parts.headers, None))
        }
        _ => false,
    };
    while held(&shared.lock().unwrap_or_else(|e| e.into_inner())) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (mut resp, drip, pace) = {
        let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
        let mut resp = respond(&mut st, &parts.method, &parts.headers, &request);
        if st.faults.contains(&Fault::HostileText) && resp.status().as_u16() >= 400 {
            resp = hostile_text(resp);
        }
        let kind = body_kind(&request.path, resp.status());
        let drip = st.faults.iter().find_map(|f| match f {
            Fault::Drip { every, bodies } if Some(*bodies) == kind => Some(*every),
            _ => None,
        });
        let pace = st.faults.iter().find_map(|f| match f {
            Fault::Pace { bytes_per_sec } if kind == Some(DripBodies::Blobs) => {
                Some(*bytes_per_sec)
            }
            _ => None,
        });
        (resp, drip.filter(|_| parts.method != Method::HEAD), pace)
    };
    if let Some(rate) = pace.filter(|_| parts.method != Method::HEAD) {
        let (head, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        resp = Response::from_parts(head, paced(bytes, rate));
    }
    if let Some(every) = drip {
        // Taken out of the response whole (every body this fake makes
        // for these kinds is in memory), then sent again byte by byte.
        let (head, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        resp = Response::from_parts(head, dripped(bytes, every));
    }
    resp.headers_mut()
        .insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
    let st = shared.lock().unwrap_or_else(|e| e.into_inner());
    for f in &st.faults {
        if let Fault::RateLimitHeaders { limit, remaining } = f {
            let h = resp.headers_mut();
            h.insert(
                "ratelimit-limit",
                HeaderValue::from_str(&format!("{limit};w=21600")).unwrap(),
            );
            h.insert(
                "ratelimit-remaining",
                HeaderValue::from_str(&format!("{remaining};w=21600")).unwrap(),
            );
        }
    }
    resp
}

/// Which kind of body `Fault::Drip` would take this response for.
fn body_kind(path: &str, status: StatusCode) -> Option<DripBodies> {
    match parse_route(path) {
        Route::Token => Some(DripBodies::Tokens),
        _ if status.as_u16() >= 400 => Some(DripBodies::Errors),
        Route::Blob { .. } if status.is_success() => Some(DripBodies::Blobs),
        Route::Manifest { .. } if status.is_success() => Some(DripBodies::Manifests),
        _ => None,
    }
}

/// `bytes` in 16 KiB pieces, at `rate` bytes a second.
fn paced(bytes: Bytes, rate: u64) -> Body {
    const PIECE: usize = 16 << 10;
    let every = Duration::from_secs_f64(PIECE as f64 / rate.max(1) as f64);
    let stream = futures_util::stream::unfold(0usize, move |sent| {
        let bytes = bytes.clone();
        async move {
            if sent >= bytes.len() {
                return None;
            }
            tokio::time::sleep(every).await;
            let end = (sent + PIECE).min(bytes.len());
            Some((Ok::<Bytes, io::Error>(bytes.slice(sent..end)), end))
        }
    });
    Body::from_stream(stream)
}

/// `bytes` one byte at a time, each `every` after the last.
fn dripped(bytes: Bytes, every: Duration) -> Body {
    let stream = futures_util::stream::unfold(0usize, move |sent| {
        let bytes = bytes.clone();
        async move {
            if sent >= bytes.len() {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok::<Bytes, io::Error>(bytes.slice(sent..sent + 1)), sent + 1))
        }
    });
    Body::from_stream(stream)
}

/// The same error status and headers, with `HOSTILE_CODE` and
/// `HOSTILE_MESSAGE` for a body.
fn hostile_text(resp: Response<Body>) -> Response<Body> {
    let (mut head, _) = resp.into_parts();
    let body = json!({"errors": [{"code": HOSTILE_CODE, "message": HOSTILE_MESSAGE}]});
    head.headers.remove(header::CONTENT_LENGTH);
    head.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(head, Body::from(body.to_string()))
}

fn respond(st: &mut State, method: &Method, headers: &HeaderMap, req: &Request) -> Response<Body> {
    let route = parse_route(&req.path);
    if let Route::Token = route {
        return token(st, headers, req);
    }
    let repo = match &route {
        Route::Manifest { name, .. } | Route::Blob { name, .. } => Some(name.as_str()),
        _ => None,
    };
    if !authorized(st, headers, repo) {
        return challenge(st, repo);
    }
    if let (NsMode::RejectQuery(code), Some(_)) = (&st.ns_mode, &req.query) {
        let status = StatusCode::from_u16(*code).unwrap();
        let code = if status == StatusCode::NOT_FOUND { "NAME_UNKNOWN" } else { "UNSUPPORTED" };
        return error(status, code, "unsupported query parameter", json!(req.query));
    }
    if *method != Method::GET && *method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "this fake only serves pulls",
            json!(null),
        );
    }
    match &route {
        Route::Ping => return json_response(StatusCode::OK, json!({})),
        Route::Unknown | Route::Token => {
            return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint", json!(req.path));
        }
        _ => {}
    }
    if let Some(resp) = too_many_requests(st) {
        return resp;
    }
    let ns = match st.ns_mode {
        NsMode::Honor | NsMode::RequireNs => req.query_param("ns"),
        _ => None,
    };
    if st.ns_mode == NsMode::RequireNs && ns.is_none() {
        return error(StatusCode::BAD_REQUEST, "UNSUPPORTED", "ns is required", json!(null));
    }
    let mut resp = match route {
        Route::Manifest { name, reference } => manifest(st, ns.as_deref(), req, &name, &reference),
        Route::Blob { name, digest } => blob(st, ns.as_deref(), method, headers, &name, &digest),
        _ => unreachable!(),
    };
    // Honoured, or only claimed to be.
    let echoed = ns.or_else(|| {
        st.faults.contains(&Fault::EchoNamespace).then(|| req.query_param("ns")).flatten()
    });
    if let Some(ns) = echoed {
        resp.headers_mut().insert("oci-namespace", HeaderValue::from_str(&ns).unwrap());
    }
    resp
}

fn too_many_requests(st: &mut State) -> Option<Response<Body>> {
    let retry_after = st.faults.iter_mut().find_map(|f| match f {
        Fault::TooManyRequests { n, retry_after_secs } if *n > 0 => {
            *n -= 1;
            Some(*retry_after_secs)
        }
        _ => None,
    })?;
    let mut resp =
        error(StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS", "slow down", json!(null));
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    Some(resp)
}

/// The store a request reads: the namespace's (possibly empty) under Honor+ns.
fn store<'a>(st: &'a State, ns: Option<&str>) -> Option<&'a Store> {
    match ns {
        Some(ns) => st.namespaces.get(ns),
        None => Some(&st.default),
    }
}

fn manifest(
    st: &mut State,
    ns: Option<&str>,
    req: &Request,
    name: &str,
    reference: &str,
) -> Response<Body> {
    if st.faults.contains(&Fault::RedirectLoop) {
        let mut location = format!("{}{}", st.base_url, req.path);
        if let Some(q) = &req.query {
            location = format!("{location}?{q}");
        }
        return redirect(&location);
    }
    if let Some(code) = st.faults.iter_mut().find_map(|f| match f {
        Fault::ManifestStatus { code, times } if *times > 0 => {
            *times -= 1;
            Some(*code)
        }
        _ => None,
    }) {
        let status = StatusCode::from_u16(code).unwrap();
        return error(status, "UNAVAILABLE", "injected manifest failure", json!(null));
    }
    if st.faults.contains(&Fault::HtmlManifests) {
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(Body::from("<html><body><h1>Welcome to the mirror</h1></body></html>"))
            .unwrap();
    }
    if let Some((bytes, chunked)) = st.faults.iter().find_map(|f| match f {
        Fault::OversizedManifest { bytes, chunked } => Some((*bytes, *chunked)),
        _ => None,
    }) {
        return oversized_manifest(bytes, chunked);
    }
    let Some(found) =
        store(st, ns).and_then(|s| s.manifests.get(&(name.to_string(), reference.to_string())))
    else {
        if !store(st, ns).is_some_and(|s| s.has_repo(name)) {
            return error(
                StatusCode::NOT_FOUND,
                "NAME_UNKNOWN",
                "repository name not known to registry",
                json!({"name": name}),
            );
        }
        return error(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
            json!({"tag": reference}),
        );
    };
    let digest = if st.faults.contains(&Fault::WrongContentDigest) {
        sha256(b"not the manifest you asked for")
    } else if st.faults.contains(&Fault::Sha512ContentDigest) {
        sha512(&found.bytes)
    } else {
        found.digest.clone()
    };
    // axum drops the body of HEAD responses but keeps this Content-Length.
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, &found.media_type)
        .header(header::CONTENT_LENGTH, found.bytes.len())
        .header("docker-content-digest", digest)
        .body(Body::from(found.bytes.clone()))
        .unwrap()
}

fn oversized_manifest(size: usize, chunked: bool) -> Response<Body> {
    let head = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(b"{}"), "size": 2},
        "layers": [],
    });
    // `{...,"annotations":{"pad":"xxxx"}}` grown to exactly `size` bytes.
    let mut text = serde_json::to_string(&head).unwrap();
    text.pop(); // the closing brace
    text.push_str(",\"annotations\":{\"pad\":\"");
    let tail = "\"}}";
    let pad = size.saturating_sub(text.len() + tail.len());
    text.push_str(&"x".repeat(pad));
    text.push_str(tail);
    let bytes = Bytes::from(text);
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, OCI_MANIFEST)
        .header("docker-content-digest", sha256(&bytes));
    if chunked {
        // A stream has no size hint, so hyper uses chunked encoding.
        let chunks: Vec<Result<Bytes, io::Error>> =
            bytes.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        builder.body(Body::from_stream(futures_util::stream::iter(chunks))).unwrap()
    } else {
        builder.header(header::CONTENT_LENGTH, bytes.len()).body(Body::from(bytes)).unwrap()
    }
}

fn blob(
    st: &mut State,
    ns: Option<&str>,
    method: &Method,
    headers: &HeaderMap,
    name: &str,
    digest: &str,
) -> Response<Body> {
    if let Some(base) = st.faults.iter().find_map(|f| match f {
        Fault::RedirectBlobsTo(base) => Some(base.clone()),
        _ => None,
    }) {
        return redirect(&format!("{}/v2/{name}/blobs/{digest}", base.trim_end_matches('/')));
    }
    if st.faults.contains(&Fault::MissingBlob(digest.to_string())) {
        return error(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
            json!({"digest": digest}),
        );
    }
    if st.faults.contains(&Fault::EndlessBlob(digest.to_string())) {
        return endless_blob(digest);
    }
    // Counted before the lookup borrows the store; only GETs count, so a
    // client's HEAD probe does not use up the cut meant for its download.
    let truncate_after = st.faults.iter_mut().find_map(|f| match f {
        Fault::TruncateBlob { digest: d, after, times }
            if d == digest && *times > 0 && method == Method::GET =>
        {
            *times -= 1;
            Some(*after)
        }
        _ => None,
    });
    let stall_after = st.faults.iter().find_map(|f| match f {
        Fault::StallBlob { digest: d, after } if d == digest && method == Method::GET => {
            Some(*after)
        }
        _ => None,
    });
    let ignore_range = st.faults.contains(&Fault::IgnoreRange);
    let corrupt = st.faults.contains(&Fault::CorruptBlob(digest.to_string()));
    let Some(found) = store(st, ns).and_then(|s| s.blobs.get(digest)) else {
        return error(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
            json!({"digest": digest}),
        );
    };
    let mut bytes = found.bytes.clone();
    if corrupt {
        bytes.iter_mut().for_each(|b| *b ^= 0xff);
    }
    let total = bytes.len();

    let range = if ignore_range {
        None
    } else {
        headers.get(header::RANGE).and_then(|v| parse_range(v.to_str().ok()?, total))
    };
    let at_end = headers.get(header::RANGE).and_then(|v| v.to_str().ok())
        == Some(format!("bytes={total}-").as_str());
    if at_end && st.faults.contains(&Fault::EmptyRangeAtEnd) {
        return Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, format!("bytes {total}-{total}/{total}"))
            .header(header::CONTENT_LENGTH, 0)
            .body(Body::empty())
            .unwrap();
    }
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header("docker-content-digest", digest);
    let body = match range {
        Some(Err(())) => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{total}"))
                .body(Body::empty())
                .unwrap();
        }
        Some(Ok((start, end))) => {
            builder = builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{total}"));
            bytes[start..=end].to_vec()
        }
        None => {
            builder = builder.status(StatusCode::OK);
            bytes
        }
    };
    builder = builder.header(header::CONTENT_LENGTH, body.len());
    if let Some(after) = stall_after {
        return builder.body(stalled_body(body, after)).unwrap();
    }
    match truncate_after {
        Some(after) => builder.body(cut_body(body, after)).unwrap(),
        None => builder.body(Body::from(body)).unwrap(),
    }
}

/// Sends `after` bytes of `body`, then never another byte: the stream stays
/// pending until the registry is dropped.
fn stalled_body(body: Vec<u8>, after: usize) -> Body {
    let head = Bytes::from(body[..after.min(body.len())].to_vec());
    let stream = futures_util::stream::iter([Ok::<Bytes, io::Error>(head)])
        .chain(futures_util::stream::pending());
    Body::from_stream(stream)
}

/// `bytes=N-` or `bytes=N-M` → Ok(inclusive range); unsatisfiable → Err;
/// anything else (multi-range, suffix) is ignored like many registries do.
fn parse_range(value: &str, total: usize) -> Option<Result<(usize, usize), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let start: usize = start.trim().parse().ok()?;
    let end: usize =
        if end.trim().is_empty() { total.saturating_sub(1) } else { end.trim().parse().ok()? };
    if start >= total || end < start {
        return Some(Err(()));
    }
    Some(Ok((start, end.min(total - 1))))
}

/// Sends `after` bytes of `body`, then fails the stream: with a Content-Length
/// already promised, hyper can only abort the connection, which is what a real
/// mid-body network failure looks like to the client.
fn cut_body(body: Vec<u8>, after: usize) -> Body {
    let head = Bytes::from(body[..after.min(body.len())].to_vec());
    let stream = futures_util::stream::iter([Ok::<Bytes, io::Error>(head)]).chain(
        futures_util::stream::once(async {
            // Let hyper flush the first part before the cut.
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "fake registry: injected mid-body cut",
            ))
        }),
    );
    Body::from_stream(stream)
}

/// A blob body that never ends (1 GiB cap so nothing runs away), no Content-Length.
fn endless_blob(digest: &str) -> Response<Body> {
    const CHUNK: usize = 64 * 1024;
    const CAP: usize = 1 << 30;
    static ZEROS: [u8; CHUNK] = [0; CHUNK];
    let stream = futures_util::stream::unfold(0usize, |sent| async move {
        (sent < CAP).then(|| (Ok::<Bytes, io::Error>(Bytes::from_static(&ZEROS)), sent + CHUNK))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header("docker-content-digest", digest)
        .body(Body::from_stream(stream))
        .unwrap()
}

// ---- auth ----

fn authorized(st: &State, headers: &HeaderMap, repo: Option<&str>) -> bool {
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    match &st.auth {
        Auth::None => true,
        Auth::Basic { user, pass } => given == basic_header(user, pass),
        Auth::Bearer { .. } => {
            let Some(token) = given.strip_prefix("Bearer ") else {
                return false;
            };
            // A token only opens the repository it was issued for; any token
            // opens `/v2/`. This catches clients that reuse one token everywhere.
            match (st.tokens.get(token), repo) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(scope), Some(repo)) => {
                    scope.split(' ').any(|s| s.starts_with(&format!("repository:{repo}:")))
                }
            }
        }
    }
}

fn challenge(st: &State, repo: Option<&str>) -> Response<Body> {
    let value = match &st.auth {
        Auth::Bearer { .. } => {
            let realm = st.realm.clone().unwrap_or_else(|| format!("{}/token", st.base_url));
            let mut v = format!("Bearer realm=\"{realm}\",service=\"test-registry\"");
            if let Some(repo) = repo {
                v.push_str(&format!(",scope=\"repository:{repo}:pull\""));
            }
            v
        }
        _ => "Basic realm=\"test\"".to_string(),
    };
    let mut resp =
        error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required", json!(null));
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&value).unwrap());
    resp
}

/// `GET /token?service=..&scope=..`: a fresh token bound to the requested scope.
fn token(st: &mut State, headers: &HeaderMap, req: &Request) -> Response<Body> {
    if st.faults.contains(&Fault::JunkToken) {
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("this is not a token"))
            .unwrap();
    }
    if let Auth::Bearer { user_pass: Some((user, pass)) } = &st.auth {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if given != Some(basic_header(user, pass).as_str()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "bad credentials for token",
                json!(null),
            );
        }
    }
    let scopes: Vec<String> =
        url::form_urlencoded::parse(req.query.as_deref().unwrap_or("").as_bytes())
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
            .collect();
    let port = st.base_url.rsplit(':').next().unwrap_or("0").to_string();
    let token = format!("token-{port}-{}", st.tokens.len() + 1);
    st.tokens.insert(token.clone(), scopes.join(" "));
    json_response(StatusCode::OK, json!({"token": token, "access_token": token, "expires_in": 300}))
}

fn basic_header(user: &str, pass: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
}

// ---- responses ----

fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(value.to_string()))
        .unwrap()
}

/// A distribution-style error: `{"errors":[{"code","message","detail"}]}`.
fn error(
    status: StatusCode,
    code: &str,
    message: &str,
    detail: serde_json::Value,
) -> Response<Body> {
    json_response(status, json!({"errors": [{"code": code, "message": message, "detail": detail}]}))
}

fn redirect(location: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::TEMPORARY_REDIRECT)
        .header(header::LOCATION, location)
        .body(Body::empty())
        .unwrap()
}

// ---------------------------------------------------------------------------
// Raw TCP helpers
// ---------------------------------------------------------------------------

/// `127.0.0.1:PORT` where nothing listens: connections are refused. (The port
/// was free a moment ago; another process could take it, which is unlikely
/// enough for tests.)
pub fn refused_addr() -> String {
    let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

/// A mirror and an authority that both serve `img` as `team/app:v1`, and
/// the reference to pull (it names the authority): the setup of most
/// fallback tests.
pub fn mirror_and_authority(img: &Image) -> (Registry, Registry, String) {
    let mirror = Registry::start();
    let authority = Registry::start();
    mirror.push_image("team/app", "v1", img);
    authority.push_image("team/app", "v1", img);
    let reference = format!("{}/team/app:v1", authority.host());
    (mirror, authority, reference)
}

/// A TCP listener that accepts connections and never writes a byte: a mirror
/// whose HTTP server is wedged. Dropping it closes every connection.
pub struct HangServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl HangServer {
    pub fn start() -> HangServer {
        let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
        // Non-blocking accept polled with a short sleep, so drop can stop it.
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (stop2, accepted2) = (stop.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new(); // keep sockets open: closing would be an answer
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        held.push(stream);
                        accepted2.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        HangServer { addr, stop, accepted, thread: Some(thread) }
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for HangServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port where a connection is never set up: a listening socket whose
/// accept queue is full and never drained, so the kernel drops every new
/// SYN and a connect hangs until the client gives up (like a host behind a
/// firewall that drops packets). On loopback a closed port answers at once,
/// which would not exercise the connect timeout.
#[cfg(target_os = "linux")]
pub struct Unreachable {
    addr: SocketAddr,
    _listener: StdTcpListener,
    _queued: Vec<std::net::TcpStream>,
}

#[cfg(target_os = "linux")]
impl Unreachable {
    pub fn start() -> Unreachable {
        use std::os::fd::AsRawFd as _;
        let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: listen(2) on a socket `listener` owns; calling it again on a
        // listening socket only changes the backlog (0: one queued connection).
        let rc = unsafe { libc::listen(listener.as_raw_fd(), 0) };
        assert_eq!(rc, 0, "listen: {}", io::Error::last_os_error());
        let addr = listener.local_addr().unwrap();
        let mut queued = Vec::new();
        // Fill the queue until a connect no longer completes (bounded).
        for _ in 0..16 {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(s) => queued.push(s),
                Err(_) => return Unreachable { addr, _listener: listener, _queued: queued },
            }
        }
        panic!("the accept queue of {addr} did not fill after 16 connections");
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
