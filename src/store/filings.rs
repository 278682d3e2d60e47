//! The filing outbox: accepted filings, claimed and settled by the delivery worker.

use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::audit::{self, AuditEvent, AuditKind, SYSTEM_ACTOR};
use super::{Result, Store, StoreError, from_json, plain, to_json};
use crate::domain::filing::{
    AttachmentChoice, Decision, Filing, FilingState, Withdrawal, WithdrawalState,
};
use crate::domain::identifiers::redact_cpr;
use crate::domain::{Millis, new_id, now_millis};

pub struct NewFiling<'a> {
    pub item_id: &'a str,
    pub case_id: &'a str,
    /// Identifies "the same thing on the same case": a second filing with the same key returns
    /// the first one.
    pub dedupe_key: String,
    pub title: &'a str,
    pub attachments: &'a [AttachmentChoice],
    pub created_by: &'a str,
}

/// The dedupe key of a filing on `case_id` of the mail with `message_id`, or else of the
/// content with this hash.
pub fn dedupe_key(case_id: &str, message_id: Option<&str>, sha256: &str) -> String {
    match message_id {
        Some(message_id) => format!("{case_id}\nmessage-id:{message_id}"),
        None => format!("{case_id}\nsha256:{sha256}"),
    }
}

/// What a filing may carry beyond `NewFiling`.
#[derive(Debug, Clone, Default)]
pub struct FilingOptions {
    pub decision: Decision,
    /// The target's id of a document filed earlier on the same case, of which this filing is
    /// a new version; its number is counted in the same statement that inserts it.
    pub version_of: Option<String>,
}

pub struct FilingCreated {
    pub filing: Filing,
    /// False when an earlier filing with the same dedupe key was returned instead.
    pub created: bool,
}

impl Store {
    /// Commits a filing to the outbox together with the feedback it carries (which suggestions
    /// the user was shown and which case they chose, or the rule that chose), or returns the
    /// earlier filing of the same thing on the same case. Either way the audit log records it
    /// in the same transaction. A new version is numbered in the same statement.
    pub async fn create_filing_with(
        &self,
        new: NewFiling<'_>,
        options: &FilingOptions,
    ) -> Result<FilingCreated> {
        let now = now_millis();
        let id = new_id();
        // New versions of one document are numbered one at a time, so that two saved at the
        // same moment on two connections get two numbers rather than one and a conflict.
        let mut tx = match &options.version_of {
            Some(document) => {
                self.begin_serialised(version_lock(new.case_id, document))
                    .await?
            }
            None => self.pool.begin().await?,
        };
        let inserted = sqlx::query(
            "INSERT INTO filings (id, item_id, case_id, dedupe_key, title, attachments, state,
                attempts, next_attempt_at, created_by, created_at, updated_at, version_of, version,
                decision)
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $7, $7, $9,
                CASE WHEN $9 IS NULL THEN 1 ELSE
                    (SELECT COALESCE(MAX(version), 1) + 1 FROM filings
                     WHERE case_id = $3 AND state <> 'failed' AND withdrawn_at IS NULL
                       AND (target_document_id = $9 OR version_of = $9)) END,
                $10)
             ON CONFLICT (dedupe_key) WHERE state <> 'failed' AND withdrawn_at IS NULL DO NOTHING",
        )
        .bind(&id)
        .bind(new.item_id)
        .bind(new.case_id)
        .bind(&new.dedupe_key)
        .bind(plain(new.title))
        .bind(to_json(&new.attachments))
        .bind(now)
        .bind(new.created_by)
        .bind(options.version_of.as_deref())
        .bind(match &options.decision {
            Decision::Manual => None,
            Decision::Automatic { decision, .. } => Some(to_json(decision)),
        })
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(
                "another live filing already has this version number of the document".into(),
            ),
            other => other.into(),
        })?
        .rows_affected()
            == 1;
        let shown = sqlx::query(
            "SELECT case_ids, top_confidence_ppm, features FROM suggestions_shown
             WHERE item_id = $1 AND user_id = $2",
        )
        .bind(new.item_id)
        .bind(new.created_by)
        .fetch_optional(&mut *tx)
        .await?;
        let (shown, top_confidence, features): (String, Option<i64>, Option<String>) = match shown {
            Some(row) => (
                row.try_get("case_ids")?,
                row.try_get("top_confidence_ppm")?,
                row.try_get("features")?,
            ),
            None => ("[]".into(), None, None),
        };
        let shown_ids: Vec<String> = from_json("suggestions_shown.case_ids", &shown)?;
        let rank = shown_ids
            .iter()
            .position(|c| c == new.case_id)
            .map(|p| p as i64 + 1);
        if inserted {
            sqlx::query(
                "INSERT INTO feedback (filing_id, item_id, user_id, chosen_case_id, chosen_rank, shown_case_ids, created_at, top_confidence_ppm, shown_features)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(new.item_id)
            .bind(new.created_by)
            .bind(new.case_id)
            .bind(rank)
            .bind(&shown)
            .bind(now)
            .bind(top_confidence)
            .bind(features)
            .execute(&mut *tx)
            .await?;
        }
        let row = sqlx::query(
            "SELECT * FROM filings WHERE dedupe_key = $1 AND state <> 'failed' AND withdrawn_at IS NULL",
        )
            .bind(&new.dedupe_key)
            .fetch_one(&mut *tx)
            .await?;
        let filing = filing_from_row(&row)?;
        let kind = if inserted {
            AuditKind::FilingAccepted
        } else {
            AuditKind::FilingDuplicate
        };
        let shown_ranked: Vec<Value> = shown_ids
            .iter()
            .zip(1..)
            .map(|(case_id, rank)| json!({"case_id": case_id, "rank": rank}))
            .collect();
        let mut details = json!({
            "decision": options.decision.as_str(),
            "suggestions_shown": shown_ranked,
            "chosen_rank": rank,
            "result": filing.state,
        });
        if let Decision::Automatic {
            decision,
            details: evidence,
        } = &options.decision
        {
            details["automatic"] = json!(decision);
            details["evidence"] = evidence.clone();
        }
        if let Some(version_of) = &filing.version_of {
            details["version_of"] = json!(version_of);
            details["version"] = json!(filing.version);
        }
        // A duplicate names the item this user tried to file, which may not be the filed one.
        audit_filing(&mut tx, kind, new.created_by, &filing, new.item_id, details).await?;
        tx.commit().await?;
        Ok(FilingCreated {
            filing,
            created: inserted,
        })
    }

    pub async fn filing(&self, id: &str) -> Result<Option<Filing>> {
        let row = sqlx::query("SELECT * FROM filings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(filing_from_row).transpose()
    }

    /// Filings, newest first, optionally only those in `state`.
    pub async fn filings(&self, state: Option<FilingState>, limit: i64) -> Result<Vec<Filing>> {
        let rows = sqlx::query(
            "SELECT * FROM filings WHERE ($1 IS NULL OR state = $1) ORDER BY created_at DESC LIMIT $2",
        )
        .bind(state.map(FilingState::as_str))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(filing_from_row).collect()
    }

    /// Every filing of an item, failed ones included, oldest first.
    pub async fn filings_of_item(&self, item_id: &str) -> Result<Vec<Filing>> {
        let rows = sqlx::query("SELECT * FROM filings WHERE item_id = $1 ORDER BY created_at")
            .bind(item_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(filing_from_row).collect()
    }

    /// `(message_id, case_id)` for every accepted filing of a mail whose Message-ID is in `ids`.
    pub async fn cases_of_messages(&self, ids: &[String]) -> Result<Vec<(String, String)>> {
        self.rows_in(
            "SELECT DISTINCT i.message_id, f.case_id FROM filings f JOIN items i ON i.id = f.item_id
             WHERE i.message_id IN ({values}) AND f.state <> 'failed' AND f.withdrawn_at IS NULL",
            &[],
            ids,
        )
        .await?
        .iter()
        .map(|row| Ok((row.try_get("message_id")?, row.try_get("case_id")?)))
        .collect()
    }

    /// The cases on which a mail of Outlook's conversation `conversation` is filed (and not
    /// withdrawn).
    pub async fn cases_of_conversation(&self, conversation: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT f.case_id FROM filings f JOIN items i ON i.id = f.item_id
             WHERE i.conversation = $1 AND f.state <> 'failed' AND f.withdrawn_at IS NULL",
        )
        .bind(conversation)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Number of filings that have not failed, for comparing the store with the index.
    pub async fn count_live_filings(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM filings WHERE state <> 'failed' AND withdrawn_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Puts a failed filing back in the queue with a fresh retry budget, recording that `admin`
    /// did. `None` if there is no failed filing with that id; an error if the same thing was
    /// filed again meanwhile.
    pub async fn requeue_failed(&self, id: &str, admin: &str) -> Result<Option<Filing>> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE filings SET state = 'queued', attempts = 0, next_attempt_at = $2, lease_until = NULL,
                updated_at = $2
             WHERE id = $1 AND state = 'failed'
             RETURNING *",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict("the same item was filed on the case again since this filing failed".into())
            }
            other => other.into(),
        })?;
        let Some(row) = row else { return Ok(None) };
        let filing = filing_from_row(&row)?;
        let details = json!({"previous_error": filing.last_error.as_deref().map(redact_cpr)});
        audit_filing(
            &mut tx,
            AuditKind::FilingRequeued,
            admin,
            &filing,
            &filing.item_id,
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(filing))
    }

    /// Reserves the next due filing for one delivery attempt. The lease keeps other workers
    /// away; if this worker dies, the lease runs out and the filing is claimed again.
    ///
    /// Only the oldest queued filing of each case can be claimed, and none while another of
    /// the case is in flight (a requeued older filing waits for a newer one under way), so a
    /// case's documents reach the target in the order they were accepted, never two at once.
    /// A failed filing no longer holds its case up; one waiting to be retried does, for as long
    /// as its retry budget lasts. A withdrawn filing is delivered only if a delivery was tried
    /// already, since the target may hold it then; the withdrawal takes it back once filed.
    pub async fn claim_due_filing(&self, now: Millis, lease_ms: i64) -> Result<Option<Filing>> {
        let pass_over_claimed = self.pass_over_claimed();
        let sql = format!(
            "UPDATE filings SET lease_until = $1, attempts = attempts + 1, updated_at = $2
             WHERE id = (SELECT f.id FROM filings f
                         WHERE f.state = 'queued' AND f.next_attempt_at <= $2
                           AND (f.withdrawn_at IS NULL OR f.attempts > 0)
                           AND (f.lease_until IS NULL OR f.lease_until < $2)
                           AND NOT EXISTS (
                               SELECT 1 FROM case_creations cc
                               WHERE cc.id = f.case_id AND cc.state = 'queued')
                           AND NOT EXISTS (
                               SELECT 1 FROM filings e
                               WHERE e.case_id = f.case_id AND e.state = 'queued' AND e.id <> f.id
                                 AND (e.withdrawn_at IS NULL OR e.attempts > 0)
                                 AND (e.created_at < f.created_at
                                      OR (e.created_at = f.created_at AND e.id < f.id)
                                      OR e.lease_until >= $2))
                         ORDER BY f.next_attempt_at, f.created_at LIMIT 1 {pass_over_claimed})
               AND state = 'queued' AND (withdrawn_at IS NULL OR attempts > 0)
               AND (lease_until IS NULL OR lease_until < $2)
             RETURNING *"
        );
        let row = sqlx::query(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(filing_from_row).transpose()
    }

    // The delivery worker's outcomes below settle one claim (`claimed`, as returned by
    // `claim_due_filing`, whose lease time identifies it). They are recorded as the system's
    // doing, and only while that claim is still the filing's latest: a report for a filing
    // settled meanwhile, or claimed again after this worker's lease ran out (even after a
    // failure and an admin's requeue in between), changes and records nothing.

    /// Marks a filing delivered. `confirmed` is false when the target only took it in without
    /// confirming it is filed; the audit log records which.
    pub async fn mark_filed(
        &self,
        claimed: &Filing,
        target_document_id: &str,
        confirmed: bool,
    ) -> Result<()> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE filings SET state = 'filed', target_document_id = $2, filed_at = $3, updated_at = $3,
                lease_until = NULL, next_attempt_at = NULL, last_error = NULL, confirmed = $4
             WHERE id = $1 AND state = 'queued' AND lease_until = $5
             RETURNING *",
        )
        .bind(&claimed.id)
        .bind(target_document_id)
        .bind(now)
        .bind(i64::from(confirmed))
        .bind(claimed.lease_until)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            let filing = filing_from_row(&row)?;
            let details = json!({
                "attempt": filing.attempts,
                "target_document_id": target_document_id,
                "confirmed": confirmed,
            });
            audit_worker(&mut tx, AuditKind::FilingDelivered, &filing, details).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn schedule_retry(
        &self,
        claimed: &Filing,
        error: &str,
        next_attempt_at: Millis,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE filings SET last_error = $2, next_attempt_at = $3, lease_until = NULL, updated_at = $4
             WHERE id = $1 AND state = 'queued' AND lease_until = $5
             RETURNING *",
        )
        .bind(&claimed.id)
        .bind(plain(error))
        .bind(next_attempt_at)
        .bind(now_millis())
        .bind(claimed.lease_until)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            let filing = filing_from_row(&row)?;
            let next = chrono::DateTime::from_timestamp_millis(next_attempt_at)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            let details = json!({
                "attempt": filing.attempts,
                "reason": redact_cpr(error),
                "next_attempt_at": next,
            });
            audit_worker(&mut tx, AuditKind::FilingRetryScheduled, &filing, details).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn mark_failed(&self, claimed: &Filing, error: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE filings SET state = 'failed', last_error = $2, next_attempt_at = NULL, lease_until = NULL,
                updated_at = $3,
                withdrawal_note = CASE WHEN withdrawal = 'pending' THEN 'never reached the target'
                                       ELSE withdrawal_note END,
                withdrawal = CASE WHEN withdrawal = 'pending' THEN 'done' ELSE withdrawal END
             WHERE id = $1 AND state = 'queued' AND lease_until = $4
             RETURNING *",
        )
        .bind(&claimed.id)
        .bind(plain(error))
        .bind(now_millis())
        .bind(claimed.lease_until)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            let filing = filing_from_row(&row)?;
            let details = json!({"attempt": filing.attempts, "reason": redact_cpr(error)});
            audit_worker(&mut tx, AuditKind::FilingFailed, &filing, details).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Number of filings in each state, for metrics.
    /// When the longest-waiting queued filing was accepted; none when nothing is queued.
    pub async fn oldest_queued_filing(&self) -> Result<Option<Millis>> {
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT MIN(created_at) FROM filings WHERE state = 'queued'")
                .fetch_one(&self.pool)
                .await?;
        Ok(oldest)
    }

    pub async fn count_filings_by_state(&self) -> Result<Vec<(FilingState, i64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM filings GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                let state = FilingState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("filing state {state}")))?;
                Ok((state, r.try_get("n")?))
            })
            .collect()
    }
}

/// The advisory lock under which new versions of `document` on `case_id` are numbered: a
/// stable hash (FNV-1a) of the two, in the key space the store's other locks share.
fn version_lock(case_id: &str, document: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in case_id.bytes().chain([0]).chain(document.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Records a change to `filing` in the transaction that makes it, so the two commit together.
/// The event names the item `item_id` by its hash.
pub(super) async fn audit_filing(
    conn: &mut AnyConnection,
    kind: AuditKind,
    actor: &str,
    filing: &Filing,
    item_id: &str,
    details: Value,
) -> Result<()> {
    let mut event = AuditEvent::new(kind, actor, details);
    event.case_id = Some(filing.case_id.clone());
    event.filing_id = Some(filing.id.clone());
    audit::insert_about_item(conn, event, item_id).await
}

async fn audit_worker(
    conn: &mut AnyConnection,
    kind: AuditKind,
    filing: &Filing,
    details: Value,
) -> Result<()> {
    audit_filing(conn, kind, SYSTEM_ACTOR, filing, &filing.item_id, details).await
}

pub(super) fn filing_from_row(row: &AnyRow) -> Result<Filing> {
    let state: String = row.try_get("state")?;
    let attachments: Vec<AttachmentChoice> =
        from_json("filings.attachments", row.try_get("attachments")?)?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Filing {
        id: row.try_get("id")?,
        item_id: row.try_get("item_id")?,
        case_id: row.try_get("case_id")?,
        title: row.try_get("title")?,
        attachments,
        state: FilingState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("filing state {state}")))?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: row.try_get("next_attempt_at")?,
        lease_until: row.try_get("lease_until")?,
        last_error: row.try_get("last_error")?,
        target_document_id: row.try_get("target_document_id")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        filed_at: row.try_get("filed_at")?,
        confirmed: row.try_get::<i64, _>("confirmed")? != 0,
        version_of: row.try_get("version_of")?,
        version: u32::try_from(row.try_get::<i64, _>("version")?).unwrap_or(u32::MAX),
        automatic: row
            .try_get::<Option<String>, _>("decision")?
            .map(|json| from_json("filings.decision", &json))
            .transpose()?,
        withdrawal: withdrawal_from_row(row)?,
    })
}

fn withdrawal_from_row(row: &AnyRow) -> Result<Option<Withdrawal>> {
    let Some(at) = row.try_get::<Option<i64>, _>("withdrawn_at")? else {
        return Ok(None);
    };
    let state: String = row
        .try_get::<Option<String>, _>("withdrawal")?
        .unwrap_or_default();
    Ok(Some(Withdrawal {
        at,
        by: row
            .try_get::<Option<String>, _>("withdrawn_by")?
            .unwrap_or_default(),
        reason: row
            .try_get::<Option<String>, _>("withdraw_reason")?
            .unwrap_or_default(),
        state: WithdrawalState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("withdrawal state {state:?}")))?,
        note: row.try_get("withdrawal_note")?,
        moved_to: row.try_get("moved_to")?,
    }))
}

impl Store {
    /// Each case's first filed document (the item of its earliest filing not failed or
    /// withdrawn), by case id.
    pub async fn first_filed_items(&self) -> Result<std::collections::HashMap<String, String>> {
        let rows = sqlx::query(
            "SELECT case_id, item_id FROM filings
             WHERE state <> 'failed' AND withdrawn_at IS NULL
             ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut first = std::collections::HashMap::new();
        for row in rows {
            // Rows come newest first, so the last one kept for a case is its first.
            first.insert(row.try_get("case_id")?, row.try_get("item_id")?);
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{IN_LIST_MAX, test_store};

    async fn case(store: &Store, id: &str) {
        sqlx::query(
            "INSERT INTO cases (id, connector, number, title, status, search_text, updated_at)
             VALUES ($1, 'archive', $1, 'Sag', 'open', '', 0)",
        )
        .bind(id)
        .execute(&store.pool)
        .await
        .unwrap();
    }

    /// Files a new item on `case_id` and returns the filing's id.
    async fn queue(store: &Store, case_id: &str, name: &str) -> String {
        let item = new_id();
        sqlx::query(
            "INSERT INTO items (id, owner, kind, content_type, sha256, size, extracted, original, created_at)
             VALUES ($1, 'anna', 'document', 'text/plain', $2, 0, '{}', x'', 0)",
        )
        .bind(&item)
        .bind(name)
        .execute(&store.pool)
        .await
        .unwrap();
        store
            .create_filing_with(
                NewFiling {
                    item_id: &item,
                    case_id,
                    dedupe_key: format!("{case_id}\n{name}"),
                    title: name,
                    attachments: &[],
                    created_by: "anna",
                },
                &FilingOptions::default(),
            )
            .await
            .unwrap()
            .filing
            .id
    }

    /// A case as the API accepts one for creation.
    fn store_case(id: &str) -> crate::domain::case::Case {
        crate::domain::case::Case {
            id: id.into(),
            connector: "archive".into(),
            number: id.into(),
            title: "Ny sag".into(),
            kle: None,
            facet: None,
            status: crate::domain::case::CaseStatus::Open,
            parties: vec![],
            groups: vec![],
            opened: None,
        }
    }

    async fn claim(store: &Store) -> Option<Filing> {
        store.claim_due_filing(now_millis(), 60_000).await.unwrap()
    }

    #[tokio::test]
    async fn a_case_delivers_one_filing_at_a_time_in_the_order_accepted() {
        let store = test_store().await;
        case(&store, "A").await;
        case(&store, "B").await;
        let a1 = queue(&store, "A", "a1").await;
        let a2 = queue(&store, "A", "a2").await;
        let b1 = queue(&store, "B", "b1").await;

        let first = claim(&store).await.unwrap();
        assert_eq!(first.id, a1);
        // a2 waits behind a1, which is in flight; B's filing may go meanwhile.
        let second = claim(&store).await.unwrap();
        assert_eq!(second.id, b1);
        assert!(claim(&store).await.is_none());

        // a1 must be retried later: a2 still waits for it.
        store
            .schedule_retry(&first, "nede", now_millis())
            .await
            .unwrap();
        let again = claim(&store).await.unwrap();
        assert_eq!(again.id, a1);
        store.mark_filed(&again, "doc-1", true).await.unwrap();
        assert_eq!(claim(&store).await.unwrap().id, a2);
    }

    #[tokio::test]
    async fn the_cases_of_many_messages_are_found_in_one_go() {
        let store = test_store().await;
        case(&store, "A").await;
        case(&store, "B").await;
        let mut asked = Vec::new();
        for i in 0..IN_LIST_MAX + 2 {
            let case_id = if i % 2 == 0 { "A" } else { "B" };
            let filing = queue(&store, case_id, &format!("m{i}")).await;
            let message_id = format!("<{i}@mail.example>");
            sqlx::query(
                "UPDATE items SET message_id = $1 WHERE id = (SELECT item_id FROM filings WHERE id = $2)",
            )
            .bind(&message_id)
            .bind(&filing)
            .execute(&store.pool)
            .await
            .unwrap();
            asked.push(message_id);
        }
        let failed = claim(&store).await.unwrap();
        store.mark_failed(&failed, "afvist").await.unwrap();
        asked.push("<unknown@mail.example>".into());

        let mut found = store.cases_of_messages(&asked).await.unwrap();
        found.sort();
        assert_eq!(
            found.len(),
            IN_LIST_MAX + 1,
            "all but the failed filing's mail"
        );
        assert!(!found.iter().any(|(m, _)| m == "<0@mail.example>"));
        assert!(found.contains(&("<1@mail.example>".to_string(), "B".to_string())));
        assert!(found.contains(&("<2@mail.example>".to_string(), "A".to_string())));
        assert!(store.cases_of_messages(&[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_failed_filing_no_longer_holds_its_case_up() {
        let store = test_store().await;
        case(&store, "A").await;
        let a1 = queue(&store, "A", "a1").await;
        let a2 = queue(&store, "A", "a2").await;
        let first = claim(&store).await.unwrap();
        assert_eq!(first.id, a1);
        store.mark_failed(&first, "afvist").await.unwrap();
        assert_eq!(claim(&store).await.unwrap().id, a2);
    }

    #[tokio::test]
    async fn a_filing_on_a_case_being_created_waits_until_the_target_has_it() {
        let store = test_store().await;
        let new_case = store_case("NS-1");
        let (creation, _) = store
            .accept_case_creation(&new_case, "anna", "k")
            .await
            .unwrap();
        let filing = queue(&store, "NS-1", "n1").await;
        assert!(
            claim(&store).await.is_none(),
            "a filing waits while its case is being created"
        );
        let claimed = store
            .claim_due_creation(now_millis(), 60_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.id, creation.id);
        assert!(store.mark_case_created(&claimed, "2026-17").await.unwrap());
        assert_eq!(claim(&store).await.unwrap().id, filing);
        assert_eq!(store.case("NS-1").await.unwrap().unwrap().number, "2026-17");
    }

    #[tokio::test]
    async fn a_filing_on_a_case_that_could_not_be_created_fails_with_it() {
        let store = test_store().await;
        let new_case = store_case("NS-2");
        store
            .accept_case_creation(&new_case, "anna", "k")
            .await
            .unwrap();
        let filing = queue(&store, "NS-2", "n2").await;
        let claimed = store
            .claim_due_creation(now_millis(), 60_000)
            .await
            .unwrap()
            .unwrap();
        store
            .mark_creation_failed(&claimed, "refused", None)
            .await
            .unwrap();
        let failed = store.filing(&filing).await.unwrap().unwrap();
        assert_eq!(failed.state, FilingState::Failed);
        assert_eq!(
            store.case("NS-2").await.unwrap().unwrap().status,
            crate::domain::case::CaseStatus::Closed
        );
    }

    #[tokio::test]
    async fn a_claim_whose_lease_ran_out_cannot_settle_the_filing() {
        let store = test_store().await;
        case(&store, "A").await;
        let id = queue(&store, "A", "a1").await;
        // A lease of zero runs out at once, as when a worker stalls past its lease.
        let stale = store
            .claim_due_filing(now_millis(), 0)
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let current = claim(&store).await.unwrap();
        assert_eq!(current.id, id);
        assert_eq!(current.attempts, stale.attempts + 1);

        store.mark_failed(&stale, "for sent").await.unwrap();
        store.mark_filed(&stale, "doc-stale", true).await.unwrap();
        let unchanged = store.filing(&id).await.unwrap().unwrap();
        assert_eq!(unchanged.state, FilingState::Queued);
        assert_eq!(unchanged.target_document_id, None);

        store.mark_filed(&current, "doc-1", true).await.unwrap();
        let filed = store.filing(&id).await.unwrap().unwrap();
        assert_eq!(filed.state, FilingState::Filed);
        assert_eq!(filed.target_document_id.as_deref(), Some("doc-1"));
    }

    #[tokio::test]
    async fn a_requeued_filing_waits_for_a_newer_one_in_flight() {
        let store = test_store().await;
        case(&store, "A").await;
        let a1 = queue(&store, "A", "a1").await;
        let a2 = queue(&store, "A", "a2").await;
        let first = claim(&store).await.unwrap();
        store.mark_failed(&first, "afvist").await.unwrap();
        let second = claim(&store).await.unwrap();
        assert_eq!(second.id, a2);

        store.requeue_failed(&a1, "root").await.unwrap().unwrap();
        assert!(
            claim(&store).await.is_none(),
            "a1 must not go while a2 is being delivered"
        );
        store.mark_filed(&second, "doc-2", true).await.unwrap();
        assert_eq!(claim(&store).await.unwrap().id, a1);
    }

    #[tokio::test]
    async fn a_stalled_claim_cannot_settle_the_claim_after_a_requeue() {
        let store = test_store().await;
        case(&store, "A").await;
        let id = queue(&store, "A", "a1").await;
        // Claimed, then stalled past its lease; meanwhile another worker fails it, an admin
        // requeues it and it is claimed again: with the same attempt number as the stalled one.
        let stalled = store
            .claim_due_filing(now_millis(), 0)
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let other = claim(&store).await.unwrap();
        store.mark_failed(&other, "afvist").await.unwrap();
        store.requeue_failed(&id, "root").await.unwrap().unwrap();
        let current = claim(&store).await.unwrap();
        assert_eq!(current.attempts, stalled.attempts);

        store.mark_filed(&stalled, "doc-stale", true).await.unwrap();
        let unchanged = store.filing(&id).await.unwrap().unwrap();
        assert_eq!(unchanged.state, FilingState::Queued);
        store.mark_filed(&current, "doc-1", true).await.unwrap();
        let filed = store.filing(&id).await.unwrap().unwrap();
        assert_eq!(filed.target_document_id.as_deref(), Some("doc-1"));
    }

    #[tokio::test]
    async fn two_live_filings_are_never_the_same_version_of_a_document() {
        let store = test_store().await;
        case(&store, "A").await;
        let version = async |name: &str| {
            let item = new_id();
            sqlx::query(
                "INSERT INTO items (id, owner, kind, content_type, sha256, size, extracted, original, created_at)
                 VALUES ($1, 'anna', 'document', 'text/plain', $2, 0, '{}', x'', 0)",
            )
            .bind(&item)
            .bind(name)
            .execute(&store.pool)
            .await
            .unwrap();
            let options = FilingOptions {
                version_of: Some("doc-1".into()),
                ..FilingOptions::default()
            };
            let new = NewFiling {
                item_id: &item,
                case_id: "A",
                dedupe_key: format!("A\n{name}"),
                title: name,
                attachments: &[],
                created_by: "anna",
            };
            store
                .create_filing_with(new, &options)
                .await
                .unwrap()
                .filing
        };
        let first = version("v-a").await;
        assert_eq!(first.version, 2);
        sqlx::query("UPDATE filings SET state = 'failed' WHERE id = $1")
            .bind(&first.id)
            .execute(&store.pool)
            .await
            .unwrap();
        // The failed one's number is given out again; bringing it back would make two.
        assert_eq!(version("v-b").await.version, 2);
        let requeued = store.requeue_failed(&first.id, "admin").await;
        assert!(
            matches!(requeued, Err(StoreError::Conflict(_))),
            "{requeued:?}"
        );
    }
}
