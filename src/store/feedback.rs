//! What users were shown and what they chose: the raw material the ranker learns from.

use sqlx::Row;

use super::{Result, Store, from_json, to_json};
use crate::domain::now_millis;

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
    /// Remembers the suggestions a user was last shown for an item, and the first one's
    /// confidence.
    pub async fn record_shown(
        &self,
        item_id: &str,
        user_id: &str,
        case_ids: &[String],
        top_confidence: Option<f64>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO suggestions_shown (item_id, user_id, case_ids, created_at, top_confidence_ppm)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (item_id, user_id) DO UPDATE SET case_ids = excluded.case_ids,
               created_at = excluded.created_at, top_confidence_ppm = excluded.top_confidence_ppm",
        )
        .bind(item_id)
        .bind(user_id)
        .bind(to_json(&case_ids))
        .bind(now_millis())
        .bind(top_confidence.map(super::stats::to_ppm))
        .execute(&self.pool)
        .await?;
        Ok(())
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
