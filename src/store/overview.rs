//! What the admin console's overview reads: per connector, how its filings fared in the last
//! day and week, the oldest one waiting, the last success and the last error; per watched
//! mailbox, how far it has come.

use serde::Serialize;
use sqlx::Row;

use super::{Result, Store};
use crate::domain::Millis;

/// Filings by where they stand, counted over the filings accepted in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub queued: u64,
    pub filed: u64,
    pub failed: u64,
    pub withdrawn: u64,
}

/// One connector's recent filings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorActivity {
    pub connector: String,
    pub day: StateCounts,
    pub week: StateCounts,
    /// When the oldest filing still waiting for delivery was accepted.
    pub oldest_queued: Option<Millis>,
    pub last_success: Option<Millis>,
    pub last_error: Option<ConnectorError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorError {
    pub at: Millis,
    pub message: String,
}

/// One watched mailbox as far as the store knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MailboxActivity {
    pub name: String,
    /// When the watcher last took a mail from it.
    pub last_taken: Option<Millis>,
    /// When the watcher last looked through its folder, mails or not.
    pub last_look: Option<Millis>,
    /// The watcher's last failure and when, where none has looked since.
    pub last_error: Option<(Millis, String)>,
    /// Mails taken but not yet decided.
    pub backlog: u64,
    pub auto_filed: u64,
    pub in_review: u64,
}

impl Store {
    /// Every connector that has cases, with its filings accepted since `week_start` (and of
    /// those, since `day_start`), the oldest still queued and its last success and error.
    pub async fn connector_activity(
        &self,
        day_start: Millis,
        week_start: Millis,
    ) -> Result<Vec<ConnectorActivity>> {
        let connectors = sqlx::query("SELECT DISTINCT connector FROM cases ORDER BY connector")
            .fetch_all(&self.pool)
            .await?;
        let mut activity: Vec<ConnectorActivity> = connectors
            .iter()
            .map(|r| {
                Ok(ConnectorActivity {
                    connector: r.try_get("connector")?,
                    day: StateCounts::default(),
                    week: StateCounts::default(),
                    oldest_queued: None,
                    last_success: None,
                    last_error: None,
                })
            })
            .collect::<Result<_>>()?;
        let rows = sqlx::query(
            "SELECT c.connector, f.state, f.created_at, f.withdrawn_at
             FROM filings f JOIN cases c ON c.id = f.case_id
             WHERE f.created_at >= $1",
        )
        .bind(week_start)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let connector: String = row.try_get("connector")?;
            let Some(entry) = activity.iter_mut().find(|a| a.connector == connector) else {
                continue;
            };
            let state: String = row.try_get("state")?;
            let withdrawn = row.try_get::<Option<i64>, _>("withdrawn_at")?.is_some();
            let recent = row.try_get::<i64, _>("created_at")? >= day_start;
            for (counts, counted) in [(&mut entry.week, true), (&mut entry.day, recent)] {
                if !counted {
                    continue;
                }
                match state.as_str() {
                    _ if withdrawn => counts.withdrawn += 1,
                    "queued" => counts.queued += 1,
                    "filed" => counts.filed += 1,
                    _ => counts.failed += 1,
                }
            }
        }
        let latest = sqlx::query(
            "SELECT c.connector,
                    MIN(CASE WHEN f.state = 'queued' AND f.withdrawn_at IS NULL
                             THEN f.created_at END) AS oldest_queued,
                    MAX(f.filed_at) AS last_success
             FROM filings f JOIN cases c ON c.id = f.case_id GROUP BY c.connector",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in latest {
            let connector: String = row.try_get("connector")?;
            if let Some(entry) = activity.iter_mut().find(|a| a.connector == connector) {
                entry.oldest_queued = row.try_get("oldest_queued")?;
                entry.last_success = row.try_get("last_success")?;
            }
        }
        for entry in &mut activity {
            let error = sqlx::query(
                "SELECT f.updated_at, f.last_error FROM filings f JOIN cases c ON c.id = f.case_id
                 WHERE c.connector = $1 AND f.last_error IS NOT NULL
                 ORDER BY f.updated_at DESC LIMIT 1",
            )
            .bind(&entry.connector)
            .fetch_optional(&self.pool)
            .await?;
            entry.last_error = error
                .map(|r| {
                    Ok::<_, super::StoreError>(ConnectorError {
                        at: r.try_get("updated_at")?,
                        message: r.try_get("last_error")?,
                    })
                })
                .transpose()?;
        }
        Ok(activity)
    }

    /// `names` (the configured mailboxes) and any other mailbox the store has mails of.
    pub async fn mailbox_activity(&self, names: &[&str]) -> Result<Vec<MailboxActivity>> {
        let mut activity: Vec<MailboxActivity> = names
            .iter()
            .map(|name| MailboxActivity {
                name: (*name).to_string(),
                ..MailboxActivity::default()
            })
            .collect();
        // The mails of followed threads (`follow:<id>`) are caseworkers' own, not a mailbox's.
        let positions = sqlx::query(
            "SELECT mailbox, MAX(taken_at) AS last_taken,
                    SUM(CASE WHEN outcome IS NULL THEN 1 ELSE 0 END) AS backlog,
                    SUM(CASE WHEN outcome = 'filed' THEN 1 ELSE 0 END) AS filed
             FROM mailbox_mails WHERE mailbox NOT LIKE 'follow:%'
             GROUP BY mailbox ORDER BY mailbox",
        )
        .fetch_all(&self.pool)
        .await?;
        let waiting = sqlx::query(
            "SELECT mailbox, COUNT(*) AS n FROM review_items
             WHERE mailbox IS NOT NULL AND state IN ('waiting', 'claimed') GROUP BY mailbox",
        )
        .fetch_all(&self.pool)
        .await?;
        fn entry(activity: &mut Vec<MailboxActivity>, name: String) -> &mut MailboxActivity {
            if let Some(at) = activity.iter().position(|m| m.name == name) {
                return &mut activity[at];
            }
            activity.push(MailboxActivity {
                name,
                ..MailboxActivity::default()
            });
            activity.last_mut().expect("just pushed")
        }
        for row in positions {
            let mailbox = entry(&mut activity, row.try_get("mailbox")?);
            mailbox.last_taken = row.try_get("last_taken")?;
            mailbox.backlog = count(row.try_get("backlog")?);
            mailbox.auto_filed = count(row.try_get("filed")?);
        }
        for row in waiting {
            let mailbox = entry(&mut activity, row.try_get("mailbox")?);
            mailbox.in_review = count(Some(row.try_get("n")?));
        }
        let looks = sqlx::query("SELECT mailbox, looked_at, failed_at, error FROM mailbox_looks")
            .fetch_all(&self.pool)
            .await?;
        for row in looks {
            let mailbox = entry(&mut activity, row.try_get("mailbox")?);
            mailbox.last_look = row.try_get("looked_at")?;
            let failed_at: Option<Millis> = row.try_get("failed_at")?;
            let error: Option<String> = row.try_get("error")?;
            mailbox.last_error = match (failed_at, error) {
                (Some(at), Some(error)) if mailbox.last_look.is_none_or(|look| look < at) => {
                    Some((at, error))
                }
                _ => None,
            };
        }
        Ok(activity)
    }
}

/// SQL sums are NULL over no rows, and never negative.
fn count(n: Option<i64>) -> u64 {
    n.map_or(0, |n| u64::try_from(n).unwrap_or(0))
}
