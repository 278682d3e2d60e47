//! Turns the ranker's probability for its first suggestion into a confidence that means what it
//! says: of the suggestions shown with confidence 0.9, nine in ten are right.
//!
//! Online Platt scaling: the confidence is σ(a·logit(p) + b) for the raw probability p, and
//! every filing — was the first suggestion the case chosen? — moves a and b one constant step
//! down the gradient of the log-loss. A constant step keeps following a ranker that improves
//! or an office whose filing habits shift. Two parameters bend the whole curve at once: on the
//! Enron replay a burst of confident mistakes in one range of probabilities made a binned
//! (isotonic) calibration crush that range for the next hundred items, which cost more
//! calibration error than it saved.

use serde::{Deserialize, Serialize};

/// Step size per filing: the last few hundred outcomes shape the curve.
const LEARNING_RATE: f64 = 0.03;
/// Raw probabilities are kept this far from 0 and 1, where the logit is infinite.
const EDGE: f64 = 1e-4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Calibrator {
    pub slope: f64,
    pub offset: f64,
    /// Outcomes learnt from.
    pub outcomes: u64,
}

impl Default for Calibrator {
    /// The identity: the raw probability stands until outcomes say otherwise.
    fn default() -> Calibrator {
        Calibrator {
            slope: 1.0,
            offset: 0.0,
            outcomes: 0,
        }
    }
}

impl Calibrator {
    /// The calibrated confidence for a raw probability.
    pub fn calibrate(&self, raw: f64) -> f64 {
        sigmoid(self.slope * logit(raw) + self.offset)
    }

    /// Learns from one outcome: the first suggestion had raw probability `raw`, and was
    /// `right`.
    pub fn observe(&mut self, raw: f64, right: bool) {
        let z = logit(raw);
        let error = self.calibrate(raw) - f64::from(u8::from(right));
        self.slope -= LEARNING_RATE * error * z;
        self.offset -= LEARNING_RATE * error;
        self.outcomes += 1;
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(EDGE, 1.0 - EDGE);
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
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
        assert!(calibrator.calibrate(1.0) < 1.0 && calibrator.calibrate(0.0) > 0.0);
    }

    #[test]
    fn an_overconfident_ranker_is_brought_down_to_its_hit_rate() {
        let mut calibrator = Calibrator::default();
        // Says 0.95 and is right 6 times in 10. A constant step keeps moving with each
        // outcome, so the confidence is taken over the last ten.
        let mut last_ten = 0.0;
        for i in 0..3000 {
            calibrator.observe(0.95, i % 10 < 6);
            if i >= 2990 {
                last_ten += calibrator.calibrate(0.95) / 10.0;
            }
        }
        assert!((last_ten - 0.6).abs() < 0.05, "{last_ten}");
        assert_eq!(calibrator.outcomes, 3000);
    }

    #[test]
    fn confidence_rises_with_the_raw_probability_and_fits_two_levels() {
        let mut calibrator = Calibrator::default();
        // Right 5 in 10 at 0.3 and 9 in 10 at 0.99: underconfident low, overconfident high.
        for i in 0..5000 {
            calibrator.observe(0.3, i % 10 < 5);
            calibrator.observe(0.99, i % 10 < 9);
        }
        let (low, high) = (calibrator.calibrate(0.3), calibrator.calibrate(0.99));
        assert!((low - 0.5).abs() < 0.07, "{low}");
        assert!((high - 0.9).abs() < 0.05, "{high}");
        let mut last = 0.0;
        for step in 0..=100 {
            let confidence = calibrator.calibrate(f64::from(step) / 100.0);
            assert!(confidence >= last, "at {step}");
            last = confidence;
        }
    }

    #[test]
    fn it_follows_a_ranker_that_gets_better() {
        let mut calibrator = Calibrator::default();
        for _ in 0..2000 {
            calibrator.observe(0.875, false);
        }
        assert!(calibrator.calibrate(0.875) < 0.1);
        for _ in 0..2000 {
            calibrator.observe(0.875, true);
        }
        assert!(calibrator.calibrate(0.875) > 0.9);
    }
}
