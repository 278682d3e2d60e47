//! A rule switched on from the backtest (made, or a rule's new text) and its undo, through the
//! store's versioned and audited rule writes; listed beside the thresholds as scope `rule`.

use axum::Json;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::super::AppState;
use super::super::error::{ApiError, ApiResult};
use super::super::rules::validate;
use super::when;
use crate::autofile::rules::ProposedRule;
use crate::store::RuleChange;

/// A proposed rule naming a rule that is not in force.
pub(in crate::api) fn unknown_rule(id: &str) -> ApiError {
    ApiError::InvalidField {
        field: "id".into(),
        reason: format!("no rule with id {id:?} is in force"),
    }
}

pub(super) async fn apply(
    state: &AppState,
    proposed: &ProposedRule,
    admin: &str,
) -> ApiResult<(StatusCode, Json<Value>)> {
    validate(state, &proposed.spec).await?;
    let id = proposed.id.as_deref();
    let change = state
        .store
        .apply_rule(id, &proposed.spec, admin)
        .await?
        .ok_or_else(|| unknown_rule(id.unwrap_or_default()))?;
    tracing::info!(version = change.version, rule = %change.rule_id, "rule switched on");
    Ok((StatusCode::CREATED, Json(view(&change))))
}

pub(super) async fn undo(
    state: &AppState,
    undone: &RuleChange,
    admin: &str,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let change = state.store.undo_rule_change(undone, admin).await?;
    tracing::info!(
        version = change.version,
        undoes = undone.version,
        "rule change undone"
    );
    Ok((StatusCode::CREATED, Json(view(&change))))
}

/// A rule's change in the list of changes: its scope is the rule, each side the rule in force
/// (`null`: none).
pub(super) fn view(change: &RuleChange) -> Value {
    json!({
        "version": change.version,
        "scope": "rule",
        "target": change.rule_id,
        "before": change.before,
        "after": change.after,
        "undoes": change.undoes,
        "changed_by": change.changed_by,
        "changed_at": when(change.changed_at),
    })
}
