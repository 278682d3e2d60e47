//! Rules admins switch on from the console's backtest, and their undos: each a version numbered
//! with the thresholds' changes (`changes.rs`), naming the rule's version before and after it
//! and written in one transaction with the rule's own version and both audit records.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, AuditEvent, AuditKind};
use super::changes::NEXT_VERSION;
use super::rules::{Revive, write_version};
use super::{Result, SETTINGS_LOCK, SettingChange, Store, StoreError, from_json};
use crate::autofile::rules::{Rule, RuleSpec};
use crate::domain::{Millis, now_millis};

/// One version: a rule made, changed or removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleChange {
    pub version: i64,
    pub rule_id: String,
    /// The rule in force before; `None`: there was none (not made yet, or deleted).
    pub before: Option<Rule>,
    /// The rule in force after; `None`: the change removed it.
    pub after: Option<Rule>,
    /// The version whose side before this change brought back.
    pub undoes: Option<i64>,
    pub changed_by: String,
    pub changed_at: Millis,
}

/// A change in the console's one list.
#[derive(Debug, Clone, PartialEq)]
pub enum AppliedChange {
    Threshold(SettingChange),
    Rule(Box<RuleChange>),
}

impl AppliedChange {
    pub fn version(&self) -> i64 {
        match self {
            AppliedChange::Threshold(change) => change.version,
            AppliedChange::Rule(change) => change.version,
        }
    }
}

const COLUMNS: &str = "c.version, c.rule_id, c.before_version, c.after_version, c.undoes,
    c.changed_by, c.changed_at, b.spec AS before_spec, b.deleted AS before_deleted,
    a.spec AS after_spec, a.deleted AS after_deleted
    FROM rule_changes c
    LEFT JOIN rule_versions b ON b.id = c.rule_id AND b.version = c.before_version
    JOIN rule_versions a ON a.id = c.rule_id AND a.version = c.after_version";

impl Store {
    /// Writes `spec` as rule `id` (a new rule when `None`) and records it as the next change;
    /// `None` when `id` names no rule in force. A text the rule has already is refused as a
    /// conflict.
    pub async fn apply_rule(
        &self,
        id: Option<&str>,
        spec: &RuleSpec,
        admin: &str,
    ) -> Result<Option<RuleChange>> {
        self.change_rule(id, Some(spec), Revive::No, None, admin)
            .await
    }

    /// Brings back the rule as it was before `undone`: its text then (even if the rule was
    /// deleted since), or no rule where there was none. A conflict when it is so already.
    pub async fn undo_rule_change(&self, undone: &RuleChange, admin: &str) -> Result<RuleChange> {
        let spec = undone.before.as_ref().map(|rule| &rule.spec);
        self.change_rule(
            Some(&undone.rule_id),
            spec,
            Revive::Yes,
            Some(undone.version),
            admin,
        )
        .await?
        .ok_or_else(|| StoreError::Conflict("the rule is already so; nothing to change".into()))
    }

    async fn change_rule(
        &self,
        id: Option<&str>,
        spec: Option<&RuleSpec>,
        revive: Revive,
        undoes: Option<i64>,
        admin: &str,
    ) -> Result<Option<RuleChange>> {
        let mut tx = self.begin_serialised(SETTINGS_LOCK).await?;
        let Some(written) = write_version(&mut tx, id, spec, revive, admin).await? else {
            return Ok(None);
        };
        // Dropping the transaction unwritten leaves no version behind.
        if spec.is_some() && written.previous.as_ref() == spec {
            return Err(StoreError::Conflict(
                "the rule is already so; nothing to change".into(),
            ));
        }
        let now = now_millis();
        let version: i64 = sqlx::query_scalar(&format!(
            "INSERT INTO rule_changes (version, rule_id, before_version, after_version, undoes,
                 changed_by, changed_at)
             SELECT {NEXT_VERSION}, $1, $2, $3, $4, $5, $6
             RETURNING version"
        ))
        .bind(&written.rule.id)
        .bind(written.version_before)
        .bind(written.rule.version)
        .bind(undoes)
        .bind(admin)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let before = written.previous.map(|spec| Rule {
            id: written.rule.id.clone(),
            version: written.version_before.unwrap_or_default(),
            spec,
        });
        let stored = RuleChange {
            version,
            rule_id: written.rule.id.clone(),
            before,
            after: spec.is_some().then_some(written.rule),
            undoes,
            changed_by: admin.to_string(),
            changed_at: now,
        };
        let details = json!({"setting": "rule", "change": stored});
        audit::insert(
            &mut tx,
            &AuditEvent::new(AuditKind::SettingChanged, admin, details),
        )
        .await?;
        tx.commit().await?;
        self.rules.clear();
        Ok(Some(stored))
    }

    /// One change of either kind, if there is such a version.
    pub async fn applied_change(&self, version: i64) -> Result<Option<AppliedChange>> {
        if let Some(change) = self.setting_change(version).await? {
            return Ok(Some(AppliedChange::Threshold(change)));
        }
        let row = sqlx::query(&format!("SELECT {COLUMNS} WHERE c.version = $1"))
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .as_ref()
            .map(change_from_row)
            .transpose()?
            .map(|change| AppliedChange::Rule(Box::new(change))))
    }

    /// The latest `limit` changes of both kinds, newest first.
    pub async fn applied_changes(&self, limit: i64) -> Result<Vec<AppliedChange>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} ORDER BY c.version DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut changes: Vec<AppliedChange> = self
            .setting_changes(limit)
            .await?
            .into_iter()
            .map(AppliedChange::Threshold)
            .collect();
        for row in &rows {
            changes.push(AppliedChange::Rule(Box::new(change_from_row(row)?)));
        }
        changes.sort_by_key(|change| std::cmp::Reverse(change.version()));
        changes.truncate(usize::try_from(limit).unwrap_or_default());
        Ok(changes)
    }
}

fn change_from_row(row: &AnyRow) -> Result<RuleChange> {
    let rule_id: String = row.try_get("rule_id")?;
    let side = |version: &str, spec: &str, deleted: &str| -> Result<Option<Rule>> {
        let Some(version) = row.try_get::<Option<i64>, _>(version)? else {
            return Ok(None);
        };
        if row.try_get::<i64, _>(deleted)? != 0 {
            return Ok(None);
        }
        Ok(Some(Rule {
            id: rule_id.clone(),
            version,
            spec: from_json("rule_versions.spec", &row.try_get::<String, _>(spec)?)?,
        }))
    };
    Ok(RuleChange {
        before: side("before_version", "before_spec", "before_deleted")?,
        after: side("after_version", "after_spec", "after_deleted")?,
        version: row.try_get("version")?,
        rule_id: rule_id.clone(),
        undoes: row.try_get("undoes")?,
        changed_by: row.try_get("changed_by")?,
        changed_at: row.try_get("changed_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autofile::thresholds::Scope;
    use crate::store::{AuditFilter, AuditOrder, Held, NewSettingChange, test_store};

    fn spec(name: &str, queue: &str) -> RuleSpec {
        serde_json::from_value(json!({
            "name": name,
            "when": {"from": "tegnestuen.example"},
            "then": {"action": "review", "queue": queue}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_rule_made_changed_and_undone_is_numbered_with_the_thresholds() {
        let store = test_store().await;
        let made = store
            .apply_rule(None, &spec("Tegnestuen", "byg"), "root")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((made.version, made.before.as_ref()), (1, None));
        let id = made.rule_id.clone();
        assert_eq!(
            store.rules().await.unwrap(),
            vec![made.after.clone().unwrap()]
        );

        let threshold = store
            .change_setting(NewSettingChange {
                scope: &Scope::Organisation,
                to: Held::Applied(Some(0.9)),
                configured: None,
                undoes: None,
                admin: "root",
            })
            .await
            .unwrap();
        assert_eq!(threshold.version, 2);

        let changed = store
            .apply_rule(Some(&id), &spec("Tegnestuen", "plan"), "root")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(changed.version, 3);
        assert_eq!(changed.before, made.after);
        assert_eq!(changed.after.as_ref().unwrap().version, 2);
        // The same text again changes nothing and leaves no version.
        let again = store
            .apply_rule(Some(&id), &spec("Tegnestuen", "plan"), "root")
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        assert_eq!(store.rule(&id).await.unwrap().unwrap().version, 2);
        // No rule of that id in force: nothing is made.
        assert_eq!(
            store
                .apply_rule(Some("ingen"), &spec("x", "byg"), "root")
                .await
                .unwrap(),
            None
        );

        let back = store.undo_rule_change(&changed, "admin2").await.unwrap();
        assert_eq!((back.version, back.undoes), (4, Some(3)));
        let restored = store.rule(&id).await.unwrap().unwrap();
        assert_eq!(
            (restored.version, &restored.spec),
            (3, &spec("Tegnestuen", "byg"))
        );

        // Undoing the making deletes the rule; undoing that brings it back.
        let gone = store.undo_rule_change(&made, "root").await.unwrap();
        assert_eq!(gone.after, None);
        assert_eq!(store.rules().await.unwrap(), vec![]);
        let twice = store.undo_rule_change(&made, "root").await;
        assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
        let revived = store.undo_rule_change(&gone, "root").await.unwrap();
        assert_eq!(
            revived.after.as_ref().map(|r| &r.spec),
            Some(&spec("Tegnestuen", "byg"))
        );

        let listed: Vec<i64> = store
            .applied_changes(10)
            .await
            .unwrap()
            .iter()
            .map(AppliedChange::version)
            .collect();
        assert_eq!(listed, [6, 5, 4, 3, 2, 1]);
        assert_eq!(
            store.applied_change(5).await.unwrap(),
            Some(AppliedChange::Rule(Box::new(gone.clone())))
        );
        assert!(matches!(
            store.applied_change(2).await.unwrap(),
            Some(AppliedChange::Threshold(_))
        ));
        assert_eq!(store.applied_change(7).await.unwrap(), None);
        assert_eq!(store.applied_changes(2).await.unwrap().len(), 2);

        let settings = store
            .audit_events(AuditFilter {
                kind: Some(AuditKind::SettingChanged),
                order: AuditOrder::OldestFirst,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(settings.len(), 6);
        assert_eq!(settings[3].actor, "admin2");
        assert_eq!(settings[3].details["setting"], "rule");
        assert_eq!(settings[3].details["change"]["undoes"], 3);
        assert_eq!(
            settings[3].details["change"]["after"]["then"]["queue"],
            "byg"
        );
        let rule_versions = store
            .audit_events(AuditFilter {
                kind: Some(AuditKind::RuleChanged),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(rule_versions.len(), 5);
    }
}
