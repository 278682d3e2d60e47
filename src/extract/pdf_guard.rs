//! Refusing PDFs that would overwhelm lopdf, before it runs: objects nested deeply enough to
//! overflow its recursive parser, and streams that inflate beyond a budget (deflate bombs).

use std::io::Read;

/// Far deeper than any real document nests arrays and dictionaries.
pub(super) const MAX: usize = 256;

/// All Flate streams of one file together may inflate to at most this much. Real documents
/// stay far below (the 204-page municipal list in the test corpus inflates to a few MB).
const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;

/// Whether the file, or an object stream inside it, nests objects deeper than [`MAX`].
/// lopdf parses object streams while loading, so their decompressed content is checked here.
pub(super) fn too_deep(bytes: &[u8]) -> bool {
    depth(bytes) > MAX || object_streams(bytes).any(|content| depth(&content) > MAX)
}

/// Deepest nesting of `[` and `<<` outside stream data. A cheap scan, not a parser: brackets
/// inside strings count too, which only makes it stricter.
pub(super) fn depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'[' => depth += 1,
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 1;
            }
            b']' => depth = depth.saturating_sub(1),
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b's' if bytes[i..].starts_with(b"stream") && !bytes[..i].ends_with(b"end") => {
                i = stream_end(bytes, i + 6).unwrap_or(bytes.len());
                continue;
            }
            _ => {}
        }
        deepest = deepest.max(depth);
        i += 1;
    }
    deepest
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Where the `endstream` after `from` ends.
fn stream_end(bytes: &[u8], from: usize) -> Option<usize> {
    find(&bytes[from..], b"endstream").map(|at| from + at + 9)
}

/// Whether the file's Flate streams together inflate beyond [`MAX_INFLATED_BYTES`]. Every
/// stream is inflated into a counter, never into memory, and stops at the budget.
pub(super) fn inflates_too_much(bytes: &[u8]) -> bool {
    let mut budget = MAX_INFLATED_BYTES;
    for (dictionary, data) in streams(bytes) {
        if find(dictionary, b"/FlateDecode").is_none() {
            continue;
        }
        let mut decoder = flate2::read::ZlibDecoder::new(data).take(budget + 1);
        let inflated = std::io::copy(&mut decoder, &mut std::io::sink()).unwrap_or(0);
        if inflated > budget {
            return true;
        }
        budget -= inflated;
    }
    false
}

/// Each stream's dictionary (the text before `stream`, at most 1 KB of it) and data.
fn streams(bytes: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let keyword = from + find(&bytes[from..], b"stream")?;
            from = keyword + 6;
            if bytes[..keyword].ends_with(b"end") {
                continue;
            }
            let mut start = keyword + 6;
            start += [b"\r\n".as_slice(), b"\n", b"\r"]
                .iter()
                .find(|eol| bytes[start..].starts_with(eol))
                .map_or(0, |eol| eol.len());
            let end = stream_end(bytes, start).map_or(bytes.len(), |end| end - 9);
            from = end.max(from);
            let dictionary = &bytes[keyword.saturating_sub(1024)..keyword];
            return Some((dictionary, bytes.get(start..end).unwrap_or_default()));
        }
    })
}

/// The content of every `/Type /ObjStm` stream, inflated when it is Flate-compressed. The
/// dictionary window may also see a neighbour's keys, which only makes the check stricter.
fn object_streams(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    streams(bytes)
        .filter(|(dictionary, _)| find(dictionary, b"/ObjStm").is_some())
        .map(|(dictionary, data)| {
            if find(dictionary, b"/FlateDecode").is_some() {
                inflate(data.to_vec())
            } else {
                data.to_vec()
            }
        })
}

/// Inflated data, within the inflation budget; undecodable data is returned as is (lopdf
/// will then fail on it too).
fn inflate(data: Vec<u8>) -> Vec<u8> {
    let mut inflated = Vec::new();
    let mut decoder = flate2::read::ZlibDecoder::new(&data[..]).take(MAX_INFLATED_BYTES);
    match decoder.read_to_end(&mut inflated) {
        Ok(_) => inflated,
        Err(_) => data,
    }
}

#[cfg(test)]
mod tests {
    use lopdf::{Dictionary, Stream};

    use super::*;

    fn nested(levels: usize) -> Vec<u8> {
        let mut object = vec![b'['; levels];
        object.extend(std::iter::repeat_n(b']', levels));
        object
    }

    fn flate_stream_pdf(content: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, content).unwrap();
        let data = encoder.finish().unwrap();
        let mut pdf = format!(
            "%PDF-1.4\n1 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\n",
            data.len()
        )
        .into_bytes();
        pdf.extend(data);
        pdf.extend(b"\nendstream\nendobj\n%%EOF\n");
        pdf
    }

    #[test]
    fn a_deflate_bomb_is_refused_before_parsing_and_real_streams_pass() {
        // 300 MB of zeros compress to about 300 KB.
        assert!(inflates_too_much(&flate_stream_pdf(&vec![
            0u8;
            300 * 1024 * 1024
        ])));
        assert!(!inflates_too_much(&flate_stream_pdf(
            b"BT /F1 12 Tf (Hej) Tj ET"
        )));
    }

    #[test]
    fn depth_ignores_stream_data() {
        assert_eq!(depth(b"<< /A [1 [2]] >> stream\n[[[[[[\nendstream [x]"), 3);
        assert_eq!(depth(b"]]]] [ >>"), 1);
    }

    #[test]
    fn deep_nesting_in_the_file_is_refused() {
        let mut pdf = b"%PDF-1.4\n1 0 obj\n".to_vec();
        pdf.extend(nested(100_000));
        assert!(too_deep(&pdf));
        assert!(!too_deep(b"%PDF-1.4\n1 0 obj [[1] [2]] endobj"));
    }

    #[test]
    fn deep_nesting_in_object_streams_is_refused() {
        let mut compressed = Stream::new(Dictionary::new(), nested(50_000));
        compressed.compress().unwrap();
        let mut pdf =
            b"%PDF-1.5\n5 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode >>\nstream\n"
                .to_vec();
        pdf.extend(&compressed.content);
        pdf.extend(b"\nendstream\nendobj\n");
        assert!(too_deep(&pdf));

        let mut plain = b"6 0 obj\n<< /Type /ObjStm >>\nstream\r\n".to_vec();
        plain.extend(nested(1_000));
        plain.extend(b"endstream");
        assert!(too_deep(&plain));
        assert!(!too_deep(
            b"<< /Type /ObjStm >>\nstream\n1 0 [[2]]\nendstream"
        ));
    }
}
