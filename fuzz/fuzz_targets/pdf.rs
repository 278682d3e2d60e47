//! PDF extraction never panics, hangs on nesting, or inflates without bound.
#![no_main]

use journaliser::extract::Format;
use libfuzzer_sys::fuzz_target;

#[path = "extractor.rs"]
mod extractor;

fuzz_target!(|data: &[u8]| {
    let _ = extractor::extractor().extract(data, Format::Pdf);
});
