//! What the HTTP connectors share: the client, credentials, and one reading of a failed
//! answer as transient (try again) or permanent (the target's reason).

pub(crate) mod oauth;
mod tls;

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode, Url};

use super::ConnectorError;
use crate::config::Secret;
pub(super) use tls::{ClientTls, TlsRefusal};

/// Longest reason kept from a target's answer: enough to read, short enough for a log line.
const MAX_REASON_CHARS: usize = 300;
/// Longest the handshake check after a broken-off request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for one target. Redirects are not followed: a POST turned into a GET by a
/// redirect would look delivered without filing anything.
pub(crate) fn client(timeout_secs: u64) -> Result<reqwest::Client, String> {
    client_with(timeout_secs, ClientTls::default())
}

/// A client for one target that adds `tls` to the system's TLS settings.
pub(super) fn client_with(timeout_secs: u64, tls: ClientTls) -> Result<reqwest::Client, String> {
    let timeout = Duration::from_secs(timeout_secs.max(1));
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("journaliser/", env!("CARGO_PKG_VERSION")));
    tls.apply(builder)
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", chain(&e)))
}

/// An error with its sources, for errors whose own text says little ("builder error").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        text.push_str(&format!(": {source}"));
        next = source.source();
    }
    text
}

/// A target's configured URL: http or https, and without credentials in it, since URLs show
/// in error messages and logs.
pub(crate) fn target_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("url: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("url must be http or https".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url must not hold credentials; set username and password".into());
    }
    Ok(url)
}

/// How requests to a target authenticate.
#[derive(Debug, Clone)]
pub(super) enum Credentials {
    None,
    Basic { username: String, password: Secret },
    Bearer(Secret),
}

impl Credentials {
    pub(super) fn basic_or_none(username: &str, password: &Secret) -> Credentials {
        if username.is_empty() {
            Credentials::None
        } else {
            Credentials::Basic {
                username: username.to_string(),
                password: password.clone(),
            }
        }
    }

    pub(super) fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Credentials::None => request,
            Credentials::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose()))
            }
            Credentials::Bearer(token) => request.bearer_auth(token.expose()),
        }
    }
}

/// A request that got no answer. Only a request that could not be built (a bad header) or a
/// TLS handshake refused is permanent; no connection, a timeout or a broken answer may pass.
pub(crate) fn send_error(target: &str, error: reqwest::Error) -> ConnectorError {
    send_error_from(target, "the server", error)
}

/// As `send_error`, with `peer` naming the other side in a refused handshake's reason.
pub(crate) fn send_error_from(target: &str, peer: &str, error: reqwest::Error) -> ConnectorError {
    if let Some(refusal) = TlsRefusal::of(&error) {
        return ConnectorError::Permanent(refusal.describe(target, peer));
    }
    // Without the URL: some targets carry their key in its query string (`?code=…`), and this
    // message reaches the filing's error, the audit log and the log.
    let permanent = error.is_builder();
    let message = format!("{target}: {}", error.without_url());
    if permanent {
        ConnectorError::Permanent(message)
    } else {
        ConnectorError::Transient(message)
    }
}

/// The refused TLS handshake a request that got no answer met, if any: read from its error,
/// or, when it broke off on an https connection, asked again. A server that turns down our
/// client certificate after a TLS 1.3 handshake may close without reading the request, and
/// then writing a large body fails before its alert is read; a request without a body is
/// written whole and reads the alert. HEAD files nothing.
pub(super) async fn handshake_refusal(
    client: &reqwest::Client,
    url: &Url,
    failed: &reqwest::Error,
) -> Option<TlsRefusal> {
    if let Some(refusal) = TlsRefusal::of(failed) {
        return Some(refusal);
    }
    if url.scheme() != "https" || failed.is_timeout() || failed.is_builder() {
        return None;
    }
    let probe = client
        .head(url.clone())
        .timeout(PROBE_TIMEOUT)
        .send()
        .await
        .err()?;
    TlsRefusal::of(&probe)
}

/// A non-success answer, with the target's reason read from its body.
pub(crate) async fn failure(target: &str, response: Response) -> ConnectorError {
    let failed = read_failure(response).await;
    classify(target, failed.status, &failed.reason)
}

/// A non-success answer as read: its status, its body and the reason in it.
pub(crate) struct FailedAnswer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub reason: String,
}

pub(crate) async fn read_failure(response: Response) -> FailedAnswer {
    let status = response.status();
    let is_html = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("html"));
    let body = response.bytes().await.unwrap_or_default().to_vec();
    let reason = reason(&body, is_html);
    FailedAnswer {
        status,
        body,
        reason,
    }
}

/// 408, 425, 429, 423 (a WebDAV lock) and 5xx may pass; every other failure is the target
/// saying no.
pub(crate) fn classify(target: &str, status: StatusCode, reason: &str) -> ConnectorError {
    let message = if reason.is_empty() {
        format!("{target}: HTTP {status}")
    } else {
        format!("{target}: HTTP {status}: {reason}")
    };
    let transient = status.is_server_error() || matches!(status.as_u16(), 408 | 423 | 425 | 429);
    if transient {
        ConnectorError::Transient(message)
    } else {
        ConnectorError::Permanent(message)
    }
}

/// The reason in an answer's body: a JSON error's message, an HTML page's text, or the text
/// itself; shortened.
pub(super) fn reason(body: &[u8], is_html: bool) -> String {
    let text = String::from_utf8_lossy(body);
    let found = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| {
            [
                "/message",
                "/error/message",
                "/error_description",
                "/detail",
                "/title",
                "/error",
            ]
            .iter()
            .find_map(|pointer| json.pointer(pointer)?.as_str().map(str::to_owned))
        });
    let text = match found {
        Some(message) => message,
        None if is_html => strip_tags(&text),
        None => text.into_owned(),
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_broken_targets_are_transient_refusals_permanent() {
        for status in [408, 423, 429, 500, 502, 503, 504, 507] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(
                matches!(classify("t", status, ""), ConnectorError::Transient(_)),
                "{status}"
            );
        }
        for status in [301, 400, 401, 403, 404, 409, 413, 422] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(
                matches!(classify("t", status, ""), ConnectorError::Permanent(_)),
                "{status}"
            );
        }
    }

    #[test]
    fn target_urls_are_http_without_credentials() {
        assert!(target_url("https://dav.example/sager/").is_ok());
        for bad in [
            "ftp://dav.example/",
            "dav.example/sager",
            "https://user:secret@dav.example/",
        ] {
            assert!(target_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_reason_is_the_targets_message_shortened() {
        assert_eq!(
            reason(br#"{"error": {"message": "Sagen er lukket"}}"#, false),
            "Sagen er lukket"
        );
        assert_eq!(
            reason(b"<html><h1>401 Access not authorized</h1>\n</html>", true),
            "401 Access not authorized"
        );
        let long = reason("æ".repeat(1000).as_bytes(), false);
        assert_eq!(long.chars().count(), MAX_REASON_CHARS + 1);
    }
}
