//! The learned combination of a candidate case's features into one score, and the probability
//! that each candidate is the case wanted.
//!
//! A conditional logit (softmax) over the candidates and a "none of these" option that scores
//! zero, fitted online: each filing moves the weights one AdaGrad step along the gradient of
//! the chosen case's log-probability, with a light pull towards the starting weights so that
//! features that rarely fire (a CPR party, a case number) keep their sense. The starting
//! weights rank as the hand-set rules did, so a new organisation starts sensible.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::calibration::Calibrator;
use super::features::{FEATURES, Feature, Values};

/// AdaGrad's base step.
const LEARNING_RATE: f64 = 0.1;
/// Pull towards the starting weights, per update.
const PRIOR_PULL: f64 = 1e-4;

#[derive(Debug, Clone, PartialEq)]
pub struct Combiner {
    pub weights: Values,
    /// AdaGrad's sum of squared gradients per weight.
    squared_gradients: Values,
    /// Filings learnt from.
    pub updates: u64,
    /// Set by an admin: the weights stay as they are and filings no longer move them.
    pub pinned: bool,
}

impl Default for Combiner {
    fn default() -> Combiner {
        Combiner {
            weights: starting_weights(),
            squared_gradients: [0.0; FEATURES],
            updates: 0,
            pinned: false,
        }
    }
}

/// The weights a new organisation starts from.
pub fn starting_weights() -> Values {
    let mut weights = [0.0; FEATURES];
    for feature in Feature::ALL {
        weights[feature as usize] = match feature {
            Feature::Classifier => 2.0,
            Feature::ClassifierBest => 0.5,
            Feature::Centroid => 0.5,
            Feature::TextDocument => 1.0,
            Feature::TextDocuments => 1.0,
            Feature::TextCaseRecord => 1.0,
            Feature::Sender => 1.0,
            Feature::SenderLatest => 0.5,
            Feature::Recipients => 0.5,
            Feature::Subject => 3.0,
            Feature::Thread => 6.0,
            Feature::AlreadyFiled => 8.0,
            Feature::CaseNumber => 6.0,
            Feature::PartyCpr => 4.0,
            Feature::PartyCvr => 3.0,
            Feature::PartyEmail => 4.0,
            Feature::Recent => 0.4,
            Feature::Activity => 0.5,
            Feature::Recency => 0.0,
            Feature::Closed => -1.0,
            Feature::Rule => 6.0,
        };
    }
    weights
}

impl Combiner {
    pub fn score(&self, values: &Values) -> f64 {
        self.weights.iter().zip(values).map(|(w, v)| w * v).sum()
    }

    /// Each candidate's probability of being the case wanted; what is left to 1 is "none of
    /// these".
    pub fn probabilities(&self, candidates: &[Values]) -> Vec<f64> {
        let scores: Vec<f64> = candidates.iter().map(|v| self.score(v)).collect();
        // Softmax with the "none" option's score 0 among them, shifted for stability.
        let top = scores.iter().copied().fold(0.0, f64::max);
        let none = (-top).exp();
        let exps: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
        let total = none + exps.iter().sum::<f64>();
        exps.into_iter().map(|e| e / total).collect()
    }

    /// Back to the starting weights, learning afresh from there; the count of filings learnt
    /// from and the pin stay.
    pub fn reset(&mut self) {
        *self = Combiner {
            updates: self.updates,
            pinned: self.pinned,
            ..Combiner::default()
        };
    }

    /// The weights, their learning state and the pin of `earlier`; the count of filings learnt
    /// from stays.
    pub fn restore(&mut self, earlier: &Combiner) {
        *self = Combiner {
            updates: self.updates,
            ..earlier.clone()
        };
    }

    /// One step towards making `chosen` the likelier among `candidates`. Pinned weights stay.
    pub fn learn(&mut self, candidates: &[Values], chosen: usize) {
        if self.pinned || chosen >= candidates.len() {
            return;
        }
        let probabilities = self.probabilities(candidates);
        let start = starting_weights();
        for i in 0..FEATURES {
            let expected: f64 = candidates
                .iter()
                .zip(&probabilities)
                .map(|(v, p)| p * v[i])
                .sum();
            let gradient =
                expected - candidates[chosen][i] + PRIOR_PULL * (self.weights[i] - start[i]);
            if gradient == 0.0 {
                continue;
            }
            self.squared_gradients[i] += gradient * gradient;
            self.weights[i] -= LEARNING_RATE * gradient / self.squared_gradients[i].sqrt();
        }
        self.updates += 1;
    }
}

/// The ranker of an organisation as the store keeps it: features by name, so that a feature
/// added later starts from its starting weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerState {
    pub weights: BTreeMap<String, f64>,
    pub squared_gradients: BTreeMap<String, f64>,
    pub updates: u64,
    pub pinned: bool,
    pub calibrator: Calibrator,
}

/// Everything the ranker learns besides what the memory holds: combination and calibration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    pub combiner: Combiner,
    pub calibrator: Calibrator,
}

impl Model {
    pub fn state(&self) -> RankerState {
        let by_name = |values: &Values| {
            Feature::ALL
                .iter()
                .map(|f| (f.name().to_string(), values[*f as usize]))
                .collect()
        };
        RankerState {
            weights: by_name(&self.combiner.weights),
            squared_gradients: by_name(&self.combiner.squared_gradients),
            updates: self.combiner.updates,
            pinned: self.combiner.pinned,
            calibrator: self.calibrator.clone(),
        }
    }

    /// The model a stored state describes; unknown feature names (from a later version) are
    /// ignored, missing ones start afresh.
    pub fn from_state(state: RankerState) -> Model {
        let mut combiner = Combiner::default();
        for feature in Feature::ALL {
            if let Some(w) = state.weights.get(feature.name()) {
                combiner.weights[feature as usize] = *w;
            }
            if let Some(g) = state.squared_gradients.get(feature.name()) {
                combiner.squared_gradients[feature as usize] = *g;
            }
        }
        combiner.updates = state.updates;
        combiner.pinned = state.pinned;
        Model {
            combiner,
            calibrator: state.calibrator,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::features::with;
    use super::*;

    #[test]
    fn probabilities_leave_room_for_none_of_these() {
        let combiner = Combiner::default();
        let candidates = [
            with(&[(Feature::Thread, 1.0)]),
            with(&[(Feature::Sender, 0.2)]),
        ];
        let p = combiner.probabilities(&candidates);
        let none = 1.0 - p.iter().sum::<f64>();
        assert!(p[0] > 0.9 && p[1] < p[0] && none > 0.0, "{p:?}");
        // By hand: e^6 / (e^6 + e^0.2 + 1).
        let expected = 6f64.exp() / (6f64.exp() + 0.2f64.exp() + 1.0);
        assert!((p[0] - expected).abs() < 1e-12);
        assert!(combiner.probabilities(&[]).is_empty());
    }

    #[test]
    fn learning_raises_the_weight_of_what_the_chosen_case_has() {
        let mut combiner = Combiner::default();
        let before = combiner.weights;
        // Again and again the case the same sender wrote about is chosen over the one with
        // the most similar text.
        let candidates = [
            with(&[(Feature::Classifier, 1.0), (Feature::ClassifierBest, 1.0)]),
            with(&[(Feature::Classifier, 0.5), (Feature::Sender, 0.8)]),
        ];
        for _ in 0..200 {
            combiner.learn(&candidates, 1);
        }
        assert!(combiner.weights[Feature::Sender as usize] > before[Feature::Sender as usize]);
        assert!(
            combiner.weights[Feature::ClassifierBest as usize]
                < before[Feature::ClassifierBest as usize]
        );
        assert_eq!(
            combiner.weights[Feature::Thread as usize],
            before[Feature::Thread as usize],
            "absent features stay"
        );
        let p = combiner.probabilities(&candidates);
        assert!(p[1] > p[0], "{p:?}");
        assert_eq!(combiner.updates, 200);
    }

    #[test]
    fn pinned_weights_do_not_move_and_state_round_trips_by_name() {
        let mut model = Model::default();
        model.combiner.learn(&[with(&[(Feature::Recent, 1.0)])], 0);
        model.calibrator.observe(0.7, true);
        let mut state = model.state();
        assert_eq!(Model::from_state(state.clone()), model);

        state.weights.insert("no_such_feature".into(), 9.0);
        state.weights.remove("closed");
        state.pinned = true;
        let mut restored = Model::from_state(state);
        assert_eq!(restored.combiner.weights[Feature::Closed as usize], -1.0);
        let pinned = restored.combiner.weights;
        restored
            .combiner
            .learn(&[with(&[(Feature::Recent, 1.0)])], 0);
        assert_eq!(restored.combiner.weights, pinned);
    }
}
