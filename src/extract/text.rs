//! Plain text and HTML: decoding legacy Danish files and turning markup into readable text.

use super::detect::looks_like_text;
use super::office::tidy;
use super::{DocumentMetadata, ExtractError, RawDocument};

pub(super) fn extract_plain(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    let text = decode_text(bytes)?;
    let metadata = DocumentMetadata {
        format: "text".into(),
        ..DocumentMetadata::default()
    };
    Ok(RawDocument { text, metadata })
}

pub(super) fn extract_html(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    let html = decode_text(bytes)?;
    let metadata = DocumentMetadata {
        format: "html".into(),
        title: title(&html),
        ..DocumentMetadata::default()
    };
    Ok(RawDocument {
        text: html_to_text(&html),
        metadata,
    })
}

/// Declared text that is really binary would only produce noise.
fn decode_text(bytes: &[u8]) -> Result<String, ExtractError> {
    let utf16 = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
    if !utf16 && !looks_like_text(bytes) {
        return Err(ExtractError::Malformed(
            "not text: the content is binary".into(),
        ));
    }
    Ok(decode(bytes))
}

/// UTF-8 (BOM stripped), UTF-16 with a BOM, and otherwise Windows-1252: what older Danish
/// systems wrote. Windows-1252 is a superset of Latin-1 for printable text, so it covers both.
pub(super) fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    bytes.iter().map(|&b| windows_1252(b)).collect()
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title = decode_entities(&html[open_end..close]);
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then_some(title)
}

/// Readable text from HTML: paragraphs and line breaks kept, scripts and styles dropped,
/// whitespace collapsed, entities decoded.
pub(super) fn html_to_text(html: &str) -> String {
    let mut out = Writer::default();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.text(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        // A `<` not opening a tag ("a < b") is text, as browsers treat it.
        if !rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
        {
            out.text("<");
            rest = &rest[1..];
            continue;
        }
        let Some(gt) = rest.find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name = tag.trim_start_matches('/');
        let name = &name[..name
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(name.len())];
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "script" | "style" | "title" | "template" if !closing => {
                rest = skip_element(rest, &name)
            }
            "pre" => {
                out.pre = if closing {
                    out.pre.saturating_sub(1)
                } else {
                    out.pre + 1
                }
            }
            _ => {}
        }
        match name.as_str() {
            "br" => out.push('\n'),
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "ul" | "ol"
            | "blockquote" | "pre" => out.end_block(2),
            "div" | "li" | "tr" | "dt" | "dd" | "hr" | "section" | "article" | "header"
            | "footer" => out.end_block(1),
            "td" | "th" if closing => out.push('\t'),
            _ => {}
        }
    }
    out.text(rest);
    tidy(
        &out.out
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Collapses whitespace the way a browser does, except inside `<pre>`.
#[derive(Default)]
struct Writer {
    out: String,
    space: bool,
    pre: usize,
}

impl Writer {
    fn text(&mut self, raw: &str) {
        let text = decode_entities(raw);
        if self.pre > 0 {
            self.out.push_str(&text);
            return;
        }
        for c in text.chars() {
            if c.is_whitespace() {
                self.space = true;
                continue;
            }
            if self.space && !self.out.is_empty() && !self.out.ends_with(char::is_whitespace) {
                self.out.push(' ');
            }
            self.space = false;
            self.out.push(c);
        }
    }

    fn push(&mut self, separator: char) {
        self.out.push(separator);
        self.space = false;
    }

    /// Ends the current block with at least `lines` line breaks; nested blocks share them.
    fn end_block(&mut self, lines: usize) {
        let present = self.out.chars().rev().take_while(|&c| c == '\n').count();
        for _ in present..lines {
            self.out.push('\n');
        }
        self.space = false;
    }
}

/// The rest of the input after the closing tag of `name`, or nothing if it is never closed.
fn skip_element<'a>(rest: &'a str, name: &str) -> &'a str {
    let mut from = 0;
    while let Some(found) = rest[from..].find("</") {
        let after = &rest[from + found + 2..];
        if after
            .get(..name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
        {
            return after.find('>').map_or("", |end| &after[end + 1..]);
        }
        from += found + 2;
    }
    ""
}

/// Named (the common and the Danish ones) and numeric character references.
pub(super) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let after = &rest[1..];
        let decoded = after
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .and_then(|(end, _)| entity(&after[..end]).map(|c| (c, end + 2)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).filter(|&c| c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
        "aelig" => 'æ',
        "AElig" => 'Æ',
        "oslash" => 'ø',
        "Oslash" => 'Ø',
        "aring" => 'å',
        "Aring" => 'Å',
        "auml" => 'ä',
        "Auml" => 'Ä',
        "ouml" => 'ö',
        "Ouml" => 'Ö',
        "uuml" => 'ü',
        "Uuml" => 'Ü',
        "eacute" => 'é',
        "Eacute" => 'É',
        "egrave" => 'è',
        "szlig" => 'ß',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "sect" => '§',
        "deg" => '°',
        "para" => '¶',
        "middot" => '·',
        "bull" => '•',
        "hellip" => '…',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "times" => '×',
        "shy" => '\u{ad}',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_bom_utf16_and_windows_1252() {
        assert_eq!(decode(b"\xEF\xBB\xBFBl\xC3\xA5"), "Blå");
        assert_eq!(decode(b"Bl\xE5b\xE6rgr\xF8d \x80 \x96"), "Blåbærgrød € –");
        assert_eq!(decode(b"\xFF\xFEB\x00l\x00\xE5\x00"), "Blå");
        assert_eq!(decode(b"\xFE\xFF\x00B\x00l\x00\xE5"), "Blå");
    }

    #[test]
    fn html_keeps_structure_and_drops_code() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body>\
            <script>alert('x')</script><p>Kære  Hr.\n Testsen,</p><div>Sag&nbsp;nr. 27.24.00<br>\
            Bl&aring;b&#230;r &amp; gr&#xF8;d</div><!-- skjult --><ul><li>en</li><li>to</li></ul>\
            <table><tr><td>a</td><td>b</td></tr></table>&unknown; a&b, 1 < 2</body></html>";
        assert_eq!(
            html_to_text(html),
            "Kære Hr. Testsen,\n\nSag nr. 27.24.00\nBlåbær & grød\n\nen\nto\n\na\tb\n\n&unknown; a&b, 1 < 2"
        );
    }

    #[test]
    fn html_title_becomes_metadata() {
        let document =
            extract_html(b"<title> Ans\xF8gning\n om st&oslash;tte </title><p>x</p>").unwrap();
        assert_eq!(
            document.metadata.title.as_deref(),
            Some("Ansøgning om støtte")
        );
        assert_eq!(document.text, "x");
    }

    #[test]
    fn binary_declared_as_text_is_refused() {
        assert!(extract_plain(b"\x00\x01\x02 binary \x00").is_err());
        assert!(extract_html(b"<p>\x00\x00\x00\x00</p>").is_err());
        assert_eq!(extract_plain(b"\xFF\xFEB\x00").unwrap().text, "B");
    }

    #[test]
    fn broken_markup_does_not_panic() {
        for html in [
            "<",
            "<p",
            "a<!--",
            "<script>never closed",
            "&#xFFFFFFFF;",
            "&#0;",
            "&",
            "<æ>ø</",
        ] {
            let _ = html_to_text(html);
        }
    }
}
