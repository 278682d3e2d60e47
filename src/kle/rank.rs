//! KLE subjects and facets ranked for an item that needs a new case.
//!
//! A subject counts by what the organisation's cases with that number hold: the item's text is
//! searched over the cases the user may see and their filed documents, and each hit's score
//! goes to its case's subject and facet. Subjects no case uses yet count by the plan's own
//! title and guidance text; a number written in the item counts most.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use tantivy::tokenizer::TextAnalyzer;

use super::{Entry, History, Level, PlanKind};
use crate::store::{Store, StoreError};
use crate::suggest::{IndexError, Reason, SearchIndex, TextQuery};

/// What the proposal is made from.
pub struct KleQuery<'a> {
    pub text: &'a str,
    /// KLE numbers written in the item.
    pub mentioned: &'a [String],
    pub people: &'a [String],
    pub viewer_groups: &'a [String],
    /// A case to leave out as if it did not exist (for leave-one-out evaluation).
    pub exclude_case: Option<&'a str>,
    pub limit: usize,
}

/// One proposed subject or facet.
#[derive(Debug, Clone, Serialize)]
pub struct Proposed {
    pub number: String,
    /// From the plan; `None` when the plan is not imported or lacks the number.
    pub title: Option<String>,
    /// This number's share of the evidence over every number proposed.
    pub confidence: f64,
    pub reasons: Vec<Reason>,
    #[serde(skip)]
    score: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Ranked {
    pub subjects: Vec<Proposed>,
    pub facets: Vec<Proposed>,
}

#[derive(Debug, thiserror::Error)]
pub enum RankError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the search task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// How much the plan's words count beside what cases hold: a subject in use is known by its
/// cases far better than by its title.
const PLAN_WEIGHT: f64 = 0.5;
/// A number written in the item counts as much as this many times the best other evidence.
const MENTIONED_WEIGHT: f64 = 2.0;

#[derive(Default)]
struct Tally {
    score: f64,
    cases: usize,
    /// The title of the case that counted most.
    best_case: Option<(f64, String)>,
    plan_words: Vec<String>,
    mentioned: bool,
}

pub async fn rank(
    store: &Store,
    index: &Arc<SearchIndex>,
    query: &KleQuery<'_>,
) -> Result<Ranked, RankError> {
    let hits = {
        let index = index.clone();
        let text = query.text.to_string();
        let people = query.people.to_vec();
        let groups = query.viewer_groups.to_vec();
        tokio::task::spawn_blocking(move || {
            index.commit_if_pending()?;
            index.search(&TextQuery {
                text: &text,
                kle: &[],
                people: &people,
                viewer_groups: &groups,
            })
        })
        .await??
    };
    let hits: Vec<_> = hits
        .into_iter()
        .filter(|hit| Some(hit.case_id.as_str()) != query.exclude_case)
        .collect();
    let ids: Vec<String> = hits.iter().map(|hit| hit.case_id.clone()).collect();
    let cases: HashMap<String, _> = store
        .cases(&ids)
        .await?
        .into_iter()
        .filter(|case| case.visible_to(query.viewer_groups))
        .map(|case| (case.id.clone(), case))
        .collect();

    let mut subjects: HashMap<String, Tally> = HashMap::new();
    let mut facets: HashMap<String, Tally> = HashMap::new();
    for hit in &hits {
        let Some(case) = cases.get(&hit.case_id) else {
            continue;
        };
        let evidence = f64::from(hit.case_score)
            + hit
                .document_scores
                .iter()
                .map(|s| f64::from(*s))
                .sum::<f64>();
        for (number, tallies) in [(&case.kle, &mut subjects), (&case.facet, &mut facets)] {
            if let Some(number) = number {
                let tally = tallies.entry(number.clone()).or_default();
                tally.score += evidence;
                tally.cases += 1;
                if tally
                    .best_case
                    .as_ref()
                    .is_none_or(|(best, _)| evidence > *best)
                {
                    tally.best_case = Some((evidence, case.title.clone()));
                }
            }
        }
    }

    let plan_subjects = store.kle_entries(PlanKind::Subjects).await?;
    let plan_facets = store.kle_entries(PlanKind::Facets).await?;
    let mut analyzer = crate::suggest::danish_analyzer();
    let words = stems(&mut analyzer, query.text);
    for (entries, tallies, level) in [
        (&plan_subjects, &mut subjects, Level::Subject),
        (&plan_facets, &mut facets, Level::Facet),
    ] {
        for (number, score, matched) in plan_matches(&mut analyzer, entries, level, &words) {
            let tally = tallies.entry(number).or_default();
            tally.score += PLAN_WEIGHT * score;
            tally.plan_words = matched;
        }
    }
    let best = subjects.values().map(|t| t.score).fold(1.0, f64::max);
    for number in query.mentioned {
        let tally = subjects.entry(number.clone()).or_default();
        tally.score += MENTIONED_WEIGHT * best;
        tally.mentioned = true;
    }

    Ok(Ranked {
        subjects: finish(subjects, &plan_subjects, query.limit),
        facets: finish(facets, &plan_facets, query.limit),
    })
}

/// The analysed words of a text, as the index would see them.
fn stems(analyzer: &mut TextAnalyzer, text: &str) -> HashSet<String> {
    let mut words = HashSet::new();
    let mut stream = analyzer.token_stream(text);
    stream.process(&mut |token| {
        if token.text.chars().any(char::is_alphabetic) {
            words.insert(token.text.clone());
        }
    });
    words
}

/// Entries in force of `level` whose title (counting double) or guidance shares words with
/// the item, each word weighted by how rare it is in the plan: (number, score, words).
fn plan_matches(
    analyzer: &mut TextAnalyzer,
    entries: &[Entry],
    level: Level,
    words: &HashSet<String>,
) -> Vec<(String, f64, Vec<String>)> {
    let in_force: Vec<(&Entry, HashSet<String>, HashSet<String>)> = entries
        .iter()
        .filter(|e| e.level == level && e.history.is_none())
        .map(|e| (e, stems(analyzer, &e.title), stems(analyzer, &e.guidance)))
        .collect();
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for (_, title, guidance) in &in_force {
        for word in title.union(guidance) {
            *frequency.entry(word.as_str()).or_default() += 1;
        }
    }
    let count = in_force.len().max(1) as f64;
    let rarity = |word: &str| (1.0 + count / frequency.get(word).copied().unwrap_or(1) as f64).ln();
    in_force
        .iter()
        .filter_map(|(entry, title, guidance)| {
            let mut matched: Vec<String> = title.intersection(words).cloned().collect();
            let mut score: f64 = matched.iter().map(|w| 2.0 * rarity(w)).sum();
            for word in guidance.intersection(words).filter(|w| !title.contains(*w)) {
                score += rarity(word);
                matched.push(word.clone());
            }
            matched.sort();
            (score > 0.0).then(|| (entry.number.clone(), score, matched))
        })
        .collect()
}

/// The best `limit` numbers with titles, confidences and reasons. A number the plan marks as
/// moved is proposed as the number that replaced it; one removed or no longer listed is not
/// proposed.
fn finish(tallies: HashMap<String, Tally>, plan: &[Entry], limit: usize) -> Vec<Proposed> {
    let by_number: HashMap<&str, &Entry> = plan.iter().map(|e| (e.number.as_str(), e)).collect();
    let mut merged: HashMap<String, (Tally, Option<String>)> = HashMap::new();
    for (number, tally) in tallies {
        let (number, moved_from) = match by_number
            .get(number.as_str())
            .and_then(|e| e.history.as_ref())
        {
            None => (number, None),
            Some(History::Moved { replaced_by, .. }) if !replaced_by.is_empty() => {
                (replaced_by[0].clone(), Some(number))
            }
            Some(_) => continue,
        };
        let (into, from) = merged.entry(number).or_default();
        into.score += tally.score;
        into.cases += tally.cases;
        if tally.best_case.as_ref().map(|b| b.0) > into.best_case.as_ref().map(|b| b.0) {
            into.best_case = tally.best_case;
        }
        into.plan_words.extend(tally.plan_words);
        into.mentioned |= tally.mentioned;
        *from = from.take().or(moved_from);
    }
    let total: f64 = merged.values().map(|(t, _)| t.score).sum();
    let mut proposed: Vec<Proposed> = merged
        .into_iter()
        .filter(|(_, (tally, _))| tally.score > 0.0)
        .map(|(number, (tally, moved_from))| Proposed {
            title: by_number.get(number.as_str()).map(|e| e.title.clone()),
            confidence: tally.score / total,
            reasons: reasons(&tally, moved_from.as_deref()),
            score: tally.score,
            number,
        })
        .collect();
    proposed.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.number.cmp(&b.number))
    });
    proposed.truncate(limit);
    for p in &mut proposed {
        p.confidence = (p.confidence * 1000.0).round() / 1000.0;
    }
    proposed
}

fn reasons(tally: &Tally, moved_from: Option<&str>) -> Vec<Reason> {
    let mut out = Vec::new();
    if tally.mentioned {
        out.push(Reason {
            code: "kle_in_text",
            text: "Nummeret står i teksten".into(),
            text_en: "The number is written in the text".into(),
        });
    }
    if let Some((_, title)) = &tally.best_case {
        out.push(Reason {
            code: "similar_cases",
            text: format!(
                "{} sag(er) med nummeret ligner, mest «{title}»",
                tally.cases
            ),
            text_en: format!(
                "{} case(s) with this number are alike, most «{title}»",
                tally.cases
            ),
        });
    }
    if !tally.plan_words.is_empty() {
        let words = tally.plan_words.join(", ");
        out.push(Reason {
            code: "plan_text",
            text: format!("Planens titel og vejledning deler ordene {words}"),
            text_en: format!("The plan's title and guidance share the words {words}"),
        });
    }
    if let Some(old) = moved_from {
        out.push(Reason {
            code: "moved",
            text: format!("Afløser {old}, som KLE har flyttet"),
            text_en: format!("Replaces {old}, which KLE has moved"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{Case, CaseStatus};

    fn case(id: &str, title: &str, kle: &str, facet: &str, groups: &[&str]) -> Case {
        Case {
            id: id.into(),
            connector: "archive".into(),
            number: id.into(),
            title: title.into(),
            kle: Some(kle.into()),
            facet: Some(facet.into()),
            status: CaseStatus::Open,
            parties: vec![],
            groups: groups.iter().map(|g| g.to_string()).collect(),
            opened: None,
        }
    }

    async fn organisation() -> (Store, Arc<SearchIndex>) {
        let store = crate::store::test_store().await;
        let index = Arc::new(SearchIndex::in_memory().unwrap());
        for case in [
            case(
                "S-1",
                "Byggetilladelse til carport, Skovvej 12",
                "02.34.02",
                "G01",
                &[],
            ),
            case(
                "S-2",
                "Byggetilladelse til tilbygning, Strandvejen 41",
                "02.34.02",
                "G01",
                &[],
            ),
            case(
                "S-3",
                "Klage over vintertjeneste på Bakkevej",
                "05.13.00",
                "K07",
                &[],
            ),
            case(
                "S-4",
                "Anbringelse af barn, hemmelig carport",
                "27.24.45",
                "P20",
                &["boern"],
            ),
        ] {
            store.upsert_case(&case).await.unwrap();
            index.put_case(&case).unwrap();
        }
        index.commit().unwrap();
        (store, index)
    }

    fn query<'a>(text: &'a str, groups: &'a [String]) -> KleQuery<'a> {
        KleQuery {
            text,
            mentioned: &[],
            people: &[],
            viewer_groups: groups,
            exclude_case: None,
            limit: 3,
        }
    }

    #[tokio::test]
    async fn subjects_and_facets_come_from_the_cases_that_resemble_the_item() {
        let (store, index) = organisation().await;
        let ranked = rank(
            &store,
            &index,
            &query("Ansøgning om byggetilladelse til en carport", &[]),
        )
        .await
        .unwrap();
        assert_eq!(ranked.subjects[0].number, "02.34.02");
        assert_eq!(ranked.subjects[0].reasons[0].code, "similar_cases");
        assert_eq!(ranked.facets[0].number, "G01");
        // The hidden case of another group does not count, nor show its title.
        assert!(ranked.subjects.iter().all(|s| s.number != "27.24.45"));
        let total: f64 = ranked.subjects.iter().map(|s| s.confidence).sum();
        assert!(total <= 1.0 + 1e-9, "{total}");

        let mut leave_out = query("Ansøgning om byggetilladelse til en carport", &[]);
        leave_out.exclude_case = Some("S-1");
        let ranked = rank(&store, &index, &leave_out).await.unwrap();
        assert!(ranked.subjects[0].reasons[0].text.starts_with("1 sag(er)"));
    }

    #[tokio::test]
    async fn an_unused_subject_is_found_by_the_plan_and_a_moved_one_by_its_replacement() {
        let (store, index) = organisation().await;
        let day = chrono::NaiveDate::from_ymd_opt(2016, 1, 1).unwrap();
        let entry = super::super::tests::subject;
        let plan = super::super::Plan {
            kind: PlanKind::Subjects,
            published: day,
            entries: vec![
                entry("09.02.02", "Hundehold og hundelov", None),
                entry(
                    "05.13.00",
                    "Vintertjeneste",
                    Some(History::Moved {
                        since: day,
                        replaced_by: vec!["05.13.01".into()],
                    }),
                ),
                entry("05.13.01", "Vintertjeneste og glatførebekæmpelse", None),
            ],
        };
        super::super::import(&store, &plan).await.unwrap();
        let ranked = rank(
            &store,
            &index,
            &query("En løs hund uden hundelov i parken", &[]),
        )
        .await
        .unwrap();
        assert_eq!(ranked.subjects[0].number, "09.02.02");
        assert_eq!(
            ranked.subjects[0].title.as_deref(),
            Some("Hundehold og hundelov")
        );
        assert_eq!(ranked.subjects[0].reasons[0].code, "plan_text");

        let ranked = rank(
            &store,
            &index,
            &query("Klage over manglende vintertjeneste", &[]),
        )
        .await
        .unwrap();
        assert_eq!(ranked.subjects[0].number, "05.13.01");
        assert!(ranked.subjects[0].reasons.iter().any(|r| r.code == "moved"));
        assert!(ranked.subjects.iter().all(|s| s.number != "05.13.00"));
    }
}
