//! Rich Text Format: the readable text of `.rtf` files and of Outlook's RTF bodies, and the
//! HTML that Outlook encapsulates in RTF ([MS-OXRTFEX]) given back as HTML.
//!
//! Written here rather than taken from a crate: the RTF crates on crates.io neither
//! de-encapsulate HTML nor decode the code pages of fonts, and text is all we need of RTF.

use std::collections::HashMap;

use super::mapi::decode_8bit;
use super::office::tidy;
use super::text::html_to_text;
use super::{DocumentMetadata, ExtractError, RawDocument};

/// Deeper groups are read as if they were at this depth; no real document comes near it.
const MAX_DEPTH: usize = 256;

/// Destinations whose content is not text of the document.
const SKIPPED: [&str; 30] = [
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "objdata",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "mmathPr",
    "filetbl",
    "revtbl",
    "pgdsctbl",
    "fldinst",
    "bkmkstart",
    "bkmkend",
    "sp",
    "pntxtb",
    "pntxta",
    "xe",
    "tc",
    "private",
    "passwordhash",
    "wgrffmtfilter",
];

/// What an RTF stream holds once read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Content {
    Text(String),
    /// The original HTML of a mail Outlook converted to RTF (`\fromhtml1`).
    Html(String),
}

impl Content {
    pub(super) fn into_text(self) -> String {
        match self {
            Content::Text(text) => tidy(&text),
            Content::Html(html) => html_to_text(&html),
        }
    }
}

/// A `.rtf` upload.
pub(super) fn extract(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    if !bytes.trim_ascii_start().starts_with(b"{\\rtf") {
        return Err(ExtractError::Malformed(
            "not RTF: the content does not start with {\\rtf".into(),
        ));
    }
    Ok(RawDocument {
        text: read(bytes).into_text(),
        metadata: DocumentMetadata {
            format: "rtf".into(),
            ..DocumentMetadata::default()
        },
    })
}

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    /// Characters to skip after each `\uN`.
    unicode_skip: usize,
    font: Option<i32>,
    /// In `\fromhtml` bodies: RTF-only content that the HTML did not have.
    html_rtf: bool,
    font_table: bool,
}

struct Reader<'a> {
    input: &'a [u8],
    at: usize,
    out: String,
    pending: Vec<u8>,
    /// The code page `pending` is in.
    pending_codepage: u32,
    /// The document's default code page (`\ansicpg`).
    codepage: u32,
    font_charsets: HashMap<i32, i32>,
    font_being_defined: Option<i32>,
    from_html: bool,
    /// Characters still to skip after a `\uN`.
    skipping: usize,
}

/// The text, or the encapsulated HTML, of an RTF stream. Never fails: broken RTF gives
/// whatever text could be read.
pub(super) fn read(rtf: &[u8]) -> Content {
    let mut reader = Reader {
        input: rtf,
        at: 0,
        out: String::new(),
        pending: Vec::new(),
        pending_codepage: 1252,
        codepage: 1252,
        font_charsets: HashMap::new(),
        font_being_defined: None,
        from_html: false,
        skipping: 0,
    };
    reader.run();
    if reader.from_html {
        Content::Html(reader.out)
    } else {
        Content::Text(reader.out)
    }
}

impl Reader<'_> {
    fn run(&mut self) {
        let mut stack: Vec<Group> = Vec::new();
        let mut overflow = 0usize;
        let mut group = Group {
            skip: false,
            unicode_skip: 1,
            font: None,
            html_rtf: false,
            font_table: false,
        };
        // Whether the next control word is the first in its group (where destinations are named).
        let mut group_start = false;
        let mut starred = false;
        while let Some(&byte) = self.input.get(self.at) {
            self.at += 1;
            match byte {
                b'{' => {
                    self.flush();
                    if stack.len() < MAX_DEPTH {
                        stack.push(group);
                    } else {
                        overflow += 1;
                    }
                    group_start = true;
                    starred = false;
                    self.skipping = 0;
                }
                b'}' => {
                    self.flush();
                    if overflow > 0 {
                        overflow -= 1;
                    } else if let Some(outer) = stack.pop() {
                        group = outer;
                    }
                    group_start = false;
                    self.skipping = 0;
                }
                b'\\' => {
                    let first = group_start;
                    group_start = false;
                    self.control(&mut group, first, &mut starred);
                }
                b'\r' | b'\n' => {}
                _ => {
                    group_start = false;
                    self.text_byte(&group, byte);
                }
            }
        }
        self.flush();
    }

    /// A byte of text, or one of the characters that stand in for the last `\uN`.
    fn text_byte(&mut self, group: &Group, byte: u8) {
        if self.skipping > 0 {
            self.skipping -= 1;
            return;
        }
        if !self.visible(group) {
            return;
        }
        let codepage = self.codepage_of(group.font);
        if codepage != self.pending_codepage {
            self.flush();
            self.pending_codepage = codepage;
        }
        self.pending.push(byte);
    }

    /// The code page of a font's character set (`\fcharsetN`), else the document's.
    fn codepage_of(&self, font: Option<i32>) -> u32 {
        let charset = font.and_then(|font| self.font_charsets.get(&font));
        match charset {
            Some(128) => 932,
            Some(129) => 949,
            Some(134) => 936,
            Some(136) => 950,
            Some(161) => 1253,
            Some(162) => 1254,
            Some(163) => 1258,
            Some(177) => 1255,
            Some(178) => 1256,
            Some(186) => 1257,
            Some(204) => 1251,
            Some(222) => 874,
            Some(238) => 1250,
            _ => self.codepage,
        }
    }

    fn visible(&self, group: &Group) -> bool {
        !group.skip && !group.html_rtf
    }

    /// Decodes the 8-bit text gathered so far in the current font's code page.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.out
            .push_str(&decode_8bit(&self.pending, Some(self.pending_codepage)));
        self.pending.clear();
    }

    fn emit(&mut self, group: &Group, text: &str) {
        if self.visible(group) {
            self.flush();
            self.out.push_str(text);
        }
    }

    fn control(&mut self, group: &mut Group, first_in_group: bool, starred: &mut bool) {
        let Some(&next) = self.input.get(self.at) else {
            return;
        };
        if !next.is_ascii_alphabetic() {
            self.at += 1;
            self.symbol(group, next, starred);
            return;
        }
        let start = self.at;
        while self.input.get(self.at).is_some_and(u8::is_ascii_alphabetic) && self.at - start < 32 {
            self.at += 1;
        }
        let word = String::from_utf8_lossy(&self.input[start..self.at]).into_owned();
        let parameter = self.parameter();
        if self.input.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
        self.word(group, &word, parameter, first_in_group, starred);
    }

    fn parameter(&mut self) -> Option<i32> {
        let start = self.at;
        if self.input.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        while self.input.get(self.at).is_some_and(u8::is_ascii_digit) && self.at - start < 11 {
            self.at += 1;
        }
        std::str::from_utf8(&self.input[start..self.at])
            .ok()?
            .parse::<i64>()
            .ok()
            .map(|value| value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
    }

    fn symbol(&mut self, group: &mut Group, symbol: u8, starred: &mut bool) {
        match symbol {
            b'\'' => {
                let hex = self.input.get(self.at..self.at + 2);
                let byte = hex
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                if let Some(byte) = byte {
                    self.at += 2;
                    self.text_byte(group, byte);
                }
            }
            b'*' => *starred = true,
            b'\\' | b'{' | b'}' => self.text_byte(group, symbol),
            b'~' => self.emit(group, "\u{a0}"),
            b'_' => self.emit(group, "-"),
            b'\r' | b'\n' => self.emit(group, "\n"),
            _ => {}
        }
    }

    fn word(
        &mut self,
        group: &mut Group,
        word: &str,
        parameter: Option<i32>,
        first_in_group: bool,
        starred: &mut bool,
    ) {
        if *starred {
            *starred = false;
            if self.from_html && word == "htmltag" {
                // The HTML of tags and of text Word could not express: part of the output.
                group.html_rtf = false;
                return;
            }
            group.skip = true;
            return;
        }
        if first_in_group && SKIPPED.contains(&word) {
            group.skip = true;
            group.font_table |= word == "fonttbl";
            return;
        }
        match word {
            "fromhtml" => self.from_html = true,
            "htmlrtf" => group.html_rtf = parameter != Some(0),
            "ansicpg" => {
                if let Some(page) = parameter.and_then(|p| u32::try_from(p).ok()) {
                    self.codepage = page;
                }
            }
            "f" if group.font_table => self.font_being_defined = parameter,
            "fcharset" if group.font_table => {
                if let (Some(font), Some(charset)) = (self.font_being_defined, parameter) {
                    self.font_charsets.insert(font, charset);
                }
            }
            "f" => {
                self.flush();
                group.font = parameter;
            }
            "uc" => {
                group.unicode_skip = parameter.and_then(|p| usize::try_from(p).ok()).unwrap_or(1)
            }
            "u" => {
                if let Some(code) = parameter {
                    let unit = if code < 0 { code + 65536 } else { code };
                    let c = u32::try_from(unit).ok().and_then(char::from_u32);
                    self.emit(group, &c.unwrap_or(char::REPLACEMENT_CHARACTER).to_string());
                    self.skipping = group.unicode_skip;
                }
            }
            "bin" => {
                let skip = parameter.and_then(|p| usize::try_from(p).ok()).unwrap_or(0);
                self.at = self.at.saturating_add(skip).min(self.input.len());
            }
            "par" | "line" | "sect" | "page" | "row" => {
                self.emit(group, if self.from_html { "\r\n" } else { "\n" })
            }
            "tab" | "cell" => self.emit(group, "\t"),
            "emdash" => self.emit(group, "—"),
            "endash" => self.emit(group, "–"),
            "bullet" => self.emit(group, "•"),
            "lquote" => self.emit(group, "‘"),
            "rquote" => self.emit(group, "’"),
            "ldblquote" => self.emit(group, "“"),
            "rdblquote" => self.emit(group, "”"),
            "emspace" | "enspace" | "qmspace" => self.emit(group, " "),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_code_pages_unicode_and_skipped_destinations() {
        let rtf =
            br"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Arial;}{\f1\fcharset204 Times;}}
{\colortbl;\red0\green0\blue0;}{\*\generator Riched20;}{\info{\title Skjult}}
\pard Bl\'e5b\'e6rgr\'f8d\par
{\f1 \'c4\'e0}\par
\uc1\u8364?\tab \u-4064?slut{\*\unknown ikke med}\par
}";
        let Content::Text(text) = read(rtf) else {
            panic!("not text")
        };
        assert_eq!(text, "Blåbærgrød\nДа\n€\t\u{f020}slut\n");
    }

    #[test]
    fn encapsulated_html_comes_back_as_html() {
        let rtf = br"{\rtf1\ansi\fromhtml1 {\*\htmltag19 <html>}{\*\htmltag34 <p>}\htmlrtf {\b\htmlrtf0 Hej\htmlrtf }\htmlrtf0  med dig{\*\htmltag244 </p>}\htmlrtf \par \htmlrtf0 {\*\htmltag27 </html>}}";
        assert_eq!(
            read(rtf),
            Content::Html("<html><p>Hej med dig</p></html>".into())
        );
        assert_eq!(read(rtf).into_text(), "Hej med dig");
    }

    #[test]
    fn uploads_are_read_with_cpr_masked() {
        let extracted = crate::extract::corpus::extractor()
            .extract(
                b"{\\rtf1\\ansi Ans\\'f8gning fra 111111-1118\\par}",
                crate::extract::Format::Sniff,
            )
            .unwrap();
        assert_eq!(extracted.content_type, "application/rtf");
        assert!(
            extracted.text.starts_with("Ansøgning fra "),
            "{}",
            extracted.text
        );
        assert!(!extracted.text.contains("1118"), "{}", extracted.text);
        assert_eq!(extracted.identifiers.cpr.len(), 1);
    }

    #[test]
    fn broken_rtf_gives_what_it_can() {
        assert_eq!(read(b"{\\rtf1 abc\\").into_text(), "abc");
        let deep = "{".repeat(10_000) + "tekst";
        assert_eq!(read(deep.as_bytes()).into_text(), "tekst");
        assert!(extract(b"plain").is_err());
    }
}
