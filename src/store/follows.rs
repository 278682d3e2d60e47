//! Threads a caseworker follows: later mails of a filed mail's conversation in their own
//! mailbox go on the same case without a click, until they stop it or the case closes.
//! Starting and ending one is written with its audit row in one transaction.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::insert;
use super::{AuditEvent, AuditKind, Result, Store};
use crate::auth::User;
use crate::domain::{Millis, new_id, now_millis};

/// One followed thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadFollow {
    pub id: String,
    pub filing_id: String,
    pub case_id: String,
    /// Who asked, with the groups they had then: the mails are theirs and filed as theirs.
    pub user: User,
    /// The filed mail's Message-ID.
    pub message_id: String,
    /// Graph's conversationId in the user's mailbox, once found.
    pub conversation_id: Option<String>,
    pub since: Millis,
    pub ended_at: Option<Millis>,
    pub ended_why: Option<String>,
}

/// What a follow is asked for.
pub struct NewFollow<'a> {
    pub filing_id: &'a str,
    pub case_id: &'a str,
    pub item_hash: &'a str,
    pub message_id: &'a str,
    pub user: &'a User,
}

const COLUMNS: &str = "id, filing_id, case_id, user_id, user_name, user_groups, message_id, \
                       conversation_id, since, ended_at, ended_why";

fn follow_of(row: &AnyRow) -> Result<ThreadFollow> {
    let groups: String = row.try_get("user_groups")?;
    Ok(ThreadFollow {
        id: row.try_get("id")?,
        filing_id: row.try_get("filing_id")?,
        case_id: row.try_get("case_id")?,
        user: User {
            id: row.try_get("user_id")?,
            name: row.try_get("user_name")?,
            groups: serde_json::from_str(&groups).unwrap_or_default(),
            admin: false,
        },
        message_id: row.try_get("message_id")?,
        conversation_id: row.try_get("conversation_id")?,
        since: row.try_get("since")?,
        ended_at: row.try_get("ended_at")?,
        ended_why: row.try_get("ended_why")?,
    })
}

impl Store {
    /// Starts following, or gives back the follow of that filing already running.
    pub async fn follow_thread(&self, new: NewFollow<'_>) -> Result<(ThreadFollow, bool)> {
        let mut tx = self.pool.begin().await?;
        let id = new_id();
        let since = now_millis();
        let groups = serde_json::to_string(&new.user.groups).unwrap_or_else(|_| "[]".into());
        let inserted = sqlx::query(
            "INSERT INTO thread_follows (id, filing_id, case_id, user_id, user_name, user_groups,
                                         message_id, since)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (user_id, filing_id) WHERE ended_at IS NULL DO NOTHING",
        )
        .bind(&id)
        .bind(new.filing_id)
        .bind(new.case_id)
        .bind(&new.user.id)
        .bind(&new.user.name)
        .bind(&groups)
        .bind(new.message_id)
        .bind(since)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            let mut event = AuditEvent::new(
                AuditKind::ThreadFollowChanged,
                &new.user.id,
                serde_json::json!({"follow": id, "following": true}),
            );
            event.case_id = Some(new.case_id.into());
            event.filing_id = Some(new.filing_id.into());
            event.item_hash = Some(new.item_hash.into());
            insert(&mut tx, &event).await?;
        }
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM thread_follows
             WHERE user_id = $1 AND filing_id = $2 AND ended_at IS NULL"
        ))
        .bind(&new.user.id)
        .bind(new.filing_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((follow_of(&row)?, inserted))
    }

    pub async fn thread_follow(&self, id: &str) -> Result<Option<ThreadFollow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM thread_follows WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(follow_of).transpose()
    }

    /// The follows still running: of one user, or of everyone.
    pub async fn active_follows(&self, user_id: Option<&str>) -> Result<Vec<ThreadFollow>> {
        let rows = match user_id {
            Some(user_id) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM thread_follows
                     WHERE ended_at IS NULL AND user_id = $1 ORDER BY since"
                ))
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM thread_follows WHERE ended_at IS NULL ORDER BY since"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(follow_of).collect()
    }

    pub async fn set_follow_conversation(&self, id: &str, conversation_id: &str) -> Result<()> {
        sqlx::query("UPDATE thread_follows SET conversation_id = $2 WHERE id = $1")
            .bind(id)
            .bind(conversation_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a follow (`stopped` by a person, `case_closed`, `filing_withdrawn`); false when it
    /// had ended already.
    pub async fn end_follow(&self, follow: &ThreadFollow, actor: &str, why: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let ended = sqlx::query(
            "UPDATE thread_follows SET ended_at = $2, ended_why = $3
             WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(&follow.id)
        .bind(now_millis())
        .bind(why)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if ended {
            let mut event = AuditEvent::new(
                AuditKind::ThreadFollowChanged,
                actor,
                serde_json::json!({"follow": follow.id, "following": false, "why": why}),
            );
            event.case_id = Some(follow.case_id.clone());
            event.filing_id = Some(follow.filing_id.clone());
            insert(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(ended)
    }
}
