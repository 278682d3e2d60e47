//! Shared plumbing for zipped XML office formats: bounded entry reads and XML text events.

use std::io::{Cursor, Read};

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use super::{DocumentMetadata, ExtractError, reason};

/// No single entry may inflate beyond this: a zip bomb must not exhaust memory. A document
/// part of this size holds tens of thousands of pages of text.
const MAX_ENTRY_BYTES: u64 = 64 * 1024 * 1024;

pub(super) type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

pub(super) fn open<'a>(bytes: &'a [u8], kind: &str) -> Result<Archive<'a>, ExtractError> {
    zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        ExtractError::Malformed(format!(
            "broken {kind}: not a readable zip archive ({})",
            reason(&e)
        ))
    })
}

/// The inflated content of `name`, `None` if the archive has no such entry.
pub(super) fn read_entry(
    archive: &mut Archive<'_>,
    name: &str,
) -> Result<Option<Vec<u8>>, ExtractError> {
    let broken = |e: &dyn std::fmt::Display| {
        ExtractError::Malformed(format!("broken archive entry {name}: {}", reason(e)))
    };
    let mut entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(broken(&e)),
    };
    let too_large =
        || ExtractError::Malformed(format!("archive entry {name} is larger than allowed"));
    if entry.size() > MAX_ENTRY_BYTES {
        return Err(too_large());
    }
    // The declared size may lie; the limit on the reader is what actually protects.
    let mut content = Vec::new();
    entry
        .by_ref()
        .take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut content)
        .map_err(|e| broken(&e))?;
    if content.len() as u64 > MAX_ENTRY_BYTES {
        return Err(too_large());
    }
    Ok(Some(content))
}

/// Entry names in archive order, for the parts that come in numbered series (`header1.xml`, …).
pub(super) fn entry_names(archive: &Archive<'_>) -> Vec<String> {
    archive.file_names().map(str::to_owned).collect()
}

/// One XML event reduced to what text extraction needs; names are local (prefix dropped).
pub(super) enum Node<'a> {
    Open(&'a BytesStart<'a>),
    /// A self-closing element, `<w:tab/>`.
    Leaf(&'a BytesStart<'a>),
    Close(&'a [u8]),
    Text(&'a str),
}

/// Walks `xml`, handing each element and piece of character data to `visit`. References
/// (`&amp;`, `&#230;`) arrive as text. Malformed XML ends the walk with an error.
pub(super) fn walk(xml: &[u8], mut visit: impl FnMut(Node<'_>)) -> Result<(), quick_xml::Error> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(start) => visit(Node::Open(&start)),
            Event::Empty(start) => visit(Node::Leaf(&start)),
            Event::End(end) => visit(Node::Close(end.local_name().into_inner())),
            Event::Text(text) => visit(Node::Text(&text.decode()?)),
            Event::CData(data) => visit(Node::Text(&data.decode()?)),
            Event::GeneralRef(reference) => {
                if let Some(resolved) = resolve_reference(&reference) {
                    visit(Node::Text(&resolved));
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

fn resolve_reference(reference: &BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c.to_string());
    }
    let name = reference.decode().ok()?;
    quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
}

/// The local name of an element, `t` for `<w:t>`.
pub(super) fn local_name<'a>(element: &'a BytesStart<'_>) -> &'a [u8] {
    element.local_name().into_inner()
}

/// The value of the attribute with the given local name, unescaped.
pub(super) fn attribute(element: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().into_inner() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Texts of the elements named by `names` (qualified, e.g. `dc:title`), as `(name, text)`
/// pairs in document order: how both formats store their document properties.
pub(super) fn property_texts(xml: &[u8], names: &[&str]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut current: Option<(String, String)> = None;
    // Properties are optional: a broken properties part loses properties, not the document.
    let _ = walk(xml, |node| match node {
        Node::Open(element) => {
            let name = String::from_utf8_lossy(element.name().into_inner()).into_owned();
            current = names
                .contains(&name.as_str())
                .then(|| (name, String::new()));
        }
        Node::Text(text) => {
            if let Some((_, value)) = current.as_mut() {
                value.push_str(text);
            }
        }
        Node::Close(_) => {
            if let Some((name, value)) = current.take() {
                let value = value.trim();
                if !value.is_empty() {
                    found.push((name, value.to_owned()));
                }
            }
        }
        Node::Leaf(_) => {}
    });
    found
}

/// Title, author, subject and dates from `docProps/core.xml`, shared by every OOXML format.
pub(super) fn read_core_properties(archive: &mut Archive<'_>, metadata: &mut DocumentMetadata) {
    let Ok(Some(core)) = read_entry(archive, "docProps/core.xml") else {
        return;
    };
    let found = property_texts(
        &core,
        &[
            "dc:title",
            "dc:creator",
            "dc:subject",
            "dcterms:created",
            "dcterms:modified",
        ],
    );
    metadata.title = property(&found, "dc:title");
    metadata.author = property(&found, "dc:creator");
    metadata.subject = property(&found, "dc:subject");
    metadata.created = property(&found, "dcterms:created");
    metadata.modified = property(&found, "dcterms:modified");
}

/// Entries of a numbered series (`xl/worksheets/sheet`, `ppt/slides/slide`) in number order.
pub(super) fn numbered_entries(archive: &Archive<'_>, prefix: &str) -> Vec<String> {
    let mut found: Vec<(u32, String)> = archive
        .file_names()
        .filter_map(|name| {
            let number = name.strip_prefix(prefix)?.strip_suffix(".xml")?;
            Some((number.parse().ok()?, name.to_owned()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, name)| name).collect()
}

/// The first text recorded for `name` by [`property_texts`].
pub(super) fn property(found: &[(String, String)], name: &str) -> Option<String> {
    found
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| value.clone())
}

/// Trims trailing whitespace from every line and collapses runs of blank lines.
pub(super) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}
