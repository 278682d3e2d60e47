//! Refusing PDFs nested deeply enough to overflow lopdf's recursive parser, before it runs.

use lopdf::{Dictionary, Object, Stream};

/// Far deeper than any real document nests arrays and dictionaries.
pub(super) const MAX: usize = 256;

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

/// The content of every `/Type /ObjStm` stream, inflated when it is Flate-compressed.
fn object_streams(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let marker = from + find(&bytes[from..], b"/ObjStm")?;
        let keyword = marker + find(&bytes[marker..], b"stream")?;
        let mut start = keyword + 6;
        start += [b"\r\n".as_slice(), b"\n", b"\r"]
            .iter()
            .find(|eol| bytes[start..].starts_with(eol))
            .map_or(0, |eol| eol.len());
        let end = stream_end(bytes, start).map_or(bytes.len(), |end| end - 9);
        from = end.max(marker + 7);
        // The dictionary around the marker says whether the data is compressed.
        let dictionary = &bytes[marker.saturating_sub(1024)..keyword];
        let data = bytes.get(start..end).unwrap_or_default().to_vec();
        Some(if find(dictionary, b"/FlateDecode").is_some() {
            inflate(data)
        } else {
            data
        })
    })
}

/// Inflated data; undecodable data is returned as is (lopdf will then fail on it too).
fn inflate(data: Vec<u8>) -> Vec<u8> {
    let mut dictionary = Dictionary::new();
    dictionary.set("Filter", Object::Name(b"FlateDecode".to_vec()));
    let stream = Stream::new(dictionary, data);
    stream.decompressed_content().unwrap_or(stream.content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> Vec<u8> {
        let mut object = vec![b'['; levels];
        object.extend(std::iter::repeat_n(b']', levels));
        object
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
