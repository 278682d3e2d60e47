//! Test support for the shared corpus of real files, and the tests that sweep all of it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{ExtractError, Extractor, Format};
use crate::domain::identifiers::{CprHasher, IdentifierPatterns};

/// `shared/data`, found next to the crate or in any directory above it. Missing data fails
/// the test under `CI=true` and skips it (with a note) otherwise.
pub(super) fn shared_data() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let beside = manifest.join("../shared/data");
    let found = std::iter::once(beside)
        .chain(manifest.ancestors().map(|dir| dir.join("shared/data")))
        .find(|dir| dir.is_dir());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "shared test data not found: expected shared/data beside or above {}",
            manifest.display()
        );
        eprintln!(
            "skipping: shared/data not found above {}",
            manifest.display()
        );
    }
    found
}

/// A file of the corpus, read whole; `None` when the corpus is absent (see [`shared_data`]).
pub(super) fn read(relative: &str) -> Option<Vec<u8>> {
    let path = shared_data()?.join(relative);
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())))
}

pub(super) fn extractor() -> Extractor {
    Extractor {
        patterns: IdentifierPatterns::default(),
        cpr_hasher: CprHasher::new(b"corpus test key"),
        max_depth: 3,
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_corpus_file_extracts_or_fails_cleanly() {
    let Some(data) = shared_data() else {
        return;
    };
    // Everything: mail folders, PDFs, Office and OpenDocument files, TNEF, MSG, KLE XML.
    let mut files = Vec::new();
    files_under(&data, &mut files);
    assert!(
        files.len() > 8_000,
        "only {} files found under {}",
        files.len(),
        data.display()
    );
    let extractor = extractor();
    let (mut ok, mut failed) = (0, Vec::new());
    let started = Instant::now();
    for path in &files {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        match extractor.extract(&bytes, Format::Sniff) {
            Ok(extracted) => {
                ok += 1;
                // The result must be serialisable for the API, whatever the input was.
                assert!(
                    serde_json::to_string(&extracted).is_ok(),
                    "{}",
                    path.display()
                );
            }
            Err(ExtractError::Malformed(reason) | ExtractError::Protected(reason)) => {
                failed.push(format!("{}: {reason}", path.display()))
            }
            Err(ExtractError::Unsupported) => {
                failed.push(format!("{}: unsupported", path.display()))
            }
        }
    }
    eprintln!(
        "{ok} extracted, {} refused, in {:?}",
        failed.len(),
        started.elapsed()
    );
    for failure in &failed {
        eprintln!("  {failure}");
    }
}

/// A bounded fuzz smoke on real files: each non-mail-folder file cut short at two points and
/// with bytes flipped at fixed places must still extract or be refused, never panic.
#[test]
fn damaged_corpus_files_extract_or_fail_cleanly() {
    let Some(data) = shared_data() else {
        return;
    };
    let mut files = Vec::new();
    for dir in ["eml", "msg", "pdfs", "docs"] {
        files_under(&data.join(dir), &mut files);
    }
    let extractor = extractor();
    let mut tried = 0;
    for path in &files {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if bytes.len() < 16 {
            continue;
        }
        let mut flipped = bytes.clone();
        for position in [
            bytes.len() / 7,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() * 4 / 5,
        ] {
            flipped[position] ^= 0xA5;
        }
        for damaged in [
            &bytes[..bytes.len() / 3],
            &bytes[..bytes.len() * 2 / 3],
            &flipped[..],
        ] {
            // Any outcome but a panic (which fails the test) is fine here.
            let _ = extractor.extract(damaged, Format::Sniff);
            tried += 1;
        }
    }
    assert!(tried > 1_000, "only {tried} damaged files tried");
}

#[test]
fn garbage_and_empty_input_are_malformed() {
    let extractor = extractor();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    for format in [
        Format::Sniff,
        Format::Mail,
        Format::Msg,
        Format::Pdf,
        Format::Docx,
        Format::Doc,
        Format::Rtf,
        Format::Xlsx,
        Format::Pptx,
        Format::Odt,
    ] {
        let result = extractor.extract(&garbage, format);
        assert!(
            matches!(result, Err(ExtractError::Malformed(_))),
            "{format:?}: {result:?}"
        );
        let result = extractor.extract(b"", format);
        assert!(
            matches!(result, Err(ExtractError::Malformed(_))),
            "{format:?} empty: {result:?}"
        );
    }
    let result = extractor.extract(&garbage, Format::Mail);
    assert!(
        matches!(result, Err(ExtractError::Malformed(m)) if m.starts_with("not an e-mail message"))
    );
}
