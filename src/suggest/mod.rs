//! Ranked case suggestions from the full-text index and rules.

mod analyzer;
mod index;
mod rank;

pub use index::{IndexError, SearchIndex, TextHit, TextQuery};
pub use rank::{Reason, SuggestError, Suggester, Suggestion};
