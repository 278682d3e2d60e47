//! Where each watched mailbox stands: which mails were taken, as which items, and what was
//! decided for each.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::now_millis;

/// One mail of a watched mailbox, as far as it has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxPosition {
    pub item_id: String,
    /// `filed`, `queued` or `left`, once decided.
    pub outcome: Option<String>,
}

impl Store {
    pub async fn mailbox_position(
        &self,
        mailbox: &str,
        uid_validity: u32,
        uid: u32,
    ) -> Result<Option<MailboxPosition>> {
        let row = sqlx::query(
            "SELECT item_id, outcome FROM mailbox_positions
             WHERE mailbox = $1 AND uid_validity = $2 AND uid = $3",
        )
        .bind(mailbox)
        .bind(i64::from(uid_validity))
        .bind(i64::from(uid))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(MailboxPosition {
                item_id: r.try_get("item_id")?,
                outcome: r.try_get("outcome")?,
            })
        })
        .transpose()
    }

    /// Records that a mail became `item_id`, before anything is decided for it.
    pub async fn take_mailbox_position(
        &self,
        mailbox: &str,
        uid_validity: u32,
        uid: u32,
        item_id: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO mailbox_positions (mailbox, uid_validity, uid, item_id, taken_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (mailbox, uid_validity, uid) DO NOTHING",
        )
        .bind(mailbox)
        .bind(i64::from(uid_validity))
        .bind(i64::from(uid))
        .bind(item_id)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn decide_mailbox_position(
        &self,
        mailbox: &str,
        uid_validity: u32,
        uid: u32,
        outcome: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE mailbox_positions SET outcome = $4, decided_at = $5
             WHERE mailbox = $1 AND uid_validity = $2 AND uid = $3",
        )
        .bind(mailbox)
        .bind(i64::from(uid_validity))
        .bind(i64::from(uid))
        .bind(outcome)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many mails of `mailbox` were filed, queued and left.
    pub async fn mailbox_outcomes(&self, mailbox: &str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT COALESCE(outcome, 'undecided') AS outcome, COUNT(*) AS n
             FROM mailbox_positions WHERE mailbox = $1 GROUP BY outcome ORDER BY outcome",
        )
        .bind(mailbox)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("outcome")?, r.try_get("n")?)))
            .collect()
    }
}
