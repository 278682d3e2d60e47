//! The Entra ID app-only token (OAuth 2.0 client credentials), kept until shortly before it
//! expires and fetched again then, or at once when Graph says it is no longer valid.

use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::GraphError;
use crate::config::Secret;

/// How long before its expiry a token is replaced, so that none expires on the way.
const EXPIRY_MARGIN: Duration = Duration::from_secs(120);
/// The scope of an app-only token for Graph: the permissions granted to the app.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// The app registration a service signs in as.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    /// The sign-in authority, `https://login.microsoftonline.com` for the public cloud.
    pub login_url: Url,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: Secret,
}

/// An access token: never printed.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct AccessToken(String);

impl AccessToken {
    pub(super) fn expose(&self) -> &str {
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

pub(super) struct AppToken {
    credentials: AppCredentials,
    endpoint: Url,
    cached: Mutex<Option<Cached>>,
}

impl AppToken {
    pub(super) fn new(credentials: AppCredentials) -> Result<AppToken, String> {
        let mut endpoint = credentials.login_url.clone();
        endpoint
            .path_segments_mut()
            .map_err(|_| "login_url cannot take a path".to_string())?
            .pop_if_empty()
            .extend([credentials.tenant_id.as_str(), "oauth2", "v2.0", "token"]);
        Ok(AppToken {
            credentials,
            endpoint,
            cached: Mutex::new(None),
        })
    }

    /// A token that is valid for a while yet. Callers at the same moment wait for one
    /// request to the token endpoint rather than making one each.
    pub(super) async fn get(&self, client: &reqwest::Client) -> Result<AccessToken, GraphError> {
        let mut cached = self.cached.lock().await;
        if let Some(held) = cached.as_ref()
            && Instant::now() < held.renew_at
        {
            return Ok(held.token.clone());
        }
        let (token, lifetime) = self.fetch(client).await?;
        tracing::debug!(
            lifetime_secs = lifetime.as_secs(),
            "signed in to Entra ID as the app"
        );
        *cached = Some(Cached {
            token: token.clone(),
            renew_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN),
        });
        Ok(token)
    }

    /// Drops `token` if it is still the one held: Graph refused it.
    pub(super) async fn forget(&self, token: &AccessToken) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|held| &held.token == token) {
            *cached = None;
        }
    }

    async fn fetch(&self, client: &reqwest::Client) -> Result<(AccessToken, Duration), GraphError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.credentials.client_id.as_str()),
            ("client_secret", self.credentials.client_secret.expose()),
            ("scope", GRAPH_SCOPE),
        ];
        let response = client
            .post(self.endpoint.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| GraphError::unanswered("Entra ID sign-in", e))?;
        if !response.status().is_success() {
            return Err(GraphError::from_answer("Entra ID sign-in", response).await);
        }
        let answer: TokenAnswer = response.json().await.map_err(|e| {
            GraphError::transient(format!(
                "Entra ID sign-in: unreadable answer: {}",
                e.without_url()
            ))
        })?;
        Ok((
            AccessToken(answer.access_token),
            Duration::from_secs(answer.expires_in),
        ))
    }
}

impl std::fmt::Debug for AppToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppToken")
            .field("endpoint", &self.endpoint.as_str())
            .field("client_id", &self.credentials.client_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_endpoint_is_the_tenants() {
        let token = AppToken::new(AppCredentials {
            login_url: Url::parse("https://login.microsoftonline.com/").unwrap(),
            tenant_id: "vejstrand.onmicrosoft.com".into(),
            client_id: "app".into(),
            client_secret: Secret::default(),
        })
        .unwrap();
        assert_eq!(
            token.endpoint.as_str(),
            "https://login.microsoftonline.com/vejstrand.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(!format!("{token:?}").contains("secret"));
    }
}
