//! Outlook `.msg` extraction (compound file, MAPI properties, compressed RTF) and reading its
//! attachments back out never panic.
#![no_main]

use journaliser::extract::{Format, attachment_content};
use libfuzzer_sys::fuzz_target;

#[path = "extractor.rs"]
mod extractor;

fuzz_target!(|data: &[u8]| {
    if let Ok(extracted) = extractor::extractor().extract(data, Format::Msg)
        && let journaliser::extract::Metadata::Mail(mail) = &extracted.metadata
    {
        for attachment in &mail.attachments {
            let _ = attachment_content(data, attachment.index);
        }
    }
});
