//! Excel workbooks (XLSX): every sheet's cells as text, a line per row; core properties.

use super::office::{self, Node};
use super::{DocumentMetadata, ExtractError, RawDocument};

/// A workbook with more sheets than this is read for its first ones only.
const MAX_SHEETS: usize = 256;

pub(super) fn extract(bytes: &[u8]) -> Result<RawDocument, ExtractError> {
    let mut archive = office::open(bytes, "XLSX")?;
    let shared = match office::read_entry(&mut archive, "xl/sharedStrings.xml")? {
        Some(xml) => shared_strings(&xml),
        None => Vec::new(),
    };
    let sheets = office::numbered_entries(&archive, "xl/worksheets/sheet");
    if sheets.is_empty() {
        return Err(ExtractError::Malformed(
            "broken XLSX: it has no worksheets".into(),
        ));
    }
    let mut text = String::new();
    for name in sheets.into_iter().take(MAX_SHEETS) {
        // A broken sheet loses its own text, not the workbook's.
        if let Ok(Some(xml)) = office::read_entry(&mut archive, &name) {
            text.push_str(&sheet_text(&xml, &shared));
            text.push('\n');
        }
    }
    let mut metadata = DocumentMetadata {
        format: "xlsx".into(),
        ..DocumentMetadata::default()
    };
    office::read_core_properties(&mut archive, &mut metadata);
    Ok(RawDocument {
        text: office::tidy(&text),
        metadata,
    })
}

/// The shared string table: each `si`'s text runs joined.
fn shared_strings(xml: &[u8]) -> Vec<String> {
    let mut strings = Vec::new();
    let mut current = String::new();
    let mut in_text = false;
    // Phonetic runs (`rPh`) repeat readings of East Asian text; they are not the cell's text.
    let mut in_phonetic = false;
    let _ = office::walk(xml, |node| match node {
        Node::Open(element) => match office::local_name(element) {
            b"t" => in_text = true,
            b"rPh" => in_phonetic = true,
            _ => {}
        },
        Node::Text(content) if in_text && !in_phonetic => current.push_str(content),
        Node::Close(b"t") => in_text = false,
        Node::Close(b"rPh") => in_phonetic = false,
        Node::Close(b"si") => strings.push(std::mem::take(&mut current)),
        Node::Leaf(element) if office::local_name(element) == b"si" => strings.push(String::new()),
        _ => {}
    });
    strings
}

/// Cells in document order, tab-separated, a line per row; shared strings looked up.
fn sheet_text(xml: &[u8], shared: &[String]) -> String {
    let mut text = String::new();
    let mut cell_type: Option<String> = None;
    let mut value = String::new();
    let mut in_value = false;
    let mut row_cells = 0usize;
    let _ = office::walk(xml, |node| match node {
        Node::Open(element) => match office::local_name(element) {
            b"c" => {
                cell_type = office::attribute(element, b"t");
                value.clear();
            }
            b"v" | b"t" => in_value = true,
            _ => {}
        },
        Node::Text(content) if in_value => value.push_str(content),
        Node::Close(name) => match name {
            b"v" | b"t" => in_value = false,
            b"c" => {
                let shown = match cell_type.as_deref() {
                    Some("s") => value
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| shared.get(i))
                        .cloned()
                        .unwrap_or_default(),
                    Some("b") => if value.trim() == "1" { "TRUE" } else { "FALSE" }.to_owned(),
                    _ => value.trim().to_owned(),
                };
                if !shown.is_empty() {
                    if row_cells > 0 {
                        text.push('\t');
                    }
                    text.push_str(&shown);
                    row_cells += 1;
                }
            }
            b"row" => {
                if row_cells > 0 {
                    text.push('\n');
                }
                row_cells = 0;
            }
            _ => {}
        },
        _ => {}
    });
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_of_all_kinds_become_rows() {
        let shared = shared_strings(
            br#"<sst><si><t>Sag</t></si><si><r><t>Bl</t></r><r><t>&#229;</t></r><rPh><t>x</t></rPh></si><si/></sst>"#,
        );
        assert_eq!(shared, ["Sag", "Blå", ""]);
        let sheet = br#"<worksheet><sheetData>
            <row><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>
            <row><c t="n"><v>42.5</v></c><c t="inlineStr"><is><t>fri tekst</t></is></c><c t="b"><v>1</v></c><c t="s"><v>99</v></c></row>
            </sheetData></worksheet>"#;
        assert_eq!(
            sheet_text(sheet, &shared),
            "Sag\tBlå\n42.5\tfri tekst\tTRUE\n"
        );
    }
}
