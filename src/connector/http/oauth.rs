//! OAuth 2.0 access tokens from a token endpoint (RFC 6749: client credentials or the
//! resource owner's password), kept until shortly before they expire and fetched again then,
//! or at once when the service says the one held is no longer valid.

use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;
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
    fn form(&self) -> Vec<(&'static str, &str)> {
        let mut form = match self {
            Grant::ClientCredentials {
                client_id,
                client_secret,
                ..
            } => vec![
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.expose()),
            ],
            Grant::Password {
                client_id,
                client_secret,
                username,
                password,
                ..
            } => vec![
                ("grant_type", "password"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.expose()),
                ("username", username.as_str()),
                ("password", password.expose()),
            ],
        };
        let (Grant::ClientCredentials { scope, .. } | Grant::Password { scope, .. }) = self;
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        form.retain(|(name, value)| *name != "client_secret" || !value.is_empty());
        form
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
            .form(&self.grant.form())
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
        let form = grant.form();
        assert_eq!(
            form.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            ["grant_type", "client_id", "username", "password"]
        );
        assert!(!format!("{grant:?}").contains("s3cret"));
    }
}
