//! Compound files (OLE2/CFB), the container of Outlook `.msg` and Word 97–2003 `.doc`: opened
//! from memory, streams read with a size limit.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use super::{ExtractError, reason};

/// The first eight bytes of every compound file.
pub(super) const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// No stream may be read beyond this: a crafted sector chain must not exhaust memory.
const MAX_STREAM_BYTES: u64 = 64 * 1024 * 1024;

pub(super) struct Compound<'a> {
    file: cfb::CompoundFile<Cursor<&'a [u8]>>,
}

/// One child of a storage: its name and whether it is a stream (else a storage).
pub(super) struct Child {
    pub name: String,
    pub path: PathBuf,
    pub is_stream: bool,
}

impl<'a> Compound<'a> {
    pub(super) fn open(bytes: &'a [u8], kind: &str) -> Result<Self, ExtractError> {
        cfb::CompoundFile::open(Cursor::new(bytes))
            .map(|file| Compound { file })
            .map_err(|e| {
                ExtractError::Malformed(format!(
                    "broken {kind}: not a readable compound file ({})",
                    reason(&e)
                ))
            })
    }

    /// The children of the storage at `path`, in the order the file lists them.
    pub(super) fn children(&self, path: &Path) -> Vec<Child> {
        let Ok(entries) = self.file.read_storage(path) else {
            return Vec::new();
        };
        entries
            .map(|entry| Child {
                name: entry.name().to_owned(),
                path: entry.path().to_path_buf(),
                is_stream: entry.is_stream(),
            })
            .collect()
    }

    pub(super) fn is_stream(&self, path: &Path) -> bool {
        self.file.is_stream(path)
    }

    pub(super) fn is_storage(&self, path: &Path) -> bool {
        self.file.is_storage(path)
    }

    /// The whole stream at `path`; `None` when there is none.
    pub(super) fn stream(&mut self, path: &Path) -> Result<Option<Vec<u8>>, ExtractError> {
        if !self.file.is_stream(path) {
            return Ok(None);
        }
        let broken = |e: &dyn std::fmt::Display| {
            ExtractError::Malformed(format!("broken compound file stream: {}", reason(e)))
        };
        let stream = self.file.open_stream(path).map_err(|e| broken(&e))?;
        if stream.len() > MAX_STREAM_BYTES {
            return Err(ExtractError::Malformed(
                "a compound file stream is larger than allowed".into(),
            ));
        }
        let mut content = Vec::new();
        stream
            .take(MAX_STREAM_BYTES)
            .read_to_end(&mut content)
            .map_err(|e| broken(&e))?;
        Ok(Some(content))
    }
}
