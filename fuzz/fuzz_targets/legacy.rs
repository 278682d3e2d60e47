//! Word 97–2003, RTF, XLSX and PPTX extraction never panic; nor does a TNEF part in a mail.
#![no_main]

use journaliser::extract::Format;
use libfuzzer_sys::fuzz_target;

#[path = "extractor.rs"]
mod extractor;

fuzz_target!(|data: &[u8]| {
    let extractor = extractor::extractor();
    for format in [Format::Doc, Format::Rtf, Format::Xlsx, Format::Pptx] {
        let _ = extractor.extract(data, format);
    }
    let mut mail = b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
        Content-Type: application/ms-tnef; name=winmail.dat\r\n\r\n"
        .to_vec();
    mail.extend_from_slice(data);
    mail.extend_from_slice(b"\r\n--b--\r\n");
    let _ = extractor.extract(&mail, Format::Mail);
});
