//! OpenDocument text (ODT): paragraphs and headings as text; title, creator and dates from meta.xml.

use super::office::{self, Node};
use super::{DocumentMetadata, ExtractError, RawDocument, reason};

pub(super) fn extract(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    let mut archive = office::open(bytes, "ODT")?;
    let content = office::read_entry(&mut archive, "content.xml")?
        .ok_or_else(|| ExtractError::Malformed("broken ODT: content.xml is missing".into()))?;
    let text = body_text(&content).map_err(|e| {
        ExtractError::Malformed(format!(
            "broken ODT: content.xml is not valid XML ({})",
            reason(&e)
        ))
    })?;

    let mut metadata = DocumentMetadata {
        format: "odt".into(),
        ..DocumentMetadata::default()
    };
    if let Ok(Some(meta)) = office::read_entry(&mut archive, "meta.xml") {
        read_meta(&meta, &mut metadata);
    }
    Ok(RawDocument {
        text: office::tidy(&text),
        metadata,
    })
}

/// Text inside `text:p` and `text:h`, one line each; `text:s`, `text:tab` and
/// `text:line-break` stand for the whitespace they encode.
fn body_text(xml: &[u8]) -> Result<String, quick_xml::Error> {
    let mut text = String::new();
    let mut paragraph_depth = 0usize;
    office::walk(xml, |node| match node {
        Node::Open(element) => {
            if matches!(office::local_name(element), b"p" | b"h") {
                paragraph_depth += 1;
            }
        }
        Node::Leaf(element) => match office::local_name(element) {
            b"s" => {
                let count = office::attribute(element, b"c")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1usize);
                // A hostile count must not allocate without bound.
                text.extend(std::iter::repeat_n(' ', count.min(1024)));
            }
            b"tab" => text.push('\t'),
            b"line-break" => text.push('\n'),
            b"p" | b"h" => text.push('\n'),
            _ => {}
        },
        Node::Close(name) => {
            if matches!(name, b"p" | b"h") {
                paragraph_depth = paragraph_depth.saturating_sub(1);
                text.push('\n');
            }
        }
        Node::Text(content) if paragraph_depth > 0 => text.push_str(content),
        Node::Text(_) => {}
    })?;
    Ok(text)
}

fn read_meta(xml: &[u8], metadata: &mut DocumentMetadata) {
    let names = [
        "dc:title",
        "dc:creator",
        "meta:initial-creator",
        "dc:subject",
        "meta:creation-date",
        "dc:date",
    ];
    let found = office::property_texts(xml, &names);
    metadata.title = office::property(&found, "dc:title");
    metadata.author = office::property(&found, "dc:creator")
        .or_else(|| office::property(&found, "meta:initial-creator"));
    metadata.subject = office::property(&found, "dc:subject");
    metadata.created = office::property(&found, "meta:creation-date");
    metadata.modified = office::property(&found, "dc:date");

    let mut user_defined: Option<(String, String)> = None;
    let _ = office::walk(xml, |node| match node {
        Node::Open(element) | Node::Leaf(element) => match office::local_name(element) {
            b"document-statistic" => {
                metadata.pages =
                    office::attribute(element, b"page-count").and_then(|p| p.parse().ok());
            }
            b"user-defined" => {
                user_defined =
                    office::attribute(element, b"name").map(|name| (name, String::new()));
            }
            _ => {}
        },
        Node::Text(content) => {
            if let Some((_, value)) = user_defined.as_mut() {
                value.push_str(content);
            }
        }
        Node::Close(b"user-defined") => {
            if let Some((name, value)) = user_defined.take() {
                metadata
                    .custom_properties
                    .insert(name, value.trim().to_owned());
            }
        }
        Node::Close(_) => {}
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::corpus;

    #[test]
    fn danish_letter() {
        let Some(bytes) = corpus::read("docs/danish/embedded-cpr.odt") else {
            return;
        };
        let document = extract(&bytes).unwrap();
        assert!(
            document.text.starts_with("Uansvarlig Databehandling ApS\n"),
            "{}",
            document.text
        );
        assert!(document.text.contains("Med uansvarlige venlige hilsner"));
        assert_eq!(document.metadata.pages, Some(2));
        assert_eq!(
            document.metadata.author.as_deref(),
            Some("Alexander John Faithfull")
        );
        assert!(matches!(
            extract(&bytes[..bytes.len() / 2]),
            Err(ExtractError::Malformed(_))
        ));
    }

    #[test]
    fn paragraphs_spaces_tabs_and_breaks() {
        let xml = br#"<office:document-content xmlns:text="t" xmlns:office="o"><office:body>
            <office:automatic-styles>ignored</office:automatic-styles>
            <text:h>Overskrift</text:h>
            <text:p>Et<text:s text:c="3"/>to<text:tab/>tre<text:line-break/>fire <text:span>&amp; fem</text:span></text:p>
            <text:p/></office:body></office:document-content>"#;
        assert_eq!(
            body_text(xml).unwrap(),
            "Overskrift\nEt   to\ttre\nfire & fem\n\n"
        );
    }

    #[test]
    fn meta_properties() {
        let xml = r#"<office:document-meta xmlns:office="o" xmlns:dc="dc" xmlns:meta="m"><office:meta>
            <meta:initial-creator>Første</meta:initial-creator><dc:title>Titel</dc:title>
            <meta:creation-date>2019-12-12T12:50:43</meta:creation-date><dc:date>2019-12-13T00:00:00</dc:date>
            <meta:document-statistic meta:page-count="2"/>
            <meta:user-defined meta:name="Sagsnr">27.24.00-G01-12-23</meta:user-defined>
            </office:meta></office:document-meta>"#;
        let mut metadata = DocumentMetadata::default();
        read_meta(xml.as_bytes(), &mut metadata);
        assert_eq!(metadata.title.as_deref(), Some("Titel"));
        assert_eq!(metadata.author.as_deref(), Some("Første"));
        assert_eq!(metadata.created.as_deref(), Some("2019-12-12T12:50:43"));
        assert_eq!(metadata.modified.as_deref(), Some("2019-12-13T00:00:00"));
        assert_eq!(metadata.pages, Some(2));
        assert_eq!(
            metadata.custom_properties.get("Sagsnr").map(String::as_str),
            Some("27.24.00-G01-12-23")
        );
    }
}
