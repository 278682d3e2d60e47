//! Which case an item's words point to, learnt from one filing at a time: a linear classifier
//! and the cases' centroids over tf·idf-weighted hashed terms.
//!
//! The classifier is multi-class passive-aggressive (PA-I, Crammer et al. 2006): after each
//! filing the filed case must outscore each of the best other cases by a margin of one, with
//! the smallest change to the weights that achieves it (capped by `AGGRESSIVENESS`). The
//! weights are used as they stand, not averaged over time: a record office's cases come and
//! go, and an average holds on to the past (on the Enron replay averaging lost much
//! of top-1 accuracy). The centroid of a case is the sum of its items' vectors; its cosine
//! with an item says how typical the item is of the case, which helps small cases that the
//! margins have barely shaped. An update touches the item's terms only, so a filing costs
//! microseconds.

use std::collections::HashMap;

use super::terms::Term;

/// Index of a case among those the classifier knows.
pub type Class = u32;

/// PA-I's cap on one update: bounds what one mislabelled or odd item can do.
const AGGRESSIVENESS: f32 = 1.0;
/// How many of the best-scoring other cases each filing is separated from.
const RIVALS: usize = 5;
/// The most cases one term keeps weights for. A word used on every case of a large
/// authority would otherwise make each filing and each suggestion visit a weight per case
/// (100,000 of them); past this many, the case whose weight for the term matters least gives
/// its place up, and its centroid loses the term.
const CASES_PER_TERM: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct Weight {
    class: Class,
    margin: f32,
    centroid: f32,
}

/// An item's terms as unit-length tf·idf weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vector(Vec<(Term, f32)>);

/// How well an item fits one case.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Fit {
    /// The linear classifier's score.
    pub margin: f32,
    /// Cosine between the item and the case's centroid.
    pub cosine: f32,
}

#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Classifier {
    /// Items learnt from: the idf's document count.
    items: u64,
    document_frequency: HashMap<Term, u32>,
    weights: HashMap<Term, Vec<Weight>>,
    /// Squared length of each case's centroid.
    centroid_norms: Vec<f32>,
}

impl Classifier {
    /// The item's known terms weighted by sublinear tf·idf, scaled by the length of the whole
    /// item. Terms never learnt from have no weight to meet and are left out, but they count
    /// in the length: an item of mostly new words fits every case only a little, rather than
    /// fitting fully through the one common word it shares with a case.
    pub fn vector(&self, counts: &HashMap<Term, u32>) -> Vector {
        let documents = self.items as f32;
        let weight = |count: u32, df: u32| {
            let idf = ((1.0 + documents) / (1.0 + df as f32)).ln() + 1.0;
            (1.0 + (count as f32).ln()) * idf
        };
        let mut unknown_sum = 0.0;
        let mut entries: Vec<(Term, f32)> = Vec::with_capacity(counts.len());
        for (term, count) in counts {
            match self.document_frequency.get(term) {
                Some(df) => entries.push((*term, weight(*count, *df))),
                None => unknown_sum += weight(*count, 0).powi(2),
            }
        }
        let norm = (entries.iter().map(|(_, v)| v * v).sum::<f32>() + unknown_sum).sqrt();
        if norm > 0.0 {
            for (_, v) in &mut entries {
                *v /= norm;
            }
        }
        entries.sort_unstable_by_key(|(term, _)| *term);
        Vector(entries)
    }

    /// How well `x` fits every case that shares a term with it; the others fit not at all.
    pub fn fits(&self, x: &Vector) -> HashMap<Class, Fit> {
        let mut fits: HashMap<Class, Fit> = HashMap::new();
        for (term, value) in &x.0 {
            for w in self.weights.get(term).into_iter().flatten() {
                let fit = fits.entry(w.class).or_default();
                fit.margin += value * w.margin;
                fit.cosine += value * w.centroid;
            }
        }
        for (class, fit) in &mut fits {
            let norm = self
                .centroid_norms
                .get(*class as usize)
                .copied()
                .unwrap_or(0.0);
            fit.cosine = if norm > 0.0 {
                fit.cosine / norm.sqrt()
            } else {
                0.0
            };
        }
        fits
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
        let fits = self.fits(&x);
        self.grow_centroid(&x, class, fits.get(&class).map_or(0.0, |f| f.cosine));
        let mut own = fits.get(&class).map_or(0.0, |f| f.margin);
        let mut rivals: Vec<(Class, f32)> = fits
            .into_iter()
            .map(|(c, fit)| (c, fit.margin))
            .filter(|(c, margin)| *c != class && *margin > own - 1.0)
            .collect();
        rivals.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rivals.truncate(RIVALS);
        if rivals.is_empty() {
            // Nothing competes: only the filed case needs its margin over an unseen one.
            let step = (1.0 - own).min(AGGRESSIVENESS);
            if step > 0.0 {
                self.shift(&x, class, None, step);
            }
            return;
        }
        for (rival, rival_margin) in rivals {
            let loss = 1.0 - (own - rival_margin);
            if loss <= 0.0 {
                continue;
            }
            // ‖x‖ = 1; moving two classes apart doubles the effect of a step.
            let step = (loss / 2.0).min(AGGRESSIVENESS);
            self.shift(&x, class, Some(rival), step);
            own += step;
        }
    }

    /// Takes back what `learn` taught about an item filed on `class` by mistake: its vector
    /// leaves the case's centroid, and the case's margin for it shrinks by at most one step.
    pub fn unlearn(&mut self, counts: &HashMap<Term, u32>, class: Class) {
        let x = self.vector(counts);
        if x.0.is_empty() {
            return;
        }
        let fit = self.fits(&x).get(&class).copied();
        if let Some(norm) = self.centroid_norms.get_mut(class as usize) {
            let cosine = fit.map_or(0.0, |f| f.cosine);
            // ‖c − x‖² = ‖c‖² − 2 c·x + ‖x‖².
            *norm = (*norm - 2.0 * cosine * norm.sqrt() + 1.0).max(0.0);
        }
        if (class as usize) < self.centroid_norms.len() {
            for (term, value) in &x.0 {
                let weights = self.weights.entry(*term).or_default();
                entry(weights, &mut self.centroid_norms, class).centroid -= value;
            }
        }
        let step = fit.map_or(0.0, |f| f.margin).clamp(0.0, AGGRESSIVENESS);
        if step > 0.0 {
            self.shift(&x, class, None, -step);
        }
    }

    /// Adds `x` to the centroid of `class`, whose cosine with `x` was `cosine`.
    fn grow_centroid(&mut self, x: &Vector, class: Class, cosine: f32) {
        let index = class as usize;
        if self.centroid_norms.len() <= index {
            self.centroid_norms.resize(index + 1, 0.0);
        }
        // ‖c + x‖² = ‖c‖² + 2 c·x + ‖x‖², with c·x = cosine · ‖c‖ and ‖x‖ = 1.
        let norm = &mut self.centroid_norms[index];
        *norm += 2.0 * cosine * norm.sqrt() + 1.0;
        for (term, value) in &x.0 {
            let weights = self.weights.entry(*term).or_default();
            entry(weights, &mut self.centroid_norms, class).centroid += value;
        }
    }

    /// Moves `class` towards `x` and `rival` away from it by `step`.
    fn shift(&mut self, x: &Vector, class: Class, rival: Option<Class>, step: f32) {
        for (term, value) in &x.0 {
            let weights = self.weights.entry(*term).or_default();
            entry(weights, &mut self.centroid_norms, class).margin += step * value;
            if let Some(rival) = rival {
                entry(weights, &mut self.centroid_norms, rival).margin -= step * value;
            }
        }
    }
}

/// The weight of `class` for a term, made if missing; a full list first drops the weight that
/// matters least (smallest margin and centroid), taking the term out of that case's centroid
/// length in `norms`.
fn entry<'a>(weights: &'a mut Vec<Weight>, norms: &mut [f32], class: Class) -> &'a mut Weight {
    if let Some(i) = weights.iter().position(|w| w.class == class) {
        return &mut weights[i];
    }
    if weights.len() >= CASES_PER_TERM {
        let least = weights
            .iter()
            .enumerate()
            .min_by(|a, b| {
                let size = |w: &Weight| w.margin.abs() + w.centroid.abs();
                size(a.1).total_cmp(&size(b.1))
            })
            .map(|(i, _)| i);
        if let Some(least) = least {
            let dropped = weights.swap_remove(least);
            if let Some(norm) = norms.get_mut(dropped.class as usize) {
                *norm = (*norm - dropped.centroid * dropped.centroid).max(0.0);
            }
        }
    }
    weights.push(Weight {
        class,
        margin: 0.0,
        centroid: 0.0,
    });
    weights.last_mut().expect("just pushed")
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

    fn fits(classifier: &Classifier, terms: &[Term]) -> HashMap<Class, Fit> {
        classifier.fits(&classifier.vector(&counts(terms)))
    }

    fn best(classifier: &Classifier, terms: &[Term]) -> Option<Class> {
        fits(classifier, terms)
            .into_iter()
            .max_by(|a, b| a.1.margin.total_cmp(&b.1.margin))
            .map(|(c, _)| c)
    }

    #[test]
    fn vectors_have_unit_length_and_rare_terms_weigh_more() {
        let mut classifier = Classifier::default();
        classifier.learn(&counts(&[1, 2]), 0);
        classifier.learn(&counts(&[1, 3]), 1);
        let squared = |x: &Vector| x.0.iter().map(|(_, v)| v * v).sum::<f32>();
        let known = classifier.vector(&counts(&[1, 2, 2]));
        assert!((squared(&known) - 1.0).abs() < 1e-5);
        let (common, rare) = (known.0[0].1, known.0[1].1);
        assert!(rare > common, "term 2: rarer and twice as frequent");

        let with_new = classifier.vector(&counts(&[1, 2, 2, 99]));
        assert_eq!(with_new.0.len(), 2, "term 99 was never seen");
        assert!(squared(&with_new) < 0.8, "but it counts in the length");
        let mostly_new = classifier.vector(&counts(&[1, 97, 98, 99]));
        assert!(squared(&mostly_new) < 0.2, "one known word in four");
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
        let margins =
            |c: &Classifier| -> Vec<f32> { c.weights[&1].iter().map(|w| w.margin).collect() };
        let before = margins(&classifier);
        assert_eq!(before, [1.0], "one step to a margin of one");
        classifier.learn(&counts(&[1]), 0);
        assert_eq!(margins(&classifier), before);
    }

    #[test]
    fn a_filing_is_separated_from_several_rivals_at_once() {
        let mut classifier = Classifier::default();
        for class in 0..3 {
            classifier.learn(&counts(&[7]), class);
        }
        // Class 2, taught last, must beat both earlier owners of term 7 by a margin.
        let fit = fits(&classifier, &[7]);
        assert!(fit[&2].margin >= fit[&0].margin + 1.0 - 1e-5, "{fit:?}");
        assert!(fit[&2].margin >= fit[&1].margin + 1.0 - 1e-5, "{fit:?}");
    }

    #[test]
    fn a_word_on_every_case_keeps_weights_for_a_bounded_number_of_them() {
        let mut classifier = Classifier::default();
        for class in 0..(CASES_PER_TERM as Class + 40) {
            classifier.learn(&counts(&[7, 1000 + class]), class);
        }
        assert_eq!(classifier.weights[&7].len(), CASES_PER_TERM);
        // The latest case still wins on its own word.
        let last = CASES_PER_TERM as Class + 39;
        assert_eq!(best(&classifier, &[7, 1000 + last]), Some(last));
        assert!(classifier.centroid_norms.iter().all(|n| *n >= 0.0));
    }

    #[test]
    fn centroids_give_the_cosine_with_a_case_s_typical_item() {
        let mut classifier = Classifier::default();
        classifier.learn(&counts(&[1, 2]), 0);
        classifier.learn(&counts(&[1, 2]), 0);
        classifier.learn(&counts(&[3]), 1);
        let fit = fits(&classifier, &[1, 2]);
        assert!((fit[&0].cosine - 1.0).abs() < 1e-5, "{fit:?}");
        assert!(!fit.contains_key(&1));
        let half = fits(&classifier, &[1, 3]);
        assert!(half[&0].cosine > 0.0 && half[&0].cosine < 1.0, "{half:?}");
        assert!(half[&1].cosine > 0.0 && half[&1].cosine < 1.0, "{half:?}");
    }
}
