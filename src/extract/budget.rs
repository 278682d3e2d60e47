//! The budget of one mail: caps on what a hostile message can make the service hold. Header
//! fields are cut in the raw bytes before the parser sees them, so a To: of a million addresses
//! costs what its first 64 KiB cost; what is cut is reported with the item.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Longest header field kept, folded lines included.
const MAX_FIELD_BYTES: usize = 64 * 1024;
/// Longest subject kept: a title, not a document.
const MAX_SUBJECT_BYTES: usize = 4 * 1024;
/// Addresses kept per address header.
pub const MAX_ADDRESSES: usize = 1_000;
/// Header fields whose value is a list of addresses, cut between two addresses.
const ADDRESS_FIELDS: [&str; 7] = ["to", "cc", "bcc", "from", "reply-to", "sender", "resent-to"];

/// Something of the item that was cut to fit the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    /// What was cut: a header's name (`To`), or `to addresses`.
    pub what: String,
    /// How much was kept and how much there was, in bytes or addresses.
    pub kept: usize,
    pub total: usize,
}

/// The message with its over-long header fields cut, and what was cut.
pub fn cap_headers(raw: &[u8]) -> (Cow<'_, [u8]>, Vec<Cut>) {
    let end = header_end(raw);
    let mut cuts = Vec::new();
    let mut out: Option<Vec<u8>> = None;
    let mut start = 0;
    while start < end {
        let field_end = field_end(raw, start, end);
        let field = &raw[start..field_end];
        let name = field
            .iter()
            .position(|&b| b == b':')
            .map(|colon| String::from_utf8_lossy(&field[..colon]).trim().to_string())
            .unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        let limit = if lower == "subject" {
            MAX_SUBJECT_BYTES
        } else {
            MAX_FIELD_BYTES
        };
        if field.len() > limit {
            let kept = cut_point(field, limit, ADDRESS_FIELDS.contains(&lower.as_str()));
            let buffer = out.get_or_insert_with(|| raw[..start].to_vec());
            buffer.extend_from_slice(&field[..kept]);
            buffer.extend_from_slice(b"\r\n");
            cuts.push(Cut {
                what: name,
                kept,
                total: field.len(),
            });
        } else if let Some(buffer) = out.as_mut() {
            buffer.extend_from_slice(field);
        }
        start = field_end;
    }
    match out {
        Some(mut buffer) => {
            buffer.extend_from_slice(&raw[end..]);
            (Cow::Owned(buffer), cuts)
        }
        None => (Cow::Borrowed(raw), cuts),
    }
}

/// Where the header block ends: at its empty line, or the end of the message.
fn header_end(raw: &[u8]) -> usize {
    let mut at = 0;
    while at < raw.len() {
        let line_end = raw[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| at + p + 1);
        let line = &raw[at..line_end];
        if line == b"\r\n" || line == b"\n" {
            return at;
        }
        at = line_end;
    }
    raw.len()
}

/// The end of the field starting at `start`: its line and every folded line after it.
fn field_end(raw: &[u8], start: usize, end: usize) -> usize {
    let mut at = start;
    loop {
        let line_end = raw[at..end]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(end, |p| at + p + 1);
        at = line_end;
        if at >= end || !matches!(raw[at], b' ' | b'\t') {
            return at;
        }
    }
}

/// How much of an over-long field to keep: up to `limit` bytes, ended between two addresses
/// (the last comma) or two words, never inside a line break.
fn cut_point(field: &[u8], limit: usize, addresses: bool) -> usize {
    let window = &field[..limit];
    let separator: &[u8] = if addresses { b"," } else { b" \t" };
    let at = window
        .iter()
        .rposition(|b| separator.contains(b))
        .unwrap_or(limit);
    // Trailing line-end bytes are dropped; the caller ends the field itself.
    let mut kept = at;
    while kept > 0 && matches!(field[kept - 1], b'\r' | b'\n' | b' ' | b'\t' | b',') {
        kept -= 1;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_recipient_list_is_cut_between_addresses_and_the_rest_kept() {
        let to: Vec<String> = (0..20_000).map(|i| format!("r{i}@x.example")).collect();
        let mail = format!(
            "From: a@b.dk\r\nTo: {}\r\nSubject: Hej\r\n\r\nBody\r\n",
            to.join(",\r\n ")
        );
        let (capped, cuts) = cap_headers(mail.as_bytes());
        assert_eq!(cuts.len(), 1);
        assert_eq!(cuts[0].what, "To");
        assert!(cuts[0].kept <= MAX_FIELD_BYTES && cuts[0].total > MAX_FIELD_BYTES);
        let text = String::from_utf8(capped.into_owned()).unwrap();
        assert!(text.starts_with("From: a@b.dk\r\nTo: r0@x.example,"));
        assert!(
            text.contains("\r\nSubject: Hej\r\n\r\nBody\r\n"),
            "the rest stays"
        );
        let kept_to = text.split("\r\nSubject").next().unwrap();
        assert!(
            kept_to.trim_end().ends_with(".example"),
            "cut after a whole address"
        );
    }

    #[test]
    fn a_long_subject_is_cut_to_a_few_kilobytes_and_a_short_mail_is_untouched() {
        let mail = format!("Subject: {}\r\n\r\nx", "ord ".repeat(100_000));
        let (capped, cuts) = cap_headers(mail.as_bytes());
        assert_eq!(cuts[0].what, "Subject");
        assert!(capped.len() < MAX_SUBJECT_BYTES + 10);
        let plain = b"From: a@b.dk\r\nSubject: Hej\r\n\r\nBody";
        let (same, none) = cap_headers(plain);
        assert!(matches!(same, Cow::Borrowed(_)) && none.is_empty());
    }
}
