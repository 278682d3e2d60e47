//! Send intents: the case a user chose for a mail still being written, kept under an opaque
//! reference until the sent copy is uploaded and filed.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, plain};
use crate::domain::{Millis, now_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentState {
    /// Waiting for the sent copy.
    Open,
    /// The sent copy was filed (`filing_id`).
    Fulfilled,
}

impl IntentState {
    fn parse(text: &str) -> Option<IntentState> {
        match text {
            "open" => Some(IntentState::Open),
            "fulfilled" => Some(IntentState::Fulfilled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub reference: String,
    pub owner: String,
    pub case_id: String,
    pub title: Option<String>,
    pub state: IntentState,
    pub filing_id: Option<String>,
    pub created_at: Millis,
    pub fulfilled_at: Option<Millis>,
}

impl Store {
    /// Records an intent under `reference`, which the caller made unguessable.
    pub async fn create_intent(
        &self,
        reference: &str,
        owner: &str,
        case_id: &str,
        title: Option<&str>,
    ) -> Result<Intent> {
        let row = sqlx::query(
            "INSERT INTO send_intents (reference, owner, case_id, title, state, created_at)
             VALUES ($1, $2, $3, $4, 'open', $5)
             RETURNING *",
        )
        .bind(reference)
        .bind(owner)
        .bind(case_id)
        .bind(title.map(plain))
        .bind(now_millis())
        .fetch_one(&self.pool)
        .await?;
        intent_from_row(&row)
    }

    pub async fn intent(&self, reference: &str) -> Result<Option<Intent>> {
        let row = sqlx::query("SELECT * FROM send_intents WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(intent_from_row).transpose()
    }

    /// Removes an open intent of `owner`, so that the sent copy is not filed after all; false
    /// when there is no such open intent (another user's, unknown, or already fulfilled).
    pub async fn cancel_intent(&self, reference: &str, owner: &str) -> Result<bool> {
        let removed = sqlx::query(
            "DELETE FROM send_intents WHERE reference = $1 AND owner = $2 AND state = 'open'",
        )
        .bind(reference)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(removed == 1)
    }

    /// Marks an open intent fulfilled by `filing_id`; false if it was not open (any more).
    pub async fn fulfil_intent(&self, reference: &str, filing_id: &str) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE send_intents SET state = 'fulfilled', filing_id = $2, fulfilled_at = $3
             WHERE reference = $1 AND state = 'open'",
        )
        .bind(reference)
        .bind(filing_id)
        .bind(now_millis())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }
}

fn intent_from_row(row: &AnyRow) -> Result<Intent> {
    let state: String = row.try_get("state")?;
    Ok(Intent {
        reference: row.try_get("reference")?,
        owner: row.try_get("owner")?,
        case_id: row.try_get("case_id")?,
        title: row.try_get("title")?,
        state: IntentState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("intent state {state}")))?,
        filing_id: row.try_get("filing_id")?,
        created_at: row.try_get("created_at")?,
        fulfilled_at: row.try_get("fulfilled_at")?,
    })
}
