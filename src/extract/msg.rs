//! Outlook messages (`.msg`, [MS-OXMSG]): MAPI properties in a compound file, read into the
//! same metadata an RFC 822 message gives, attachments and embedded messages included.

use std::path::{Path, PathBuf};

use base64::Engine;
use mail_parser::MessageParser;

use super::compound::Compound;
use super::mapi::{self, Properties, id};
use super::text::html_to_text;
use super::{Address, Attachment, AttachmentContent, ExtractError, MailMetadata, guard};
use super::{attachments, lzfu, mail, rtf};

const PROPERTIES: &str = "__properties_version1.0";
const RECIPIENT_PREFIX: &str = "__recip_version1.0_#";
const ATTACHMENT_PREFIX: &str = "__attach_version1.0_#";
const STRING_PREFIX: &str = "__substg1.0_";
/// The storage of an attachment that holds a message of its own.
const EMBEDDED_MESSAGE: &str = "__substg1.0_3701000D";

/// Bytes before the property entries in `__properties_version1.0` ([MS-OXMSG] 2.4).
const TOP_HEADER: usize = 32;
const EMBEDDED_HEADER: usize = 24;
const CHILD_HEADER: usize = 8;

/// No message may list more recipients or attachments than this.
const MAX_CHILDREN: usize = 10_000;

/// Whether the bytes are a compound file laid out as an Outlook message.
pub(super) fn is_msg(bytes: &[u8]) -> bool {
    Compound::open(bytes, "Outlook message")
        .is_ok_and(|file| file.is_stream(&Path::new("/").join(PROPERTIES)))
}

pub(super) fn parse(bytes: &[u8], max_depth: usize) -> Result<MailMetadata, ExtractError> {
    parse_at(bytes, 0, max_depth)
}

/// Parses a message found `depth` levels down, like [`mail::parse_at`].
pub(super) fn parse_at(
    bytes: &[u8],
    depth: usize,
    max_depth: usize,
) -> Result<MailMetadata, ExtractError> {
    guard("the Outlook message", || {
        let mut file = Compound::open(bytes, "Outlook message")?;
        let root = PathBuf::from("/");
        if !file.is_stream(&root.join(PROPERTIES)) {
            return Err(ExtractError::Malformed(
                "not an Outlook message: the compound file has no MAPI properties".into(),
            ));
        }
        let mut reader = Reader { file: &mut file };
        reader.message(&root, TOP_HEADER, None, depth, max_depth)
    })
}

/// The attachment at `index`, numbered as in the metadata. An embedded message has no bytes
/// of its own in the file, so it gives `None`.
pub(super) fn attachment_content(bytes: &[u8], index: usize) -> Option<AttachmentContent> {
    let content = guard("the Outlook message", || {
        let mut file = Compound::open(bytes, "Outlook message")?;
        let root = PathBuf::from("/");
        let mut reader = Reader { file: &mut file };
        let codepage = reader.properties(&root, TOP_HEADER)?.codepage();
        let Some(storage) = reader
            .children_named(&root, ATTACHMENT_PREFIX)
            .into_iter()
            .nth(index)
        else {
            return Ok(None);
        };
        let properties = reader.properties(&storage, CHILD_HEADER)?;
        let Some(data) = properties.bytes(id::ATTACH_DATA) else {
            return Ok(None);
        };
        let name = attachment_name(&properties, codepage);
        Ok(Some(AttachmentContent {
            content_type: attachment_type(&properties, codepage, name.as_deref()),
            name,
            bytes: data.to_vec(),
        }))
    });
    content.ok().flatten()
}

struct Reader<'f, 'a> {
    file: &'f mut Compound<'a>,
}

impl Reader<'_, '_> {
    /// The message whose properties live in `storage`. `codepage` is the outer message's, for
    /// an embedded message that does not name its own.
    fn message(
        &mut self,
        storage: &Path,
        header: usize,
        codepage: Option<u32>,
        depth: usize,
        max_depth: usize,
    ) -> Result<MailMetadata, ExtractError> {
        let properties = self.properties(storage, header)?;
        let codepage = properties.codepage().or(codepage);
        let text = |id| properties.string(id, codepage);
        let headers = text(id::TRANSPORT_HEADERS)
            .map(|raw| mail_headers(&raw))
            .unwrap_or_default();

        let mut recipients = (Vec::new(), Vec::new());
        for storage in self.children_named(storage, RECIPIENT_PREFIX) {
            let recipient = self.properties(&storage, CHILD_HEADER)?;
            let address = recipient_address(&recipient, codepage);
            match recipient.int(id::RECIPIENT_TYPE).map(|kind| kind & 0x0F) {
                Some(2) => recipients.1.push(address),
                Some(3) => {}
                _ => recipients.0.push(address),
            }
        }
        let (mut to, mut cc) = recipients;
        to.retain(|a| a.name.is_some() || a.email.is_some());
        cc.retain(|a| a.name.is_some() || a.email.is_some());

        // HTML is kept as bytes in the code page the mail was sent in.
        let html_codepage = properties
            .int(id::INTERNET_CODEPAGE)
            .and_then(|page| u32::try_from(page).ok())
            .or(codepage);
        let html = match properties.bytes(id::HTML) {
            Some(bytes) => Some(mapi::decode_8bit(bytes, html_codepage)),
            None => text(id::HTML),
        };
        let body_text = body_text(&properties, codepage, html.as_deref());

        let sender = sender(&properties, codepage).or_else(|| headers.from.first().cloned());
        let mut attachments = Vec::new();
        let html_lower = html.as_deref().map(str::to_lowercase).unwrap_or_default();
        let storages = self.children_named(storage, ATTACHMENT_PREFIX);
        for (index, storage) in storages.into_iter().enumerate() {
            let attachment =
                self.attachment(index, &storage, codepage, &html_lower, depth, max_depth)?;
            attachments.push(attachment);
        }

        Ok(MailMetadata {
            subject: text(id::SUBJECT).or(headers.subject),
            from: sender.into_iter().collect(),
            to: if to.is_empty() { headers.to } else { to },
            cc: if cc.is_empty() { headers.cc } else { cc },
            date: headers
                .date
                .or_else(|| properties.time(id::CLIENT_SUBMIT_TIME))
                .or_else(|| properties.time(id::DELIVERY_TIME)),
            message_id: headers
                .message_id
                .or_else(|| text(id::INTERNET_MESSAGE_ID).and_then(|id| message_id(&id))),
            in_reply_to: non_empty_or(
                headers.in_reply_to,
                || ids(text(id::IN_REPLY_TO).as_deref()),
            ),
            references: non_empty_or(headers.references, || {
                ids(text(id::INTERNET_REFERENCES).as_deref())
            }),
            thread_index: headers.thread_index.or_else(|| {
                properties
                    .bytes(id::CONVERSATION_INDEX)
                    .filter(|index| !index.is_empty())
                    .map(|index| base64::engine::general_purpose::STANDARD.encode(index))
            }),
            thread_topic: headers
                .thread_topic
                .or_else(|| text(id::CONVERSATION_TOPIC)),
            body_text,
            attachments,
        })
    }

    fn attachment(
        &mut self,
        index: usize,
        storage: &Path,
        codepage: Option<u32>,
        html: &str,
        depth: usize,
        max_depth: usize,
    ) -> Result<Attachment, ExtractError> {
        let properties = self.properties(storage, CHILD_HEADER)?;
        let name = attachment_name(&properties, codepage);
        let content_id = properties
            .string(id::ATTACH_CONTENT_ID, codepage)
            .map(|id| id.trim_matches(['<', '>']).to_lowercase());
        let referenced = content_id.is_some_and(|id| html.contains(&format!("cid:{id}")));
        let hidden = properties
            .int(id::ATTACHMENT_HIDDEN)
            .is_some_and(|h| h != 0);
        let embedded = storage.join(EMBEDDED_MESSAGE);
        let is_embedded = properties.int(id::ATTACH_METHOD) == Some(mapi::ATTACH_EMBEDDED_MESSAGE)
            && self.file.is_storage(&embedded);
        let data = properties.bytes(id::ATTACH_DATA).unwrap_or_default();
        let mut attachment = Attachment {
            index,
            content_type: if is_embedded {
                "application/vnd.ms-outlook".to_owned()
            } else {
                attachment_type(&properties, codepage, name.as_deref())
            },
            name,
            size: data.len() as u64,
            inline: hidden || referenced,
            text: String::new(),
            text_error: None,
            nested: None,
        };
        if depth >= max_depth {
            return Ok(attachment);
        }
        if is_embedded {
            match self.message(&embedded, EMBEDDED_HEADER, codepage, depth + 1, max_depth) {
                Ok(nested) => {
                    if attachment.name.is_none() {
                        attachment.name = nested.subject.clone();
                    }
                    attachment.nested = Some(Box::new(nested));
                }
                Err(error) => attachment.text_error = Some(error.to_string()),
            }
        } else {
            attachments::read_bytes(&mut attachment, data, depth + 1, max_depth);
        }
        Ok(attachment)
    }

    /// The storages under `storage` whose names start with `prefix`, in numbered order.
    fn children_named(&self, storage: &Path, prefix: &str) -> Vec<PathBuf> {
        let mut children: Vec<(String, PathBuf)> = self
            .file
            .children(storage)
            .into_iter()
            .filter(|child| !child.is_stream && child.name.starts_with(prefix))
            .map(|child| (child.name, child.path))
            .take(MAX_CHILDREN)
            .collect();
        children.sort();
        children.into_iter().map(|(_, path)| path).collect()
    }

    /// The fixed-size properties of `__properties_version1.0` and the variable-size ones of
    /// the `__substg1.0_IIIITTTT` streams.
    fn properties(&mut self, storage: &Path, header: usize) -> Result<Properties, ExtractError> {
        let mut properties = Properties::default();
        if let Some(stream) = self.file.stream(&storage.join(PROPERTIES))? {
            for entry in stream.get(header..).unwrap_or_default().chunks_exact(16) {
                let tag = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
                let (id, kind) = ((tag >> 16) as u16, tag as u16);
                if let Some(value) = mapi::fixed_value(kind, &entry[8..]) {
                    properties.insert(id, value);
                }
            }
        }
        for child in self.file.children(storage) {
            let Some(tag) = child.name.strip_prefix(STRING_PREFIX) else {
                continue;
            };
            let Ok(tag) = u32::from_str_radix(tag, 16) else {
                continue;
            };
            let (id, kind) = ((tag >> 16) as u16, tag as u16);
            if !child.is_stream || mapi::variable_value(kind, &[]).is_none() {
                continue;
            }
            if let Some(bytes) = self.file.stream(&child.path)?
                && let Some(value) = mapi::variable_value(kind, &bytes)
            {
                properties.insert(id, value);
            }
        }
        Ok(properties)
    }
}

fn recipient_address(recipient: &Properties, codepage: Option<u32>) -> Address {
    let text = |id| recipient.string(id, codepage);
    let email = smtp_address(
        text(id::ADDRESS_TYPE),
        text(id::EMAIL_ADDRESS),
        text(id::SMTP_ADDRESS),
    );
    Address {
        name: text(id::DISPLAY_NAME),
        email,
    }
}

/// The sender as `From:` would name them: the representing user when someone sends on
/// behalf of another, which is what Outlook writes in the header too.
fn sender(properties: &Properties, codepage: Option<u32>) -> Option<Address> {
    let text = |id| properties.string(id, codepage);
    let address = Address {
        name: text(id::SENDER_NAME).or_else(|| text(id::SENT_REPRESENTING_NAME)),
        email: smtp_address(
            text(id::SENDER_ADDRESS_TYPE),
            text(id::SENDER_EMAIL),
            text(id::SENDER_SMTP_ADDRESS),
        )
        .or_else(|| {
            smtp_address(
                None,
                text(id::SENT_REPRESENTING_EMAIL),
                text(id::SENT_REPRESENTING_SMTP_ADDRESS),
            )
        }),
    };
    (address.name.is_some() || address.email.is_some()).then_some(address)
}

/// An Internet address, lower-cased: the SMTP address property where the stored one is an
/// Exchange (X.500) address.
fn smtp_address(
    kind: Option<String>,
    address: Option<String>,
    smtp: Option<String>,
) -> Option<String> {
    let stored = address.filter(|a| {
        kind.as_deref()
            .is_none_or(|k| k.eq_ignore_ascii_case("SMTP"))
            && a.contains('@')
    });
    smtp.filter(|a| a.contains('@'))
        .or(stored)
        .map(|a| a.trim().trim_matches(['<', '>', '\'']).to_lowercase())
}

fn attachment_name(properties: &Properties, codepage: Option<u32>) -> Option<String> {
    [
        id::ATTACH_LONG_FILENAME,
        id::ATTACH_FILENAME,
        id::DISPLAY_NAME,
    ]
    .into_iter()
    .find_map(|id| properties.string(id, codepage))
}

fn attachment_type(properties: &Properties, codepage: Option<u32>, name: Option<&str>) -> String {
    properties
        .string(id::ATTACH_MIME_TAG, codepage)
        .filter(|tag| tag.contains('/'))
        .map(|tag| tag.to_ascii_lowercase())
        .unwrap_or_else(|| attachments::type_from_name(name).to_owned())
}

/// The plain-text body, else the HTML one, else the compressed RTF one.
fn body_text(properties: &Properties, codepage: Option<u32>, html: Option<&str>) -> String {
    if let Some(text) = properties.string(id::BODY, codepage) {
        return text.replace("\r\n", "\n").trim().to_owned();
    }
    if let Some(html) = html {
        return html_to_text(html);
    }
    properties
        .bytes(id::RTF_COMPRESSED)
        .and_then(|compressed| lzfu::decompress(compressed).ok())
        .map(|rtf| rtf::read(&rtf).into_text())
        .unwrap_or_default()
}

/// What the transport headers say, for the fields a mail's identity and thread rest on.
fn mail_headers(raw: &str) -> MailMetadata {
    let mut raw = raw.replace("\r\n", "\n").trim_end().to_owned();
    raw.push_str("\n\n");
    match MessageParser::default().parse(raw.as_bytes()) {
        Some(message) => mail::convert(&message, 0, 0),
        None => MailMetadata::default(),
    }
}

fn message_id(raw: &str) -> Option<String> {
    ids(Some(raw)).into_iter().next()
}

fn ids(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|id| id.trim_matches(['<', '>']))
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

fn non_empty_or(list: Vec<String>, fallback: impl FnOnce() -> Vec<String>) -> Vec<String> {
    if list.is_empty() { fallback() } else { list }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::extract::corpus;

    fn expected_address(
        name: Option<&Value>,
        email: Option<&Value>,
    ) -> (Option<String>, Option<String>) {
        let name = name.and_then(Value::as_str).and_then(mail::non_empty);
        let email = email
            .and_then(Value::as_str)
            .filter(|e| e.contains('@'))
            .map(|e| e.trim().to_lowercase());
        (name, email)
    }

    fn ours(address: &Address) -> (Option<String>, Option<String>) {
        (address.name.clone(), address.email.clone())
    }

    /// What differs between a parsed message and msgreader's JSON of it, field by field.
    fn differences(mail: &MailMetadata, expected: &Value) -> Vec<String> {
        let mut differences = Vec::new();
        let subject = expected["subject"].as_str().and_then(mail::non_empty);
        if mail.subject != subject {
            differences.push(format!("subject {:?} != {subject:?}", mail.subject));
        }
        if expected.get("senderName").is_some() || expected.get("senderEmail").is_some() {
            let mut sender =
                expected_address(expected.get("senderName"), expected.get("senderEmail"));
            let theirs = mail.from.first().map(ours).unwrap_or_default();
            if sender.1.is_none() {
                // An Exchange sender's SMTP address is not in msgreader's JSON.
                sender.1 = theirs.1.clone();
            }
            if theirs != sender {
                differences.push(format!("sender {theirs:?} != {sender:?}"));
            }
        }
        for (kind, list) in [("to", &mail.to), ("cc", &mail.cc)] {
            let wanted: Vec<_> = expected["recipients"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["recipType"] == kind)
                .map(|r| expected_address(r.get("name"), r.get("email")))
                .collect();
            let got: Vec<_> = list.iter().map(ours).collect();
            let comparable: Vec<_> = got
                .iter()
                .zip(&wanted)
                .map(|(g, w)| {
                    if w.1.is_none() {
                        (g.0.clone(), None)
                    } else {
                        g.clone()
                    }
                })
                .collect();
            if comparable.len() != wanted.len() || comparable != wanted {
                differences.push(format!("{kind} {got:?} != {wanted:?}"));
            }
        }
        if let Some(id) = expected["messageId"].as_str() {
            // The EML path's form, without angle brackets: filing both forms gives one filing.
            let id = id.trim().trim_matches(['<', '>']);
            if mail.message_id.as_deref() != Some(id) {
                differences.push(format!("message id {:?} != {id:?}", mail.message_id));
            }
        }
        let names: Vec<_> = mail.attachments.iter().map(|a| a.name.clone()).collect();
        let wanted: Vec<_> = expected["attachments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                a.get("fileName")
                    .or_else(|| a.get("name"))
                    .and_then(Value::as_str)
                    .and_then(mail::non_empty)
            })
            .collect();
        if names != wanted {
            differences.push(format!("attachments {names:?} != {wanted:?}"));
        }
        differences
    }

    #[test]
    fn msgreader_corpus_reads_as_its_expected_json_says() {
        let Some(data) = corpus::shared_data() else {
            return;
        };
        let dir = data.join("msg/msgreader");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "msg"))
            .collect();
        files.sort();
        assert!(files.len() >= 40, "only {} .msg files", files.len());
        let (mut read, mut compared, mut equal) = (0, 0, 0);
        let mut failures = Vec::new();
        for path in &files {
            let bytes = std::fs::read(path).unwrap();
            let mail = match parse(&bytes, 3) {
                Ok(mail) => mail,
                Err(error) => {
                    failures.push(format!("{}: {error}", path.display()));
                    continue;
                }
            };
            read += 1;
            let Ok(json) = std::fs::read(path.with_extension("json")) else {
                continue;
            };
            let expected: Value = serde_json::from_slice(&json).unwrap();
            compared += 1;
            let differences = differences(&mail, &expected);
            if differences.is_empty() {
                equal += 1;
            } else {
                failures.push(format!("{}: {}", path.display(), differences.join("; ")));
            }
        }
        eprintln!(
            "{read} of {} read; {equal} of {compared} equal to their JSON\n{}",
            files.len(),
            failures.join("\n")
        );
        assert!(
            read * 10 >= files.len() * 9,
            "{read} of {} read",
            files.len()
        );
        assert!(compared >= 30, "only {compared} compared");
        assert!(equal * 10 >= compared * 9, "{equal} of {compared} equal");
    }
}
