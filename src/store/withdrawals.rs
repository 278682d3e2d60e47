//! Undoing filings: the withdrawal recorded at once, and the claims through which the worker
//! takes the document back from its target, exactly as the outbox delivers it.

use serde_json::json;

use super::audit::{AuditKind, SYSTEM_ACTOR};
use super::filings::{audit_filing, filing_from_row};
use super::{Result, Store, plain};
use crate::domain::filing::{Filing, WithdrawalState};
use crate::domain::identifiers::redact_cpr;
use crate::domain::{Millis, now_millis};

/// A withdrawal the worker holds until `until`; settling it needs the same time back.
#[derive(Debug, Clone)]
pub struct WithdrawalClaim {
    pub filing: Filing,
    pub until: Millis,
    pub attempts: u32,
}

impl Store {
    /// Records that `by` withdrew a filing, and why; `moved_to` names the filing on the right
    /// case when the undo moved it. A filing never tried at its target, or failed for good,
    /// is settled at once; one filed or under way waits for the worker. `None` when there is
    /// no such filing or it was withdrawn already.
    pub async fn withdraw_filing(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        moved_to: Option<&str>,
    ) -> Result<Option<Filing>> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE filings SET withdrawn_at = $2, withdrawn_by = $3, withdraw_reason = $4,
                moved_to = $5, withdrawal_next_at = $2, updated_at = $2,
                withdrawal = CASE
                    WHEN state = 'failed' OR (state = 'queued' AND attempts = 0) THEN 'done'
                    ELSE 'pending' END,
                withdrawal_note = CASE
                    WHEN state = 'failed' OR (state = 'queued' AND attempts = 0)
                    THEN 'never reached the target' END
             WHERE id = $1 AND withdrawn_at IS NULL
             RETURNING *",
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .bind(plain(reason))
        .bind(moved_to)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let filing = filing_from_row(&row)?;
        let details = json!({
            "reason": redact_cpr(reason),
            "moved_to": moved_to,
            "delivery_state": filing.state,
            "automatic": filing.automatic,
            "withdrawal": filing.withdrawal.as_ref().map(|w| w.state),
        });
        audit_filing(
            &mut tx,
            AuditKind::FilingWithdrawn,
            by,
            &filing,
            &filing.item_id,
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(filing))
    }

    /// Reserves the next withdrawal due at its target. A filing whose delivery is in flight is
    /// left until that delivery ends (the worker delivers a withdrawn filing that was already
    /// tried, so that whatever reached the target is taken back, not left behind).
    pub async fn claim_due_withdrawal(
        &self,
        now: Millis,
        lease_ms: i64,
    ) -> Result<Option<WithdrawalClaim>> {
        let pass_over_claimed = self.pass_over_claimed();
        let until = now + lease_ms;
        let sql = format!(
            "UPDATE filings SET withdrawal_next_at = $1, withdrawal_attempts = withdrawal_attempts + 1
             WHERE id = (SELECT id FROM filings
                         WHERE withdrawal = 'pending' AND withdrawal_next_at <= $2 AND state = 'filed'
                         ORDER BY withdrawal_next_at LIMIT 1 {pass_over_claimed})
               AND withdrawal = 'pending' AND withdrawal_next_at <= $2
             RETURNING *"
        );
        let row = sqlx::query(&sql)
            .bind(until)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let attempts: i64 = sqlx::Row::try_get(&row, "withdrawal_attempts")?;
        Ok(Some(WithdrawalClaim {
            filing: filing_from_row(&row)?,
            until,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        }))
    }

    /// Settles a claimed withdrawal with what the target did, if the claim is still the latest.
    pub async fn settle_withdrawal(
        &self,
        claim: &WithdrawalClaim,
        state: WithdrawalState,
        note: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE filings SET withdrawal = $2, withdrawal_note = $3, withdrawal_next_at = NULL,
                updated_at = $4
             WHERE id = $1 AND withdrawal = 'pending' AND withdrawal_next_at = $5
             RETURNING *",
        )
        .bind(&claim.filing.id)
        .bind(state.as_str())
        .bind(plain(note))
        .bind(now_millis())
        .bind(claim.until)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            let filing = filing_from_row(&row)?;
            let details = json!({
                "withdrawal": state,
                "note": redact_cpr(note),
                "attempt": claim.attempts,
                "target_document_id": filing.target_document_id,
            });
            audit_filing(
                &mut tx,
                AuditKind::WithdrawalSettled,
                SYSTEM_ACTOR,
                &filing,
                &filing.item_id,
                details,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives a claimed withdrawal back to be tried again at `next_at`, with the reason.
    pub async fn retry_withdrawal(
        &self,
        claim: &WithdrawalClaim,
        error: &str,
        next_at: Millis,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE filings SET withdrawal_note = $2, withdrawal_next_at = $3
             WHERE id = $1 AND withdrawal = 'pending' AND withdrawal_next_at = $4",
        )
        .bind(&claim.filing.id)
        .bind(plain(error))
        .bind(next_at)
        .bind(claim.until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
