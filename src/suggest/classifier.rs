//! Which case an item's words point to: a linear classifier over tf·idf-weighted hashed terms
//! that learns from one filing at a time.
//!
//! Multi-class passive-aggressive learning (PA-I, Crammer et al. 2006): after each filing the
//! filed case must outscore the best other case by a margin of one, with the smallest change
//! to the weights that achieves it (capped by `AGGRESSIVENESS`). Predictions use the average
//! of the weights over all updates, which forgets less of the past than the last weights do.
//! Each update touches only two cases and the item's terms, so a filing costs microseconds.

use std::collections::HashMap;

use super::terms::Term;

/// Index of a case among those the classifier knows.
pub type Class = u32;

/// PA-I's cap on one update: bounds what one mislabelled or odd item can do.
const AGGRESSIVENESS_: f32 = 1.0;
#[allow(non_snake_case)]
fn AGG() -> f32 {
    std::env::var("DBG_C")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(AGGRESSIVENESS_)
}
fn rivals_cap() -> usize {
    std::env::var("DBG_RIVALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

#[derive(Debug, Clone, Copy)]
struct Weight {
    class: Class,
    current: f32,
    /// Σ (t − 1)·Δ over the updates, t counting items from 1: the average of the weights after
    /// each item is `current − timed / items`.
    timed: f64,
}

/// An item's terms as unit-length tf·idf weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vector(Vec<(Term, f32)>);

#[derive(Debug, Default)]
pub struct Classifier {
    /// Items learnt from: the averaging clock and the idf's document count.
    items: u64,
    document_frequency: HashMap<Term, u32>,
    weights: HashMap<Term, Vec<Weight>>,
}

impl Classifier {
    /// The item's known terms weighted by sublinear tf·idf and scaled to unit length; terms
    /// never learnt from have no weight to meet and are left out.
    pub fn vector(&self, counts: &HashMap<Term, u32>) -> Vector {
        let documents = self.items as f32;
        let mut entries: Vec<(Term, f32)> = counts
            .iter()
            .filter_map(|(term, count)| {
                let df = *self.document_frequency.get(term)?;
                let idf = ((1.0 + documents) / (1.0 + df as f32)).ln() + 1.0;
                Some((*term, (1.0 + (*count as f32).ln()) * idf))
            })
            .collect();
        let norm = entries.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut entries {
                *v /= norm;
            }
        }
        entries.sort_unstable_by_key(|(term, _)| *term);
        Vector(entries)
    }

    /// Averaged-weight score of every class that shares a term with `x`; the others score 0.
    pub fn scores(&self, x: &Vector) -> HashMap<Class, f32> {
        let items = self.items.max(1) as f64;
        let avg = std::env::var("DBG_NOAVG").is_err();
        self.accumulate(x, |w| {
            if avg {
                (f64::from(w.current) - w.timed / items) as f32
            } else {
                w.current
            }
        })
    }

    /// Learns that the item with these term counts belongs to `class`.
    pub fn learn(&mut self, counts: &HashMap<Term, u32>, class: Class) {
        self.items += 1;
        for term in counts.keys() {
            *self.document_frequency.entry(*term).or_default() += 1;
        }
        let x = self.vector(counts);
        if x.0.is_empty() {
            return;
        }
        let scores = self.accumulate(&x, |w| w.current);
        let mut own = scores.get(&class).copied().unwrap_or(0.0);
        let mut rivals: Vec<(Class, f32)> = scores
            .into_iter()
            .filter(|(c, s)| *c != class && *s > own - 1.0)
            .collect();
        rivals.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rivals.truncate(rivals_cap());
        let t = (self.items - 1) as f64;
        if rivals.is_empty() {
            // Nothing competes: only the filed case needs its margin over an unseen one.
            let step = (1.0 - own).min(AGG());
            if step > 0.0 {
                self.shift(&x, class, None, step, t);
            }
            return;
        }
        for (rival, rival_score) in rivals {
            let loss = 1.0 - (own - rival_score);
            if loss <= 0.0 {
                continue;
            }
            // ‖x‖ = 1; moving two classes apart doubles the effect of a step.
            let step = (loss / 2.0).min(AGG());
            self.shift(&x, class, Some(rival), step, t);
            own += step;
        }
    }

    /// Moves `class` towards `x` and `rival` away from it by `step`.
    fn shift(&mut self, x: &Vector, class: Class, rival: Option<Class>, step: f32, t: f64) {
        for (term, value) in &x.0 {
            let weights = self.weights.entry(*term).or_default();
            add(weights, class, step * value, t);
            if let Some(rival) = rival {
                add(weights, rival, -step * value, t);
            }
        }
    }

    fn accumulate(&self, x: &Vector, weight: impl Fn(&Weight) -> f32) -> HashMap<Class, f32> {
        let mut scores: HashMap<Class, f32> = HashMap::new();
        for (term, value) in &x.0 {
            for w in self.weights.get(term).into_iter().flatten() {
                *scores.entry(w.class).or_default() += value * weight(w);
            }
        }
        scores
    }
}

fn add(weights: &mut Vec<Weight>, class: Class, delta: f32, t: f64) {
    let timed = t * f64::from(delta);
    match weights.iter_mut().find(|w| w.class == class) {
        Some(w) => {
            w.current += delta;
            w.timed += timed;
        }
        None => weights.push(Weight {
            class,
            current: delta,
            timed,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(terms: &[Term]) -> HashMap<Term, u32> {
        let mut out = HashMap::new();
        for term in terms {
            *out.entry(*term).or_default() += 1;
        }
        out
    }

    fn best(classifier: &Classifier, terms: &[Term]) -> Option<Class> {
        let scores = classifier.scores(&classifier.vector(&counts(terms)));
        scores
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| c)
    }

    #[test]
    fn vectors_have_unit_length_and_rare_terms_weigh_more() {
        let mut classifier = Classifier::default();
        classifier.learn(&counts(&[1, 2]), 0);
        classifier.learn(&counts(&[1, 3]), 1);
        let Vector(x) = classifier.vector(&counts(&[1, 2, 2, 99]));
        assert_eq!(x.len(), 2, "term 99 was never seen");
        let norm: f32 = x.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        let (common, rare) = (x[0].1, x[1].1);
        assert!(rare > common, "term 2: rarer and twice as frequent");
    }

    #[test]
    fn learns_the_words_of_each_class_and_separates_shared_ones() {
        let mut classifier = Classifier::default();
        for _ in 0..3 {
            classifier.learn(&counts(&[10, 11, 50]), 0);
            classifier.learn(&counts(&[20, 21, 50]), 1);
            classifier.learn(&counts(&[30, 31, 50]), 2);
        }
        assert_eq!(best(&classifier, &[10, 50]), Some(0));
        assert_eq!(best(&classifier, &[21, 50]), Some(1));
        assert_eq!(best(&classifier, &[31]), Some(2));
        assert_eq!(best(&classifier, &[77]), None);
    }

    #[test]
    fn a_satisfied_margin_leaves_the_weights_alone() {
        let mut classifier = Classifier::default();
        classifier.learn(&counts(&[1]), 0);
        classifier.learn(&counts(&[2]), 1);
        let before: Vec<f32> = classifier.weights[&1].iter().map(|w| w.current).collect();
        assert_eq!(before, [1.0], "one step to a margin of one");
        classifier.learn(&counts(&[1]), 0);
        let after: Vec<f32> = classifier.weights[&1].iter().map(|w| w.current).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn averaged_weights_remember_how_long_a_weight_held() {
        let mut classifier = Classifier::default();
        // Class 0 holds term 1 for one item; then class 1 takes term 1 over for three.
        classifier.learn(&counts(&[1]), 0);
        for _ in 0..3 {
            classifier.learn(&counts(&[1]), 1);
        }
        let current: HashMap<Class, f32> = classifier.weights[&1]
            .iter()
            .map(|w| (w.class, w.current))
            .collect();
        assert!(current[&1] > current[&0]);
        let averaged = classifier.scores(&classifier.vector(&counts(&[1])));
        // Averages over the four items of the weights after each: between the extremes.
        assert!(
            averaged[&0] < 1.0 && averaged[&0] > current[&0],
            "{averaged:?}"
        );
        assert!(averaged[&1] < current[&1], "{averaged:?}");
    }
}
