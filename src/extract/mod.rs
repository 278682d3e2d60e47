//! Text, metadata and identifiers out of mails and documents.
//!
//! `extract` is pure and CPU-bound: callers run it on a blocking thread. Every string it returns
//! has CPR numbers replaced by their masked form; the numbers themselves survive only as keyed
//! hashes in [`Identifiers::cpr`].

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::identifiers::{CprHasher, CprRef, IdentifierPatterns, redact_cpr};

mod attachments;
mod budget;
pub use budget::Cut;
mod compound;
#[cfg(test)]
mod corpus;
mod detect;
mod doc;
mod docx;
mod finish;
mod lzfu;
mod mail;
mod mapi;
mod msg;
mod odt;
mod office;
mod pdf;
mod pdf_guard;
mod pdf_repair;
mod pdf_text;
mod pptx;
mod rtf;
mod text;
mod tnef;
mod xlsx;

/// What the caller says the bytes are; `Sniff` looks at the bytes themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mail,
    /// An Outlook message (`.msg`), read into the same metadata as [`Format::Mail`].
    Msg,
    Pdf,
    Docx,
    /// Word 97–2003.
    Doc,
    Rtf,
    Xlsx,
    Pptx,
    Odt,
    Text,
    Html,
    Sniff,
}

impl Format {
    /// Maps a MIME type (parameters ignored) and an optional file name to a format.
    /// `None` means the type is not supported (415 at the HTTP edge).
    pub fn from_content_type(content_type: &str, file_name: Option<&str>) -> Option<Format> {
        detect::from_content_type(content_type, file_name)
    }
}

/// Settings the extraction needs; built once from configuration.
pub struct Extractor {
    pub patterns: IdentifierPatterns,
    pub cpr_hasher: CprHasher,
    /// How deep nested messages and attachments are followed. `0` lists a mail's attachments
    /// without reading them; `1` reads the mail's attachments and parses attached mails, but not
    /// their attachments; and so on.
    pub max_depth: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The bytes are not what they claim to be, or are broken beyond use. The message is shown
    /// to the user: it names the problem, never the content.
    #[error("{0}")]
    Malformed(String),
    /// Well-formed, but locked with a password the service does not have. The message says
    /// so, naming the format.
    #[error("{0}")]
    Protected(String),
    #[error("unsupported content type")]
    Unsupported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Mail,
    Document,
}

/// The result of extracting one uploaded item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Extracted {
    pub kind: ItemKind,
    /// Normalised MIME type of the upload, e.g. `message/rfc822`.
    pub content_type: String,
    pub metadata: Metadata,
    /// All searchable text: for mail the subject, body and attachments' text; CPR masked.
    pub text: String,
    pub identifiers: Identifiers,
    /// What was cut to keep the item within its budget (over-long headers, addresses past the
    /// cap); empty for an ordinary item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<Cut>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Metadata {
    Mail(MailMetadata),
    Document(DocumentMetadata),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    /// Lower-cased.
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MailMetadata {
    pub subject: Option<String>,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub date: Option<DateTime<Utc>>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Outlook's Thread-Index header, as sent (base64).
    pub thread_index: Option<String>,
    pub thread_topic: Option<String>,
    /// The body as readable text (HTML converted); CPR masked.
    pub body_text: String,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    /// Position in the message's attachment list; what filing requests refer to.
    pub index: usize,
    pub name: Option<String>,
    pub content_type: String,
    pub size: u64,
    pub inline: bool,
    /// Extracted text (empty for images and unknown types); CPR masked.
    pub text: String,
    /// Why the text could not be extracted, if it could not.
    pub text_error: Option<String>,
    /// A message attached as `message/rfc822`.
    pub nested: Option<Box<MailMetadata>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DocumentMetadata {
    /// `pdf`, `docx`, `doc`, `rtf`, `xlsx`, `pptx`, `odt`, `text` or `html`.
    pub format: String,
    pub title: Option<String>,
    pub author: Option<String>,
    pub subject: Option<String>,
    pub created: Option<String>,
    pub modified: Option<String>,
    pub pages: Option<u32>,
    /// DOCX custom document properties (the Word add-in keeps the target's document id here).
    pub custom_properties: BTreeMap<String, String>,
}

/// Identifiers found anywhere in the item, each list without duplicates, in order of appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifiers {
    pub case_numbers: Vec<String>,
    pub kle: Vec<String>,
    pub cvr: Vec<String>,
    pub emails: Vec<String>,
    pub cpr: Vec<CprRef>,
}

/// One attachment's raw content, for filing it as a document of its own.
pub struct AttachmentContent {
    pub name: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Extractor {
    /// Extracts text, metadata and identifiers. Never panics on any input.
    pub fn extract(&self, bytes: &[u8], format: Format) -> Result<Extracted, ExtractError> {
        if bytes.is_empty() {
            return Err(ExtractError::Malformed("the content is empty".into()));
        }
        let format = match format {
            Format::Sniff => detect::sniff(bytes)?,
            given => given,
        };
        if matches!(format, Format::Mail | Format::Msg) {
            let mut cuts = Vec::new();
            let mut mail = if format == Format::Msg {
                msg::parse(bytes, self.max_depth)?
            } else {
                let (capped, cut) = budget::cap_headers(bytes);
                cuts = cut;
                mail::parse(&capped, self.max_depth)?
            };
            for (what, list) in [
                ("To addresses", &mut mail.to),
                ("Cc addresses", &mut mail.cc),
                ("From addresses", &mut mail.from),
            ] {
                if list.len() > budget::MAX_ADDRESSES {
                    cuts.push(Cut {
                        what: what.into(),
                        kept: budget::MAX_ADDRESSES,
                        total: list.len(),
                    });
                    list.truncate(budget::MAX_ADDRESSES);
                }
            }
            let mut extracted = finish::mail(self, mail, format);
            extracted.truncated = cuts;
            Ok(extracted)
        } else {
            let document = extract_document(bytes, format)?;
            Ok(finish::document(self, document, format))
        }
    }
}

/// The attachment at `index` of a raw message (RFC 822 or Outlook), numbered as in
/// [`MailMetadata::attachments`].
pub fn attachment_content(raw_mail: &[u8], index: usize) -> Option<AttachmentContent> {
    if raw_mail.starts_with(&compound::SIGNATURE) {
        msg::attachment_content(raw_mail, index)
    } else {
        // Parsed as extraction parsed it, so that the attachments are the same ones.
        mail::attachment_content(&budget::cap_headers(raw_mail).0, index)
    }
}

/// A document's text and properties, CPR numbers still in place.
struct RawDocument {
    text: String,
    metadata: DocumentMetadata,
}

/// Extracts any non-mail format; `Sniff` is resolved from the bytes first.
fn extract_document(bytes: &[u8], format: Format) -> Result<RawDocument, ExtractError> {
    let format = match format {
        Format::Sniff => detect::sniff(bytes)?,
        given => given,
    };
    guard("the document", || match format {
        Format::Pdf => pdf::extract(bytes),
        Format::Docx => docx::extract(bytes),
        Format::Doc => doc::extract(bytes),
        Format::Rtf => rtf::extract(bytes),
        Format::Xlsx => xlsx::extract(bytes),
        Format::Pptx => pptx::extract(bytes),
        Format::Odt => odt::extract(bytes),
        Format::Text => text::extract_plain(bytes),
        Format::Html => text::extract_html(bytes),
        Format::Mail | Format::Msg | Format::Sniff => Err(ExtractError::Unsupported),
    })
}

/// A library's error message fit to show: it may quote the input, so CPR numbers are masked,
/// and it is kept short.
fn reason(error: &dyn std::fmt::Display) -> String {
    redact_cpr(&error.to_string()).chars().take(200).collect()
}

/// Runs a third-party parser, turning a panic on hostile input into `Malformed`.
fn guard<T>(
    what: &str,
    parse: impl FnOnce() -> Result<T, ExtractError>,
) -> Result<T, ExtractError> {
    panic::catch_unwind(AssertUnwindSafe(parse))
        .unwrap_or_else(|_| Err(ExtractError::Malformed(format!("{what} could not be read"))))
}
