//! DOCX and ODT extraction (zip plus XML) never panic.
#![no_main]

use journaliser::extract::Format;
use libfuzzer_sys::fuzz_target;

#[path = "extractor.rs"]
mod extractor;

fuzz_target!(|data: &[u8]| {
    let extractor = extractor::extractor();
    let _ = extractor.extract(data, Format::Docx);
    let _ = extractor.extract(data, Format::Odt);
});
