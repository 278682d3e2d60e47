//! HTTPS: the certificate (the operator's own, or one for localhost made once and kept in the
//! data directory) and a listener that does each connection's TLS handshake off the accept loop.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use crate::config::Config;

/// The local certificate authority users trust once (see the README).
pub const AUTHORITY_FILE: &str = "journaliser-local-ca.pem";
const CERTIFICATE_FILE: &str = "localhost.pem";
const KEY_FILE: &str = "localhost-key.pem";
/// Browsers and macOS refuse server certificates valid for longer than 825 days.
const VALID_DAYS: i64 = 825;
/// Made anew this long before the old one runs out.
const RENEW_AFTER_DAYS: u64 = 800;
/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS settings for serving, if HTTPS is configured.
pub fn acceptor(config: &Config) -> anyhow::Result<Option<TlsAcceptor>> {
    let tls = &config.tls;
    let (certificate, key) = if tls.self_signed {
        let made = ensure_self_signed(&config.data_dir.join("tls"))?;
        (made.certificate, made.key)
    } else if !tls.cert_file.as_os_str().is_empty() {
        (tls.cert_file.clone(), tls.key_file.clone())
    } else {
        return Ok(None);
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&certificate)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .with_context(|| {
            format!(
                "cannot read the certificate chain {}",
                certificate.display()
            )
        })?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{} holds no certificate",
        certificate.display()
    );
    let key = PrivateKeyDer::from_pem_file(&key)
        .with_context(|| format!("cannot read the private key {}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("no TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the private key do not fit together")?;
    // The server speaks HTTP/1.1 only; offering h2 would make browsers choose it.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(server))))
}

/// The files of the self-signed set-up.
pub struct SelfSigned {
    /// What users trust: the local authority that signed the certificate.
    pub authority: PathBuf,
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// Makes a local certificate authority and a certificate for `localhost`, `127.0.0.1` and
/// `::1` signed by it, unless they are there and not about to run out. The authority's own key
/// is never written down: nothing else can be signed with the authority users trust.
pub fn ensure_self_signed(dir: &Path) -> anyhow::Result<SelfSigned> {
    let files = SelfSigned {
        authority: dir.join(AUTHORITY_FILE),
        certificate: dir.join(CERTIFICATE_FILE),
        key: dir.join(KEY_FILE),
    };
    let fresh = std::fs::metadata(&files.certificate)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|made| SystemTime::now().duration_since(made).ok())
        .is_some_and(|age| age < Duration::from_secs(RENEW_AFTER_DAYS * 86_400));
    if fresh && files.authority.exists() && files.key.exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (authority, certificate, key) = make_certificates().context("cannot make a certificate")?;
    // The certificate goes first and comes back last: after a crash at any point there is
    // either no certificate, and the next start makes a new set, or one that fits the key.
    match std::fs::remove_file(&files.certificate) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(e)
                .with_context(|| format!("cannot remove {}", files.certificate.display()));
        }
        _ => {}
    }
    write_private(&files.key, key.as_bytes())?;
    write_private(&files.authority, authority.as_bytes())?;
    write_private(
        &files.certificate,
        format!("{certificate}{authority}").as_bytes(),
    )?;
    tracing::info!(authority = %files.authority.display(), "made a local certificate for https://localhost; trust the authority file once (see the README)");
    Ok(files)
}

/// (authority PEM, certificate PEM, certificate key PEM).
fn make_certificates() -> Result<(String, String, String), rcgen::Error> {
    let today = chrono::Utc::now().date_naive();
    let date = |day: chrono::NaiveDate| {
        use chrono::Datelike;
        // Month and day always fit a u8.
        rcgen::date_time_ymd(day.year(), day.month() as u8, day.day() as u8)
    };
    let since = date(today - chrono::Days::new(1));

    let mut authority = CertificateParams::new(Vec::<String>::new())?;
    authority
        .distinguished_name
        .push(DnType::CommonName, "Journaliser lokal udvikling");
    authority.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    authority.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    authority.not_before = since;
    authority.not_after = date(today + chrono::Days::new(VALID_DAYS as u64 + 30));
    let authority_key = KeyPair::generate()?;
    let authority_pem = authority.self_signed(&authority_key)?.pem();
    let issuer = Issuer::new(authority, authority_key);

    let mut server = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.is_ca = IsCa::ExplicitNoCa;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.not_before = since;
    server.not_after = date(today + chrono::Days::new(VALID_DAYS as u64));
    let server_key = KeyPair::generate()?;
    let server_pem = server.signed_by(&server_key, &issuer)?.pem();
    Ok((authority_pem, server_pem, server_key.serialize_pem()))
}

/// Writes a file whole or not at all: into a temporary file beside it, readable by the owner
/// only from its creation, synced, then renamed over the old one.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let failed = || format!("cannot write {}", path.display());
    let mut name = path.file_name().context("no file name")?.to_os_string();
    name.push(".tmp");
    let temporary = path.with_file_name(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).with_context(failed)?;
    // A temporary file left by a crash keeps the mode it was made with; make sure of it.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(failed)?;
    file.write_all(bytes).with_context(failed)?;
    file.sync_all().with_context(failed)?;
    drop(file);
    std::fs::rename(&temporary, path).with_context(failed)?;
    // The rename itself is kept only once the folder is synced.
    #[cfg(unix)]
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(folder)
            .and_then(|folder| folder.sync_all())
            .with_context(failed)?;
    }
    Ok(())
}

/// Accepts TCP connections and hands on those that complete a TLS handshake. Handshakes run
/// as tasks of their own, so one slow client never holds up the others.
pub struct TlsListener {
    handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: AbortHandle,
}

impl TlsListener {
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (done, handshaken) = mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (acceptor, done) = (acceptor.clone(), done.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = done.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        })
        .abort_handle();
        Ok(TlsListener {
            handshaken,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(connection) => connection,
            // The accept loop lives as long as this listener; it ends only with it.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_self_signed(dir.path()).unwrap();
        let made = std::fs::read(&first.certificate).unwrap();
        let again = ensure_self_signed(dir.path()).unwrap();
        assert_eq!(std::fs::read(&again.certificate).unwrap(), made);
        let chain = std::fs::read_to_string(&first.certificate).unwrap();
        assert_eq!(
            chain.matches("BEGIN CERTIFICATE").count(),
            2,
            "server and authority"
        );
        assert!(chain.ends_with(&std::fs::read_to_string(&first.authority).unwrap()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
        }
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.tls.self_signed = true;
        assert!(acceptor(&config).unwrap().is_some());
        assert!(dir.path().join("tls").join(AUTHORITY_FILE).exists());
    }

    #[test]
    fn a_set_cut_off_before_its_certificate_is_made_again_whole() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_self_signed(dir.path()).unwrap();
        let old_key = std::fs::read(&first.key).unwrap();
        // A crash after the new key but before the new certificate: no certificate, and a
        // temporary file left behind, readable by anyone.
        std::fs::remove_file(&first.certificate).unwrap();
        let leftover = dir.path().join(format!("{KEY_FILE}.tmp"));
        std::fs::write(&leftover, "halvt").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&leftover, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let again = ensure_self_signed(dir.path()).unwrap();
        assert_ne!(std::fs::read(&again.key).unwrap(), old_key, "a new key");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&again.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
        }
        // The certificate fits the key beside it.
        let mut config = Config::default();
        config.tls.cert_file = again.certificate.clone();
        config.tls.key_file = again.key.clone();
        assert!(acceptor(&config).unwrap().is_some());
    }
}
