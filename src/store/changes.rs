//! Settings admins apply from the console over the configuration (the confidence thresholds
//! of auto-journalisation), versioned: every change is a row with its number, who made it and
//! when, the value before and after, written with its audit record in one transaction, and
//! numbered in one count with the rules switched on from the console (`rule_changes.rs`). The
//! newest change of a scope is what holds there.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, AuditEvent, AuditKind};
use super::stats::{from_ppm, to_ppm};
use super::{Result, SETTINGS_LOCK, Store, StoreError};
use crate::autofile::thresholds::{Applied, Scope, Threshold};
use crate::domain::{Millis, now_millis};

/// The setting the rows are about; the table has room for others.
const CONFIDENCE_THRESHOLD: &str = "confidence_threshold";

/// The number of the next change: thresholds' and rules' (`rule_changes.rs`) share one count,
/// so that the console lists them together and an undo names either by its number.
pub(super) const NEXT_VERSION: &str = "(SELECT COALESCE(MAX(version), 0) + 1 FROM
     (SELECT version FROM setting_changes UNION ALL SELECT version FROM rule_changes) v)";

const COLUMNS: &str = "version, scope, target, before_configured, before_ppm, after_configured,
                       after_ppm, undoes, changed_by, changed_at";

/// What a change leaves a scope with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Held {
    /// The configuration's value, as if nothing had been applied.
    Configured,
    /// This threshold, whatever the configuration says.
    Applied(Threshold),
}

/// A threshold as it stood for a scope on one side of a change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ThresholdState {
    /// The threshold in force for the scope; `None`: off.
    pub confidence_threshold: Threshold,
    /// Whether it was the configuration's, no change applied holding the scope.
    pub configured: bool,
}

impl ThresholdState {
    /// What a change must leave the scope with to bring this state back.
    pub fn held(self) -> Held {
        match self.configured {
            true => Held::Configured,
            false => Held::Applied(self.confidence_threshold),
        }
    }
}

/// One version: a change of the threshold of one scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingChange {
    pub version: i64,
    #[serde(flatten)]
    pub scope: Scope,
    pub before: ThresholdState,
    pub after: ThresholdState,
    /// The version whose earlier value this change brought back.
    pub undoes: Option<i64>,
    pub changed_by: String,
    pub changed_at: Millis,
}

/// A change to make.
pub struct NewSettingChange<'a> {
    pub scope: &'a Scope,
    pub to: Held,
    /// The scope's threshold without a change of its own, as the policy works it out.
    pub configured: Threshold,
    pub undoes: Option<i64>,
    pub admin: &'a str,
}

impl Store {
    /// The thresholds applied from the console that hold now. Read from the store at most
    /// every `DECIDING_FRESH`.
    pub async fn applied_thresholds(&self) -> Result<Applied> {
        if let Some(applied) = self.applied.fresh() {
            return Ok(applied);
        }
        let rows = sqlx::query(
            "SELECT c.scope, c.target, c.after_ppm FROM setting_changes c
             WHERE c.setting = $1 AND c.after_configured = 0
               AND c.version = (SELECT MAX(v.version) FROM setting_changes v
                                WHERE v.setting = c.setting AND v.scope = c.scope
                                  AND v.target = c.target)",
        )
        .bind(CONFIDENCE_THRESHOLD)
        .fetch_all(&self.pool)
        .await?;
        let applied = Applied(
            rows.iter()
                .map(|row| -> Result<(Scope, Threshold)> {
                    let scope = scope_from(row.try_get("scope")?, row.try_get("target")?)?;
                    let threshold: Option<i64> = row.try_get("after_ppm")?;
                    Ok((scope, threshold.map(from_ppm)))
                })
                .collect::<Result<_>>()?,
        );
        self.applied.keep(&applied);
        Ok(applied)
    }

    /// Records a change as the next version, with its audit record. A change that would leave
    /// the scope as it is, is refused as a conflict.
    pub async fn change_setting(&self, change: NewSettingChange<'_>) -> Result<SettingChange> {
        let (scope, target) = scope_columns(change.scope);
        let (after_configured, after) = match change.to {
            Held::Configured => (true, change.configured),
            Held::Applied(threshold) => (false, threshold),
        };
        let mut tx = self.begin_serialised(SETTINGS_LOCK).await?;
        // One statement writes the row and reads the scope's state before it from the
        // scope's newest version, so that SQLite takes its write lock first.
        let row = sqlx::query(&format!(
            "INSERT INTO setting_changes (version, setting, scope, target, before_configured,
                 before_ppm, after_configured, after_ppm, undoes, changed_by, changed_at)
             SELECT {NEXT_VERSION}, $1, $2, $3,
                    COALESCE(p.after_configured, 1),
                    CASE WHEN COALESCE(p.after_configured, 1) = 1 THEN $4 ELSE p.after_ppm END,
                    $5, $6, $7, $8, $9
             FROM (SELECT 1 AS one) o
             LEFT JOIN setting_changes p ON p.version =
                 (SELECT MAX(v.version) FROM setting_changes v
                  WHERE v.setting = $1 AND v.scope = $2 AND v.target = $3)
             RETURNING {COLUMNS}"
        ))
        .bind(CONFIDENCE_THRESHOLD)
        .bind(scope)
        .bind(target)
        .bind(change.configured.map(to_ppm))
        .bind(i64::from(after_configured))
        .bind(after.map(to_ppm))
        .bind(change.undoes)
        .bind(change.admin)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await?;
        let stored = change_from_row(&row)?;
        // Dropping the transaction unwritten leaves no version behind.
        if stored.before == stored.after {
            return Err(StoreError::Conflict(
                "the setting is already so; nothing to change".into(),
            ));
        }
        let details = json!({
            "setting": CONFIDENCE_THRESHOLD,
            "change": stored,
        });
        audit::insert(
            &mut tx,
            &AuditEvent::new(AuditKind::SettingChanged, change.admin, details),
        )
        .await?;
        tx.commit().await?;
        self.applied.clear();
        Ok(stored)
    }

    /// One version, if there is such a version.
    pub async fn setting_change(&self, version: i64) -> Result<Option<SettingChange>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM setting_changes WHERE setting = $1 AND version = $2"
        ))
        .bind(CONFIDENCE_THRESHOLD)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(change_from_row).transpose()
    }

    /// The latest `limit` versions, newest first.
    pub async fn setting_changes(&self, limit: i64) -> Result<Vec<SettingChange>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM setting_changes WHERE setting = $1
             ORDER BY version DESC LIMIT $2"
        ))
        .bind(CONFIDENCE_THRESHOLD)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(change_from_row)
        .collect()
    }
}

fn scope_columns(scope: &Scope) -> (&'static str, &str) {
    match scope {
        Scope::Organisation => ("organisation", ""),
        Scope::Mailbox(name) => ("mailbox", name),
        Scope::Group(name) => ("group", name),
    }
}

fn scope_from(scope: String, target: String) -> Result<Scope> {
    match scope.as_str() {
        "organisation" => Ok(Scope::Organisation),
        "mailbox" => Ok(Scope::Mailbox(target)),
        "group" => Ok(Scope::Group(target)),
        other => Err(StoreError::Corrupt(format!(
            "setting_changes.scope: {other:?}"
        ))),
    }
}

fn change_from_row(row: &AnyRow) -> Result<SettingChange> {
    let side = |configured: &str, ppm: &str| -> Result<ThresholdState> {
        Ok(ThresholdState {
            confidence_threshold: row.try_get::<Option<i64>, _>(ppm)?.map(from_ppm),
            configured: row.try_get::<i64, _>(configured)? != 0,
        })
    };
    Ok(SettingChange {
        version: row.try_get("version")?,
        scope: scope_from(row.try_get("scope")?, row.try_get("target")?)?,
        before: side("before_configured", "before_ppm")?,
        after: side("after_configured", "after_ppm")?,
        undoes: row.try_get("undoes")?,
        changed_by: row.try_get("changed_by")?,
        changed_at: row.try_get("changed_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuditFilter, test_store};

    fn change<'a>(
        scope: &'a Scope,
        to: Held,
        configured: Threshold,
        undoes: Option<i64>,
    ) -> NewSettingChange<'a> {
        NewSettingChange {
            scope,
            to,
            configured,
            undoes,
            admin: "root",
        }
    }

    #[tokio::test]
    async fn each_change_is_the_next_version_with_the_value_before_it() {
        let store = test_store().await;
        let organisation = Scope::Organisation;
        let byg = Scope::Group("byg".into());
        let first = store
            .change_setting(change(&organisation, Held::Applied(Some(0.9)), None, None))
            .await
            .unwrap();
        assert_eq!(first.version, 1);
        assert_eq!(
            (first.before, first.after),
            (
                ThresholdState {
                    confidence_threshold: None,
                    configured: true
                },
                ThresholdState {
                    confidence_threshold: Some(0.9),
                    configured: false
                }
            )
        );
        let unit = store
            .change_setting(change(&byg, Held::Applied(None), Some(0.9), None))
            .await
            .unwrap();
        assert_eq!(unit.version, 2);
        assert_eq!(unit.before.confidence_threshold, Some(0.9));
        let second = store
            .change_setting(change(&organisation, Held::Applied(Some(0.75)), None, None))
            .await
            .unwrap();
        assert_eq!(second.version, 3);
        assert_eq!(second.before.confidence_threshold, Some(0.9));
        assert!(!second.before.configured);

        let applied = store.applied_thresholds().await.unwrap();
        assert_eq!(applied.get(&organisation), Some(Some(0.75)));
        assert_eq!(applied.get(&byg), Some(None));
        assert_eq!(applied.get(&Scope::Mailbox("byg".into())), None);

        let listed: Vec<i64> = store
            .setting_changes(10)
            .await
            .unwrap()
            .iter()
            .map(|c| c.version)
            .collect();
        assert_eq!(listed, [3, 2, 1]);
        assert_eq!(store.setting_change(2).await.unwrap(), Some(unit));
        assert_eq!(store.setting_change(4).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_undo_back_to_the_configuration_leaves_nothing_applied_and_is_audited() {
        let store = test_store().await;
        let mailbox = Scope::Mailbox("byg".into());
        let applied = store
            .change_setting(change(&mailbox, Held::Applied(Some(0.8)), Some(0.95), None))
            .await
            .unwrap();
        assert_eq!(
            store.applied_thresholds().await.unwrap().get(&mailbox),
            Some(Some(0.8))
        );
        let undone = store
            .change_setting(change(&mailbox, applied.before.held(), Some(0.95), Some(1)))
            .await
            .unwrap();
        assert_eq!(undone.undoes, Some(1));
        assert_eq!(
            undone.after,
            ThresholdState {
                confidence_threshold: Some(0.95),
                configured: true
            }
        );
        assert_eq!(
            store.applied_thresholds().await.unwrap(),
            Applied::default()
        );

        let events = store
            .audit_events(AuditFilter {
                kind: Some(AuditKind::SettingChanged),
                order: crate::store::AuditOrder::OldestFirst,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].actor, "root");
        let details = &events[1].details;
        assert_eq!(details["setting"], "confidence_threshold");
        assert_eq!(details["change"]["version"], 2);
        assert_eq!(details["change"]["scope"], "mailbox");
        assert_eq!(details["change"]["target"], "byg");
        assert_eq!(details["change"]["undoes"], 1);
        assert_eq!(details["change"]["before"]["confidence_threshold"], 0.8);
        assert_eq!(details["change"]["after"]["configured"], true);
    }

    #[tokio::test]
    async fn a_change_that_changes_nothing_is_refused_and_leaves_no_version() {
        let store = test_store().await;
        let organisation = Scope::Organisation;
        let refused = store
            .change_setting(change(&organisation, Held::Configured, Some(0.9), None))
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
        store
            .change_setting(change(
                &organisation,
                Held::Applied(Some(0.9)),
                Some(0.9),
                None,
            ))
            .await
            .unwrap();
        let again = store
            .change_setting(change(
                &organisation,
                Held::Applied(Some(0.9)),
                Some(0.9),
                None,
            ))
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        assert_eq!(store.setting_changes(10).await.unwrap().len(), 1);
        let events = store.audit_events(AuditFilter::default()).await.unwrap();
        assert_eq!(events.len(), 1);
    }
}
