//! One connection to a mail server, in plain text or TLS (from the start or upgraded by
//! STARTTLS), read line by line, every step under the configured timeout.

use std::net::IpAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::config::MailTls;
use crate::connector::ConnectorError;

/// Longest reply line read: far more than any SMTP or IMAP server sends for our commands,
/// and a bound on what a broken server can make us buffer.
const MAX_LINE: u64 = 256 * 1024;
/// Largest literal read: a whole mail fetched from a watched mailbox, beyond any upload limit.
const MAX_LITERAL: u64 = 64 * 1024 * 1024;

/// Where and how to connect. Cheap to clone: the TLS settings are shared.
#[derive(Clone)]
pub struct Endpoint {
    /// For error messages: `smtp` or `imap`.
    pub protocol: &'static str,
    pub host: String,
    pub port: u16,
    pub tls: MailTls,
    pub timeout: Duration,
    pub tls_config: Arc<ClientConfig>,
}

impl Endpoint {
    /// Whether a password may go to this server: over TLS, or in plain text to this machine.
    pub fn may_send_password(&self) -> bool {
        self.tls != MailTls::None
            || self.host == "localhost"
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// The TLS settings for every mail server of one connector: the system's trusted roots, plus
/// those in `ca_file` (a PEM file) for servers with a certificate from the organisation's own CA.
pub fn tls_config(ca_file: &Path) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A certificate of the system's store that rustls cannot use is not worth stopping for.
        let _ = roots.add(cert);
    }
    if !ca_file.as_os_str().is_empty() {
        let pem =
            std::fs::read(ca_file).map_err(|e| format!("ca_file {}: {e}", ca_file.display()))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("ca_file {}: {e}", ca_file.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {}: {e}", ca_file.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "ca_file {}: no certificates in it",
                ca_file.display()
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A connection that reads replies line by line.
pub struct Connection {
    io: BufReader<Io>,
    endpoint: Endpoint,
}

impl Connection {
    /// Connects, with TLS at once when the endpoint says so.
    pub async fn open(endpoint: &Endpoint) -> Result<Connection, ConnectorError> {
        let address = (endpoint.host.as_str(), endpoint.port);
        let tcp = within(endpoint, "connecting", TcpStream::connect(address)).await?;
        let _ = tcp.set_nodelay(true);
        let connection = Connection {
            io: BufReader::new(Io::Plain(tcp)),
            endpoint: endpoint.clone(),
        };
        if endpoint.tls == MailTls::Tls {
            connection.upgrade().await
        } else {
            Ok(connection)
        }
    }

    /// The local address as an SMTP address literal, what EHLO names when there is no
    /// host name to give (RFC 5321, 4.1.3).
    pub fn local_literal(&self) -> String {
        let tcp = match self.io.get_ref() {
            Io::Plain(tcp) => tcp,
            Io::Tls(tls) => tls.get_ref().0,
        };
        match tcp.local_addr().map(|a| a.ip()) {
            Ok(IpAddr::V4(ip)) => format!("[{ip}]"),
            Ok(IpAddr::V6(ip)) => format!("[IPv6:{ip}]"),
            Err(_) => "[127.0.0.1]".into(),
        }
    }

    /// Turns the plain connection into TLS, after a STARTTLS the server agreed to (or at once).
    pub async fn upgrade(self) -> Result<Connection, ConnectorError> {
        // Anything the server sent after agreeing came before the encryption and could be a
        // reply injected by someone in the middle (STARTTLS response injection): refuse rather
        // than read it as if it were secured.
        if !self.io.buffer().is_empty() {
            return Err(self.transient("the server sent data before TLS began"));
        }
        let server_name = ServerName::try_from(self.endpoint.host.clone())
            .map_err(|_| self.permanent("the host is not a valid TLS server name"))?;
        let Connection { io, endpoint } = self;
        let tcp = match io.into_inner() {
            Io::Plain(tcp) => tcp,
            Io::Tls(_) => {
                return Err(ConnectorError::Permanent(format!(
                    "{}: TLS was started twice",
                    endpoint.protocol
                )));
            }
        };
        let connector = TlsConnector::from(endpoint.tls_config.clone());
        let tls = within(
            &endpoint,
            "starting TLS",
            connector.connect(server_name, tcp),
        )
        .await?;
        Ok(Connection {
            io: BufReader::new(Io::Tls(Box::new(tls))),
            endpoint,
        })
    }

    /// One line without its line end. A line longer than `MAX_LINE` or a closed connection
    /// is an error.
    pub async fn read_line(&mut self) -> Result<Vec<u8>, ConnectorError> {
        let mut line = Vec::new();
        let endpoint = self.endpoint.clone();
        let mut limited = (&mut self.io).take(MAX_LINE);
        let read = limited.read_until(b'\n', &mut line);
        let n = within(&endpoint, "waiting for the server", read).await?;
        if n == 0 {
            return Err(self.transient("the server closed the connection"));
        }
        if !line.ends_with(b"\n") {
            return Err(self.transient("the server sent an overlong line"));
        }
        line.pop();
        if line.ends_with(b"\r") {
            line.pop();
        }
        Ok(line)
    }

    /// The next line if one comes within `wait` (an IMAP server in IDLE speaks when it has
    /// news), `None` when none does.
    pub async fn read_line_within(
        &mut self,
        wait: Duration,
    ) -> Result<Option<Vec<u8>>, ConnectorError> {
        let endpoint = Endpoint {
            timeout: wait,
            ..self.endpoint.clone()
        };
        let mut line = Vec::new();
        let mut limited = (&mut self.io).take(MAX_LINE);
        match tokio::time::timeout(wait, limited.read_until(b'\n', &mut line)).await {
            Err(_) => Ok(None),
            Ok(Err(error)) => Err(ConnectorError::Transient(format!(
                "{}: waiting for the server: {error}",
                endpoint.protocol
            ))),
            Ok(Ok(0)) => Err(self.transient("the server closed the connection")),
            Ok(Ok(_)) => {
                while line.ends_with(b"\n") || line.ends_with(b"\r") {
                    line.pop();
                }
                Ok(Some(line))
            }
        }
    }

    /// Exactly `n` bytes (an IMAP literal: a whole message, when fetching one).
    pub async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, ConnectorError> {
        if n as u64 > MAX_LITERAL {
            return Err(self.transient("the server sent an overlong literal"));
        }
        let mut bytes = vec![0; n];
        let endpoint = self.endpoint.clone();
        within(&endpoint, "reading", self.io.read_exact(&mut bytes)).await?;
        Ok(bytes)
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), ConnectorError> {
        let endpoint = self.endpoint.clone();
        let io = self.io.get_mut();
        within(&endpoint, "sending", async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await
    }

    /// Closes the connection without waiting for the server.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.io.get_mut().shutdown()).await;
    }

    pub fn transient(&self, what: &str) -> ConnectorError {
        ConnectorError::Transient(format!("{}: {what}", self.endpoint.protocol))
    }

    pub fn permanent(&self, what: &str) -> ConnectorError {
        ConnectorError::Permanent(format!("{}: {what}", self.endpoint.protocol))
    }
}

/// Runs one network step under the endpoint's timeout. Every failure of the network may pass:
/// no connection, a timeout, a TLS handshake gone wrong.
async fn within<T>(
    endpoint: &Endpoint,
    doing: &str,
    step: impl Future<Output = std::io::Result<T>>,
) -> Result<T, ConnectorError> {
    let protocol = endpoint.protocol;
    match tokio::time::timeout(endpoint.timeout, step).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ConnectorError::Transient(format!(
            "{protocol}: {doing}: {error}"
        ))),
        Err(_) => Err(ConnectorError::Transient(format!(
            "{protocol}: {doing}: no answer within {} s",
            endpoint.timeout.as_secs()
        ))),
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Io::Tls(tls) => Pin::new(tls).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Io::Tls(tls) => Pin::new(tls).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Io::Tls(tls) => Pin::new(tls).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Io::Tls(tls) => Pin::new(tls).poll_shutdown(cx),
        }
    }
}
