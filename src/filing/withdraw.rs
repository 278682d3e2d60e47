//! Takes withdrawn documents back from their targets, with the same claims, retries and
//! backoff as delivery: a withdrawal survives a crash and reaches the target once.

use std::time::Duration;

use super::worker::{Outcome, Worker};
use crate::connector::{ConnectorError, WithdrawRequest, Withdrawal};
use crate::domain::filing::WithdrawalState;
use crate::domain::now_millis;
use crate::store::{StoreError, WithdrawalClaim};

impl Worker {
    /// Claims one withdrawal due at its target and carries it out.
    #[tracing::instrument(name = "withdraw", skip_all, fields(filing))]
    pub async fn withdraw_next(&self) -> Result<Outcome, StoreError> {
        let lease = Duration::from_secs(self.config.lease_secs.max(1));
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 4);
        let Some(claim) = self
            .store
            .claim_due_withdrawal(now_millis(), lease_ms)
            .await?
        else {
            return Ok(Outcome::Empty);
        };
        let filing_id = claim.filing.id.clone();
        tracing::Span::current().record("filing", tracing::field::display(&filing_id));
        let result = match tokio::time::timeout(lease.mul_f64(0.9), self.take_back(&claim)).await {
            Ok(result) => result,
            Err(_) => Err(ConnectorError::Transient(
                "the target did not answer in time".into(),
            )),
        };
        match result {
            Ok(Withdrawal::Removed) => {
                self.store
                    .settle_withdrawal(&claim, WithdrawalState::Done, "removed from the target")
                    .await?;
            }
            Ok(Withdrawal::Corrected(note)) => {
                self.store
                    .settle_withdrawal(&claim, WithdrawalState::Corrected, &note)
                    .await?;
            }
            Err(ConnectorError::Transient(reason)) if claim.attempts < self.config.max_attempts => {
                let delay = self.backoff(claim.attempts);
                let next = now_millis() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 4);
                self.store.retry_withdrawal(&claim, &reason, next).await?;
                tracing::warn!(attempt = claim.attempts, %reason, "withdrawal failed, will retry");
                return Ok(Outcome::Retry { filing_id });
            }
            Err(error) => {
                let note = match error {
                    ConnectorError::Permanent(reason) => reason,
                    ConnectorError::Transient(reason) => format!("gave up: {reason}"),
                };
                self.store
                    .settle_withdrawal(&claim, WithdrawalState::NotPossible, &note)
                    .await?;
                tracing::warn!(%note, "the target could not take the document back");
            }
        }
        tracing::info!("withdrawal settled");
        Ok(Outcome::Withdrawn { filing_id })
    }

    async fn take_back(&self, claim: &WithdrawalClaim) -> Result<Withdrawal, ConnectorError> {
        let filing = &claim.filing;
        let case = self
            .store
            .case(&filing.case_id)
            .await
            .map_err(|e| ConnectorError::Transient(e.to_string()))?
            .ok_or_else(|| ConnectorError::Permanent("the case no longer exists".into()))?;
        let connector = self.connectors.get(&case.connector).ok_or_else(|| {
            ConnectorError::Permanent(format!(
                "no connector named {:?} is configured",
                case.connector
            ))
        })?;
        if !connector.capabilities().withdraw {
            return Err(ConnectorError::Permanent(format!(
                "{} cannot take documents back; remove it there by hand",
                case.connector
            )));
        }
        let withdrawal = filing.withdrawal.clone().ok_or_else(|| {
            ConnectorError::Permanent("the filing's withdrawal record is missing".into())
        })?;
        let request = WithdrawRequest {
            idempotency_key: filing.id.clone(),
            document_id: filing.target_document_id.clone().unwrap_or_default(),
            title: filing.title.clone(),
            withdrawn_by: withdrawal.by,
            reason: withdrawal.reason,
            case,
        };
        connector.withdraw(request).await
    }
}
