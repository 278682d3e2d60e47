//! Where each watched mailbox stands: which mails were taken, as which items, and what was
//! decided for each; and, for a mailbox read by a delta query, where to read on from.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::now_millis;

/// One mail of a watched mailbox, as far as it has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxPosition {
    pub item_id: String,
    /// `filed`, `queued`, `left` or `unreadable`, once decided.
    pub outcome: Option<String>,
}

/// What names one mail in its mailbox for good: IMAP's UIDVALIDITY and UID, or Graph's
/// immutable id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailKey(String);

impl MailKey {
    pub fn imap(uid_validity: u32, uid: u32) -> MailKey {
        MailKey(format!("{uid_validity}:{uid}"))
    }

    pub fn graph(immutable_id: &str) -> MailKey {
        MailKey(immutable_id.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MailKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Store {
    /// Records that the watcher of `mailbox` looked through its folder, or failed to
    /// (`error`, in words).
    pub async fn record_mailbox_look(&self, mailbox: &str, error: Option<&str>) -> Result<()> {
        let now = now_millis();
        let sql = match error {
            None => {
                "INSERT INTO mailbox_looks (mailbox, looked_at) VALUES ($1, $2)
                 ON CONFLICT (mailbox) DO UPDATE SET looked_at = excluded.looked_at"
            }
            Some(_) => {
                "INSERT INTO mailbox_looks (mailbox, failed_at, error) VALUES ($1, $2, $3)
                 ON CONFLICT (mailbox) DO UPDATE
                 SET failed_at = excluded.failed_at, error = excluded.error"
            }
        };
        sqlx::query(sql)
            .bind(mailbox)
            .bind(now)
            .bind(error.map(super::plain))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mailbox_position(
        &self,
        mailbox: &str,
        key: &MailKey,
    ) -> Result<Option<MailboxPosition>> {
        let row = sqlx::query(
            "SELECT item_id, outcome FROM mailbox_mails WHERE mailbox = $1 AND mail_key = $2",
        )
        .bind(mailbox)
        .bind(key.as_str())
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
        key: &MailKey,
        item_id: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO mailbox_mails (mailbox, mail_key, item_id, taken_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (mailbox, mail_key) DO NOTHING",
        )
        .bind(mailbox)
        .bind(key.as_str())
        .bind(item_id)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn decide_mailbox_position(
        &self,
        mailbox: &str,
        key: &MailKey,
        outcome: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE mailbox_mails SET outcome = $3, decided_at = $4
             WHERE mailbox = $1 AND mail_key = $2",
        )
        .bind(mailbox)
        .bind(key.as_str())
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
             FROM mailbox_mails WHERE mailbox = $1 GROUP BY outcome ORDER BY outcome",
        )
        .bind(mailbox)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("outcome")?, r.try_get("n")?)))
            .collect()
    }

    /// Where a mailbox's reading goes on from (a Graph delta link), if it was ever saved.
    pub async fn mailbox_resume_point(&self, mailbox: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT resume_from FROM mailbox_cursors WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get("resume_from")?)).transpose()
    }

    /// Saved only once every mail read before it was handled, so that reading on from it
    /// skips nothing.
    pub async fn save_mailbox_resume_point(&self, mailbox: &str, resume_from: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO mailbox_cursors (mailbox, resume_from, saved_at) VALUES ($1, $2, $3)
             ON CONFLICT (mailbox) DO UPDATE SET resume_from = $2, saved_at = $3",
        )
        .bind(mailbox)
        .bind(resume_from)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets where a mailbox's reading stood, when the server no longer knows it.
    pub async fn forget_mailbox_resume_point(&self, mailbox: &str) -> Result<()> {
        sqlx::query("DELETE FROM mailbox_cursors WHERE mailbox = $1")
            .bind(mailbox)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
