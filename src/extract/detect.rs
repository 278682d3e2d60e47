//! Deciding what a blob is: from its declared MIME type and name, or from the bytes themselves.

use std::io::Cursor;

use super::{ExtractError, Format, compound, guard, msg, office};

const DOCX_TYPE: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX_TYPE: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
const ODT_TYPE: &str = "application/vnd.oasis.opendocument.text";
const MSG_TYPE: &str = "application/vnd.ms-outlook";

pub(super) fn from_content_type(content_type: &str, file_name: Option<&str>) -> Option<Format> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "message/rfc822" => Some(Format::Mail),
        MSG_TYPE => Some(Format::Msg),
        "application/pdf" => Some(Format::Pdf),
        DOCX_TYPE => Some(Format::Docx),
        "application/msword" => Some(Format::Doc),
        "application/rtf" | "text/rtf" => Some(Format::Rtf),
        XLSX_TYPE => Some(Format::Xlsx),
        PPTX_TYPE => Some(Format::Pptx),
        ODT_TYPE => Some(Format::Odt),
        "text/plain" => Some(Format::Text),
        "text/html" => Some(Format::Html),
        "" | "application/octet-stream" => {
            Some(file_name.and_then(from_extension).unwrap_or(Format::Sniff))
        }
        _ => None,
    }
}

fn from_extension(file_name: &str) -> Option<Format> {
    let (_, extension) = file_name.trim().rsplit_once('.')?;
    match extension.to_ascii_lowercase().as_str() {
        "eml" => Some(Format::Mail),
        "msg" => Some(Format::Msg),
        "pdf" => Some(Format::Pdf),
        "docx" => Some(Format::Docx),
        "doc" => Some(Format::Doc),
        "rtf" => Some(Format::Rtf),
        "xlsx" => Some(Format::Xlsx),
        "pptx" => Some(Format::Pptx),
        "odt" => Some(Format::Odt),
        "txt" => Some(Format::Text),
        "htm" | "html" => Some(Format::Html),
        _ => None,
    }
}

/// The normalised MIME type reported for an extracted item.
pub(super) fn mime_type(format: Format) -> &'static str {
    match format {
        Format::Mail => "message/rfc822",
        Format::Msg => MSG_TYPE,
        Format::Pdf => "application/pdf",
        Format::Docx => DOCX_TYPE,
        Format::Doc => "application/msword",
        Format::Rtf => "application/rtf",
        Format::Xlsx => XLSX_TYPE,
        Format::Pptx => PPTX_TYPE,
        Format::Odt => ODT_TYPE,
        Format::Text => "text/plain",
        Format::Html => "text/html",
        Format::Sniff => "application/octet-stream",
    }
}

/// Recognises the supported formats by their content alone.
pub(super) fn sniff(bytes: &[u8]) -> Result<Format, ExtractError> {
    let unrecognised = || ExtractError::Malformed("unrecognised content".into());
    // PDF readers accept junk before the header; so does lopdf.
    if bytes.windows(5).take(1024).any(|w| w == b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return sniff_zip(bytes).ok_or_else(unrecognised);
    }
    if bytes.starts_with(&compound::SIGNATURE) {
        // The compound-file reader is a third-party parser: a panic on hostile input is caught.
        let format = guard("the compound file", || Ok(sniff_compound(bytes)));
        return format.ok().flatten().ok_or_else(unrecognised);
    }
    if bytes.starts_with(b"{\\rtf") {
        return Ok(Format::Rtf);
    }
    if looks_like_mail(bytes) {
        return Ok(Format::Mail);
    }
    if looks_like_text(bytes) {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
        let head = head.trim_start_matches('\u{feff}').trim_start();
        let html = head.starts_with("<!doctype html") || head.starts_with("<html");
        return Ok(if html { Format::Html } else { Format::Text });
    }
    Err(unrecognised())
}

fn sniff_zip(bytes: &[u8]) -> Option<Format> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    if archive.index_for_name("word/document.xml").is_some() {
        return Some(Format::Docx);
    }
    if archive.index_for_name("xl/workbook.xml").is_some() {
        return Some(Format::Xlsx);
    }
    if archive.index_for_name("ppt/presentation.xml").is_some() {
        return Some(Format::Pptx);
    }
    let mimetype = office::read_entry(&mut archive, "mimetype").ok()??;
    let odt = mimetype
        .trim_ascii()
        .eq_ignore_ascii_case(ODT_TYPE.as_bytes());
    (odt && archive.index_for_name("content.xml").is_some()).then_some(Format::Odt)
}

/// An Outlook message or a Word document: the two compound files that are uploaded.
fn sniff_compound(bytes: &[u8]) -> Option<Format> {
    if msg::is_msg(bytes) {
        return Some(Format::Msg);
    }
    let file = compound::Compound::open(bytes, "compound file").ok()?;
    file.is_stream(std::path::Path::new("/WordDocument"))
        .then_some(Format::Doc)
}

/// A header block whose first line is a header field and which names at least one of the
/// fields every real message has.
fn looks_like_mail(bytes: &[u8]) -> bool {
    const KNOWN: [&[u8]; 5] = [b"from", b"to", b"subject", b"date", b"message-id"];
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let mut known = false;
    for (number, line) in head.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
            return false;
        }
        known |= KNOWN.iter().any(|k| name.eq_ignore_ascii_case(k));
        if number > 500 {
            break;
        }
    }
    known
}

/// UTF-8, or a legacy 8-bit encoding, without the control characters binary data is full of.
pub(super) fn looks_like_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    let control = sample
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)) || b == 0x7f)
        .count();
    !sample.contains(&0) && control * 100 <= sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_map_to_formats() {
        let cases = [
            ("message/rfc822", None, Some(Format::Mail)),
            ("Application/PDF; name=x.pdf", None, Some(Format::Pdf)),
            (DOCX_TYPE, None, Some(Format::Docx)),
            (ODT_TYPE, None, Some(Format::Odt)),
            ("text/plain; charset=iso-8859-1", None, Some(Format::Text)),
            ("TEXT/HTML", None, Some(Format::Html)),
            (
                "application/octet-stream",
                Some("Brev.DOCX"),
                Some(Format::Docx),
            ),
            ("", Some("mail.eml"), Some(Format::Mail)),
            ("", Some("side.htm"), Some(Format::Html)),
            (
                "application/octet-stream",
                Some("noter.txt"),
                Some(Format::Text),
            ),
            (
                "application/octet-stream",
                Some("data.bin"),
                Some(Format::Sniff),
            ),
            ("application/octet-stream", None, Some(Format::Sniff)),
            ("image/png", Some("a.pdf"), None),
            ("application/zip", None, None),
            ("application/msword", Some("brev.doc"), Some(Format::Doc)),
            ("application/vnd.ms-outlook", None, Some(Format::Msg)),
            (
                "application/octet-stream",
                Some("Mail.MSG"),
                Some(Format::Msg),
            ),
            ("text/rtf", None, Some(Format::Rtf)),
            (XLSX_TYPE, None, Some(Format::Xlsx)),
            ("", Some("slides.pptx"), Some(Format::Pptx)),
            ("application/vnd.ms-excel", Some("gammel.xls"), None),
        ];
        for (content_type, name, expected) in cases {
            assert_eq!(
                from_content_type(content_type, name),
                expected,
                "{content_type} {name:?}"
            );
        }
    }

    #[test]
    fn sniffing_recognises_headers_and_text() {
        assert_eq!(sniff(b"%PDF-1.4\n...").ok(), Some(Format::Pdf));
        assert_eq!(
            sniff(b"Received: x\r\nSubject: Hej\r\n\r\nbody").ok(),
            Some(Format::Mail)
        );
        assert_eq!(
            sniff(b"Hej med dig: her er teksten\n").ok(),
            Some(Format::Text)
        );
        assert_eq!(sniff("Blåbærgrød\n".as_bytes()).ok(), Some(Format::Text));
        assert_eq!(sniff(b"Bl\xe5b\xe6rgr\xf8d\n").ok(), Some(Format::Text));
        assert_eq!(sniff(b"  <!DOCTYPE html><p>x").ok(), Some(Format::Html));
        assert!(sniff(b"\x00\x01\x02\xff\xfe binary").is_err());
        assert!(sniff(b"PK\x03\x04 truncated zip").is_err());
        assert_eq!(sniff(b"{\\rtf1\\ansi Hej}").ok(), Some(Format::Rtf));
        let mut not_a_compound_file = compound::SIGNATURE.to_vec();
        not_a_compound_file.extend_from_slice(&[0xFF; 600]);
        assert!(sniff(&not_a_compound_file).is_err());
    }
}
