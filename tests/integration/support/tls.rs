//! HTTPS for the fake registry: a TLS-terminating front on 127.0.0.1 that
//! forwards the decrypted bytes to a plain-HTTP `Registry`, plus a small
//! test PKI made in process with `rcgen` (so the TLS tests need no outside
//! tool and never skip).
//!
//! ```ignore
//! let pki = Pki::generate(dir);
//! let reg = Registry::start();
//! let front = TlsFront::start(&reg, &pki, false);
//! // https://{front.host()} serves what reg serves; pki.ca is the CA to trust.
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::registry::Registry;

/// A CA, a server certificate for 127.0.0.1 signed by it, and a client
/// certificate signed by it (with its key in one PEM file, and as two
/// files), all as files: the configuration under test names them by path.
pub struct Pki {
    /// The CA certificate (PEM): what a client must trust.
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// Client certificate and key in one PEM file, as `client_cert` alone takes it.
    pub client: PathBuf,
    /// The same certificate and key as two files (`client_cert` and `client_key`).
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A second, unrelated CA: trusting it must not help.
    pub other_ca: PathBuf,
}

/// What a certificate is for; each gets the extensions a verifier checks.
#[derive(Clone, Copy)]
enum Role {
    Ca,
    /// A server on 127.0.0.1 (the fronts listen there) or localhost.
    Server,
    /// A client for mutual TLS.
    Client,
}

/// The parameters of a certificate named `common_name` for `role`. The
/// validity is rcgen's default (decades either side of now): the PKI lives
/// for one test only, so expiry is not what is under test.
fn params_for(common_name: &str, role: Role) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    match role {
        Role::Ca => {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Role::Server | Role::Client => {
            // An explicit CA:FALSE: a leaf must not be able to vouch for
            // other certificates.
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
    }
    match role {
        Role::Ca => {}
        Role::Server => {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params.subject_alt_names = vec![
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                SanType::DnsName("localhost".try_into().expect("a valid DNS name")),
            ];
        }
        Role::Client => params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth],
    }
    params
}

/// A fresh ECDSA P-256 key (rcgen's default: fast to make).
fn new_key() -> KeyPair {
    KeyPair::generate().expect("generate a key")
}

/// A self-signed CA named `common_name`.
fn new_ca(common_name: &str) -> CertifiedIssuer<'static, KeyPair> {
    CertifiedIssuer::self_signed(params_for(common_name, Role::Ca), new_key())
        .expect("self-sign the CA")
}

/// A leaf certificate signed by `ca`: (certificate PEM, key PEM).
fn new_leaf(ca: &CertifiedIssuer<'_, KeyPair>, common_name: &str, role: Role) -> (String, String) {
    let key = new_key();
    let cert = params_for(common_name, role).signed_by(&key, ca).expect("sign a leaf");
    (cert.pem(), key.serialize_pem())
}

fn write(path: &Path, contents: &str) -> PathBuf {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path.to_path_buf()
}

impl Pki {
    /// Writes the PKI into `dir`.
    pub fn generate(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        let ca = new_ca("ocimirror test CA");
        let other_ca = new_ca("unrelated CA");
        let (server_cert, server_key) = new_leaf(&ca, "127.0.0.1", Role::Server);
        let (client_cert, client_key) = new_leaf(&ca, "ocimirror test client", Role::Client);
        Pki {
            ca: write(&dir.join("ca.pem"), &ca.pem()),
            server_cert: write(&dir.join("server.crt"), &server_cert),
            server_key: write(&dir.join("server.key"), &server_key),
            client: write(&dir.join("client.pem"), &format!("{client_cert}{client_key}")),
            client_cert: write(&dir.join("client.crt"), &client_cert),
            client_key: write(&dir.join("client.key"), &client_key),
            other_ca: write(&dir.join("other-ca.pem"), &other_ca.pem()),
        }
    }
}

/// A TLS listener on `127.0.0.1:<random port>` in front of a `Registry`.
/// Redirects and token realms the registry sends still name its plain-HTTP
/// URL; tests here only need manifests and blobs over TLS.
pub struct TlsFront {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsFront {
    /// Serves TLS with the PKI's server certificate; with `require_client_cert`
    /// the handshake fails unless the client shows a certificate from the CA.
    pub fn start(backend: &Registry, pki: &Pki, require_client_cert: bool) -> TlsFront {
        TlsFront::offering(backend, pki, require_client_cert, &[b"http/1.1"])
    }

    /// Offers HTTP/2 as well (ALPN `h2`), as public registries do: the fake
    /// registry behind it takes HTTP/2 without TLS (it knows the preface).
    pub fn with_http2(backend: &Registry, pki: &Pki) -> TlsFront {
        TlsFront::offering(backend, pki, false, &[b"h2", b"http/1.1"])
    }

    fn offering(
        backend: &Registry,
        pki: &Pki,
        require_client_cert: bool,
        alpn: &[&[u8]],
    ) -> TlsFront {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&pki.server_cert)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(&pki.server_key).unwrap();
        let builder = rustls::ServerConfig::builder();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(&pki.ca).unwrap() {
                roots.add(c.unwrap()).unwrap();
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).build().unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder.with_single_cert(certs, key).unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let backend: SocketAddr = backend.host().parse().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let accept = async {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            // A failed handshake (untrusted certificate) just
                            // closes the connection, as a real server would.
                            let Ok(mut tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await
                            else {
                                return;
                            };
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = rx => {}
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        });
        TlsFront { addr, shutdown: Some(tx), thread: Some(thread) }
    }

    /// `127.0.0.1:PORT`: the registry host of a reference served over TLS.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
