//! Word 97–2003 documents (`.doc`, [MS-DOC]): the text of the piece table, fields shown as
//! their results; title and author from the summary information.

use std::path::Path;

use super::compound::Compound;
use super::mapi::{decode_8bit, utf16le};
use super::office::tidy;
use super::{DocumentMetadata, ExtractError, RawDocument};

const FIB_ENCRYPTED: u16 = 0x0100;
const FIB_WHICH_TABLE: u16 = 0x0200;
/// Word 97 and later; Word 6 and 95 files have no piece table of this kind.
const MIN_NFIB: u16 = 0x00C1;
/// Index of `fcClx` among the FIB's (offset, length) pairs.
const CLX_PAIR: usize = 33;

pub(super) fn extract(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    let mut file = Compound::open(bytes, "Word document")?;
    let broken = |what: &str| ExtractError::Malformed(format!("broken Word document: {what}"));
    let word = file
        .stream(Path::new("/WordDocument"))?
        .ok_or_else(|| broken("it has no WordDocument stream"))?;
    let fib = Fib::read(&word).ok_or_else(|| broken("its file information block is cut short"))?;
    if fib.nfib < MIN_NFIB {
        return Err(ExtractError::Malformed(
            "a Word document older than Word 97 cannot be read; save it in a newer format".into(),
        ));
    }
    if fib.flags & FIB_ENCRYPTED != 0 {
        return Err(ExtractError::Protected(
            "encrypted Word document: it needs a password to open, which the service does not have; upload it without the password protection".into(),
        ));
    }
    let table_name = if fib.flags & FIB_WHICH_TABLE != 0 {
        "/1Table"
    } else {
        "/0Table"
    };
    let table = file
        .stream(Path::new(table_name))?
        .ok_or_else(|| broken("its table stream is missing"))?;
    let clx = table
        .get(fib.clx_offset..fib.clx_offset.saturating_add(fib.clx_length))
        .ok_or_else(|| broken("its piece table lies outside the table stream"))?;
    let pieces = piece_table(clx).ok_or_else(|| broken("its piece table is malformed"))?;
    let mut raw = String::new();
    for piece in pieces {
        raw.push_str(&piece.text(&word));
    }
    let mut metadata = DocumentMetadata {
        format: "doc".into(),
        ..DocumentMetadata::default()
    };
    if let Ok(Some(summary)) = file.stream(Path::new("/\u{5}SummaryInformation")) {
        let properties = summary_properties(&summary);
        metadata.title = properties.title;
        metadata.author = properties.author;
        metadata.subject = properties.subject;
    }
    Ok(RawDocument {
        text: tidy(&readable(&raw)),
        metadata,
    })
}

struct Fib {
    nfib: u16,
    flags: u16,
    clx_offset: usize,
    clx_length: usize,
}

impl Fib {
    /// The fixed base, then the three variable-length arrays that precede `fcClx`.
    fn read(word: &[u8]) -> Option<Fib> {
        let u16_at = |at: usize| Some(u16::from_le_bytes(word.get(at..at + 2)?.try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_le_bytes(word.get(at..at + 4)?.try_into().ok()?));
        let nfib = u16_at(2)?;
        let flags = u16_at(10)?;
        let mut at = 32;
        let shorts = usize::from(u16_at(at)?);
        at += 2 + shorts * 2;
        let longs = usize::from(u16_at(at)?);
        at += 2 + longs * 4;
        let pairs = usize::from(u16_at(at)?);
        at += 2;
        if pairs <= CLX_PAIR {
            return None;
        }
        let clx = at + CLX_PAIR * 8;
        Some(Fib {
            nfib,
            flags,
            clx_offset: u32_at(clx)? as usize,
            clx_length: u32_at(clx + 4)? as usize,
        })
    }
}

struct Piece {
    /// Byte offset of the piece's text in the WordDocument stream.
    offset: usize,
    characters: usize,
    /// One byte per character (Windows-1252) rather than UTF-16.
    compressed: bool,
}

impl Piece {
    fn text(&self, word: &[u8]) -> String {
        if self.compressed {
            let end = self.offset.saturating_add(self.characters).min(word.len());
            word.get(self.offset..end)
                .map(|bytes| decode_8bit(bytes, Some(1252)))
                .unwrap_or_default()
        } else {
            let end = self
                .offset
                .saturating_add(self.characters.saturating_mul(2))
                .min(word.len());
            word.get(self.offset..end).map(utf16le).unwrap_or_default()
        }
    }
}

/// The `Pcdt` of a `Clx`, after any number of `Prc` (formatting) records.
fn piece_table(clx: &[u8]) -> Option<Vec<Piece>> {
    let mut at = 0;
    while clx.get(at) == Some(&0x01) {
        let size = u16::from_le_bytes(clx.get(at + 1..at + 3)?.try_into().ok()?);
        at += 3 + usize::from(size);
    }
    if clx.get(at) != Some(&0x02) {
        return None;
    }
    let length = u32::from_le_bytes(clx.get(at + 1..at + 5)?.try_into().ok()?) as usize;
    let plc = clx.get(at + 5..(at + 5).saturating_add(length))?;
    // n + 1 character positions of 4 bytes, then n descriptors of 8 bytes.
    let count = plc.len().checked_sub(4)? / 12;
    let position = |i: usize| -> Option<usize> {
        Some(u32::from_le_bytes(plc.get(i * 4..i * 4 + 4)?.try_into().ok()?) as usize)
    };
    let mut pieces = Vec::with_capacity(count);
    for i in 0..count {
        let (start, end) = (position(i)?, position(i + 1)?);
        let descriptor = plc.get((count + 1) * 4 + i * 8..(count + 1) * 4 + i * 8 + 8)?;
        let fc = u32::from_le_bytes(descriptor[2..6].try_into().ok()?);
        let compressed = fc & 0x4000_0000 != 0;
        let fc = (fc & 0x3FFF_FFFF) as usize;
        pieces.push(Piece {
            offset: if compressed { fc / 2 } else { fc },
            characters: end.saturating_sub(start),
            compressed,
        });
    }
    Some(pieces)
}

/// Word's special characters made plain: paragraph and cell marks become line breaks and tabs,
/// a field shows its result rather than its code, and drawing anchors disappear.
fn readable(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    // For each open field, whether its code (before the separator) is still being read.
    let mut fields: Vec<bool> = Vec::new();
    for c in raw.chars() {
        match c {
            '\u{13}' => fields.push(true),
            '\u{14}' => {
                if let Some(in_code) = fields.last_mut() {
                    *in_code = false;
                }
            }
            '\u{15}' => {
                fields.pop();
            }
            _ if fields.iter().any(|&in_code| in_code) => {}
            '\r' | '\u{0b}' | '\u{0c}' => out.push('\n'),
            '\u{07}' => out.push('\t'),
            '\u{1e}' => out.push('-'),
            '\u{a0}' => out.push(' '),
            '\t' | '\n' => out.push(c),
            c if c.is_control() || c == '\u{1f}' => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Default)]
struct Summary {
    title: Option<String>,
    author: Option<String>,
    subject: Option<String>,
}

/// Title, subject and author from a `SummaryInformation` property set ([MS-OLEPS]).
fn summary_properties(stream: &[u8]) -> Summary {
    let mut summary = Summary::default();
    let read = || -> Option<Vec<(u32, String)>> {
        let u32_at = |at: usize| Some(u32::from_le_bytes(stream.get(at..at + 4)?.try_into().ok()?));
        let codepage_default = 1252;
        // Header (28 bytes), then the first set's FMTID (16) and offset (4).
        let set = u32_at(44)? as usize;
        let count = u32_at(set + 4)? as usize;
        let mut entries = Vec::new();
        let mut codepage = codepage_default;
        let mut strings = Vec::new();
        for i in 0..count.min(64) {
            let id = u32_at(set + 8 + i * 8)?;
            let offset = set + u32_at(set + 12 + i * 8)? as usize;
            let kind = u32_at(offset)? & 0xFFFF;
            match kind {
                0x0002 if id == 1 => codepage = u32_at(offset + 4)? & 0xFFFF,
                0x001E => {
                    let length = u32_at(offset + 4)? as usize;
                    let bytes = stream.get(offset + 8..(offset + 8).saturating_add(length))?;
                    strings.push((id, bytes.to_vec()));
                }
                _ => {}
            }
        }
        for (id, bytes) in strings {
            let text = if codepage == 1200 {
                utf16le(&bytes)
            } else {
                decode_8bit(&bytes, Some(codepage))
            };
            entries.push((id, text.trim().to_owned()));
        }
        Some(entries)
    };
    for (id, text) in read().unwrap_or_default() {
        if text.is_empty() {
            continue;
        }
        match id {
            2 => summary.title = Some(text),
            3 => summary.subject = Some(text),
            4 => summary.author = Some(text),
            _ => {}
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{Format, corpus};

    #[test]
    fn special_characters_become_plain_text() {
        assert_eq!(
            readable("Se \u{13} HYPERLINK \"x\" \u{14}her\u{15}.\rCelle\u{07}Næste\u{1f}\u{01}"),
            "Se her.\nCelle\tNæste"
        );
        assert_eq!(readable("\u{13}a\u{13}b\u{14}c\u{15}\u{14}d\u{15}e"), "de");
    }

    /// Neither sample holds a CPR number in its text (`embedded-cpr.doc` has one in an
    /// image), so what is checked is that the text comes through whole and unmasked digits do
    /// not.
    #[test]
    fn danish_samples_give_their_text() {
        let digits = regex::Regex::new(r"\d{6}-?\d{4}").unwrap();
        for (path, sentence) in [
            (
                "docs/danish/embedded-cpr.doc",
                "Kære Hr. Testsen,\n\nVedhæftet finder De et billede af et CPR-nummer.",
            ),
            (
                "docs/danish/Sundhedsjournal.doc",
                "Patienten Jens Testsen rapporterer, at han har haft uafbrudt hovedpine i de sidste 3 dage.",
            ),
        ] {
            let Some(bytes) = corpus::read(path) else {
                return;
            };
            let extracted = corpus::extractor().extract(&bytes, Format::Sniff).unwrap();
            assert_eq!(extracted.content_type, "application/msword");
            assert!(
                extracted.text.contains(sentence),
                "{path}: {}",
                extracted.text
            );
            assert!(!digits.is_match(&extracted.text), "{path}");
        }
        let Some(bytes) = corpus::read("docs/danish/Sundhedsjournal.doc") else {
            return;
        };
        let document = extract(&bytes).unwrap();
        assert!(
            document
                .text
                .ends_with("Region Nordstrand\tNORDSTRAND SYGEHUS\t2021-10-19"),
            "the header is read too: {}",
            document.text
        );
        assert_eq!(
            document.metadata.author.as_deref(),
            Some("Alexander John Faithfull")
        );
    }

    #[test]
    fn broken_documents_are_refused() {
        assert!(extract(b"not a compound file").is_err());
        assert!(piece_table(&[0x01, 0xff, 0xff]).is_none());
        assert!(piece_table(&[0x02, 0x10, 0, 0, 0]).is_none());
    }
}
