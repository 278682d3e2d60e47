//! E-mail messages (RFC 822/MIME) read with mail-parser: headers, readable body, attachments.

use chrono::DateTime;
use mail_parser::parsers::MessageStream;
use mail_parser::{
    Address as Addresses, HeaderName, HeaderValue, Message, MessageParser, PartType,
};

use super::attachments;
use super::text::html_to_text;
use super::{Address, AttachmentContent, ExtractError, MailMetadata, guard};

/// Parses a top-level message: it must carry at least one of the headers every mail has.
pub(super) fn parse(bytes: &[u8], max_depth: usize) -> Result<MailMetadata, ExtractError> {
    parse_at(bytes, 0, max_depth)
}

/// Parses a message found `depth` levels down (an attachment sent as a file, not as a part).
pub(super) fn parse_at(
    bytes: &[u8],
    depth: usize,
    max_depth: usize,
) -> Result<MailMetadata, ExtractError> {
    let not_mail = || {
        ExtractError::Malformed(
            "not an e-mail message: it has no From, To, Subject, Date or Message-ID header".into(),
        )
    };
    guard("the e-mail message", || {
        let message = MessageParser::default().parse(bytes).ok_or_else(not_mail)?;
        let has_mail_header = message.root_part().headers.iter().any(|header| {
            matches!(
                header.name,
                HeaderName::From
                    | HeaderName::To
                    | HeaderName::Subject
                    | HeaderName::Date
                    | HeaderName::MessageId
            )
        });
        if !has_mail_header {
            return Err(not_mail());
        }
        Ok(convert(&message, depth, max_depth))
    })
}

/// Metadata of a parsed message; attachments are read only while `depth < max_depth`.
pub(super) fn convert(message: &Message<'_>, depth: usize, max_depth: usize) -> MailMetadata {
    let tnefs = attachments::tnefs(message);
    let mut body_text = body_text(message);
    if body_text.is_empty() {
        // A rich-text mail from Exchange may carry its only body inside winmail.dat.
        body_text = tnefs
            .iter()
            .map(|tnef| tnef.body.as_str())
            .find(|body| !body.is_empty())
            .unwrap_or_default()
            .to_owned();
    }
    MailMetadata {
        subject: message.subject().and_then(non_empty),
        from: addresses(message.from()),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        date: message
            .date()
            .filter(|date| date.is_valid())
            .and_then(|date| DateTime::from_timestamp(date.to_timestamp(), 0)),
        message_id: message.message_id().and_then(message_id),
        in_reply_to: message_ids(message.in_reply_to()),
        references: message_ids(message.references()),
        thread_index: message.header_raw("Thread-Index").and_then(non_empty),
        thread_topic: message
            .header_raw("Thread-Topic")
            .and_then(decode_unstructured),
        body_text,
        attachments: attachments::list(message, &tnefs, depth, max_depth),
    }
}

/// The attachment at `index` in mail-parser's attachment order, the order of the metadata.
pub(super) fn attachment_content(raw_mail: &[u8], index: usize) -> Option<AttachmentContent> {
    let content = guard("the e-mail message", || {
        let Some(message) = MessageParser::default().parse(raw_mail) else {
            return Ok(None);
        };
        let own = message
            .attachments()
            .nth(index)
            .map(|part| AttachmentContent {
                name: attachments::name(part),
                content_type: attachments::content_type(part),
                bytes: part.contents().to_vec(),
            });
        Ok(own.or_else(|| attachments::tnef_content(&message, index)))
    });
    content.ok().flatten()
}

/// Members of groups are listed like everyone else; entries with neither name nor address
/// are dropped.
fn addresses(field: Option<&Addresses<'_>>) -> Vec<Address> {
    let Some(field) = field else {
        return Vec::new();
    };
    field
        .iter()
        .map(|addr| Address {
            name: addr.name().and_then(non_empty),
            email: addr
                .address()
                .and_then(non_empty)
                .map(|email| email.to_lowercase()),
        })
        .filter(|address| address.name.is_some() || address.email.is_some())
        .collect()
}

fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => message_id(id).into_iter().collect(),
        HeaderValue::TextList(ids) => ids.iter().filter_map(|id| message_id(id)).collect(),
        _ => Vec::new(),
    }
}

fn message_id(id: &str) -> Option<String> {
    non_empty(id.trim().trim_start_matches('<').trim_end_matches('>'))
}

/// Outlook's Thread-Topic may be RFC 2047-encoded; mail-parser leaves unknown headers raw.
fn decode_unstructured(raw: &str) -> Option<String> {
    match MessageStream::new(raw.as_bytes()).parse_unstructured() {
        HeaderValue::Text(text) => non_empty(&text),
        _ => non_empty(raw),
    }
}

/// The text/plain body parts, or the HTML ones made readable when there is no plain text.
fn body_text(message: &Message<'_>) -> String {
    let ids = if message.text_body.is_empty() {
        &message.html_body
    } else {
        &message.text_body
    };
    let parts: Vec<String> = ids
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.replace("\r\n", "\n").trim().to_owned()),
            PartType::Html(html) => Some(html_to_text(html)),
            _ => None,
        })
        .filter(|text| !text.is_empty())
        .collect();
    parts.join("\n\n")
}

pub(super) fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::extract::corpus;

    /// What the last header called `name` in mail-parser's JSON holds; the API reads the last.
    fn expected_header<'a>(expected: &'a Value, name: &str) -> Option<&'a Value> {
        expected["parts"][0]["headers"]
            .as_array()?
            .iter()
            .rev()
            .find(|h| h["name"] == name)
            .map(|h| &h["value"])
    }

    fn expected_addresses(value: Option<&Value>) -> Vec<Address> {
        let Some(value) = value.map(|v| &v["Address"]) else {
            return Vec::new();
        };
        let list = value["List"].as_array().cloned().unwrap_or_default();
        let groups = value["Group"].as_array().cloned().unwrap_or_default();
        let members = groups
            .iter()
            .flat_map(|g| g["addresses"].as_array().cloned().unwrap_or_default());
        list.into_iter()
            .chain(members)
            .map(|a| Address {
                name: a["name"].as_str().and_then(non_empty),
                email: a["address"]
                    .as_str()
                    .and_then(non_empty)
                    .map(|e| e.to_lowercase()),
            })
            .filter(|a| a.name.is_some() || a.email.is_some())
            .collect()
    }

    #[test]
    fn stalwart_corpus_matches_mail_parser_expectations() {
        let Some(data) = corpus::shared_data() else {
            return;
        };
        let root = data.join("eml/stalwart-mail-parser");
        let mut compared = 0;
        for folder in ["legacy", "malformed", "thirdparty", "rfc"] {
            let mut names: Vec<_> = std::fs::read_dir(root.join(folder))
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            names.sort();
            for eml in names
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            {
                let json = std::fs::read(eml.with_extension("json")).unwrap();
                let expected: Value = serde_json::from_slice(&json).unwrap();
                let bytes = std::fs::read(&eml).unwrap();
                let has_mail_header = ["from", "to", "subject", "date", "message_id"]
                    .iter()
                    .any(|name| expected_header(&expected, name).is_some());
                let mail = match parse(&bytes, 2) {
                    Ok(mail) => mail,
                    Err(e) if !has_mail_header => {
                        assert!(e.to_string().starts_with("not an e-mail message"));
                        continue;
                    }
                    Err(e) => panic!("{}: {e}", eml.display()),
                };
                let at = eml.display();
                let subject =
                    expected_header(&expected, "subject").and_then(|v| v["Text"].as_str());
                assert_eq!(mail.subject, subject.and_then(non_empty), "{at}");
                assert_eq!(
                    mail.from,
                    expected_addresses(expected_header(&expected, "from")),
                    "{at}"
                );
                assert_eq!(
                    mail.to,
                    expected_addresses(expected_header(&expected, "to")),
                    "{at}"
                );
                let attachments = expected["attachments"].as_array().map_or(0, Vec::len);
                assert_eq!(mail.attachments.len(), attachments, "{at}");
                compared += 1;
            }
        }
        assert!(compared >= 80, "only {compared} messages compared");
    }

    #[test]
    fn danish_mail_with_inline_image_and_odt_attachment() {
        let Some(bytes) =
            corpus::read("eml/os2datascanner/mail-with-inline-img-and-attached-odt.eml")
        else {
            return;
        };
        let mail = parse(&bytes, 2).unwrap();
        assert_eq!(
            mail.subject.as_deref(),
            Some("Mail med inline billede og vedhæftet fil")
        );
        assert_eq!(mail.from[0].name.as_deref(), Some("Paw Møller"));
        assert_eq!(mail.from[0].email.as_deref(), Some("pawsen@gmail.com"));
        assert!(
            mail.body_text
                .starts_with("Denne mail har et inline billede"),
            "{}",
            mail.body_text
        );
        assert_eq!(
            mail.message_id.as_deref(),
            Some("CAP6xULFuEzdY+Mj5WY5nt=9TfRuaWroy6-4LWmhpp9G2+vfzLw@mail.gmail.com")
        );
        assert_eq!(
            mail.date.map(|d| d.to_rfc3339()).as_deref(),
            Some("2021-10-11T07:38:41+00:00")
        );

        let image = mail
            .attachments
            .iter()
            .find(|a| a.content_type == "image/jpeg")
            .unwrap();
        assert!(image.inline, "the image is referenced from the HTML body");
        assert!(image.text.is_empty() && image.text_error.is_none());
        let odt = mail
            .attachments
            .iter()
            .find(|a| a.name.as_deref() == Some("embedded-cpr.odt"))
            .unwrap();
        assert!(!odt.inline);
        assert!(
            odt.text.contains("Uansvarlig Databehandling ApS"),
            "{}",
            odt.text
        );

        for attachment in &mail.attachments {
            let content = attachment_content(&bytes, attachment.index).unwrap();
            assert_eq!(content.name, attachment.name);
            assert_eq!(content.content_type, attachment.content_type);
            assert_eq!(content.bytes.len() as u64, attachment.size);
        }
        assert!(attachment_content(&bytes, mail.attachments.len()).is_none());
    }

    #[test]
    fn depth_limits_attachment_reading() {
        let Some(bytes) =
            corpus::read("eml/os2datascanner/mail-with-inline-img-and-attached-odt.eml")
        else {
            return;
        };
        let mail = parse(&bytes, 0).unwrap();
        assert!(
            mail.attachments
                .iter()
                .all(|a| a.text.is_empty() && a.nested.is_none())
        );
    }

    #[test]
    fn headers_threads_and_nested_messages() {
        let raw = "From: \"Sagsbehandler\" <SB@Kommune.dk>\r\nTo: Team: a@x.dk, B <b@X.dk>;\r\n\
            Subject: Svar\r\nMessage-ID: <1@x>\r\nIn-Reply-To: <0@x>\r\nReferences: <a@x> <0@x>\r\n\
            Thread-Topic: =?utf-8?q?Bl=C3=A5_sag?=\r\nThread-Index: AdgB1234==\r\n\
            Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHej\r\n\
            --b\r\nContent-Type: message/rfc822\r\n\r\nSubject: Indre\r\nFrom: c@x.dk\r\n\r\nIndre tekst\r\n--b--\r\n";
        let mail = parse(raw.as_bytes(), 2).unwrap();
        assert_eq!(
            mail.from,
            [Address {
                name: Some("Sagsbehandler".into()),
                email: Some("sb@kommune.dk".into())
            }]
        );
        let emails: Vec<_> = mail.to.iter().filter_map(|a| a.email.as_deref()).collect();
        assert_eq!(emails, ["a@x.dk", "b@x.dk"]);
        assert_eq!(mail.message_id.as_deref(), Some("1@x"));
        assert_eq!(mail.in_reply_to, ["0@x"]);
        assert_eq!(mail.references, ["a@x", "0@x"]);
        assert_eq!(mail.thread_topic.as_deref(), Some("Blå sag"));
        assert_eq!(mail.thread_index.as_deref(), Some("AdgB1234=="));
        assert_eq!(mail.body_text, "Hej");
        let nested = mail.attachments[0].nested.as_deref().unwrap();
        assert_eq!(nested.subject.as_deref(), Some("Indre"));
        assert_eq!(nested.body_text, "Indre tekst");
    }

    #[test]
    fn html_only_body_becomes_text() {
        let raw = b"From: a@x.dk\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hej <b>med</b> dig</p><p>Farvel</p>";
        assert_eq!(parse(raw, 1).unwrap().body_text, "Hej med dig\n\nFarvel");
    }
}
