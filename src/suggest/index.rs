//! The tantivy index: one document per case (number, title, KLE, parties) and one per filed
//! item (its text), searched together and aggregated per case.
//!
//! Additions become visible at the next commit. A commit costs far more than an addition, so
//! filings do not commit one by one: the server commits on a timer, and a search commits
//! first if anything is still waiting, so that a filing always counts for the next suggestion.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{
    Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term, doc,
};
use tokio_util::sync::CancellationToken;

use super::analyzer::{AnalyzerSettings, DANISH};
use crate::domain::case::{Case, PartyKind};
use crate::extract::{Extracted, MailMetadata, Metadata};

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index writer lock poisoned")]
    Poisoned,
}

#[derive(Clone, Copy)]
struct Fields {
    key: Field,
    kind: Field,
    case_id: Field,
    title: Field,
    parties: Field,
    body: Field,
    kle: Field,
    /// The groups that may see the case, or `*` for everyone; searches filter on it.
    groups: Field,
    /// E-mail addresses of a filed mail's sender and recipients.
    people: Field,
}

/// What to search for: an item's text and KLE numbers, on behalf of a viewer.
pub struct TextQuery<'a> {
    pub text: &'a str,
    pub kle: &'a [String],
    /// The item's sender and recipients: cases with mail from and to the same people rank up.
    pub people: &'a [String],
    pub viewer_groups: &'a [String],
}

/// How well one case's text matches, before any rule.
#[derive(Debug, Clone, PartialEq)]
pub struct TextHit {
    pub case_id: String,
    /// BM25 of the case's own record (number, title, parties).
    pub case_score: f32,
    /// BM25 of the best-matching documents filed on the case, best first (at most three).
    pub document_scores: Vec<f32>,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    settings: AnalyzerSettings,
    /// Something was added or deleted since the last commit.
    pending: AtomicBool,
}

const CASE: &str = "case";
/// The `groups` value of a case everyone may see.
const PUBLIC: &str = "*";
const ITEM: &str = "item";
/// How many matching documents are aggregated into case scores.
const HITS: usize = 200;

impl SearchIndex {
    /// Opens the index in `dir`, creating it if needed. An index made with another schema
    /// (by an earlier version) is made anew, empty: the store's rebuild fills it.
    pub fn open(dir: &Path, writer_memory_mb: usize) -> Result<SearchIndex, IndexError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let index = match Index::open_or_create(MmapDirectory::open(dir)?, schema.clone()) {
            Err(TantivyError::SchemaError(reason)) => {
                tracing::warn!(%reason, "the search index has another schema; making it anew");
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                Index::create_in_dir(dir, schema)?
            }
            opened => opened?,
        };
        SearchIndex::with_index(index, fields, writer_memory_mb)
    }

    /// An index in memory, for tests and replays.
    pub fn in_memory() -> Result<SearchIndex, IndexError> {
        let (schema, fields) = schema();
        SearchIndex::with_index(Index::create_in_ram(schema), fields, 15)
    }

    fn with_index(
        index: Index,
        fields: Fields,
        writer_memory_mb: usize,
    ) -> Result<SearchIndex, IndexError> {
        let settings = AnalyzerSettings::embedded();
        index.tokenizers().register(DANISH, settings.analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer(writer_memory_mb.max(15) * 1024 * 1024)?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            settings,
            pending: AtomicBool::new(false),
        })
    }

    /// Adds or replaces a case's own record. Takes effect at the next `commit`.
    pub fn put_case(&self, case: &Case) -> Result<(), IndexError> {
        let f = self.fields;
        let key = format!("{CASE}:{}", case.id);
        // CPR parties are left out: the index must never hold them, not even hashed in text.
        let parties: Vec<&str> = case
            .parties
            .iter()
            .filter(|p| p.kind != PartyKind::Cpr)
            .map(|p| p.display.as_str())
            .collect();
        let mut document = doc!(
            f.key => key.as_str(),
            f.kind => CASE,
            f.case_id => case.id.as_str(),
            f.title => format!("{} {}", case.number, case.title),
            f.parties => parties.join("\n"),
            f.kle => case.kle.clone().unwrap_or_default(),
        );
        add_groups(&mut document, f.groups, case);
        self.replace(&key, document)
    }

    /// Adds an item filed on a case: its text, and for mail its people. Takes effect at the
    /// next `commit`.
    pub fn put_filed_item(
        &self,
        item_id: &str,
        case: &Case,
        item: &Extracted,
    ) -> Result<(), IndexError> {
        let f = self.fields;
        let key = format!("{ITEM}:{item_id}:{}", case.id);
        let mut document = doc!(
            f.key => key.as_str(),
            f.kind => ITEM,
            f.case_id => case.id.as_str(),
            f.body => item.text.as_str(),
        );
        if let Metadata::Mail(mail) = &item.metadata {
            for address in people(mail) {
                document.add_text(f.people, address);
            }
        }
        add_groups(&mut document, f.groups, case);
        self.replace(&key, document)
    }

    /// Removes an item filed on a case (a filing undone). Takes effect at the next `commit`.
    pub fn remove_filed_item(&self, item_id: &str, case_id: &str) -> Result<(), IndexError> {
        let writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        writer.delete_term(Term::from_field_text(
            self.fields.key,
            &format!("{ITEM}:{item_id}:{case_id}"),
        ));
        self.pending.store(true, Ordering::Release);
        Ok(())
    }

    /// Adds `document` in place of any with the same key.
    fn replace(&self, key: &str, document: TantivyDocument) -> Result<(), IndexError> {
        let writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        writer.delete_term(Term::from_field_text(self.fields.key, key));
        writer.add_document(document)?;
        self.pending.store(true, Ordering::Release);
        Ok(())
    }

    /// Makes everything added so far durable and visible to searches.
    pub fn commit(&self) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().map_err(|_| IndexError::Poisoned)?;
        // Cleared before the commit: an addition racing with it sets it again and is
        // committed next time if this commit missed it.
        self.pending.store(false, Ordering::Release);
        if let Err(error) = writer.commit() {
            self.pending.store(true, Ordering::Release);
            return Err(error.into());
        }
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Commits if anything was added since the last commit.
    pub fn commit_if_pending(&self) -> Result<(), IndexError> {
        if self.pending.load(Ordering::Acquire) {
            self.commit()?;
        }
        Ok(())
    }

    /// Commits what filings added, every `every`, until `stop`; keeps commits off the
    /// suggestion path.
    pub async fn commit_periodically(
        self: std::sync::Arc<Self>,
        every: Duration,
        stop: CancellationToken,
    ) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let index = self.clone();
            match tokio::task::spawn_blocking(move || index.commit_if_pending()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "committing the search index failed"),
                Err(error) => tracing::error!(%error, "committing the search index panicked"),
            }
        }
    }

    pub fn clear(&self) -> Result<(), IndexError> {
        self.writer
            .lock()
            .map_err(|_| IndexError::Poisoned)?
            .delete_all_documents()?;
        self.commit()
    }

    /// Number of case records and filed-item documents that searches see.
    pub fn counts(&self) -> Result<(u64, u64), IndexError> {
        let searcher = self.reader.searcher();
        let count = |kind| -> Result<u64, IndexError> {
            let query = TermQuery::new(
                Term::from_field_text(self.fields.kind, kind),
                IndexRecordOption::Basic,
            );
            Ok(query.count(&searcher)? as u64)
        };
        Ok((count(CASE)?, count(ITEM)?))
    }

    /// Cases whose record or filed documents resemble `text`, best first.
    pub fn search(&self, query: &TextQuery<'_>) -> Result<Vec<TextHit>, IndexError> {
        let searcher = self.reader.searcher();
        let terms = self.distinctive_terms(query.text, &searcher)?;
        if terms.is_empty() && query.kle.is_empty() && query.people.is_empty() {
            return Ok(Vec::new());
        }
        let f = self.fields;
        let boosts = &self.settings.boost;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in &terms {
            for (field, boost) in [
                (f.title, boosts.title),
                (f.parties, boosts.parties),
                (f.body, boosts.body),
            ] {
                let query = TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(query), boost)),
                ));
            }
        }
        for kle in query.kle {
            let term = TermQuery::new(Term::from_field_text(f.kle, kle), IndexRecordOption::Basic);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(term), boosts.kle)),
            ));
        }
        for address in query.people {
            let term = TermQuery::new(
                Term::from_field_text(f.people, address),
                IndexRecordOption::Basic,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(term), boosts.people)),
            ));
        }
        // Only cases the viewer may see compete for the top hits.
        let filtered = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>,
            ),
            (Occur::Must, Box::new(self.visibility(query.viewer_groups))),
        ]);
        let hits = searcher.search(&filtered, &TopDocs::with_limit(HITS))?;
        let mut by_case: HashMap<String, TextHit> = HashMap::new();
        let mut order = Vec::new();
        for (score, address) in hits {
            let document: TantivyDocument = searcher.doc(address)?;
            let field = |field| {
                document
                    .get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let case_id = field(f.case_id);
            let hit = by_case.entry(case_id.clone()).or_insert_with(|| {
                order.push(case_id.clone());
                TextHit {
                    case_id,
                    case_score: 0.0,
                    document_scores: Vec::new(),
                }
            });
            if field(f.kind) == CASE {
                hit.case_score = hit.case_score.max(score);
            } else if hit.document_scores.len() < 3 {
                hit.document_scores.push(score);
            }
        }
        Ok(order
            .into_iter()
            .filter_map(|id| by_case.remove(&id))
            .collect())
    }

    /// Matches documents of cases open to everyone or to one of `viewer_groups`.
    fn visibility(&self, viewer_groups: &[String]) -> BooleanQuery {
        let groups = std::iter::once(PUBLIC).chain(viewer_groups.iter().map(String::as_str));
        BooleanQuery::new(
            groups
                .map(|group| {
                    let term = TermQuery::new(
                        Term::from_field_text(self.fields.groups, group),
                        IndexRecordOption::Basic,
                    );
                    (Occur::Should, Box::new(term) as Box<dyn Query>)
                })
                .collect(),
        )
    }

    /// The analysed terms of `text` that best tell documents apart: frequent in the text, rare
    /// in the index (tf·idf), at most `query_terms` of them.
    fn distinctive_terms(
        &self,
        text: &str,
        searcher: &tantivy::Searcher,
    ) -> Result<Vec<String>, IndexError> {
        let mut analyzer = self.index.tokenizer_for_field(self.fields.body)?;
        let mut frequencies: HashMap<String, u32> = HashMap::new();
        let mut stream = analyzer.token_stream(text);
        stream.process(&mut |token| {
            // Pure numbers say little on their own; identifiers are handled by the rules.
            if token.text.chars().any(char::is_alphabetic) {
                *frequencies.entry(token.text.clone()).or_default() += 1;
            }
        });
        let documents = searcher.num_docs().max(1) as f32;
        let mut weighted = Vec::with_capacity(frequencies.len());
        for (term, tf) in frequencies {
            let mut df = 0;
            for field in [self.fields.title, self.fields.parties, self.fields.body] {
                df += searcher.doc_freq(&Term::from_field_text(field, &term))?;
            }
            if df == 0 {
                continue;
            }
            let idf = (1.0 + documents / df as f32).ln();
            weighted.push(((1.0 + tf as f32).ln() * idf, term));
        }
        weighted.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(weighted
            .into_iter()
            .take(self.settings.query_terms)
            .map(|(_, t)| t)
            .collect())
    }
}

/// The lower-cased addresses of a mail's sender and recipients.
pub(super) fn people(mail: &MailMetadata) -> impl Iterator<Item = &str> {
    mail.from
        .iter()
        .chain(&mail.to)
        .chain(&mail.cc)
        .filter_map(|a| a.email.as_deref())
}

fn add_groups(document: &mut TantivyDocument, field: Field, case: &Case) {
    if case.groups.is_empty() {
        document.add_text(field, PUBLIC);
    }
    for group in &case.groups {
        document.add_text(field, group);
    }
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let danish = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(DANISH)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        key: builder.add_text_field("key", STRING),
        kind: builder.add_text_field("kind", STRING | STORED),
        case_id: builder.add_text_field("case_id", STRING | STORED),
        title: builder.add_text_field("title", danish.clone()),
        parties: builder.add_text_field("parties", danish.clone()),
        body: builder.add_text_field("body", danish),
        kle: builder.add_text_field("kle", STRING),
        groups: builder.add_text_field("groups", STRING),
        people: builder.add_text_field("people", STRING),
    };
    (builder.build(), fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{CaseStatus, Party};

    fn case(id: &str, title: &str) -> Case {
        Case {
            id: id.into(),
            connector: "archive".into(),
            number: format!("N-{id}"),
            title: title.into(),
            kle: None,
            facet: None,
            status: CaseStatus::Open,
            parties: vec![
                Party {
                    kind: PartyKind::Name,
                    value: "mette kjær".into(),
                    display: "Mette Kjær".into(),
                },
                Party {
                    kind: PartyKind::Cpr,
                    value: "hash".into(),
                    display: "150385-XXXX".into(),
                },
            ],
            groups: vec![],
            opened: None,
        }
    }

    fn text_item(text: &str) -> Extracted {
        Extracted {
            kind: crate::extract::ItemKind::Document,
            content_type: "text/plain".into(),
            metadata: Metadata::Document(Default::default()),
            text: text.into(),
            identifiers: Default::default(),
            truncated: Vec::new(),
        }
    }

    fn search(index: &SearchIndex, text: &str) -> Vec<TextHit> {
        index
            .search(&TextQuery {
                text,
                kle: &[],
                people: &[],
                viewer_groups: &[],
            })
            .unwrap()
    }

    #[test]
    fn cases_rank_by_their_record_and_their_filed_documents() {
        let index = SearchIndex::in_memory().unwrap();
        index
            .put_case(&case("1", "Byggetilladelse til carport"))
            .unwrap();
        index
            .put_case(&case("2", "Klage over vintertjeneste"))
            .unwrap();
        index
            .put_filed_item(
                "i1",
                &case("2", "Klage over vintertjeneste"),
                &text_item("Sneen på Bakkevej er ikke ryddet, og der er glat."),
            )
            .unwrap();
        index.commit().unwrap();
        assert_eq!(index.counts().unwrap(), (2, 1));

        let hits = search(&index, "Hvornår rydder I sneen på Bakkevej?");
        assert_eq!(hits[0].case_id, "2");
        assert!(!hits[0].document_scores.is_empty());
        let hits = search(&index, "Vi søger om byggetilladelser til en ny carport");
        assert_eq!(hits[0].case_id, "1");
        assert!(hits[0].case_score > 0.0);
    }

    #[test]
    fn replacing_a_case_keeps_one_record_and_cpr_is_never_indexed() {
        let index = SearchIndex::in_memory().unwrap();
        index.put_case(&case("1", "Carport")).unwrap();
        index.put_case(&case("1", "Carport på Skovvej")).unwrap();
        index.commit().unwrap();
        assert_eq!(index.counts().unwrap(), (1, 0));
        assert!(search(&index, "150385").is_empty());
        assert!(search(&index, "hash").is_empty());
    }

    #[test]
    fn hidden_cases_do_not_compete_and_kle_numbers_match() {
        let index = SearchIndex::in_memory().unwrap();
        let mut hidden = case("1", "Kørestol til borger");
        hidden.groups = vec!["social".into()];
        index.put_case(&hidden).unwrap();
        let mut open = case("2", "Rampe til kørestol ved rådhuset");
        open.kle = Some("02.34.02".into());
        index.put_case(&open).unwrap();
        index.commit().unwrap();

        let ids = |hits: Vec<TextHit>| hits.into_iter().map(|h| h.case_id).collect::<Vec<_>>();
        assert_eq!(ids(search(&index, "kørestol")), ["2"]);
        let social = ["social".to_string()];
        let query = TextQuery {
            text: "kørestol",
            kle: &[],
            people: &[],
            viewer_groups: &social,
        };
        assert_eq!(index.search(&query).unwrap().len(), 2);
        let kle = ["02.34.02".to_string()];
        let query = TextQuery {
            text: "",
            kle: &kle,
            people: &[],
            viewer_groups: &[],
        };
        assert_eq!(ids(index.search(&query).unwrap()), ["2"]);
    }

    #[test]
    fn text_without_known_terms_finds_nothing() {
        let index = SearchIndex::in_memory().unwrap();
        index.put_case(&case("1", "Carport")).unwrap();
        index.commit().unwrap();
        assert!(search(&index, "zzzz qqqq").is_empty());
        assert!(search(&index, "").is_empty());
    }
}
