//! Learns from the documents already on a connector's cases: their text and metadata go into
//! the store as past filings, into the index and into the ranker memory, in batches, without
//! anything being filed again.

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::connector::{CaseDocument, ConnectorError, DocumentContent};
use crate::domain::case::Case;
use crate::domain::identifiers::redact_cpr;
use crate::domain::now_millis;
use crate::extract::{ExtractError, Extracted, Extractor, Format, Metadata};
use crate::server::Services;
use crate::store::{PastFiling, StoreError};
use crate::suggest::{IndexError, SuggestError};

/// Documents stored in one transaction, at most.
const BATCH: usize = 500;
/// Bytes of originals held for one batch, at most (a batch of scanned PDFs is large).
const BATCH_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DocumentImportError {
    #[error("no connector named {name:?} (configured: {known})")]
    UnknownConnector { name: String, known: String },
    #[error("connector {0:?} cannot list its cases and their documents")]
    Unsupported(String),
    #[error("connector {name:?}: {source}")]
    Connector {
        name: String,
        source: ConnectorError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Suggest(#[from] SuggestError),
    #[error("extraction task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// What to import.
pub struct DocumentImport<'a> {
    /// The connector instance whose cases' documents are read.
    pub connector: &'a str,
    /// Only documents dated on or after this day.
    pub since: Option<NaiveDate>,
    pub progress: bool,
}

/// What an import did with the documents it read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub read: usize,
    pub imported: usize,
    /// Stored by an earlier import, or filed on the case by the service itself.
    pub already_there: usize,
    /// On a case of the connector that the store does not know.
    pub unknown_case: usize,
    /// Dated before `since`, or not dated while `since` is given.
    pub older: usize,
    /// Of a type the extraction does not read, or unreadable.
    pub unreadable: usize,
    /// Stopped by a signal before every case was read.
    pub interrupted: bool,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "documents: {} read, {} imported, {} already there; skipped {} on cases not in the store (import cases first), {} older than --since, {} unreadable",
            self.read,
            self.imported,
            self.already_there,
            self.unknown_case,
            self.older,
            self.unreadable
        )?;
        if self.interrupted {
            write!(f, "; interrupted: run it again to go on")?;
        }
        Ok(())
    }
}

/// A document taken, with its case, waiting for its batch.
struct Waiting {
    case: Arc<Case>,
    document: CaseDocument,
}

/// A document read through the extraction, ready to store.
struct Read {
    case: Arc<Case>,
    document: CaseDocument,
    sha256: String,
    original: Vec<u8>,
    extracted: Extracted,
}

/// Reads the documents of every case the connector lists, case by case, and stores those on
/// cases the store knows as past filings; then commits the index and keeps the ranker
/// memory's snapshot, also when stopped early by `stop` or an error, so that what was stored
/// is searchable and a second run passes over it.
pub async fn import_documents(
    services: &Services,
    import: &DocumentImport<'_>,
    stop: &CancellationToken,
) -> Result<Summary, DocumentImportError> {
    let name = import.connector;
    let connector = services.connectors.get(name).ok_or_else(|| {
        let known: Vec<_> = services.connectors.names().collect();
        DocumentImportError::UnknownConnector {
            name: name.to_string(),
            known: known.join(", "),
        }
    })?;
    let capabilities = connector.capabilities();
    if !(capabilities.list_cases && capabilities.list_documents) {
        return Err(DocumentImportError::Unsupported(name.to_string()));
    }
    let from_target = |source| DocumentImportError::Connector {
        name: name.to_string(),
        source,
    };
    let listed = connector.list_cases().await.map_err(from_target)?;
    let bar = match import.progress {
        true => ProgressBar::new(listed.len() as u64),
        false => ProgressBar::hidden(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} cases ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("0 imported");
    let mut summary = Summary::default();
    let mut importer = Importer {
        services,
        owner: format!("import:{name}"),
        waiting: Vec::new(),
        bytes: 0,
    };
    let walked = async {
        for input in &listed {
            if stop.is_cancelled() {
                summary.interrupted = true;
                break;
            }
            let case = services
                .store
                .case(&input.id)
                .await?
                .filter(|case| case.connector == name);
            let documents = connector
                .list_documents(&input.id)
                .await
                .map_err(from_target)?;
            summary.read += documents.len();
            let Some(case) = case else {
                summary.unknown_case += documents.len();
                bar.inc(1);
                continue;
            };
            let case = Arc::new(case);
            for document in documents {
                if !dated_from(&document, import.since) {
                    summary.older += 1;
                    continue;
                }
                importer.wait(case.clone(), document);
                if importer.full() {
                    importer.flush(&mut summary).await?;
                }
            }
            bar.inc(1);
            bar.set_message(format!("{} imported", summary.imported));
        }
        importer.flush(&mut summary).await
    }
    .await;
    bar.finish_and_clear();
    let index = services.index.clone();
    let committed = tokio::task::spawn_blocking(move || index.commit()).await;
    walked?;
    committed??;
    services.suggester.keep_snapshot_after_bulk_load().await?;
    Ok(summary)
}

/// Whether a document is dated on or after `since`.
fn dated_from(document: &CaseDocument, since: Option<NaiveDate>) -> bool {
    since.is_none_or(|since| document.date.is_some_and(|date| date.date_naive() >= since))
}

struct Importer<'a> {
    services: &'a Services,
    /// Whose items the documents become: the import of this connector.
    owner: String,
    waiting: Vec<Waiting>,
    bytes: usize,
}

impl Importer<'_> {
    fn wait(&mut self, case: Arc<Case>, document: CaseDocument) {
        self.bytes += match &document.content {
            DocumentContent::Original(bytes) => bytes.len(),
            DocumentContent::Text(text) => text.len(),
        };
        self.waiting.push(Waiting { case, document });
    }

    fn full(&self) -> bool {
        self.waiting.len() >= BATCH || self.bytes >= BATCH_BYTES
    }

    /// Extracts the waiting documents on both cores, stores them in one transaction and
    /// teaches the index and the memory what was stored now.
    async fn flush(&mut self, summary: &mut Summary) -> Result<(), DocumentImportError> {
        let waiting = std::mem::take(&mut self.waiting);
        self.bytes = 0;
        if waiting.is_empty() {
            return Ok(());
        }
        let half = waiting.len().div_ceil(2);
        let mut halves = vec![waiting];
        let second = halves[0].split_off(half);
        halves.push(second);
        let mut extracting = Vec::new();
        for half in halves {
            let extractor = self.services.extractor.clone();
            extracting.push(tokio::task::spawn_blocking(move || {
                half.into_iter()
                    .map(|waiting| read(&extractor, waiting))
                    .collect::<Vec<_>>()
            }));
        }
        let mut read_now = Vec::new();
        for half in extracting {
            for result in half.await? {
                match result {
                    Ok(read) => read_now.push(read),
                    Err((document_id, error)) => {
                        summary.unreadable += 1;
                        tracing::warn!(
                            document = %redact_cpr(&document_id),
                            %error,
                            "a document could not be read; skipped"
                        );
                    }
                }
            }
        }
        let titles: Vec<String> = read_now
            .iter()
            .map(|read| redact_cpr(&read.document.title).into_owned())
            .collect();
        let batch: Vec<PastFiling<'_>> = read_now
            .iter()
            .zip(&titles)
            .map(|(read, title)| PastFiling {
                owner: &self.owner,
                sha256: &read.sha256,
                original: &read.original,
                extracted: read.extracted.clone(),
                case_id: &read.case.id,
                title,
                filed_at: filed_at(read),
                // A name made outside the service may hold a CPR number; the store keeps none.
                document_id: Some(read.document.document_id.as_str())
                    .filter(|id| redact_cpr(id) == *id),
            })
            .collect();
        let offered = batch.len();
        let stored = self.services.store.insert_past_filings(batch).await?;
        summary.imported += stored.len();
        summary.already_there += offered - stored.len();
        let cases: std::collections::HashMap<&str, &Case> = read_now
            .iter()
            .map(|read| (read.case.id.as_str(), read.case.as_ref()))
            .collect();
        let learnt: Vec<_> = stored
            .into_iter()
            .filter_map(|(item, case_id)| cases.get(case_id.as_str()).map(|case| (item, *case)))
            .collect();
        tokio::task::block_in_place(|| self.services.suggester.learn_past(&learnt))?;
        Ok(())
    }
}

/// A document through the real extraction, as an upload of it would be read: a mail's
/// headers, a document's text, CPR numbers masked. The error names the document.
fn read(extractor: &Extractor, waiting: Waiting) -> Result<Read, (String, ExtractError)> {
    let Waiting { case, document } = waiting;
    let (original, format) = match &document.content {
        DocumentContent::Original(bytes) => (
            bytes.clone(),
            Format::from_content_type(&document.content_type, Some(&document.document_id)),
        ),
        DocumentContent::Text(text) => (text.clone().into_bytes(), Some(Format::Text)),
    };
    let extracted = format
        .ok_or(ExtractError::Unsupported)
        .and_then(|format| extractor.extract(&original, format));
    match extracted {
        Ok(extracted) => Ok(Read {
            sha256: hex::encode(Sha256::digest(&original)),
            case,
            document,
            original,
            extracted,
        }),
        Err(error) => Err((document.document_id, error)),
    }
}

/// Its place among the filings: the document's date, else a mail's Date header, else now.
fn filed_at(read: &Read) -> i64 {
    let sent = match &read.extracted.metadata {
        Metadata::Mail(mail) => mail.date,
        Metadata::Document(_) => None,
    };
    read.document
        .date
        .or(sent)
        .map_or_else(now_millis, |date| date.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExtractConfig;
    use crate::domain::identifiers::{CprHasher, IdentifierPatterns};

    fn document(date: Option<&str>, content: DocumentContent) -> CaseDocument {
        CaseDocument {
            case_id: "S1".into(),
            document_id: "S1/2026-11-20_Ansøgning_k1".into(),
            title: "Ansøgning fra 150385-1234".into(),
            content_type: "message/rfc822".into(),
            date: date.map(|d| chrono::DateTime::parse_from_rfc3339(d).unwrap().to_utc()),
            content,
        }
    }

    #[test]
    fn since_takes_documents_of_that_day_and_later_and_never_the_undated() {
        let since = NaiveDate::from_ymd_opt(2026, 11, 20);
        let on = document(
            Some("2026-11-20T00:00:00Z"),
            DocumentContent::Text(String::new()),
        );
        let before = document(
            Some("2026-11-19T23:59:59Z"),
            DocumentContent::Text(String::new()),
        );
        let undated = document(None, DocumentContent::Text(String::new()));
        assert!(dated_from(&on, since));
        assert!(!dated_from(&before, since));
        assert!(!dated_from(&undated, since));
        assert!(dated_from(&undated, None));
    }

    #[test]
    fn a_mail_is_read_as_an_upload_would_be_with_cpr_masked() {
        let extractor = Extractor {
            patterns: IdentifierPatterns::new(&ExtractConfig::default().journal_number_patterns)
                .unwrap(),
            cpr_hasher: CprHasher::new(b"key"),
            max_depth: 5,
        };
        let mail = b"From: Mette <mette@borger.example>\r\nSubject: Carport\r\n\
            Message-ID: <m1@borger.example>\r\nDate: Fri, 20 Nov 2026 09:30:00 +0000\r\n\r\n\
            Mit CPR-nummer er 150385-1234.\r\n";
        let case = Arc::new(
            crate::domain::case::CaseInput::plain("S1", "1", "Sag")
                .into_case("archive", &extractor.cpr_hasher)
                .unwrap(),
        );
        let read = read(
            &extractor,
            Waiting {
                case,
                document: document(None, DocumentContent::Original(mail.to_vec())),
            },
        )
        .map_err(|(_, e)| e)
        .unwrap();
        let Metadata::Mail(metadata) = &read.extracted.metadata else {
            panic!("not read as a mail");
        };
        assert_eq!(
            metadata.from[0].email.as_deref(),
            Some("mette@borger.example")
        );
        assert_eq!(metadata.subject.as_deref(), Some("Carport"));
        assert!(
            !read.extracted.text.contains("150385-1234"),
            "{}",
            read.extracted.text
        );
        assert_eq!(read.extracted.identifiers.cpr.len(), 1);
        assert_eq!(
            filed_at(&read),
            chrono::DateTime::parse_from_rfc3339("2026-11-20T09:30:00Z")
                .unwrap()
                .timestamp_millis(),
            "dated by its Date header when the target gives no date"
        );

        let picture = Waiting {
            case: read.case.clone(),
            document: CaseDocument {
                content_type: "image/png".into(),
                ..document(None, DocumentContent::Original(b"\x89PNG".to_vec()))
            },
        };
        assert!(matches!(
            super::read(&extractor, picture),
            Err((_, ExtractError::Unsupported))
        ));
    }

    #[test]
    fn the_summary_names_every_reason_for_skipping() {
        let summary = Summary {
            read: 7,
            imported: 3,
            already_there: 1,
            unknown_case: 1,
            older: 1,
            unreadable: 1,
            interrupted: false,
        };
        assert_eq!(
            summary.to_string(),
            "documents: 7 read, 3 imported, 1 already there; skipped 1 on cases not in the store (import cases first), 1 older than --since, 1 unreadable"
        );
    }
}
