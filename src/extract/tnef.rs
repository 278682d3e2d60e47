//! TNEF (`winmail.dat`, `application/ms-tnef`, [MS-OXTNEF]): what Exchange wraps a rich-text
//! mail's attachments and body in. Read for its attachments, embedded messages and body.

use super::lzfu;
use super::mapi::{self, Properties, id};
use super::rtf;
use super::text::html_to_text;

pub(super) const SIGNATURE: [u8; 4] = 0x223E_9F78u32.to_le_bytes();

const LEVEL_MESSAGE: u8 = 1;
const LEVEL_ATTACHMENT: u8 = 2;

// Attribute ids, the low word of the attribute tag ([MS-OXTNEF] 2.1.3.2).
const ATT_SUBJECT: u16 = 0x8004;
const ATT_BODY: u16 = 0x800C;
const ATT_ATTACH_DATA: u16 = 0x800F;
const ATT_ATTACH_TITLE: u16 = 0x8010;
const ATT_ATTACH_RENDDATA: u16 = 0x9002;
const ATT_MSG_PROPS: u16 = 0x9003;
const ATT_ATTACHMENT: u16 = 0x9005;
const ATT_OEM_CODEPAGE: u16 = 0x9007;

/// Bounds on hostile input: attributes read, properties per list, values per property.
const MAX_ATTRIBUTES: usize = 100_000;
const MAX_PROPERTIES: u32 = 10_000;
const MAX_VALUES: u32 = 1_000;
/// Embedded messages are TNEF streams inside TNEF streams; deeper ones are not opened.
const MAX_NESTING: usize = 8;

#[derive(Debug, Default)]
pub(super) struct Tnef {
    pub subject: Option<String>,
    /// The readable body: plain text, else HTML or RTF made readable.
    pub body: String,
    pub attachments: Vec<TnefAttachment>,
}

#[derive(Debug, Default)]
pub(super) struct TnefAttachment {
    pub file_name: Option<String>,
    /// The name Outlook shows: an OLE object's "Picture (…)", an attached message's subject.
    pub display_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
    /// An attached message (an Outlook item rather than a file).
    pub message: Option<Box<Tnef>>,
}

pub(super) fn is_tnef(bytes: &[u8]) -> bool {
    bytes.starts_with(&SIGNATURE)
}

/// Reads a TNEF stream; `None` when it is not one. A stream broken part-way gives what came
/// before the break.
pub(super) fn parse(bytes: &[u8]) -> Option<Tnef> {
    parse_nested(bytes, 0)
}

#[derive(Default)]
struct Building {
    subject: Option<Vec<u8>>,
    body: Option<Vec<u8>>,
    properties: Properties,
    codepage: Option<u32>,
    attachments: Vec<Pending>,
}

#[derive(Default)]
struct Pending {
    title: Option<Vec<u8>>,
    data: Option<Vec<u8>>,
    properties: Properties,
}

fn parse_nested(bytes: &[u8], nesting: usize) -> Option<Tnef> {
    if !is_tnef(bytes) || nesting > MAX_NESTING {
        return None;
    }
    let mut at = 6; // signature and legacy key
    let mut message = Building::default();
    for _ in 0..MAX_ATTRIBUTES {
        let Some(header) = bytes.get(at..at + 9) else {
            break;
        };
        let level = header[0];
        let tag = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
        let length = u32::from_le_bytes([header[5], header[6], header[7], header[8]]) as usize;
        let Some(data) = bytes.get(at + 9..(at + 9).saturating_add(length)) else {
            break;
        };
        at += 9 + length + 2; // and the checksum
        let attribute = tag as u16;
        match level {
            LEVEL_MESSAGE => match attribute {
                ATT_SUBJECT => message.subject = Some(data.to_vec()),
                ATT_BODY => message.body = Some(data.to_vec()),
                ATT_MSG_PROPS => message.properties = properties(data),
                ATT_OEM_CODEPAGE => {
                    message.codepage = data
                        .get(..4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                }
                _ => {}
            },
            LEVEL_ATTACHMENT => {
                if attribute == ATT_ATTACH_RENDDATA || message.attachments.is_empty() {
                    message.attachments.push(Pending::default());
                }
                let Some(attachment) = message.attachments.last_mut() else {
                    continue;
                };
                match attribute {
                    ATT_ATTACH_TITLE => attachment.title = Some(data.to_vec()),
                    ATT_ATTACH_DATA => attachment.data = Some(data.to_vec()),
                    ATT_ATTACHMENT => attachment.properties = properties(data),
                    _ => {}
                }
            }
            _ => break,
        }
    }
    Some(finish(message, nesting))
}

fn finish(message: Building, nesting: usize) -> Tnef {
    let codepage = message.codepage.or_else(|| message.properties.codepage());
    let decode = |bytes: &[u8]| {
        let text = mapi::decode_8bit(bytes, codepage);
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    };
    let properties = &message.properties;
    let body = message
        .body
        .as_deref()
        .and_then(decode)
        .or_else(|| properties.string(id::BODY, codepage))
        .map(|text| text.replace("\r\n", "\n").trim().to_owned())
        .or_else(|| {
            properties
                .bytes(id::HTML)
                .map(|html| html_to_text(&mapi::decode_8bit(html, codepage)))
        })
        .or_else(|| {
            let rtf = lzfu::decompress(properties.bytes(id::RTF_COMPRESSED)?).ok()?;
            Some(rtf::read(&rtf).into_text())
        })
        .unwrap_or_default();
    let attachments = message
        .attachments
        .into_iter()
        .map(|pending| attachment(pending, codepage, nesting))
        .collect();
    Tnef {
        subject: properties
            .string(id::SUBJECT, codepage)
            .or_else(|| message.subject.as_deref().and_then(decode)),
        body,
        attachments,
    }
}

fn attachment(pending: Pending, codepage: Option<u32>, nesting: usize) -> TnefAttachment {
    let properties = &pending.properties;
    let file_name = [id::ATTACH_LONG_FILENAME, id::ATTACH_FILENAME]
        .into_iter()
        .find_map(|id| properties.string(id, codepage))
        .or_else(|| {
            let title = mapi::decode_8bit(pending.title.as_deref()?, codepage);
            let title = title.trim();
            (!title.is_empty()).then(|| title.to_owned())
        });
    let display_name = properties.string(id::DISPLAY_NAME, codepage);
    let content_type = properties
        .string(id::ATTACH_MIME_TAG, codepage)
        .filter(|tag| tag.contains('/'))
        .map(|tag| tag.to_ascii_lowercase());
    // An attached message or OLE object: an interface id, then the object's own stream.
    let object = properties
        .bytes(id::ATTACH_DATA)
        .and_then(|data| data.get(16..))
        .filter(|_| pending.data.is_none());
    let message = object
        .and_then(|stream| parse_nested(stream, nesting + 1))
        .map(Box::new);
    let bytes = match (&message, object) {
        (None, Some(object)) => object.to_vec(),
        _ => pending.data.unwrap_or_default(),
    };
    TnefAttachment {
        file_name,
        display_name,
        content_type,
        bytes,
        message,
    }
}

/// A MAPI property list ([MS-OXTNEF] 2.1.3.4): single values kept, multiple values and named
/// properties read past.
fn properties(data: &[u8]) -> Properties {
    let mut found = Properties::default();
    let _ = read_properties(&mut Bytes { data, at: 0 }, &mut found);
    found
}

fn read_properties(input: &mut Bytes<'_>, found: &mut Properties) -> Option<()> {
    let count = u32_at(input.take(4)?);
    for _ in 0..count.min(MAX_PROPERTIES) {
        let head = input.take(4)?;
        let kind = u16::from_le_bytes([head[0], head[1]]);
        let property = u16::from_le_bytes([head[2], head[3]]);
        if property >= 0x8000 {
            input.take(16)?; // property set GUID
            if u32_at(input.take(4)?) == 0 {
                input.take(4)?;
            } else {
                let length = u32_at(input.take(4)?) as usize;
                input.take(padded(length))?;
            }
        }
        let multiple = kind & 0x1000 != 0;
        let base = kind & 0x0FFF;
        let variable = matches!(
            base,
            mapi::kind::STRING8 | mapi::kind::UNICODE | mapi::kind::BINARY | mapi::kind::OBJECT
        );
        let values = if variable || multiple {
            u32_at(input.take(4)?)
        } else {
            1
        };
        for value in 0..values.min(MAX_VALUES) {
            let bytes = if variable {
                let length = u32_at(input.take(4)?) as usize;
                let bytes = input.take(length)?;
                input.take(padded(length) - length)?;
                bytes
            } else {
                input.take(fixed_size(base)?)?
            };
            if value == 0 && !multiple {
                let decoded = if variable {
                    mapi::variable_value(base, bytes)
                } else {
                    mapi::fixed_value(base, bytes)
                };
                if let Some(decoded) = decoded {
                    found.insert(property, decoded);
                }
            }
        }
    }
    Some(())
}

struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes)
    }
}

fn u32_at(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn padded(length: usize) -> usize {
    length.div_ceil(4).saturating_mul(4)
}

/// Stored size of a fixed-size value, padded to four bytes; `None` for a type not known.
fn fixed_size(kind: u16) -> Option<usize> {
    match kind {
        0x0001..=0x0004 | 0x000A | 0x000B => Some(4),
        0x0005..=0x0007 | 0x0014 | 0x0040 => Some(8),
        0x0048 => Some(16),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{corpus, mail};

    /// Whether every file MimeKit lists for a sample is among ours; MimeKit names a file
    /// without a name "Untitled Attachment".
    fn gives_every_listed_file(tnef: &Tnef, listed: &[&str]) -> bool {
        let mut ours: Vec<Option<&str>> = tnef
            .attachments
            .iter()
            .map(|a| a.file_name.as_deref())
            .collect();
        listed.iter().all(|&name| {
            let untitled = name.starts_with("Untitled");
            let found = ours
                .iter()
                .position(|&n| n == Some(name) || (untitled && n.is_none()));
            found.map(|at| ours.remove(at)).is_some()
        })
    }

    #[test]
    fn mimekit_samples_give_every_listed_attachment() {
        let Some(data) = corpus::shared_data() else {
            return;
        };
        let dir = data.join("eml/mimekit/tnef");
        let mut samples: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "tnef"))
            .collect();
        samples.sort();
        assert!(samples.len() >= 17, "only {} samples", samples.len());
        let mut missing = Vec::new();
        for path in &samples {
            let list = std::fs::read_to_string(path.with_extension("list")).unwrap_or_default();
            // The body MimeKit writes out as a file is the mail's body here, not an attachment.
            let listed: Vec<&str> = list
                .lines()
                .map(str::trim)
                .filter(|name| !name.is_empty() && !matches!(*name, "body.rtf" | "body.html"))
                .collect();
            let tnef = parse(&std::fs::read(path).unwrap()).unwrap_or_default();
            if !gives_every_listed_file(&tnef, &listed) {
                let ours: Vec<_> = tnef.attachments.iter().map(|a| &a.file_name).collect();
                missing.push(format!("{}: {ours:?} != {listed:?}", path.display()));
            }
        }
        let complete = samples.len() - missing.len();
        eprintln!(
            "{complete} of {} samples give every listed attachment\n{}",
            samples.len(),
            missing.join("\n")
        );
        assert!(
            complete * 10 >= samples.len() * 9,
            "{complete} of {} samples give every listed attachment",
            samples.len()
        );
    }

    #[test]
    fn winmail_dat_files_become_the_mails_attachments() {
        let Some(bytes) = corpus::read("eml/mimekit/tnef/rich-text.eml") else {
            return;
        };
        let mail = mail::parse(&bytes, 3).unwrap();
        let names: Vec<_> = mail.attachments.iter().map(|a| a.name.clone()).collect();
        assert!(
            names.iter().any(|n| n.as_deref() == Some("winmail.dat")),
            "{names:?}"
        );
        assert!(names.len() >= 2, "{names:?}");
        assert!(!mail.body_text.is_empty());
        for attachment in &mail.attachments {
            if let Some(content) = mail::attachment_content(&bytes, attachment.index) {
                assert_eq!(content.name, attachment.name);
                assert_eq!(content.bytes.len() as u64, attachment.size);
            }
        }
    }

    #[test]
    fn broken_streams_give_what_came_before() {
        assert!(parse(b"not tnef").is_none());
        let mut stream = SIGNATURE.to_vec();
        stream.extend_from_slice(&[0, 0]);
        // attAttachRenddata, then attAttachTitle "a.txt", then a truncated attribute.
        for (tag, data) in [(0x0006_9002u32, &b"rend"[..]), (0x0001_8010, b"a.txt\0")] {
            stream.push(LEVEL_ATTACHMENT);
            stream.extend_from_slice(&tag.to_le_bytes());
            stream.extend_from_slice(&(data.len() as u32).to_le_bytes());
            stream.extend_from_slice(data);
            stream.extend_from_slice(&[0, 0]);
        }
        stream.extend_from_slice(&[LEVEL_ATTACHMENT, 0x0F, 0x80, 6, 0, 0xFF, 0xFF, 0xFF, 0x7F]);
        let tnef = parse(&stream).unwrap();
        assert_eq!(tnef.attachments.len(), 1);
        assert_eq!(tnef.attachments[0].file_name.as_deref(), Some("a.txt"));
        assert!(
            properties(&[0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00])
                .int(0)
                .is_none()
        );
    }
}
