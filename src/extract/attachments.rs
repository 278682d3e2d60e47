//! A message's attachments: names, types, inline flags, their text and nested messages.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::mail::{self, non_empty};
use super::text::html_to_text;
use super::{Attachment, Format, detect, extract_document};

/// Every part in mail-parser's attachment list, in order; the position is the index.
pub(super) fn list(message: &Message<'_>, depth: usize, max_depth: usize) -> Vec<Attachment> {
    let html = html_of(message);
    message
        .attachments()
        .enumerate()
        .map(|(index, part)| {
            let mut attachment = Attachment {
                index,
                name: name(part),
                content_type: content_type(part),
                size: part.len() as u64,
                inline: is_inline(part, &html),
                text: String::new(),
                text_error: None,
                nested: None,
            };
            if depth < max_depth {
                read_content(&mut attachment, part, depth + 1, max_depth);
            }
            attachment
        })
        .collect()
}

pub(super) fn name(part: &MessagePart<'_>) -> Option<String> {
    part.attachment_name().and_then(non_empty)
}

/// `type/subtype`, lower-cased; from the body's kind when the part does not say.
pub(super) fn content_type(part: &MessagePart<'_>) -> String {
    if let Some(declared) = part.content_type()
        && let Some(subtype) = declared.subtype()
    {
        return format!("{}/{}", declared.ctype().trim(), subtype.trim()).to_ascii_lowercase();
    }
    match part.body {
        PartType::Text(_) => "text/plain",
        PartType::Html(_) => "text/html",
        PartType::Message(_) => "message/rfc822",
        _ => "application/octet-stream",
    }
    .to_owned()
}

/// All HTML of the message, lower-cased, to find `cid:` references in.
fn html_of(message: &Message<'_>) -> String {
    message
        .parts
        .iter()
        .filter_map(|part| match &part.body {
            PartType::Html(html) => Some(html.to_lowercase()),
            _ => None,
        })
        .collect()
}

/// Shown inside the body rather than attached: declared inline, or an image the HTML embeds.
fn is_inline(part: &MessagePart<'_>, html: &str) -> bool {
    if part.content_disposition().is_some_and(|d| d.is_inline()) {
        return true;
    }
    let image = part
        .content_type()
        .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("image"));
    let content_id = part
        .content_id()
        .map(|id| id.trim().trim_matches(['<', '>']).to_lowercase());
    image && content_id.is_some_and(|id| !id.is_empty() && html.contains(&format!("cid:{id}")))
}

/// Extracts the attachment's text or nested message; failures stay with the attachment.
fn read_content(
    attachment: &mut Attachment,
    part: &MessagePart<'_>,
    depth: usize,
    max_depth: usize,
) {
    let bytes = match &part.body {
        PartType::Message(nested) => {
            attachment.nested = Some(Box::new(mail::convert(nested, depth, max_depth)));
            return;
        }
        PartType::Html(html) => {
            attachment.text = html_to_text(html);
            return;
        }
        PartType::Text(text) => {
            attachment.text = text.replace("\r\n", "\n");
            return;
        }
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes,
        PartType::Multipart(_) => return,
    };
    let format =
        match Format::from_content_type(&attachment.content_type, attachment.name.as_deref()) {
            // An unrecognisable attachment is not an error: it simply has no text.
            Some(Format::Sniff) => match detect::sniff(bytes) {
                Ok(format) => format,
                Err(_) => return,
            },
            Some(format) => format,
            None => return,
        };
    if format == Format::Mail {
        match mail::parse_at(bytes, depth, max_depth) {
            Ok(nested) => attachment.nested = Some(Box::new(nested)),
            Err(error) => attachment.text_error = Some(error.to_string()),
        }
        return;
    }
    match extract_document(bytes, format) {
        Ok(document) => attachment.text = document.text,
        Err(error) => attachment.text_error = Some(error.to_string()),
    }
}
