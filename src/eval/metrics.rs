//! Accuracy, rank, calibration and latency figures over the scored messages of a replay.

use std::time::Duration;

use serde::Serialize;

use crate::suggest::Suggestion;

/// How many suggestions are asked for; a right case further down counts as not returned.
pub const SUGGESTION_LIMIT: usize = 10;
/// Confidence bins of the reliability table and the calibration error, of equal width.
const BINS: usize = 10;
/// Auto-filing thresholds the report tries.
const THRESHOLDS: [f64; 7] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

/// What the ranker did for one scored message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// 1-based position of the right case among the suggestions, if it was among them.
    pub rank: Option<usize>,
    /// Confidence of the first suggestion; 0 when there was none.
    pub confidence: f64,
    /// Duration of the `Suggester::suggest` call alone.
    pub latency: Duration,
    /// Something was filed on the right case before this suggestion. A case with nothing on
    /// it has no text, people or history to be found by, so no ranker can put it first.
    pub reachable: bool,
    /// What the auto-journalisation policy would have done, under each of `POLICIES`: `None`
    /// when it would not have filed, else whether it would have filed on the right case.
    pub autofiled: [Option<bool>; POLICIES.len()],
}

/// The policy settings the replay tries: the defaults (the ranker's evidence off), and with the
/// ranker filing at a confidence of 0.95.
pub const POLICIES: [(&str, Option<f64>); 2] =
    [("default", None), ("confidence ≥ 0.95", Some(0.95))];

impl Outcome {
    pub fn of(
        suggestions: &[Suggestion],
        right_case: &str,
        latency: Duration,
        reachable: bool,
    ) -> Outcome {
        Outcome {
            reachable,
            rank: suggestions
                .iter()
                .position(|s| s.case.id == right_case)
                .map(|p| p + 1),
            confidence: suggestions.first().map_or(0.0, |s| s.confidence),
            latency,
            autofiled: [None; POLICIES.len()],
        }
    }

    fn first_is_right(&self) -> bool {
        self.rank == Some(1)
    }
}

/// One confidence bin: scored messages whose first confidence falls in `[lower, upper)`
/// (the last bin includes 1.0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    /// `None` for an empty bin.
    pub mean_confidence: Option<f64>,
    /// Share whose first suggestion was right; `None` for an empty bin.
    pub accuracy: Option<f64>,
}

/// What auto-filing at `threshold` would have done: file every message whose first
/// confidence is at least the threshold on the first suggestion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    pub threshold: f64,
    pub auto_filed: usize,
    /// `auto_filed` over the scored messages.
    pub share: f64,
    pub wrong: usize,
    /// `wrong` over `auto_filed`; `None` when nothing would be auto-filed.
    pub wrong_rate: Option<f64>,
}

/// What the auto-journalisation policy would have filed by itself under one setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyFigure {
    pub policy: &'static str,
    pub auto_filed: usize,
    /// `auto_filed` over the scored messages.
    pub share: f64,
    pub wrong: usize,
    /// `wrong` over `auto_filed`; `None` when nothing would be filed.
    pub wrong_rate: Option<f64>,
}

/// The figures over a set of scored messages. Rates are 0 when no message was scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Scored messages.
    pub messages: usize,
    pub top1: f64,
    pub top3: f64,
    pub top5: f64,
    /// Share whose right case had something filed on it before: the ceiling of every top-k.
    pub reachable: f64,
    /// Over the first `SUGGESTION_LIMIT` suggestions; 0 for a message whose case is not there.
    pub mrr: f64,
    /// Expected calibration error of the first suggestion's confidence.
    pub ece: f64,
    pub suggest_p50_ms: f64,
    pub suggest_p99_ms: f64,
    pub reliability: Vec<Bin>,
    pub thresholds: Vec<Threshold>,
    pub autofile: Vec<PolicyFigure>,
}

impl Summary {
    pub fn of(outcomes: &[Outcome]) -> Summary {
        let reliability = reliability(outcomes);
        let mut latencies: Vec<f64> = outcomes
            .iter()
            .map(|o| o.latency.as_secs_f64() * 1000.0)
            .collect();
        latencies.sort_by(f64::total_cmp);
        Summary {
            messages: outcomes.len(),
            top1: top_k(outcomes, 1),
            top3: top_k(outcomes, 3),
            top5: top_k(outcomes, 5),
            reachable: ratio(
                outcomes.iter().filter(|o| o.reachable).count(),
                outcomes.len(),
            ),
            mrr: mean_reciprocal_rank(outcomes),
            ece: expected_calibration_error(&reliability, outcomes.len()),
            suggest_p50_ms: percentile(&latencies, 50),
            suggest_p99_ms: percentile(&latencies, 99),
            thresholds: THRESHOLDS.iter().map(|t| threshold(outcomes, *t)).collect(),
            autofile: POLICIES
                .iter()
                .enumerate()
                .map(|(i, (policy, _))| {
                    let filed: Vec<bool> = outcomes.iter().filter_map(|o| o.autofiled[i]).collect();
                    let wrong = filed.iter().filter(|right| !**right).count();
                    PolicyFigure {
                        policy,
                        auto_filed: filed.len(),
                        share: ratio(filed.len(), outcomes.len()),
                        wrong,
                        wrong_rate: (!filed.is_empty()).then(|| ratio(wrong, filed.len())),
                    }
                })
                .collect(),
            reliability,
        }
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn top_k(outcomes: &[Outcome], k: usize) -> f64 {
    let hits = outcomes
        .iter()
        .filter(|o| o.rank.is_some_and(|r| r <= k))
        .count();
    ratio(hits, outcomes.len())
}

fn mean_reciprocal_rank(outcomes: &[Outcome]) -> f64 {
    if outcomes.is_empty() {
        return 0.0;
    }
    let sum: f64 = outcomes
        .iter()
        .map(|o| o.rank.map_or(0.0, |r| 1.0 / r as f64))
        .sum();
    sum / outcomes.len() as f64
}

fn reliability(outcomes: &[Outcome]) -> Vec<Bin> {
    let mut sums = [(0_usize, 0.0_f64, 0_usize); BINS];
    for outcome in outcomes {
        let confidence = outcome.confidence.clamp(0.0, 1.0);
        // Truncation picks the bin; 1.0 belongs to the last one.
        let bin = ((confidence * BINS as f64) as usize).min(BINS - 1);
        sums[bin].0 += 1;
        sums[bin].1 += confidence;
        sums[bin].2 += usize::from(outcome.first_is_right());
    }
    sums.iter()
        .enumerate()
        .map(|(i, (count, confidence, right))| Bin {
            lower: i as f64 / BINS as f64,
            upper: (i + 1) as f64 / BINS as f64,
            count: *count,
            mean_confidence: (*count > 0).then(|| confidence / *count as f64),
            accuracy: (*count > 0).then(|| ratio(*right, *count)),
        })
        .collect()
}

/// Σ over bins of (share of messages in the bin) · |accuracy − mean confidence|.
fn expected_calibration_error(bins: &[Bin], total: usize) -> f64 {
    bins.iter()
        .filter_map(|b| {
            let gap = (b.accuracy? - b.mean_confidence?).abs();
            Some(ratio(b.count, total) * gap)
        })
        .sum()
}

pub fn threshold(outcomes: &[Outcome], threshold: f64) -> Threshold {
    let filed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.confidence >= threshold)
        .collect();
    let wrong = filed.iter().filter(|o| !o.first_is_right()).count();
    Threshold {
        threshold,
        auto_filed: filed.len(),
        share: ratio(filed.len(), outcomes.len()),
        wrong,
        wrong_rate: (!filed.is_empty()).then(|| ratio(wrong, filed.len())),
    }
}

/// Nearest-rank percentile of ascending `sorted` values (`percent` in 1..=100); 0 when empty.
fn percentile(sorted: &[f64], percent: usize) -> f64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(rank: Option<usize>, confidence: f64) -> Outcome {
        Outcome {
            rank,
            confidence,
            latency: Duration::from_millis(1),
            reachable: true,
            autofiled: [None; POLICIES.len()],
        }
    }

    /// Three confident answers (two right, one third), no suggestion at all (for a case with
    /// nothing filed on it yet), one second.
    fn sample() -> Vec<Outcome> {
        vec![
            outcome(Some(1), 0.9),
            outcome(Some(1), 0.9),
            outcome(Some(3), 0.9),
            Outcome {
                reachable: false,
                ..outcome(None, 0.0)
            },
            outcome(Some(2), 0.35),
        ]
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn top_k_and_reciprocal_rank() {
        let outcomes = sample();
        assert!(close(top_k(&outcomes, 1), 0.4));
        assert!(close(top_k(&outcomes, 3), 0.8));
        assert!(close(top_k(&outcomes, 5), 0.8));
        // (1 + 1 + 1/3 + 0 + 1/2) / 5
        assert!(close(mean_reciprocal_rank(&outcomes), 17.0 / 30.0));
        assert!(close(Summary::of(&outcomes).reachable, 0.8));
    }

    #[test]
    fn reliability_bins_and_calibration_error() {
        let outcomes = sample();
        let bins = reliability(&outcomes);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 5);
        assert_eq!((bins[0].count, bins[0].accuracy), (1, Some(0.0)));
        assert_eq!(bins[3].count, 1);
        assert_eq!(bins[5].mean_confidence, None);
        assert_eq!(bins[9].count, 3);
        assert!(close(bins[9].accuracy.unwrap(), 2.0 / 3.0));
        // 3/5 · |2/3 − 0.9| + 1/5 · |0 − 0| + 1/5 · |0 − 0.35| = 0.14 + 0.07
        assert!(close(expected_calibration_error(&bins, 5), 0.21));
        assert_eq!(reliability(&[outcome(Some(1), 1.0)])[9].count, 1);
    }

    #[test]
    fn thresholds_count_what_would_be_auto_filed_and_wrong() {
        let outcomes = sample();
        let at_half = threshold(&outcomes, 0.5);
        assert_eq!((at_half.auto_filed, at_half.wrong), (3, 1));
        assert!(close(at_half.share, 0.6));
        assert!(close(at_half.wrong_rate.unwrap(), 1.0 / 3.0));
        let at_top = threshold(&outcomes, 0.95);
        assert_eq!(
            (at_top.auto_filed, at_top.share, at_top.wrong_rate),
            (0, 0.0, None)
        );
        assert!(close(threshold(&outcomes, 0.9).share, 0.6), "≥, not >");
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 99), 4.0);
        let values: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&values, 99), 198.0);
        assert_eq!(percentile(&[7.0], 50), 7.0);
        assert_eq!(percentile(&[], 99), 0.0);
    }

    #[test]
    fn an_empty_set_gives_zeros_not_nan() {
        let summary = Summary::of(&[]);
        assert_eq!((summary.messages, summary.top1, summary.ece), (0, 0.0, 0.0));
        assert_eq!(summary.thresholds.len(), THRESHOLDS.len());
    }
}
