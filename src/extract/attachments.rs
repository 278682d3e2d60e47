//! A message's attachments: names, types, inline flags, their text and nested messages, and
//! the files inside a TNEF (`winmail.dat`) attachment.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::mail::{self, non_empty};
use super::text::html_to_text;
use super::tnef::{self, Tnef};
use super::{Attachment, AttachmentContent, Format, MailMetadata, detect, extract_document, msg};

/// Every part in mail-parser's attachment list, in order, the position being the index; then
/// the files of each TNEF part, numbered on from there.
pub(super) fn list(
    message: &Message<'_>,
    tnefs: &[Tnef],
    depth: usize,
    max_depth: usize,
) -> Vec<Attachment> {
    let mut list = parts(message, depth, max_depth);
    for file in tnefs.iter().flat_map(|tnef| &tnef.attachments) {
        list.push(tnef_attachment(file, list.len(), depth, max_depth));
    }
    list
}

/// The TNEF parts of a message, read.
pub(super) fn tnefs(message: &Message<'_>) -> Vec<Tnef> {
    message
        .attachments()
        .filter_map(|part| match &part.body {
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => tnef::parse(bytes),
            _ => None,
        })
        .collect()
}

/// The content of a TNEF part's file, numbered after the message's own attachments.
pub(super) fn tnef_content(message: &Message<'_>, index: usize) -> Option<AttachmentContent> {
    let own = message.attachments().count();
    let tnefs = tnefs(message);
    let file = tnefs
        .iter()
        .flat_map(|tnef| &tnef.attachments)
        .nth(index.checked_sub(own)?)?;
    if file.message.is_some() {
        return None;
    }
    Some(AttachmentContent {
        name: tnef_name(file),
        content_type: tnef_type(file),
        bytes: file.bytes.clone(),
    })
}

fn tnef_name(file: &tnef::TnefAttachment) -> Option<String> {
    file.file_name.clone().or_else(|| file.display_name.clone())
}

fn tnef_type(file: &tnef::TnefAttachment) -> String {
    file.content_type
        .clone()
        .unwrap_or_else(|| type_from_name(file.file_name.as_deref()).to_owned())
}

fn tnef_attachment(
    file: &tnef::TnefAttachment,
    index: usize,
    depth: usize,
    max_depth: usize,
) -> Attachment {
    let mut attachment = Attachment {
        index,
        name: tnef_name(file),
        content_type: if file.message.is_some() {
            "application/vnd.ms-tnef".to_owned()
        } else {
            tnef_type(file)
        },
        size: file.bytes.len() as u64,
        inline: false,
        text: String::new(),
        text_error: None,
        nested: None,
    };
    if depth < max_depth {
        match &file.message {
            Some(message) => {
                attachment.nested = Some(Box::new(tnef_mail(message, depth + 1, max_depth)))
            }
            None => read_bytes(&mut attachment, &file.bytes, depth + 1, max_depth),
        }
    }
    attachment
}

/// A message attached inside TNEF: what TNEF keeps of it is its subject, body and files.
fn tnef_mail(message: &Tnef, depth: usize, max_depth: usize) -> MailMetadata {
    MailMetadata {
        subject: message.subject.clone(),
        body_text: message.body.clone(),
        attachments: message
            .attachments
            .iter()
            .enumerate()
            .map(|(index, file)| tnef_attachment(file, index, depth, max_depth))
            .collect(),
        ..MailMetadata::default()
    }
}

/// The MIME type an attachment's file name suggests, for containers that do not say.
pub(super) fn type_from_name(name: Option<&str>) -> &'static str {
    let extension = name
        .and_then(|name| name.trim().rsplit_once('.'))
        .map(|(_, extension)| extension.to_ascii_lowercase());
    match extension.as_deref() {
        Some("pdf") => "application/pdf",
        Some("doc") => "application/msword",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("pptx") => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        Some("odt") => "application/vnd.oasis.opendocument.text",
        Some("rtf") => "application/rtf",
        Some("txt") => "text/plain",
        Some("htm" | "html") => "text/html",
        Some("eml") => "message/rfc822",
        Some("msg") => "application/vnd.ms-outlook",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("tif" | "tiff") => "image/tiff",
        _ => "application/octet-stream",
    }
}

fn parts(message: &Message<'_>, depth: usize, max_depth: usize) -> Vec<Attachment> {
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
    if tnef::is_tnef(bytes) {
        // Its files are listed after the message's own attachments.
        return;
    }
    read_bytes(attachment, bytes, depth, max_depth);
}

/// Extracts a file's text, or the message it is; failures stay with the attachment.
pub(super) fn read_bytes(
    attachment: &mut Attachment,
    bytes: &[u8],
    depth: usize,
    max_depth: usize,
) {
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
    let nested = match format {
        Format::Mail => Some(mail::parse_at(bytes, depth, max_depth)),
        Format::Msg => Some(msg::parse_at(bytes, depth, max_depth)),
        _ => None,
    };
    if let Some(nested) = nested {
        match nested {
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
