//! The target systems a filing goes to, behind one `Connector` trait.
//!
//! A connector knows one system: it lists the cases there and files documents into them.
//! Delivery calls it with an idempotency key; filing the same key twice must give one document.

mod archive;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::case::{Case, CaseInput};
use crate::domain::filing::AttachmentMode;
use crate::extract::ItemKind;

pub use archive::ArchiveConnector;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledDocument {
    /// The target system's id of the filed document.
    pub document_id: String,
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

pub trait Connector: Send + Sync {
    /// Files a document. Calling it again with the same idempotency key returns the document
    /// filed the first time, without filing a second one.
    fn file(&self, request: FilingRequest) -> BoxFuture<'_, Result<FiledDocument, ConnectorError>>;

    /// The cases the target holds, for importing into the store and index.
    fn list_cases(&self) -> BoxFuture<'_, Result<Vec<CaseInput>, ConnectorError>>;
}

/// The configured connector instances by name.
#[derive(Clone, Default)]
pub struct Connectors(HashMap<String, Arc<dyn Connector>>);

impl Connectors {
    pub fn insert(&mut self, name: impl Into<String>, connector: Arc<dyn Connector>) {
        self.0.insert(name.into(), connector);
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Connector>> {
        self.0.get(name).cloned()
    }
}
