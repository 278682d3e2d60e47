//! Mail extraction, and reading attachments back out of the same bytes, never panic.
#![no_main]

use journaliser::extract::{Format, attachment_content};
use libfuzzer_sys::fuzz_target;

#[path = "extractor.rs"]
mod extractor;

fuzz_target!(|data: &[u8]| {
    let extractor = extractor::extractor();
    if let Ok(extracted) = extractor.extract(data, Format::Mail) {
        let _ = serde_json::to_string(&extracted);
    }
    for index in 0..3 {
        let _ = attachment_content(data, index);
    }
});
