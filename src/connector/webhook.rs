//! HTTP/JSON webhooks into fagsystemer: one POST per filing, its body from a template, the
//! target's document id read from the answer.
//!
//! Exactly once rests on the target: every request carries our idempotency key in the
//! `Idempotency-Key` header (and the default body), and a target that honours it answers a
//! repeated request with the document it made the first time.
//!
//! Where the fagsystem makes cases on request, a new case is one POST too, under the case id as
//! its `Idempotency-Key`, so that a repeat after a crash answers the case made the first time.
//!
//! A fagsystem that knows its clients by certificate gets ours (mutual TLS); a handshake it
//! refuses, or a certificate of its own we cannot trust, fails the filing at once: no retry
//! changes a certificate.

mod template;

use base64::Engine;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};

use super::http::{self, ClientTls, Credentials};
use super::naming::{extension, safe_name};
use super::{
    BoxFuture, Capabilities, Connector, ConnectorError, FiledDocument, FilingRequest,
    WithdrawRequest, Withdrawal, shareable_parties,
};
use crate::config::WebhookConfig;
use crate::domain::case::Case;
use crate::domain::filing::AttachmentMode;
use template::{BodyTemplate, DEFAULT_BODY, Placeholder};

const TARGET: &str = "webhook";
/// The other side, as a refused handshake's reason names it.
const PEER: &str = "the fagsystem";

pub struct WebhookConnector {
    url: Url,
    withdraw_url: Option<Url>,
    create_url: Option<Url>,
    case_number_pointer: String,
    client: reqwest::Client,
    credentials: Credentials,
    headers: HeaderMap,
    body: BodyTemplate,
    /// Empty: the answer carries no id.
    id_pointer: String,
}

impl WebhookConnector {
    pub fn new(config: &WebhookConfig) -> Result<WebhookConnector, String> {
        let url = http::target_url(&config.url)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("headers: {name:?} is not a header name"))?;
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|_| format!("headers: the value of {name} is not a header value"))?;
            // Kept out of reqwest's debug output, like the credentials.
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let credentials = if config.bearer_token.is_empty() {
            Credentials::basic_or_none(&config.username, &config.password)
        } else {
            Credentials::Bearer(config.bearer_token.clone())
        };
        let body = match config.body.trim() {
            "" => DEFAULT_BODY,
            body => body,
        };
        let tls = ClientTls::load(
            &config.client_cert_file,
            &config.client_key_file,
            &config.ca_file,
        )?;
        if !tls.is_empty() && url.scheme() != "https" {
            return Err("client_cert_file, client_key_file and ca_file need an https url".into());
        }
        let withdraw_url = match config.withdraw_url.trim() {
            "" => None,
            withdraw => Some(http::target_url(withdraw).map_err(|e| format!("withdraw_url: {e}"))?),
        };
        let create_url = match config.create_url.trim() {
            "" => None,
            create => Some(http::target_url(create).map_err(|e| format!("create_url: {e}"))?),
        };
        Ok(WebhookConnector {
            url,
            withdraw_url,
            create_url,
            case_number_pointer: config.case_number_pointer.clone(),
            client: http::client_with(config.timeout_secs, tls)?,
            credentials,
            headers,
            body: BodyTemplate::parse(body)?,
            id_pointer: config.id_pointer.clone(),
        })
    }

    async fn deliver(&self, request: &FilingRequest) -> Result<FiledDocument, ConnectorError> {
        let body = self.body.render(&|placeholder| value(request, placeholder));
        let http_request = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header("Idempotency-Key", &request.idempotency_key)
            .json(&body);
        let response = match self.credentials.apply(http_request).send().await {
            Ok(response) => response,
            Err(error) => return Err(self.send_failure(error).await),
        };
        let status = response.status();
        if status == StatusCode::CONFLICT {
            // Idempotency-Key semantics: the same key is still being processed. The retry,
            // with the same key, gets the outcome.
            return Err(ConnectorError::Transient(format!(
                "{TARGET}: HTTP 409: the target is still processing this filing"
            )));
        }
        if !status.is_success() {
            return Err(http::failure(TARGET, response).await);
        }
        // Should reading the answer fail, the retry carries the same key and the target
        // answers it with the same document.
        let answer = response
            .bytes()
            .await
            .map_err(|e| http::send_error_from(TARGET, PEER, e))?;
        let id = self.document_id(&answer);
        Ok(match id {
            Some(id) if status != StatusCode::ACCEPTED => FiledDocument::filed(id),
            Some(reference) => FiledDocument::submitted(reference),
            None => {
                tracing::warn!(%status, pointer = %self.id_pointer, "the target's answer has no document id; counted as submitted");
                FiledDocument::submitted(request.idempotency_key.clone())
            }
        })
    }

    /// A request that got no answer: permanent if the fagsystem refused our handshake.
    /// Tells the fagsystem to take a document back, under an idempotency key of its own so
    /// that a repeat is one withdrawal; a document it no longer has (404) is gone already.
    async fn take_back(&self, request: &WithdrawRequest) -> Result<Withdrawal, ConnectorError> {
        let Some(url) = &self.withdraw_url else {
            return Err(ConnectorError::Permanent(
                "this fagsystem takes no documents back (no withdraw_url); remove it there".into(),
            ));
        };
        let body = json!({
            "idempotency_key": request.idempotency_key,
            "document_id": request.document_id,
            "case": {"id": request.case.id, "number": request.case.number},
            "title": request.title,
            "withdrawn_by": request.withdrawn_by,
            "reason": request.reason,
        });
        let http_request = self
            .client
            .post(url.clone())
            .headers(self.headers.clone())
            .header(
                "Idempotency-Key",
                format!("{}-withdraw", request.idempotency_key),
            )
            .json(&body);
        let response = match self.credentials.apply(http_request).send().await {
            Ok(response) => response,
            Err(error) => return Err(self.send_failure(error).await),
        };
        match response.status() {
            status if status.is_success() || status == StatusCode::NOT_FOUND => {
                Ok(Withdrawal::Removed)
            }
            StatusCode::CONFLICT => Err(ConnectorError::Transient(format!(
                "{TARGET}: HTTP 409: the target is still processing this withdrawal"
            ))),
            _ => Err(http::failure(TARGET, response).await),
        }
    }

    /// Asks the fagsystem to make a case; answers the number it gave, or the case id where
    /// its answer names none.
    async fn make_case(&self, case: &Case) -> Result<String, ConnectorError> {
        let Some(url) = &self.create_url else {
            return Err(ConnectorError::Permanent(
                "this fagsystem makes no cases on request (no create_url)".into(),
            ));
        };
        let parties: Vec<Value> = shareable_parties(case)
            .map(|p| json!({"kind": p.kind.as_str(), "value": p.display}))
            .collect();
        let body = json!({
            "id": case.id,
            "title": case.title,
            "kle": case.kle,
            "facet": case.facet,
            "parties": parties,
            "groups": case.groups,
            "opened": case.opened,
        });
        let http_request = self
            .client
            .post(url.clone())
            .headers(self.headers.clone())
            .header("Idempotency-Key", &case.id)
            .json(&body);
        let response = match self.credentials.apply(http_request).send().await {
            Ok(response) => response,
            Err(error) => return Err(self.send_failure(error).await),
        };
        match response.status() {
            StatusCode::CONFLICT => {
                return Err(ConnectorError::Transient(format!(
                    "{TARGET}: HTTP 409: the target is still making this case"
                )));
            }
            status if !status.is_success() => return Err(http::failure(TARGET, response).await),
            _ => {}
        }
        let answer = response
            .bytes()
            .await
            .map_err(|e| http::send_error_from(TARGET, PEER, e))?;
        Ok(read_id(&answer, &self.case_number_pointer).unwrap_or_else(|| case.id.clone()))
    }

    async fn send_failure(&self, error: reqwest::Error) -> ConnectorError {
        match http::handshake_refusal(&self.client, &self.url, &error).await {
            Some(refusal) => ConnectorError::Permanent(refusal.describe(TARGET, PEER)),
            None => http::send_error_from(TARGET, PEER, error),
        }
    }

    /// The id at the configured pointer.
    fn document_id(&self, answer: &[u8]) -> Option<String> {
        read_id(answer, &self.id_pointer)
    }
}

/// What a JSON answer holds at `pointer`: a string, or a number written out; nothing for an
/// empty pointer.
fn read_id(answer: &[u8], pointer: &str) -> Option<String> {
    if pointer.is_empty() {
        return None;
    }
    let answer: Value = serde_json::from_slice(answer).ok()?;
    match answer.pointer(pointer)? {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

impl Connector for WebhookConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list_cases: false,
            read_case: false,
            withdraw: self.withdraw_url.is_some(),
            list_documents: false,
        }
    }

    fn creates_cases(&self) -> bool {
        self.create_url.is_some()
    }

    fn create_case<'a>(&'a self, case: &'a Case) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(self.make_case(case))
    }

    fn withdraw(
        &self,
        request: WithdrawRequest,
    ) -> BoxFuture<'_, Result<Withdrawal, ConnectorError>> {
        Box::pin(async move { self.take_back(&request).await })
    }

    fn file(&self, request: FilingRequest) -> BoxFuture<'_, Result<FiledDocument, ConnectorError>> {
        Box::pin(async move { self.deliver(&request).await })
    }
}

/// A placeholder's value for one filing.
fn value(request: &FilingRequest, placeholder: Placeholder) -> Value {
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    match placeholder {
        Placeholder::CaseId => json!(request.case.id),
        Placeholder::CaseNumber => json!(request.case.number),
        Placeholder::CaseTitle => json!(request.case.title),
        Placeholder::Title => json!(request.title),
        Placeholder::Direction => json!(request.direction().as_str()),
        Placeholder::Date => json!(request.document_date().to_rfc3339()),
        Placeholder::IdempotencyKey => json!(request.idempotency_key),
        Placeholder::FileName => json!(format!(
            "{}.{}",
            safe_name(&request.title, 80),
            extension(&request.content_type)
        )),
        Placeholder::ContentType => json!(request.content_type),
        Placeholder::ContentBase64 => json!(base64(&request.content)),
        Placeholder::FiledBy => json!(request.filed_by),
        Placeholder::VersionOf => json!(request.new_version_of.as_ref().map(|v| &v.document_id)),
        Placeholder::Version => json!(request.new_version_of.as_ref().map_or(1, |v| v.version)),
        // Attachments filed with the mail are inside it already; the separate ones go along.
        Placeholder::Attachments => request
            .attachments
            .iter()
            .filter(|a| a.mode == AttachmentMode::Separate)
            .map(|a| {
                json!({"index": a.index, "file_name": a.name, "content_type": a.content_type,
                       "content_base64": base64(&a.content)})
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pointer: &str) -> WebhookConfig {
        WebhookConfig {
            url: "http://fagsystem.example/journal".into(),
            id_pointer: pointer.into(),
            ..WebhookConfig::default()
        }
    }

    #[test]
    fn the_document_id_is_read_by_pointer() {
        let hook = WebhookConnector::new(&config("/document/id")).unwrap();
        assert_eq!(
            hook.document_id(br#"{"document": {"id": "D-17"}}"#)
                .as_deref(),
            Some("D-17")
        );
        assert_eq!(
            hook.document_id(br#"{"document": {"id": 17}}"#).as_deref(),
            Some("17")
        );
        assert_eq!(hook.document_id(br#"{"id": "D-17"}"#), None);
        assert_eq!(hook.document_id(b"not json"), None);
        let silent = WebhookConnector::new(&config("")).unwrap();
        assert_eq!(silent.document_id(br#"{"id": "D-17"}"#), None);
    }

    #[test]
    fn bad_settings_are_refused_at_start() {
        let mut bad_header = config("/id");
        bad_header
            .headers
            .insert("X Key".into(), serde_json::from_value(json!("v")).unwrap());
        let mut bad_body = config("/id");
        bad_body.body = r#"{"a": "{nope}"}"#.into();
        let mut bad_url = config("/id");
        bad_url.url = "fagsystem.example/journal".into();
        for bad in [bad_header, bad_body, bad_url] {
            assert!(WebhookConnector::new(&bad).is_err(), "{bad:?}");
        }
    }
}
