//! `POST /api/v1/admin/backtest`: what a proposed confidence threshold (for the organisation,
//! one watched mailbox or one unit) would have done to the latest filings people made after
//! seeing suggestions, beside what today's setting does. It replays the recorded suggestions
//! through the replay's own threshold figures (`eval::threshold`); nothing is changed.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiResult};
use crate::auth::Admin;
use crate::eval::{Outcome, POLICIES, Summary, threshold};
use crate::store::ShownChoice;

const DEFAULT_FILINGS: i64 = 2_000;
const MAX_FILINGS: i64 = 10_000;
/// The changed items listed; the counts cover them all.
const CHANGED_SHOWN: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backtest {
    change: Change,
    #[serde(default)]
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The confidence at or above which the ranker's first suggestion would be filed by
    /// itself; `null` for off.
    confidence_threshold: Option<f64>,
    #[serde(default)]
    mailbox: Option<String>,
    #[serde(default)]
    group: Option<String>,
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
    if let Some(t) = change.confidence_threshold
        && !(0.5..=1.0).contains(&t)
    {
        return Err(ApiError::InvalidField {
            field: "change.confidence_threshold".into(),
            reason: "a confidence between 0.5 and 1, or null for off".into(),
        });
    }
    let mailbox = change.mailbox.as_deref().filter(|m| !m.is_empty());
    let today = match mailbox {
        Some(name) => {
            state
                .policy
                .mailbox(name)
                .ok_or_else(|| ApiError::InvalidField {
                    field: "change.mailbox".into(),
                    reason: format!("no watched mailbox is called {name:?}"),
                })?
                .settings
                .confidence_threshold
        }
        None => state.policy.settings().confidence_threshold,
    };
    let limit = body.limit.unwrap_or(DEFAULT_FILINGS).clamp(1, MAX_FILINGS);
    let group = change.group.as_deref().filter(|g| !g.is_empty());
    let choices = state.store.shown_choices(limit, mailbox, group).await?;
    let outcomes: Vec<Outcome> = choices.iter().map(outcome).collect();
    let summary = Summary::of(&outcomes);
    let after = change.confidence_threshold;
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
