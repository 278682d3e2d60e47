//! The evidence for each candidate case: which cases could be meant, and for each the features
//! the model combines — text similarity, the people and the thread, identifiers in the text,
//! the user's habits and the case's own life.
//!
//! Every feature is a number, mostly in [0, 1] and comparable from one item to the next
//! (search scores are taken relative to the item's best match, because their scale depends
//! on the query). The same gathering serves a suggestion and the learning from a filing.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use super::SuggestError;
use super::classifier::{Class, Fit};
use super::index::{SearchIndex, TextHit, TextQuery};
use super::memory::Memory;
use super::subject::thread_subject;
use super::terms::{Term, term_counts};
use crate::autofile::rules::ActionKind;
use crate::domain::case::{Party, PartyKind};
use crate::extract::Metadata;
use crate::store::{Store, StoredItem};

/// What the model weighs, one number per candidate case each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// How close the case comes to the text classifier's best: e^(score − best score), where
    /// a best below the margin of one the classifier learns towards counts as one.
    Classifier,
    /// The text classifier's first choice.
    ClassifierBest,
    /// Cosine between the item and the centroid of the case's items.
    Centroid,
    /// BM25 of the case's best-matching filed document, relative to the item's best match.
    TextDocument,
    /// BM25 of the case's three best-matching documents (weighted 1, ½, ¼), relative.
    TextDocuments,
    /// BM25 of the case's own record (number, title, parties), relative.
    TextCaseRecord,
    /// Share of the sender's earlier filed mail that is on the case.
    Sender,
    /// The sender's latest filed mail is on the case.
    SenderLatest,
    /// Mean share of the recipients' earlier filed mail that is on the case.
    Recipients,
    /// Share of earlier filed mail with the same subject (reply markers aside) on the case.
    Subject,
    /// An earlier mail of the thread (In-Reply-To, References) is filed on the case.
    Thread,
    /// This very mail (by Message-ID) is already filed on the case.
    AlreadyFiled,
    /// The case's number is in the text.
    CaseNumber,
    /// A CPR number in the item is a party to the case.
    PartyCpr,
    /// A CVR number in the item is a party to the case.
    PartyCvr,
    /// An e-mail address in the item is a party: 1 for the sender, ½ for another.
    PartyEmail,
    /// Among the user's latest cases: 1 for the latest, halving with each step back.
    Recent,
    /// The case's share of the organisation's recent filings, on a log scale.
    Activity,
    /// How close the item's date is to the newest item on the case: e^(−days / 30).
    Recency,
    /// The case is closed.
    Closed,
    /// An admin's rule with the action "suggest" points at the case.
    Rule,
}

pub const FEATURES: usize = Feature::ALL.len();
pub type Values = [f64; FEATURES];

impl Feature {
    pub const ALL: [Feature; 21] = [
        Feature::Classifier,
        Feature::ClassifierBest,
        Feature::Centroid,
        Feature::TextDocument,
        Feature::TextDocuments,
        Feature::TextCaseRecord,
        Feature::Sender,
        Feature::SenderLatest,
        Feature::Recipients,
        Feature::Subject,
        Feature::Thread,
        Feature::AlreadyFiled,
        Feature::CaseNumber,
        Feature::PartyCpr,
        Feature::PartyCvr,
        Feature::PartyEmail,
        Feature::Recent,
        Feature::Activity,
        Feature::Recency,
        Feature::Closed,
        Feature::Rule,
    ];

    /// The name admins see and set weights by.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Classifier => "classifier",
            Feature::ClassifierBest => "classifier_best",
            Feature::Centroid => "centroid",
            Feature::TextDocument => "text_document",
            Feature::TextDocuments => "text_documents",
            Feature::TextCaseRecord => "text_case_record",
            Feature::Sender => "sender",
            Feature::SenderLatest => "sender_latest",
            Feature::Recipients => "recipients",
            Feature::Subject => "subject",
            Feature::Thread => "thread",
            Feature::AlreadyFiled => "already_filed",
            Feature::CaseNumber => "case_number",
            Feature::PartyCpr => "party_cpr",
            Feature::PartyCvr => "party_cvr",
            Feature::PartyEmail => "party_email",
            Feature::Recent => "recent",
            Feature::Activity => "activity",
            Feature::Recency => "recency",
            Feature::Closed => "closed",
            Feature::Rule => "rule",
        }
    }

    pub fn parse(name: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The values `pairs` give, the others 0.
#[cfg(test)]
pub(super) fn with(pairs: &[(Feature, f64)]) -> Values {
    let mut values = [0.0; FEATURES];
    for (feature, value) in pairs {
        values[*feature as usize] = *value;
    }
    values
}

/// At most this many cases are taken from the classifier, and from each history (sender,
/// recipients, subject), as candidates.
const FROM_EACH_SOURCE: usize = 20;
/// Days over which the closeness in time of an item to a case's newest item fades to 1/e.
const RECENCY_DAYS: f64 = 30.0;
/// Only this much of a long item's text is searched.
const MAX_QUERY_CHARS: usize = 20_000;

/// What the features need to know about an item, read once.
#[derive(Debug, Clone, Default)]
pub struct Clues {
    /// The user who uploaded the item, and who alone may file it.
    pub owner: String,
    pub senders: Vec<String>,
    pub recipients: Vec<String>,
    /// The thread subject (`thread_subject`).
    pub subject: Option<String>,
    /// When a mail was sent, or when a document was uploaded.
    pub date: Option<DateTime<Utc>>,
    pub terms: HashMap<Term, u32>,
}

impl Clues {
    pub fn of(item: &StoredItem) -> Clues {
        let extracted = &item.extracted;
        let uploaded = DateTime::from_timestamp_millis(item.created_at);
        let addresses = |list: &[crate::extract::Address]| -> Vec<String> {
            list.iter().filter_map(|a| a.email.clone()).collect()
        };
        match &extracted.metadata {
            Metadata::Mail(mail) => Clues {
                owner: item.owner.clone(),
                senders: addresses(&mail.from),
                recipients: addresses(&mail.to)
                    .into_iter()
                    .chain(addresses(&mail.cc))
                    .collect(),
                subject: mail.subject.as_deref().and_then(thread_subject),
                date: mail.date.or(uploaded),
                terms: term_counts(extracted),
            },
            Metadata::Document(_) => Clues {
                owner: item.owner.clone(),
                date: uploaded,
                terms: term_counts(extracted),
                ..Clues::default()
            },
        }
    }
}

/// A case that could be meant, with its features and what the reasons need to name.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub case_id: String,
    pub values: Values,
    /// The case number found in the text, if that is why the case is here.
    pub case_number: Option<String>,
    /// Parties of the case found in the item, and whether each is the sender.
    pub parties: Vec<(Party, bool)>,
    /// The name of the rule that suggests the case, if one does.
    pub rule: Option<String>,
}

impl Candidate {
    fn new(case_id: String) -> Candidate {
        Candidate {
            case_id,
            values: [0.0; FEATURES],
            case_number: None,
            parties: Vec::new(),
            rule: None,
        }
    }

    pub fn value(&self, feature: Feature) -> f64 {
        self.values[feature as usize]
    }

    fn raise(&mut self, feature: Feature, value: f64) {
        let slot = &mut self.values[feature as usize];
        *slot = slot.max(value);
    }
}

/// Where the evidence comes from.
pub struct Sources<'a> {
    pub store: &'a Store,
    pub index: &'a Arc<SearchIndex>,
    pub memory: &'a Arc<RwLock<Memory>>,
}

/// The candidate cases for an item and their features, by case id. `also` is
/// added as a candidate whatever the evidence (the case a filing chose, to learn from).
/// Visibility is left to the caller: searches see only the viewer's cases, the rest does not.
pub async fn gather(
    sources: &Sources<'_>,
    item: &StoredItem,
    clues: &Arc<Clues>,
    viewer_groups: &[String],
    also: Option<&str>,
) -> Result<Vec<Candidate>, SuggestError> {
    let mut found: HashMap<String, Candidate> = HashMap::new();
    if let Some(id) = also {
        candidate(&mut found, id);
    }

    let (hits, fits) = search(sources, item, clues, viewer_groups).await?;
    for (case_id, values) in text_features(&hits) {
        let c = candidate(&mut found, &case_id);
        for (feature, value) in values {
            c.raise(feature, value);
        }
    }

    {
        let memory = sources.memory.read().map_err(|_| SuggestError::Poisoned)?;
        let best = fits.iter().map(|(_, f)| f.margin).fold(0.0_f32, f32::max);
        let mut ranked = fits.clone();
        ranked.sort_by(|a, b| {
            b.1.margin
                .total_cmp(&a.1.margin)
                .then_with(|| a.0.cmp(&b.0))
        });
        for (rank, (class, fit)) in ranked.iter().take(FROM_EACH_SOURCE).enumerate() {
            let c = candidate(&mut found, memory.case_id(*class));
            if rank == 0 && fit.margin > 0.0 {
                c.raise(Feature::ClassifierBest, 1.0);
            }
        }
        ranked.sort_by(|a, b| {
            b.1.cosine
                .total_cmp(&a.1.cosine)
                .then_with(|| a.0.cmp(&b.0))
        });
        for (class, _) in ranked.iter().take(FROM_EACH_SOURCE) {
            candidate(&mut found, memory.case_id(*class));
        }
        for (rank, class) in memory.recent(&clues.owner).enumerate() {
            candidate(&mut found, memory.case_id(class))
                .raise(Feature::Recent, 1.0 / f64::from(1u32 << rank.min(16)));
        }
        for class in memory.sender_latest(clues) {
            candidate(&mut found, memory.case_id(class)).raise(Feature::SenderLatest, 1.0);
        }
        let histories = [
            (Feature::Sender, memory.sender_shares(clues)),
            (Feature::Recipients, memory.recipient_shares(clues)),
            (Feature::Subject, memory.subject_shares(clues)),
        ];
        for (feature, shares) in histories {
            for (class, share) in strongest(shares) {
                candidate(&mut found, memory.case_id(class)).raise(feature, share);
            }
        }
        // The classifier and activity features of candidates found another way.
        let fits: HashMap<Class, Fit> = fits.into_iter().collect();
        for c in found.values_mut() {
            let class = memory.class(&c.case_id);
            let fit = class
                .and_then(|k| fits.get(&k))
                .copied()
                .unwrap_or_default();
            c.raise(
                Feature::Classifier,
                f64::from(fit.margin - best.max(1.0)).exp().min(1.0),
            );
            c.raise(Feature::Centroid, f64::from(fit.cosine));
            let Some(class) = class else {
                continue;
            };
            c.raise(Feature::Activity, activity_scale(memory.activity(class)));
            if let (Some(latest), Some(date)) = (memory.latest(class), clues.date) {
                let days = (date - latest).num_seconds().abs() as f64 / 86_400.0;
                c.raise(Feature::Recency, (-days / RECENCY_DAYS).exp());
            }
        }
    }

    let store = sources.store;
    let identifiers = &item.extracted.identifiers;
    for (case_id, number) in store.case_ids_by_number(&identifiers.case_numbers).await? {
        let c = candidate(&mut found, &case_id);
        c.raise(Feature::CaseNumber, 1.0);
        c.case_number = Some(number);
    }
    let mailbox = item
        .owner
        .strip_prefix(crate::autofile::MAILBOX_OWNER_PREFIX);
    for rule in store.rules().await? {
        if rule.spec.then.action == ActionKind::Suggest
            && let Some(case_id) = &rule.spec.then.case_id
            && rule.spec.matches(item, mailbox, viewer_groups)
        {
            let c = candidate(&mut found, case_id);
            c.raise(Feature::Rule, 1.0);
            c.rule.get_or_insert(rule.spec.name.clone());
        }
    }
    if let Metadata::Mail(mail) = &item.extracted.metadata {
        let mut asked: Vec<String> = mail.message_id.iter().cloned().collect();
        asked.extend(mail.in_reply_to.iter().cloned());
        // The newest references are the likeliest to be filed; very long chains are cut.
        asked.extend(mail.references.iter().rev().take(20).cloned());
        for (message_id, case_id) in store.cases_of_messages(&asked).await? {
            let feature = match mail.message_id.as_ref() == Some(&message_id) {
                true => Feature::AlreadyFiled,
                false => Feature::Thread,
            };
            candidate(&mut found, &case_id).raise(feature, 1.0);
        }
    }
    let cpr_hashes: Vec<String> = identifiers.cpr.iter().map(|c| c.hash.clone()).collect();
    for (kind, values) in [
        (PartyKind::Cpr, &cpr_hashes),
        (PartyKind::Cvr, &identifiers.cvr),
        (PartyKind::Email, &identifiers.emails),
    ] {
        for (case_id, party) in store.cases_by_party(kind, values).await? {
            let from_sender = clues.senders.contains(&party.value);
            let c = candidate(&mut found, &case_id);
            match (kind, from_sender) {
                (PartyKind::Cpr, _) => c.raise(Feature::PartyCpr, 1.0),
                (PartyKind::Cvr, _) => c.raise(Feature::PartyCvr, 1.0),
                (_, true) => c.raise(Feature::PartyEmail, 1.0),
                (_, false) => c.raise(Feature::PartyEmail, 0.5),
            }
            c.parties.push((party, from_sender));
        }
    }
    let ids: Vec<String> = found.keys().cloned().collect();
    for case_id in store.closed_cases(&ids).await? {
        if let Some(c) = found.get_mut(&case_id) {
            c.raise(Feature::Closed, 1.0);
        }
    }
    // In a fixed order, so that sums over candidates (and with them a replay) come out the
    // same every time.
    let mut candidates: Vec<Candidate> = found.into_values().collect();
    candidates.sort_by(|a, b| a.case_id.cmp(&b.case_id));
    Ok(candidates)
}

fn candidate<'a>(found: &'a mut HashMap<String, Candidate>, id: &str) -> &'a mut Candidate {
    found
        .entry(id.to_string())
        .or_insert_with(|| Candidate::new(id.to_string()))
}

/// The full-text hits among the viewer's cases and the classifier's scores, on a blocking
/// thread: both are CPU work.
async fn search(
    sources: &Sources<'_>,
    item: &StoredItem,
    clues: &Arc<Clues>,
    viewer_groups: &[String],
) -> Result<(Vec<TextHit>, Vec<(Class, Fit)>), SuggestError> {
    let index = sources.index.clone();
    let memory = sources.memory.clone();
    let clues = clues.clone();
    let text: String = item.extracted.text.chars().take(MAX_QUERY_CHARS).collect();
    let kle = item.extracted.identifiers.kle.clone();
    let groups = viewer_groups.to_vec();
    let found = tokio::task::spawn_blocking(move || {
        let people: Vec<String> = clues
            .senders
            .iter()
            .chain(&clues.recipients)
            .cloned()
            .collect();
        let hits = index.search(&TextQuery {
            text: &text,
            kle: &kle,
            people: &people,
            viewer_groups: &groups,
        })?;
        let memory = memory.read().map_err(|_| SuggestError::Poisoned)?;
        let x = memory.classifier.vector(&clues.terms);
        let fits: Vec<(Class, Fit)> = memory.classifier.fits(&x).into_iter().collect();
        Ok::<_, SuggestError>((hits, fits))
    })
    .await??;
    Ok(found)
}

/// The text features of each case the search found: its scores relative to the item's best.
fn text_features(hits: &[TextHit]) -> Vec<(String, [(Feature, f64); 3])> {
    let documents = |hit: &TextHit| -> f64 {
        hit.document_scores
            .iter()
            .zip([1.0, 0.5, 0.25])
            .map(|(s, w)| f64::from(*s) * w)
            .sum()
    };
    let best_document =
        |hit: &TextHit| f64::from(hit.document_scores.first().copied().unwrap_or(0.0));
    let max = |f: &dyn Fn(&TextHit) -> f64| hits.iter().map(f).fold(0.0, f64::max);
    let (top_document, top_documents, top_record) = (
        max(&best_document),
        max(&documents),
        max(&|h: &TextHit| f64::from(h.case_score)),
    );
    let relative = |value: f64, top: f64| if top > 0.0 { value / top } else { 0.0 };
    hits.iter()
        .map(|hit| {
            (
                hit.case_id.clone(),
                [
                    (
                        Feature::TextDocument,
                        relative(best_document(hit), top_document),
                    ),
                    (
                        Feature::TextDocuments,
                        relative(documents(hit), top_documents),
                    ),
                    (
                        Feature::TextCaseRecord,
                        relative(f64::from(hit.case_score), top_record),
                    ),
                ],
            )
        })
        .collect()
}

/// The cases with the largest shares, at most `FROM_EACH_SOURCE`.
fn strongest(shares: HashMap<Class, f64>) -> Vec<(Class, f64)> {
    let mut ranked: Vec<(Class, f64)> = shares.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(FROM_EACH_SOURCE);
    ranked
}

/// A share of recent filings on a log scale in [0, 1]: the difference between 1 % and 10 %
/// matters as much as that between 10 % and 100 %.
fn activity_scale(share: f64) -> f64 {
    (1.0 + 100.0 * share).ln() / 101f64.ln()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn feature_names_are_unique_and_parse_back() {
        let names: HashSet<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), FEATURES);
        for (i, feature) in Feature::ALL.iter().enumerate() {
            assert_eq!(*feature as usize, i, "ALL is in declaration order");
            assert_eq!(Feature::parse(feature.name()), Some(*feature));
        }
        assert_eq!(Feature::parse("bias"), None);
    }

    #[test]
    fn text_features_are_relative_to_the_best_match() {
        let hits = vec![
            TextHit {
                case_id: "a".into(),
                case_score: 2.0,
                document_scores: vec![4.0],
            },
            TextHit {
                case_id: "b".into(),
                case_score: 0.0,
                document_scores: vec![2.0, 2.0, 2.0],
            },
        ];
        let features = text_features(&hits);
        let values = |i: usize| features[i].1.map(|(_, v)| v);
        assert_eq!(values(0), [1.0, 1.0, 1.0]);
        // b: best 2/4; three documents 2 + 1 + 0.5 = 3.5 against a's 4.
        assert_eq!(values(1), [0.5, 0.875, 0.0]);
        assert!(text_features(&[]).is_empty());
    }

    #[test]
    fn activity_is_on_a_log_scale() {
        assert_eq!(activity_scale(0.0), 0.0);
        assert!((activity_scale(1.0) - 1.0).abs() < 1e-12);
        let (one, ten) = (activity_scale(0.01), activity_scale(0.1));
        assert!(one > 0.1 && ten > one && ten < 0.6, "{one} {ten}");
    }
}
