//! Measuring suggestion quality: a labelled, time-ordered corpus replayed through the real
//! extraction, store, index, ranker and filing code, and a report of how well it did.
//!
//! The corpus is `<dir>/<user>/<folder>/<message>` with `<dir>/MANIFEST.tsv` (the Enron
//! layout of `../shared/data/enron`): each user is an organisation of its own, each folder a
//! case. See `journaliser eval replay --help`.

mod manifest;
mod metrics;
mod organisation;
mod replay;
mod report;
mod schedule;

use crate::config::ExtractConfig;
use crate::domain::identifiers::{CprHasher, IdentifierPatterns};
use crate::extract::Extractor;
use crate::filing::FilingError;
use crate::import::ImportError;
use crate::store::StoreError;
use crate::suggest::{IndexError, SuggestError};

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
    #[error("extract.journal_number_patterns: {0}")]
    Patterns(#[from] regex::Error),
    #[error("creating the cases: {0}")]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("suggesting: {0}")]
    Suggest(#[from] SuggestError),
    #[error("filing: {0}")]
    Filing(#[from] FilingError),
}

/// The extraction the server configures, with a CPR hash key of its own: the replay's stores
/// live in memory and are gone when it ends, so their hashes never need to match anything.
pub fn extractor(config: &ExtractConfig) -> Result<Extractor, EvalError> {
    Ok(Extractor {
        patterns: IdentifierPatterns::new(&config.journal_number_patterns)?,
        cpr_hasher: CprHasher::new(&rand::random::<[u8; 32]>()),
        max_depth: config.max_depth,
    })
}
