//! OAuth 2.0 access tokens from a token endpoint (RFC 6749: client credentials, with a secret
//! or a certificate's signed assertion (RFC 7523), or the resource owner's password), kept
//! until shortly before they expire and fetched again then, or at once when the service says
//! the one held is no longer valid.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use serde::Deserialize;
use sha2::Digest;
use tokio::sync::Mutex;

use crate::config::Secret;
use crate::connector::ConnectorError;

/// How long before its expiry a token is replaced, so that none expires on the way.
const EXPIRY_MARGIN: Duration = Duration::from_secs(120);

/// How the service proves who it is to the token endpoint.
#[derive(Debug, Clone)]
pub(crate) enum Grant {
    /// As an app (§4.4).
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
        scope: String,
    },
    /// As an app that proves itself with a certificate's key instead of a secret.
    ClientAssertion {
        client_id: String,
        key: ClientKey,
        scope: String,
    },
    /// As a service user (§4.3), the grant background services of some records systems use.
    Password {
        client_id: String,
        client_secret: Secret,
        username: String,
        password: Secret,
        scope: String,
    },
}

impl Grant {
    /// The token request's form; `endpoint` is the audience of a signed assertion.
    fn form(&self, endpoint: &Url) -> Result<Vec<(&'static str, String)>, ConnectorError> {
        let mut form = match self {
            Grant::ClientCredentials {
                client_id,
                client_secret,
                ..
            } => vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.expose().into()),
            ],
            Grant::ClientAssertion { client_id, key, .. } => vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", client_id.clone()),
                ("client_assertion_type", ASSERTION_TYPE.into()),
                ("client_assertion", key.assertion(client_id, endpoint)?),
            ],
            Grant::Password {
                client_id,
                client_secret,
                username,
                password,
                ..
            } => vec![
                ("grant_type", "password".into()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.expose().into()),
                ("username", username.clone()),
                ("password", password.expose().into()),
            ],
        };
        let (Grant::ClientCredentials { scope, .. }
        | Grant::ClientAssertion { scope, .. }
        | Grant::Password { scope, .. }) = self;
        if !scope.is_empty() {
            form.push(("scope", scope.clone()));
        }
        form.retain(|(name, value)| *name != "client_secret" || !value.is_empty());
        Ok(form)
    }
}

/// RFC 7523 §2.2.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long a signed assertion is good for.
const ASSERTION_LIFETIME_SECS: i64 = 600;

/// A certificate's private key, and the certificate's SHA-256 thumbprint that names it to the
/// token endpoint.
#[derive(Clone)]
pub(crate) struct ClientKey {
    key: EncodingKey,
    thumbprint: String,
}

impl ClientKey {
    /// The certificate (PEM, the first in the file) and its RSA private key (PEM, not
    /// encrypted). Errors name the setting and the file, never what is in the key.
    pub(crate) fn load(cert_file: &Path, key_file: &Path) -> Result<ClientKey, String> {
        let certificate = super::tls::certificates("client_cert_file", cert_file)?.remove(0);
        let file = key_file.display();
        let pem = std::fs::read(key_file).map_err(|e| format!("client_key_file {file}: {e}"))?;
        let key = rsa_key(&pem).map_err(|_| {
            format!("client_key_file {file}: no RSA private key in it (PEM, not encrypted)")
        })?;
        let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(certificate.as_ref()));
        Ok(ClientKey { key, thumbprint })
    }

    /// A fresh assertion for the token endpoint `audience`: who we are, signed (PS256), with
    /// the certificate named by `x5t#S256`.
    fn assertion(&self, client_id: &str, audience: &Url) -> Result<String, ConnectorError> {
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({
            "aud": audience.as_str(), "iss": client_id, "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now, "nbf": now, "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let mut header = Header::new(Algorithm::PS256);
        header.x5t_s256 = Some(self.thumbprint.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| {
            ConnectorError::Permanent(format!("cannot sign the client assertion: {e}"))
        })
    }
}

/// An RSA private key in PEM (PKCS#8 or PKCS#1) as the signer takes it, PKCS#1 DER.
fn rsa_key(pem: &[u8]) -> Result<EncodingKey, ()> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use tokio_rustls::rustls::pki_types::PrivateKeyDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let pkcs1 = match PrivateKeyDer::from_pem_slice(pem).map_err(|_| ())? {
        PrivateKeyDer::Pkcs1(key) => key.secret_pkcs1_der().to_vec(),
        PrivateKeyDer::Pkcs8(key) => rsa::RsaPrivateKey::from_pkcs8_der(key.secret_pkcs8_der())
            .and_then(|key| key.to_pkcs1_der().map_err(rsa::pkcs8::Error::from))
            .map_err(|_| ())?
            .as_bytes()
            .to_vec(),
        _ => return Err(()),
    };
    Ok(EncodingKey::from_rsa_der(&pkcs1))
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// An access token: never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccessToken(String);

impl AccessToken {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

struct Cached {
    token: AccessToken,
    renew_at: Instant,
}

/// The token endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

pub(crate) struct OAuthToken {
    /// Names the sign-in in errors: `Entra ID sign-in`.
    what: &'static str,
    endpoint: Url,
    grant: Grant,
    cached: Mutex<Option<Cached>>,
}

impl OAuthToken {
    pub(crate) fn new(what: &'static str, endpoint: Url, grant: Grant) -> OAuthToken {
        OAuthToken {
            what,
            endpoint,
            grant,
            cached: Mutex::new(None),
        }
    }

    /// A token that is valid for a while yet. Callers at the same moment wait for one
    /// request to the token endpoint rather than making one each.
    pub(crate) async fn get(
        &self,
        client: &reqwest::Client,
    ) -> Result<AccessToken, ConnectorError> {
        let mut cached = self.cached.lock().await;
        if let Some(held) = cached.as_ref()
            && Instant::now() < held.renew_at
        {
            return Ok(held.token.clone());
        }
        let (token, lifetime) = self.fetch(client).await?;
        tracing::debug!(
            lifetime_secs = lifetime.as_secs(),
            what = self.what,
            "signed in"
        );
        *cached = Some(Cached {
            token: token.clone(),
            renew_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN),
        });
        Ok(token)
    }

    /// Drops `token` if it is still the one held: the service refused it.
    pub(crate) async fn forget(&self, token: &AccessToken) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|held| &held.token == token) {
            *cached = None;
        }
    }

    async fn fetch(
        &self,
        client: &reqwest::Client,
    ) -> Result<(AccessToken, Duration), ConnectorError> {
        let response = client
            .post(self.endpoint.clone())
            .form(&self.grant.form(&self.endpoint)?)
            .send()
            .await
            .map_err(|e| super::send_error(self.what, e))?;
        if !response.status().is_success() {
            return Err(super::failure(self.what, response).await);
        }
        let answer: TokenAnswer = response.json().await.map_err(|e| {
            ConnectorError::Transient(format!(
                "{}: unreadable answer: {}",
                self.what,
                e.without_url()
            ))
        })?;
        Ok((
            AccessToken(answer.access_token),
            Duration::from_secs(answer.expires_in),
        ))
    }
}

impl std::fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthToken")
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_sends_what_its_kind_needs_and_prints_no_secret() {
        let secret: Secret = serde_json::from_value(serde_json::json!("s3cret")).unwrap();
        let grant = Grant::Password {
            client_id: "f2".into(),
            client_secret: Secret::default(),
            username: "journaliser".into(),
            password: secret,
            scope: String::new(),
        };
        let form = grant
            .form(&Url::parse("https://f2.example/token").unwrap())
            .unwrap();
        assert_eq!(
            form.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            ["grant_type", "client_id", "username", "password"]
        );
        assert!(!format!("{grant:?}").contains("s3cret"));
    }
}
