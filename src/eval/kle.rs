//! How well KLE subjects are proposed for new cases: leave one case out at a time, propose a
//! subject from its first filed document as if the case did not exist, and count how often the
//! case's own subject (`HH.GG.EE`) or group (`HH.GG`) is first or among the first three.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::extract::Metadata;
use crate::kle::rank::{KleQuery, RankError, rank};
use crate::store::{Store, StoreError};
use crate::suggest::SearchIndex;

#[derive(Debug, thiserror::Error)]
pub enum KleEvalError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rank(#[from] RankError),
}

/// Hits among the proposals, out of `cases`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Hits {
    pub subject_top1: usize,
    pub subject_top3: usize,
    pub group_top1: usize,
    pub group_top3: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KleReport {
    /// Cases with a KLE number and at least one filed document.
    pub cases: usize,
    /// As the proposal route ranks: KLE numbers written in the document count.
    pub as_proposed: Hits,
    /// With numbers written in the document ignored: what the text alone gives.
    pub text_only: Hits,
    /// Cases whose subject no other case has: at subject level these can only be found from
    /// the plan's words or a number in the text.
    pub subjects_used_once: usize,
    /// Whether a KLE plan was imported (its titles and guidance count for unused subjects).
    pub plan_entries: usize,
}

/// Runs the evaluation over every case of the organisation in `store` and `index`, as one
/// viewer who may see every case.
pub async fn evaluate(store: &Store, index: &Arc<SearchIndex>) -> Result<KleReport, KleEvalError> {
    let cases = store.all_cases().await?;
    let mut groups: Vec<String> = cases.iter().flat_map(|c| c.groups.clone()).collect();
    groups.sort();
    groups.dedup();
    let first_documents = store.first_filed_items().await?;
    let mut report = KleReport {
        plan_entries: store
            .kle_entries(crate::kle::PlanKind::Subjects)
            .await?
            .len(),
        ..KleReport::default()
    };
    for case in &cases {
        let Some(kle) = &case.kle else { continue };
        let Some(item_id) = first_documents.get(&case.id) else {
            continue;
        };
        let Some(item) = store.item(item_id).await? else {
            continue;
        };
        report.cases += 1;
        if cases.iter().filter(|c| c.kle.as_ref() == Some(kle)).count() == 1 {
            report.subjects_used_once += 1;
        }
        let people: Vec<String> = match &item.extracted.metadata {
            Metadata::Mail(mail) => mail
                .from
                .iter()
                .chain(&mail.to)
                .filter_map(|a| a.email.clone())
                .collect(),
            Metadata::Document(_) => Vec::new(),
        };
        for (mentioned, hits) in [
            (
                item.extracted.identifiers.kle.as_slice(),
                &mut report.as_proposed,
            ),
            (&[][..], &mut report.text_only),
        ] {
            let ranked = rank(
                store,
                index,
                &KleQuery {
                    text: &item.extracted.text,
                    mentioned,
                    people: &people,
                    viewer_groups: &groups,
                    exclude_case: Some(&case.id),
                    limit: 3,
                },
            )
            .await?;
            let numbers: Vec<&str> = ranked.subjects.iter().map(|s| s.number.as_str()).collect();
            count(hits, kle, &numbers);
        }
    }
    Ok(report)
}

fn count(hits: &mut Hits, kle: &str, proposed: &[&str]) {
    let group = |number: &str| number.get(..5).map(str::to_owned);
    let first = proposed.first().copied();
    hits.subject_top1 += usize::from(first == Some(kle));
    hits.subject_top3 += usize::from(proposed.contains(&kle));
    hits.group_top1 += usize::from(first.and_then(group) == group(kle));
    hits.group_top3 += usize::from(proposed.iter().any(|p| group(p) == group(kle)));
}

impl fmt::Display for KleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let share = |n: usize| {
            if self.cases == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.cases as f64
            }
        };
        writeln!(
            f,
            "KLE proposals, leave one case out: {} cases with a KLE number and a filed document ({} with a subject no other case has); KLE plan entries: {}",
            self.cases, self.subjects_used_once, self.plan_entries
        )?;
        writeln!(
            f,
            "{:<28} {:>14} {:>14} {:>14} {:>14}",
            "", "subject top-1", "subject top-3", "group top-1", "group top-3"
        )?;
        for (name, hits) in [
            ("as proposed", &self.as_proposed),
            ("text only (no number in text)", &self.text_only),
        ] {
            writeln!(
                f,
                "{name:<28} {:>5} ({:>5.1} %) {:>5} ({:>5.1} %) {:>5} ({:>5.1} %) {:>5} ({:>5.1} %)",
                hits.subject_top1,
                share(hits.subject_top1),
                hits.subject_top3,
                share(hits.subject_top3),
                hits.group_top1,
                share(hits.group_top1),
                hits.group_top3,
                share(hits.group_top3),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_count_at_subject_and_group_level() {
        let mut hits = Hits::default();
        count(&mut hits, "02.34.02", &["02.34.04", "05.13.00", "02.34.02"]);
        assert_eq!(
            hits,
            Hits {
                subject_top1: 0,
                subject_top3: 1,
                group_top1: 1,
                group_top3: 1
            }
        );
        let before = hits.clone();
        count(&mut hits, "02.34.02", &[]);
        assert_eq!(hits, before, "no proposal counts nothing");
    }
}
