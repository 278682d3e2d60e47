//! Cases being created in their target: the outbox rows the creation worker claims and settles.

use sqlx::Row;
use sqlx::any::AnyRow;

use serde_json::json;

use super::audit::{AuditEvent, AuditKind, SYSTEM_ACTOR, insert, insert_about_item};
use super::cases::write_case;
use super::{Result, Store, StoreError, plain};
use crate::domain::Millis;
use crate::domain::case::Case;
use crate::domain::identifiers::redact_cpr;
use crate::domain::now_millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CreationState {
    /// Accepted, not yet confirmed by the target.
    Queued,
    /// The target holds the case.
    Created,
    /// The target refused it, or every attempt failed.
    Failed,
}

impl CreationState {
    fn as_str(self) -> &'static str {
        match self {
            CreationState::Queued => "queued",
            CreationState::Created => "created",
            CreationState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<CreationState> {
        [
            CreationState::Queued,
            CreationState::Created,
            CreationState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    /// The case's id, in the store and in the target.
    pub id: String,
    pub connector: String,
    pub created_by: String,
    pub state: CreationState,
    pub attempts: i64,
    pub lease_until: Option<Millis>,
    pub last_error: Option<String>,
}

fn creation_from(row: &AnyRow) -> Result<Creation> {
    let state: String = row.try_get("state")?;
    Ok(Creation {
        id: row.try_get("id")?,
        connector: row.try_get("connector")?,
        created_by: row.try_get("created_by")?,
        state: CreationState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("case_creations.state: {state:?}")))?,
        attempts: row.try_get("attempts")?,
        lease_until: row.try_get("lease_until")?,
        last_error: row.try_get("last_error")?,
    })
}

/// The key a requester's `create_key` is kept under: one user's key never meets another's.
fn scoped(user: &str, create_key: &str) -> String {
    format!("{user}\n{create_key}")
}

impl Store {
    /// Records `case` and its creation in one transaction, unless `user` already asked with
    /// `create_key`: then the creation asked for first comes back, and `false`.
    pub async fn accept_case_creation(
        &self,
        case: &Case,
        user: &str,
        create_key: &str,
    ) -> Result<(Creation, bool)> {
        let now = now_millis();
        let key = plain(&scoped(user, create_key));
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO case_creations (id, create_key, connector, created_by, state, next_attempt_at,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'queued', $5, $5, $5)
             ON CONFLICT (create_key) DO NOTHING RETURNING *",
        )
        .bind(&case.id)
        .bind(&key)
        .bind(&case.connector)
        .bind(plain(user))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            tx.rollback().await?;
            let row = sqlx::query("SELECT * FROM case_creations WHERE create_key = $1")
                .bind(&key)
                .fetch_one(&self.pool)
                .await?;
            return Ok((creation_from(&row)?, false));
        };
        write_case(&mut tx, case).await?;
        let mut ordered = AuditEvent::new(
            AuditKind::CaseOrdered,
            user,
            json!({"connector": case.connector, "kle": case.kle, "facet": case.facet}),
        );
        ordered.case_id = Some(case.id.clone());
        insert(&mut tx, &ordered).await?;
        tx.commit().await?;
        Ok((creation_from(&row)?, true))
    }

    pub async fn case_creation(&self, id: &str) -> Result<Option<Creation>> {
        sqlx::query("SELECT * FROM case_creations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(creation_from)
            .transpose()
    }

    /// The id of the case ordered here that its target made under `number`: the target's
    /// own listing of it names it by an id of its own.
    pub async fn created_case_numbered(
        &self,
        connector: &str,
        number: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM cases c JOIN case_creations k ON k.id = c.id
             WHERE c.connector = $1 AND c.number = $2 AND k.state = 'created'
             ORDER BY c.id LIMIT 1",
        )
        .bind(connector)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Claims the creation due first for `lease_ms`, counting the attempt.
    pub async fn claim_due_creation(&self, now: Millis, lease_ms: i64) -> Result<Option<Creation>> {
        let sql = format!(
            "UPDATE case_creations SET lease_until = $1, attempts = attempts + 1, updated_at = $2
             WHERE id = (SELECT c.id FROM case_creations c
                         WHERE c.state = 'queued' AND c.next_attempt_at <= $2
                           AND (c.lease_until IS NULL OR c.lease_until < $2)
                         ORDER BY c.next_attempt_at LIMIT 1 {})
               AND state = 'queued' AND (lease_until IS NULL OR lease_until < $2)
             RETURNING *",
            self.pass_over_claimed()
        );
        sqlx::query(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(creation_from)
            .transpose()
    }

    /// The target holds the case under `number`: the claim is settled and the case takes
    /// the number. Nothing changes for a claim no longer the creation's latest.
    pub async fn mark_case_created(&self, claimed: &Creation, number: &str) -> Result<bool> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let settled = sqlx::query(
            "UPDATE case_creations SET state = 'created', lease_until = NULL, next_attempt_at = NULL,
                last_error = NULL, updated_at = $2
             WHERE id = $1 AND state = 'queued' AND lease_until = $3",
        )
        .bind(&claimed.id)
        .bind(now)
        .bind(claimed.lease_until)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if settled == 1 {
            sqlx::query("UPDATE cases SET number = $2, updated_at = $3 WHERE id = $1")
                .bind(&claimed.id)
                .bind(plain(number))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let mut created = AuditEvent::new(
                AuditKind::CaseCreated,
                SYSTEM_ACTOR,
                json!({"connector": claimed.connector, "number": number, "attempts": claimed.attempts}),
            );
            created.case_id = Some(claimed.id.clone());
            insert(&mut tx, &created).await?;
        }
        tx.commit().await?;
        Ok(settled == 1)
    }

    /// A failed attempt: tried again at `retry_at`, or with `None` failed for good, and then
    /// the case is closed and the filings waiting for it fail with the same reason.
    pub async fn mark_creation_failed(
        &self,
        claimed: &Creation,
        error: &str,
        retry_at: Option<Millis>,
    ) -> Result<()> {
        let now = now_millis();
        let state = match retry_at {
            Some(_) => CreationState::Queued,
            None => CreationState::Failed,
        };
        let mut tx = self.pool.begin().await?;
        let settled = sqlx::query(
            "UPDATE case_creations SET state = $2, lease_until = NULL, next_attempt_at = $3,
                last_error = $4, updated_at = $5
             WHERE id = $1 AND state = 'queued' AND lease_until = $6",
        )
        .bind(&claimed.id)
        .bind(state.as_str())
        .bind(retry_at)
        .bind(plain(error))
        .bind(now)
        .bind(claimed.lease_until)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if settled == 1 && state == CreationState::Failed {
            sqlx::query("UPDATE cases SET status = 'closed', updated_at = $2 WHERE id = $1")
                .bind(&claimed.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let mut failed = AuditEvent::new(
                AuditKind::CaseCreationFailed,
                SYSTEM_ACTOR,
                json!({"connector": claimed.connector, "reason": redact_cpr(error), "attempts": claimed.attempts}),
            );
            failed.case_id = Some(claimed.id.clone());
            insert(&mut tx, &failed).await?;
            let waiting = sqlx::query(
                "SELECT id, item_id FROM filings WHERE case_id = $1 AND state = 'queued' ORDER BY id",
            )
            .bind(&claimed.id)
            .fetch_all(&mut *tx)
            .await?;
            for filing in &waiting {
                let mut event = AuditEvent::new(
                    AuditKind::FilingFailed,
                    SYSTEM_ACTOR,
                    json!({"attempt": 0, "reason": redact_cpr(&format!("the case could not be created: {error}"))}),
                );
                event.case_id = Some(claimed.id.clone());
                event.filing_id = Some(filing.try_get("id")?);
                let item: String = filing.try_get("item_id")?;
                insert_about_item(&mut tx, event, &item).await?;
            }
            sqlx::query(
                "UPDATE filings SET state = 'failed', lease_until = NULL, next_attempt_at = NULL,
                    last_error = $2, updated_at = $3
                 WHERE case_id = $1 AND state = 'queued'",
            )
            .bind(&claimed.id)
            .bind(plain(&format!("the case could not be created: {error}")))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
