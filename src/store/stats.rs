//! How well suggestions and auto-journalisation do in real use: over the filings of a period,
//! how often the chosen case was the first suggestion or among the first three, how many were
//! filed automatically, and how many of those were undone.

use serde::Serialize;
use sqlx::Row;

use super::{Result, Store};
use crate::domain::Millis;

const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;
/// 1970-01-01 was a Thursday; weeks start on Monday, 4 days later.
const MONDAY_OFFSET_MS: i64 = 4 * 24 * 3600 * 1000;

/// The figures over some filings. Shares are over the filings that were shown suggestions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Quality {
    pub filings: u64,
    /// Filings whose user was shown suggestions first.
    pub shown: u64,
    pub top1: f64,
    pub top3: f64,
    /// The chosen case was not among the suggestions shown.
    pub not_in_list: f64,
    pub auto_filed: u64,
    /// Automatic filings undone or moved since.
    pub undone: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    /// The Monday the week starts, `YYYY-MM-DD` (UTC).
    pub week: String,
    #[serde(flatten)]
    pub quality: Quality,
}

#[derive(Default)]
struct Tally {
    filings: u64,
    shown: u64,
    first: u64,
    top3: u64,
    auto_filed: u64,
    undone: u64,
}

impl Tally {
    fn quality(&self) -> Quality {
        let share = |n: u64| {
            if self.shown == 0 {
                0.0
            } else {
                n as f64 / self.shown as f64
            }
        };
        Quality {
            filings: self.filings,
            shown: self.shown,
            top1: share(self.first),
            top3: share(self.top3),
            not_in_list: share(self.shown - self.top3.min(self.shown)),
            auto_filed: self.auto_filed,
            undone: self.undone,
        }
    }
}

impl Store {
    /// The quality of the filings accepted in `[from, to)`, overall and per week, only those on
    /// cases of `group` when one is given.
    pub async fn quality(
        &self,
        from: Millis,
        to: Millis,
        group: Option<&str>,
    ) -> Result<(Quality, Vec<Week>)> {
        let rows = sqlx::query(
            "SELECT f.created_at, fb.chosen_rank, fb.shown_case_ids, f.decision, f.withdrawn_at
             FROM filings f LEFT JOIN feedback fb ON fb.filing_id = f.id
             WHERE f.created_at >= $1 AND f.created_at < $2 AND f.state <> 'failed'
               AND ($3 IS NULL OR EXISTS (SELECT 1 FROM case_groups g
                                          WHERE g.case_id = f.case_id AND g.group_name = $3))
             ORDER BY f.created_at",
        )
        .bind(from)
        .bind(to)
        .bind(group)
        .fetch_all(&self.pool)
        .await?;
        let mut overall = Tally::default();
        let mut weeks: Vec<(i64, Tally)> = Vec::new();
        for row in rows {
            let at: i64 = row.try_get("created_at")?;
            let rank: Option<i64> = row.try_get("chosen_rank")?;
            let shown: Option<String> = row.try_get("shown_case_ids")?;
            let automatic = row.try_get::<Option<String>, _>("decision")?.is_some();
            let undone = row.try_get::<Option<i64>, _>("withdrawn_at")?.is_some();
            let week = (at - MONDAY_OFFSET_MS).div_euclid(WEEK_MS);
            if weeks.last().is_none_or(|(w, _)| *w != week) {
                weeks.push((week, Tally::default()));
            }
            let was_shown = !automatic && shown.is_some_and(|s| s.trim() != "[]");
            for tally in [&mut overall, &mut weeks.last_mut().expect("just pushed").1] {
                tally.filings += 1;
                if was_shown {
                    tally.shown += 1;
                    tally.first += u64::from(rank == Some(1));
                    tally.top3 += u64::from(rank.is_some_and(|r| r <= 3));
                }
                if automatic {
                    tally.auto_filed += 1;
                    tally.undone += u64::from(undone);
                }
            }
        }
        let weeks = weeks
            .into_iter()
            .map(|(week, tally)| Week {
                week: chrono::DateTime::from_timestamp_millis(week * WEEK_MS + MONDAY_OFFSET_MS)
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                quality: tally.quality(),
            })
            .collect();
        Ok((overall.quality(), weeks))
    }
}
