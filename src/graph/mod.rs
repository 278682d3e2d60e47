//! Microsoft Graph as an app: requests under the Entra ID app-only token, throttling
//! (429 and 503 with `Retry-After`) waited out, and Graph's errors read as passing or final.
//!
//! What talks to Microsoft 365 (the SharePoint connector, watched mailboxes) shares this
//! client; each names its own resources.

mod token;

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode, Url};
use serde_json::Value;

use crate::connector::http::oauth::OAuthToken;
use crate::connector::{ConnectorError, http};
pub use token::{AppCredential, AppCredentials, EXCHANGE_SCOPE, GRAPH_SCOPE};

/// The longest `Retry-After` waited out inside one call; a longer one is left to the
/// caller's own retry.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// How often one call waits out throttling before giving up for now.
const MAX_THROTTLED: u32 = 3;

/// A request to Graph that failed, with what Graph said.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct GraphError {
    /// The answer's status; `None` when there was no answer.
    pub status: Option<StatusCode>,
    /// Graph's error code (`itemNotFound`, `nameAlreadyExists`, …), or empty.
    pub code: String,
    /// Whether trying again later may succeed.
    pub transient: bool,
    message: String,
}

impl GraphError {
    pub(crate) fn transient(message: String) -> GraphError {
        GraphError {
            status: None,
            code: String::new(),
            transient: true,
            message,
        }
    }

    /// The sign-in failed: no token, so no request.
    fn signing_in(error: ConnectorError) -> GraphError {
        let (transient, message) = split(error);
        GraphError {
            status: None,
            code: String::new(),
            transient,
            message,
        }
    }

    /// No answer: a connection, timeout or TLS failure.
    pub(crate) fn unanswered(what: &str, error: reqwest::Error) -> GraphError {
        let (transient, message) = split(http::send_error(what, error));
        GraphError {
            status: None,
            code: String::new(),
            transient,
            message,
        }
    }

    /// A non-success answer, read: Graph's `{"error": {"code", "message"}}` or the token
    /// endpoint's `{"error", "error_description"}`.
    pub(crate) async fn from_answer(what: &str, response: Response) -> GraphError {
        let failed = http::read_failure(response).await;
        let code = serde_json::from_slice::<Value>(&failed.body)
            .ok()
            .and_then(|json| {
                let code = json.pointer("/error/code").or_else(|| json.get("error"))?;
                code.as_str().map(str::to_owned)
            })
            .unwrap_or_default();
        let (transient, message) = split(http::classify(what, failed.status, &failed.reason));
        GraphError {
            status: Some(failed.status),
            code,
            transient,
            message,
        }
    }

    pub fn is(&self, status: StatusCode) -> bool {
        self.status == Some(status)
    }

    /// As a connector reports it.
    pub fn into_connector_error(self) -> ConnectorError {
        if self.transient {
            ConnectorError::Transient(self.message)
        } else {
            ConnectorError::Permanent(self.message)
        }
    }
}

/// Graph for one app registration.
#[derive(Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    /// Ends with `/`: `https://graph.microsoft.com/v1.0/`.
    base: Url,
    token: OAuthToken,
    /// Names the service in errors: `sharepoint`, `mailbox`.
    what: String,
}

impl GraphClient {
    pub fn new(
        what: &str,
        graph_url: &str,
        credentials: AppCredentials,
        timeout_secs: u64,
    ) -> Result<GraphClient, String> {
        let mut base = http::target_url(graph_url).map_err(|e| format!("graph_{e}"))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(GraphClient {
            http: http::client(timeout_secs)?,
            base,
            token: credentials.token()?,
            what: what.to_string(),
        })
    }

    /// The URL of a resource given by its path segments below the Graph root, each
    /// percent-encoded on its own (`["drives", id, "root:", folder]`).
    pub fn url<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.base.clone();
        // Never an error: `new` accepts only http and https URLs, which have paths.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Whether `url` is one of Graph's own, so that following a link from an answer
    /// (`@odata.nextLink`) never carries the token elsewhere.
    pub fn is_graph_url(&self, url: &Url) -> bool {
        url.origin() == self.base.origin() && url.path().starts_with(self.base.path())
    }

    /// The plain HTTP client, for URLs Graph hands out that carry their own authorisation
    /// (upload sessions, downloads), which must not be sent the token.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends the request `build` makes, with the token; waits out throttling, and fetches a
    /// new token once if Graph refuses the one held. A non-success answer is an error.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, GraphError> {
        let mut refreshed = false;
        let mut throttled = 0;
        loop {
            let token = self
                .token
                .get(&self.http)
                .await
                .map_err(GraphError::signing_in)?;
            let response = build(&self.http)
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(|e| GraphError::unanswered(&self.what, e))?;
            if response.status() == StatusCode::UNAUTHORIZED && !refreshed {
                // An expired or revoked token: Graph says so with 401 whatever the cause.
                self.token.forget(&token).await;
                refreshed = true;
                continue;
            }
            if let Some(wait) = throttled_for(&response)
                && throttled < MAX_THROTTLED
            {
                throttled += 1;
                tracing::info!(
                    wait_secs = wait.as_secs(),
                    status = %response.status(),
                    "graph throttled the request; waiting as it asked"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            return self.checked(response).await;
        }
    }

    /// Sends a request to a URL Graph handed out (no token), waiting out throttling.
    pub async fn send_unauthenticated(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, GraphError> {
        let mut throttled = 0;
        loop {
            let response = build(&self.http)
                .send()
                .await
                .map_err(|e| GraphError::unanswered(&self.what, e))?;
            if let Some(wait) = throttled_for(&response)
                && throttled < MAX_THROTTLED
            {
                throttled += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            return self.checked(response).await;
        }
    }

    /// A resource as JSON.
    pub async fn get_json(&self, url: &Url) -> Result<Value, GraphError> {
        let response = self.send(|http| http.get(url.clone())).await?;
        self.json(response).await
    }

    /// Every member of a collection, across its pages (`@odata.nextLink`, followed only to
    /// Graph itself).
    pub async fn get_all(&self, url: Url) -> Result<Vec<Value>, GraphError> {
        self.get_all_preferring(url, None).await
    }

    /// `get_all`, asking each page with a `Prefer` header (Outlook's `IdType="ImmutableId"`).
    pub async fn get_all_preferring(
        &self,
        url: Url,
        prefer: Option<&str>,
    ) -> Result<Vec<Value>, GraphError> {
        let mut members = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let response = self
                .send(|http| match prefer {
                    Some(prefer) => http.get(url.clone()).header("prefer", prefer),
                    None => http.get(url.clone()),
                })
                .await?;
            let mut page = self.json(response).await?;
            if let Some(Value::Array(values)) = page.get_mut("value").map(Value::take) {
                members.extend(values);
            }
            next = page["@odata.nextLink"]
                .as_str()
                .and_then(|link| Url::parse(link).ok())
                .filter(|link| self.is_graph_url(link));
        }
        Ok(members)
    }

    /// An answer's body as JSON.
    pub async fn json(&self, response: Response) -> Result<Value, GraphError> {
        response.json().await.map_err(|e| {
            GraphError::transient(format!(
                "{}: unreadable answer: {}",
                self.what,
                e.without_url()
            ))
        })
    }

    async fn checked(&self, response: Response) -> Result<Response, GraphError> {
        if response.status().is_success() || response.status().is_redirection() {
            Ok(response)
        } else {
            Err(GraphError::from_answer(&self.what, response).await)
        }
    }
}

/// Whether a connector error may pass, and its message.
fn split(error: ConnectorError) -> (bool, String) {
    match error {
        ConnectorError::Transient(message) => (true, message),
        ConnectorError::Permanent(message) => (false, message),
    }
}

/// How long a throttled answer (429, or 503 with `Retry-After`) asks to wait, when that is
/// short enough to wait here.
fn throttled_for(response: &Response) -> Option<Duration> {
    if !matches!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        return None;
    }
    let header = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    retry_after(header, chrono::Utc::now()).filter(|wait| *wait <= MAX_RETRY_AFTER)
}

/// A `Retry-After` value (RFC 9110 §10.2.3): seconds, or an HTTP date.
fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((date.to_utc() - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Thu, 03 Dec 2026 12:00:20 GMT", now),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            retry_after("Thu, 03 Dec 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn links_elsewhere_are_not_graphs() {
        let client = GraphClient::new(
            "t",
            "https://graph.microsoft.com/v1.0",
            AppCredentials {
                login_url: Url::parse("https://login.microsoftonline.com").unwrap(),
                tenant_id: "t".into(),
                client_id: "c".into(),
                credential: AppCredential::Secret(crate::config::Secret::default()),
            },
            10,
        )
        .unwrap();
        let next =
            Url::parse("https://graph.microsoft.com/v1.0/drives/d/root/children?$skiptoken=x")
                .unwrap();
        assert!(client.is_graph_url(&next));
        for other in [
            "https://evil.example/v1.0/drives",
            "https://graph.microsoft.com/beta/drives",
        ] {
            assert!(!client.is_graph_url(&Url::parse(other).unwrap()), "{other}");
        }
        assert_eq!(
            client.url(["drives", "b!x", "root:", "Sag 1/2"]).as_str(),
            "https://graph.microsoft.com/v1.0/drives/b!x/root:/Sag%201%2F2"
        );
    }
}
