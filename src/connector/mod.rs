//! The target systems a filing goes to, behind one `Connector` trait.
//!
//! A connector knows one system: it lists the cases there and files documents into them.
//! Delivery calls it with an idempotency key; filing the same key twice must give one document.

mod archive;
mod f2;
pub(crate) mod http;
mod instances;
mod mailin;
mod naming;
mod sharepoint;
mod webdav;
mod webhook;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::case::{Case, CaseInput, Party, PartyKind};
use crate::domain::filing::AttachmentMode;
use crate::extract::ItemKind;

pub use archive::ArchiveConnector;
pub use f2::F2Connector;
pub use instances::{InstanceSettings, SetupError, settings};
pub use mailin::MailinConnector;
pub use sharepoint::SharepointConnector;
pub use webdav::WebdavConnector;
pub use webhook::WebhookConnector;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The name of the built-in file archive, the default target for imported cases.
pub const ARCHIVE: &str = "archive";

/// One document to file, with everything the target may want to record about it.
#[derive(Debug, Clone)]
pub struct FilingRequest {
    /// Stable across retries of the same filing.
    pub idempotency_key: String,
    /// When the filing was accepted; stable across retries.
    pub accepted_at: DateTime<Utc>,
    pub case: Case,
    pub title: String,
    pub kind: ItemKind,
    pub content_type: String,
    pub content: Vec<u8>,
    /// Extracted text, CPR masked.
    pub text: String,
    /// Extraction metadata as recorded for the item.
    pub metadata: serde_json::Value,
    pub attachments: Vec<AttachmentDocument>,
    pub filed_by: String,
    /// Set when this document is a new version of one filed earlier on the same case: the
    /// target keeps it as that document's next version, and answers with the same id.
    pub new_version_of: Option<NewVersion>,
}

/// The document a filing is a new version of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion {
    /// The target's id of the document, as the target gave it when it was filed.
    pub document_id: String,
    /// The number this version gets: 2 for the first new version.
    pub version: u32,
}

/// Which way a document went, as records systems register it (OIO: indgående, udgående,
/// internt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received by the authority: a mail from a citizen or a company.
    Incoming,
    /// Sent by the authority.
    Outgoing,
    /// Made inside the authority: a note, a draft, a minute.
    Internal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
            Direction::Internal => "internal",
        }
    }
}

impl FilingRequest {
    /// The document's direction. The upload does not say whether a mail was received or sent,
    /// so a mail counts as received and a document as internal.
    pub fn direction(&self) -> Direction {
        match self.kind {
            ItemKind::Mail => Direction::Incoming,
            ItemKind::Document => Direction::Internal,
        }
    }

    /// The date records systems register with the document: a mail's Date header (when it was
    /// sent or received), otherwise when the filing was accepted.
    pub fn document_date(&self) -> DateTime<Utc> {
        self.metadata
            .get("date")
            .and_then(serde_json::Value::as_str)
            .and_then(|date| DateTime::parse_from_rfc3339(date).ok())
            .map_or(self.accepted_at, |date| date.to_utc())
    }
}

/// An attachment the user chose to file with the mail or on its own.
#[derive(Debug, Clone)]
pub struct AttachmentDocument {
    pub index: usize,
    pub mode: AttachmentMode,
    pub name: String,
    pub content_type: String,
    pub content: Vec<u8>,
    pub text: String,
}

/// What the target said about a document it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledDocument {
    /// The target system's id of the filed document; for a `Submitted` document, the
    /// reference under which the target knows it (its ticket, or our idempotency key).
    pub document_id: String,
    pub receipt: Receipt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// The target holds the document under `document_id`.
    Filed,
    /// The target took the document in but has not confirmed that it is filed (it answered
    /// "accepted" without an id). "Filed" must not be shown until a later check confirms it.
    Submitted,
}

impl FiledDocument {
    pub fn filed(document_id: impl Into<String>) -> FiledDocument {
        FiledDocument {
            document_id: document_id.into(),
            receipt: Receipt::Filed,
        }
    }

    pub fn submitted(reference: impl Into<String>) -> FiledDocument {
        FiledDocument {
            document_id: reference.into(),
            receipt: Receipt::Submitted,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// Worth trying again later: the target is down, busy or briefly unwritable.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Trying again will not help; the message is the target's reason.
    #[error("rejected: {0}")]
    Permanent(String),
}

/// What a connector can do beyond filing, so callers ask only what it can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// `list_cases` works: the target's cases can be imported and synchronised.
    pub list_cases: bool,
    /// `read_case` works: one case can be looked up by its id.
    pub read_case: bool,
    /// `withdraw` works: a filed document can be taken back (removed, moved aside, or
    /// answered by a correction the target keeps beside it).
    pub withdraw: bool,
    /// `list_documents` works: the documents already on a case can be read, to learn from.
    pub list_documents: bool,
}

/// A document already on a case in the target, as `list_documents` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDocument {
    pub case_id: String,
    /// The target's id of the document, as `file` answers it for the documents it files.
    pub document_id: String,
    pub title: String,
    /// As the target records it, or `application/octet-stream` when it does not; the
    /// document id then ends in the file's name, whose extension may say what it is.
    pub content_type: String,
    /// The document's date (a mail's Date header where the target kept it), or when the
    /// target last changed it; `None` when the target says neither.
    pub date: Option<DateTime<Utc>>,
    pub content: DocumentContent,
}

/// What the target keeps of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentContent {
    /// The original bytes.
    Original(Vec<u8>),
    /// Only its text, where the original is not kept.
    Text(String),
}

/// A filed document to take back: the undo of a filing that went to the wrong case.
#[derive(Debug, Clone)]
pub struct WithdrawRequest {
    /// The key the document was filed under (`FilingRequest::idempotency_key`).
    pub idempotency_key: String,
    pub case: Case,
    /// The target's id of the document, as `file` answered it.
    pub document_id: String,
    /// The document's title as filed, for a correction that names it.
    pub title: String,
    /// Who withdrew it and why, for the note the target keeps.
    pub withdrawn_by: String,
    pub reason: String,
}

/// What the target did with a withdrawn document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withdrawal {
    /// The document is no longer on the case (removed, or moved aside with a note).
    Removed,
    /// The target keeps what it was given, and now also a correction that withdraws it (a
    /// correction mail to a journal mailbox); the text says what was sent.
    Corrected(String),
}

pub trait Connector: Send + Sync {
    fn capabilities(&self) -> Capabilities;

    /// Whether `create_case` works.
    fn creates_cases(&self) -> bool {
        false
    }

    /// Creates `case` in the target under `case.id` and answers the number the target gives
    /// it. Calling it again for the same id answers the case made the first time, without a
    /// second one. Only when `creates_cases()`; otherwise a permanent error.
    fn create_case<'a>(&'a self, _case: &'a Case) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async { Err(unsupported("creating a case")) })
    }

    /// Files a document. Calling it again with the same idempotency key returns the document
    /// filed the first time, without filing a second one.
    fn file(&self, request: FilingRequest) -> BoxFuture<'_, Result<FiledDocument, ConnectorError>>;

    /// The cases the target holds, for importing into the store and index. Only when
    /// `capabilities().list_cases`; otherwise a permanent error.
    fn list_cases(&self) -> BoxFuture<'_, Result<Vec<CaseInput>, ConnectorError>> {
        Box::pin(async { Err(unsupported("listing cases")) })
    }

    /// One case by its id in the target; `None` when the target has no such case. Only when
    /// `capabilities().read_case`; otherwise a permanent error.
    fn read_case<'a>(
        &'a self,
        _id: &'a str,
    ) -> BoxFuture<'a, Result<Option<CaseInput>, ConnectorError>> {
        Box::pin(async { Err(unsupported("reading a case")) })
    }

    /// The documents on the case `case_id` (its id in the target), each new version of a
    /// document left out; nothing for a case the target does not have. Only when
    /// `capabilities().list_documents`; otherwise a permanent error.
    fn list_documents<'a>(
        &'a self,
        _case_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CaseDocument>, ConnectorError>> {
        Box::pin(async { Err(unsupported("listing a case's documents")) })
    }

    /// Takes a filed document back. Withdrawing one already withdrawn answers as the first
    /// time did. Only when `capabilities().withdraw`; otherwise a permanent error.
    fn withdraw(
        &self,
        _request: WithdrawRequest,
    ) -> BoxFuture<'_, Result<Withdrawal, ConnectorError>> {
        Box::pin(async { Err(unsupported("withdrawing a document")) })
    }
}

/// The parties a target is told of when a case is made there: all but CPR numbers, which
/// the store holds only as keyed hashes and masked, so the caseworker adds them in the target.
pub(crate) fn shareable_parties(case: &Case) -> impl Iterator<Item = &Party> {
    case.parties.iter().filter(|p| p.kind != PartyKind::Cpr)
}

fn unsupported(what: &str) -> ConnectorError {
    ConnectorError::Permanent(format!("this target does not support {what}"))
}

/// The configured connector instances by name.
#[derive(Clone, Default)]
pub struct Connectors(BTreeMap<String, Arc<dyn Connector>>);

impl Connectors {
    pub fn insert(&mut self, name: impl Into<String>, connector: Arc<dyn Connector>) {
        self.0.insert(name.into(), connector);
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Connector>> {
        self.0.get(name).cloned()
    }

    /// The instances' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The instances with their names, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn Connector>)> {
        self.0
            .iter()
            .map(|(name, connector)| (name.as_str(), connector))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::CaseStatus;

    fn request(kind: ItemKind, metadata: serde_json::Value) -> FilingRequest {
        FilingRequest {
            idempotency_key: "k".into(),
            accepted_at: DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
                .unwrap()
                .to_utc(),
            case: Case {
                id: "S-1".into(),
                connector: ARCHIVE.into(),
                number: "1".into(),
                title: "Sag".into(),
                kle: None,
                facet: None,
                status: CaseStatus::Open,
                parties: vec![],
                groups: vec![],
                opened: None,
            },
            title: "Titel".into(),
            kind,
            content_type: "text/plain".into(),
            content: Vec::new(),
            text: String::new(),
            metadata,
            attachments: Vec::new(),
            filed_by: "anna".into(),
            new_version_of: None,
        }
    }

    #[test]
    fn a_mail_is_incoming_and_dated_by_its_date_header() {
        let mail = request(
            ItemKind::Mail,
            serde_json::json!({"type": "mail", "date": "2021-10-12T08:00:00Z"}),
        );
        assert_eq!(mail.direction(), Direction::Incoming);
        assert_eq!(
            mail.document_date().to_rfc3339(),
            "2021-10-12T08:00:00+00:00"
        );
    }

    #[test]
    fn a_document_is_internal_and_dated_when_accepted() {
        let document = request(ItemKind::Document, serde_json::json!({"type": "document"}));
        assert_eq!(document.direction(), Direction::Internal);
        assert_eq!(document.document_date(), document.accepted_at);
    }
}
