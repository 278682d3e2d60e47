//! Filings: what a user asked to file where, and how far delivery has come.

use serde::{Deserialize, Serialize};

use super::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilingState {
    Queued,
    Filed,
    Failed,
}

impl FilingState {
    pub fn as_str(self) -> &'static str {
        match self {
            FilingState::Queued => "queued",
            FilingState::Filed => "filed",
            FilingState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<FilingState> {
        match s {
            "queued" => Some(FilingState::Queued),
            "filed" => Some(FilingState::Filed),
            "failed" => Some(FilingState::Failed),
            _ => None,
        }
    }
}

/// What happens to one attachment of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentMode {
    /// Filed as part of the mail's document.
    WithMail,
    /// Filed as a document of its own on the same case.
    Separate,
    /// Not filed.
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentChoice {
    pub index: usize,
    pub mode: AttachmentMode,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Filing {
    pub id: String,
    pub item_id: String,
    pub case_id: String,
    pub title: String,
    pub attachments: Vec<AttachmentChoice>,
    pub state: FilingState,
    pub attempts: u32,
    pub next_attempt_at: Option<Millis>,
    /// Until when the worker that claimed it holds it. Each claim sets a new time, so it also
    /// tells one claim from the next when settling.
    pub lease_until: Option<Millis>,
    pub last_error: Option<String>,
    pub target_document_id: Option<String>,
    pub created_by: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub filed_at: Option<Millis>,
    /// For a filed filing: whether the target confirmed the document, or only took it in.
    pub confirmed: bool,
    /// The target's id of the document this filing is a new version of.
    pub version_of: Option<String>,
    /// 1 for a document of its own; n for the n-th version of `version_of`'s document.
    pub version: u32,
}

/// Who decided to file: a person, or the service by a rule whose reasons the audit log keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Decision {
    #[default]
    Manual,
    Automatic {
        /// Names the rule, e.g. `send_intent`.
        rule: &'static str,
        /// What the rule saw, as the audit log records it; never item text.
        reasons: serde_json::Value,
    },
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Manual => "manual",
            Decision::Automatic { .. } => "automatic",
        }
    }
}
