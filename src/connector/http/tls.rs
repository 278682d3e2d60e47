//! TLS for an HTTP target beyond the system's defaults: our client certificate (mutual TLS)
//! and the organisation's own CAs, read at start; and what a handshake that failed means.

use std::error::Error as StdError;
use std::path::Path;

use base64::Engine;
use reqwest::{Certificate, ClientBuilder, Identity};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, AlertDescription, RootCertStore};

/// What one target's client adds to the system's TLS settings.
#[derive(Default)]
pub(in crate::connector) struct ClientTls {
    identity: Option<Identity>,
    /// Trusted besides the system's roots.
    roots: Vec<Certificate>,
}

impl ClientTls {
    /// Reads the PEM files; an empty path is not set. A client certificate needs its key and
    /// the other way round (both may name one file). Errors name the setting and the file,
    /// never what is in a key.
    pub(in crate::connector) fn load(
        cert_file: &Path,
        key_file: &Path,
        ca_file: &Path,
    ) -> Result<ClientTls, String> {
        let set = |path: &Path| !path.as_os_str().is_empty();
        let identity = match (set(cert_file), set(key_file)) {
            (false, false) => None,
            (true, true) => Some(identity(cert_file, key_file)?),
            _ => return Err("give client_cert_file and client_key_file together".into()),
        };
        let roots = if set(ca_file) {
            authorities(ca_file)?
        } else {
            Vec::new()
        };
        Ok(ClientTls { identity, roots })
    }

    pub(in crate::connector) fn is_empty(&self) -> bool {
        self.identity.is_none() && self.roots.is_empty()
    }

    pub(in crate::connector) fn apply(self, builder: ClientBuilder) -> ClientBuilder {
        let builder = self
            .roots
            .into_iter()
            .fold(builder, ClientBuilder::add_root_certificate);
        match self.identity {
            Some(identity) => builder.identity(identity),
            None => builder,
        }
    }
}

/// The certificates of a PEM file (other sections, such as a key, are passed over).
pub(in crate::connector) fn certificates(
    setting: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let file = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("{setting} {file}: {e}"))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{setting} {file}: not a PEM file: {e}"))?;
    if certificates.is_empty() {
        return Err(format!("{setting} {file}: no certificate in it"));
    }
    Ok(certificates)
}

fn identity(cert_file: &Path, key_file: &Path) -> Result<Identity, String> {
    let chain = certificates("client_cert_file", cert_file)?;
    let file = key_file.display();
    let pem = std::fs::read(key_file).map_err(|e| format!("client_key_file {file}: {e}"))?;
    // The PEM parser's errors may quote a line of the file, and a key's lines are secret.
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        format!("client_key_file {file}: no private key in it (PEM, PKCS#8, PKCS#1 or SEC1, not encrypted)")
    })?;
    // Checked here rather than when the client is built, so the error names the files.
    let provider = rustls::crypto::ring::default_provider();
    CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => format!(
            "client_key_file {file}: not the key of the certificate in client_cert_file {}",
            cert_file.display()
        ),
        e => format!("client_key_file {file}: {e}"),
    })?;
    // Written out anew, so that sections reqwest does not take (an OpenSSL key file's
    // `EC PARAMETERS`, a key next to the certificates) cannot trip it up.
    let mut pem = String::new();
    for certificate in &chain {
        push_pem(&mut pem, "CERTIFICATE", certificate);
    }
    let label = match &key {
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => "PRIVATE KEY",
    };
    push_pem(&mut pem, label, key.secret_der());
    Identity::from_pem(pem.as_bytes())
        .map_err(|e| format!("client_cert_file {}: {e}", cert_file.display()))
}

fn push_pem(pem: &mut String, label: &str, der: &[u8]) {
    let base64 = base64::engine::general_purpose::STANDARD.encode(der);
    pem.push_str(&format!("-----BEGIN {label}-----\n"));
    for line in base64.as_bytes().chunks(64) {
        // Base64 is ASCII.
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
}

fn authorities(ca_file: &Path) -> Result<Vec<Certificate>, String> {
    let file = ca_file.display();
    let mut check = RootCertStore::empty();
    let mut roots = Vec::new();
    for certificate in certificates("ca_file", ca_file)? {
        roots
            .push(Certificate::from_der(&certificate).map_err(|e| format!("ca_file {file}: {e}"))?);
        check
            .add(certificate)
            .map_err(|e| format!("ca_file {file}: {e}"))?;
    }
    Ok(roots)
}

/// A TLS handshake that no retry mends, only a change of certificates on one side.
#[derive(Debug, PartialEq)]
pub(in crate::connector) enum TlsRefusal {
    /// The server's certificate did not verify: what was wrong with it.
    Untrusted(String),
    /// The server turned down our client certificate, or its absence.
    ClientCertificate(AlertDescription),
    /// The server ended the handshake for another reason: no TLS version or cipher in
    /// common, or (in TLS 1.2) a client certificate it wanted and did not get.
    Handshake(AlertDescription),
}

impl TlsRefusal {
    /// What a failed request's chain of errors says, if it is a refused handshake. Anything
    /// else in TLS (a record cut short, a reset) may be the network and is not a refusal.
    pub(in crate::connector) fn of(error: &(dyn StdError + 'static)) -> Option<TlsRefusal> {
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(tls) = error.downcast_ref::<rustls::Error>() {
                return TlsRefusal::from_rustls(tls);
            }
            // An I/O error hides the error it wraps from `source` (its text shows it), and
            // the handshake's error comes wrapped twice.
            next = match error.downcast_ref::<std::io::Error>() {
                Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
                None => error.source(),
            };
        }
        None
    }

    fn from_rustls(error: &rustls::Error) -> Option<TlsRefusal> {
        use AlertDescription as Alert;
        match error {
            rustls::Error::InvalidCertificate(reason) => {
                Some(TlsRefusal::Untrusted(reason.to_string()))
            }
            rustls::Error::AlertReceived(
                alert @ (Alert::CertificateRequired
                | Alert::BadCertificate
                | Alert::UnsupportedCertificate
                | Alert::CertificateRevoked
                | Alert::CertificateExpired
                | Alert::CertificateUnknown
                | Alert::UnknownCA
                | Alert::AccessDenied),
            ) => Some(TlsRefusal::ClientCertificate(*alert)),
            rustls::Error::AlertReceived(
                alert @ (Alert::HandshakeFailure
                | Alert::ProtocolVersion
                | Alert::InsufficientSecurity),
            ) => Some(TlsRefusal::Handshake(*alert)),
            _ => None,
        }
    }

    /// The refusal as a filing's reason; `peer` names the other side ("the fagsystem").
    pub(in crate::connector) fn describe(&self, target: &str, peer: &str) -> String {
        match self {
            TlsRefusal::Untrusted(reason) => {
                format!("{target}: {peer}'s certificate is not trusted ({reason})")
            }
            TlsRefusal::ClientCertificate(AlertDescription::CertificateRequired) => format!(
                "{target}: {peer} refused our client certificate: it requires one and got none (CertificateRequired)"
            ),
            TlsRefusal::ClientCertificate(alert) => {
                format!("{target}: {peer} refused our client certificate ({alert:?})")
            }
            TlsRefusal::Handshake(alert) => format!(
                "{target}: {peer} refused the TLS handshake ({alert:?}): no TLS version or cipher in common, or it wants a client certificate"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(error: rustls::Error) -> Option<TlsRefusal> {
        // As a request's error carries it: in an I/O error in another, under another error.
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        let io = std::io::Error::other(io);
        TlsRefusal::of(&Outer(io))
    }

    #[test]
    fn refused_handshakes_are_told_from_the_network() {
        assert!(matches!(
            refusal(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            )),
            Some(TlsRefusal::Untrusted(reason)) if reason.contains("UnknownIssuer")
        ));
        for alert in [
            AlertDescription::CertificateRequired,
            AlertDescription::UnknownCA,
            AlertDescription::BadCertificate,
        ] {
            assert_eq!(
                refusal(rustls::Error::AlertReceived(alert)),
                Some(TlsRefusal::ClientCertificate(alert))
            );
        }
        assert_eq!(
            refusal(rustls::Error::AlertReceived(
                AlertDescription::HandshakeFailure
            )),
            Some(TlsRefusal::Handshake(AlertDescription::HandshakeFailure))
        );
        for passing in [
            rustls::Error::DecryptError,
            rustls::Error::AlertReceived(AlertDescription::InternalError),
        ] {
            assert_eq!(refusal(passing), None);
        }
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(TlsRefusal::of(&reset), None);
    }

    #[test]
    fn files_that_do_not_fit_are_refused_naming_the_file_and_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let made = |name: &str| {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(vec![name.to_string()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (cert, key) = made("journaliser.example");
        let (_, other_key) = made("andet.example");
        let cert_file = write("cert.pem", &cert);
        let key_file = write("key.pem", &key);
        let other_key_file = write("other-key.pem", &other_key);
        let none = Path::new("");

        let tls = ClientTls::load(&cert_file, &key_file, &cert_file).unwrap();
        assert!(!tls.is_empty());
        assert!(ClientTls::load(none, none, none).unwrap().is_empty());
        // One file holding both, as some tools write them.
        let both = write("both.pem", &format!("{cert}{key}"));
        assert!(ClientTls::load(&both, &both, none).is_ok());

        let missing = dir.path().join("missing.pem");
        let missing_cert = format!("client_cert_file {}", missing.display());
        let cases = [
            (ClientTls::load(&cert_file, none, none), "together"),
            (ClientTls::load(none, &key_file, none), "together"),
            (
                ClientTls::load(&missing, &key_file, none),
                missing_cert.as_str(),
            ),
            (
                ClientTls::load(&key_file, &key_file, none),
                "no certificate",
            ),
            (
                ClientTls::load(&cert_file, &cert_file, none),
                "no private key",
            ),
            (
                ClientTls::load(&cert_file, &other_key_file, none),
                "not the key",
            ),
            (ClientTls::load(none, none, &missing), "ca_file"),
            (ClientTls::load(none, none, &key_file), "ca_file"),
        ];
        let secret = key.lines().nth(1).unwrap();
        for (loaded, expected) in cases {
            let Err(message) = loaded else {
                panic!("accepted, expected {expected:?}")
            };
            assert!(message.contains(expected), "{message}");
            assert!(!message.contains(secret), "{message}");
        }
    }
}
