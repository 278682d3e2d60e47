//! Mutual TLS to a fagsystem: a loopback HTTPS endpoint that requires a client certificate
//! from its own CA, and the webhook connector with the right certificate, a wrong one, none,
//! and without the fagsystem's CA; directly and through the running service.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use journaliser::config::{Config, WebhookConfig};
use journaliser::connector::{Connector, ConnectorError, Connectors, Receipt, WebhookConnector};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;

use crate::contract::{case, request};
use crate::helpers::{FIXTURE_MAIL, fixture};
use crate::process::{Remote, journaliser, output, serve};

// ---- certificates ----

/// PEM files: the fagsystem's CA, a client certificate it issued (ours), and one from an
/// authority it does not know.
struct Pki {
    dir: TempDir,
    ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    stranger_cert: PathBuf,
    stranger_key: PathBuf,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: String,
    ca_der: CertificateDer<'static>,
}

fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// (certificate PEM, key PEM) issued by `issuer`.
fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    fn make() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let ca = authority("Byggesagssystem CA");
        let stranger_ca = authority("Anden myndighed CA");
        let (server_cert, server_key) = leaf(
            &ca,
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert, client_key) = leaf(
            &ca,
            &["journaliser.vejstrand.example"],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let (stranger_cert, stranger_key) = leaf(
            &stranger_ca,
            &["journaliser.vejstrand.example"],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        Pki {
            ca: write("fagsystem-ca.pem", &ca.pem()),
            // Ours followed by the CA, as such files often come.
            client_cert: write("klient.pem", &format!("{client_cert}{}", ca.pem())),
            client_key: write("klient-key.pem", &client_key),
            stranger_cert: write("fremmed.pem", &stranger_cert),
            stranger_key: write("fremmed-key.pem", &stranger_key),
            server_chain: vec![CertificateDer::from_pem_slice(server_cert.as_bytes()).unwrap()],
            server_key,
            ca_der: ca.der().clone(),
            dir,
        }
    }

    /// Our client certificate as the fagsystem sees it.
    fn client_der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(&self.client_cert).unwrap()
    }
}

// ---- the fagsystem ----

#[derive(Default)]
struct Seen {
    /// The client certificate of every handshake that succeeded.
    clients: Vec<CertificateDer<'static>>,
    /// Why the handshakes that failed did, as the server saw it.
    refused: Vec<String>,
    /// Filed documents by idempotency key: the id given and the body received.
    documents: BTreeMap<String, (String, Value)>,
}

/// An HTTPS endpoint that files each JSON document once per `Idempotency-Key` and lets in
/// only clients with a certificate from its CA.
struct Fagsystem {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

/// How the fagsystem ends a connection whose handshake it refused.
#[derive(Clone, Copy)]
enum Close {
    /// Reading what the client still sends, as most web servers do.
    Gently,
    /// At once: what the client sends after its handshake then meets a reset.
    Abruptly,
}

impl Fagsystem {
    async fn start(pki: &Pki) -> Fagsystem {
        Fagsystem::start_closing(pki, Close::Gently).await
    }

    async fn start_closing(pki: &Pki, close: Close) -> Fagsystem {
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca_der.clone()).unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .unwrap();
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                pki.server_chain.clone(),
                PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).unwrap(),
            )
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let seen = Arc::new(Mutex::new(Seen::default()));
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}/journal", tcp.local_addr().unwrap());
        let listener = MtlsListener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            seen: seen.clone(),
            close,
        };
        let app = axum::Router::new()
            .route("/journal", post(receive))
            .with_state(seen.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fagsystem { url, seen }
    }

    fn documents(&self) -> usize {
        self.seen.lock().unwrap().documents.len()
    }

    fn document(&self, key: &str) -> Option<Value> {
        let seen = self.seen.lock().unwrap();
        seen.documents.get(key).map(|(_, body)| body.clone())
    }

    fn clients(&self) -> Vec<CertificateDer<'static>> {
        self.seen.lock().unwrap().clients.clone()
    }

    fn refused(&self) -> Vec<String> {
        self.seen.lock().unwrap().refused.clone()
    }
}

/// Accepts a connection once its TLS handshake, client certificate included, succeeded.
struct MtlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    seen: Arc<Mutex<Seen>>,
    close: Close,
}

impl axum::serve::Listener for MtlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, peer)) = self.tcp.accept().await else {
                continue;
            };
            let handshake = self.acceptor.accept(tcp).into_fallible();
            match tokio::time::timeout(Duration::from_secs(10), handshake).await {
                Ok(Ok(tls)) => {
                    let client = tls.get_ref().1.peer_certificates().map(|c| c[0].clone());
                    self.seen.lock().unwrap().clients.extend(client);
                    return (tls, peer);
                }
                Ok(Err((error, tcp))) => {
                    self.seen.lock().unwrap().refused.push(error.to_string());
                    match self.close {
                        Close::Gently => drop(tokio::spawn(close_gently(tcp))),
                        Close::Abruptly => drop(tcp),
                    }
                }
                Err(_) => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Closes a connection whose handshake failed as web servers do: the alert is sent already;
/// what the client still sends is read, so the close is not a reset that could overtake the
/// alert.
async fn close_gently(mut tcp: TcpStream) {
    let _ = tcp.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

async fn receive(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut seen = seen.lock().unwrap();
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Idempotency-Key mangler"})),
        )
            .into_response();
    };
    if let Some((id, _)) = seen.documents.get(&key) {
        return (StatusCode::OK, Json(json!({"document": {"id": id}}))).into_response();
    }
    let id = format!("FS-{}", seen.documents.len() + 1);
    seen.documents.insert(key, (id.clone(), body));
    (StatusCode::CREATED, Json(json!({"document": {"id": id}}))).into_response()
}

// ---- the connector ----

fn config(url: &str, adjust: impl FnOnce(&mut WebhookConfig)) -> WebhookConfig {
    let mut config = WebhookConfig {
        name: "byggesag".into(),
        url: url.into(),
        id_pointer: "/document/id".into(),
        timeout_secs: 10,
        ..WebhookConfig::default()
    };
    adjust(&mut config);
    config
}

fn webhook(url: &str, adjust: impl FnOnce(&mut WebhookConfig)) -> WebhookConnector {
    WebhookConnector::new(&config(url, adjust)).unwrap()
}

fn permanent(outcome: Result<impl std::fmt::Debug, ConnectorError>) -> String {
    match outcome {
        Err(ConnectorError::Permanent(reason)) => reason,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fagsystem_that_knows_us_by_our_certificate_gets_the_document_once() {
    let pki = Pki::make();
    let fagsystem = Fagsystem::start(&pki).await;
    let hook = webhook(&fagsystem.url, |c| {
        c.client_cert_file = pki.client_cert.clone();
        c.client_key_file = pki.client_key.clone();
        c.ca_file = pki.ca.clone();
    });
    let byg = case("BYG-1");
    let filed = hook.file(request("k-1", &byg)).await.unwrap();
    assert_eq!(
        (filed.document_id.as_str(), filed.receipt),
        ("FS-1", Receipt::Filed)
    );
    assert_eq!(fagsystem.document("k-1").unwrap()["case"]["id"], "BYG-1");
    // The fagsystem let us in on the certificate we were given, not on some other.
    let clients = fagsystem.clients();
    assert!(!clients.is_empty());
    assert!(clients.iter().all(|c| *c == pki.client_der()));

    let again = hook.file(request("k-1", &byg)).await.unwrap();
    assert_eq!(again.document_id, "FS-1");
    assert_eq!(fagsystem.documents(), 1);
    assert!(fagsystem.refused().is_empty(), "{:?}", fagsystem.refused());
}

#[tokio::test]
async fn without_the_right_client_certificate_the_filing_fails_at_once_with_the_reason() {
    let pki = Pki::make();
    let fagsystem = Fagsystem::start(&pki).await;
    let byg = case("BYG-1");

    let without = webhook(&fagsystem.url, |c| c.ca_file = pki.ca.clone());
    let reason = permanent(without.file(request("k-1", &byg)).await);
    assert!(
        reason.starts_with("webhook: the fagsystem refused our client certificate")
            && reason.contains("requires one and got none"),
        "{reason}"
    );
    assert_eq!(fagsystem.refused().len(), 1);
    assert!(
        fagsystem.refused()[0].contains("no certificates"),
        "{:?}",
        fagsystem.refused()
    );

    let stranger = webhook(&fagsystem.url, |c| {
        c.client_cert_file = pki.stranger_cert.clone();
        c.client_key_file = pki.stranger_key.clone();
        c.ca_file = pki.ca.clone();
    });
    let reason = permanent(stranger.file(request("k-2", &byg)).await);
    assert!(
        reason.starts_with("webhook: the fagsystem refused our client certificate ("),
        "{reason}"
    );
    assert_eq!(fagsystem.refused().len(), 2);
    assert_eq!(fagsystem.documents(), 0);
}

#[tokio::test]
async fn a_refusal_is_told_even_when_the_fagsystem_hangs_up_during_a_large_document() {
    let pki = Pki::make();
    let fagsystem = Fagsystem::start_closing(&pki, Close::Abruptly).await;
    let stranger = webhook(&fagsystem.url, |c| {
        c.client_cert_file = pki.stranger_cert.clone();
        c.client_key_file = pki.stranger_key.clone();
        c.ca_file = pki.ca.clone();
    });
    // Far more than the socket buffers take: the fagsystem has closed before it is written.
    let mut large = request("k-1", &case("BYG-1"));
    large.content = vec![b'x'; 16 << 20];
    let reason = permanent(stranger.file(large).await);
    assert!(
        reason.starts_with("webhook: the fagsystem refused our client certificate ("),
        "{reason}"
    );
    assert_eq!(fagsystem.documents(), 0);
}

#[tokio::test]
async fn a_fagsystem_certificate_we_cannot_trust_fails_at_once_and_no_connection_is_transient() {
    let pki = Pki::make();
    let fagsystem = Fagsystem::start(&pki).await;
    // Our certificate is right, but the fagsystem's CA is not among the system's.
    let untrusting = webhook(&fagsystem.url, |c| {
        c.client_cert_file = pki.client_cert.clone();
        c.client_key_file = pki.client_key.clone();
    });
    let reason = permanent(untrusting.file(request("k-1", &case("BYG-1"))).await);
    assert!(
        reason.starts_with("webhook: the fagsystem's certificate is not trusted")
            && reason.contains("UnknownIssuer"),
        "{reason}"
    );
    assert_eq!(fagsystem.documents(), 0);
    assert!(fagsystem.clients().is_empty());

    // Nobody listening is an outage, not a refusal.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/journal", closed.local_addr().unwrap());
    drop(closed);
    let gone = webhook(&url, |c| {
        c.client_cert_file = pki.client_cert.clone();
        c.client_key_file = pki.client_key.clone();
        c.ca_file = pki.ca.clone();
    });
    let outcome = gone.file(request("k-1", &case("BYG-1"))).await;
    assert!(
        matches!(&outcome, Err(ConnectorError::Transient(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn certificate_settings_that_cannot_work_stop_the_start_naming_connector_and_file() {
    let pki = Pki::make();
    let key_text = std::fs::read_to_string(&pki.client_key).unwrap();
    let secret = key_text.lines().nth(1).unwrap();

    // Half a pair is refused when the configuration is read.
    let file = pki.dir.path().join("halv.toml");
    std::fs::write(
        &file,
        format!(
            "[[connectors]]\nname = \"byggesag\"\nkind = \"webhook\"\nurl = \"https://byg.example/journal\"\n\
             client_cert_file = \"{}\"\n",
            pki.client_cert.display()
        ),
    )
    .unwrap();
    let half = Config::load(Some(&file), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        half.contains("connector \"byggesag\"") && half.contains("client_key_file"),
        "{half}"
    );

    // Files that are missing, are not what they should be, or do not fit together are
    // refused when the connectors are built.
    let missing = pki.dir.path().join("mangler.pem");
    let bad: [(WebhookConfig, &Path); 4] = [
        (
            config("https://byg.example/journal", |c| {
                c.client_cert_file = pki.client_cert.clone();
                c.client_key_file = missing.clone();
            }),
            &missing,
        ),
        (
            config("https://byg.example/journal", |c| {
                c.client_cert_file = pki.client_cert.clone();
                c.client_key_file = pki.stranger_key.clone();
            }),
            &pki.stranger_key,
        ),
        (
            config("https://byg.example/journal", |c| {
                c.ca_file = pki.client_key.clone();
            }),
            &pki.client_key,
        ),
        (
            config("https://byg.example/journal", |c| {
                c.client_cert_file = pki.client_key.clone();
                c.client_key_file = pki.client_key.clone();
            }),
            &pki.client_key,
        ),
    ];
    for (webhook, named) in bad {
        let mut config = Config::default();
        config
            .connectors
            .push(journaliser::config::ConnectorConfig::Webhook(webhook));
        let Err(error) = Connectors::from_config(&config) else {
            panic!("accepted, expected an error naming {}", named.display());
        };
        let error = error.to_string();
        assert!(
            error.starts_with("connector \"byggesag\": ")
                && error.contains(&named.display().to_string()),
            "{error}"
        );
        assert!(!error.contains(secret), "{error}");
    }
    // A certificate for a plain-text URL would never be shown.
    let plain = WebhookConnector::new(&config("http://byg.example/journal", |c| {
        c.ca_file = pki.ca.clone();
    }));
    assert!(plain.is_err_and(|e| e.contains("https")));

    // The service itself does not start, and says why in one line.
    std::fs::write(
        pki.dir.path().join("journaliser.toml"),
        format!(
            "[[connectors]]\nname = \"byggesag\"\nkind = \"webhook\"\nurl = \"https://byg.example/journal\"\n\
             client_cert_file = \"{}\"\nclient_key_file = \"{}\"\n",
            pki.client_cert.display(),
            missing.display()
        ),
    )
    .unwrap();
    let started = journaliser(pki.dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&started.stderr);
    assert!(!started.status.success());
    assert!(
        said.contains("connector \"byggesag\"")
            && said.contains(&format!("client_key_file {}", missing.display())),
        "{said}"
    );
}

// ---- through the service ----

async fn file(remote: &Remote, item: &Value, case_id: &str) -> String {
    let response = remote
        .file(json!({"item_id": item["id"], "case_id": case_id, "title": "Henvendelse om carport"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_service_files_by_mutual_tls_and_fails_a_refused_certificate_without_retrying() {
    let pki = Pki::make();
    let fagsystem = Fagsystem::start(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let connector = |name: &str, cert: &Path, key: &Path| {
        format!(
            "[[connectors]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"{}\"\nid_pointer = \"/document/id\"\n\
             client_cert_file = \"{}\"\nclient_key_file = \"{}\"\nca_file = \"{}\"\n\n",
            fagsystem.url,
            cert.display(),
            key.display(),
            pki.ca.display()
        )
    };
    std::fs::write(
        dir.path().join("journaliser.toml"),
        connector("byggesag", &pki.client_cert, &pki.client_key)
            + &connector("miljoe", &pki.stranger_cert, &pki.stranger_key),
    )
    .unwrap();
    for (id, title, name) in [
        ("BYG-1", "Carport, Skovvej 12", "byggesag"),
        ("MIL-1", "Støj fra carport", "miljoe"),
    ] {
        let cases = dir.path().join(format!("{id}.json"));
        std::fs::write(
            &cases,
            json!([{"id": id, "number": format!("02.34.02-G01-{id}-26"), "title": title}])
                .to_string(),
        )
        .unwrap();
        output(
            journaliser(dir.path())
                .args(["import", "cases", "--connector", name])
                .arg(&cases),
        );
    }
    let token = output(journaliser(dir.path()).args(["token", "--user", "anna"]))
        .trim()
        .to_string();
    let (mut server, base) = serve(dir.path());
    let remote = Remote::new(&base, &token);
    let item = remote
        .post_item("message/rfc822", fixture(FIXTURE_MAIL))
        .await;

    let to_byg = file(&remote, &item, "BYG-1").await;
    let to_mil = file(&remote, &item, "MIL-1").await;
    let filed = remote.settled(&to_byg).await;
    let failed = remote.settled(&to_mil).await;
    server.kill().unwrap();
    server.wait().unwrap();

    assert_eq!(filed["state"], "filed", "{filed:#}");
    assert_eq!(filed["target_document_id"], "FS-1");
    assert_eq!(fagsystem.document(&to_byg).unwrap()["case"]["id"], "BYG-1");
    assert_eq!(fagsystem.documents(), 1);
    assert_eq!(failed["state"], "failed", "{failed:#}");
    assert_eq!(failed["attempts"], 1, "refused for good, not retried");
    let reason = failed["error"].as_str().unwrap();
    assert!(
        reason.contains("the fagsystem refused our client certificate"),
        "{reason}"
    );
}
