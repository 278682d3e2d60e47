//! The built-in file archive: a folder per case, a folder per filed document, written atomically.
//!
//! Layout: `<root>/<case id>/case.json` and `<root>/<case id>/<date>_<title>_<key>/` holding the
//! original, its text and `metadata.json`; a new version of a document goes in the document's
//! folder as `v<n>_<key>/`, and the document keeps its id. A folder appears by one rename, so
//! a crash leaves either the whole document (or version) or none of it. A withdrawn document
//! is moved into `<root>/<case id>/_withdrawn/` with a note, never deleted.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::naming::{case_folder, extension, safe_name};
use super::{
    AttachmentDocument, BoxFuture, Capabilities, CaseDocument, Connector, ConnectorError,
    DocumentContent, FiledDocument, FilingRequest, WithdrawRequest, Withdrawal,
};
use crate::domain::case::{Case, CaseInput};
use crate::domain::filing::AttachmentMode;

/// Where a case's withdrawn documents are kept.
const WITHDRAWN: &str = "_withdrawn";

pub struct ArchiveConnector {
    root: PathBuf,
}

impl ArchiveConnector {
    pub fn new(root: impl Into<PathBuf>) -> ArchiveConnector {
        ArchiveConnector { root: root.into() }
    }

    /// The folder a case's documents go in: a folder made by hand and named by the case's id
    /// when there is one (it is listed under that name), otherwise the safe folder name.
    fn folder_of(&self, id: &str) -> String {
        let mut parts = Path::new(id).components();
        let single = matches!(
            (parts.next(), parts.next()),
            (Some(std::path::Component::Normal(_)), None)
        );
        if single && !id.starts_with('.') && self.root.join(id).is_dir() {
            id.to_string()
        } else {
            case_folder(id)
        }
    }

    fn file_blocking(&self, request: &FilingRequest) -> Result<FiledDocument, ConnectorError> {
        let folder = self.folder_of(&request.case.id);
        let case_dir = self.root.join(&folder);
        let stem = format!(
            "{}_{}_{}",
            request.accepted_at.format("%Y-%m-%d"),
            safe_name(&request.title, 60),
            safe_name(&request.idempotency_key, 64)
        );
        let document_id = |dir: &str| format!("{folder}/{dir}");
        let (main_dir, filed_id) = match &request.new_version_of {
            None => (case_dir.join(&stem), document_id(&stem)),
            Some(version) => {
                let document = version_folder(&folder, &case_dir, &version.document_id)?;
                let name = format!(
                    "v{}_{}",
                    version.version,
                    safe_name(&request.idempotency_key, 64)
                );
                (document.join(name), version.document_id.clone())
            }
        };
        // The main folder is renamed into place last, so its presence means the whole filing,
        // separate attachments included, is done.
        if main_dir.exists() {
            return Ok(FiledDocument::filed(filed_id));
        }
        if !case_dir.exists() {
            std::fs::create_dir_all(&case_dir).map_err(io_error)?;
            // A new folder's entry must be on disk before documents inside it count as filed.
            sync_dir(&self.root).map_err(io_error)?;
        }
        write_atomically(&case_dir.join("case.json"), &case_record(&request.case))
            .map_err(io_error)?;

        // A staging folder of this attempt's own: an attempt given up on by the worker may
        // still be writing, and must not share (or lose) its folder to the retry.
        let staging = case_dir.join(format!(
            ".staging-{}-{}",
            safe_name(&request.idempotency_key, 64),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&staging).map_err(io_error)?;

        let mut attachment_records = Vec::new();
        let mut separate = Vec::new();
        for attachment in &request.attachments {
            match attachment.mode {
                AttachmentMode::Skip => {
                    attachment_records.push(
                        json!({"index": attachment.index, "name": attachment.name, "mode": "skip"}),
                    );
                }
                AttachmentMode::WithMail => {
                    let file = format!(
                        "{:02}-{}",
                        attachment.index,
                        safe_name(&attachment.name, 80)
                    );
                    attachment_records.push(
                        json!({"index": attachment.index, "name": attachment.name, "mode": "with_mail", "file": format!("attachments/{file}")}),
                    );
                    let dir = staging.join("main/attachments");
                    std::fs::create_dir_all(&dir).map_err(io_error)?;
                    write_synced(&dir.join(file), &attachment.content).map_err(io_error)?;
                }
                AttachmentMode::Separate => {
                    let sub = format!("{stem}-{:02}", attachment.index);
                    attachment_records.push(json!({"index": attachment.index, "name": attachment.name, "mode": "separate", "document_id": document_id(&sub)}));
                    write_separate(
                        &staging.join(&sub),
                        request,
                        attachment,
                        &document_id(&stem),
                    )
                    .map_err(io_error)?;
                    separate.push(sub);
                }
            }
        }

        let main = staging.join("main");
        std::fs::create_dir_all(&main).map_err(io_error)?;
        let original = format!("original.{}", extension(&request.content_type));
        write_synced(&main.join(&original), &request.content).map_err(io_error)?;
        write_synced(&main.join("text.txt"), request.text.as_bytes()).map_err(io_error)?;
        let mut metadata = json!({
            "document_id": filed_id,
            "idempotency_key": request.idempotency_key,
            "title": request.title,
            "kind": request.kind,
            "direction": request.direction().as_str(),
            "date": request.document_date().to_rfc3339(),
            "content_type": request.content_type,
            "original": original,
            "case": {"id": request.case.id, "number": request.case.number, "title": request.case.title},
            "accepted_at": request.accepted_at.to_rfc3339(),
            "filed_by": request.filed_by,
            "attachments": attachment_records,
            "extracted": request.metadata,
        });
        if let Some(version) = &request.new_version_of {
            metadata["version_of"] = json!(version.document_id);
            metadata["version"] = json!(version.version);
        }
        write_synced(&main.join("metadata.json"), &pretty(&metadata)).map_err(io_error)?;

        for sub in &separate {
            let target = case_dir.join(sub);
            if !target.exists() {
                std::fs::rename(staging.join(sub), &target).map_err(io_error)?;
            }
        }
        sync_dir(&main).map_err(io_error)?;
        std::fs::rename(&main, &main_dir).map_err(io_error)?;
        sync_dir(main_dir.parent().unwrap_or(&case_dir)).map_err(io_error)?;
        std::fs::remove_dir_all(&staging).map_err(io_error)?;
        Ok(FiledDocument::filed(filed_id))
    }

    /// Moves every folder the filing made (the document, its separate attachments, or the
    /// version it added) into the case's `_withdrawn/` folder, each with a note of who withdrew
    /// it and why. The folders are found by the filing's key, so a repeat finds them moved.
    fn withdraw_blocking(&self, request: &WithdrawRequest) -> Result<Withdrawal, ConnectorError> {
        let case_dir = self.root.join(self.folder_of(&request.case.id));
        let key = safe_name(&request.idempotency_key, 64);
        let withdrawn_dir = case_dir.join(WITHDRAWN);
        let mut found = Vec::new();
        let entries = match std::fs::read_dir(&case_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Withdrawal::Removed),
            Err(e) => return Err(io_error(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_error)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == WITHDRAWN || !entry.path().is_dir() {
                continue;
            }
            let own = name.ends_with(&format!("_{key}"))
                || name.rsplit_once('-').is_some_and(|(stem, n)| {
                    stem.ends_with(&format!("_{key}")) && n.chars().all(|c| c.is_ascii_digit())
                });
            if own {
                found.push((entry.path(), name));
                continue;
            }
            // A new version lives inside the document it belongs to.
            for version in std::fs::read_dir(entry.path()).map_err(io_error)? {
                let version = version.map_err(io_error)?;
                let version_name = version.file_name().to_string_lossy().into_owned();
                if version.path().is_dir()
                    && version_name.starts_with('v')
                    && version_name.ends_with(&format!("_{key}"))
                {
                    found.push((version.path(), format!("{name}__{version_name}")));
                }
            }
        }
        if found.is_empty() {
            return Ok(Withdrawal::Removed);
        }
        std::fs::create_dir_all(&withdrawn_dir).map_err(io_error)?;
        let note = pretty(&json!({
            "withdrawn_by": request.withdrawn_by,
            "reason": request.reason,
            "withdrawn_at": chrono::Utc::now().to_rfc3339(),
            "document_id": request.document_id,
            "idempotency_key": request.idempotency_key,
        }));
        for (path, name) in found {
            write_synced(&path.join("withdrawn.json"), &note).map_err(io_error)?;
            std::fs::rename(&path, withdrawn_dir.join(name)).map_err(io_error)?;
        }
        sync_dir(&withdrawn_dir).map_err(io_error)?;
        sync_dir(&case_dir).map_err(io_error)?;
        Ok(Withdrawal::Removed)
    }

    fn list_blocking(&self) -> Result<Vec<CaseInput>, ConnectorError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(e)),
        };
        let mut cases = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error)?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !path.is_dir() || name.starts_with('.') {
                continue;
            }
            cases.push(read_case_folder(&path, name)?);
        }
        cases.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(cases)
    }

    /// A case folder with its `case.json`, written atomically; a folder already holding one
    /// is the case made before.
    fn create_case_blocking(&self, case: &Case) -> Result<String, ConnectorError> {
        let case_dir = self.root.join(case_folder(&case.id));
        let record = case_dir.join("case.json");
        if record.exists() {
            return read_case_folder(&case_dir, case.id.clone()).map(|made| made.number);
        }
        std::fs::create_dir_all(&case_dir).map_err(io_error)?;
        write_atomically(&record, &case_record(case)).map_err(io_error)?;
        sync_dir(&self.root).map_err(io_error)?;
        Ok(case.number.clone())
    }

    /// The documents in a case's folder: each document folder (a separate attachment's among
    /// them), and each file put there by hand; the withdrawn, and the versions inside a
    /// document's folder, are left out.
    fn documents_blocking(&self, case_id: &str) -> Result<Vec<CaseDocument>, ConnectorError> {
        let folder = self.folder_of(case_id);
        let entries = match std::fs::read_dir(self.root.join(&folder)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(e)),
        };
        let mut documents = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with('.')
                || name == WITHDRAWN
                || ["case.json", "case.tmp"].contains(&name.as_str())
            {
                continue;
            }
            let document = ArchivedDocument {
                case_id,
                document_id: format!("{folder}/{name}"),
                path: &path,
                name: &name,
            };
            let read = match path.is_dir() {
                true => document.read_folder(),
                false => document.read_file().map(Some),
            };
            documents.extend(read.map_err(io_error)?);
        }
        documents.sort_by(|a, b| a.document_id.cmp(&b.document_id));
        Ok(documents)
    }

    fn read_case_blocking(&self, id: &str) -> Result<Option<CaseInput>, ConnectorError> {
        let path = self.root.join(self.folder_of(id));
        if !path.is_dir() {
            return Ok(None);
        }
        read_case_folder(&path, id.to_string()).map(Some)
    }
}

/// The folder of the document `document_id` (`<case folder>/<document folder>`), which a new
/// version goes in. Anything else, or a document no longer there, is refused for good.
fn version_folder(
    folder: &str,
    case_dir: &Path,
    document_id: &str,
) -> Result<PathBuf, ConnectorError> {
    let refused = || {
        ConnectorError::Permanent(format!(
            "archive: {document_id:?} is not a document of this case"
        ))
    };
    let name = document_id
        .strip_prefix(folder)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(refused)?;
    let mut parts = Path::new(name).components();
    let single = matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(_)), None)
    );
    let dir = case_dir.join(name);
    if !single || name.starts_with('.') || !dir.is_dir() {
        return Err(refused());
    }
    Ok(dir)
}

/// The case a folder holds: its `case.json`, or for a folder made by hand a case named
/// after the folder.
fn read_case_folder(path: &Path, name: String) -> Result<CaseInput, ConnectorError> {
    match std::fs::read(path.join("case.json")) {
        Ok(bytes) => serde_json::from_slice::<CaseInput>(&bytes)
            .map_err(|e| ConnectorError::Permanent(format!("{name}/case.json: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(CaseInput::plain(name.clone(), name.clone(), name))
        }
        Err(e) => Err(io_error(e)),
    }
}

impl Connector for ArchiveConnector {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list_cases: true,
            read_case: true,
            withdraw: true,
            list_documents: true,
        }
    }

    fn creates_cases(&self) -> bool {
        true
    }

    fn create_case<'a>(&'a self, case: &'a Case) -> BoxFuture<'a, Result<String, ConnectorError>> {
        let root = self.root.clone();
        let case = case.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                ArchiveConnector { root }.create_case_blocking(&case)
            })
            .await
            .map_err(|e| ConnectorError::Transient(format!("archive task: {e}")))?
        })
    }

    fn file(&self, request: FilingRequest) -> BoxFuture<'_, Result<FiledDocument, ConnectorError>> {
        let root = self.root.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || ArchiveConnector { root }.file_blocking(&request))
                .await
                .map_err(|e| ConnectorError::Transient(format!("archive task: {e}")))?
        })
    }

    fn withdraw(
        &self,
        request: WithdrawRequest,
    ) -> BoxFuture<'_, Result<Withdrawal, ConnectorError>> {
        let root = self.root.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                ArchiveConnector { root }.withdraw_blocking(&request)
            })
            .await
            .map_err(|e| ConnectorError::Transient(format!("archive task: {e}")))?
        })
    }

    fn list_cases(&self) -> BoxFuture<'_, Result<Vec<CaseInput>, ConnectorError>> {
        let root = self.root.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || ArchiveConnector { root }.list_blocking())
                .await
                .map_err(|e| ConnectorError::Transient(format!("archive task: {e}")))?
        })
    }

    fn list_documents<'a>(
        &'a self,
        case_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CaseDocument>, ConnectorError>> {
        let root = self.root.clone();
        let case_id = case_id.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                ArchiveConnector { root }.documents_blocking(&case_id)
            })
            .await
            .map_err(|e| ConnectorError::Transient(format!("archive task: {e}")))?
        })
    }

    fn read_case<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<CaseInput>, ConnectorError>> {
        let root = self.root.clone();
        let id = id.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || ArchiveConnector { root }.read_case_blocking(&id))
                .await
                .map_err(|e| ConnectorError::Transient(format!("archive task: {e}")))?
        })
    }
}

/// One entry of a case's folder, read as a document.
struct ArchivedDocument<'a> {
    case_id: &'a str,
    document_id: String,
    path: &'a Path,
    name: &'a str,
}

impl ArchivedDocument<'_> {
    /// A document folder: the original its `metadata.json` names (or an `original*` file),
    /// else its `text.txt`; titled and dated by the metadata, else by the folder. A folder with
    /// neither is no document.
    fn read_folder(&self) -> std::io::Result<Option<CaseDocument>> {
        let metadata: serde_json::Value = match std::fs::read(self.path.join("metadata.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Value::Null,
            Err(e) => return Err(e),
        };
        let field = |name: &str| metadata.get(name).and_then(serde_json::Value::as_str);
        let named = field("original")
            .filter(|name| !name.contains(['/', '\\']) && !name.starts_with('.'))
            .map(|name| self.path.join(name))
            .filter(|path| path.is_file());
        let original = match named {
            Some(path) => Some(path),
            None => first_original(self.path)?,
        };
        let content = match original {
            Some(path) => DocumentContent::Original(std::fs::read(path)?),
            None => match std::fs::read(self.path.join("text.txt")) {
                Ok(text) => DocumentContent::Text(String::from_utf8_lossy(&text).into_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            },
        };
        let date = field("date")
            .and_then(|date| chrono::DateTime::parse_from_rfc3339(date).ok())
            .map(|date| date.to_utc())
            .or_else(|| dated_name(self.name))
            .or(modified(self.path)?);
        Ok(Some(CaseDocument {
            case_id: self.case_id.to_string(),
            document_id: self.document_id.clone(),
            title: field("title").unwrap_or(self.name).to_string(),
            content_type: field("content_type")
                .unwrap_or("application/octet-stream")
                .to_string(),
            date,
            content,
        }))
    }

    /// A file put in the case's folder by hand: titled by its name, dated when it changed.
    fn read_file(&self) -> std::io::Result<CaseDocument> {
        Ok(CaseDocument {
            case_id: self.case_id.to_string(),
            document_id: self.document_id.clone(),
            title: self.name.to_string(),
            content_type: "application/octet-stream".into(),
            date: modified(self.path)?,
            content: DocumentContent::Original(std::fs::read(self.path)?),
        })
    }
}

/// The first file in a folder whose name starts with `original`.
fn first_original(dir: &Path) -> std::io::Result<Option<PathBuf>> {
    let mut originals = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("original") && entry.path().is_file() {
            originals.push(entry.path());
        }
    }
    originals.sort();
    Ok(originals.into_iter().next())
}

/// The date a document folder's name starts with (`2026-11-23_…`), at midnight UTC.
fn dated_name(name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let date = chrono::NaiveDate::parse_from_str(name.get(..10)?, "%Y-%m-%d").ok()?;
    Some(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

fn modified(path: &Path) -> std::io::Result<Option<chrono::DateTime<chrono::Utc>>> {
    Ok(std::fs::metadata(path)?.modified().ok().map(Into::into))
}

/// The case as `case.json` records it. CPR parties are left out: the archive is read by
/// people browsing folders, and the store keeps the hashes.
fn case_record(case: &Case) -> Vec<u8> {
    let parties: Vec<_> = super::shareable_parties(case)
        .map(|p| json!({"kind": p.kind, "value": p.display}))
        .collect();
    pretty(&json!({
        "id": case.id, "number": case.number, "title": case.title, "kle": case.kle, "facet": case.facet,
        "status": case.status, "parties": parties, "groups": case.groups, "opened": case.opened,
    }))
}

fn write_separate(
    dir: &Path,
    request: &FilingRequest,
    attachment: &AttachmentDocument,
    parent: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let original = format!("original-{}", safe_name(&attachment.name, 80));
    write_synced(&dir.join(&original), &attachment.content)?;
    write_synced(&dir.join("text.txt"), attachment.text.as_bytes())?;
    let metadata = json!({
        "title": attachment.name,
        "content_type": attachment.content_type,
        "original": original,
        "attachment_of": parent,
        "attachment_index": attachment.index,
        "case": {"id": request.case.id, "number": request.case.number},
        "accepted_at": request.accepted_at.to_rfc3339(),
        "filed_by": request.filed_by,
    });
    write_synced(&dir.join("metadata.json"), &pretty(&metadata))
}

fn pretty(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("a JSON value always serialises")
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Replaces a small file by writing a temporary file and renaming it over the old one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    write_synced(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn io_error(e: std::io::Error) -> ConnectorError {
    ConnectorError::Transient(format!("archive: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::CaseStatus;
    use crate::extract::ItemKind;

    fn request(root_key: &str, attachments: Vec<AttachmentDocument>) -> FilingRequest {
        FilingRequest {
            idempotency_key: root_key.into(),
            accepted_at: chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
                .unwrap()
                .to_utc(),
            case: Case {
                id: "VK-2026-0007".into(),
                connector: "archive".into(),
                number: "02.34.02-G01-7-26".into(),
                title: "Carport".into(),
                kle: None,
                facet: None,
                status: CaseStatus::Open,
                parties: vec![],
                groups: vec![],
                opened: None,
            },
            title: "Ansøgning om carport / tegning".into(),
            kind: ItemKind::Mail,
            content_type: "message/rfc822".into(),
            content: b"Subject: x\r\n\r\nbody".to_vec(),
            text: "body".into(),
            metadata: json!({}),
            attachments,
            filed_by: "anna".into(),
            new_version_of: None,
        }
    }

    #[test]
    fn filing_twice_with_one_key_gives_one_document() {
        let root = tempfile::tempdir().unwrap();
        let archive = ArchiveConnector::new(root.path());
        let first = archive.file_blocking(&request("k1", vec![])).unwrap();
        let second = archive.file_blocking(&request("k1", vec![])).unwrap();
        assert_eq!(first, second);
        let case_dir = root.path().join("VK-2026-0007");
        let docs: Vec<_> = std::fs::read_dir(&case_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(docs.len(), 2, "case.json and one document: {docs:?}");
        let doc = root.path().join(&first.document_id);
        assert!(doc.join("original.eml").exists());
        assert_eq!(
            std::fs::read_to_string(doc.join("text.txt")).unwrap(),
            "body"
        );
        assert!(
            first.document_id.contains("Ansøgning_om_carport_tegning"),
            "{}",
            first.document_id
        );
    }

    #[test]
    fn separate_attachments_become_documents_of_their_own() {
        let root = tempfile::tempdir().unwrap();
        let archive = ArchiveConnector::new(root.path());
        let attachment = |index, mode| AttachmentDocument {
            index,
            mode,
            name: "tegning.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF".to_vec(),
            text: "tegning".into(),
        };
        let filed = archive
            .file_blocking(&request(
                "k2",
                vec![
                    attachment(0, AttachmentMode::Separate),
                    attachment(1, AttachmentMode::WithMail),
                    attachment(2, AttachmentMode::Skip),
                ],
            ))
            .unwrap();
        let main = root.path().join(&filed.document_id);
        assert!(main.join("attachments/01-tegning.pdf").exists());
        assert!(
            root.path()
                .join(format!("{}-00", filed.document_id))
                .join("original-tegning.pdf")
                .exists()
        );
        let metadata: serde_json::Value =
            serde_json::from_slice(&std::fs::read(main.join("metadata.json")).unwrap()).unwrap();
        assert_eq!(metadata["attachments"][2]["mode"], "skip");
    }

    #[test]
    fn an_unwritable_archive_is_a_transient_failure_and_leaves_no_document() {
        let root = tempfile::tempdir().unwrap();
        let blocked = root.path().join("archive");
        std::fs::write(&blocked, b"a file where the archive folder should be").unwrap();
        let archive = ArchiveConnector::new(&blocked);
        assert!(matches!(
            archive.file_blocking(&request("k3", vec![])),
            Err(ConnectorError::Transient(_))
        ));
        std::fs::remove_file(&blocked).unwrap();
        let filed = archive.file_blocking(&request("k3", vec![])).unwrap();
        assert!(
            blocked
                .join(&filed.document_id)
                .join("metadata.json")
                .exists()
        );
    }

    #[test]
    fn listing_reads_case_records_and_plain_folders() {
        let root = tempfile::tempdir().unwrap();
        let archive = ArchiveConnector::new(root.path());
        archive.file_blocking(&request("k4", vec![])).unwrap();
        std::fs::create_dir(root.path().join("Håndlavet sag")).unwrap();
        let cases = archive.list_blocking().unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].id, "Håndlavet sag");
        assert_eq!(cases[1].number, "02.34.02-G01-7-26");
        let by_hand = archive
            .read_case_blocking("Håndlavet sag")
            .unwrap()
            .unwrap();
        assert_eq!(by_hand.title, "Håndlavet sag");
        assert!(archive.read_case_blocking("../etc").unwrap().is_none());
        assert!(archive.read_case_blocking("S-404").unwrap().is_none());
    }

    #[test]
    fn filings_on_a_folder_made_by_hand_go_into_that_folder() {
        let root = tempfile::tempdir().unwrap();
        let archive = ArchiveConnector::new(root.path());
        std::fs::create_dir(root.path().join("Håndlavet sag")).unwrap();
        let mut on_hand_made = request("k5", vec![]);
        on_hand_made.case.id = "Håndlavet sag".into();
        let filed = archive.file_blocking(&on_hand_made).unwrap();
        assert!(
            filed.document_id.starts_with("Håndlavet sag/"),
            "{}",
            filed.document_id
        );
        let cases = archive.list_blocking().unwrap();
        assert_eq!(
            cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["Håndlavet sag"]
        );
    }

    #[test]
    fn a_new_version_goes_beside_the_document_under_its_id() {
        let root = tempfile::tempdir().unwrap();
        let archive = ArchiveConnector::new(root.path());
        let first = archive.file_blocking(&request("k6", vec![])).unwrap();
        let mut second = request("k7", vec![]);
        second.content = b"Subject: x\r\n\r\nbody, revised".to_vec();
        second.new_version_of = Some(crate::connector::NewVersion {
            document_id: first.document_id.clone(),
            version: 2,
        });
        let filed = archive.file_blocking(&second).unwrap();
        assert_eq!(filed, first, "a version keeps the document's id");
        assert_eq!(
            archive.file_blocking(&second).unwrap(),
            first,
            "and is filed once"
        );
        let version = root.path().join(&first.document_id).join("v2_k7");
        let metadata: serde_json::Value =
            serde_json::from_slice(&std::fs::read(version.join("metadata.json")).unwrap()).unwrap();
        assert_eq!(
            (
                metadata["version"].as_u64(),
                metadata["version_of"].as_str()
            ),
            (Some(2), Some(first.document_id.as_str()))
        );
        assert_eq!(
            std::fs::read(version.join("original.eml")).unwrap(),
            second.content
        );
        let documents = std::fs::read_dir(root.path().join("VK-2026-0007"))
            .unwrap()
            .count();
        assert_eq!(documents, 2, "case.json and one document");

        for elsewhere in [
            "OTHER/doc",
            "VK-2026-0007/../VK-2026-0007",
            "VK-2026-0007/missing",
        ] {
            second.new_version_of.as_mut().unwrap().document_id = elsewhere.into();
            assert!(
                matches!(
                    archive.file_blocking(&second),
                    Err(ConnectorError::Permanent(_))
                ),
                "{elsewhere}"
            );
        }
    }

    #[test]
    fn a_cases_documents_are_listed_without_versions_or_the_withdrawn() {
        let root = tempfile::tempdir().unwrap();
        let archive = ArchiveConnector::new(root.path());
        let mut with_drawing = request("k8", vec![]);
        with_drawing.attachments = vec![AttachmentDocument {
            index: 0,
            mode: AttachmentMode::Separate,
            name: "tegning.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF".to_vec(),
            text: "tegning".into(),
        }];
        with_drawing.metadata = json!({"type": "mail", "date": "2026-11-20T09:30:00Z"});
        let mail = archive.file_blocking(&with_drawing).unwrap();
        let mut version = request("k9", vec![]);
        version.new_version_of = Some(crate::connector::NewVersion {
            document_id: mail.document_id.clone(),
            version: 2,
        });
        archive.file_blocking(&version).unwrap();
        let withdrawn = request("k10", vec![]);
        let filed = archive.file_blocking(&withdrawn).unwrap();
        archive
            .withdraw_blocking(&WithdrawRequest {
                idempotency_key: "k10".into(),
                case: withdrawn.case.clone(),
                document_id: filed.document_id,
                title: withdrawn.title.clone(),
                withdrawn_by: "anna".into(),
                reason: "forkert sag".into(),
            })
            .unwrap();
        let case_dir = root.path().join("VK-2026-0007");
        std::fs::write(case_dir.join("notat.txt"), "lagt her i hånden").unwrap();
        let text_only = case_dir.join("2025-01-02_Gammelt_brev_x");
        std::fs::create_dir(&text_only).unwrap();
        std::fs::write(text_only.join("text.txt"), "kun teksten").unwrap();

        let documents = archive.documents_blocking("VK-2026-0007").unwrap();
        let ids: Vec<_> = documents.iter().map(|d| d.document_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "VK-2026-0007/2025-01-02_Gammelt_brev_x",
                mail.document_id.as_str(),
                &format!("{}-00", mail.document_id),
                "VK-2026-0007/notat.txt",
            ]
        );
        let [old, main, drawing, by_hand] = &documents[..] else {
            unreachable!()
        };
        assert_eq!(old.content, DocumentContent::Text("kun teksten".into()));
        assert_eq!(old.date.unwrap().to_rfc3339(), "2025-01-02T00:00:00+00:00");
        assert_eq!(
            (main.title.as_str(), main.content_type.as_str()),
            ("Ansøgning om carport / tegning", "message/rfc822")
        );
        assert_eq!(
            main.content,
            DocumentContent::Original(with_drawing.content)
        );
        assert_eq!(main.date.unwrap().to_rfc3339(), "2026-11-20T09:30:00+00:00");
        assert_eq!(main.case_id, "VK-2026-0007");
        assert_eq!(
            (drawing.title.as_str(), &drawing.content),
            ("tegning.pdf", &DocumentContent::Original(b"%PDF".to_vec()))
        );
        assert_eq!(by_hand.title, "notat.txt");
        assert!(by_hand.date.is_some());
        assert!(archive.documents_blocking("S-404").unwrap().is_empty());
    }
}
