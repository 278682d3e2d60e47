//! PowerPoint presentations (PPTX): each slide's text and its speaker notes; core properties.

use super::office::{self, Node};
use super::{DocumentMetadata, ExtractError, RawDocument};

/// A presentation with more slides than this is read for its first ones only.
const MAX_SLIDES: usize = 2_000;

pub(super) fn extract(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    let mut archive = office::open(bytes, "PPTX")?;
    let slides = office::numbered_entries(&archive, "ppt/slides/slide");
    if slides.is_empty() {
        return Err(ExtractError::Malformed(
            "broken PPTX: it has no slides".into(),
        ));
    }
    let notes = office::numbered_entries(&archive, "ppt/notesSlides/notesSlide");
    let mut text = String::new();
    for name in slides.into_iter().chain(notes).take(MAX_SLIDES * 2) {
        if let Ok(Some(xml)) = office::read_entry(&mut archive, &name) {
            text.push_str(&slide_text(&xml));
            text.push('\n');
        }
    }
    let mut metadata = DocumentMetadata {
        format: "pptx".into(),
        ..DocumentMetadata::default()
    };
    office::read_core_properties(&mut archive, &mut metadata);
    Ok(RawDocument {
        text: office::tidy(&text),
        metadata,
    })
}

/// DrawingML text: `a:t` runs, a line per `a:p`, `a:br` as a line break.
fn slide_text(xml: &[u8]) -> String {
    let mut text = String::new();
    let mut in_text = false;
    let _ = office::walk(xml, |node| match node {
        Node::Open(element) if office::local_name(element) == b"t" => in_text = true,
        Node::Leaf(element) if office::local_name(element) == b"br" => text.push('\n'),
        Node::Text(content) if in_text => text.push_str(content),
        Node::Close(b"t") => in_text = false,
        Node::Close(b"p") => text.push('\n'),
        _ => {}
    });
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_breaks() {
        let xml = br#"<p:sld><p:txBody><a:p><a:r><a:t>Dagsorden</a:t></a:r></a:p><a:p><a:r><a:t>Punkt</a:t></a:r><a:br/><a:r><a:t>&#230;ndret</a:t></a:r></a:p></p:txBody></p:sld>"#;
        assert_eq!(slide_text(xml), "Dagsorden\nPunkt\nændret\n");
    }
}
