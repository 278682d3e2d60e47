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
mod subject;
mod terms;

pub use features::Feature;
pub use index::{IndexError, SearchIndex, TextHit, TextQuery};
pub use model::{Model, starting_weights};
pub use rank::{Reason, SuggestError, Suggester, Suggestion, WeightChange};
pub use subject::thread_subject;
