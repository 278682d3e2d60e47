//! Ranked case suggestions from the full-text index, a text classifier and rules, combined by
//! a model that learns from every filing.

mod analyzer;
mod calibration;
mod classifier;
mod features;
mod index;
mod memory;
mod model;
mod rank;
mod replay;
mod snapshot;
mod subject;
mod terms;

pub use features::Feature;
pub use index::{IndexError, SearchIndex, TextHit, TextQuery};
pub use model::{Model, starting_weights};
pub use rank::{Reason, SuggestError, Suggester, Suggestion, WeightChange};
pub use replay::{FeatureValues, Places, replay};
pub use subject::{bare_subject, thread_subject};

/// The Danish analysis the index applies to text, for matching words outside the index.
pub fn danish_analyzer() -> tantivy::tokenizer::TextAnalyzer {
    analyzer::AnalyzerSettings::embedded().analyzer()
}
