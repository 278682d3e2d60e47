//! A PDF whose cross-reference table is wrong or missing (a damaged trailer, offsets off by a
//! byte, old Mac line ends), given a new table from where its objects actually are, as PDF
//! readers such as pdftotext do before giving up.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Object numbers beyond this are not believed: the new table would be larger than the file.
const MAX_OBJECT_NUMBER: u32 = 1_000_000;
/// How far into an object the catalogue's `/Type /Catalog` is looked for.
const CATALOG_WINDOW: usize = 4096;

/// The bytes with a new cross-reference section and trailer appended, naming every
/// `N G obj` found and the catalogue; `None` when there is no catalogue to name.
pub(super) fn with_rebuilt_xref(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut objects: BTreeMap<u32, (u16, usize)> = BTreeMap::new();
    let mut root = None;
    let mut at = 0;
    while let Some(found) = find(&bytes[at..], b"obj") {
        let position = at + found;
        at = position + 3;
        let follows = bytes.get(position + 3).copied().unwrap_or(b' ');
        if follows.is_ascii_alphanumeric() {
            continue;
        }
        let Some((number, generation, start)) = object_header(bytes, position) else {
            continue;
        };
        if number == 0 || number > MAX_OBJECT_NUMBER {
            continue;
        }
        // A later definition (an incremental update) replaces an earlier one.
        objects.insert(number, (generation, start));
        let body = &bytes[position..bytes.len().min(position + CATALOG_WINDOW)];
        let body = &body[..find(body, b"endobj").unwrap_or(body.len())];
        if find(body, b"/Catalog").is_some() && find(body, b"/Type").is_some() {
            root = Some((number, generation));
        }
    }
    let (root, root_generation) = root?;
    let size = objects.keys().next_back().copied()? + 1;
    let mut out = bytes.to_vec();
    out.push(b'\n');
    let xref_offset = out.len();
    let mut table = format!("xref\n0 {size}\n0000000000 65535 f \n");
    for number in 1..size {
        match objects.get(&number) {
            Some((generation, offset)) => {
                let _ = writeln!(table, "{offset:010} {generation:05} n ");
            }
            None => table.push_str("0000000000 00000 f \n"),
        }
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {size} /Root {root} {root_generation} R >>\nstartxref\n{xref_offset}\n%%EOF\n"
    );
    out.extend_from_slice(table.as_bytes());
    Some(out)
}

/// Whether the file ends as a complete PDF does, with `%%EOF` in its last kilobyte.
pub(super) fn ends_complete(bytes: &[u8]) -> bool {
    find(&bytes[bytes.len().saturating_sub(1024)..], b"%%EOF").is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `N G ` before the `obj` at `position`: the object number, generation and where `N` starts.
fn object_header(bytes: &[u8], position: usize) -> Option<(u32, u16, usize)> {
    let mut at = position;
    let skip_space = |at: &mut usize| {
        let before = *at;
        while *at > 0 && bytes[*at - 1].is_ascii_whitespace() {
            *at -= 1;
        }
        *at < before
    };
    let digits = |at: &mut usize| -> Option<u64> {
        let end = *at;
        while *at > 0 && bytes[*at - 1].is_ascii_digit() && end - *at < 10 {
            *at -= 1;
        }
        std::str::from_utf8(&bytes[*at..end]).ok()?.parse().ok()
    };
    if !skip_space(&mut at) {
        return None;
    }
    let generation = digits(&mut at)?;
    if !skip_space(&mut at) {
        return None;
    }
    let number = digits(&mut at)?;
    let starts_token = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
    starts_token.then_some((
        u32::try_from(number).ok()?,
        u16::try_from(generation).ok()?,
        at,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_without_a_usable_table_gets_one() {
        let broken = b"%PDF-1.4\r1 0 obj\r<< /Type /Catalog /Pages 2 0 R >>\rendobj\r\
            2 0 obj\r<< /Type /Pages /Kids [] /Count 0 >>\rendobj\rstartxref\r9999\r%%EOF";
        assert!(lopdf::Document::load_mem(broken).is_err());
        let repaired = with_rebuilt_xref(broken).unwrap();
        let document = lopdf::Document::load_mem(&repaired).unwrap();
        assert_eq!(
            document
                .trailer
                .get(b"Root")
                .unwrap()
                .as_reference()
                .unwrap(),
            (1, 0)
        );
        assert!(ends_complete(broken));
        assert!(!ends_complete(&broken[..broken.len() - 10]));
        assert!(with_rebuilt_xref(b"%PDF-1.4 nothing here").is_none());
        assert!(object_header(b"x12 0 obj", 6).is_none());
        assert_eq!(object_header(b"\n12 0 obj", 6), Some((12, 0, 1)));
    }
}
