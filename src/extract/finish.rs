//! The last step of every extraction: identifiers from the raw text, then CPR masked everywhere.

use std::borrow::Cow;

use super::{
    DocumentMetadata, Extracted, Extractor, Format, ItemKind, MailMetadata, Metadata, RawDocument,
    detect,
};
use crate::domain::identifiers::redact_cpr;

/// `format` is the mail's own (RFC 822 or Outlook), for the reported content type.
pub(super) fn mail(extractor: &Extractor, mut mail: MailMetadata, format: Format) -> Extracted {
    let identifiers = {
        let mut scanned = Vec::new();
        collect_mail_scan(&mail, &mut scanned);
        extractor
            .patterns
            .find(&scanned.join("\n\n"), &extractor.cpr_hasher)
    };
    let mut text = mail_text(&mail);
    mask(&mut text);
    mask_mail(&mut mail);
    Extracted {
        kind: ItemKind::Mail,
        content_type: detect::mime_type(format).to_owned(),
        metadata: Metadata::Mail(mail),
        text,
        identifiers,
        truncated: Vec::new(),
    }
}

pub(super) fn document(extractor: &Extractor, document: RawDocument, format: Format) -> Extracted {
    let RawDocument {
        mut text,
        mut metadata,
    } = document;
    let identifiers = {
        let properties = [&metadata.title, &metadata.author, &metadata.subject]
            .into_iter()
            .flatten();
        let custom = metadata
            .custom_properties
            .iter()
            .flat_map(|(name, value)| [name, value]);
        let scanned: Vec<&str> = std::iter::once(&text)
            .chain(properties)
            .chain(custom)
            .map(String::as_str)
            .collect();
        extractor
            .patterns
            .find(&scanned.join("\n\n"), &extractor.cpr_hasher)
    };
    mask(&mut text);
    mask_document(&mut metadata);
    Extracted {
        kind: ItemKind::Document,
        content_type: detect::mime_type(format).to_owned(),
        metadata: Metadata::Document(metadata),
        text,
        identifiers,
        truncated: Vec::new(),
    }
}

/// Subject, body and every attachment's text, nested messages included, a blank line apart.
fn mail_text(mail: &MailMetadata) -> String {
    let mut parts: Vec<Cow<'_, str>> = Vec::new();
    parts.extend(mail.subject.as_deref().map(Cow::Borrowed));
    parts.push(Cow::Borrowed(&mail.body_text));
    for attachment in &mail.attachments {
        parts.push(Cow::Borrowed(&attachment.text));
        if let Some(nested) = &attachment.nested {
            parts.push(Cow::Owned(mail_text(nested)));
        }
    }
    parts.retain(|part| !part.trim().is_empty());
    parts.join("\n\n")
}

/// Everything identifiers may hide in, in reading order: subject, body, addresses, then each
/// attachment's name, text and nested message.
fn collect_mail_scan<'a>(mail: &'a MailMetadata, out: &mut Vec<Cow<'a, str>>) {
    out.extend(mail.subject.as_deref().map(Cow::Borrowed));
    out.push(Cow::Borrowed(&mail.body_text));
    for address in mail.from.iter().chain(&mail.to).chain(&mail.cc) {
        let name = address.name.as_deref().unwrap_or_default();
        let email = address.email.as_deref().unwrap_or_default();
        out.push(Cow::Owned(format!("{name} <{email}>")));
    }
    for attachment in &mail.attachments {
        out.extend(attachment.name.as_deref().map(Cow::Borrowed));
        out.push(Cow::Borrowed(&attachment.text));
        if let Some(nested) = &attachment.nested {
            collect_mail_scan(nested, out);
        }
    }
}

fn mask(value: &mut String) {
    if let Cow::Owned(masked) = redact_cpr(value) {
        *value = masked;
    }
}

fn mask_all<'a>(values: impl IntoIterator<Item = &'a mut String>) {
    values.into_iter().for_each(mask);
}

fn mask_mail(mail: &mut MailMetadata) {
    mask_all(mail.subject.iter_mut());
    for address in mail.from.iter_mut().chain(&mut mail.to).chain(&mut mail.cc) {
        mask_all(address.name.iter_mut().chain(address.email.iter_mut()));
    }
    // Message-IDs and Thread-Index stay as sent: they are machine identifiers that threading
    // and de-duplication compare exactly, and masking could make two different mails equal.
    mask_all(mail.thread_topic.iter_mut());
    mask(&mut mail.body_text);
    for attachment in &mut mail.attachments {
        mask_all(
            attachment
                .name
                .iter_mut()
                .chain(attachment.text_error.iter_mut()),
        );
        mask(&mut attachment.content_type);
        mask(&mut attachment.text);
        if let Some(nested) = attachment.nested.as_deref_mut() {
            mask_mail(nested);
        }
    }
}

fn mask_document(metadata: &mut DocumentMetadata) {
    mask_all(
        metadata
            .title
            .iter_mut()
            .chain(metadata.author.iter_mut())
            .chain(metadata.subject.iter_mut())
            .chain(metadata.created.iter_mut())
            .chain(metadata.modified.iter_mut()),
    );
    metadata.custom_properties = std::mem::take(&mut metadata.custom_properties)
        .into_iter()
        .map(|(name, value)| {
            (
                redact_cpr(&name).into_owned(),
                redact_cpr(&value).into_owned(),
            )
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::corpus;

    const MAIL: &str = "From: \"Hans 111111-1118\" <Hans@Kommune.dk>\r\nTo: b@x.dk\r\n\
        Subject: Sag 27.24.00-G01-12-23 vedr. 1111111118\r\n\
        Content-Type: multipart/mixed; boundary=b\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nCVR 29189838, borger 111111-1118.\r\n\
        --b\r\nContent-Type: text/plain; name=\"bilag 010190-1234.txt\"\r\n\
        Content-Disposition: attachment; filename=\"bilag 010190-1234.txt\"\r\n\r\n\
        Bilag om 020290-1234 og 00.01.00.\r\n\
        --b\r\nContent-Type: message/rfc822\r\n\r\n\
        Subject: Indre 030390-1234\r\nFrom: c@x.dk\r\n\r\nIndre tekst sag@kommune.dk\r\n--b--\r\n";

    #[test]
    fn identifiers_come_from_everywhere_and_cpr_is_masked_everywhere() {
        let extracted = corpus::extractor()
            .extract(MAIL.as_bytes(), Format::Sniff)
            .unwrap();
        let ids = &extracted.identifiers;
        assert_eq!(ids.case_numbers, ["27.24.00-G01-12-23"]);
        assert_eq!(ids.kle, ["27.24.00", "00.01.00"]);
        assert_eq!(ids.cvr, ["29189838"]);
        assert_eq!(
            ids.emails,
            ["hans@kommune.dk", "b@x.dk", "sag@kommune.dk", "c@x.dk"]
        );
        let masked: Vec<_> = ids.cpr.iter().map(|c| c.masked.as_str()).collect();
        assert_eq!(
            masked,
            ["111111-XXXX", "010190-XXXX", "020290-XXXX", "030390-XXXX"]
        );

        let json = serde_json::to_string(&extracted).unwrap();
        for raw in [
            "1111111118",
            "111111-1118",
            "010190-1234",
            "020290-1234",
            "030390-1234",
        ] {
            assert!(!json.contains(raw), "{raw} leaked");
        }
        assert_eq!(extracted.kind, ItemKind::Mail);
        assert_eq!(extracted.content_type, "message/rfc822");
        assert_eq!(
            extracted.text,
            "Sag 27.24.00-G01-12-23 vedr. 111111-XXXX\n\nCVR 29189838, borger 111111-XXXX.\n\n\
             Bilag om 020290-XXXX og 00.01.00.\n\nIndre 030390-XXXX\n\nIndre tekst sag@kommune.dk"
        );
        let Metadata::Mail(mail) = &extracted.metadata else {
            panic!("not mail metadata");
        };
        assert_eq!(mail.from[0].name.as_deref(), Some("Hans 111111-XXXX"));
        assert_eq!(
            mail.attachments[0].name.as_deref(),
            Some("bilag 010190-XXXX.txt")
        );
    }

    #[test]
    fn text_and_html_documents() {
        let extractor = corpus::extractor();
        let html = extractor
            .extract(b"<title>Brev</title><p>CPR 1111111118</p>", Format::Html)
            .unwrap();
        assert_eq!(html.text, "CPR 111111-XXXX");
        assert_eq!(html.content_type, "text/html");
        assert_eq!(html.identifiers.cpr.len(), 1);
        let text = extractor
            .extract(b"Ans\xf8gning om st\xf8tte", Format::Sniff)
            .unwrap();
        assert_eq!(text.text, "Ansøgning om støtte");
        assert_eq!(text.content_type, "text/plain");
        assert_eq!(text.kind, ItemKind::Document);
    }
}
