//! Suggestion quality, measured by replaying a labelled corpus through the real pipeline.
//!
//! The same intake (extraction), store, index, ranker and filing code as the server runs on a
//! temporary store per organisation, and a report says how well the suggestions did. The
//! corpus is `<dir>/<user>/<folder>/<message>` with `<dir>/MANIFEST.tsv` (the Enron layout of
//! `../shared/data/enron`): each user is an organisation of its own, each folder a case. See
//! `journaliser eval replay --help`.

pub mod kle;
mod manifest;
mod metrics;
mod organisation;
mod replay;
mod report;
mod schedule;

use crate::filing::FilingError;
use crate::import::ImportError;
use crate::intake::IntakeError;
use crate::store::StoreError;
use crate::suggest::{IndexError, SuggestError};

pub use metrics::{Outcome, POLICIES, Summary, Threshold, threshold};
pub use replay::{ReplayOptions, replay};
pub use report::Report;
pub use schedule::Protocol;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Manifest { path: String, message: String },
    #[error("user {0:?} is not in the manifest")]
    UnknownUser(String),
    #[error(
        "--store takes a postgres:// URL (the replay's own SQLite store is in memory), not {0:?}"
    )]
    StoreUrl(String),
    #[error("extract.journal_number_patterns: {0}")]
    Patterns(#[from] regex::Error),
    #[error("taking in a message: {0}")]
    Intake(#[from] IntakeError),
    #[error("creating the cases: {0}")]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the auto-journalisation policy: {0}")]
    Autofile(#[from] crate::autofile::AutofileError),
    #[error("suggesting: {0}")]
    Suggest(#[from] SuggestError),
    #[error("filing: {0}")]
    Filing(#[from] FilingError),
}
