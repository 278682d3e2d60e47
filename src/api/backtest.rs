//! `POST /api/v1/admin/backtest`: what a proposed confidence threshold (for the organisation,
//! one watched mailbox or one unit) would have done to the latest filings people made after
//! seeing suggestions, beside what today's setting does. It replays the recorded suggestions
//! through the replay's own threshold figures (`eval::threshold`); nothing is changed here
//! (`changes.rs` applies it). A change of the ranker's weights is replayed by
//! `ranker_backtest.rs`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::changes::Change;
use super::error::{ApiJson, ApiResult};
use crate::auth::Admin;
use crate::autofile::thresholds::Scope;
use crate::eval::{Outcome, POLICIES, Summary, threshold};
use crate::store::ShownChoice;

const DEFAULT_FILINGS: i64 = 2_000;
const MAX_FILINGS: i64 = 10_000;
/// The changed items listed; the counts cover them all.
pub(super) const CHANGED_SHOWN: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backtest {
    change: Change,
    #[serde(default)]
    limit: Option<i64>,
}

fn outcome(choice: &ShownChoice) -> Outcome {
    Outcome {
        rank: choice.rank.and_then(|r| usize::try_from(r).ok()),
        confidence: choice.confidence,
        latency: std::time::Duration::ZERO,
        reachable: true,
        autofiled: [None; POLICIES.len()],
    }
}

/// One side of the comparison: the ranking is the same on both, the filing by itself not.
fn column(setting: Option<f64>, outcomes: &[Outcome], summary: &Summary) -> Value {
    let filed = setting.map(|t| threshold(outcomes, t));
    json!({
        "confidence_threshold": setting,
        "top1": summary.top1,
        "top3": summary.top3,
        "auto_filed": filed.as_ref().map_or(0, |f| f.auto_filed),
        "share_auto_filed": filed.as_ref().map_or(0.0, |f| f.share),
        "wrong": filed.as_ref().map_or(0, |f| f.wrong),
    })
}

pub async fn run(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(body): ApiJson<Backtest>,
) -> ApiResult<Json<Value>> {
    let change = body.change;
    let limit = body.limit.unwrap_or(DEFAULT_FILINGS).clamp(1, MAX_FILINGS);
    if let Some(weights) = change.ranker_weights()? {
        return super::ranker_backtest::run(&state, &weights, limit).await;
    }
    let after = change.threshold()?;
    let mailbox = change.mailbox(&state)?;
    let group = change.group();
    // Today's as the policy decides: a unit's own threshold over the mailbox's or the
    // organisation's, each with what was applied from the console.
    let applied = state.store.applied_thresholds().await?;
    let base = mailbox.map_or(Scope::Organisation, |name| Scope::Mailbox(name.into()));
    let today = group
        .and_then(|group| applied.get(&Scope::Group(group.into())))
        .unwrap_or_else(|| state.policy.threshold(&base, &applied));
    let choices = state.store.shown_choices(limit, mailbox, group).await?;
    let outcomes: Vec<Outcome> = choices.iter().map(outcome).collect();
    let summary = Summary::of(&outcomes);
    let files = |setting: Option<f64>, o: &Outcome| setting.is_some_and(|t| o.confidence >= t);
    let changed: Vec<Value> = choices
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| files(today, o) != files(after, o))
        .map(|(choice, o)| {
            json!({
                "filing_id": choice.filing_id,
                "item_id": choice.item_id,
                "case_id": choice.case_id,
                "confidence": choice.confidence,
                "first_was_right": o.rank == Some(1),
                "auto_filed_today": files(today, o),
                "auto_filed_after": files(after, o),
            })
        })
        .collect();
    Ok(Json(json!({
        "examined": choices.len(),
        "today": column(today, &outcomes, &summary),
        "after": column(after, &outcomes, &summary),
        "changed_count": changed.len(),
        "changed": changed.into_iter().take(CHANGED_SHOWN).collect::<Vec<_>>(),
    })))
}
