//! The suggestions people were shown, replayed under other weights: the feature values kept
//! with each case shown, and where the case chosen would have stood among those cases had the
//! combiner weighed them otherwise.
//!
//! Only the cases shown are kept, so a replay reorders the list shown: a case that other
//! weights would have lifted into it from outside is not seen, and a choice that was not in
//! the list stays out of it.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::features::{FEATURES, Feature, Values};
use super::model::Combiner;
use crate::store::RecordedChoice;

/// A shown case's feature values by name, as kept with the suggestions shown: by name so that
/// a record outlives a change of the features (a name no longer known is passed over, a
/// feature added later reads as 0), and without the zeros, which most of them are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FeatureValues(BTreeMap<String, f64>);

impl FeatureValues {
    pub fn of(values: &Values) -> FeatureValues {
        FeatureValues(
            Feature::ALL
                .iter()
                .filter(|f| values[**f as usize] != 0.0)
                .map(|f| (f.name().to_string(), values[*f as usize]))
                .collect(),
        )
    }

    pub fn values(&self) -> Values {
        let mut values = [0.0; FEATURES];
        for (name, value) in &self.0 {
            if let Some(feature) = Feature::parse(name) {
                values[feature as usize] = *value;
            }
        }
        values
    }
}

/// The order suggestions are shown in: the likelier case first, then by case id.
pub(super) fn best_first(a: (f64, &str), b: (f64, &str)) -> Ordering {
    b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1))
}

/// The 1-based place of `chosen` among the cases shown had `combiner` ranked them; `None` when
/// it was not among them.
fn place(combiner: &Combiner, shown: &[(String, Values)], chosen: &str) -> Option<usize> {
    let values: Vec<Values> = shown.iter().map(|(_, v)| *v).collect();
    let probabilities = combiner.probabilities(&values);
    let own = probabilities[shown.iter().position(|(id, _)| id == chosen)?];
    let ahead = shown
        .iter()
        .zip(&probabilities)
        .filter(|((id, _), p)| best_first((**p, id), (own, chosen)) == Ordering::Less)
        .count();
    Some(ahead + 1)
}

/// How many of the choices replayed were the first case, and how many among the first three.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Places {
    pub first: usize,
    pub top3: usize,
}

impl Places {
    fn count(&mut self, place: Option<usize>) {
        self.first += usize::from(place == Some(1));
        self.top3 += usize::from(place.is_some_and(|p| p <= 3));
    }
}

/// A choice whose case moves into or out of first place, with its places before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub filing_id: String,
    pub item_id: String,
    pub case_id: String,
    pub today: Option<usize>,
    pub after: Option<usize>,
}

/// Recorded choices replayed under today's combiner and under another.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// Choices whose cases shown have their feature values kept.
    pub examined: usize,
    /// Choices shown before the feature values were kept, which cannot be replayed.
    pub skipped: usize,
    pub today: Places,
    pub after: Places,
    pub moved: Vec<Moved>,
}

/// Replays `choices` under `today` and `after`.
pub fn replay(today: &Combiner, after: &Combiner, choices: &[RecordedChoice]) -> Replayed {
    let mut replayed = Replayed {
        examined: 0,
        skipped: 0,
        today: Places::default(),
        after: Places::default(),
        moved: Vec::new(),
    };
    for choice in choices {
        let Some(shown) = &choice.shown else {
            replayed.skipped += 1;
            continue;
        };
        let shown: Vec<(String, Values)> = shown
            .iter()
            .map(|(id, features)| (id.clone(), features.values()))
            .collect();
        let (was, becomes) = (
            place(today, &shown, &choice.case_id),
            place(after, &shown, &choice.case_id),
        );
        replayed.examined += 1;
        replayed.today.count(was);
        replayed.after.count(becomes);
        if (was == Some(1)) != (becomes == Some(1)) {
            replayed.moved.push(Moved {
                filing_id: choice.filing_id.clone(),
                item_id: choice.item_id.clone(),
                case_id: choice.case_id.clone(),
                today: was,
                after: becomes,
            });
        }
    }
    replayed
}

#[cfg(test)]
mod tests {
    use super::super::features::with as values;
    use super::*;

    fn choice(id: &str, chosen: &str, shown: Option<&[(&str, Values)]>) -> RecordedChoice {
        RecordedChoice {
            filing_id: id.into(),
            item_id: format!("item-{id}"),
            case_id: chosen.into(),
            shown: shown.map(|cases| {
                cases
                    .iter()
                    .map(|(case, v)| (case.to_string(), FeatureValues::of(v)))
                    .collect()
            }),
        }
    }

    #[test]
    fn values_are_kept_by_name_without_the_zeros() {
        let v = values(&[(Feature::Thread, 1.0), (Feature::Classifier, 0.25)]);
        let kept = serde_json::to_string(&FeatureValues::of(&v)).unwrap();
        assert_eq!(kept, r#"{"classifier":0.25,"thread":1.0}"#);
        let read: FeatureValues =
            serde_json::from_str(r#"{"classifier":0.25,"thread":1.0,"later_feature":3.0}"#)
                .unwrap();
        assert_eq!(read.values(), v);
    }

    #[test]
    fn ties_go_by_case_id_as_the_suggestions_do() {
        let combiner = Combiner::default();
        let same = values(&[(Feature::Sender, 1.0)]);
        let shown = [("B".to_string(), same), ("A".to_string(), same)];
        assert_eq!(place(&combiner, &shown, "A"), Some(1));
        assert_eq!(place(&combiner, &shown, "B"), Some(2));
        assert_eq!(place(&combiner, &shown, "C"), None);
    }

    #[test]
    fn a_heavier_sender_moves_the_senders_case_first_and_the_others_counts_stay() {
        let sender = values(&[(Feature::Sender, 0.9)]);
        let words = values(&[(Feature::Classifier, 0.6)]);
        let thread = values(&[(Feature::Thread, 1.0)]);
        let choices = [
            // The sender's case was chosen, second today (0.9 × 1 < 0.6 × 2).
            choice("1", "S", Some(&[("W", words), ("S", sender)])),
            // The classifier's case was chosen: first today, second after.
            choice("2", "W", Some(&[("W", words), ("S", sender)])),
            // The thread decides whatever the sender weighs.
            choice(
                "3",
                "T",
                Some(&[("T", thread), ("S", sender), ("W", words)]),
            ),
            // Not in the list shown: never placed.
            choice("4", "X", Some(&[("W", words)])),
            choice("5", "S", None),
        ];
        let today = Combiner::default();
        let mut after = today.clone();
        after.weights[Feature::Sender as usize] = 3.0;
        let replayed = replay(&today, &after, &choices);
        assert_eq!((replayed.examined, replayed.skipped), (4, 1));
        assert_eq!(replayed.today, Places { first: 2, top3: 3 });
        assert_eq!(replayed.after, Places { first: 2, top3: 3 });
        let moved: Vec<(&str, Option<usize>, Option<usize>)> = replayed
            .moved
            .iter()
            .map(|m| (m.filing_id.as_str(), m.today, m.after))
            .collect();
        assert_eq!(moved, [("1", Some(2), Some(1)), ("2", Some(1), Some(2))]);
    }
}
