//! Routing rules, versioned: every change is a new version of the rule, with its audit record
//! in the same transaction, so an earlier version can always be read back and restored.

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::audit::{self, AuditEvent, AuditKind};
use super::{Result, Store, from_json, to_json};
use crate::autofile::rules::{Rule, RuleSpec};
use crate::domain::{new_id, now_millis};

impl Store {
    /// The rules in force, in the order they are tried (then by id, so the order is stable).
    /// Read from the store at most every `DECIDING_FRESH`.
    pub async fn rules(&self) -> Result<Vec<Rule>> {
        if let Some(rules) = self.rules.fresh() {
            return Ok(rules);
        }
        let rules = self.read_rules().await?;
        self.rules.keep(&rules);
        Ok(rules)
    }

    async fn read_rules(&self) -> Result<Vec<Rule>> {
        let rows = sqlx::query(
            "SELECT r.id, r.version, r.spec FROM rule_versions r
             WHERE r.deleted = 0
               AND r.version = (SELECT MAX(v.version) FROM rule_versions v WHERE v.id = r.id)",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut rules: Vec<Rule> = rows.iter().map(rule_from_row).collect::<Result<_>>()?;
        rules.sort_by(|a, b| {
            a.spec
                .order
                .cmp(&b.spec.order)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(rules)
    }

    /// One rule in force, by id.
    pub async fn rule(&self, id: &str) -> Result<Option<Rule>> {
        let row = sqlx::query(
            "SELECT id, version, spec, deleted FROM rule_versions WHERE id = $1
             ORDER BY version DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) if row.try_get::<i64, _>("deleted")? == 0 => Ok(Some(rule_from_row(&row)?)),
            _ => Ok(None),
        }
    }

    /// Stores a new rule (`id` None) or a new version of one; `None` when `id` names no rule in
    /// force. Audited as `admin`'s change.
    pub async fn put_rule(
        &self,
        id: Option<&str>,
        spec: &RuleSpec,
        admin: &str,
    ) -> Result<Option<Rule>> {
        self.write_rule_version(id, Some(spec), admin).await
    }

    /// Removes a rule (its versions stay readable in the audit log); false when there is none.
    pub async fn delete_rule(&self, id: &str, admin: &str) -> Result<bool> {
        Ok(self
            .write_rule_version(Some(id), None, admin)
            .await?
            .is_some())
    }

    async fn write_rule_version(
        &self,
        id: Option<&str>,
        spec: Option<&RuleSpec>,
        admin: &str,
    ) -> Result<Option<Rule>> {
        let mut tx = self.pool.begin().await?;
        let Some(written) = write_version(&mut tx, id, spec, Revive::No, admin).await? else {
            return Ok(None);
        };
        tx.commit().await?;
        self.rules.clear();
        Ok(Some(written.rule))
    }
}

/// Whether a new text may bring back a rule that was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Revive {
    No,
    Yes,
}

/// A version written, with what it replaced.
pub(super) struct Written {
    /// The rule as written; for a deletion, the text it had.
    pub rule: Rule,
    /// The rule's newest version before this one, in force or deleted; `None` for a new rule.
    pub version_before: Option<i64>,
    /// The text in force before, if the rule was in force.
    pub previous: Option<RuleSpec>,
}

/// Writes the next version of rule `id` (a new rule when `None`) in `tx`: `spec`, or a deletion
/// when `None`, with its audit record. `None`, with nothing written once `tx` is dropped, when
/// there is no rule in force to change or delete (a deleted one may get a text again with
/// `Revive::Yes`).
pub(super) async fn write_version(
    tx: &mut Transaction<'static, Any>,
    id: Option<&str>,
    spec: Option<&RuleSpec>,
    revive: Revive,
    admin: &str,
) -> Result<Option<Written>> {
    let changing = id.is_some();
    let id = id.map_or_else(new_id, str::to_string);
    // The write comes first, so that SQLite takes its write lock at the start of the
    // transaction; the version before it is read afterwards, in the same transaction.
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO rule_versions (id, version, spec, deleted, changed_by, changed_at)
         SELECT $1, COALESCE(MAX(version), 0) + 1,
                COALESCE($2, (SELECT spec FROM rule_versions p WHERE p.id = $1
                              ORDER BY p.version DESC LIMIT 1), 'null'),
                $3, $4, $5
         FROM rule_versions WHERE id = $1
         RETURNING version",
    )
    .bind(&id)
    .bind(spec.map(to_json))
    .bind(i64::from(spec.is_none()))
    .bind(admin)
    .bind(now_millis())
    .fetch_one(&mut **tx)
    .await?;
    let previous =
        sqlx::query("SELECT spec, deleted FROM rule_versions WHERE id = $1 AND version = $2")
            .bind(&id)
            .bind(version - 1)
            .fetch_optional(&mut **tx)
            .await?;
    let version_before = previous.is_some().then_some(version - 1);
    let previous: Option<RuleSpec> = match previous {
        Some(row) if row.try_get::<i64, _>("deleted")? == 0 => Some(from_json(
            "rule_versions.spec",
            &row.try_get::<String, _>("spec")?,
        )?),
        _ => None,
    };
    // Changing or removing needs a rule in force (the transaction is dropped unwritten).
    if changing && previous.is_none() && !(revive == Revive::Yes && spec.is_some()) {
        return Ok(None);
    }
    let Some(stored) = spec.or(previous.as_ref()).cloned() else {
        return Ok(None);
    };
    let change = match (&previous, spec) {
        (None, _) => "created",
        (Some(_), Some(_)) => "changed",
        (Some(_), None) => "deleted",
    };
    let details = json!({
        "rule_id": id,
        "version": version,
        "change": change,
        "before": previous,
        "after": spec,
    });
    audit::insert(tx, &AuditEvent::new(AuditKind::RuleChanged, admin, details)).await?;
    Ok(Some(Written {
        rule: Rule {
            id,
            version,
            spec: stored,
        },
        version_before,
        previous,
    }))
}

fn rule_from_row(row: &AnyRow) -> Result<Rule> {
    Ok(Rule {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        spec: from_json("rule_versions.spec", &row.try_get::<String, _>("spec")?)?,
    })
}
