//! The items a backtest replays, newest first, a page at a time: each with the first suggestion
//! its owner was shown, as it was ranked then, and the case a person filed it on.

use sqlx::Row;

use super::items::{item_columns_of, item_from_row};
use super::stats::from_ppm;
use super::{Result, Store, StoredItem, from_json};
use crate::domain::Millis;

#[derive(Debug, Clone)]
pub struct BacktestItem {
    pub item: StoredItem,
    /// The first case the owner was shown and its confidence, where both were recorded.
    pub first_shown: Option<(String, f64)>,
    /// The case of the person's latest live filing of the item, if a person filed it.
    pub chosen_case_id: Option<String>,
}

/// Where a page of `backtest_items` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacktestPlace {
    created_at: Millis,
    item_id: String,
}

impl BacktestItem {
    pub fn place(&self) -> BacktestPlace {
        BacktestPlace {
            created_at: self.item.created_at,
            item_id: self.item.id.clone(),
        }
    }
}

impl Store {
    /// The next `limit` items, newest first, after `after` (the last of the page before).
    pub async fn backtest_items(
        &self,
        after: Option<&BacktestPlace>,
        limit: i64,
    ) -> Result<Vec<BacktestItem>> {
        let (at, id) = after.map_or((i64::MAX, ""), |p| (p.created_at, p.item_id.as_str()));
        let rows = sqlx::query(&format!(
            "SELECT {}, s.case_ids AS shown_case_ids, s.top_confidence_ppm AS shown_ppm,
                    (SELECT f.case_id FROM filings f
                     WHERE f.item_id = i.id AND f.decision IS NULL AND f.state <> 'failed'
                       AND f.withdrawn_at IS NULL
                     ORDER BY f.created_at DESC, f.id DESC LIMIT 1) AS chosen_case_id
             FROM items i
             LEFT JOIN suggestions_shown s ON s.item_id = i.id AND s.user_id = i.owner
             WHERE i.created_at < $1 OR (i.created_at = $1 AND i.id > $2)
             ORDER BY i.created_at DESC, i.id LIMIT $3",
            item_columns_of("i")
        ))
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let shown: Option<String> = row.try_get("shown_case_ids")?;
                let shown: Vec<String> = match shown {
                    Some(ids) => from_json("suggestions_shown.case_ids", &ids)?,
                    None => Vec::new(),
                };
                let confidence: Option<i64> = row.try_get("shown_ppm")?;
                Ok(BacktestItem {
                    item: item_from_row(row)?,
                    first_shown: shown.into_iter().next().zip(confidence.map(from_ppm)),
                    chosen_case_id: row.try_get("chosen_case_id")?,
                })
            })
            .collect()
    }
}
