//! The mails a filing becomes: the mail itself (attached to a new mail, or re-sent with our
//! subject and Message-ID), a document attached to a short mail, and a short mail for each
//! attachment filed as a document of its own. A retry builds the very same mails.

use base64::Engine;
use sha2::Digest;

use super::headers::{SubjectTemplate, file_parameters, one_line, unstructured};
use crate::config::MailinMode;
use crate::connector::naming::{extension, safe_name};
use crate::connector::{AttachmentDocument, Direction, FilingRequest, WithdrawRequest};
use crate::domain::filing::AttachmentMode;
use crate::extract::ItemKind;

/// Longest line SMTP carries, without its CRLF (RFC 5321, 4.5.3.1.6).
const MAX_LINE: usize = 998;
const MAIL: &str = "message/rfc822";
/// Header fields of the original that a re-sent mail must not keep: ours replace the first
/// two, and the others describe an earlier delivery (a `Delivered-To` naming the journal
/// mailbox makes servers refuse the mail as a loop).
const REPLACED: [&str; 6] = [
    "message-id",
    "subject",
    "delivered-to",
    "return-path",
    "x-journaliser-filing",
    "x-journaliser-original-message-id",
];

/// One mail to send.
pub(super) struct Outgoing {
    /// With its angle brackets, as the header carries it.
    pub message_id: String,
    pub bytes: Vec<u8>,
}

pub(super) struct Composer {
    pub from: String,
    pub to: String,
    /// The Message-IDs' domain: the sender's.
    pub domain: String,
    pub mode: MailinMode,
    pub subject: SubjectTemplate,
}

/// One attached body part: its header fields and its encoded content.
struct Part {
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Composer {
    /// The filing's mails: the separate attachments first, the document itself last.
    pub fn messages(&self, request: &FilingRequest) -> Vec<Outgoing> {
        let main_id = message_id(&request.idempotency_key, None, &self.domain);
        let mut messages: Vec<Outgoing> = request
            .attachments
            .iter()
            .filter(|a| a.mode == AttachmentMode::Separate)
            .map(|a| self.separate(request, a, &main_id))
            .collect();
        let subject = self.subject.render(request, &request.title);
        let is_mail = request.kind == ItemKind::Mail && request.content_type == MAIL;
        let resent = (is_mail && self.mode == MailinMode::Resend)
            .then(|| self.resent(request, &main_id, &subject))
            .flatten();
        let bytes = resent.unwrap_or_else(|| {
            let text = body_text(request, &request.title, None);
            let file_name = format!(
                "{}.{}",
                safe_name(&request.title, 80),
                extension(&request.content_type)
            );
            let part = if request.content_type == MAIL {
                embedded_mail(&request.content, &file_name)
            } else {
                None
            };
            let part = part.unwrap_or_else(|| {
                attachment_part(&request.content_type, &file_name, &request.content)
            });
            self.composed(request, &main_id, &subject, &text, part, None)
        });
        messages.push(Outgoing {
            message_id: main_id,
            bytes,
        });
        messages
    }

    /// A short mail carrying one attachment of the mail as a document of its own.
    fn separate(
        &self,
        request: &FilingRequest,
        attachment: &AttachmentDocument,
        main_id: &str,
    ) -> Outgoing {
        let id = message_id(
            &request.idempotency_key,
            Some(attachment.index),
            &self.domain,
        );
        // Short enough that its encoded parameter fits on one header line.
        let name: String = one_line(&attachment.name)
            .replace(['/', '\\'], "_")
            .chars()
            .take(100)
            .collect();
        let subject = self.subject.render(request, &name);
        let text = body_text(request, &name, Some(&request.title));
        let part = attachment_part(&attachment.content_type, &name, &attachment.content);
        let bytes = self.composed(request, &id, &subject, &text, part, Some(main_id));
        Outgoing {
            message_id: id,
            bytes,
        }
    }

    /// A new mail from us: a short text and the document attached.
    /// The correction that withdraws a filed document: a short mail on the same case, naming
    /// the first mail by its Message-ID, under a Message-ID of its own made from the filing's
    /// key, so a retry finds it sent.
    pub fn correction(&self, request: &WithdrawRequest) -> Outgoing {
        let id = message_id(
            &format!("{}-withdrawn", request.idempotency_key),
            None,
            &self.domain,
        );
        let title = format!("Tilbagekaldt: {}", request.title);
        let subject = self.subject.render_on(&request.case, &title, &title);
        let text = format!(
            "Dokumentet «{}» (Message-ID {}) er journaliseret på sagen ved en fejl og er \
             tilbagekaldt af {}.\r\nBegrundelse: {}\r\n\r\nThe document \"{}\" was filed on this \
             case by mistake and is withdrawn.\r\n",
            one_line(&request.title),
            request.document_id,
            one_line(&request.withdrawn_by),
            one_line(&request.reason),
            one_line(&request.title),
        );
        let mut out = Vec::new();
        header(&mut out, "From", &self.from);
        header(&mut out, "To", &self.to);
        header(&mut out, "Subject", &unstructured(&subject));
        header(&mut out, "Date", &chrono::Utc::now().to_rfc2822());
        header(&mut out, "Message-ID", &id);
        header(
            &mut out,
            "X-Journaliser-Filing",
            &one_line(&request.idempotency_key),
        );
        header(
            &mut out,
            "X-Journaliser-Withdraws",
            &one_line(&request.document_id),
        );
        if request.document_id.starts_with('<') {
            header(&mut out, "References", &one_line(&request.document_id));
        }
        header(&mut out, "MIME-Version", "1.0");
        header(&mut out, "Content-Type", "text/plain; charset=utf-8");
        header(&mut out, "Content-Transfer-Encoding", "base64");
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&base64_lines(text.as_bytes()));
        Outgoing {
            message_id: id,
            bytes: out,
        }
    }

    fn composed(
        &self,
        request: &FilingRequest,
        id: &str,
        subject: &str,
        text: &str,
        part: Part,
        attachment_of: Option<&str>,
    ) -> Vec<u8> {
        let boundary = boundary(id, &part.body);
        let mut out = Vec::new();
        header(&mut out, "From", &self.from);
        header(&mut out, "To", &self.to);
        header(&mut out, "Subject", &unstructured(subject));
        header(&mut out, "Date", &request.accepted_at.to_rfc2822());
        header(&mut out, "Message-ID", id);
        header(
            &mut out,
            "X-Journaliser-Filing",
            &one_line(&request.idempotency_key),
        );
        if let Some(main) = attachment_of {
            header(&mut out, "X-Journaliser-Attachment-Of", main);
        }
        version_headers(&mut out, request);
        header(&mut out, "MIME-Version", "1.0");
        let multipart = format!("multipart/mixed; boundary=\"{boundary}\"");
        header(&mut out, "Content-Type", &multipart);
        out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
        header(&mut out, "Content-Type", "text/plain; charset=utf-8");
        header(&mut out, "Content-Transfer-Encoding", "base64");
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&base64_lines(text.as_bytes()));
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        for (name, value) in &part.headers {
            header(&mut out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.body);
        if !part.body.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }

    /// The original mail re-sent: its headers and body as they are, under our subject and
    /// Message-ID, with a block of `Resent-` fields saying who sent it on (RFC 5322, 3.6.6).
    /// `None` when the original has no header to keep.
    fn resent(&self, request: &FilingRequest, id: &str, subject: &str) -> Option<Vec<u8>> {
        let (head, body) = split_message(&request.content);
        let fields = header_fields(head)?;
        let mut out = Vec::new();
        header(&mut out, "Resent-From", &self.from);
        header(&mut out, "Resent-To", &self.to);
        header(&mut out, "Resent-Date", &request.accepted_at.to_rfc2822());
        header(&mut out, "Resent-Message-ID", id);
        header(&mut out, "Message-ID", id);
        header(&mut out, "Subject", &unstructured(subject));
        header(
            &mut out,
            "X-Journaliser-Filing",
            &one_line(&request.idempotency_key),
        );
        version_headers(&mut out, request);
        let original_id = fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("message-id"))
            .map(|(_, lines)| one_line(&String::from_utf8_lossy(&lines.concat())));
        if let Some(original) = original_id {
            let value = original.split_once(':').map_or("", |(_, v)| v).trim();
            header(&mut out, "X-Journaliser-Original-Message-ID", value);
        }
        for (name, lines) in &fields {
            if REPLACED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
                continue;
            }
            for line in lines {
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        Some(out)
    }
}

/// The Message-ID of a filing's mail, or of its attachment `part`: the idempotency key where
/// it is fit for one (the filing id is), else its hash. The same key always gives the same id,
/// which is how a retry is recognised.
pub(super) fn message_id(key: &str, part: Option<usize>, domain: &str) -> String {
    let fit = (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    let local = if fit {
        key.to_string()
    } else {
        let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
        format!("sha256-{}", &digest[..32])
    };
    match part {
        Some(index) => format!("<{local}.{index:02}@{domain}>"),
        None => format!("<{local}@{domain}>"),
    }
}

/// The text of our mails, Danish first.
fn body_text(request: &FilingRequest, title: &str, attachment_of: Option<&str>) -> String {
    let (retning, direction) = match request.direction() {
        Direction::Incoming => ("indgående", "incoming"),
        Direction::Outgoing => ("udgående", "outgoing"),
        Direction::Internal => ("intern", "internal"),
    };
    let case = format!("{} {}", request.case.number, request.case.title);
    let date = request.document_date().to_rfc3339();
    let reference = &request.idempotency_key;
    let filed_by = &request.filed_by;
    let mut lines = vec![
        "Journaliseret med Journaliser; dokumentet er vedhæftet.".to_string(),
        String::new(),
        format!("Sag: {case}"),
        format!("Titel: {title}"),
    ];
    if let Some(main) = attachment_of {
        lines.push(format!("Bilag til: {main}"));
    }
    lines.extend([
        format!("Retning: {retning}"),
        format!("Dato: {date}"),
        format!("Journaliseret af: {filed_by}"),
        format!("Reference: {reference}"),
        String::new(),
        "Filed with Journaliser; the document is attached.".to_string(),
        format!("Case: {case}"),
        format!("Direction: {direction}"),
    ]);
    lines.join("\r\n") + "\r\n"
}

/// The original mail as an attached message. The standard allows only 7bit or 8bit for
/// `message/rfc822` (RFC 2046, 5.2.1), so a mail that SMTP cannot carry that way (a NUL
/// byte, an overlong line) is `None` and goes as a file instead.
fn embedded_mail(content: &[u8], file_name: &str) -> Option<Part> {
    let carried = !content.contains(&0)
        && content
            .split(|&b| b == b'\n')
            .all(|line| line.strip_suffix(b"\r").unwrap_or(line).len() <= MAX_LINE);
    if !carried {
        return None;
    }
    let encoding = if content.is_ascii() { "7bit" } else { "8bit" };
    let (_, filename) = file_parameters(file_name);
    Some(Part {
        headers: vec![
            ("Content-Type", MAIL.to_string()),
            ("Content-Disposition", format!("attachment; {filename}")),
            ("Content-Transfer-Encoding", encoding.to_string()),
        ],
        body: content.to_vec(),
    })
}

fn attachment_part(content_type: &str, file_name: &str, content: &[u8]) -> Part {
    let bare = content_type.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let content_type = match bare.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => bare,
        _ => "application/octet-stream",
    };
    let (name, filename) = file_parameters(file_name);
    Part {
        headers: vec![
            ("Content-Type", format!("{content_type}; {name}")),
            ("Content-Disposition", format!("attachment; {filename}")),
            ("Content-Transfer-Encoding", "base64".to_string()),
        ],
        body: base64_lines(content),
    }
}

/// A new version cannot replace a mail already sent: it goes as a mail of its own, and says
/// which earlier mail it follows, for a records system or a person to tie them together.
fn version_headers(out: &mut Vec<u8>, request: &FilingRequest) {
    if let Some(earlier) = &request.new_version_of {
        header(
            out,
            "X-Journaliser-New-Version-Of",
            &one_line(&earlier.document_id),
        );
        header(out, "X-Journaliser-Version", &earlier.version.to_string());
    }
}

fn header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
}

/// Base64 in lines of 76 characters (RFC 2045, 6.8).
fn base64_lines(bytes: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A boundary that the attached content does not contain. `=_` never occurs in base64, so
/// only an attached mail can force the next candidate.
fn boundary(id: &str, body: &[u8]) -> String {
    let digest = hex::encode(sha2::Sha256::digest(id.as_bytes()));
    let base = format!("=_journaliser_{}", &digest[..24]);
    (0..)
        .map(|n| {
            if n == 0 {
                base.clone()
            } else {
                format!("{base}_{n}")
            }
        })
        .find(|candidate| {
            let candidate = candidate.as_bytes();
            !body.windows(candidate.len()).any(|w| w == candidate)
        })
        .unwrap_or(base)
}

/// The header block and the body, split at the first empty line.
fn split_message(content: &[u8]) -> (&[u8], &[u8]) {
    let crlf = content.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = content.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(c), Some(l)) if l + 1 < c => (&content[..l + 1], &content[l + 2..]),
        (Some(c), _) => (&content[..c + 2], &content[c + 4..]),
        (None, Some(l)) => (&content[..l + 1], &content[l + 2..]),
        (None, None) => (content, &[]),
    }
}

/// A header field: its name and its lines (continuations included, line ends not).
type Field<'a> = (String, Vec<&'a [u8]>);

/// The header's fields. `None` when a line is neither a field nor a continuation: not a
/// mail's header.
fn header_fields(head: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut fields: Vec<Field<'_>> = Vec::new();
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            fields.last_mut()?.1.push(line);
            continue;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let name = std::str::from_utf8(&line[..colon]).ok()?.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        fields.push((name.to_string(), vec![line]));
    }
    (!fields.is_empty()).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_the_key_when_fit_and_a_hash_otherwise() {
        assert_eq!(
            message_id("0199f2c4-7b1e-7c3a", None, "vejstrand.example"),
            "<0199f2c4-7b1e-7c3a@vejstrand.example>"
        );
        assert_eq!(
            message_id("0199f2c4", Some(3), "vejstrand.example"),
            "<0199f2c4.03@vejstrand.example>"
        );
        let hashed = message_id("a key@with <odd> chars", None, "x.example");
        assert!(hashed.starts_with("<sha256-"), "{hashed}");
        assert_eq!(
            hashed,
            message_id("a key@with <odd> chars", None, "x.example")
        );
    }

    #[test]
    fn the_header_splits_from_the_body_at_the_first_empty_line() {
        let (head, body) = split_message(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore");
        assert_eq!(head, b"A: 1\r\nB: 2\r\n");
        assert_eq!(body, b"body\r\n\r\nmore");
        let (head, body) = split_message(b"A: 1\n\nbody");
        assert_eq!((head, body), (&b"A: 1\n"[..], &b"body"[..]));
    }

    #[test]
    fn header_fields_keep_their_continuations() {
        let fields = header_fields(b"Subject: a\r\n b\r\nTo: x@y\r\n").unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].0, "Subject");
        assert_eq!(fields[0].1, [&b"Subject: a"[..], &b" b"[..]]);
        assert!(header_fields(b"not a header\r\n").is_none());
    }

    #[test]
    fn a_mail_smtp_cannot_carry_goes_as_a_file() {
        assert!(embedded_mail(b"Subject: a\r\n\r\nbody\r\n", "a.eml").is_some());
        assert!(embedded_mail(b"Subject: a\r\n\r\nnul\0\r\n", "a.eml").is_none());
        let long = format!("Subject: a\r\n\r\n{}\r\n", "x".repeat(1200));
        assert!(embedded_mail(long.as_bytes(), "a.eml").is_none());
    }

    #[test]
    fn content_types_with_odd_characters_become_octet_streams() {
        let part = attachment_part("application/pdf; x=1", "a.pdf", b"%PDF");
        assert_eq!(part.headers[0].1, "application/pdf; name=\"a.pdf\"");
        let odd = attachment_part("text/plain\r\nBcc: x", "a.txt", b"a");
        assert!(odd.headers[0].1.starts_with("application/octet-stream;"));
    }
}
