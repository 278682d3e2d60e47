//! Compressed RTF ([MS-OXRTFCP]), the form in which Outlook keeps a message's rich-text body.
//!
//! Written here rather than taken from a crate: the format is a page of the specification,
//! and the crates that implement it are unmaintained single-purpose ones.

use super::ExtractError;

/// The dictionary every compressed stream starts from ([MS-OXRTFCP] 2.1.3.1.1).
const INITIAL_DICTIONARY: &[u8; 207] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

const COMPRESSED: u32 = 0x7546_5A4C; // "LZFu"
const UNCOMPRESSED: u32 = 0x414C_454D; // "MELA"

/// No RTF body is decompressed beyond this, whatever its header claims.
const MAX_RAW_BYTES: usize = 32 * 1024 * 1024;

/// The RTF inside a compressed-RTF property.
pub(super) fn decompress(data: &[u8]) -> Result<Vec<u8>, ExtractError> {
    let broken = |what: &str| ExtractError::Malformed(format!("broken compressed RTF: {what}"));
    if data.len() < 16 {
        return Err(broken("shorter than its header"));
    }
    let word = |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    let raw_size = (word(4) as usize).min(MAX_RAW_BYTES);
    let body = &data[16..];
    match word(8) {
        UNCOMPRESSED => Ok(body[..body.len().min(raw_size)].to_vec()),
        COMPRESSED => Ok(inflate(body, raw_size)),
        _ => Err(broken("unknown compression type")),
    }
}

/// LZ77 over a 4096-byte ring: each control byte says, bit by bit from the lowest, whether the
/// next token is a literal byte or a 12-bit offset and 4-bit length into the ring.
fn inflate(body: &[u8], raw_size: usize) -> Vec<u8> {
    let mut ring = [0u8; 4096];
    ring[..INITIAL_DICTIONARY.len()].copy_from_slice(INITIAL_DICTIONARY);
    let mut write = INITIAL_DICTIONARY.len();
    let mut out = Vec::with_capacity(raw_size.min(1 << 20));
    let mut input = body.iter().copied();
    'tokens: while let Some(control) = input.next() {
        for bit in 0..8 {
            if out.len() >= raw_size {
                break 'tokens;
            }
            if control & (1 << bit) == 0 {
                let Some(byte) = input.next() else {
                    break 'tokens;
                };
                out.push(byte);
                ring[write] = byte;
                write = (write + 1) % ring.len();
                continue;
            }
            let (Some(high), Some(low)) = (input.next(), input.next()) else {
                break 'tokens;
            };
            let reference = u16::from_be_bytes([high, low]);
            let offset = usize::from(reference >> 4);
            if offset == write {
                break 'tokens;
            }
            let length = usize::from(reference & 0x0F) + 2;
            for step in 0..length {
                let byte = ring[(offset + step) % ring.len()];
                out.push(byte);
                ring[write] = byte;
                write = (write + 1) % ring.len();
            }
        }
    }
    out.truncate(raw_size);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(kind: u32, raw_size: u32, body: &[u8]) -> Vec<u8> {
        let mut data = Vec::new();
        data.extend_from_slice(&(body.len() as u32 + 12).to_le_bytes());
        data.extend_from_slice(&raw_size.to_le_bytes());
        data.extend_from_slice(&kind.to_le_bytes());
        data.extend_from_slice(&0u32.to_le_bytes());
        data.extend_from_slice(body);
        data
    }

    /// The first example of [MS-OXRTFCP] 3.1.1: literals and one back-reference.
    #[test]
    fn the_specification_example_decompresses() {
        let body = [
            0x03, 0x00, 0x0A, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0A,
            0xF3, 0x20, 0x68, 0x65, 0x6C, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xB0, 0x6C, 0x64,
            0x7D, 0x0A, 0x80, 0x0F, 0xA0,
        ];
        let rtf = decompress(&with_header(COMPRESSED, 43, &body)).unwrap();
        assert_eq!(rtf, b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n");
    }

    #[test]
    fn uncompressed_and_broken_input() {
        assert_eq!(
            decompress(&with_header(UNCOMPRESSED, 5, b"{\\rtf}")).unwrap(),
            b"{\\rtf"
        );
        assert!(decompress(b"short").is_err());
        assert!(decompress(&with_header(0x1234, 5, b"x")).is_err());
        let truncated = decompress(&with_header(COMPRESSED, 1000, &[0xFF, 0x00])).unwrap();
        assert!(truncated.is_empty());
    }
}
