//! The ranker memory kept on disk between starts, with the place in the filings it has learnt
//! up to, so that a start teaches it only the filings made since instead of every filing
//! again (at 100,000 filings that was minutes).
//!
//! The snapshot is derived data, like the index: one that is missing, unreadable, from another
//! version, or that no longer matches the store (a filing undone or arriving late before its
//! place changes how many live filings lie there) is passed over, and the memory is rebuilt.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::memory::Memory;
use crate::store::FiledPlace;

/// Raised whenever what is stored, or the analysis that made it, changes shape.
const FORMAT: u32 = 1;

/// What the file holds.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    /// The release that wrote it: another one may analyse text differently.
    version: String,
    /// The live filings learnt, up to and including `after`.
    filed: u64,
    after: FiledPlace,
    memory: Memory,
}

/// A memory read back, and where in the filings it stands.
pub struct Restored {
    pub memory: Memory,
    pub filed: u64,
    pub after: FiledPlace,
}

/// The snapshot at `path`, if there is one of this format and release; a file that is there
/// and unreadable is reported and passed over.
pub fn load(path: &Path) -> Option<Restored> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the ranker memory's snapshot cannot be read; rebuilding");
            return None;
        }
    };
    match postcard::from_bytes::<Snapshot>(&bytes) {
        Ok(snapshot) if snapshot.format == FORMAT && snapshot.version == release() => {
            Some(Restored {
                memory: snapshot.memory,
                filed: snapshot.filed,
                after: snapshot.after,
            })
        }
        Ok(_) => {
            tracing::info!("the ranker memory's snapshot is from another release; rebuilding");
            None
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the ranker memory's snapshot is unreadable; rebuilding");
            None
        }
    }
}

/// Writes the snapshot whole or not at all: to a file beside it, synced, then renamed over.
pub fn save(path: &Path, memory: &Memory, filed: u64, after: &FiledPlace) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        format: u32,
        version: &'a str,
        filed: u64,
        after: &'a FiledPlace,
        memory: &'a Memory,
    }
    let partial = partial_path(path);
    let file = std::fs::File::create(&partial)?;
    let mut writer = std::io::BufWriter::new(file);
    postcard::to_io(
        &Borrowed {
            format: FORMAT,
            version: release(),
            filed,
            after,
            memory,
        },
        &mut writer,
    )
    .map_err(std::io::Error::other)?;
    writer.flush()?;
    writer.get_ref().sync_all()?;
    drop(writer);
    std::fs::rename(&partial, path)?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        dir.sync_all()?;
    }
    Ok(())
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

fn release() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suggest::features::Clues;

    fn place(at: i64, id: &str) -> FiledPlace {
        serde_json::from_value(serde_json::json!({"created_at": at, "filing_id": id})).unwrap()
    }

    #[test]
    fn a_saved_memory_comes_back_as_it_was_and_a_damaged_one_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ranker-memory.snapshot");
        assert!(load(&path).is_none());
        let mut memory = Memory::default();
        let clues = Clues {
            owner: "anna".into(),
            senders: vec!["ole@borger.example".into()],
            subject: Some("carport".into()),
            terms: [(7, 2), (9, 1)].into_iter().collect(),
            ..Clues::default()
        };
        memory.learn(&clues, "BYG-1");
        save(&path, &memory, 1, &place(5, "f1")).unwrap();
        let restored = load(&path).unwrap();
        assert_eq!((restored.filed, &restored.after), (1, &place(5, "f1")));
        assert!(restored.memory == memory);
        assert!(!partial_path(&path).exists());

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(load(&path).is_none());
    }
}
