//! Word documents (DOCX): body, notes, headers and footers as text; core, app and custom properties.

use std::collections::BTreeMap;

use super::office::{self, Node};
use super::{DocumentMetadata, ExtractError, RawDocument, reason};

pub(super) fn extract(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    let mut archive = office::open(bytes, "DOCX")?;
    let body = office::read_entry(&mut archive, "word/document.xml")?.ok_or_else(|| {
        ExtractError::Malformed("broken DOCX: word/document.xml is missing".into())
    })?;
    let mut text = body_text(&body).map_err(|e| {
        ExtractError::Malformed(format!(
            "broken DOCX: word/document.xml is not valid XML ({})",
            reason(&e)
        ))
    })?;

    // Notes, headers and footers add text but are not essential: a broken one is skipped.
    // A real document has a handful of these; a crafted one with thousands would multiply the
    // per-entry limit.
    for name in secondary_parts(&office::entry_names(&archive))
        .into_iter()
        .take(32)
    {
        if let Ok(Some(xml)) = office::read_entry(&mut archive, &name)
            && let Ok(part) = body_text(&xml)
            && !part.trim().is_empty()
        {
            text.push_str("\n\n");
            text.push_str(&part);
        }
    }

    let mut metadata = DocumentMetadata {
        format: "docx".into(),
        ..DocumentMetadata::default()
    };
    office::read_core_properties(&mut archive, &mut metadata);
    if let Ok(Some(app)) = office::read_entry(&mut archive, "docProps/app.xml") {
        let found = office::property_texts(&app, &["Pages"]);
        metadata.pages = office::property(&found, "Pages").and_then(|p| p.parse().ok());
    }
    if let Ok(Some(custom)) = office::read_entry(&mut archive, "docProps/custom.xml") {
        metadata.custom_properties = custom_properties(&custom);
    }
    Ok(RawDocument {
        text: office::tidy(&text),
        metadata,
    })
}

/// Footnotes and endnotes first (they belong to the body), then headers and footers.
fn secondary_parts(names: &[String]) -> Vec<String> {
    let series = |prefix: &str| {
        let mut found: Vec<String> = names
            .iter()
            .filter(|n| {
                n.starts_with(prefix) && n.ends_with(".xml") && !n[prefix.len()..].contains('/')
            })
            .cloned()
            .collect();
        found.sort();
        found
    };
    let mut parts = series("word/footnotes");
    parts.extend(series("word/endnotes"));
    parts.extend(series("word/header"));
    parts.extend(series("word/footer"));
    parts
}

/// Text of a WordprocessingML part: runs' `w:t`, tabs and breaks, a line per paragraph.
fn body_text(xml: &[u8]) -> Result<String, quick_xml::Error> {
    let mut text = String::new();
    // `w:tab` also defines tab stops in paragraph properties, so only runs' tabs count.
    let mut run_depth = 0usize;
    let mut in_text = false;
    office::walk(xml, |node| match node {
        Node::Open(element) => match office::local_name(element) {
            b"r" => run_depth += 1,
            b"t" => in_text = run_depth > 0,
            _ => {}
        },
        Node::Leaf(element) if run_depth > 0 => match office::local_name(element) {
            b"tab" => text.push('\t'),
            b"br" | b"cr" => text.push('\n'),
            b"noBreakHyphen" => text.push('-'),
            _ => {}
        },
        Node::Leaf(_) => {}
        Node::Close(name) => match name {
            b"r" => run_depth = run_depth.saturating_sub(1),
            b"t" => in_text = false,
            b"p" => text.push('\n'),
            b"tc" => text.push('\t'),
            _ => {}
        },
        Node::Text(content) if in_text => text.push_str(content),
        Node::Text(_) => {}
    })?;
    Ok(text)
}

/// `docProps/custom.xml`: each `property` element's `name` attribute and its value's text.
fn custom_properties(xml: &[u8]) -> BTreeMap<String, String> {
    let mut properties = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    let _ = office::walk(xml, |node| match node {
        Node::Open(element) if office::local_name(element) == b"property" => {
            current = office::attribute(element, b"name").map(|name| (name, String::new()));
        }
        Node::Text(content) => {
            if let Some((_, value)) = current.as_mut() {
                value.push_str(content);
            }
        }
        Node::Close(b"property") => {
            if let Some((name, value)) = current.take() {
                properties.insert(name, value.trim().to_owned());
            }
        }
        _ => {}
    });
    properties
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::domain::identifiers::{CprHasher, CprNumber};
    use crate::extract::{Format, Metadata, corpus};

    #[test]
    fn danish_letter_text_and_properties() {
        let Some(bytes) = corpus::read("docs/danish/embedded-cpr.docx") else {
            return;
        };
        let document = extract(&bytes).unwrap();
        assert!(
            document
                .text
                .starts_with("Uansvarlig Databehandling ApS\nStrandvej 198, 1. tv.")
        );
        assert!(
            document.text.contains("Kære Hr. Testsen,"),
            "{}",
            document.text
        );
        assert_eq!(
            document.metadata.author.as_deref(),
            Some("Alexander John Faithfull")
        );
        assert_eq!(
            document.metadata.created.as_deref(),
            Some("2019-12-12T13:50:43Z")
        );
        // The CPR number in this letter is in an image, which has no text.
        let extracted = corpus::extractor().extract(&bytes, Format::Docx).unwrap();
        assert!(extracted.identifiers.cpr.is_empty());
    }

    #[test]
    fn cpr_in_text_comes_out_masked_and_hashed() {
        let Some(bytes) = corpus::read("docs/danish/positive_text_in_docx.docx") else {
            return;
        };
        let extracted = corpus::extractor().extract(&bytes, Format::Sniff).unwrap();
        assert_eq!(extracted.text, "Der er ikke en kat :( 111111-XXXX");
        let cpr = CprNumber::parse("1111111118").unwrap();
        assert_eq!(
            extracted.identifiers.cpr,
            [CprHasher::new(b"corpus test key").reference(&cpr)]
        );
        assert!(
            !serde_json::to_string(&extracted)
                .unwrap()
                .contains("1111111118")
        );
        assert!(matches!(extracted.metadata, Metadata::Document(ref d) if d.format == "docx"));

        let Some(negative) = corpus::read("docs/danish/negative_text_in_docx.docx") else {
            return;
        };
        let extracted = corpus::extractor()
            .extract(&negative, Format::Docx)
            .unwrap();
        assert_eq!(extracted.text, "Der er ikke en kat :(");
        assert!(extracted.identifiers.cpr.is_empty());
    }

    #[test]
    fn truncated_docx_is_malformed() {
        let Some(bytes) = corpus::read("docs/danish/embedded-cpr.docx") else {
            return;
        };
        for cut in [4, 100, bytes.len() / 2, bytes.len() - 10] {
            assert!(
                matches!(extract(&bytes[..cut]), Err(ExtractError::Malformed(_))),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn zip_without_document_part_is_malformed() {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("word/other.xml", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"<x/>").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        assert!(
            matches!(extract(&bytes), Err(ExtractError::Malformed(m)) if m.contains("word/document.xml"))
        );
    }

    #[test]
    fn runs_tabs_breaks_and_paragraphs() {
        let xml = br#"<w:document xmlns:w="w"><w:body>
            <w:p><w:pPr><w:tabs><w:tab w:val="left"/></w:tabs></w:pPr>
              <w:r><w:t>Sag</w:t><w:tab/><w:t xml:space="preserve">27.24.00 &amp; </w:t></w:r>
              <w:r><w:br/><w:t>Bl&#229;b&#xE6;r</w:t></w:r></w:p>
            <w:p><w:r><w:instrText>PAGE</w:instrText><w:t>Slut</w:t></w:r></w:p>
            </w:body></w:document>"#;
        assert_eq!(body_text(xml).unwrap(), "Sag\t27.24.00 & \nBlåbær\nSlut\n");
    }

    #[test]
    fn custom_properties_by_name() {
        let xml = br#"<Properties xmlns:vt="vt"><property fmtid="x" pid="2" name="DocId">
            <vt:lpwstr>SAG-17</vt:lpwstr></property><property name="Empty"/></Properties>"#;
        let properties = custom_properties(xml);
        assert_eq!(properties.get("DocId").map(String::as_str), Some("SAG-17"));
        assert_eq!(properties.len(), 1);
    }

    #[test]
    fn secondary_parts_in_reading_order() {
        let names: Vec<String> = [
            "word/footer1.xml",
            "word/header2.xml",
            "word/document.xml",
            "word/footnotes.xml",
            "word/header1.xml",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            secondary_parts(&names),
            [
                "word/footnotes.xml",
                "word/header1.xml",
                "word/header2.xml",
                "word/footer1.xml"
            ]
        );
    }
}
