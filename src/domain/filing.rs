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
    /// Set when the service filed it without a click: the evidence that decided.
    pub automatic: Option<AutoDecision>,
    /// Set once the filing was undone.
    pub withdrawal: Option<Withdrawal>,
}

/// The kinds of evidence on which the service files without a click, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The user chose the case while writing the mail ("Journalisér ved afsendelse").
    Intent,
    /// An earlier mail of the same thread is filed on exactly one case.
    Thread,
    /// The subject or the first lines name exactly one open case by its number.
    CaseNumber,
    /// An admin's routing rule says to file on the case.
    Rule,
    /// The ranker's calibrated confidence reached the configured threshold.
    Confidence,
}

impl Evidence {
    pub const ALL: [Evidence; 5] = [
        Evidence::Intent,
        Evidence::Thread,
        Evidence::CaseNumber,
        Evidence::Rule,
        Evidence::Confidence,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Intent => "intent",
            Evidence::Thread => "thread",
            Evidence::CaseNumber => "case_number",
            Evidence::Rule => "rule",
            Evidence::Confidence => "confidence",
        }
    }
}

/// Why the service filed an item by itself, as the filing and its audit record keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoDecision {
    pub evidence: Evidence,
    /// The rule's id and name, for `Evidence::Rule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    /// The ranker's confidence in the case, when it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub name: String,
}

/// How far taking a withdrawn document back from its target has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalState {
    /// Waiting for the worker (or for the delivery in flight to end).
    Pending,
    /// The target no longer has it, or it never reached the target.
    Done,
    /// The target keeps it, with a correction beside it.
    Corrected,
    /// The target cannot take it back; a person must do it there (the note says what).
    NotPossible,
}

impl WithdrawalState {
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalState::Pending => "pending",
            WithdrawalState::Done => "done",
            WithdrawalState::Corrected => "corrected",
            WithdrawalState::NotPossible => "not_possible",
        }
    }

    pub fn parse(s: &str) -> Option<WithdrawalState> {
        [
            WithdrawalState::Pending,
            WithdrawalState::Done,
            WithdrawalState::Corrected,
            WithdrawalState::NotPossible,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// An undo of a filing: who, when, why, and what became of the document at the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub at: Millis,
    pub by: String,
    pub reason: String,
    pub state: WithdrawalState,
    pub note: Option<String>,
    /// The filing on the right case, when the undo moved it there.
    pub moved_to: Option<String>,
}

/// Who decided to file: a person, or the service on evidence whose details the audit log keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Decision {
    #[default]
    Manual,
    Automatic {
        decision: AutoDecision,
        /// What the evidence was, as the audit log records it; never item text.
        details: serde_json::Value,
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
