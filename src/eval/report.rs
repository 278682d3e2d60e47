//! The replay report: figures per user and overall, as JSON or as readable tables.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::metrics::{Outcome, SUGGESTION_LIMIT, Summary};
use super::schedule::Protocol;
use crate::suggest::Feature;

/// What replaying one user produced.
pub struct UserRun {
    pub user: String,
    pub cases: usize,
    /// Messages read from the corpus, skipped ones included.
    pub replayed: usize,
    pub skipped: usize,
    pub seconds: f64,
    pub outcomes: Vec<Outcome>,
    /// The ranker's weights by feature when the replay ended: what this organisation learnt.
    pub weights: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub protocol: Protocol,
    pub no_case_titles: bool,
    /// What the protocol scores, in words.
    pub description: String,
    /// Suggestions asked for per message: ranks (and the MRR) count only these.
    pub suggestion_limit: usize,
    /// Where each organisation's store was: `sqlite-memory` or `postgres`.
    pub store: &'static str,
    pub users: Vec<UserReport>,
    /// Every scored message of every user counted once (message-weighted).
    pub overall: Totals,
}

#[derive(Debug, Serialize)]
pub struct UserReport {
    pub user: String,
    pub cases: usize,
    #[serde(flatten)]
    pub totals: Totals,
    pub weights: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize)]
pub struct Totals {
    pub replayed: usize,
    /// Messages whose extraction failed: neither scored nor filed.
    pub skipped: usize,
    /// Wall clock of the whole replay: store, cases, extraction, suggestions and filings.
    pub seconds: f64,
    /// `replayed` over `seconds`.
    pub items_per_second: f64,
    #[serde(flatten)]
    pub summary: Summary,
}

impl Totals {
    fn of(replayed: usize, skipped: usize, seconds: f64, outcomes: &[Outcome]) -> Totals {
        Totals {
            replayed,
            skipped,
            seconds,
            items_per_second: if seconds > 0.0 {
                replayed as f64 / seconds
            } else {
                0.0
            },
            summary: Summary::of(outcomes),
        }
    }
}

impl Report {
    pub fn new(protocol: Protocol, no_case_titles: bool, runs: Vec<UserRun>) -> Report {
        let all: Vec<Outcome> = runs.iter().flat_map(|r| r.outcomes.clone()).collect();
        let overall = Totals::of(
            runs.iter().map(|r| r.replayed).sum(),
            runs.iter().map(|r| r.skipped).sum(),
            runs.iter().map(|r| r.seconds).sum(),
            &all,
        );
        Report {
            protocol,
            no_case_titles,
            description: protocol.describe(),
            suggestion_limit: SUGGESTION_LIMIT,
            store: "sqlite-memory",
            users: runs
                .into_iter()
                .map(|run| UserReport {
                    totals: Totals::of(run.replayed, run.skipped, run.seconds, &run.outcomes),
                    user: run.user,
                    cases: run.cases,
                    weights: run.weights,
                })
                .collect(),
            overall,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Replay, protocol {}; store {}",
            self.description, self.store
        )?;
        writeln!(
            f,
            "Case titles {}; ranks count among the first {} suggestions; reach is the share \
             whose case had something filed on it before, the most any top-k can be; \
             calibration and auto-filing use the first suggestion's confidence.\n",
            if self.no_case_titles {
                "hidden"
            } else {
                "shown (folder names)"
            },
            self.suggestion_limit
        )?;
        writeln!(
            f,
            "{:<14} {:>5} {:>8} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7}",
            "user",
            "cases",
            "replayed",
            "skipped",
            "scored",
            "reach",
            "top-1",
            "top-3",
            "top-5",
            "MRR",
            "ECE",
            "p50 ms",
            "p99 ms",
            "items/s",
            "seconds"
        )?;
        let rows = self
            .users
            .iter()
            .map(|u| (u.user.as_str(), Some(u.cases), &u.totals))
            .chain([("overall", None, &self.overall)]);
        for (user, cases, t) in rows {
            let s = &t.summary;
            writeln!(
                f,
                "{user:<14} {:>5} {:>8} {:>7} {:>7} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>7.2} {:>7.2} {:>7.1} {:>7.1}",
                cases.map_or(String::new(), |c| c.to_string()),
                t.replayed,
                t.skipped,
                s.messages,
                s.reachable,
                s.top1,
                s.top3,
                s.top5,
                s.mrr,
                s.ece,
                s.suggest_p50_ms,
                s.suggest_p99_ms,
                t.items_per_second,
                t.seconds
            )?;
        }
        write_weights(f, &self.users)?;
        let sections = self
            .users
            .iter()
            .map(|u| (u.user.as_str(), &u.totals.summary))
            .chain([("overall", &self.overall.summary)]);
        for (user, summary) in sections {
            write_details(f, user, summary)?;
        }
        Ok(())
    }
}

/// The weights each user's ranker learnt, a column per user, in the order the model knows
/// the features.
fn write_weights(f: &mut fmt::Formatter<'_>, users: &[UserReport]) -> fmt::Result {
    writeln!(f, "\nlearned weights")?;
    write!(f, "  {:<18}", "feature")?;
    for user in users {
        write!(f, " {:>12}", user.user)?;
    }
    writeln!(f)?;
    for feature in Feature::ALL {
        write!(f, "  {:<18}", feature.name())?;
        for user in users {
            match user.weights.get(feature.name()) {
                Some(weight) => write!(f, " {weight:>12.2}")?,
                None => write!(f, " {:>12}", "-")?,
            }
        }
        writeln!(f)?;
    }
    Ok(())
}

/// The reliability table and the auto-filing thresholds of one user, side by side.
fn write_details(f: &mut fmt::Formatter<'_>, user: &str, s: &Summary) -> fmt::Result {
    let optional = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    writeln!(
        f,
        "\n{user}: reliability of the first confidence, and auto-filing at a threshold"
    )?;
    writeln!(
        f,
        "  {:<9} {:>6} {:>10} {:>8}    {:>9} {:>6} {:>6} {:>6} {:>10}",
        "bin",
        "count",
        "confidence",
        "accuracy",
        "threshold",
        "share",
        "filed",
        "wrong",
        "wrong rate"
    )?;
    for i in 0..s.reliability.len().max(s.thresholds.len()) {
        match s.reliability.get(i) {
            Some(b) => write!(
                f,
                "  {:<9} {:>6} {:>10} {:>8}",
                format!("{:.1}-{:.1}", b.lower, b.upper),
                b.count,
                optional(b.mean_confidence),
                optional(b.accuracy)
            )?,
            None => write!(f, "  {:36}", "")?,
        }
        match s.thresholds.get(i) {
            Some(t) => writeln!(
                f,
                "    {:>9} {:>6.3} {:>6} {:>6} {:>10}",
                format!("≥ {}", t.threshold),
                t.share,
                t.auto_filed,
                t.wrong,
                optional(t.wrong_rate)
            )?,
            None => writeln!(f)?,
        }
    }
    writeln!(
        f,
        "  auto-journalisation policy: {:>18} {:>6} {:>6} {:>6} {:>10}",
        "setting", "share", "filed", "wrong", "wrong rate"
    )?;
    for p in &s.autofile {
        writeln!(
            f,
            "  {:>46} {:>6.3} {:>6} {:>6} {:>10}",
            p.policy,
            p.share,
            p.auto_filed,
            p.wrong,
            optional(p.wrong_rate)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::eval::metrics::POLICIES;

    fn run(user: &str, outcomes: Vec<Outcome>) -> UserRun {
        UserRun {
            user: user.into(),
            cases: 2,
            replayed: outcomes.len() + 1,
            skipped: 0,
            seconds: 2.0,
            outcomes,
            weights: BTreeMap::from([("sender".to_string(), 1.5)]),
        }
    }

    fn right(confidence: f64) -> Outcome {
        Outcome {
            rank: Some(1),
            confidence,
            latency: Duration::from_millis(3),
            reachable: true,
            autofiled: [None; POLICIES.len()],
        }
    }

    #[test]
    fn overall_weights_by_message_and_json_has_the_issue_keys() {
        let wrong = Outcome {
            rank: None,
            ..right(0.0)
        };
        let report = Report::new(
            Protocol::Online,
            true,
            vec![
                run("a", vec![right(0.9), right(0.9), right(0.9)]),
                run("b", vec![wrong]),
            ],
        );
        assert_eq!(report.overall.summary.messages, 4);
        assert_eq!(
            report.overall.summary.top1, 0.75,
            "not the mean of 1.0 and 0.0"
        );
        assert_eq!(report.overall.items_per_second, 6.0 / 4.0);

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["protocol"], "online");
        assert_eq!(json["no_case_titles"], true);
        let user = &json["users"][0];
        for key in [
            "user",
            "messages",
            "top1",
            "top3",
            "top5",
            "mrr",
            "ece",
            "suggest_p50_ms",
            "suggest_p99_ms",
            "items_per_second",
            "reliability",
            "thresholds",
        ] {
            assert!(!user[key].is_null(), "users[0] lacks {key}");
        }
        assert_eq!(json["overall"]["messages"], 4);
        assert_eq!(user["weights"]["sender"], 1.5);

        let text = report.to_string();
        assert!(text.contains("overall"));
        assert!(text.contains("0.750"));
        let sender = text
            .lines()
            .find(|l| l.trim_start().starts_with("sender "))
            .unwrap();
        assert_eq!(
            sender.split_whitespace().collect::<Vec<_>>(),
            ["sender", "1.50", "1.50"]
        );
    }
}
