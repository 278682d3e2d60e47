//! Turns the ranker's probability for its first suggestion into a confidence that means what it
//! says: of the suggestions shown with confidence 0.9, nine in ten are right.
//!
//! An online isotonic calibration: every filing tells whether the first suggestion was the
//! case chosen; the outcomes are counted in bins of the raw probability (older outcomes
//! fading, so that a ranker that improves is not held to its early mistakes), each bin's
//! rate is drawn towards the raw probability while it has few outcomes, the rates are made
//! to rise with the raw probability (pool adjacent violators), and a confidence is read off
//! between the bins' centres.

use serde::{Deserialize, Serialize};

/// Bins of equal width over the raw probability.
const BINS: usize = 20;
/// What is left of the past outcomes' weight after each new one: about the last 700 filings
/// count.
const DECAY: f64 = 0.9985;
/// Outcomes' worth of belief in the raw probability, for a bin that has seen little.
const PRIOR: f64 = 2.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibrator {
    /// Per bin: the (decayed) number of outcomes and of right first suggestions.
    counts: Vec<(f64, f64)>,
}

impl Default for Calibrator {
    fn default() -> Calibrator {
        Calibrator {
            counts: vec![(0.0, 0.0); BINS],
        }
    }
}

impl Calibrator {
    /// Counts one outcome: the first suggestion had raw probability `raw`, and was `right`.
    pub fn observe(&mut self, raw: f64, right: bool) {
        for (count, hits) in &mut self.counts {
            *count *= DECAY;
            *hits *= DECAY;
        }
        let (count, hits) = &mut self.counts[bin(raw)];
        *count += 1.0;
        *hits += f64::from(u8::from(right));
    }

    /// The calibrated confidence for a raw probability.
    pub fn calibrate(&self, raw: f64) -> f64 {
        let raw = raw.clamp(0.0, 1.0);
        let fitted = self.fitted();
        let position = raw * BINS as f64 - 0.5;
        if position <= 0.0 {
            return fitted[0];
        }
        let lower = position.floor() as usize;
        if lower + 1 >= BINS {
            return fitted[BINS - 1];
        }
        let t = position - lower as f64;
        fitted[lower] * (1.0 - t) + fitted[lower + 1] * t
    }

    /// Outcomes counted so far, faded as they are weighed.
    pub fn weight(&self) -> f64 {
        self.counts.iter().map(|(count, _)| count).sum()
    }

    /// Each bin's rate of right first suggestions, made non-decreasing.
    fn fitted(&self) -> [f64; BINS] {
        // Pool adjacent violators over (rate, weight) blocks.
        let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(BINS);
        for (i, (count, hits)) in self.counts.iter().enumerate() {
            let centre = (i as f64 + 0.5) / BINS as f64;
            let weight = count + PRIOR;
            let mut block = ((hits + PRIOR * centre) / weight, weight, 1);
            while let Some(&(rate, w, n)) = blocks.last() {
                if rate <= block.0 {
                    break;
                }
                blocks.pop();
                let merged = w + block.1;
                block = ((rate * w + block.0 * block.1) / merged, merged, n + block.2);
            }
            blocks.push(block);
        }
        let mut fitted = [0.0; BINS];
        let mut i = 0;
        for (rate, _, n) in blocks {
            for slot in &mut fitted[i..i + n] {
                *slot = rate;
            }
            i += n;
        }
        fitted
    }
}

fn bin(raw: f64) -> usize {
    ((raw.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_outcomes_the_raw_probability_stands() {
        let calibrator = Calibrator::default();
        for raw in [0.1, 0.42, 0.9] {
            assert!((calibrator.calibrate(raw) - raw).abs() < 1e-9, "{raw}");
        }
        assert!(
            (calibrator.calibrate(1.0) - 0.975).abs() < 1e-9,
            "the top bin's centre"
        );
    }

    #[test]
    fn an_overconfident_ranker_is_brought_down_to_its_hit_rate() {
        let mut calibrator = Calibrator::default();
        // Says 0.95 and is right 6 times in 10.
        for i in 0..500 {
            calibrator.observe(0.95, i % 10 < 6);
        }
        let confidence = calibrator.calibrate(0.95);
        assert!((confidence - 0.6).abs() < 0.02, "{confidence}");
        assert!(calibrator.weight() > 100.0);
    }

    #[test]
    fn confidences_never_fall_as_the_raw_probability_rises() {
        let mut calibrator = Calibrator::default();
        // Right more often at 0.3 than at 0.7: the violators are pooled.
        for i in 0..300 {
            calibrator.observe(0.325, i % 10 < 8);
            calibrator.observe(0.725, i % 10 < 4);
        }
        let mut last = 0.0;
        for step in 0..=100 {
            let confidence = calibrator.calibrate(f64::from(step) / 100.0);
            assert!(
                confidence >= last - 1e-12,
                "at {step}: {confidence} < {last}"
            );
            last = confidence;
        }
        let pooled = calibrator.calibrate(0.325);
        assert!((pooled - calibrator.calibrate(0.725)).abs() < 1e-9);
        assert!((0.55..0.65).contains(&pooled), "{pooled}");
    }

    #[test]
    fn old_outcomes_fade() {
        let mut calibrator = Calibrator::default();
        for _ in 0..2000 {
            calibrator.observe(0.875, false);
        }
        for _ in 0..2000 {
            calibrator.observe(0.875, true);
        }
        assert!(calibrator.calibrate(0.875) > 0.9);
    }
}
