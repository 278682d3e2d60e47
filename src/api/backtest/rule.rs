//! The backtest of a rule made or changed: the latest items decided again by the policy under
//! today's rules and under the rules with the change (`autofile::backtest`), with the items
//! that would end up otherwise.

use axum::Json;
use serde_json::{Value, json};

use super::super::AppState;
use super::super::changes::unknown_rule;
use super::super::error::ApiResult;
use super::super::rules::validate;
use super::{CHANGED_SHOWN, DEFAULT_FILINGS, MAX_FILINGS};
use crate::autofile::backtest::{Column, replay, with_change};
use crate::autofile::rules::ProposedRule;

pub(super) async fn run(
    state: &AppState,
    proposed: &ProposedRule,
    limit: Option<i64>,
) -> ApiResult<Json<Value>> {
    validate(state, &proposed.spec).await?;
    let today = state.store.rules().await?;
    let after = with_change(&today, proposed)
        .ok_or_else(|| unknown_rule(proposed.id.as_deref().unwrap_or_default()))?;
    let limit = limit.unwrap_or(DEFAULT_FILINGS).clamp(1, MAX_FILINGS);
    let report = replay(
        &state.policy,
        proposed,
        &today,
        &after,
        usize::try_from(limit).unwrap_or_default(),
        CHANGED_SHOWN,
    )
    .await?;
    Ok(Json(json!({
        "examined": report.examined,
        "matched": report.matched,
        "today": column(&report.today, report.examined),
        "after": column(&report.after, report.examined),
        "changed_count": report.changed_count,
        "changed": report.changed,
    })))
}

fn column(column: &Column, examined: usize) -> Value {
    let share = match examined {
        0 => 0.0,
        n => column.auto_filed as f64 / n as f64,
    };
    json!({
        "auto_filed": column.auto_filed,
        "sent_to_review": column.sent_to_review,
        "share_auto_filed": share,
        "wrong": column.wrong,
    })
}
