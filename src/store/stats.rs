//! How well suggestions and auto-journalisation do in real use: over the filings of a period,
//! how often the chosen case was the first suggestion or among the first three, how many were
//! filed automatically, and how many of those were undone; per unit and connector, and how
//! well the first suggestion's confidence matched how often it was right.

use std::collections::{BTreeMap, HashMap};

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

/// One unit's (group's) or connector's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub name: String,
    #[serde(flatten)]
    pub quality: Quality,
}

/// The filings shown suggestions whose first suggestion's confidence was in `[from, to)`: how
/// many, their mean confidence and the share on which that first suggestion was chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub count: u64,
    pub confidence: f64,
    pub top1: f64,
}

/// Everything the quality figures say about a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityReport {
    pub overall: Quality,
    pub weeks: Vec<Week>,
    pub groups: Vec<Breakdown>,
    pub connectors: Vec<Breakdown>,
    pub reliability: Vec<Band>,
}

/// A person's choice among the suggestions they were shown, for a backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownChoice {
    pub filing_id: String,
    pub item_id: String,
    pub case_id: String,
    /// 1-based place of the chosen case among those shown; `None` when it was not shown.
    pub rank: Option<i64>,
    pub confidence: f64,
}

const PPM: f64 = 1_000_000.0;

/// A confidence as the store keeps it, in millionths.
pub(super) fn to_ppm(confidence: f64) -> i64 {
    (confidence.clamp(0.0, 1.0) * PPM).round() as i64
}

pub(super) fn from_ppm(ppm: i64) -> f64 {
    ppm as f64 / PPM
}

/// The confidence bands of the reliability plot, each a tenth wide.
const BANDS: usize = 10;

#[derive(Default)]
struct Tally {
    filings: u64,
    shown: u64,
    first: u64,
    top3: u64,
    auto_filed: u64,
    undone: u64,
}

/// What one filing adds to a tally.
struct Counted {
    shown: bool,
    rank: Option<i64>,
    automatic: bool,
    undone: bool,
}

impl Tally {
    fn add(&mut self, filing: &Counted) {
        self.filings += 1;
        if filing.shown {
            self.shown += 1;
            self.first += u64::from(filing.rank == Some(1));
            self.top3 += u64::from(filing.rank.is_some_and(|r| r <= 3));
        }
        if filing.automatic {
            self.auto_filed += 1;
            self.undone += u64::from(filing.undone);
        }
    }

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

fn breakdown(tallies: BTreeMap<String, Tally>) -> Vec<Breakdown> {
    tallies
        .into_iter()
        .map(|(name, tally)| Breakdown {
            name,
            quality: tally.quality(),
        })
        .collect()
}

impl Store {
    /// The quality of the filings accepted in `[from, to)`, overall, per week, per unit and
    /// per connector, with the reliability of the first suggestion's confidence; only those
    /// on cases of `group` when one is given.
    pub async fn quality(
        &self,
        from: Millis,
        to: Millis,
        group: Option<&str>,
    ) -> Result<QualityReport> {
        let rows = sqlx::query(
            "SELECT f.created_at, f.case_id, c.connector, fb.chosen_rank, fb.shown_case_ids,
                    fb.top_confidence_ppm, f.decision, f.withdrawn_at
             FROM filings f JOIN cases c ON c.id = f.case_id
             LEFT JOIN feedback fb ON fb.filing_id = f.id
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
        let mut groups_of: HashMap<String, Vec<String>> = HashMap::new();
        for row in sqlx::query("SELECT case_id, group_name FROM case_groups")
            .fetch_all(&self.pool)
            .await?
        {
            groups_of
                .entry(row.try_get("case_id")?)
                .or_default()
                .push(row.try_get("group_name")?);
        }
        let mut overall = Tally::default();
        let mut weeks: Vec<(i64, Tally)> = Vec::new();
        let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
        let mut connectors: BTreeMap<String, Tally> = BTreeMap::new();
        let mut bands = [(0u64, 0.0f64, 0u64); BANDS];
        for row in rows {
            let at: i64 = row.try_get("created_at")?;
            let shown: Option<String> = row.try_get("shown_case_ids")?;
            let automatic = row.try_get::<Option<String>, _>("decision")?.is_some();
            let filing = Counted {
                shown: !automatic && shown.is_some_and(|s| s.trim() != "[]"),
                rank: row.try_get("chosen_rank")?,
                automatic,
                undone: row.try_get::<Option<i64>, _>("withdrawn_at")?.is_some(),
            };
            let week = (at - MONDAY_OFFSET_MS).div_euclid(WEEK_MS);
            if weeks.last().is_none_or(|(w, _)| *w != week) {
                weeks.push((week, Tally::default()));
            }
            overall.add(&filing);
            weeks.last_mut().expect("just pushed").1.add(&filing);
            connectors
                .entry(row.try_get("connector")?)
                .or_default()
                .add(&filing);
            let case_id: String = row.try_get("case_id")?;
            for name in groups_of.get(&case_id).into_iter().flatten() {
                groups.entry(name.clone()).or_default().add(&filing);
            }
            if let (true, Some(confidence)) = (
                filing.shown,
                row.try_get::<Option<i64>, _>("top_confidence_ppm")?
                    .map(from_ppm),
            ) {
                let band = ((confidence.clamp(0.0, 1.0) * BANDS as f64) as usize).min(BANDS - 1);
                let (count, sum, hits) = &mut bands[band];
                *count += 1;
                *sum += confidence;
                *hits += u64::from(filing.rank == Some(1));
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
        let reliability = bands
            .iter()
            .enumerate()
            .map(|(i, &(count, sum, hits))| Band {
                from: i as f64 / BANDS as f64,
                to: (i + 1) as f64 / BANDS as f64,
                count,
                confidence: if count == 0 { 0.0 } else { sum / count as f64 },
                top1: if count == 0 {
                    0.0
                } else {
                    hits as f64 / count as f64
                },
            })
            .collect();
        Ok(QualityReport {
            overall: overall.quality(),
            weeks,
            groups: breakdown(groups),
            connectors: breakdown(connectors),
            reliability,
        })
    }
}

impl Store {
    /// The latest `limit` filings a person made after being shown suggestions whose first
    /// confidence was recorded, newest first; only items of `mailbox`, or on cases of
    /// `group`, when given.
    pub async fn shown_choices(
        &self,
        limit: i64,
        mailbox: Option<&str>,
        group: Option<&str>,
    ) -> Result<Vec<ShownChoice>> {
        let owner = mailbox.map(|m| format!("{}{m}", crate::autofile::MAILBOX_OWNER_PREFIX));
        let rows = sqlx::query(
            "SELECT f.id, f.item_id, f.case_id, fb.chosen_rank, fb.top_confidence_ppm
             FROM filings f JOIN feedback fb ON fb.filing_id = f.id JOIN items i ON i.id = f.item_id
             WHERE f.decision IS NULL AND f.state <> 'failed' AND fb.top_confidence_ppm IS NOT NULL
               AND ($1 IS NULL OR i.owner = $1)
               AND ($2 IS NULL OR EXISTS (SELECT 1 FROM case_groups g
                                          WHERE g.case_id = f.case_id AND g.group_name = $2))
             ORDER BY f.created_at DESC, f.id DESC LIMIT $3",
        )
        .bind(owner)
        .bind(group)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ShownChoice {
                    filing_id: row.try_get("id")?,
                    item_id: row.try_get("item_id")?,
                    case_id: row.try_get("case_id")?,
                    rank: row.try_get("chosen_rank")?,
                    confidence: from_ppm(row.try_get("top_confidence_ppm")?),
                })
            })
            .collect()
    }
}
