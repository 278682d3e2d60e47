//! Combines text similarity with the rules (case number, thread, party) into ranked, explained
//! suggestions with a confidence.
//!
//! The weights are a hand-set first version; they are the numbers a learned ranker replaces.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use super::index::{IndexError, SearchIndex, TextHit, TextQuery};
use super::subject::thread_subject;
use crate::domain::case::{Case, CaseStatus, Party, PartyKind};
use crate::extract::Metadata;
use crate::store::{Store, StoreError, StoredItem};

const WEIGHT_TEXT: f64 = 1.0;
const WEIGHT_CASE_NUMBER: f64 = 3.0;
const WEIGHT_ALREADY_FILED: f64 = 4.0;
const WEIGHT_THREAD: f64 = 3.0;
const WEIGHT_PARTY_CAP: f64 = 2.5;
const WEIGHT_SAME_SUBJECT: f64 = 1.5;
/// A subject found on more cases than this is too generic to point at one.
const MAX_SAME_SUBJECT_CASES: usize = 3;
/// For the case filed on last; it halves with each step further back.
const WEIGHT_RECENT: f64 = 0.2;
/// How many of the user's latest cases count as recent.
const RECENT_CASES: usize = 5;
const PENALTY_CLOSED: f64 = 0.5;
/// Relative text similarity from which a case is worth showing, and from which it is called
/// similar rather than somewhat like.
const WEAK_TEXT: f64 = 0.1;
const STRONG_TEXT: f64 = 0.3;
/// Score of "none of these": confidence is a softmax over the candidates and this option.
const NONE_OF_THESE: f64 = 1.0;
const TEMPERATURE: f64 = 2.0;
/// Confidence is shared among this many best candidates, so that a long tail of weak text
/// matches does not dilute it.
const CONFIDENCE_POOL: usize = 10;
/// Only this much of a long item's text is used to find similar cases.
const MAX_QUERY_CHARS: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("search task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Why a case is suggested, in Danish (`text`) and English (`text_en`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub text: String,
    pub text_en: String,
}

#[derive(Debug, Clone)]
pub struct Suggestion {
    pub case: Case,
    pub score: f64,
    /// Estimated probability that this is the case the user wants.
    pub confidence: f64,
    pub reasons: Vec<Reason>,
}

#[derive(Default)]
struct Evidence {
    text: f64,
    case_number: Option<String>,
    already_filed: bool,
    thread: bool,
    /// A filed mail on the case has the same subject, reply markers aside.
    same_subject: bool,
    /// Position among the cases the user filed on most recently (0 = the latest).
    recent: Option<usize>,
    parties: Vec<(Party, bool)>,
}

#[derive(Clone)]
pub struct Suggester {
    store: Store,
    index: Arc<SearchIndex>,
}

impl Suggester {
    pub fn new(store: Store, index: Arc<SearchIndex>) -> Suggester {
        Suggester { store, index }
    }

    /// The best `limit` cases for an item among those the viewer may see, best first.
    pub async fn suggest(
        &self,
        item: &StoredItem,
        viewer_groups: &[String],
        limit: usize,
    ) -> Result<Vec<Suggestion>, SuggestError> {
        let mut evidence: HashMap<String, Evidence> = HashMap::new();

        let text: String = item.extracted.text.chars().take(MAX_QUERY_CHARS).collect();
        let index = self.index.clone();
        let kle = item.extracted.identifiers.kle.clone();
        let groups = viewer_groups.to_vec();
        let (people, subject) = match &item.extracted.metadata {
            Metadata::Mail(mail) => (
                super::index::people(mail)
                    .map(String::from)
                    .collect::<Vec<_>>(),
                mail.subject.as_deref().and_then(thread_subject),
            ),
            Metadata::Document(_) => (Vec::new(), None),
        };
        let (hits, same_subject) = tokio::task::spawn_blocking(move || {
            let query = TextQuery {
                text: &text,
                kle: &kle,
                people: &people,
                viewer_groups: &groups,
            };
            let hits = index.search(&query)?;
            let same_subject = match subject {
                Some(subject) => index.cases_with_subject(&subject, &groups)?,
                None => Vec::new(),
            };
            Ok::<_, IndexError>((hits, same_subject))
        })
        .await??;
        // A generic subject ("Aktindsigt", "Ny henvendelse") is on many cases and says nothing.
        if same_subject.len() <= MAX_SAME_SUBJECT_CASES {
            for case_id in same_subject {
                evidence.entry(case_id).or_default().same_subject = true;
            }
        }
        for (rank, case_id) in self
            .store
            .recent_cases_of(&item.owner, RECENT_CASES)
            .await?
            .into_iter()
            .enumerate()
        {
            evidence.entry(case_id).or_default().recent = Some(rank);
        }
        for (case_id, similarity) in relative_text_scores(&hits) {
            evidence.entry(case_id).or_default().text = similarity;
        }

        let identifiers = &item.extracted.identifiers;
        for (case_id, number) in self
            .store
            .case_ids_by_number(&identifiers.case_numbers)
            .await?
        {
            evidence.entry(case_id).or_default().case_number = Some(number);
        }

        if let Metadata::Mail(mail) = &item.extracted.metadata {
            if let Some(own) = &mail.message_id {
                for (_, case_id) in self
                    .store
                    .cases_of_messages(std::slice::from_ref(own))
                    .await?
                {
                    evidence.entry(case_id).or_default().already_filed = true;
                }
            }
            let mut thread: Vec<String> = mail.in_reply_to.clone();
            // The newest references are the likeliest to be filed; very long chains are cut.
            thread.extend(mail.references.iter().rev().take(20).cloned());
            thread.dedup();
            for (_, case_id) in self.store.cases_of_messages(&thread).await? {
                evidence.entry(case_id).or_default().thread = true;
            }
        }

        let senders: Vec<String> = match &item.extracted.metadata {
            Metadata::Mail(mail) => mail.from.iter().filter_map(|a| a.email.clone()).collect(),
            Metadata::Document(_) => Vec::new(),
        };
        let cpr_hashes: Vec<String> = identifiers.cpr.iter().map(|c| c.hash.clone()).collect();
        for (kind, values) in [
            (PartyKind::Cpr, &cpr_hashes),
            (PartyKind::Cvr, &identifiers.cvr),
            (PartyKind::Email, &identifiers.emails),
        ] {
            for (case_id, party) in self.store.cases_by_party(kind, values).await? {
                let from_sender = senders.contains(&party.value);
                evidence
                    .entry(case_id)
                    .or_default()
                    .parties
                    .push((party, from_sender));
            }
        }

        // Cases are loaded best-first by a preliminary score (as if open) until enough visible
        // ones are found: a long mail can match hundreds of cases weakly.
        let mut candidates: Vec<(f64, String, Evidence)> = evidence
            .into_iter()
            .map(|(id, found)| (explain(CaseStatus::Open, &found).0, id, found))
            .collect();
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let wanted = limit.max(CONFIDENCE_POOL);
        let mut suggestions: Vec<Suggestion> = Vec::new();
        for (_, case_id, found) in candidates {
            if suggestions.len() >= wanted {
                break;
            }
            let Some(case) = self.store.visible_case(&case_id, viewer_groups).await? else {
                continue;
            };
            let (score, reasons) = explain(case.status, &found);
            if reasons.is_empty() {
                continue;
            }
            suggestions.push(Suggestion {
                case,
                score,
                confidence: 0.0,
                reasons,
            });
        }
        suggestions.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.case.id.cmp(&b.case.id))
        });
        let normaliser = (TEMPERATURE * NONE_OF_THESE).exp()
            + suggestions
                .iter()
                .take(CONFIDENCE_POOL)
                .map(|s| (TEMPERATURE * s.score).exp())
                .sum::<f64>();
        for suggestion in &mut suggestions {
            suggestion.confidence = (TEMPERATURE * suggestion.score).exp() / normaliser;
        }
        suggestions.truncate(limit);
        Ok(suggestions)
    }
}

/// Text similarity per case in [0, 1], relative to the best-matching case: BM25 scores are not
/// comparable between queries, but their ratios within one query are.
fn relative_text_scores(hits: &[TextHit]) -> Vec<(String, f64)> {
    let combined: Vec<(String, f64)> = hits
        .iter()
        .map(|hit| {
            let documents: f64 = hit
                .document_scores
                .iter()
                .zip([1.0, 0.5, 0.25])
                .map(|(s, w)| f64::from(*s) * w)
                .sum();
            (hit.case_id.clone(), f64::from(hit.case_score) + documents)
        })
        .collect();
    let best = combined.iter().map(|(_, s)| *s).fold(0.0, f64::max);
    if best <= 0.0 {
        return Vec::new();
    }
    combined.into_iter().map(|(id, s)| (id, s / best)).collect()
}

/// The case's score and the reasons behind it, strongest first.
fn explain(status: CaseStatus, evidence: &Evidence) -> (f64, Vec<Reason>) {
    let mut parts: Vec<(f64, Reason)> = Vec::new();
    if evidence.already_filed {
        parts.push((
            WEIGHT_ALREADY_FILED,
            reason(
                "already_filed",
                "Mailen er allerede journaliseret på sagen".into(),
                "This mail is already filed on this case".into(),
            ),
        ));
    }
    if evidence.thread {
        parts.push((
            WEIGHT_THREAD,
            reason(
                "thread",
                "En tidligere mail i samme tråd er journaliseret på sagen".into(),
                "An earlier mail in this thread is filed on this case".into(),
            ),
        ));
    }
    if evidence.same_subject && !evidence.thread && !evidence.already_filed {
        parts.push((
            WEIGHT_SAME_SUBJECT,
            reason(
                "same_subject",
                "En tidligere mail med samme emne er journaliseret på sagen".into(),
                "An earlier mail with the same subject is filed on this case".into(),
            ),
        ));
    }
    if let Some(rank) = evidence.recent {
        let weight = WEIGHT_RECENT / f64::from(1u32 << rank.min(8));
        parts.push((
            weight,
            reason(
                "recent",
                "Du har for nylig journaliseret på sagen".into(),
                "You filed on this case recently".into(),
            ),
        ));
    }
    if let Some(number) = &evidence.case_number {
        parts.push((
            WEIGHT_CASE_NUMBER,
            reason(
                "case_number",
                format!("Sagsnummeret {number} står i teksten"),
                format!("The case number {number} appears in the text"),
            ),
        ));
    }
    let mut party_weight: f64 = 0.0;
    let mut party_reasons = Vec::new();
    for (party, from_sender) in &evidence.parties {
        let (weight, da, en) = match (party.kind, from_sender) {
            (PartyKind::Cpr, _) => (
                2.0,
                format!("CPR-nummeret {} er part på sagen", party.display),
                format!("The CPR number {} is a party to this case", party.display),
            ),
            (PartyKind::Cvr, _) => (
                1.5,
                format!("CVR-nummeret {} er part på sagen", party.display),
                format!("The CVR number {} is a party to this case", party.display),
            ),
            (_, true) => (
                2.0,
                format!("Afsenderen {} er part på sagen", party.display),
                format!("The sender {} is a party to this case", party.display),
            ),
            (_, false) => (
                1.0,
                format!("{} er part på sagen", party.display),
                format!("{} is a party to this case", party.display),
            ),
        };
        party_weight += weight;
        party_reasons.push(reason("party", da, en));
    }
    if !party_reasons.is_empty() {
        let share = party_weight.min(WEIGHT_PARTY_CAP) / party_reasons.len() as f64;
        parts.extend(party_reasons.into_iter().map(|r| (share, r)));
    }
    // Below a tenth of the best match, text similarity is noise and gives no suggestion.
    if evidence.text >= WEAK_TEXT {
        let (da, en) = if evidence.text >= STRONG_TEXT {
            (
                "Teksten ligner sagen og dokumenterne på den",
                "The text resembles this case and its documents",
            )
        } else {
            (
                "Teksten minder lidt om sagen",
                "The text is somewhat like this case",
            )
        };
        parts.push((
            WEIGHT_TEXT * evidence.text,
            reason("text", da.into(), en.into()),
        ));
    }
    let mut score: f64 = parts.iter().map(|(w, _)| w).sum::<f64>();
    if status == CaseStatus::Closed && !parts.is_empty() {
        score -= PENALTY_CLOSED;
        parts.push((
            0.0,
            reason(
                "closed",
                "Sagen er lukket".into(),
                "The case is closed".into(),
            ),
        ));
    }
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    (score, parts.into_iter().map(|(_, r)| r).collect())
}

fn reason(code: &'static str, text: String, text_en: String) -> Reason {
    Reason {
        code,
        text,
        text_en,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_outweigh_text_and_reasons_come_strongest_first() {
        let evidence = Evidence {
            text: 0.5,
            thread: true,
            ..Default::default()
        };
        let (score, reasons) = explain(CaseStatus::Open, &evidence);
        assert!(score > WEIGHT_THREAD);
        assert_eq!(
            reasons.iter().map(|r| r.code).collect::<Vec<_>>(),
            ["thread", "text"]
        );
    }

    #[test]
    fn faint_text_alone_gives_no_reason_and_closed_cases_are_marked() {
        let (_, reasons) = explain(
            CaseStatus::Open,
            &Evidence {
                text: 0.05,
                ..Default::default()
            },
        );
        assert!(reasons.is_empty());
        let (open, _) = explain(
            CaseStatus::Open,
            &Evidence {
                text: 1.0,
                ..Default::default()
            },
        );
        let (closed, reasons) = explain(
            CaseStatus::Closed,
            &Evidence {
                text: 1.0,
                ..Default::default()
            },
        );
        assert!(closed < open);
        assert_eq!(reasons.last().unwrap().code, "closed");
    }

    #[test]
    fn text_scores_are_relative_to_the_best_case() {
        let hits = vec![
            TextHit {
                case_id: "a".into(),
                case_score: 2.0,
                document_scores: vec![2.0],
            },
            TextHit {
                case_id: "b".into(),
                case_score: 0.0,
                document_scores: vec![2.0, 2.0],
            },
        ];
        let scores = relative_text_scores(&hits);
        assert_eq!(scores[0], ("a".into(), 1.0));
        assert_eq!(scores[1], ("b".into(), 0.75));
    }
}
