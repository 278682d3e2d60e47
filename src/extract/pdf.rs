//! PDF: text of every page and the Info dictionary, read with lopdf on a guarded thread.

use lopdf::{Document, Object};

use super::office::tidy;
use super::{
    DocumentMetadata, ExtractError, RawDocument, guard, pdf_guard, pdf_repair, pdf_text, reason,
};

/// lopdf recurses once per nesting level (about 1.3 KB of stack each). Hostile nesting is
/// refused up front (see `pdf_guard`); the generous stack covers what that cannot see.
const PARSER_STACK_BYTES: usize = 256 * 1024 * 1024;

pub(super) fn extract(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("pdf-extract".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, || guard("the PDF", || read(bytes)));
        match parser {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(ExtractError::Malformed("the PDF could not be read".into()))
            }),
            // Without a thread to spare, parse here: still guarded against panics.
            Err(_) => guard("the PDF", || read(bytes)),
        }
    })
}

fn read(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    if pdf_guard::too_deep(bytes) {
        return Err(ExtractError::Malformed(
            "broken PDF: objects are nested too deeply".into(),
        ));
    }
    if pdf_guard::inflates_too_much(bytes) {
        return Err(ExtractError::Malformed(
            "PDF refused: its compressed content expands beyond the allowed size".into(),
        ));
    }
    let document = match Document::load_mem(bytes) {
        Ok(document) => document,
        // A damaged table is rebuilt, but a file cut short (no end-of-file marker) is refused:
        // that is a failed upload, and its text would be only part of the document.
        Err(error) if !pdf_repair::ends_complete(bytes) => {
            return Err(ExtractError::Malformed(format!(
                "broken PDF: {}",
                reason(&error)
            )));
        }
        Err(error) => pdf_repair::with_rebuilt_xref(bytes)
            .and_then(|repaired| Document::load_mem(&repaired).ok())
            // A rebuilt table that finds no page has not found the document.
            .filter(|repaired| !repaired.get_pages().is_empty())
            .ok_or_else(|| ExtractError::Malformed(format!("broken PDF: {}", reason(&error))))?,
    };
    // lopdf decrypts with the empty user password while loading; if that failed, the objects
    // are still encrypted and nothing can be read.
    if document.is_encrypted() && document.encryption_state.is_none() {
        return Err(ExtractError::Protected(
            "encrypted PDF: it needs a password to open, which the service does not have; upload it without the password protection".into(),
        ));
    }

    let pages = document.get_pages();
    let mut text = String::new();
    let mut reader = pdf_text::PageReader::new(&document);
    for (&number, &page) in &pages {
        // A page lopdf cannot decode, or whose content is nested too deeply to parse safely,
        // loses its text; the other pages still count.
        let Ok(content) = document.get_page_content(page) else {
            continue;
        };
        if pdf_guard::depth(&content) > pdf_guard::MAX {
            continue;
        }
        match reader.page_text(page, &content) {
            Ok(page_text) => text.push_str(&page_text),
            // What lopdf's own reading gets of a page laid out text cannot be made of.
            Err(_) => {
                for chunk in document
                    .extract_text_chunks(&[number])
                    .into_iter()
                    .flatten()
                {
                    text.push_str(&chunk);
                }
            }
        }
        text.push('\n');
    }

    let mut metadata = DocumentMetadata {
        format: "pdf".into(),
        pages: u32::try_from(pages.len()).ok(),
        ..DocumentMetadata::default()
    };
    if let Some(info) = info_dictionary(&document) {
        let field = |key: &[u8]| {
            info.get(key)
                .ok()
                .and_then(|value| text_string(&document, value))
        };
        metadata.title = field(b"Title");
        metadata.author = field(b"Author");
        metadata.subject = field(b"Subject");
        metadata.created = field(b"CreationDate").map(|date| pdf_date(&date));
        metadata.modified = field(b"ModDate").map(|date| pdf_date(&date));
    }
    Ok(RawDocument {
        text: tidy(&expand_ligatures(&text)),
        metadata,
    })
}

/// Typographic ligatures (`ﬁ` in "ﬁnder") would hide words from search.
fn expand_ligatures(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'ﬀ' => out.push_str("ff"),
            'ﬁ' => out.push_str("fi"),
            'ﬂ' => out.push_str("fl"),
            'ﬃ' => out.push_str("ffi"),
            'ﬄ' => out.push_str("ffl"),
            'ﬅ' | 'ﬆ' => out.push_str("st"),
            _ => out.push(c),
        }
    }
    out
}

fn info_dictionary(document: &Document) -> Option<&lopdf::Dictionary> {
    let info = document.trailer.get(b"Info").ok()?;
    document.dereference(info).ok()?.1.as_dict().ok()
}

/// A PDF text string: UTF-16 (either byte order) or UTF-8 with a byte-order mark, otherwise
/// PDFDocEncoding. Control characters (some producers leave NULs) are dropped.
fn text_string(document: &Document, value: &Object) -> Option<String> {
    let value = document.dereference(value).ok()?.1;
    let raw = value.as_str().ok()?;
    let decoded = match raw {
        [0xFF, 0xFE, rest @ ..] => {
            let units = rest
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        _ => lopdf::decode_text_string(value).ok()?,
    };
    let cleaned: String = decoded
        .chars()
        .filter(|c| !c.is_control() && *c != '\u{feff}')
        .collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

/// `D:YYYYMMDDHHmmSS+HH'mm'` as RFC 3339 when it has at least a full date; otherwise as written.
fn pdf_date(raw: &str) -> String {
    let body = raw.strip_prefix("D:").unwrap_or(raw);
    let digits = |from: usize, len: usize| -> Option<&str> {
        let part = body.get(from..from + len)?;
        part.bytes().all(|b| b.is_ascii_digit()).then_some(part)
    };
    let (Some(year), Some(month), Some(day)) = (digits(0, 4), digits(4, 2), digits(6, 2)) else {
        return raw.to_owned();
    };
    let hour = digits(8, 2).unwrap_or("00");
    let minute = digits(10, 2).unwrap_or("00");
    let second = digits(12, 2).unwrap_or("00");
    let zone = body.get(14..).unwrap_or_default();
    let zone = match zone.as_bytes().first() {
        Some(&sign @ (b'+' | b'-')) => {
            let two_digits = |p: &&str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
            let mut parts = zone[1..].split('\'');
            let hours = parts.next().filter(two_digits).unwrap_or("00");
            let minutes = parts.next().filter(two_digits).unwrap_or("00");
            format!("{}{hours}:{minutes}", char::from(sign))
        }
        _ => "Z".to_owned(),
    };
    format!("{year}-{month}-{day}T{hour}:{minute}:{second}{zone}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::corpus;

    #[test]
    fn pdf_dates_become_rfc_3339() {
        assert_eq!(
            pdf_date("D:20220403180542+02'00'"),
            "2022-04-03T18:05:42+02:00"
        );
        assert_eq!(pdf_date("D:20220403180542Z"), "2022-04-03T18:05:42Z");
        assert_eq!(pdf_date("D:20220403"), "2022-04-03T00:00:00Z");
        assert_eq!(pdf_date("D:2022-04-03"), "D:2022-04-03");
        assert_eq!(pdf_date("æ"), "æ");
        assert_eq!(
            pdf_date("D:20220403180542-05'30"),
            "2022-04-03T18:05:42-05:30"
        );
    }

    #[test]
    fn danish_municipal_document() {
        let Some(bytes) = corpus::read("pdfs/danish/Midler-til-frivilligt-arbejde.pdf") else {
            return;
        };
        let document = extract(&bytes).unwrap();
        assert_eq!(document.metadata.pages, Some(204));
        assert_eq!(
            document.metadata.title.as_deref(),
            Some("Liste over ansøgninger.XLSX")
        );
        assert_eq!(
            document.metadata.created.as_deref(),
            Some("2012-11-07T19:12:39Z")
        );
        for word in [
            "Fællesskabet",
            "rådgivning",
            "prostitution",
            "forandringsprocesser",
        ] {
            assert!(document.text.contains(word), "{word} missing");
        }
    }

    #[test]
    fn ligatures_are_expanded_and_control_characters_dropped() {
        let Some(handout) = corpus::read("pdfs/danish/OS2DS-Handout.pdf") else {
            return;
        };
        assert!(
            extract(&handout)
                .unwrap()
                .text
                .contains("finder personoplysninger")
        );
        let Some(null_author) = corpus::read("pdfs/danish/null-byte-in-author.pdf") else {
            return;
        };
        let author = extract(&null_author).unwrap().metadata.author.unwrap();
        assert!(!author.chars().any(char::is_control), "{author:?}");
    }

    /// lopdf 0.38 cannot parse this file's trailer, and a rebuilt cross-reference table
    /// finds no pages in it, though other readers can.
    const UNREADABLE_BY_LOPDF: [&str; 1] = ["017-unreadable-meta-data/unreadablemetadata.pdf"];

    #[test]
    fn pypdf_samples_have_the_expected_page_counts() {
        let Some(data) = corpus::shared_data() else {
            return;
        };
        let root = data.join("pdfs/pypdf-sample-files");
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("files.json")).unwrap()).unwrap();
        let mut checked = 0;
        for entry in index["data"].as_array().unwrap() {
            let path = entry["path"].as_str().unwrap();
            let Ok(bytes) = std::fs::read(root.join(path)) else {
                continue; // Listed but absent from the snapshot (see the data README).
            };
            let result = extract(&bytes);
            if entry["encrypted"] == true {
                continue;
            }
            if UNREADABLE_BY_LOPDF.contains(&path) {
                assert!(
                    matches!(result, Err(ExtractError::Malformed(_))),
                    "{path} is now readable"
                );
                continue;
            }
            let pages = result
                .unwrap_or_else(|e| panic!("{path}: {e}"))
                .metadata
                .pages;
            assert_eq!(pages.map(u64::from), entry["pages"].as_u64(), "{path}");
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} files checked");
    }

    #[test]
    fn password_protected_pdf_is_refused() {
        let Some(bytes) = corpus::read(
            "pdfs/pypdf-sample-files/005-libreoffice-writer-password/libreoffice-writer-password.pdf",
        ) else {
            return;
        };
        assert!(
            matches!(extract(&bytes), Err(ExtractError::Protected(m)) if m.starts_with("encrypted PDF"))
        );
    }

    #[test]
    fn truncated_pdfs_are_malformed() {
        let Some(corrupted) = corpus::read("pdfs/danish/corrupted-embedded-cpr.8192.pdf") else {
            return;
        };
        assert!(
            matches!(extract(&corrupted), Err(ExtractError::Malformed(m)) if m.starts_with("broken PDF"))
        );
        let Some(whole) = corpus::read("pdfs/danish/OS2DS-Handout.pdf") else {
            return;
        };
        for cut in [10, 1000, whole.len() / 2, whole.len() - 40] {
            assert!(
                matches!(extract(&whole[..cut]), Err(ExtractError::Malformed(_))),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn hostile_nesting_is_malformed() {
        let mut pdf = b"%PDF-1.4\n1 0 obj\n".to_vec();
        pdf.extend(std::iter::repeat_n(b'[', 100_000));
        let result = extract(&pdf);
        assert!(matches!(result, Err(ExtractError::Malformed(m)) if m.contains("nested")));
    }
}
