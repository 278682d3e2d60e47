//! What users were shown and what they chose: the raw material the ranker learns from.

use sqlx::Row;

use super::{Result, Store, from_json, to_json};
use crate::domain::now_millis;
use crate::suggest::FeatureValues;

/// A case as it was shown to a user, in its place in the list.
#[derive(Debug, Clone, Copy)]
pub struct ShownCase<'a> {
    pub case_id: &'a str,
    pub confidence: f64,
    pub features: &'a FeatureValues,
}

/// A person's choice among the suggestions they were shown, with the feature values of every
/// case shown, for replaying other weights of the ranker.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedChoice {
    pub filing_id: String,
    pub item_id: String,
    pub case_id: String,
    /// The cases shown, first first, with their feature values; `None` when they were shown
    /// before the values were kept.
    pub shown: Option<Vec<(String, FeatureValues)>>,
}

/// One recorded choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub filing_id: String,
    pub user_id: String,
    pub chosen_case_id: String,
    /// 1-based position of the chosen case among those shown; `None` if it was not shown.
    pub chosen_rank: Option<i64>,
    pub shown_case_ids: Vec<String>,
}

impl Store {
    /// Remembers the suggestions a user was last shown for an item: the cases in order, the
    /// first one's confidence and what the ranker scored each by.
    pub async fn record_shown(
        &self,
        item_id: &str,
        user_id: &str,
        shown: &[ShownCase<'_>],
    ) -> Result<()> {
        let case_ids: Vec<&str> = shown.iter().map(|s| s.case_id).collect();
        let features: Vec<&FeatureValues> = shown.iter().map(|s| s.features).collect();
        sqlx::query(
            "INSERT INTO suggestions_shown (item_id, user_id, case_ids, created_at, top_confidence_ppm, features)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (item_id, user_id) DO UPDATE SET case_ids = excluded.case_ids,
               created_at = excluded.created_at, top_confidence_ppm = excluded.top_confidence_ppm,
               features = excluded.features",
        )
        .bind(item_id)
        .bind(user_id)
        .bind(to_json(&case_ids))
        .bind(now_millis())
        .bind(shown.first().map(|s| super::stats::to_ppm(s.confidence)))
        .bind(to_json(&features))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest `limit` filings a person made after being shown suggestions, newest first,
    /// with what the ranker scored each case shown by where that was kept.
    pub async fn recorded_choices(&self, limit: i64) -> Result<Vec<RecordedChoice>> {
        let rows = sqlx::query(
            "SELECT f.id, f.item_id, f.case_id, fb.shown_case_ids, fb.shown_features
             FROM filings f JOIN feedback fb ON fb.filing_id = f.id
             WHERE f.decision IS NULL AND f.state <> 'failed' AND fb.shown_case_ids <> '[]'
             ORDER BY f.created_at DESC, f.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let case_ids: Vec<String> =
                    from_json("feedback.shown_case_ids", row.try_get("shown_case_ids")?)?;
                let features: Option<String> = row.try_get("shown_features")?;
                let shown = match features {
                    Some(features) => {
                        let features: Vec<FeatureValues> =
                            from_json("feedback.shown_features", &features)?;
                        if features.len() != case_ids.len() {
                            return Err(super::StoreError::Corrupt(
                                "feedback.shown_features does not match the cases shown".into(),
                            ));
                        }
                        Some(case_ids.into_iter().zip(features).collect())
                    }
                    None => None,
                };
                Ok(RecordedChoice {
                    filing_id: row.try_get("id")?,
                    item_id: row.try_get("item_id")?,
                    case_id: row.try_get("case_id")?,
                    shown,
                })
            })
            .collect()
    }

    pub async fn feedback_for_filing(&self, filing_id: &str) -> Result<Option<Feedback>> {
        let row = sqlx::query("SELECT * FROM feedback WHERE filing_id = $1")
            .bind(filing_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Feedback {
            filing_id: row.try_get("filing_id")?,
            user_id: row.try_get("user_id")?,
            chosen_case_id: row.try_get("chosen_case_id")?,
            chosen_rank: row.try_get("chosen_rank")?,
            shown_case_ids: from_json("feedback.shown_case_ids", row.try_get("shown_case_ids")?)?,
        }))
    }
}
