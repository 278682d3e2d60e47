//! `journaliser backup` and `restore`: a consistent copy of a running service's data directory
//! in one zip file, and that file brought back into a fresh directory.
//!
//! The copy is taken in an order that keeps it consistent without stopping the service: the
//! store first (SQLite's online backup, one read transaction), then the archive (a document
//! the store calls filed was renamed into place before the store said so, so it is there; one
//! filed later is found again by the retried delivery, which the archive dedupes on the filing
//! id), then the search index (its committed segments only; when it holds more or less than
//! the store, the service rebuilds it from the store at start), then the keys and the rest.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

use crate::config::Config;
use crate::store::StoreError;

/// The entry that marks a zip file as a backup and says what it holds.
const MANIFEST: &str = "journaliser-backup.json";
const FORMAT: u32 = 1;
/// Where the store, index and archive go inside the backup, whatever the configuration
/// called them, and where `restore` puts them: a restored directory runs with the defaults.
const STORE_FILE: &str = "journaliser.db";
const INDEX_DIR: &str = "index";
const ARCHIVE_DIR: &str = "archive";
/// A merge may delete segments while they are copied; the copy starts again that many times.
const INDEX_TRIES: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot copy the store: {0}")]
    Store(#[from] StoreError),
    #[error("{}: {source}", path.display())]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("{} is not a Journaliser backup: {why}", path.display())]
    NotABackup { path: PathBuf, why: String },
    #[error("{} is not empty; restore only into a new or empty directory", .0.display())]
    NotEmpty(PathBuf),
    #[error("the search index kept changing while it was copied; try again")]
    IndexBusy,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + use<> {
    let path = path.to_path_buf();
    move |source| BackupError::Io {
        action,
        path,
        source,
    }
}

fn zip_error(path: &Path) -> impl FnOnce(zip::result::ZipError) -> BackupError + use<> {
    let path = path.to_path_buf();
    move |source| BackupError::Zip { path, source }
}

/// What a backup says about itself, first in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format: u32,
    /// The version of Journaliser that wrote it.
    pub version: String,
    pub created_at: String,
    /// Whether the store is in the file; a PostgreSQL store is backed up with `pg_dump`.
    pub store_included: bool,
}

/// What `backup` wrote.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    pub files: usize,
    pub bytes: u64,
    pub store_included: bool,
}

/// Writes a backup of the service configured by `config` to `out`, replacing an older file
/// there only once the new one is complete.
pub async fn backup(config: &Config, out: &Path) -> Result<BackupSummary, BackupError> {
    let staging = sibling(out, "staging");
    std::fs::create_dir_all(&staging).map_err(io("cannot create", &staging))?;
    let result = write_backup(config, out, &staging).await;
    // The staging folder holds only copies; whatever happened, it goes.
    let _ = std::fs::remove_dir_all(&staging);
    result
}

async fn write_backup(
    config: &Config,
    out: &Path,
    staging: &Path,
) -> Result<BackupSummary, BackupError> {
    let url = config.store_url();
    let store_included = url.starts_with("sqlite:");
    let mut parts: Vec<(PathBuf, PathBuf)> = Vec::new();
    if store_included {
        let copy = staging.join(STORE_FILE);
        crate::store::sqlite_snapshot(&url, &copy).await?;
        parts.push((copy, PathBuf::from(STORE_FILE)));
    }
    let archive = config.archive_root();
    if archive.is_dir() {
        parts.push((archive.clone(), PathBuf::from(ARCHIVE_DIR)));
    }
    let index = config.index_dir();
    if index.is_dir() {
        let copy = staging.join(INDEX_DIR);
        copy_committed_index(&index, &copy)?;
        parts.push((copy, PathBuf::from(INDEX_DIR)));
    }
    // Keys, TLS material and anything else the service keeps there; the live store, index
    // and archive are taken above, and a backup written into the directory is not taken again.
    let store = url
        .strip_prefix("sqlite://")
        .map(|path| PathBuf::from(path.split('?').next().unwrap_or(path)));
    let taken = |path: &Path| {
        path == index
            || path == archive
            || path == out
            || store.as_deref().is_some_and(|db| is_store_file(path, db))
    };
    for entry in read_dir(&config.data_dir)? {
        if !taken(&entry) && !hidden(&entry) {
            let name = entry.file_name().unwrap_or_default();
            parts.push((entry.clone(), PathBuf::from(name)));
        }
    }

    let partial = sibling(out, "partial");
    let file = File::create(&partial).map_err(io("cannot create", &partial))?;
    let mut zip = zip::ZipWriter::new(file);
    let manifest = BackupManifest {
        format: FORMAT,
        version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: chrono::Utc::now().to_rfc3339(),
        store_included,
    };
    let mut summary = BackupSummary {
        files: 0,
        bytes: 0,
        store_included,
    };
    let result = (|| {
        zip.start_file(MANIFEST, options(0o644, 0))
            .map_err(zip_error(out))?;
        let text = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
        zip.write_all(&text).map_err(io("cannot write", &partial))?;
        for (source, name) in &parts {
            add(&mut zip, source, name, &mut summary, out)?;
        }
        let mut file = zip.finish().map_err(zip_error(out))?;
        file.flush().map_err(io("cannot write", &partial))?;
        file.sync_all().map_err(io("cannot write", &partial))?;
        std::fs::rename(&partial, out).map_err(io("cannot write", out))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map(|()| summary)
}

/// The database file itself and its `-wal`, `-shm` and `-journal` companions.
fn is_store_file(path: &Path, db: &Path) -> bool {
    let (Some(name), Some(db_name)) = (path.file_name(), db.file_name()) else {
        return false;
    };
    path.parent() == db.parent()
        && name
            .to_string_lossy()
            .starts_with(&*db_name.to_string_lossy())
}

/// A path beside `file` for work in progress, hidden and unique.
fn sibling(file: &Path, purpose: &str) -> PathBuf {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    file.with_file_name(format!(".{name}.{purpose}-{}", uuid::Uuid::new_v4()))
}

fn hidden(path: &Path) -> bool {
    path.file_name().is_some_and(|name| {
        let name = name.to_string_lossy();
        // `.tmp`: the half of an atomic write that is renamed into place when complete.
        name.starts_with('.') || name.ends_with(".tmp")
    })
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("cannot read", dir))? {
        paths.push(entry.map_err(io("cannot read", dir))?.path());
    }
    paths.sort();
    Ok(paths)
}

fn options(mode: u32, size: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(mode)
        .large_file(size >= u64::from(u32::MAX))
}

/// Adds the file or folder `source` under `name`, skipping hidden entries (the archive's
/// staging folders of deliveries in progress, editor and lock files).
fn add(
    zip: &mut zip::ZipWriter<File>,
    source: &Path,
    name: &Path,
    summary: &mut BackupSummary,
    out: &Path,
) -> Result<(), BackupError> {
    // A file or folder gone between the listing and now was a write in progress (a temporary
    // file renamed into place, a delivery's staging folder): what it became is listed itself.
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let metadata = match std::fs::metadata(source) {
        Err(e) if gone(&e) => return Ok(()),
        other => other.map_err(io("cannot read", source))?,
    };
    if metadata.is_dir() {
        let entries = match std::fs::read_dir(source) {
            Err(e) if gone(&e) => return Ok(()),
            _ => read_dir(source)?,
        };
        for entry in entries {
            if !hidden(&entry) {
                add(
                    zip,
                    &entry,
                    &name.join(entry.file_name().unwrap()),
                    summary,
                    out,
                )?;
            }
        }
        return Ok(());
    }
    let mut file = match File::open(source) {
        Err(e) if gone(&e) => return Ok(()),
        other => other.map_err(io("cannot read", source))?,
    };
    let mode = permissions(&metadata);
    let entry_name = name.to_string_lossy().replace('\\', "/");
    zip.start_file(entry_name, options(mode, metadata.len()))
        .map_err(zip_error(out))?;
    summary.bytes += std::io::copy(&mut file, zip).map_err(io("cannot copy", source))?;
    summary.files += 1;
    Ok(())
}

#[cfg(unix)]
fn permissions(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn permissions(_: &std::fs::Metadata) -> u32 {
    0o644
}

/// Copies the index as its last commit left it: `meta.json` and the files of the segments it
/// names. Committed segment files never change; a merge may delete one meanwhile, and then the
/// copy starts again from the newer commit.
fn copy_committed_index(index: &Path, copy: &Path) -> Result<(), BackupError> {
    for _ in 0..INDEX_TRIES {
        let _ = std::fs::remove_dir_all(copy);
        std::fs::create_dir_all(copy).map_err(io("cannot create", copy))?;
        let meta_path = index.join("meta.json");
        let meta = match std::fs::read(&meta_path) {
            Ok(meta) => meta,
            // An index never committed: the service builds it from the store.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io("cannot read", &meta_path)(e)),
        };
        let segments = segment_ids(&meta).map_err(|e| BackupError::Io {
            action: "cannot read",
            path: meta_path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        let mut vanished = false;
        for file in read_dir(index)? {
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            if !segments.iter().any(|id| name.starts_with(id.as_str())) {
                continue;
            }
            match std::fs::copy(&file, copy.join(&*name)) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => vanished = true,
                Err(e) => return Err(io("cannot copy", &file)(e)),
            }
        }
        let unchanged = std::fs::read(&meta_path).is_ok_and(|now| now == meta);
        if !vanished && unchanged {
            let target = copy.join("meta.json");
            return std::fs::write(&target, &meta).map_err(io("cannot write", &target));
        }
    }
    Err(BackupError::IndexBusy)
}

/// The segment ids a tantivy `meta.json` names, as they begin the segments' file names.
fn segment_ids(meta: &[u8]) -> Result<Vec<String>, String> {
    let meta: serde_json::Value = serde_json::from_slice(meta).map_err(|e| e.to_string())?;
    let segments = meta["segments"]
        .as_array()
        .ok_or("meta.json lists no segments")?;
    segments
        .iter()
        .map(|segment| {
            segment["segment_id"]
                .as_str()
                .map(|id| id.replace('-', "").to_ascii_lowercase())
                .filter(|id| !id.is_empty())
                .ok_or_else(|| "a segment without an id".to_string())
        })
        .collect()
}

/// What `restore` brought back.
#[derive(Debug, Clone)]
pub struct RestoreSummary {
    pub files: usize,
    pub manifest: BackupManifest,
}

/// Unpacks the backup `file` into `data_dir`, which must be missing or empty. Everything is
/// written beside it first and moved into place at the end, so a failed restore leaves
/// nothing half-written behind.
pub fn restore(file: &Path, data_dir: &Path) -> Result<RestoreSummary, BackupError> {
    if data_dir.exists() {
        let mut entries = std::fs::read_dir(data_dir).map_err(io("cannot read", data_dir))?;
        if entries.next().is_some() {
            return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
        }
    }
    let opened = File::open(file).map_err(io("cannot read", file))?;
    let not_a_backup = |why: String| BackupError::NotABackup {
        path: file.to_path_buf(),
        why,
    };
    let mut zip = zip::ZipArchive::new(opened).map_err(|e| not_a_backup(e.to_string()))?;
    let manifest: BackupManifest = {
        let mut entry = zip
            .by_name(MANIFEST)
            .map_err(|_| not_a_backup(format!("it has no {MANIFEST}")))?;
        let mut text = Vec::new();
        entry
            .read_to_end(&mut text)
            .map_err(io("cannot read", file))?;
        serde_json::from_slice(&text).map_err(|e| not_a_backup(format!("{MANIFEST}: {e}")))?
    };
    if manifest.format != FORMAT {
        return Err(not_a_backup(format!(
            "format {} is not the format {FORMAT} this version reads",
            manifest.format
        )));
    }
    let parent = match data_dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io("cannot create", &parent))?;
    let staging = sibling(data_dir, "restoring");
    let result = unpack(&mut zip, file, &staging).and_then(|files| {
        if data_dir.exists() {
            std::fs::remove_dir(data_dir).map_err(io("cannot replace", data_dir))?;
        }
        std::fs::rename(&staging, data_dir).map_err(io("cannot create", data_dir))?;
        Ok(files)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(RestoreSummary {
        files: result?,
        manifest,
    })
}

fn unpack(
    zip: &mut zip::ZipArchive<File>,
    file: &Path,
    staging: &Path,
) -> Result<usize, BackupError> {
    std::fs::create_dir_all(staging).map_err(io("cannot create", staging))?;
    let mut files = 0;
    for at in 0..zip.len() {
        let mut entry = zip.by_index(at).map_err(zip_error(file))?;
        if entry.name() == MANIFEST || entry.is_dir() {
            continue;
        }
        // A name that would land outside the directory (`..`, an absolute path) is refused.
        let relative = entry
            .enclosed_name()
            .ok_or_else(|| BackupError::NotABackup {
                path: file.to_path_buf(),
                why: format!(
                    "the entry {:?} points outside the data directory",
                    entry.name()
                ),
            })?;
        let target = staging.join(relative);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder).map_err(io("cannot create", folder))?;
        }
        let mut out = File::create(&target).map_err(io("cannot create", &target))?;
        std::io::copy(&mut entry, &mut out).map_err(io("cannot write", &target))?;
        out.sync_all().map_err(io("cannot write", &target))?;
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & 0o777))
                .map_err(io("cannot write", &target))?;
        }
        files += 1;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_ids_are_read_from_tantivy_meta() {
        let meta = br#"{"segments":[{"segment_id":"5A1B2C3D-0000-4000-8000-000000000001","max_doc":3}],"opstamp":7}"#;
        assert_eq!(
            segment_ids(meta).unwrap(),
            ["5a1b2c3d000040008000000000000001"]
        );
        assert!(segment_ids(b"{}").is_err());
        assert!(segment_ids(b"not json").is_err());
    }

    #[test]
    fn a_restore_refuses_a_directory_in_use_and_a_file_that_is_no_backup() {
        let dir = tempfile::tempdir().unwrap();
        let used = dir.path().join("used");
        std::fs::create_dir(&used).unwrap();
        std::fs::write(used.join("journaliser.db"), b"live").unwrap();
        let not_zip = dir.path().join("notes.txt");
        std::fs::write(&not_zip, b"hello").unwrap();
        assert!(matches!(
            restore(&not_zip, &used),
            Err(BackupError::NotEmpty(_))
        ));
        let fresh = dir.path().join("fresh");
        assert!(matches!(
            restore(&not_zip, &fresh),
            Err(BackupError::NotABackup { .. })
        ));

        let other_zip = dir.path().join("other.zip");
        let mut zip = zip::ZipWriter::new(File::create(&other_zip).unwrap());
        zip.start_file("readme.txt", SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"x").unwrap();
        zip.finish().unwrap();
        let refused = restore(&other_zip, &fresh).unwrap_err().to_string();
        assert!(refused.contains(MANIFEST), "{refused}");
        assert!(!fresh.exists(), "nothing is left behind");
    }

    #[test]
    fn an_entry_pointing_outside_the_directory_is_refused_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let evil = dir.path().join("evil.zip");
        let mut zip = zip::ZipWriter::new(File::create(&evil).unwrap());
        zip.start_file(MANIFEST, SimpleFileOptions::default())
            .unwrap();
        let manifest = BackupManifest {
            format: FORMAT,
            version: "0".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            store_included: false,
        };
        zip.write_all(&serde_json::to_vec(&manifest).unwrap())
            .unwrap();
        zip.start_file("cpr-hash.key", SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"k").unwrap();
        zip.start_file("../escaped", SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"x").unwrap();
        zip.finish().unwrap();
        let target = dir.path().join("restored");
        let refused = restore(&evil, &target).unwrap_err().to_string();
        assert!(refused.contains("outside"), "{refused}");
        assert!(!target.exists());
        assert!(!dir.path().join("escaped").exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only the zip itself: {leftovers:?}");
    }
}
