//! The extractor every target uses: default patterns, a fixed hash key.

use journaliser::domain::identifiers::{CprHasher, IdentifierPatterns};
use journaliser::extract::Extractor;

pub fn extractor() -> Extractor {
    Extractor { patterns: IdentifierPatterns::default(), cpr_hasher: CprHasher::new(b"fuzz"), max_depth: 5 }
}
