//! The review queue: items the service did not file by itself, waiting for a person, who
//! claims one at a time and then files or dismisses it.

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, AuditEvent, AuditKind, SYSTEM_ACTOR};
use super::{Result, Store, StoreError, from_json, plain, to_json};
use crate::domain::{Millis, now_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Waiting,
    Claimed,
    Filed,
    Dismissed,
}

impl ReviewState {
    fn parse(s: &str) -> Option<ReviewState> {
        match s {
            "waiting" => Some(ReviewState::Waiting),
            "claimed" => Some(ReviewState::Claimed),
            "filed" => Some(ReviewState::Filed),
            "dismissed" => Some(ReviewState::Dismissed),
            _ => None,
        }
    }
}

/// One item in a review queue.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewItem {
    pub item_id: String,
    pub queue: String,
    pub mailbox: Option<String>,
    /// Why the service did not file it (a code of `autofile::Why`).
    pub why: String,
    /// The evidence it saw, as the audit log keeps it: ids and codes, never item text.
    pub details: Value,
    /// Who may take it: members of any of these groups (and admins).
    pub groups: Vec<String>,
    pub state: ReviewState,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<Millis>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub created_at: Millis,
}

impl ReviewItem {
    /// Whether a user in `groups` (an admin if `admin`) may see and take this item.
    pub fn open_to(&self, groups: &[String], admin: bool) -> bool {
        admin || self.groups.iter().any(|g| groups.contains(g))
    }
}

/// What the queue is asked to hold.
pub struct NewReview<'a> {
    pub item_id: &'a str,
    pub item_hash: &'a str,
    pub queue: &'a str,
    pub mailbox: Option<&'a str>,
    pub why: &'a str,
    pub details: Value,
    pub groups: &'a [String],
}

impl Store {
    /// Puts an item in a review queue, once: an item already queued stays as it is.
    pub async fn queue_for_review(&self, new: NewReview<'_>) -> Result<ReviewItem> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let mut details = new.details.clone();
        details["groups"] = json!(new.groups);
        let inserted = sqlx::query(
            "INSERT INTO review_items (item_id, queue, mailbox, why, details, state, created_at)
             VALUES ($1, $2, $3, $4, $5, 'waiting', $6)
             ON CONFLICT (item_id) DO NOTHING",
        )
        .bind(new.item_id)
        .bind(plain(new.queue))
        .bind(new.mailbox)
        .bind(new.why)
        .bind(to_json(&details))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            let mut event = AuditEvent::new(
                AuditKind::ReviewQueued,
                SYSTEM_ACTOR,
                json!({"queue": new.queue, "mailbox": new.mailbox, "why": new.why, "evidence": new.details}),
            );
            event.item_hash = Some(new.item_hash.to_string());
            audit::insert(&mut tx, &event).await?;
        }
        let row = sqlx::query("SELECT * FROM review_items WHERE item_id = $1")
            .bind(new.item_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        review_from_row(&row)
    }

    pub async fn review_item(&self, item_id: &str) -> Result<Option<ReviewItem>> {
        let row = sqlx::query("SELECT * FROM review_items WHERE item_id = $1")
            .bind(item_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(review_from_row).transpose()
    }

    /// The items waiting or claimed in `queue` (every queue when None), oldest first.
    pub async fn review_queue(&self, queue: Option<&str>, limit: i64) -> Result<Vec<ReviewItem>> {
        let rows = sqlx::query(
            "SELECT * FROM review_items WHERE state IN ('waiting', 'claimed')
               AND ($1 IS NULL OR queue = $1)
             ORDER BY created_at, item_id LIMIT $2",
        )
        .bind(queue)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(review_from_row).collect()
    }

    /// Counts of items waiting per queue.
    pub async fn review_backlog(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT queue, COUNT(*) AS n FROM review_items WHERE state IN ('waiting', 'claimed')
             GROUP BY queue ORDER BY queue",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("queue")?, r.try_get("n")?)))
            .collect()
    }

    /// Takes a waiting item for `user`; one person at a time. A claim older than `stale_ms`
    /// may be taken over, so an item is not stuck behind someone who went home. Returns the
    /// item as it now stands; a conflict when someone else holds it.
    pub async fn claim_review(
        &self,
        item_id: &str,
        user: &str,
        stale_ms: i64,
    ) -> Result<Option<ReviewItem>> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE review_items SET state = 'claimed', claimed_by = $2, claimed_at = $3
             WHERE item_id = $1 AND (state = 'waiting'
                OR (state = 'claimed' AND (claimed_by = $2 OR claimed_at < $4)))",
        )
        .bind(item_id)
        .bind(user)
        .bind(now)
        .bind(now - stale_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let row = sqlx::query("SELECT * FROM review_items WHERE item_id = $1")
            .bind(item_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let item = review_from_row(&row)?;
        if !updated {
            return Err(StoreError::Conflict(
                match (&item.state, &item.claimed_by) {
                    (ReviewState::Claimed, Some(other)) => format!("{other} is handling this item"),
                    _ => "this item is no longer waiting for review".into(),
                },
            ));
        }
        audit_review(
            &mut tx,
            user,
            item_id,
            json!({"change": "claimed", "queue": item.queue}),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(item))
    }

    /// Closes the review of an item that `user` has just filed (the filing named), whoever
    /// held it: a filed item waits for no one.
    pub async fn review_filed(&self, item_id: &str, user: &str, filing_id: &str) -> Result<()> {
        self.end_review(item_id, user, ReviewState::Filed, filing_id)
            .await?;
        Ok(())
    }

    /// Ends a review by dismissing it with a reason. Only the claimant may; false otherwise.
    pub async fn dismiss_review(&self, item_id: &str, user: &str, reason: &str) -> Result<bool> {
        self.end_review(item_id, user, ReviewState::Dismissed, reason)
            .await
    }

    async fn end_review(
        &self,
        item_id: &str,
        user: &str,
        state: ReviewState,
        resolution: &str,
    ) -> Result<bool> {
        let (state, open) = match state {
            ReviewState::Filed => ("filed", "state IN ('waiting', 'claimed')"),
            _ => ("dismissed", "state = 'claimed' AND claimed_by = $2"),
        };
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(&format!(
            "UPDATE review_items SET state = $3, resolved_by = $2, resolved_at = $4, resolution = $5
             WHERE item_id = $1 AND {open}"
        ))
        .bind(item_id)
        .bind(user)
        .bind(state)
        .bind(now_millis())
        .bind(plain(resolution))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if updated {
            let details = json!({"change": state, "resolution": resolution});
            audit_review(&mut tx, user, item_id, details).await?;
        }
        tx.commit().await?;
        Ok(updated)
    }
}

async fn audit_review(
    conn: &mut sqlx::AnyConnection,
    user: &str,
    item_id: &str,
    details: Value,
) -> Result<()> {
    let event = AuditEvent::new(AuditKind::ReviewChanged, user, details);
    audit::insert_about_item(conn, event, item_id).await
}

fn review_from_row(row: &AnyRow) -> Result<ReviewItem> {
    let state: String = row.try_get("state")?;
    let details: Value = from_json(
        "review_items.details",
        &row.try_get::<String, _>("details")?,
    )?;
    let groups = details
        .get("groups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(ReviewItem {
        item_id: row.try_get("item_id")?,
        queue: row.try_get("queue")?,
        mailbox: row.try_get("mailbox")?,
        why: row.try_get("why")?,
        details,
        groups,
        state: ReviewState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("review state {state:?}")))?,
        claimed_by: row.try_get("claimed_by")?,
        claimed_at: row.try_get("claimed_at")?,
        resolved_by: row.try_get("resolved_by")?,
        resolution: row.try_get("resolution")?,
        created_at: row.try_get("created_at")?,
    })
}
