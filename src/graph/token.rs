//! The Entra ID app-only token for Graph: OAuth 2.0 client credentials at the tenant's token
//! endpoint, with a client secret or a certificate, for the `.default` scope of Graph.

use std::path::PathBuf;

use reqwest::Url;

use crate::config::{EntraAppConfig, Secret};
use crate::connector::http::oauth::{ClientKey, Grant, OAuthToken};

/// The scope of an app-only token for Graph: the permissions granted to the app.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// The scope of an app-only token for Exchange Online's IMAP (`IMAP.AccessAsApp`).
pub const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";

/// The app registration a service signs in as.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    /// The sign-in authority, `https://login.microsoftonline.com` for the public cloud.
    pub login_url: Url,
    pub tenant_id: String,
    pub client_id: String,
    pub credential: AppCredential,
}

/// How the app proves who it is.
#[derive(Debug, Clone)]
pub enum AppCredential {
    Secret(Secret),
    /// A certificate registered with the app (PEM) and its RSA private key (PEM).
    Certificate {
        cert_file: PathBuf,
        key_file: PathBuf,
    },
}

impl AppCredentials {
    pub fn of(config: &EntraAppConfig) -> Result<AppCredentials, String> {
        let login_url = crate::connector::http::target_url(&config.login_url)
            .map_err(|e| format!("login_{e}"))?;
        Ok(AppCredentials {
            login_url,
            tenant_id: config.tenant_id.clone(),
            client_id: config.client_id.clone(),
            credential: if config.client_cert_file.as_os_str().is_empty() {
                AppCredential::Secret(config.client_secret.clone())
            } else {
                AppCredential::Certificate {
                    cert_file: config.client_cert_file.clone(),
                    key_file: config.client_key_file.clone(),
                }
            },
        })
    }

    /// The token the app signs in to Graph with.
    pub(super) fn token(self) -> Result<OAuthToken, String> {
        self.token_for(GRAPH_SCOPE)
    }

    /// The token the app signs in with for the resource of `scope`.
    pub(crate) fn token_for(self, scope: &str) -> Result<OAuthToken, String> {
        let mut endpoint = self.login_url.clone();
        endpoint
            .path_segments_mut()
            .map_err(|_| "login_url cannot take a path".to_string())?
            .pop_if_empty()
            .extend([self.tenant_id.as_str(), "oauth2", "v2.0", "token"]);
        let grant = match self.credential {
            AppCredential::Secret(client_secret) => Grant::ClientCredentials {
                client_id: self.client_id,
                client_secret,
                scope: scope.into(),
            },
            AppCredential::Certificate {
                cert_file,
                key_file,
            } => Grant::ClientAssertion {
                client_id: self.client_id,
                key: ClientKey::load(&cert_file, &key_file)?,
                scope: scope.into(),
            },
        };
        Ok(OAuthToken::new("Entra ID sign-in", endpoint, grant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_endpoint_is_the_tenants() {
        let token = AppCredentials {
            login_url: Url::parse("https://login.microsoftonline.com/").unwrap(),
            tenant_id: "vejstrand.onmicrosoft.com".into(),
            client_id: "app".into(),
            credential: AppCredential::Secret(Secret::default()),
        }
        .token()
        .unwrap();
        assert!(
            format!("{token:?}").contains(
                "https://login.microsoftonline.com/vejstrand.onmicrosoft.com/oauth2/v2.0/token"
            ),
            "{token:?}"
        );
    }
}
