//! Ranked case suggestions from the full-text index and rules.

mod analyzer;
mod index;
mod rank;
mod subject;

pub use index::{IndexError, SearchIndex, TextHit, TextQuery};
pub use rank::{Reason, SuggestError, Suggester, Suggestion};
pub use subject::thread_subject;
