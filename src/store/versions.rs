//! Documents at their targets, as the filings recorded them: what a new version may refer to.

use super::{Result, Store};

impl Store {
    /// Whether `document_id` is the target's id of a document filed on `case_id`: the only
    /// documents a filing may make a new version of.
    pub async fn is_document_of_case(&self, case_id: &str, document_id: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM filings WHERE case_id = $1 AND target_document_id = $2 AND state = 'filed'
             LIMIT 1",
        )
        .bind(case_id)
        .bind(document_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }
}
