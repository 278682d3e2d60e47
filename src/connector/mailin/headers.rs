//! Header values of the mails we send: the subject template with its placeholders, and
//! non-ASCII text written as MIME encoded words (RFC 2047) and parameters (RFC 2231).

use base64::Engine;

use crate::connector::FilingRequest;
use crate::domain::case::Case;

/// What a subject template may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    CaseNumber,
    CaseId,
    CaseTitle,
    /// The document's title as filed.
    Title,
    /// A mail's own subject; the title for documents.
    Subject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Value(Placeholder),
}

/// A parsed subject template such as WorkZone's `[{case_number}] {title}`; `{{` and `}}` are
/// literal braces.
#[derive(Debug, Clone)]
pub(super) struct SubjectTemplate(Vec<Segment>);

impl SubjectTemplate {
    pub fn parse(template: &str) -> Result<SubjectTemplate, String> {
        let mut segments = Vec::new();
        let mut text = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.next_if_eq(&'{').is_some() => text.push('{'),
                '}' if chars.next_if_eq(&'}').is_some() => text.push('}'),
                '{' => {
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let value = match name.as_str() {
                        "case_number" => Placeholder::CaseNumber,
                        "case_id" => Placeholder::CaseId,
                        "case_title" => Placeholder::CaseTitle,
                        "title" => Placeholder::Title,
                        "subject" => Placeholder::Subject,
                        _ => {
                            return Err(format!(
                                "subject: unknown placeholder {{{name}}} (known: {{case_number}}, \
                                 {{case_id}}, {{case_title}}, {{title}}, {{subject}})"
                            ));
                        }
                    };
                    segments.push(Segment::Text(std::mem::take(&mut text)));
                    segments.push(Segment::Value(value));
                }
                '}' => return Err("subject: a lone } (write }} for a brace)".into()),
                c => text.push(c),
            }
        }
        segments.push(Segment::Text(text));
        segments.retain(|s| *s != Segment::Text(String::new()));
        if segments.is_empty() {
            return Err("subject must not be empty".into());
        }
        Ok(SubjectTemplate(segments))
    }

    /// The subject for a document titled `title` of the filing, on one line.
    pub fn render(&self, request: &FilingRequest, title: &str) -> String {
        let subject = request
            .metadata
            .get("subject")
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(title);
        self.render_on(&request.case, title, subject)
    }

    /// The subject for a mail about `title` on `case`, with `subject` for `{subject}`.
    pub fn render_on(&self, case: &Case, title: &str, subject: &str) -> String {
        let rendered: String = self
            .0
            .iter()
            .map(|segment| match segment {
                Segment::Text(text) => text.as_str(),
                Segment::Value(Placeholder::CaseNumber) => &case.number,
                Segment::Value(Placeholder::CaseId) => &case.id,
                Segment::Value(Placeholder::CaseTitle) => &case.title,
                Segment::Value(Placeholder::Title) => title,
                Segment::Value(Placeholder::Subject) => subject,
            })
            .collect();
        one_line(&rendered)
    }
}

/// Text fit for a header: control characters (a line break would start a header of the
/// sender's choosing) become spaces, runs of space one.
pub(super) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An unstructured header value (a subject): ASCII as it is, so that a records system reading
/// the raw header still finds `[case number]`; from the first word that is not ASCII on, encoded
/// words of UTF-8, folded onto lines of their own.
pub(super) fn unstructured(text: &str) -> String {
    let text = one_line(text);
    let plain_end = text
        .char_indices()
        .find(|(_, c)| !c.is_ascii())
        .map_or(text.len(), |(at, _)| {
            text[..at].rfind(' ').map_or(0, |space| space + 1)
        });
    if plain_end == text.len() && text.len() <= 900 {
        return text;
    }
    let (plain, rest) = text.split_at(plain_end.min(900));
    let mut out = plain.to_string();
    for (i, chunk) in chunks(rest, 45).into_iter().enumerate() {
        // Folding between encoded words is dropped when decoding; after plain text it would
        // add a space, and the plain text already ends with one.
        if i > 0 {
            out.push_str("\r\n ");
        }
        out.push_str(&encoded_word(chunk));
    }
    out
}

/// `=?UTF-8?B?…?=`.
pub(super) fn encoded_word(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("=?UTF-8?B?{encoded}?=")
}

/// Pieces of at most `max` bytes, cut between characters: an encoded word must hold whole
/// characters.
fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (at, c) in text.char_indices() {
        if at + c.len_utf8() - start > max && end > start {
            pieces.push(&text[start..end]);
            start = end;
        }
        end = at + c.len_utf8();
    }
    if end > start {
        pieces.push(&text[start..end]);
    }
    pieces
}

/// The `name` and `filename` parameters naming an attachment: quoted when plain ASCII;
/// otherwise an encoded word for `name` (what Outlook reads) and RFC 2231 for `filename`.
pub(super) fn file_parameters(file_name: &str) -> (String, String) {
    let plain = file_name
        .chars()
        .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\');
    if plain {
        return (
            format!("name=\"{file_name}\""),
            format!("filename=\"{file_name}\""),
        );
    }
    let mut percent = String::new();
    for byte in file_name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            percent.push(byte as char);
        } else {
            percent.push_str(&format!("%{byte:02X}"));
        }
    }
    (
        format!("name=\"{}\"", encoded_word(file_name)),
        format!("filename*=UTF-8''{percent}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_know_their_placeholders() {
        assert!(SubjectTemplate::parse("[{case_number}] {title}").is_ok());
        assert!(SubjectTemplate::parse("{{literal}} {subject}").is_ok());
        for bad in ["{nope}", "a } b", ""] {
            assert!(SubjectTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ascii_subjects_stay_plain_and_others_encode_after_the_case_number() {
        assert_eq!(
            unstructured("[1-2] Carport\r\nBcc: x"),
            "[1-2] Carport Bcc: x"
        );
        let danish = unstructured("[02.34.02-G01-7-26] Ansøgning om carport");
        assert!(
            danish.starts_with("[02.34.02-G01-7-26] =?UTF-8?B?"),
            "{danish}"
        );
        let long = unstructured(&format!("[7] {}", "æ".repeat(100)));
        assert!(long.lines().all(|line| line.len() < 78), "{long}");
    }

    #[test]
    fn chunks_hold_whole_characters() {
        assert_eq!(chunks("æøå", 4), ["æø", "å"]);
        assert_eq!(chunks("abc", 45), ["abc"]);
        assert!(chunks("", 45).is_empty());
    }

    #[test]
    fn file_names_outside_ascii_use_rfc_2231() {
        assert_eq!(file_parameters("a.pdf").1, "filename=\"a.pdf\"");
        assert_eq!(file_parameters("tå.pdf").1, "filename*=UTF-8''t%C3%A5.pdf");
        assert!(file_parameters("tå.pdf").0.starts_with("name=\"=?UTF-8?B?"));
    }
}
